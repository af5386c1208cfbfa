/*
 * The smtpd process: entry point, listeners, accept with pause and resume
 * (OpenSMTPD smtp.c smtp_can_accept/smtp_pause/smtp_resume), and the
 * dispatch of queue's replies to the sessions.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <tls.h>

#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "proc.h"
#include "session.h"
#include "smtpd.h"
#include "tlsconf.h"

#define SMTPD_ACCEPT_BURST	64	/* accepts per listener event */
#define SMTPD_RESUME_SEC	1	/* retry after running out of fds */
#define SMTPD_FD_RESERVE	32	/* descriptors kept for the rest */

static void	 smtpd_dispatch(struct chan *, struct msg *, void *);
static void	 smtpd_on_accept(evutil_socket_t, short, void *);
static void	 smtpd_on_resume(evutil_socket_t, short, void *);
static int	 smtpd_can_accept(struct smtpd_ctx *);
static void	 smtpd_pause(struct smtpd_ctx *, int);
static void	 smtpd_resume(struct smtpd_ctx *);
static void	 smtpd_listen(struct smtpd_ctx *);
static void	 smtpd_hostname(struct smtpd_ctx *);
static void	 smtpd_tls(struct smtpd_ctx *, int);
static void	 smtpd_tls_reload(void *);

static void
smtpd_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct smtpd_ctx	*ctx = arg;

	if (ch->peer == PROC_CONTROL) {
		smtpd_admin_dispatch(ctx, m);
		msg_done(&ch->m, m);
		return;
	}
	if ((m->flags & MSG_F_REPLY) == 0 || (ch->peer == PROC_QUEUE ?
	    m->type != MSG_SMTPD_MESSAGE_CREATE &&
	    m->type != MSG_SMTPD_MESSAGE_COMMIT : ch->peer != PROC_LOOKUP ||
	    (m->type != MSG_SMTPD_RCPT_VERIFY &&
	    m->type != MSG_SMTPD_SESSION_CHECK &&
	    m->type != MSG_SMTPD_AUTH_CHECK)))
		fatalx("smtpd: unexpected %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	session_dispatch(ctx, m);
	msg_done(&ch->m, m);
}

/* Room for another session: the limit, and queue keeping up. */
static int
smtpd_can_accept(struct smtpd_ctx *ctx)
{
	if (ctx->nsessions >= ctx->maxsessions)
		return (0);
	if (msg_pending(&ctx->peer[PROC_QUEUE].m) > SMTPD_QUEUE_BACKLOG)
		return (0);
	return (1);
}

/* Stop accepting; with retry, look again after a while. */
static void
smtpd_pause(struct smtpd_ctx *ctx, int retry)
{
	struct timeval	 tv = { SMTPD_RESUME_SEC, 0 };
	size_t		 i;

	if (!ctx->paused) {
		for (i = 0; i < ctx->nlst; i++)
			event_del(ctx->lst[i].ev);
		ctx->paused = 1;
	}
	if (retry && !evtimer_pending(ctx->ev_resume, NULL))
		evtimer_add(ctx->ev_resume, &tv);
}

static void
smtpd_resume(struct smtpd_ctx *ctx)
{
	size_t	 i;

	if (!ctx->paused)
		return;
	if (!smtpd_can_accept(ctx)) {
		/* Queue's backlog drains without telling us: poll it. */
		if (ctx->nsessions < ctx->maxsessions)
			smtpd_pause(ctx, 1);
		return;
	}
	for (i = 0; i < ctx->nlst; i++)
		if (event_add(ctx->lst[i].ev, NULL) == -1)
			fatalx("smtpd: event_add");
	ctx->paused = 0;
}

static void
smtpd_on_resume(evutil_socket_t fd, short ev, void *arg)
{
	smtpd_resume(arg);
}

void
smtpd_session_closed(struct smtpd_ctx *ctx)
{
	if (ctx->nsessions > 0)
		ctx->nsessions--;
	ctx->in_finished++;
	smtpd_resume(ctx);
}

static void
smtpd_on_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct smtpd_listener	*sl = arg;
	struct smtpd_ctx	*ctx = sl->ctx;
	const struct instconf	*ic;
	struct sockaddr_storage	 ss;
	struct slog		 lg;
	socklen_t		 len;
	int			 fd, i;

	for (i = 0; i < SMTPD_ACCEPT_BURST; i++) {
		if (!smtpd_can_accept(ctx)) {
			smtpd_pause(ctx, ctx->nsessions < ctx->maxsessions);
			return;
		}
		len = sizeof(ss);
		if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
			switch (errno) {
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				log_warn("smtp server: accept");
				smtpd_pause(ctx, 1);
				return;
			default:
				log_warn("smtp server: accept");
				return;
			}
		}
		ic = &ctx->boot->conf.inst[sl->l->inst];
		/*
		 * A --dnsbl instance serves remote clients: the block list
		 * is their check (SPEC 13's internet-facing "in" relay
		 * has --dnsbl and no --remote-clients).
		 */
		if (!conf_bool(ic, OPT_REMOTE_CLIENTS) &&
		    !conf_bool(ic, OPT_DNSBL) &&
		    !netaddr_is_local((struct sockaddr *)&ss)) {
			memset(&lg, 0, sizeof(lg));
			lg.unit = ic->name;
			netaddr_ip((struct sockaddr *)&ss, lg.addr,
			    sizeof(lg.addr));
			slog_warnx(&lg, "configured to reject non-local smtp "
			    "connection: %s", lg.addr);
			close(fd);
			continue;
		}
		if (ctx->disabled[sl->l->inst]) {
			smtpd_admin_refuse(ctx, sl->l, fd,
			    (struct sockaddr *)&ss);
			continue;
		}
		smtpd_admin_accepted(ctx, sl->l, fd, (struct sockaddr *)&ss);
		if (session_new(ctx, sl->l, fd, (struct sockaddr *)&ss,
		    len) == 0) {
			ctx->nsessions++;
			ctx->in_started++;
		}
	}
}

/* An accept event per SMTP listener; other kinds are not ours. */
static void
smtpd_listen(struct smtpd_ctx *ctx)
{
	struct proc_boot	*boot = ctx->boot;
	struct smtpd_listener	*sl;
	size_t			 i;

	for (i = 0; i < boot->nlst; i++) {
		if (boot->lst[i].kind != LISTEN_SMTP ||
		    boot->lst[i].inst >= boot->conf.ninst) {
			close(boot->lst[i].fd);
			boot->lst[i].fd = -1;
			continue;
		}
		sl = &ctx->lst[ctx->nlst++];
		sl->ctx = ctx;
		sl->l = &boot->lst[i];
		if ((sl->ev = event_new(ctx->base, sl->l->fd,
		    EV_READ | EV_PERSIST, smtpd_on_accept, sl)) == NULL ||
		    event_add(sl->ev, NULL) == -1)
			fatalx("smtpd: listener event");
	}
	if ((ctx->ev_resume = evtimer_new(ctx->base, smtpd_on_resume,
	    ctx)) == NULL)
		fatalx("smtpd: evtimer_new");
}

/*
 * The default --domain: the host name, with ".localnet" when it has no
 * dot (E-MailRelay's canonical name without a DNS lookup, which smtpd
 * must not do).
 */
static void
smtpd_hostname(struct smtpd_ctx *ctx)
{
	char	 name[BOUNDS_DOMAIN + 1];

	if (gethostname(name, sizeof(name)) == -1 || name[0] == '\0')
		(void)strlcpy(name, "localhost", sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (strchr(name, '.') == NULL)
		(void)strlcat(name, ".localnet", sizeof(name));
	(void)strlcpy(ctx->hostname, name, sizeof(ctx->hostname));
}

/*
 * The TLS server context of every instance that serves TLS, made while
 * still root: the key is read here and nowhere else (STYLE.md section
 * 1).  The parent checked the same material at start-up.  On reload
 * (from the files the parent sent) a failure keeps the old context.
 */
static void
smtpd_tls(struct smtpd_ctx *ctx, int reload)
{
	const struct config	*c = &ctx->boot->conf;
	const struct instconf	*ic;
	struct tls		*t;
	char			 err[512];
	size_t			 k;

	for (k = 0; k < c->ninst; k++) {
		ic = &c->inst[k];
		if ((!conf_bool(ic, OPT_SERVER_TLS) &&
		    !conf_bool(ic, OPT_SERVER_TLS_CONNECTION)) ||
		    conf_bool(ic, OPT_DONT_SERVE) || conf_bool(ic, OPT_NO_SMTP))
			continue;
		if ((t = tlsconf_server_inst(ic, err, sizeof(err))) == NULL) {
			if (!reload)
				fatalx("smtp server: tls: %s", err);
			ulog_warnx(ic->name, "smtp server: tls: reload failed, "
			    "keeping the files read before: %s", err);
			continue;
		}
		if (ctx->tls[k] != NULL)
			tls_free(ctx->tls[k]);
		ctx->tls[k] = t;
	}
}

/*
 * MSG_PARENT_TLS_END_NOTIFY: new contexts from the files the parent sent
 * (common/proc.c makes tlsconf read those).
 */
static void
smtpd_tls_reload(void *arg)
{
	smtpd_tls(arg, 1);
}

void
smtpd_main(struct proc_boot *boot, struct msgchan *parent)
{
	static struct smtpd_ctx	 ctx;
	struct rlimit		 rl;

	ctx.boot = boot;
	RB_INIT(&ctx.sessions);
	ctx.maxsessions = SMTPD_MAX_SESSIONS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		/* A session holds its socket and, briefly, a content file. */
		if (rl.rlim_cur < 2 * SMTPD_FD_RESERVE)
			ctx.maxsessions = 1;
		else if ((rl.rlim_cur - SMTPD_FD_RESERVE) / 2 < ctx.maxsessions)
			ctx.maxsessions = (rl.rlim_cur - SMTPD_FD_RESERVE) / 2;
	}
	smtpd_hostname(&ctx);
	smtpd_tls(&ctx, 0);
	boot->tls_reload = smtpd_tls_reload;
	ctx.base = proc_start(boot, parent, &ctx.parent, ctx.peer,
	    smtpd_dispatch, &ctx);
	smtpd_listen(&ctx);
	proc_run(ctx.base, PROC_SMTP);
}
