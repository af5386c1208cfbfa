/*
 * The control process.
 */
#ifndef CONTROL_H
#define CONTROL_H

struct msgchan;
struct proc_boot;

/* Entry point after re-exec; never returns. */
void	 control_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

#endif /* CONTROL_H */
