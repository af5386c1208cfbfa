/*
 * The pop process: entry point, the TLS contexts (made while root), the
 * spool directories (opened inside the chroot), listeners, accept with
 * pause and resume (as smtpd.c), and the dispatch of lookup's replies to
 * the sessions.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "tlsconf.h"
#include "pop.h"
#include "session.h"

#define POP_ACCEPT_BURST	64	/* accepts per listener event */
#define POP_RESUME_SEC		1	/* retry after running out of fds */
#define POP_FD_RESERVE		32	/* descriptors kept for the rest */

static void	 pop_dispatch(struct chan *, struct msg *, void *);
static void	 pop_on_accept(evutil_socket_t, short, void *);
static void	 pop_on_resume(evutil_socket_t, short, void *);
static int	 pop_can_accept(struct pop_ctx *);
static void	 pop_pause(struct pop_ctx *, int);
static void	 pop_resume(struct pop_ctx *);
static void	 pop_listen(struct pop_ctx *);
static void	 pop_hostname(struct pop_ctx *);
static void	 pop_tls_load(struct pop_ctx *, int);
static void	 pop_tls_reload(void *);
static void	 pop_chroot_root(struct pop_ctx *, char *, size_t);
static void	 pop_open_spools(struct pop_ctx *, const char *);

static void
pop_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct pop_ctx	*ctx = arg;

	if ((m->flags & MSG_F_REPLY) == 0 || ch->peer != PROC_LOOKUP ||
	    (m->type != MSG_POP_SESSION_CHECK &&
	    m->type != MSG_POP_AUTH_CHECK))
		fatalx("pop: unexpected %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	pop_session_dispatch(ctx, m);
	msg_done(&ch->m, m);
}

static int
pop_can_accept(struct pop_ctx *ctx)
{
	return (ctx->nsessions < ctx->maxsessions);
}

/* Stop accepting; with retry, look again after a while. */
static void
pop_pause(struct pop_ctx *ctx, int retry)
{
	struct timeval	 tv = { POP_RESUME_SEC, 0 };
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
pop_resume(struct pop_ctx *ctx)
{
	size_t	 i;

	if (!ctx->paused || !pop_can_accept(ctx))
		return;
	for (i = 0; i < ctx->nlst; i++)
		if (event_add(ctx->lst[i].ev, NULL) == -1)
			fatalx("pop: event_add");
	ctx->paused = 0;
}

static void
pop_on_resume(evutil_socket_t fd, short ev, void *arg)
{
	pop_resume(arg);
}

void
pop_session_closed(struct pop_ctx *ctx)
{
	if (ctx->nsessions > 0)
		ctx->nsessions--;
	pop_resume(ctx);
}

static void
pop_on_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct pop_listener	*pl = arg;
	struct pop_ctx		*ctx = pl->ctx;
	const struct instconf	*ic;
	struct sockaddr_storage	 ss;
	struct slog		 lg;
	socklen_t		 len;
	int			 fd, i;

	for (i = 0; i < POP_ACCEPT_BURST; i++) {
		if (!pop_can_accept(ctx)) {
			pop_pause(ctx, 0);
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
				log_warn("pop server: accept");
				pop_pause(ctx, 1);
				return;
			default:
				log_warn("pop server: accept");
				return;
			}
		}
		ic = &ctx->boot->conf.inst[pl->l->inst];
		if (!conf_bool(ic, OPT_REMOTE_CLIENTS) &&
		    !netaddr_is_local((struct sockaddr *)&ss)) {
			memset(&lg, 0, sizeof(lg));
			lg.unit = ic->name;
			netaddr_ip((struct sockaddr *)&ss, lg.addr,
			    sizeof(lg.addr));
			slog_warnx(&lg, "configured to reject non-local pop "
			    "connection: %s", lg.addr);
			close(fd);
			continue;
		}
		if (pop_session_new(ctx, pl->l, fd, (struct sockaddr *)&ss,
		    len) == 0)
			ctx->nsessions++;
	}
}

/* An accept event per POP listener of an instance with --pop. */
static void
pop_listen(struct pop_ctx *ctx)
{
	struct proc_boot	*boot = ctx->boot;
	struct pop_listener	*pl;
	size_t			 i;

	for (i = 0; i < boot->nlst; i++) {
		if (boot->lst[i].kind != LISTEN_POP ||
		    boot->lst[i].inst >= boot->conf.ninst ||
		    ctx->inst[boot->lst[i].inst].spoolfd == -1) {
			close(boot->lst[i].fd);
			boot->lst[i].fd = -1;
			continue;
		}
		pl = &ctx->lst[ctx->nlst++];
		pl->ctx = ctx;
		pl->l = &boot->lst[i];
		if ((pl->ev = event_new(ctx->base, pl->l->fd,
		    EV_READ | EV_PERSIST, pop_on_accept, pl)) == NULL ||
		    event_add(pl->ev, NULL) == -1)
			fatalx("pop: listener event");
	}
	if ((ctx->ev_resume = evtimer_new(ctx->base, pop_on_resume,
	    ctx)) == NULL)
		fatalx("pop: evtimer_new");
}

/*
 * The greeting's host when an instance has no --domain: the host name,
 * with ".localnet" when it has no dot (as smtpd does, without a DNS
 * lookup).
 */
static void
pop_hostname(struct pop_ctx *ctx)
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
 * While still root: the server TLS context of every POP instance with
 * --server-tls or --server-tls-connection (keys are unreadable later).
 * On reload (from the files the parent sent) a failure keeps the old
 * context.
 */
static void
pop_tls_load(struct pop_ctx *ctx, int reload)
{
	const struct config	*conf = &ctx->boot->conf;
	const struct instconf	*ic;
	struct tls		*t;
	char			 err[512];
	size_t			 i;

	for (i = 0; i < conf->ninst; i++) {
		ic = &conf->inst[i];
		if (!conf_bool(ic, OPT_POP) || conf_bool(ic, OPT_DONT_SERVE) ||
		    (!conf_bool(ic, OPT_SERVER_TLS) &&
		    !conf_bool(ic, OPT_SERVER_TLS_CONNECTION)))
			continue;
		if ((t = tlsconf_server_inst(ic, err, sizeof(err))) == NULL) {
			if (!reload)
				fatalx("pop: %s", err);
			ulog_warnx(ic->name, "pop server: tls: reload failed, "
			    "keeping the files read before: %s", err);
			continue;
		}
		if (ctx->inst[i].tls != NULL)
			tls_free(ctx->inst[i].tls);
		ctx->inst[i].tls = t;
	}
}

/*
 * MSG_PARENT_TLS_END_NOTIFY: new contexts from the files the parent sent
 * (common/proc.c makes tlsconf read those).
 */
static void
pop_tls_reload(void *arg)
{
	pop_tls_load(arg, 1);
}

/*
 * Where proc_drop() will chroot to ("" for no chroot), decided while the
 * process is still root.
 */
static void
pop_chroot_root(struct pop_ctx *ctx, char *buf, size_t size)
{
	if (geteuid() != 0 ||
	    proc_chroot_dir(PROC_POP, &ctx->boot->conf, buf, size) == NULL)
		buf[0] = '\0';
}

/*
 * Inside the chroot: open the spool directory of every instance with
 * --pop (root is the chroot directory, "" for none).
 */
static void
pop_open_spools(struct pop_ctx *ctx, const char *root)
{
	const struct config	*conf = &ctx->boot->conf;
	const char		*p;
	struct stat		 st;
	size_t			 i, n = strlen(root);

	for (i = 0; i < conf->ninst; i++) {
		ctx->inst[i].spoolfd = -1;
		if (!conf_bool(&conf->inst[i], OPT_POP) ||
		    conf_bool(&conf->inst[i], OPT_DONT_SERVE))
			continue;
		p = conf_str(&conf->inst[i], OPT_SPOOL_DIR);
		if (p == NULL || (n > 0 && (strncmp(p, root, n) != 0 ||
		    (p[n] != '/' && p[n] != '\0'))))
			fatalx("pop: spool directory %s outside %s",
			    p != NULL ? p : "(none)", root);
		if (n > 0)
			p = p[n] == '\0' ? "/" : p + n;
		if ((ctx->inst[i].spoolfd = open(p, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1 || fstat(ctx->inst[i].spoolfd, &st) == -1)
			fatal("pop: cannot open spool directory %s",
			    conf_str(&conf->inst[i], OPT_SPOOL_DIR));
		ctx->inst[i].dev = st.st_dev;
		ctx->inst[i].ino = st.st_ino;
	}
}

void
pop_main(struct proc_boot *boot, struct msgchan *parent)
{
	static struct pop_ctx	 ctx;
	struct rlimit		 rl;
	char			 root[PATH_MAX];
	size_t			 i;

	ctx.boot = boot;
	RB_INIT(&ctx.sessions);
	for (i = 0; i < BOUNDS_INSTANCES; i++)
		ctx.inst[i].spoolfd = -1;
	ctx.maxsessions = POP_MAX_SESSIONS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		if (rl.rlim_cur < POP_FD_RESERVE + POP_SESSION_FDS)
			ctx.maxsessions = 1;
		else if ((rl.rlim_cur - POP_FD_RESERVE) / POP_SESSION_FDS <
		    ctx.maxsessions)
			ctx.maxsessions = (rl.rlim_cur - POP_FD_RESERVE) /
			    POP_SESSION_FDS;
	}
	pop_hostname(&ctx);
	pop_tls_load(&ctx, 0);
	boot->tls_reload = pop_tls_reload;
	pop_chroot_root(&ctx, root, sizeof(root));
	ctx.base = proc_start(boot, parent, &ctx.parent, ctx.peer,
	    pop_dispatch, &ctx);
	pop_open_spools(&ctx, root);
	pop_listen(&ctx);
	proc_run(ctx.base, PROC_POP);
}
