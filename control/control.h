/*
 * The control process: the admin port (SPEC 9) and the emailrelayctl
 * socket (SPEC 10).  control.c is the entry point, the listeners and the
 * dispatch; admin.c runs the admin sessions (admin_proto.c's engine on a
 * connection) and relays their commands to queue, smtpd, mta, lookup
 * and the parent; ctl.c serves the control socket (protocol in
 * common/ctl.h).
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "proc.h"

struct admin_session;
struct ctl_conn;
struct event;
struct event_base;
struct msg;
struct msgchan;

/* Admin connections at once; the listeners pause at this many. */
#define CONTROL_MAX_SESSIONS	64

struct control_ctx;

/* One admin listening socket and its accept event. */
struct control_listener {
	struct control_ctx	*ctx;
	const struct listener	*l;		/* in ctx->boot->lst[] */
	struct event		*ev;
};

RB_HEAD(admin_tree, admin_session);
RB_HEAD(ctl_tree, ctl_conn);

struct control_ctx {
	struct proc_boot	*boot;
	struct event_base	*base;
	struct chan		 parent;
	struct chan		 peer[PROC__COUNT];
	struct control_listener	 lst[BOUNDS_LISTENERS];
	size_t			 nlst;
	int			 paused;	/* listeners off */
	struct event		*ev_resume;	/* retry after EMFILE etc. */
	struct admin_tree	 sessions;	/* by id, until their reply */
	size_t			 nsessions;	/* open connections */
	uint64_t		 in_started;	/* admin connections, for */
	uint64_t		 in_finished;	/* the status report */
	long			 pid;		/* the daemon's, for "pid" */

	/* The control socket (ctl.c). */
	int			 ctl_fd;	/* listening, or -1 */
	const char		*ctl_path;
	struct event		*ev_ctl;
	struct event		*ev_ctl_resume;
	int			 ctl_paused;
	struct ctl_tree		 ctls;		/* by id */
	size_t			 nctl;		/* open connections */
	uid_t			 ctl_uid;	/* ours: always let in */
	gid_t			 ctl_gid;	/* the socket's (spool's) group */
};

/* Entry point after re-exec; never returns. */
void	 control_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

/*
 * control.c: an admin connection has closed: count it and let the
 * listeners accept again if they were paused at the session limit.
 */
void	 control_session_closed(struct control_ctx *ctx);

/*
 * admin.c: start a session on the accepted socket fd (non-blocking)
 * from peer sa for listener l: log the connection; the engine sends
 * nothing before the first command.  Takes fd in every case (closed on
 * failure).  Returns 0, or -1 when the session could not be set up.
 */
int	 admin_session_new(struct control_ctx *ctx, const struct listener *l,
	    int fd, const struct sockaddr *sa, socklen_t salen);

/*
 * admin.c: a reply from queue, smtpd, mta or lookup for the session
 * m->id.  An unknown id or a malformed reply is fatal: they come from
 * our own processes.  The caller calls msg_done().
 */
void	 admin_session_dispatch(struct control_ctx *ctx, struct msg *m);

/* admin.c: MSG_QUEUE_EVENT_NOTIFY: to the sessions that want events. */
void	 admin_session_event(struct control_ctx *ctx, struct msg *m);

/*
 * admin.c: the "IN: <local> <- <peer>" lines of the open admin
 * connections, appended to buf (bufsz bytes, NUL-terminated; lines that
 * do not fit are left out).
 */
void	 admin_session_report(struct control_ctx *ctx, char *buf,
	    size_t bufsz);

/*
 * ctl.c: before the privilege drop, find the control socket among the
 * listeners and take the group it is owned by (the spool's, set by the
 * parent) as the group let in.
 */
void	 ctl_prepare(struct control_ctx *ctx);

/* ctl.c: after the drop, accept on the control socket (if any). */
void	 ctl_listen(struct control_ctx *ctx);

/* ctl.c: whether m is a MSG_CTL_* reply that peer may send us. */
int	 ctl_reply_ok(enum proc_id peer, const struct msg *m);

/*
 * ctl.c: a MSG_CTL_* reply from queue, smtpd or the parent for the
 * connection m->id, relayed to the client.  An unknown id or a
 * malformed reply is fatal.  The caller calls msg_done().
 */
void	 ctl_dispatch_reply(struct control_ctx *ctx, enum proc_id from,
	    struct msg *m);

#endif /* CONTROL_H */
