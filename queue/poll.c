/*
 * The poll cycle (SPEC 5, 6.4): every --poll period an instance runs its
 * --poll-run first, then a forwarding pass.  --poll-run is the built-in
 * retry:[n], done here (failed messages go back to ready, counted in
 * their envelopes, up to n times, default 5; permanent failures and "no
 * remote recipients" stay failed), or a program that lookup runs with
 * the spool directory as its argument; the pass follows once it has
 * finished.  A tick that comes while the program still runs is skipped.
 * An instance without --forward-to may poll for its --poll-run alone
 * (SPEC 2.3: a retry-only instance on a shared spool).
 */
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "queue.h"
#include "spool.h"

#define POLL_RETRY_DEFAULT	5	/* retry: without a count */
#define POLL_RETRY_SCANMAX	100000	/* failed messages per cycle */

/* One instance's poll timer and --poll-run. */
struct qpoll {
	struct queue_ctx	*ctx;
	uint32_t		 inst;
	const char		*unit;
	const char		*dir;		/* --spool-dir, for lookup */
	int			 dirfd;
	int			 retry;		/* retry:<n>, or 0 */
	const char		*prog;		/* a program, or NULL */
	uint64_t		 id;		/* program running, or 0 */
	struct event		*ev;
};

static void	 poll_on_tick(evutil_socket_t, short, void *);
static void	 poll_retry(struct qpoll *);
static void	 poll_run(struct qpoll *);

void
poll_init(struct queue_ctx *ctx)
{
	const struct config	*conf = &ctx->boot->conf;
	const struct instconf	*ic;
	struct qpoll		*p;
	struct timeval		 tv;
	const char		*v, *errstr;
	long long		 period;
	size_t			 i;

	for (i = 0; i < conf->ninst; i++) {
		ic = &conf->inst[i];
		if (!conf_bool(ic, OPT_POLL) ||
		    (period = conf_num(ic, OPT_POLL)) <= 0)
			continue;
		v = conf_bool(ic, OPT_POLL_RUN) ? conf_str(ic, OPT_POLL_RUN) :
		    NULL;
		if (!conf_bool(ic, OPT_FORWARD_TO) && v == NULL)
			continue;
		if ((p = calloc(1, sizeof(*p))) == NULL)
			fatal("queue: poll");
		p->ctx = ctx;
		p->inst = (uint32_t)i;
		p->unit = ic->name;
		p->dir = conf_str(ic, OPT_SPOOL_DIR);
		p->dirfd = ctx->spool[i].dirfd;
		if (v != NULL && strncmp(v, "retry:", 6) == 0) {
			/* Checked when the configuration was read. */
			p->retry = POLL_RETRY_DEFAULT;
			if (v[6] != '\0' && (p->retry = (int)strtonum(v + 6, 1,
			    1000000, &errstr)) == 0)
				fatalx("queue: --poll-run %s: %s", v, errstr);
		} else if (v != NULL)
			p->prog = strncmp(v, "file:", 5) == 0 ? v + 5 : v;
		if ((p->ev = event_new(ctx->base, -1, EV_PERSIST, poll_on_tick,
		    p)) == NULL)
			fatalx("queue: event_new");
		tv.tv_sec = (time_t)period;
		tv.tv_usec = 0;
		if (event_add(p->ev, &tv) == -1)
			fatalx("queue: event_add");
		ctx->poll[i] = p;
	}
}

static void
poll_on_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct qpoll	*p = arg;

	if (p->id != 0)
		return;		/* the last cycle's program still runs */
	if (p->prog != NULL) {
		poll_run(p);
		return;
	}
	if (p->retry > 0)
		poll_retry(p);
	pass_trigger(p->ctx, p->inst, "poll");
}

/*
 * retry: return every failed message that may be retried to ready
 * (spool_retry()), then fsync the spool directory once.
 */
static void
poll_retry(struct qpoll *p)
{
	struct spool_entry	*list = NULL;
	char			 err[256];
	size_t			 n, i, done = 0;
	int			 count, r;

	if (spool_scan(p->dirfd, SPOOL_BAD, POLL_RETRY_SCANMAX, &list, &n,
	    NULL) == -1) {
		log_warn("queue: retry: cannot read the spool directory %s",
		    p->dir);
		return;
	}
	for (i = 0; i < n; i++) {
		r = spool_retry(p->dirfd, list[i].base, p->retry, &count, err,
		    sizeof(err));
		if (r == 1) {
			ulog_info(p->unit, "retry: [%s]: back to ready "
			    "(retry %d of %d)", list[i].base, count, p->retry);
			done++;
		} else if (r == -1 && errno != EAGAIN && errno != ENOENT)
			log_warnx("queue: retry: [%s]: %s", list[i].base, err);
	}
	free(list);
	if (done > 0 && spool_dir_sync(p->dirfd) == -1)
		log_warn("queue: retry: %s: fsync", p->dir);
}

/* Ask lookup to run the --poll-run program; the pass follows its end. */
static void
poll_run(struct qpoll *p)
{
	struct queue_ctx	*ctx = p->ctx;
	struct msgchan		*q = &ctx->peer[PROC_LOOKUP].m;
	char			 buf[256];

	do {
		p->id = ++ctx->pollid;
	} while (p->id == 0);
	ulog_info(p->unit, "poll-run: running %s", log_vis(buf, sizeof(buf),
	    p->prog, strlen(p->prog)));
	msg_begin(q, MSG_QUEUE_POLL_RUN, p->id, -1);
	msg_put_u32(q, p->inst);
	msg_put_str(q, p->prog);
	msg_put_str(q, p->dir);
	msg_end(q);
	chan_flush(&ctx->peer[PROC_LOOKUP]);
}

void
poll_dispatch(struct queue_ctx *ctx, struct msg *m)
{
	struct qpoll	*p = NULL;
	char		 buf[256];
	uint32_t	 status, code;
	size_t		 i;

	for (i = 0; i < ctx->nspool && m->id != 0; i++) {
		if (ctx->poll[i] != NULL && ctx->poll[i]->id == m->id) {
			p = ctx->poll[i];
			break;
		}
	}
	if (p == NULL || m->type != MSG_QUEUE_POLL_RUN ||
	    (m->flags & MSG_F_REPLY) == 0 || msg_get_u32(m, &status) == -1 ||
	    msg_get_u32(m, &code) == -1 || msg_get_end(m) == -1 ||
	    (status != MSG_OK && status != MSG_TEMPFAIL))
		fatalx("queue: unexpected %s from lookup",
		    msg_type_name(m->type));
	p->id = 0;
	(void)log_vis(buf, sizeof(buf), p->prog, strlen(p->prog));
	if (status != MSG_OK)
		log_warnx("poll-run: %s: failed or timed out", buf);
	else if (code != 0)
		log_warnx("poll-run: %s: exit %u", buf, code);
	pass_trigger(ctx, p->inst, "poll");
}
