/*
 * The queue process.
 */
#ifndef QUEUE_H
#define QUEUE_H

struct msgchan;
struct proc_boot;

/* Entry point after re-exec; never returns. */
void	 queue_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

#endif /* QUEUE_H */
