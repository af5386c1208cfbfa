/*
 * The pop process.
 */
#ifndef POP_H
#define POP_H

struct msgchan;
struct proc_boot;

/* Entry point after re-exec; never returns. */
void	 pop_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

#endif /* POP_H */
