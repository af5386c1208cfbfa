/*
 * The mta process.
 */
#ifndef MTA_H
#define MTA_H

struct msgchan;
struct proc_boot;

/* Entry point after re-exec; never returns. */
void	 mta_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

#endif /* MTA_H */
