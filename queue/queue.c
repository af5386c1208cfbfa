/*
 * The queue process: entry point, the spool and delivery directories
 * (opened once, inside the chroot), start-up recovery (SPEC 3) and the
 * dispatch of frames from the other processes.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "queue.h"
#include "spool.h"

static void	 queue_dispatch(struct chan *, struct msg *, void *);
static void	 queue_inside(const char *, size_t, const char *, char *,
		    size_t);
static void	 queue_paths(struct queue_ctx *);
static void	 queue_open_spools(struct queue_ctx *);

static void
queue_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct queue_ctx	*ctx = arg;

	switch (ch->peer) {
	case PROC_SMTP:
		if (m->type == MSG_SMTPD_SESSION_END_NOTIFY)
			pass_session_end(ctx, m);
		else
			store_dispatch(ctx, m);
		break;
	case PROC_MTA:
		pass_dispatch(ctx, m);
		break;
	case PROC_LOOKUP:
		if (m->type == MSG_QUEUE_POLL_RUN)
			poll_dispatch(ctx, m);
		else
			chain_dispatch(ctx, m);
		break;
	case PROC_CONTROL:
		qctl_dispatch(ctx, m);
		break;
	default:
		fatalx("queue: unexpected %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	}
	msg_done(&ch->m, m);
}

/*
 * Where directory p is once chrooted to root (n bytes; NULL: no chroot),
 * into out (outsz bytes).
 */
static void
queue_inside(const char *root, size_t n, const char *p, char *out,
    size_t outsz)
{
	if (root != NULL && (strncmp(p, root, n) != 0 ||
	    (p[n] != '/' && p[n] != '\0')))
		fatalx("queue: directory %s outside %s", p, root);
	if (root != NULL)
		p = p[n] == '\0' ? "/" : p + n;
	if (strlcpy(out, p, outsz) >= outsz)
		fatalx("queue: directory path too long: %s", p);
}

/*
 * Where each spool and delivery directory is once chrooted: below the
 * directory proc_drop() will chroot to, or as it is without a chroot.
 */
static void
queue_paths(struct queue_ctx *ctx)
{
	const struct config	*conf = &ctx->boot->conf;
	const char		*root = NULL, *p;
	char			 buf[PATH_MAX];
	size_t			 i, n = 0;

	if (geteuid() == 0 &&
	    (root = proc_chroot_dir(PROC_QUEUE, conf, buf, sizeof(buf))) !=
	    NULL)
		n = strlen(root);
	for (i = 0; i < conf->ninst; i++) {
		if ((p = conf_str(&conf->inst[i], OPT_SPOOL_DIR)) == NULL)
			fatalx("queue: no spool directory");
		queue_inside(root, n, p, ctx->spool[i].path,
		    sizeof(ctx->spool[i].path));
		ctx->spool[i].dirfd = -1;
		ctx->spool[i].delivery_fd = -1;
		ctx->spool[i].delivery[0] = '\0';
		if (conf_bool(&conf->inst[i], OPT_DELIVERY_DIR) &&
		    (p = conf_str(&conf->inst[i], OPT_DELIVERY_DIR)) != NULL)
			queue_inside(root, n, p, ctx->spool[i].delivery,
			    sizeof(ctx->spool[i].delivery));
	}
	ctx->nspool = conf->ninst;
}

void
queue_recover_log(void *arg, enum spool_recover_action action,
    const char *name, int error)
{
	const char	*what;

	switch (action) {
	case SPOOL_RECOVER_UNBUSY:
		what = "returned a claimed message to ready";
		break;
	case SPOOL_RECOVER_REMOVE_NEW:
		what = "removed an incomplete envelope";
		break;
	default:
		what = "removed an orphan content file";
		break;
	}
	if (error != 0)
		log_warnx("%s: spool recovery failed: %s [%s]: %s",
		    (const char *)arg, what, name, strerror(error));
	else
		log_info("%s: spool recovery: %s [%s]", (const char *)arg,
		    what, name);
}

/*
 * Open every spool directory once (instances on the same directory share
 * the descriptor) and recover what a crash left behind.
 */
static void
queue_open_spools(struct queue_ctx *ctx)
{
	const struct config	*conf = &ctx->boot->conf;
	struct stat		 st[BOUNDS_INSTANCES];
	size_t			 i, j;
	int			 fd;

	for (i = 0; i < conf->ninst; i++) {
		if ((fd = open(ctx->spool[i].path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			fatal("queue: cannot open spool directory %s",
			    conf_str(&conf->inst[i], OPT_SPOOL_DIR));
		if (fstat(fd, &st[i]) == -1)
			fatal("queue: %s", ctx->spool[i].path);
		for (j = 0; j < i; j++) {
			if (st[j].st_dev == st[i].st_dev &&
			    st[j].st_ino == st[i].st_ino) {
				close(fd);
				fd = ctx->spool[j].dirfd;
				break;
			}
		}
		ctx->spool[i].dirfd = fd;
		/* deliver: writes mailboxes there (SPEC 6.3). */
		if (ctx->spool[i].delivery[0] != '\0' &&
		    (ctx->spool[i].delivery_fd = open(ctx->spool[i].delivery,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			fatal("queue: cannot open delivery directory %s",
			    conf_str(&conf->inst[i], OPT_DELIVERY_DIR));
		if (j < i)
			continue;
		if (spool_recover(fd, time(NULL), queue_recover_log,
		    (void *)conf_str(&conf->inst[i], OPT_SPOOL_DIR)) == -1)
			log_warn("queue: cannot read spool directory %s",
			    conf_str(&conf->inst[i], OPT_SPOOL_DIR));
	}
}

void
queue_main(struct proc_boot *boot, struct msgchan *parent)
{
	static struct queue_ctx	 ctx;

	ctx.boot = boot;
	ctx.pid = getpid();
	RB_INIT(&ctx.msgs);
	TAILQ_INIT(&ctx.commits);
	TAILQ_INIT(&ctx.chains);
	queue_paths(&ctx);
	ctx.base = proc_start(boot, parent, &ctx.parent, ctx.peer,
	    queue_dispatch, &ctx);
	queue_open_spools(&ctx);
	store_init(&ctx);
	pass_init(&ctx);
	poll_init(&ctx);
	proc_run(ctx.base, PROC_QUEUE);
}
