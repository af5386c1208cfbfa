/*
 * The queue side of the admin interface (SPEC 9), for control's admin
 * sessions: forward (a pass, "forwarding: [admin]"), flush (a pass, and
 * the answer once it is over), unfail-all (every ".bad" envelope back to
 * ready) and list/failures (the ids of ready and ".bad" messages, a page
 * per request).
 *
 * A forwarding pass settles every message it claims before it ends, so
 * the passes are over once no message is claimed any more: while a
 * flush waits, a short timer looks for that.  The flush answer then
 * comes from the spool: the messages that were ready (or in flight) at
 * the flush are gone (OK), failed (the reason of the first), or still
 * ready (not sent, e.g. no connection).  Admin clients that gave
 * "notify" get "forward: start" and "forward: end" events around every
 * forwarding pass, whatever started it (admin_event(), called by pass.c).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "envelope.h"
#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "queue.h"
#include "spool.h"

#define ADMIN_WATCH_MS	50		/* looking for the end of a pass */
#define ADMIN_SNAPMAX	10000		/* messages a flush reports on */
#define ADMIN_SCANMAX	(1024 * 1024)	/* envelopes listed */
#define ADMIN_PAGEMAX	(12 * 1024)	/* ids per reply frame */
#define ADMIN_TEXTMAX	512

#define R_NOREMOTE	"no remote server configured: use --forward-to"
#define R_BUSY		"still working"
#define R_NOMSG		"no messages to send"
#define R_NOMEM		"out of memory"
#define R_NOSPOOL	"cannot read the spool directory"

/* A flush waiting for the end of the passes. */
struct qflush {
	uint64_t		 id;		/* the admin session */
	struct spool_entry	*snap;		/* ready or busy at the flush */
	size_t			 nsnap;
};

struct qadmin {
	struct queue_ctx	*ctx;
	struct event		*ev_watch;
	struct qflush		*flush[BOUNDS_INSTANCES];
};

static struct qadmin *admin_get(struct queue_ctx *);
static void	 admin_reply(struct queue_ctx *, uint16_t, uint64_t,
		    uint32_t, const char *);
static int	 admin_snapshot(struct queue_ctx *, uint32_t,
		    struct spool_entry **, size_t *);
static void	 admin_forward(struct queue_ctx *, struct msg *);
static void	 admin_watch(struct qadmin *);
static void	 admin_on_watch(evutil_socket_t, short, void *);
static void	 admin_flush_done(struct qadmin *, uint32_t);
static void	 admin_unfail(struct queue_ctx *, struct msg *);
static void	 admin_list(struct queue_ctx *, struct msg *);

/* The admin state, made at the first request; NULL without memory. */
static struct qadmin *
admin_get(struct queue_ctx *ctx)
{
	struct qadmin	*qa;

	if (ctx->admin != NULL)
		return (ctx->admin);
	if ((qa = calloc(1, sizeof(*qa))) == NULL)
		return (NULL);
	if ((qa->ev_watch = evtimer_new(ctx->base, admin_on_watch,
	    qa)) == NULL) {
		free(qa);
		return (NULL);
	}
	qa->ctx = ctx;
	ctx->admin = qa;
	return (qa);
}

/* A reply of u32 status, str text to control. */
static void
admin_reply(struct queue_ctx *ctx, uint16_t type, uint64_t id,
    uint32_t status, const char *text)
{
	struct msgchan	*c = &ctx->peer[PROC_CONTROL].m;

	msg_reply_begin(c, type, id, -1);
	msg_put_u32(c, status);
	msg_put_str(c, text);
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
}

void
admin_event(struct queue_ctx *ctx, uint32_t inst, const char *text)
{
	struct msgchan	*c = &ctx->peer[PROC_CONTROL].m;

	msg_begin(c, MSG_QUEUE_EVENT_NOTIFY, 0, -1);
	msg_put_u32(c, inst);
	msg_put_str(c, text);
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
}

/*
 * The messages of instance inst that are ready or in flight, into *list
 * (malloc'd, *n entries).  Returns 0, or -1 when the spool cannot be
 * read or memory is short.
 */
static int
admin_snapshot(struct queue_ctx *ctx, uint32_t inst,
    struct spool_entry **list, size_t *n)
{
	struct spool_entry	*ready = NULL, *busy = NULL, *all;
	size_t			 nready = 0, nbusy = 0;
	int			 dirfd = ctx->spool[inst].dirfd;

	*list = NULL;
	*n = 0;
	if (spool_scan(dirfd, SPOOL_READY, ADMIN_SNAPMAX, &ready, &nready,
	    NULL) == -1 || spool_scan(dirfd, SPOOL_BUSY, ADMIN_SNAPMAX,
	    &busy, &nbusy, NULL) == -1) {
		free(ready);
		return (-1);
	}
	if (nbusy == 0) {
		*list = ready;
		*n = nready;
		return (0);
	}
	if ((all = reallocarray(ready, nready + nbusy,
	    sizeof(*all))) == NULL) {
		free(ready);
		free(busy);
		return (-1);
	}
	memcpy(all + nready, busy, nbusy * sizeof(*all));
	free(busy);
	*list = all;
	*n = nready + nbusy;
	return (0);
}

/* forward (flush 0) or flush (1) for instance inst. */
static void
admin_forward(struct queue_ctx *ctx, struct msg *m)
{
	const struct instconf	*ic;
	struct qadmin		*qa;
	struct qflush		*fl = NULL;
	uint32_t		 inst, flush;

	if (msg_get_u32(m, &inst) == -1 || msg_get_u32(m, &flush) == -1 ||
	    msg_get_end(m) == -1 || inst >= ctx->nspool || flush > 1)
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	ic = &ctx->boot->conf.inst[inst];
	if (!conf_bool(ic, OPT_FORWARD_TO)) {
		admin_reply(ctx, m->type, m->id, MSG_TEMPFAIL, R_NOREMOTE);
		return;
	}
	if ((qa = admin_get(ctx)) == NULL) {
		admin_reply(ctx, m->type, m->id, MSG_TEMPFAIL, R_NOMEM);
		return;
	}
	if (flush) {
		if (qa->flush[inst] != NULL) {
			admin_reply(ctx, m->type, m->id, MSG_TEMPFAIL, R_BUSY);
			return;
		}
		if ((fl = calloc(1, sizeof(*fl))) == NULL) {
			admin_reply(ctx, m->type, m->id, MSG_TEMPFAIL,
			    R_NOMEM);
			return;
		}
		if (admin_snapshot(ctx, inst, &fl->snap, &fl->nsnap) == -1) {
			log_warn("queue: admin flush: %s",
			    conf_str(ic, OPT_SPOOL_DIR));
			free(fl);
			admin_reply(ctx, m->type, m->id, MSG_TEMPFAIL,
			    R_NOSPOOL);
			return;
		}
		fl->id = m->id;
		qa->flush[inst] = fl;
	} else
		admin_reply(ctx, m->type, m->id, MSG_OK, "");
	/* One more pass after a running one, else one now. */
	pass_trigger(ctx, inst, "admin");
	if (flush)
		admin_watch(qa);
}

/* Whether the passes are over: answer the flushes, or look again. */
static void
admin_watch(struct qadmin *qa)
{
	struct timeval	 tv = { 0, ADMIN_WATCH_MS * 1000 };
	uint32_t	 i;

	if (!TAILQ_EMPTY(&qa->ctx->claims)) {
		if (!evtimer_pending(qa->ev_watch, NULL))
			evtimer_add(qa->ev_watch, &tv);
		return;
	}
	for (i = 0; i < BOUNDS_INSTANCES; i++)
		if (qa->flush[i] != NULL)
			admin_flush_done(qa, i);
}

static void
admin_on_watch(evutil_socket_t fd, short ev, void *arg)
{
	admin_watch(arg);
}

/*
 * The passes are over: what became of the messages that were ready or
 * in flight when the flush came.
 */
static void
admin_flush_done(struct qadmin *qa, uint32_t inst)
{
	struct queue_ctx	*ctx = qa->ctx;
	struct qflush		*fl = qa->flush[inst];
	struct envelope		 env;
	struct stat		 st;
	char			 name[SPOOL_NAME_MAX], err[256];
	char			 reason[ADMIN_TEXTMAX];
	size_t			 i, failed = 0, waiting = 0;
	int			 dirfd = ctx->spool[inst].dirfd;

	qa->flush[inst] = NULL;
	reason[0] = '\0';
	for (i = 0; i < fl->nsnap; i++) {
		if (spool_name(name, sizeof(name), fl->snap[i].base,
		    SPOOL_BAD) == 0 && fstatat(dirfd, name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			if (failed++ > 0)
				continue;
			envelope_init(&env);
			if (spool_envelope_load(dirfd, name, &env, err,
			    sizeof(err)) == 0)
				(void)envelope_reason(&env, reason,
				    sizeof(reason), NULL);
			envelope_free(&env);
			continue;
		}
		if (spool_name(name, sizeof(name), fl->snap[i].base,
		    SPOOL_READY) == 0 && fstatat(dirfd, name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0)
			waiting++;
	}
	if (fl->nsnap == 0)
		admin_reply(ctx, MSG_CONTROL_QUEUE_FORWARD, fl->id,
		    MSG_TEMPFAIL, R_NOMSG);
	else if (failed > 0)
		admin_reply(ctx, MSG_CONTROL_QUEUE_FORWARD, fl->id,
		    MSG_TEMPFAIL, reason[0] != '\0' ? reason :
		    "forwarding failed");
	else if (waiting > 0) {
		(void)snprintf(reason, sizeof(reason), "%zu of %zu "
		    "messages not sent", waiting, fl->nsnap);
		admin_reply(ctx, MSG_CONTROL_QUEUE_FORWARD, fl->id,
		    MSG_TEMPFAIL, reason);
	} else
		admin_reply(ctx, MSG_CONTROL_QUEUE_FORWARD, fl->id, MSG_OK,
		    "");
	free(fl->snap);
	free(fl);
}

/* unfail-all: every ".bad" envelope of the instance back to ready. */
static void
admin_unfail(struct queue_ctx *ctx, struct msg *m)
{
	const struct instconf	*ic;
	struct spool_entry	*list = NULL;
	size_t			 i, n = 0, done = 0;
	uint32_t		 inst;
	int			 dirfd;

	if (msg_get_u32(m, &inst) == -1 || msg_get_end(m) == -1 ||
	    inst >= ctx->nspool)
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	ic = &ctx->boot->conf.inst[inst];
	dirfd = ctx->spool[inst].dirfd;
	if (spool_scan(dirfd, SPOOL_BAD, ADMIN_SCANMAX, &list, &n,
	    NULL) == -1) {
		log_warn("queue: unfail-all: %s", conf_str(ic, OPT_SPOOL_DIR));
		admin_reply(ctx, m->type, m->id, MSG_TEMPFAIL, R_NOSPOOL);
		return;
	}
	for (i = 0; i < n; i++) {
		if (spool_rename_state(dirfd, list[i].base, SPOOL_BAD,
		    SPOOL_READY) == 0)
			done++;
		else if (errno != ENOENT)
			log_warn("queue: unfail-all: [%s]", list[i].base);
	}
	free(list);
	if (done > 0) {
		if (spool_dir_sync(dirfd) == -1)
			log_warn("queue: unfail-all: %s",
			    conf_str(ic, OPT_SPOOL_DIR));
		ulog_info(ic->name, "unfail-all: %zu failed message%s made "
		    "ready", done, done == 1 ? "" : "s");
	}
	admin_reply(ctx, m->type, m->id, MSG_OK, "");
}

/*
 * list and failures: the ids after the id after, as many as fit one
 * frame; more tells control to ask again from the last one.
 */
static void
admin_list(struct queue_ctx *ctx, struct msg *m)
{
	struct msgchan		*c = &ctx->peer[PROC_CONTROL].m;
	struct spool_entry	*list = NULL;
	char			 after[SPOOL_BASE_MAX], *page;
	size_t			 i = 0, n = 0, len = 0, k;
	uint32_t		 inst, failed, more = 0;

	if (msg_get_u32(m, &inst) == -1 || msg_get_u32(m, &failed) == -1 ||
	    msg_get_str(m, after, sizeof(after)) == -1 ||
	    msg_get_end(m) == -1 || inst >= ctx->nspool || failed > 1 ||
	    (after[0] != '\0' && !spool_base_valid(after)))
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	if ((page = malloc(ADMIN_PAGEMAX)) == NULL) {
		admin_reply(ctx, m->type, m->id, MSG_TEMPFAIL, R_NOMEM);
		return;
	}
	if (spool_scan(ctx->spool[inst].dirfd, failed ? SPOOL_BAD :
	    SPOOL_READY, ADMIN_SCANMAX, &list, &n, NULL) == -1) {
		log_warn("queue: list: %s",
		    conf_str(&ctx->boot->conf.inst[inst], OPT_SPOOL_DIR));
		free(page);
		admin_reply(ctx, m->type, m->id, MSG_TEMPFAIL, R_NOSPOOL);
		return;
	}
	if (after[0] != '\0')
		while (i < n && spool_base_cmp(list[i].base, after) <= 0)
			i++;
	for (; i < n; i++) {
		k = strlen(list[i].base);
		if (len + k + 2 > ADMIN_PAGEMAX) {
			more = 1;
			break;
		}
		memcpy(page + len, list[i].base, k);
		len += k;
		page[len++] = '\n';
	}
	page[len] = '\0';
	free(list);
	msg_reply_begin(c, m->type, m->id, -1);
	msg_put_u32(c, MSG_OK);
	msg_put_u32(c, more);
	msg_put_str(c, page);
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
	free(page);
}

void
admin_dispatch(struct queue_ctx *ctx, struct msg *m)
{
	if ((m->flags & MSG_F_REPLY) != 0)
		fatalx("queue: unexpected %s reply from control",
		    msg_type_name(m->type));
	switch (m->type) {
	case MSG_CONTROL_QUEUE_FORWARD:
		admin_forward(ctx, m);
		break;
	case MSG_CONTROL_QUEUE_UNFAIL:
		admin_unfail(ctx, m);
		break;
	case MSG_CONTROL_QUEUE_LIST:
		admin_list(ctx, m);
		break;
	default:
		fatalx("queue: unexpected %s from control",
		    msg_type_name(m->type));
	}
}
