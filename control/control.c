/*
 * The control process: entry point, the admin listeners (the control
 * socket's are in ctl.c) with accept,
 * pause and resume (as smtpd/smtpd.c), and the dispatch of the other
 * processes' replies and events to the admin sessions (admin.c).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "proc.h"
#include "control.h"

#define CONTROL_ACCEPT_BURST	16	/* accepts per listener event */
#define CONTROL_RESUME_SEC	1	/* retry after running out of fds */

static void	 control_dispatch(struct chan *, struct msg *, void *);
static int	 control_reply_ok(enum proc_id, const struct msg *);
static void	 control_on_accept(evutil_socket_t, short, void *);
static void	 control_on_resume(evutil_socket_t, short, void *);
static void	 control_pause(struct control_ctx *, int);
static void	 control_resume(struct control_ctx *);
static void	 control_listen(struct control_ctx *);

/* Whether m is a reply that peer may send us. */
static int
control_reply_ok(enum proc_id peer, const struct msg *m)
{
	if ((m->flags & MSG_F_REPLY) == 0)
		return (0);
	switch (peer) {
	case PROC_QUEUE:
		return (m->type == MSG_CONTROL_QUEUE_FORWARD ||
		    m->type == MSG_CONTROL_QUEUE_UNFAIL ||
		    m->type == MSG_CONTROL_QUEUE_LIST);
	case PROC_SMTP:
		return (m->type == MSG_CONTROL_SMTP_ENABLE ||
		    m->type == MSG_CONTROL_SMTP_STATUS);
	case PROC_MTA:
		return (m->type == MSG_CONTROL_MTA_STATUS);
	case PROC_LOOKUP:
		return (m->type == MSG_CONTROL_LOOKUP_DNSBL);
	default:
		return (0);
	}
}

static void
control_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct control_ctx	*ctx = arg;

	if (ch->peer == PROC_QUEUE && m->type == MSG_QUEUE_EVENT_NOTIFY &&
	    (m->flags & MSG_F_REPLY) == 0)
		admin_session_event(ctx, m);
	else if (control_reply_ok(ch->peer, m))
		admin_session_dispatch(ctx, m);
	else if (ctl_reply_ok(ch->peer, m))
		ctl_dispatch_reply(ctx, ch->peer, m);
	else
		fatalx("control: unexpected %s from %s",
		    msg_type_name(m->type), proc_name(ch->peer));
	msg_done(&ch->m, m);
}

/* Stop accepting; with retry, look again after a while. */
static void
control_pause(struct control_ctx *ctx, int retry)
{
	struct timeval	 tv = { CONTROL_RESUME_SEC, 0 };
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
control_resume(struct control_ctx *ctx)
{
	size_t	 i;

	if (!ctx->paused || ctx->nsessions >= CONTROL_MAX_SESSIONS)
		return;
	for (i = 0; i < ctx->nlst; i++)
		if (event_add(ctx->lst[i].ev, NULL) == -1)
			fatalx("control: event_add");
	ctx->paused = 0;
}

static void
control_on_resume(evutil_socket_t fd, short ev, void *arg)
{
	control_resume(arg);
}

void
control_session_closed(struct control_ctx *ctx)
{
	if (ctx->nsessions > 0)
		ctx->nsessions--;
	ctx->in_finished++;
	control_resume(ctx);
}

static void
control_on_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct control_listener	*cl = arg;
	struct control_ctx	*ctx = cl->ctx;
	const struct instconf	*ic;
	struct sockaddr_storage	 ss;
	struct slog		 lg;
	socklen_t		 len;
	int			 fd, i;

	for (i = 0; i < CONTROL_ACCEPT_BURST; i++) {
		if (ctx->nsessions >= CONTROL_MAX_SESSIONS) {
			control_pause(ctx, 0);
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
				log_warn("admin server: accept");
				control_pause(ctx, 1);
				return;
			default:
				log_warn("admin server: accept");
				return;
			}
		}
		ic = &ctx->boot->conf.inst[cl->l->inst];
		/* SPEC 9 and 15: unlike 2.6.1, remote clients need -r. */
		if (!conf_bool(ic, OPT_REMOTE_CLIENTS) &&
		    !netaddr_is_local((struct sockaddr *)&ss)) {
			memset(&lg, 0, sizeof(lg));
			lg.unit = ic->name;
			netaddr_ip((struct sockaddr *)&ss, lg.addr,
			    sizeof(lg.addr));
			slog_warnx(&lg, "configured to reject non-local admin "
			    "connection: %s", lg.addr);
			close(fd);
			continue;
		}
		if (admin_session_new(ctx, cl->l, fd, (struct sockaddr *)&ss,
		    len) == 0) {
			ctx->nsessions++;
			ctx->in_started++;
		}
	}
}

/* An accept event per admin listener; other kinds are not ours. */
static void
control_listen(struct control_ctx *ctx)
{
	struct proc_boot	*boot = ctx->boot;
	struct control_listener	*cl;
	size_t			 i;

	for (i = 0; i < boot->nlst; i++) {
		if (boot->lst[i].kind == LISTEN_CONTROL)
			continue;	/* ctl.c's */
		if (boot->lst[i].kind != LISTEN_ADMIN ||
		    boot->lst[i].inst >= boot->conf.ninst) {
			close(boot->lst[i].fd);
			boot->lst[i].fd = -1;
			continue;
		}
		cl = &ctx->lst[ctx->nlst++];
		cl->ctx = ctx;
		cl->l = &boot->lst[i];
		if ((cl->ev = event_new(ctx->base, cl->l->fd,
		    EV_READ | EV_PERSIST, control_on_accept, cl)) == NULL ||
		    event_add(cl->ev, NULL) == -1)
			fatalx("control: listener event");
	}
	if ((ctx->ev_resume = evtimer_new(ctx->base, control_on_resume,
	    ctx)) == NULL)
		fatalx("control: evtimer_new");
}

void
control_main(struct proc_boot *boot, struct msgchan *parent)
{
	static struct control_ctx	 ctx;

	ctx.boot = boot;
	RB_INIT(&ctx.sessions);
	/* The parent is the daemon whose pid "pid" tells. */
	ctx.pid = (long)getppid();
	ctl_prepare(&ctx);
	ctx.base = proc_start(boot, parent, &ctx.parent, ctx.peer,
	    control_dispatch, &ctx);
	control_listen(&ctx);
	ctl_listen(&ctx);
	proc_run(ctx.base, PROC_CONTROL);
}
