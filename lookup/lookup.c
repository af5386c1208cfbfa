/*
 * The lookup process: entry point and the dispatch of requests.  Filter
 * programs (MSG_QUEUE_FILTER_RUN from queue) and address verifiers
 * (MSG_SMTPD_RCPT_VERIFY from smtpd) run through exec.c, many at once,
 * and their exit code and output are read with filter_result.c; the
 * reply goes back when the program has been reaped (or killed at the
 * timeout).
 */
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bounds.h"
#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "exec.h"
#include "filter_result.h"
#include "netproto.h"
#include "lookup.h"
#include "lookupnet.h"

/* A filter program being run for queue. */
struct lookup_filter {
	struct lookup_ctx	*ctx;
	uint64_t		 id;
	uint32_t		 inst;
	uint32_t		 client;	/* --client-filter */
};

/* An address verifier being run for an smtpd session. */
struct lookup_verify {
	struct lookup_ctx	*ctx;
	uint64_t		 id;
};

static void	 lookup_dispatch(struct chan *, struct msg *, void *);
static void	 lookup_filter_run(struct lookup_ctx *, struct msg *);
static void	 lookup_filter_reply(struct lookup_ctx *, uint64_t,
		    const struct filter_outcome *);
static void	 lookup_on_filter_done(void *, const struct exec_result *);
static void	 lookup_verify_run(struct lookup_ctx *, struct msg *);
static void	 lookup_verify_reply(struct lookup_ctx *, uint64_t,
		    const struct verify_outcome *);
static void	 lookup_on_verify_done(void *, const struct exec_result *);
static void	 lookup_dnsbl(struct lookup_ctx *, struct msg *);
static void	 lookup_on_exit(void);

static void
lookup_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct lookup_ctx	*ctx = arg;

	if (ch->peer == PROC_QUEUE && m->type == MSG_QUEUE_FILTER_RUN &&
	    (m->flags & MSG_F_REPLY) == 0) {
		lookup_filter_run(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if (ch->peer == PROC_QUEUE && m->type == MSG_QUEUE_POLL_RUN &&
	    (m->flags & MSG_F_REPLY) == 0) {
		pollrun_run(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if (ch->peer == PROC_SMTP && m->type == MSG_SMTPD_RCPT_VERIFY &&
	    (m->flags & MSG_F_REPLY) == 0) {
		lookup_verify_run(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if ((m->flags & MSG_F_REPLY) == 0 && ((ch->peer == PROC_SMTP &&
	    m->type == MSG_SMTPD_SESSION_CHECK) || (ch->peer == PROC_POP &&
	    m->type == MSG_POP_SESSION_CHECK))) {
		auth_session_check(ctx, ch, m);
		msg_done(&ch->m, m);
		return;
	}
	if ((m->flags & MSG_F_REPLY) == 0 && ((ch->peer == PROC_SMTP &&
	    m->type == MSG_SMTPD_AUTH_CHECK) || (ch->peer == PROC_POP &&
	    m->type == MSG_POP_AUTH_CHECK))) {
		auth_check(ctx, ch, m);
		msg_done(&ch->m, m);
		return;
	}
	if ((m->flags & MSG_F_REPLY) == 0 && ch->peer == PROC_MTA &&
	    m->type == MSG_MTA_CLIENT_SECRET) {
		auth_client_secret(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if ((m->flags & MSG_F_REPLY) == 0 && ch->peer == PROC_MTA &&
	    m->type == MSG_MTA_RESOLVE) {
		lnet_mta_resolve(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if ((m->flags & MSG_F_REPLY) == 0 && ch->peer == PROC_CONTROL &&
	    m->type == MSG_CONTROL_LOOKUP_DNSBL) {
		lookup_dnsbl(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if ((m->flags & MSG_F_REPLY) && ch->peer == PROC_PARENT &&
	    (m->type == MSG_LOOKUP_PAM_CHECK ||
	    m->type == MSG_LOOKUP_SECRETS_OPEN)) {
		auth_parent_reply(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	fatalx("lookup: unexpected %s from %s", msg_type_name(m->type),
	    proc_name(ch->peer));
}

/* Start a filter program: argv is the program, content and envelope. */
static void
lookup_filter_run(struct lookup_ctx *ctx, struct msg *m)
{
	struct lookup_filter	*f;
	struct filter_outcome	 o;
	char			 path[BOUNDS_PATH * 4], content[BOUNDS_PATH * 4];
	char			 envelope[BOUNDS_PATH * 4], buf[256];
	char			*argv[4];
	uint32_t		 inst, client;
	int			 timeout;

	if (msg_get_u32(m, &inst) == -1 || msg_get_u32(m, &client) == -1 ||
	    msg_get_str(m, path, sizeof(path)) == -1 ||
	    msg_get_str(m, content, sizeof(content)) == -1 ||
	    msg_get_str(m, envelope, sizeof(envelope)) == -1 ||
	    msg_get_end(m) == -1 || inst >= ctx->boot->conf.ninst ||
	    client > 1 || m->id == 0)
		fatalx("lookup: bad %s from queue", msg_type_name(m->type));
	if (lnet_filter_is_builtin(path)) {
		/* net:, spam:, spam-edit:, mx: (SPEC 6.3) */
		lnet_filter_run(ctx, m->id, inst, (int)client, path, content,
		    envelope, lookup_filter_reply);
		return;
	}
	timeout = (int)conf_num(&ctx->boot->conf.inst[inst],
	    OPT_FILTER_TIMEOUT);
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto fail;
	f->ctx = ctx;
	f->id = m->id;
	f->inst = inst;
	f->client = client;
	argv[0] = path;
	argv[1] = content;
	argv[2] = envelope;
	argv[3] = NULL;
	if (exec_start(ctx->base, path, argv, timeout, lookup_on_filter_done,
	    f) == 0)
		return;
	free(f);
 fail:
	/* Could not even fork: the filter failed like any other error. */
	log_warn("lookup: cannot run %s", log_vis(buf, sizeof(buf), path,
	    strlen(path)));
	if (client)
		filter_result_client(-1, 0, NULL, 0, &o);
	else
		filter_result_server(-1, 0, NULL, 0, &o);
	lookup_filter_reply(ctx, m->id, &o);
}

static void
lookup_on_filter_done(void *arg, const struct exec_result *r)
{
	struct lookup_filter	*f = arg;
	struct filter_outcome	 o;
	char			 buf[EXEC_ERRSTR];
	int			 code = exec_exit_code(r);

	if (r->error != 0)
		log_warnx("%s", log_vis(buf, sizeof(buf), r->errstr,
		    strlen(r->errstr)));
	if (f->client)
		filter_result_client(code, r->timed_out, r->out, r->outlen,
		    &o);
	else
		filter_result_server(code, r->timed_out, r->out, r->outlen,
		    &o);
	lookup_filter_reply(f->ctx, f->id, &o);
	free(f);
}

static void
lookup_filter_reply(struct lookup_ctx *ctx, uint64_t id,
    const struct filter_outcome *o)
{
	struct msgchan	*q = &ctx->peer[PROC_QUEUE].m;

	msg_reply_begin(q, MSG_QUEUE_FILTER_RUN, id, -1);
	msg_put_u32(q, MSG_OK);
	msg_put_u32(q, (uint32_t)o->action);
	msg_put_u32(q, (uint32_t)o->rescan);
	msg_put_u32(q, (uint32_t)o->endpass);
	msg_put_u32(q, (uint32_t)o->timed_out);
	msg_put_u32(q, (uint32_t)o->code);
	msg_put_str(q, o->response);
	msg_put_str(q, o->reason);
	msg_put_str(q, o->reply);
	msg_end(q);
	chan_flush(&ctx->peer[PROC_QUEUE]);
}

/*
 * Start the --address-verifier program with SPEC 6.5's six arguments:
 * recipient, MAIL FROM, client ip:port, domain, mechanism, SASL id.
 */
static void
lookup_verify_run(struct lookup_ctx *ctx, struct msg *m)
{
	struct lookup_verify	*v;
	struct verify_outcome	 o;
	const struct instconf	*ic;
	const char		*prog;
	char			 rcpt[BOUNDS_PATH + 1], from[BOUNDS_PATH + 1];
	char			 client[128], domain[BOUNDS_DOMAIN + 1];
	char			 mech[32], id[BOUNDS_DOMAIN + 1], buf[256];
	char			*argv[8];
	uint32_t		 inst;

	if (msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, rcpt, sizeof(rcpt)) == -1 ||
	    msg_get_str(m, from, sizeof(from)) == -1 ||
	    msg_get_str(m, client, sizeof(client)) == -1 ||
	    msg_get_str(m, domain, sizeof(domain)) == -1 ||
	    msg_get_str(m, mech, sizeof(mech)) == -1 ||
	    msg_get_str(m, id, sizeof(id)) == -1 ||
	    msg_get_end(m) == -1 || inst >= ctx->boot->conf.ninst ||
	    m->id == 0)
		fatalx("lookup: bad %s from smtp", msg_type_name(m->type));
	ic = &ctx->boot->conf.inst[inst];
	if (!conf_bool(ic, OPT_ADDRESS_VERIFIER) ||
	    (prog = conf_str(ic, OPT_ADDRESS_VERIFIER)) == NULL)
		fatalx("lookup: %s without a verifier",
		    msg_type_name(m->type));
	if (lnet_verify_is_builtin(prog)) {
		/* net:, account: (SPEC 6.5) */
		lnet_verify_run(ctx, m->id, inst, prog,
		    &(struct netproto_verify_req){ .to = rcpt, .from = from,
		    .ip = client, .domain = domain, .mechanism = mech,
		    .name = id }, lookup_verify_reply);
		return;
	}
	if (strncmp(prog, "file:", 5) == 0)
		prog += 5;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		goto fail;
	v->ctx = ctx;
	v->id = m->id;
	argv[0] = (char *)prog;
	argv[1] = rcpt;
	argv[2] = from;
	argv[3] = client;
	argv[4] = domain;
	argv[5] = mech;
	argv[6] = id;
	argv[7] = NULL;
	if (exec_start(ctx->base, prog, argv,
	    (int)conf_num(ic, OPT_FILTER_TIMEOUT), lookup_on_verify_done,
	    v) == 0)
		return;
	free(v);
 fail:
	log_warn("lookup: cannot run %s", log_vis(buf, sizeof(buf), prog,
	    strlen(prog)));
	verifier_result(-1, 0, NULL, 0, &o);
	lookup_verify_reply(ctx, m->id, &o);
}

static void
lookup_on_verify_done(void *arg, const struct exec_result *r)
{
	struct lookup_verify	*v = arg;
	struct verify_outcome	 o;
	char			 buf[EXEC_ERRSTR];

	if (r->error != 0)
		log_warnx("%s", log_vis(buf, sizeof(buf), r->errstr,
		    strlen(r->errstr)));
	verifier_result(exec_exit_code(r), r->timed_out, r->out, r->outlen,
	    &o);
	lookup_verify_reply(v->ctx, v->id, &o);
	free(v);
}

static void
lookup_verify_reply(struct lookup_ctx *ctx, uint64_t id,
    const struct verify_outcome *o)
{
	struct msgchan	*q = &ctx->peer[PROC_SMTP].m;

	msg_reply_begin(q, MSG_SMTPD_RCPT_VERIFY, id, -1);
	msg_put_u32(q, MSG_OK);
	msg_put_u32(q, (uint32_t)o->result);
	msg_put_str(q, o->fullname);
	msg_put_str(q, o->mailbox);
	msg_put_str(q, o->text);
	msg_end(q);
	chan_flush(&ctx->peer[PROC_SMTP]);
}

/* The admin "dnsbl start" and "dnsbl stop [<seconds>]" (SPEC 9). */
static void
lookup_dnsbl(struct lookup_ctx *ctx, struct msg *m)
{
	struct msgchan	*c = &ctx->peer[PROC_CONTROL].m;
	uint32_t	 start, seconds;
	int		 r;

	if (msg_get_u32(m, &start) == -1 || msg_get_u32(m, &seconds) == -1 ||
	    msg_get_end(m) == -1 || start > 1 || (start && seconds != 0))
		fatalx("lookup: bad %s from control", msg_type_name(m->type));
	r = lookup_dnsbl_switch(ctx, (int)start, seconds);
	msg_reply_begin(c, m->type, m->id, -1);
	msg_put_u32(c, r == 0 ? MSG_OK : MSG_TEMPFAIL);
	msg_put_str(c, r == 0 ? "" : "out of memory");
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
}

/* Leaving (EOF from the parent, or fatal): no program outlives us. */
static void
lookup_on_exit(void)
{
	exec_kill_all();
}

void
lookup_main(struct proc_boot *boot, struct msgchan *parent)
{
	static struct lookup_ctx	 ctx;

	ctx.boot = boot;
	auth_init(&ctx);
	ctx.base = proc_start(boot, parent, &ctx.parent, ctx.peer,
	    lookup_dispatch, &ctx);
	lnet_init(&ctx);
	if (atexit(lookup_on_exit) != 0)
		fatalx("lookup: atexit");
	proc_run(ctx.base, PROC_LOOKUP);
}
