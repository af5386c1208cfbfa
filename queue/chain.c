/*
 * Filter chains (SPEC 6.1, 6.2): --filter on a message being stored
 * (envelope ".new") and --client-filter on a claimed one (".busy").  The
 * filters of an instance run one after the other in the order given;
 * built-ins that only look at the exit code (exit:) are decided here,
 * programs ("/path" or "file:/path") run in lookup, which answers with
 * the outcome read from the program's exit code and output.  A pass goes
 * on to the next filter; an abandon or a failure ends the chain.  The
 * caller's done() always comes from the event loop, never from inside
 * chain_start().
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

struct qchain {
	TAILQ_ENTRY(qchain)	 entry;
	struct queue_ctx	*ctx;
	uint64_t		 id;		/* of the request to lookup */
	uint32_t		 inst;
	int			 client;
	int			 state;		/* the envelope's */
	char			 base[SPOOL_BASE_MAX];
	char			 name[128];	/* the filter running */
	char *const		*list;
	size_t			 n, i;
	struct chain_result	 res;
	struct event		*ev;		/* next step from the loop */
	void			(*done)(struct queue_ctx *, void *,
				    const struct chain_result *);
	void			*arg;
};

static void	 chain_step(struct qchain *);
static void	 chain_outcome(struct qchain *, const struct filter_outcome *);
static void	 chain_later(struct qchain *);
static void	 chain_on_step(evutil_socket_t, short, void *);
static const char *chain_program(const char *);

/*
 * The program a filter value names, or NULL for a built-in: a value
 * whose first ':' comes before any '/' is a built-in, except "file:".
 */
static const char *
chain_program(const char *v)
{
	size_t	 n = strcspn(v, ":/");

	if (v[n] != ':')
		return (v);
	if (n == 4 && strncmp(v, "file", 4) == 0)
		return (v + 5);
	return (NULL);
}

int
chain_start(struct queue_ctx *ctx, uint32_t inst, int client,
    const char *base, int state,
    void (*done)(struct queue_ctx *, void *, const struct chain_result *),
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

/* Start filter c->i, or finish the chain. */
static void
chain_step(struct qchain *c)
{
	struct queue_ctx	*ctx = c->ctx;
	struct msgchan		*q = &ctx->peer[PROC_LOOKUP].m;
	const struct instconf	*ic = &ctx->boot->conf.inst[c->inst];
	struct filter_outcome	 o;
	const char		*v, *prog, *dir, *unit = ic->name;
	char			 content[PATH_MAX], envelope[PATH_MAX];
	char			 name[SPOOL_NAME_MAX], buf[256];
	int			 exitcode;

	if (c->res.action != FILTER_PASS || c->i == c->n) {
		TAILQ_REMOVE(&ctx->chains, c, entry);
		event_free(c->ev);
		c->done(ctx, c->arg, &c->res);
		free(c);
		return;
	}
	v = c->list[c->i++];
	(void)strlcpy(c->name, v, sizeof(c->name));
	if ((prog = chain_program(v)) == NULL) {
		/* exit:<n>, checked when the configuration was read. */
		if (strncmp(v, "exit:", 5) != 0)
			fatalx("queue: filter %s is not built yet", v);
		exitcode = (int)strtonum(v + 5, 0, 255, NULL);
		if (c->client)
			filter_result_client(exitcode, 0, NULL, 0, &o);
		else
			filter_result_server(exitcode, 0, NULL, 0, &o);
		chain_outcome(c, &o);
		chain_later(c);
		return;
	}
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

/* Fold one filter's outcome into the chain's. */
static void
chain_outcome(struct qchain *c, const struct filter_outcome *o)
{
	struct chain_result	*r = &c->res;

	r->action = o->action;
	r->rescan |= o->rescan;
	r->endpass |= o->endpass;
	r->code = o->code;
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
	chain_step(c);
}
