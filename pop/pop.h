/*
 * The pop process (SPEC 8, 11): listeners, accept and pause, and the
 * context its sessions (session.c) share.
 */
#ifndef POP_H
#define POP_H

#include <sys/types.h>
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "proc.h"

struct event;
struct event_base;
struct msgchan;
struct pop_session;
struct proc_boot;
struct tls;

/* Sessions at once, at most (fewer when descriptors are short). */
#define POP_MAX_SESSIONS	500
/* Descriptors a session may hold: socket, maildrop dirs, a message. */
#define POP_SESSION_FDS		5

struct pop_ctx;

/* One listening socket and its accept event. */
struct pop_listener {
	struct pop_ctx		*ctx;
	const struct listener	*l;		/* in ctx->boot->lst[] */
	struct event		*ev;
};

/* What an instance with --pop needs. */
struct pop_inst {
	int			 spoolfd;	/* -1 without --pop */
	dev_t			 dev;		/* the spool's identity, */
	ino_t			 ino;		/* for maildrop locks */
	struct tls		*tls;		/* STLS or implicit TLS */
};

RB_HEAD(pop_session_tree, pop_session);

struct pop_ctx {
	struct proc_boot	*boot;
	struct event_base	*base;
	struct chan		 parent;
	struct chan		 peer[PROC__COUNT];
	struct pop_listener	 lst[BOUNDS_LISTENERS];
	size_t			 nlst;
	int			 paused;	/* listeners off */
	struct event		*ev_resume;	/* retry after EMFILE etc. */
	struct pop_session_tree	 sessions;	/* by id */
	size_t			 nsessions;	/* open connections */
	size_t			 maxsessions;
	char			 hostname[BOUNDS_DOMAIN + 1];
	struct pop_inst		 inst[BOUNDS_INSTANCES];
};

/* Entry point after re-exec; never returns. */
void	 pop_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

/*
 * A session's connection has closed: count it and let the listeners
 * accept again if they were paused for the session limit.
 */
void	 pop_session_closed(struct pop_ctx *ctx);

#endif /* POP_H */
