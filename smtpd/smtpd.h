/*
 * The smtpd process: listeners, accept and pause, and the context its
 * sessions (session.c) share; admin.c serves the admin interface's
 * smtp enable|disable and status.
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "proc.h"

struct event;
struct event_base;
struct msg;
struct session;
struct smtpd_conn;
struct sockaddr;
struct tls;

/* Sessions at once, at most (fewer when descriptors are short). */
#define SMTPD_MAX_SESSIONS	1000
/* Unsent bytes to queue over which no connection is accepted. */
#define SMTPD_QUEUE_BACKLOG	(1024 * 1024)

struct smtpd_ctx;

/* One listening socket and its accept event. */
struct smtpd_listener {
	struct smtpd_ctx	*ctx;
	const struct listener	*l;		/* in ctx->boot->lst[] */
	struct event		*ev;
};

RB_HEAD(session_tree, session);

struct smtpd_ctx {
	struct proc_boot	*boot;
	struct event_base	*base;
	struct chan		 parent;
	struct chan		 peer[PROC__COUNT];
	struct smtpd_listener	 lst[BOUNDS_LISTENERS];
	size_t			 nlst;
	int			 paused;	/* listeners off */
	struct event		*ev_resume;	/* retry after EMFILE etc. */
	struct session_tree	 sessions;	/* by id, until their reply */
	size_t			 nsessions;	/* open connections */
	size_t			 maxsessions;
	char			 hostname[BOUNDS_DOMAIN + 1];
	struct tls		*tls[BOUNDS_INSTANCES];	/* server contexts */
	/* The admin interface (admin.c). */
	int			 disabled[BOUNDS_INSTANCES]; /* smtp disable */
	uint64_t		 in_started;	/* connections served */
	uint64_t		 in_finished;	/* and closed */
	struct smtpd_conn	*conns;		/* open ones, for status */
	size_t			 nconns, connsz;
	/* emailrelayctl show stats (admin.c). */
	uint64_t		 msgs_accepted;	/* committed (250) */
	uint64_t		 msgs_rejected;	/* commit refused */
	uint64_t		 bytes_in;	/* content of the accepted */
};

/* Entry point after re-exec; never returns. */
void	 smtpd_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

/*
 * A session's connection has closed: count it and let the listeners
 * accept again if they were paused for the session limit.
 */
void	 smtpd_session_closed(struct smtpd_ctx *ctx);

/*
 * admin.c: a request from control (MSG_CONTROL_SMTP_*, and for
 * emailrelayctl MSG_CTL_PAUSE and MSG_CTL_STATS), answered at once; anything else from control is fatal.  The caller calls
 * msg_done().
 */
void	 smtpd_admin_dispatch(struct smtpd_ctx *ctx, struct msg *m);

/*
 * admin.c: remember the accepted socket fd from peer sa on listener l
 * for the status report's "IN:" lines, before a session takes it.  A
 * connection is forgotten once its socket is closed (found out by
 * fstat() when the report is made).
 */
void	 smtpd_admin_accepted(struct smtpd_ctx *ctx, const struct listener *l,
	    int fd, const struct sockaddr *sa);

/*
 * admin.c: after "smtp disable": tell the client accepted on fd (from
 * sa, on listener l) "421 service not available" and close fd.
 */
void	 smtpd_admin_refuse(struct smtpd_ctx *ctx, const struct listener *l,
	    int fd, const struct sockaddr *sa);

#endif /* SMTPD_H */
