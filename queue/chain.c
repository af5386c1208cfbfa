/*
 * Filter chains (SPEC 6.1, 6.2, 6.3): --filter on a message being stored
 * (envelope ".new") and --client-filter on a claimed one (".busy").  The
 * filters of an instance run one after the other in the order given.
 * The file-only built-ins (exit:, copy:, deliver:, split:, msgid:) run
 * here through filter.c; programs ("/path" or "file:/path") and the
 * built-ins that need the network (net:, spam:, spam-edit:, mx:) run in
 * lookup, which answers with the outcome (for a program, read from its
 * exit code and output).  A pass goes on to the next filter; an abandon
 * or a failure ends the chain.  The caller's done() always comes from
 * the event loop, never from inside chain_start().
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "queue.h"
#include "spool.h"
#include "filter_result.h"
#include "queue/filter.h"

/* split: parts one chain keeps track of (a part per recipient domain). */
#define CHAIN_PARTS_MAX	BOUNDS_RCPT

struct qchain {
	TAILQ_ENTRY(qchain)	 entry;
	struct queue_ctx	*ctx;
	uint64_t		 id;		/* of the request to lookup */
	uint32_t		 inst;
	int			 client;
	int			 state;		/* the envelope's */
	int			 builtin;	/* lookup runs a built-in */
	char			 base[SPOOL_BASE_MAX];
	char			 name[128];	/* the filter running */
	char *const		*list;
	size_t			 n, i;
	struct chain_result	 res;
	struct spool_entry	*parts;		/* split: made so far */
	size_t			 nparts;
	struct event		*ev;		/* next step from the loop */
	void			(*done)(struct queue_ctx *, void *,
				    struct chain_result *);
	void			*arg;
};

static void	 chain_step(struct qchain *);
static void	 chain_finish(struct qchain *);
static void	 chain_builtin(struct qchain *, const struct filter_builtin *);
static void	 chain_add_parts(struct qchain *,
		    struct filter_builtin_parts *, struct filter_outcome *);
static void	 chain_outcome(struct qchain *, const struct filter_outcome *);
static void	 chain_later(struct qchain *);
static void	 chain_on_step(evutil_socket_t, short, void *);
static const char *chain_program(const char *, int *);

/*
 * What lookup runs for a filter value that is not a built-in of this
 * process: the program path ("/path", or "file:/path" without its
 * prefix), or for a built-in that lookup runs (a value whose first ':'
 * comes before any '/', such as "spam:127.0.0.1:783") the value
 * unchanged, with *builtin set, so that lookup can tell it by its
 * prefix.
 */
static const char *
chain_program(const char *v, int *builtin)
{
	size_t	 n = strcspn(v, ":/");

	*builtin = 0;
	if (v[n] != ':')
		return (v);
	if (n == 4 && strncmp(v, "file", 4) == 0)
		return (v + 5);
	*builtin = 1;
	return (v);
}

int
chain_start(struct queue_ctx *ctx, uint32_t inst, int client,
    const char *base, int state,
    void (*done)(struct queue_ctx *, void *, struct chain_result *),
    void *arg)
{
	const struct optval	*ov;
	struct qchain		*c;

	ov = &ctx->boot->conf.inst[inst].opt[client ? OPT_CLIENT_FILTER :
	    OPT_FILTER];
	if (!ov->set || ov->nlist == 0)
		return (-1);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("queue: filter chain");
	c->ctx = ctx;
	c->inst = inst;
	c->client = client;
	c->state = state;
	c->list = ov->list;
	c->n = ov->nlist;
	c->done = done;
	c->arg = arg;
	c->res.action = FILTER_PASS;
	(void)strlcpy(c->base, base, sizeof(c->base));
	if ((c->ev = evtimer_new(ctx->base, chain_on_step, c)) == NULL)
		fatalx("queue: evtimer_new");
	TAILQ_INSERT_TAIL(&ctx->chains, c, entry);
	chain_later(c);
	return (0);
}

/* Run the next step from the event loop. */
static void
chain_later(struct qchain *c)
{
	struct timeval	 tv = { 0, 0 };

	if (evtimer_add(c->ev, &tv) == -1)
		fatalx("queue: evtimer_add");
}

static void
chain_on_step(evutil_socket_t fd, short ev, void *arg)
{
	chain_step(arg);
}

/* The chain is over: tell the caller, then forget it. */
static void
chain_finish(struct qchain *c)
{
	struct queue_ctx	*ctx = c->ctx;

	TAILQ_REMOVE(&ctx->chains, c, entry);
	event_free(c->ev);
	c->res.parts = c->parts;
	c->res.nparts = c->nparts;
	c->done(ctx, c->arg, &c->res);
	free(c->res.parts);
	free(c);
}

/* Start filter c->i, or finish the chain. */
static void
chain_step(struct qchain *c)
{
	struct queue_ctx	*ctx = c->ctx;
	struct msgchan		*q = &ctx->peer[PROC_LOOKUP].m;
	const struct instconf	*ic = &ctx->boot->conf.inst[c->inst];
	struct filter_builtin	 fb;
	struct filter_outcome	 o;
	const char		*v, *prog, *dir, *errstr, *unit = ic->name;
	char			 content[PATH_MAX], envelope[PATH_MAX];
	char			 name[SPOOL_NAME_MAX], buf[256];

	if (c->res.action != FILTER_PASS || c->i == c->n) {
		chain_finish(c);
		return;
	}
	v = c->list[c->i++];
	(void)strlcpy(c->name, v, sizeof(c->name));
	switch (filter_builtin_parse(v, &fb, &errstr)) {
	case 1:
		chain_builtin(c, &fb);
		chain_later(c);
		return;
	case -1:
		/* Accepted at start-up but not here: fail, never guess. */
		memset(&o, 0, sizeof(o));
		o.action = FILTER_FAIL;
		o.code = 452;
		(void)strlcpy(o.response, "452 filter failed",
		    sizeof(o.response));
		(void)strlcpy(o.reply, o.response, sizeof(o.reply));
		(void)snprintf(o.reason, sizeof(o.reason), "%s: %s",
		    log_vis(buf, sizeof(buf), v, strlen(v)), errstr);
		chain_outcome(c, &o);
		c->res.builtin = 1;
		chain_later(c);
		return;
	default:
		break;
	}
	prog = chain_program(v, &c->builtin);
	dir = conf_str(ic, OPT_SPOOL_DIR);
	if (spool_name(name, sizeof(name), c->base, SPOOL_KIND_CONTENT) ==
	    -1 || snprintf(content, sizeof(content), "%s/%s", dir, name) >=
	    (int)sizeof(content) || spool_name(name, sizeof(name), c->base,
	    c->state) == -1 || snprintf(envelope, sizeof(envelope), "%s/%s",
	    dir, name) >= (int)sizeof(envelope))
		fatalx("queue: spool path too long");
	ulog_info(unit, "filter [%s]: [%s]: running %s",
	    log_vis(buf, sizeof(buf), v, strlen(v)), c->base, prog);
	do {
		c->id = ++ctx->chainid;
	} while (c->id == 0);
	c->res.ran = 1;
	msg_begin(q, MSG_QUEUE_FILTER_RUN, c->id, -1);
	msg_put_u32(q, c->inst);
	msg_put_u32(q, (uint32_t)c->client);
	msg_put_str(q, prog);
	msg_put_str(q, content);
	msg_put_str(q, envelope);
	msg_end(q);
	chan_flush(&ctx->peer[PROC_LOOKUP]);
}

/*
 * Run a built-in of filter.c on the message (SPEC 6.3), synchronously:
 * they only touch files.  Its outcome counts as a program's would.
 */
static void
chain_builtin(struct qchain *c, const struct filter_builtin *fb)
{
	struct queue_ctx		*ctx = c->ctx;
	const struct instconf		*ic;
	struct filter_builtin_env	 env;
	struct filter_builtin_parts	 parts;
	struct filter_outcome		 o;
	char				 buf[256];
	int				 r;

	ic = &ctx->boot->conf.inst[c->inst];
	memset(&env, 0, sizeof(env));
	env.spool_fd = ctx->spool[c->inst].dirfd;
	env.delivery_fd = ctx->spool[c->inst].delivery_fd;
	env.pid = ctx->pid;
	env.seq = &ctx->seq;
	env.domain = conf_bool(ic, OPT_DOMAIN) ? conf_str(ic, OPT_DOMAIN) :
	    NULL;
	env.hostname = NULL;
	r = filter_builtin_run(fb, &env, c->base, (enum spool_state)c->state,
	    &o, &parts);
	if (fb->kind != FILTER_BUILTIN_EXIT)
		ulog_verbose(ic->name, "filter [%s]: [%s]: %s",
		    log_vis(buf, sizeof(buf),
		    c->name, strlen(c->name)), c->base,
		    o.action == FILTER_PASS ? "passed" :
		    o.action == FILTER_ABANDON ? "done" : "failed");
	if (parts.n > 0)
		chain_add_parts(c, &parts, &o);
	filter_builtin_parts_free(&parts);
	if (o.action != FILTER_FAIL && o.reason[0] != '\0')
		ulog_warnx(ic->name, "filter [%s]: [%s]: %s",
		    log_vis(buf, sizeof(buf),
		    c->name, strlen(c->name)), c->base, o.reason);
	if (r == FILTER_BUILTIN_REMOVED)
		c->res.gone = 1;
	if (o.action != FILTER_FAIL && (fb->kind == FILTER_BUILTIN_DELIVER ||
	    fb->kind == FILTER_BUILTIN_SPLIT))
		c->res.changed = 1;
	chain_outcome(c, &o);
	c->res.builtin = 1;
}

/*
 * Keep the messages split: made (moved out of *parts); when they cannot
 * be kept they are removed again and the filter fails.
 */
static void
chain_add_parts(struct qchain *c, struct filter_builtin_parts *parts,
    struct filter_outcome *o)
{
	struct spool_entry	*np;
	size_t			 i;
	int			 dirfd = c->ctx->spool[c->inst].dirfd;

	if (c->nparts + parts->n > CHAIN_PARTS_MAX ||
	    (np = reallocarray(c->parts, c->nparts + parts->n,
	    sizeof(*np))) == NULL) {
		for (i = 0; i < parts->n; i++)
			(void)spool_remove(dirfd, parts->list[i].base);
		(void)spool_dir_sync(dirfd);
		memset(o, 0, sizeof(*o));
		o->action = FILTER_FAIL;
		o->code = 452;
		(void)strlcpy(o->response, "452 split failed",
		    sizeof(o->response));
		(void)strlcpy(o->reply, o->response, sizeof(o->reply));
		(void)strlcpy(o->reason, "split: too many new messages",
		    sizeof(o->reason));
		return;
	}
	c->parts = np;
	memcpy(c->parts + c->nparts, parts->list,
	    parts->n * sizeof(*parts->list));
	c->nparts += parts->n;
}

/* Fold one filter's outcome into the chain's. */
static void
chain_outcome(struct qchain *c, const struct filter_outcome *o)
{
	struct chain_result	*r = &c->res;

	r->action = o->action;
	r->rescan |= o->rescan;
	r->endpass |= o->endpass;
	r->code = o->code;
	r->builtin = 0;
	(void)strlcpy(r->response, o->response, sizeof(r->response));
	(void)strlcpy(r->reason, o->reason, sizeof(r->reason));
	(void)strlcpy(r->reply, o->reply, sizeof(r->reply));
	(void)strlcpy(r->filter, c->name, sizeof(r->filter));
}

void
chain_dispatch(struct queue_ctx *ctx, struct msg *m)
{
	struct filter_outcome	 o;
	struct qchain		*c;
	uint32_t		 status, action, rescan, endpass, timed, code;

	TAILQ_FOREACH(c, &ctx->chains, entry)
		if (c->id == m->id && !evtimer_pending(c->ev, NULL))
			break;
	memset(&o, 0, sizeof(o));
	if (c == NULL || m->id == 0 || m->type != MSG_QUEUE_FILTER_RUN ||
	    (m->flags & MSG_F_REPLY) == 0 ||
	    msg_get_u32(m, &status) == -1 || msg_get_u32(m, &action) == -1 ||
	    msg_get_u32(m, &rescan) == -1 || msg_get_u32(m, &endpass) == -1 ||
	    msg_get_u32(m, &timed) == -1 || msg_get_u32(m, &code) == -1 ||
	    msg_get_str(m, o.response, sizeof(o.response)) == -1 ||
	    msg_get_str(m, o.reason, sizeof(o.reason)) == -1 ||
	    msg_get_str(m, o.reply, sizeof(o.reply)) == -1 ||
	    msg_get_end(m) == -1 || status != MSG_OK ||
	    action > FILTER_FAIL || code > 599)
		fatalx("queue: unexpected %s from lookup",
		    msg_type_name(m->type));
	o.action = (int)action;
	o.rescan = rescan != 0;
	o.endpass = endpass != 0;
	o.timed_out = timed != 0;
	o.code = (int)code;
	c->id = 0;
	chain_outcome(c, &o);
	c->res.builtin = c->builtin;
	chain_step(c);
}
