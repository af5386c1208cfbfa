/*
 * The mta process: entry point and the dispatch of frames from queue.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <tls.h>

#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "tlsconf.h"
#include "mta.h"
#include "session.h"

static void	 mta_dispatch(struct chan *, struct msg *, void *);
static void	 mta_rcpt(struct mta_ctx *, struct msg *);
static void	 mta_tls(struct mta_ctx *, int);
static void	 mta_tls_reload(void *);
static void	 mta_admin_status(struct mta_ctx *, struct msgchan *,
		    struct msg *);

void
mta_rcpt_clear(struct mta_ctx *ctx)
{
	size_t	 i;

	for (i = 0; i < ctx->nrcpt; i++)
		free(ctx->rcpt[i]);
	free(ctx->rcpt);
	ctx->rcpt = NULL;
	ctx->nrcpt = ctx->rcptsz = 0;
	ctx->rcpt_id = 0;
}

/* MSG_QUEUE_MESSAGE_RCPT_NOTIFY: more recipients for the next message. */
static void
mta_rcpt(struct mta_ctx *ctx, struct msg *m)
{
	const void	*p;
	const char	*s, *end;
	char		**v;
	size_t		 len, n, sz;
	uint32_t	 cnt;

	if (msg_get_u32(m, &cnt) == -1 || msg_get_data(m, &p, &len) == -1 ||
	    msg_get_end(m) == -1 || (ctx->nrcpt > 0 && ctx->rcpt_id != m->id))
		fatalx("mta: bad %s from queue", msg_type_name(m->type));
	ctx->rcpt_id = m->id;
	s = p;
	end = s + len;
	while (s < end) {
		if ((n = strnlen(s, (size_t)(end - s))) == (size_t)(end - s))
			fatalx("mta: bad %s from queue",
			    msg_type_name(m->type));
		if (ctx->nrcpt == ctx->rcptsz) {
			if (ctx->nrcpt >= BOUNDS_RCPT)
				fatalx("mta: too many recipients");
			sz = ctx->rcptsz == 0 ? 16 : ctx->rcptsz * 2;
			if (sz > BOUNDS_RCPT)
				sz = BOUNDS_RCPT;
			if ((v = reallocarray(ctx->rcpt, sz,
			    sizeof(*v))) == NULL)
				fatal("mta: recipients");
			ctx->rcpt = v;
			ctx->rcptsz = sz;
		}
		if ((ctx->rcpt[ctx->nrcpt] = strndup(s, n)) == NULL)
			fatal("mta: recipients");
		ctx->nrcpt++;
		s += n + 1;
		if (cnt-- == 0)
			fatalx("mta: bad %s from queue",
			    msg_type_name(m->type));
	}
	if (cnt != 0)
		fatalx("mta: bad %s from queue", msg_type_name(m->type));
}

/*
 * The admin status report's client side (SPEC 9: "OUT started: n",
 * "OUT finished: n"): the outgoing connections session.c began and, of
 * those, the ones it has closed.
 */
static void
mta_admin_status(struct mta_ctx *ctx, struct msgchan *c, struct msg *m)
{
	if (msg_get_end(m) == -1)
		fatalx("mta: bad %s from control", msg_type_name(m->type));
	msg_reply_begin(c, MSG_CONTROL_MTA_STATUS, m->id, -1);
	msg_put_u32(c, MSG_OK);
	msg_put_u64(c, ctx->out_started);
	msg_put_u64(c, ctx->out_finished);
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
}

static void
mta_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct mta_ctx	*ctx = arg;

	if (ch->peer == PROC_LOOKUP && m->type == MSG_MTA_CLIENT_SECRET &&
	    (m->flags & MSG_F_REPLY) != 0) {
		mta_session_secret(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if (ch->peer == PROC_LOOKUP && m->type == MSG_MTA_RESOLVE &&
	    (m->flags & MSG_F_REPLY) != 0) {
		mta_session_resolved(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if (ch->peer == PROC_CONTROL && m->type == MSG_CONTROL_MTA_STATUS &&
	    (m->flags & MSG_F_REPLY) == 0) {
		mta_admin_status(ctx, &ch->m, m);
		msg_done(&ch->m, m);
		return;
	}
	if (ch->peer != PROC_QUEUE)
		fatalx("mta: unexpected %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	switch (m->type) {
	case MSG_QUEUE_MESSAGE_RCPT_NOTIFY:
		mta_rcpt(ctx, m);
		break;
	case MSG_QUEUE_MESSAGE_FORWARD:
		if ((m->flags & MSG_F_REPLY) != 0)
			fatalx("mta: a reply from queue");
		mta_session_forward(ctx, m);
		break;
	default:
		fatalx("mta: unexpected %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	}
	msg_done(&ch->m, m);
}

/*
 * The client TLS configuration of every instance that uses TLS, made
 * while still root: the key and CA files are read here and nowhere else
 * (STYLE.md section 1).
 */
static void
mta_tls(struct mta_ctx *ctx, int reload)
{
	const struct config	*c = &ctx->boot->conf;
	const struct instconf	*ic;
	struct tls_config	*t;
	char			 err[512];
	size_t			 k;
	int			 chain;

	for (k = 0; k < c->ninst && k < BOUNDS_INSTANCES; k++) {
		ic = &c->inst[k];
		if (!conf_bool(ic, OPT_CLIENT_TLS) &&
		    !conf_bool(ic, OPT_CLIENT_TLS_CONNECTION) &&
		    !conf_bool(ic, OPT_CLIENT_TLS_REQUIRED))
			continue;
		if ((t = tlsconf_client_inst(ic, &chain, err, sizeof(err))) ==
		    NULL) {
			if (!reload)
				fatalx("smtp client: tls: %s", err);
			ulog_warnx(ic->name, "smtp client: tls: reload failed, "
			    "keeping the files read before: %s", err);
			continue;
		}
		/* Sessions hold their own reference (tls_configure()). */
		if (ctx->tls[k] != NULL)
			tls_config_free(ctx->tls[k]);
		ctx->tls[k] = t;
		ctx->tls_chain[k] = chain;
	}
}

/*
 * MSG_PARENT_TLS_END_NOTIFY: new contexts from the files the parent sent
 * (common/proc.c makes tlsconf read those).
 */
static void
mta_tls_reload(void *arg)
{
	mta_tls(arg, 1);
}

void
mta_main(struct proc_boot *boot, struct msgchan *parent)
{
	static struct mta_ctx	 ctx;

	ctx.boot = boot;
	TAILQ_INIT(&ctx.sessions);
	if (gethostname(ctx.hostname, sizeof(ctx.hostname)) == -1 ||
	    ctx.hostname[0] == '\0')
		(void)strlcpy(ctx.hostname, "localhost",
		    sizeof(ctx.hostname));
	ctx.hostname[sizeof(ctx.hostname) - 1] = '\0';
	/* Unix-socket paths are reached from inside the chroot. */
	if (geteuid() == 0 && proc_chroot_dir(PROC_MTA, &boot->conf,
	    ctx.root, sizeof(ctx.root)) == NULL)
		ctx.root[0] = '\0';
	mta_tls(&ctx, 0);
	boot->tls_reload = mta_tls_reload;
	ctx.base = proc_start(boot, parent, &ctx.parent, ctx.peer,
	    mta_dispatch, &ctx);
	proc_run(ctx.base, PROC_MTA);
}
