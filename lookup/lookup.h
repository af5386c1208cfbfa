/*
 * The lookup process: programs, verifiers, secrets and DNS for the
 * others.  lookup.c dispatches; auth.c holds the secrets files and
 * answers AUTH checks (SPEC 7).
 */
#ifndef LOOKUP_H
#define LOOKUP_H

#include "proc.h"

struct event;
struct event_base;
struct msg;
struct msgchan;
struct proc_boot;
struct lookup_auth;

struct lookup_ctx {
	struct proc_boot	*boot;
	struct event_base	*base;
	struct chan		 parent;
	struct chan		 peer[PROC__COUNT];
	struct lookup_auth	*auth;		/* auth.c */
	int			 dnsbl_stopped;	/* admin "dnsbl stop" */
	struct event		*ev_dnsbl;	/* its end, or NULL */
};

/* Entry point after re-exec; never returns. */
void	 lookup_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

/*
 * auth.c.  auth_init() reads every secrets file of the configuration
 * while still root; a file that cannot be read is fatal (the parent
 * checked it at start-up).
 */
void	 auth_init(struct lookup_ctx *);
/* MSG_SMTPD_SESSION_CHECK and MSG_POP_SESSION_CHECK from ch's peer. */
void	 auth_session_check(struct lookup_ctx *, struct chan *, struct msg *);
/* MSG_SMTPD_AUTH_CHECK and MSG_POP_AUTH_CHECK. */
void	 auth_check(struct lookup_ctx *, struct chan *, struct msg *);
/* MSG_MTA_CLIENT_SECRET. */
void	 auth_client_secret(struct lookup_ctx *, struct msg *);
/* Replies from the parent: MSG_LOOKUP_PAM_CHECK, MSG_LOOKUP_SECRETS_OPEN. */
void	 auth_parent_reply(struct lookup_ctx *, struct msg *);

/*
 * lookup_dnsbl.c.  Start the --dnsbl check of instance inst for client
 * ip; done(arg, allow) is called later from the event loop (never from
 * inside the call): allow 1 serve, 0 drop.  Returns 0, or -1 when the
 * instance has no --dnsbl or checking is stopped (lookup_dnsbl_switch();
 * done is not called).
 */
int	 lookup_dnsbl_check(struct lookup_ctx *ctx, uint32_t inst,
	    const char *ip, void (*done)(void *arg, int allow), void *arg);

/*
 * lookup_dnsbl.c: the admin "dnsbl start" (start 1) and "dnsbl stop"
 * (start 0), for every instance: while stopped, lookup_dnsbl_check()
 * checks nothing and clients are served unchecked.  A stop with seconds
 * > 0 ends by itself after that long; one with 0 lasts until a start.
 * Logs the change.  Returns 0, or -1 (and nothing changes) when the
 * timer cannot be made.
 */
int	 lookup_dnsbl_switch(struct lookup_ctx *ctx, int start,
	    unsigned int seconds);

/*
 * pollrun.c: MSG_QUEUE_POLL_RUN from queue: run the instance's --poll-run
 * program with the spool directory as its argument; the reply follows
 * when it has been reaped.  A frame that breaks the protocol is fatal.
 */
void	 pollrun_run(struct lookup_ctx *, struct msg *);

#endif /* LOOKUP_H */
