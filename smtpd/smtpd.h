/*
 * The smtpd process.
 */
#ifndef SMTPD_H
#define SMTPD_H

struct msgchan;
struct proc_boot;

/* Entry point after re-exec; never returns. */
void	 smtpd_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

#endif /* SMTPD_H */
