/*
 * The queue process: the only writer of the spool (STYLE.md section 1).
 * queue.c is the entry point and the dispatch; store.c receives messages
 * from smtpd into the spool; pass.c runs the forwarding passes; chain.c
 * the filter chains (built-ins from filter.c); poll.c the poll timer and
 * --poll-run (retry:); admin.c the admin interface's commands; ctl.c
 * emailrelayctl's.
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <limits.h>
#include <stdint.h>

#include "bounds.h"
#include "proc.h"
#include "spool.h"

struct event;
struct event_base;
struct msg;
struct qadmin;
struct qchain;
struct qfwd;
struct qmsg;
struct qpass;
struct qpoll;
struct spool_entry;

/* One instance's spool directory, opened once at start. */
struct queue_spool {
	int		 dirfd;		/* shared by instances on one dir */
	char		 path[PATH_MAX];	/* as seen inside the chroot */
	int		 delivery_fd;	/* --delivery-dir, or -1: the spool */
	char		 delivery[PATH_MAX];	/* as seen inside, or "" */
};

RB_HEAD(qmsg_tree, qmsg);
TAILQ_HEAD(qmsg_list, qmsg);
TAILQ_HEAD(qfwd_list, qfwd);
TAILQ_HEAD(qchain_list, qchain);

/*
 * What a filter chain came to (chain.c).  parts lists the messages that
 * split: made, in the state of the original (".new" in the --filter
 * chain, ".busy" in the --client-filter chain), their content a hard
 * link of the original's: the done callback commits, releases or
 * removes them (the files); chain.c frees the list after done returns
 * unless the callback took it (and set parts to NULL).
 */
struct chain_result {
	int		 action;	/* FILTER_PASS, _ABANDON, _FAIL */
	int		 rescan;	/* a filter asked for a rescan */
	int		 endpass;	/* client: end the forwarding pass */
	int		 ran;		/* a program ran: files may differ */
	int		 changed;	/* a built-in rewrote the envelope */
	int		 gone;		/* a built-in deleted the original
					   itself: leave its files alone */
	int		 builtin;	/* the last filter was a built-in */
	int		 code;		/* 4xx/5xx from the text, or 0 */
	struct spool_entry *parts;	/* split: new messages, or NULL */
	size_t		 nparts;
	char		 filter[128];	/* the last filter that ran */
	char		 response[1001];	/* failure text */
	char		 reason[1001];	/* logged, into the envelope */
	char		 reply[1001];	/* server: the client's reply */
};

struct queue_ctx {
	struct proc_boot	*boot;
	struct event_base	*base;
	struct chan		 parent;
	struct chan		 peer[PROC__COUNT];
	struct queue_spool	 spool[BOUNDS_INSTANCES];	/* by inst */
	size_t			 nspool;	/* instances at start */
	pid_t			 pid;
	unsigned long long	 seq;		/* of the last name made */
	struct qmsg_tree	 msgs;		/* being received, by session */
	struct qmsg_list	 commits;	/* awaiting a directory fsync */
	struct event		*ev_commit;
	struct qpass		*pass[BOUNDS_INSTANCES];/* by inst */
	struct qfwd_list	 fwds;		/* awaiting mta */
	struct qfwd_list	 claims;	/* every claimed message */
	struct qpoll		*poll[BOUNDS_INSTANCES];/* by inst */
	uint64_t		 pollid;	/* of the last poll-run */
	struct qchain_list	 chains;	/* filter chains running */
	uint64_t		 chainid;	/* of the last filter run */
	uint64_t		 fwdid;		/* of the last forward */
	int			 clients;	/* --as-client passes due */
	int			 client_status;
	struct qadmin		*admin;		/* admin.c, made when used */
	/* emailrelayctl (ctl.c). */
	int			 fwd_paused;	/* pause forward: no passes */
	uint64_t		 fwd_done;	/* messages forwarded */
	uint64_t		 fwd_failed;	/* messages failed (.bad) */
};

/* Entry point after re-exec; never returns. */
void	 queue_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

/* store.c: set up the receiving side (after the spools are open). */
void	 store_init(struct queue_ctx *ctx);

/*
 * store.c: a frame from smtpd (MSG_SMTPD_MESSAGE_*).  Takes no fd (these
 * requests carry none).  A frame that breaks the protocol is fatal: it
 * comes from our own smtpd.  The caller calls msg_done().
 */
void	 store_dispatch(struct queue_ctx *ctx, struct msg *m);

/*
 * store.c: answer smtpd's COMMIT for session sid once an --immediate
 * forward is over: status MSG_OK or MSG_TEMPFAIL, text the reply line.
 */
void	 store_immediate_reply(struct queue_ctx *ctx, uint64_t sid,
	    uint32_t status, const char *text);

/*
 * chain.c: run the --filter (client 0, envelope state SPOOL_NEW) or
 * --client-filter (client 1, SPOOL_BUSY) chain of instance inst on
 * message base; done(ctx, arg, result) follows from the event loop.
 * Built-ins of filter.c run here, programs and the network built-ins
 * (net:, spam:, spam-edit:, mx:) in lookup.  Returns 0, or -1 when the
 * instance has no such filters (done is then never called).
 */
int	 chain_start(struct queue_ctx *ctx, uint32_t inst, int client,
	    const char *base, int state,
	    void (*done)(struct queue_ctx *, void *, struct chain_result *),
	    void *arg);

/* chain.c: a reply from lookup (MSG_QUEUE_FILTER_RUN); else fatal. */
void	 chain_dispatch(struct queue_ctx *ctx, struct msg *m);

/*
 * queue.c: log a spool_recover() action (arg is the spool directory or
 * unit name for the line).
 */
void	 queue_recover_log(void *arg, enum spool_recover_action action,
	    const char *name, int error);

/*
 * pass.c: set up forwarding (after the spools are open): the start-up
 * pass for --forward and --as-client.
 */
void	 pass_init(struct queue_ctx *ctx);

/*
 * pass.c: start a forwarding pass of instance inst, or one more after the
 * pass under way; trigger names it in the log line ("poll" ...).  Does
 * nothing for an instance without --forward-to, or while emailrelayctl
 * has paused forwarding.
 */
void	 pass_trigger(struct queue_ctx *ctx, uint32_t inst,
	    const char *trigger);

/*
 * pass.c: --immediate: claim the ready message base of instance inst
 * and forward it now; store_immediate_reply() answers session sid when
 * the outcome is known (or at once when the message cannot be sent).
 * Returns 0, or -1 when nothing was claimed (no --forward-to, or the
 * message is taken by someone else): then the caller answers.
 */
int	 pass_immediate(struct queue_ctx *ctx, uint32_t inst,
	    const char *base, uint64_t sid);

/* pass.c: MSG_SMTPD_SESSION_END_NOTIFY (--forward-on-disconnect). */
void	 pass_session_end(struct queue_ctx *ctx, struct msg *m);

/*
 * pass.c: a reply from mta (MSG_QUEUE_MESSAGE_FORWARD); anything else
 * is fatal.  The caller calls msg_done().
 */
void	 pass_dispatch(struct queue_ctx *ctx, struct msg *m);

/*
 * poll.c: the --poll timers (after pass_init()).  Each cycle runs the
 * --poll-run program or built-in (retry:) first, then a forwarding pass.
 */
void	 poll_init(struct queue_ctx *ctx);

/* poll.c: a reply from lookup (MSG_QUEUE_POLL_RUN); else fatal. */
void	 poll_dispatch(struct queue_ctx *ctx, struct msg *m);

/*
 * admin.c: a request from control for an admin session
 * (MSG_CONTROL_QUEUE_*: forward, flush, unfail-all, list, failures);
 * anything else from control is fatal.  Flush is answered once the
 * forwarding it started is over.  The caller calls msg_done().
 */
void	 admin_dispatch(struct queue_ctx *ctx, struct msg *m);

/*
 * admin.c: an event for the admin clients of instance inst that gave
 * "notify" (SPEC 9): text goes out as "EVENT: <text>".  Sent to control
 * whether or not anyone listens; control drops it then.
 */
void	 admin_event(struct queue_ctx *ctx, uint32_t inst, const char *text);

/*
 * ctl.c: a request from control for emailrelayctl (MSG_CTL_*), answered
 * at once; other requests go on to admin_dispatch().  The caller calls
 * msg_done().
 */
void	 qctl_dispatch(struct queue_ctx *ctx, struct msg *m);

#endif /* QUEUE_H */
