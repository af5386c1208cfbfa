/*
 * The queue process: the only writer of the spool (STYLE.md section 1).
 * queue.c is the entry point and the dispatch; store.c receives messages
 * from smtpd into the spool.
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

struct event;
struct event_base;
struct msg;
struct qmsg;

/* One instance's spool directory, opened once at start. */
struct queue_spool {
	int		 dirfd;		/* shared by instances on one dir */
	char		 path[PATH_MAX];	/* as seen inside the chroot */
};

RB_HEAD(qmsg_tree, qmsg);
TAILQ_HEAD(qmsg_list, qmsg);

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

#endif /* QUEUE_H */
