/*
 * The lookup process.
 */
#ifndef LOOKUP_H
#define LOOKUP_H

struct msgchan;
struct proc_boot;

/* Entry point after re-exec; never returns. */
void	 lookup_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

#endif /* LOOKUP_H */
