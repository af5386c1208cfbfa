/*
 * Processes: names, the channel table, channels on libevent, the start-up
 * hand-over from the parent, and the privilege drop.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "options.h"
#include "tlsconf.h"
#include "proc.h"

#define BOOT_TIMEOUT_MS	30000

static void	 chan_on_event(evutil_socket_t, short, void *);
static void	 chan_update(struct chan *);
static void	 boot_frame(struct proc_boot *, struct msg *, int *);
static void	 child_sink(int, const char *, void *);
static void	 child_atfatal(void *);
static void	 child_parent_dispatch(struct chan *, struct msg *, void *);
static void	 child_conf_retire(struct proc_boot *);
static void	 child_tls_file(struct proc_boot *, struct msg *);
static void	 child_tls_clear(struct proc_boot *);
static void	 child_parent_lost(struct chan *, void *);
static int	 common_prefix(char *, size_t, const char *);

static const char *proc_names[PROC__COUNT] = {
	"parent", "smtp", "queue", "mta", "pop", "lookup", "control"
};

/* STYLE.md section 2: which children talk to each other. */
static const unsigned char proc_table[PROC__COUNT][PROC__COUNT] = {
	/*		 par smtp queue mta pop lookup control */
	[PROC_PARENT] = { 0,  1,   1,   1,   1,   1,   1 },
	[PROC_SMTP] =	{ 1,  0,   1,   0,   0,   1,   1 },
	[PROC_QUEUE] =	{ 1,  1,   0,   1,   0,   1,   1 },
	[PROC_MTA] =	{ 1,  0,   1,   0,   0,   1,   1 },
	[PROC_POP] =	{ 1,  0,   0,   0,   0,   1,   0 },
	[PROC_LOOKUP] =	{ 1,  1,   1,   1,   1,   0,   1 },
	[PROC_CONTROL] = { 1,  1,   1,   1,   0,   1,   0 },
};

const char *
proc_name(enum proc_id id)
{
	if ((int)id < 0 || id >= PROC__COUNT)
		return ("?");
	return (proc_names[id]);
}

int
proc_byname(const char *name)
{
	int	 i;

	for (i = 1; i < PROC__COUNT; i++)
		if (strcmp(proc_names[i], name) == 0)
			return (i);
	return (-1);
}

int
proc_peers(enum proc_id a, enum proc_id b)
{
	if ((int)a < 0 || a >= PROC__COUNT || (int)b < 0 || b >= PROC__COUNT)
		return (0);
	return (proc_table[a][b]);
}

void
chan_init(struct chan *ch, struct event_base *base, int fd, enum proc_id self,
    enum proc_id peer, void (*dispatch)(struct chan *, struct msg *, void *),
    void (*lost)(struct chan *, void *), void *arg)
{
	msg_init(&ch->m, fd, proc_name(self), proc_name(peer));
	chan_attach(ch, base, peer, dispatch, lost, arg);
}

void
chan_attach(struct chan *ch, struct event_base *base, enum proc_id peer,
    void (*dispatch)(struct chan *, struct msg *, void *),
    void (*lost)(struct chan *, void *), void *arg)
{
	int	 fl;

	if ((fl = fcntl(ch->m.fd, F_GETFL)) == -1 ||
	    fcntl(ch->m.fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("%s: fcntl", ch->m.self);
	ch->peer = peer;
	ch->dispatch = dispatch;
	ch->lost = lost;
	ch->arg = arg;
	ch->evmask = 0;
	if ((ch->ev = event_new(base, ch->m.fd, EV_READ | EV_PERSIST,
	    chan_on_event, ch)) == NULL)
		fatalx("%s: event_new", ch->m.self);
	chan_update(ch);
}

static void
chan_update(struct chan *ch)
{
	short	 want = EV_READ | EV_PERSIST;

	if (ch->ev == NULL)
		return;
	if (msg_pending(&ch->m) > 0)
		want |= EV_WRITE;
	if (want == ch->evmask)
		return;
	event_del(ch->ev);
	event_assign(ch->ev, event_get_base(ch->ev), ch->m.fd, want,
	    chan_on_event, ch);
	if (event_add(ch->ev, NULL) == -1)
		fatalx("%s: event_add", ch->m.self);
	ch->evmask = want;
}

void
chan_flush(struct chan *ch)
{
	if (ch->ev == NULL)
		return;
	/* Try at once: most frames fit in the socket buffer. */
	if (msg_write(&ch->m) == -1 && errno != EAGAIN) {
		/* The read side sees the EOF and reports the loss. */
		return;
	}
	chan_update(ch);
}

void
chan_close(struct chan *ch)
{
	if (ch->ev != NULL) {
		event_free(ch->ev);
		ch->ev = NULL;
	}
	msg_clear(&ch->m);
	ch->evmask = 0;
}

static void
chan_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct chan	*ch = arg;
	struct msg	 m;
	long		 n;
	int		 r, xfd;

	if (what & EV_WRITE) {
		if (msg_write(&ch->m) == -1 && errno != EAGAIN)
			goto lost;
	}
	if (what & EV_READ) {
		n = msg_read(&ch->m);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			goto lost;
		while ((r = msg_get(&ch->m, &m)) == 1) {
			if (msg_check(&m) == -1) {
				if (ch->external) {
					if ((xfd = msg_take_fd(&m)) != -1)
						close(xfd);
					log_warnx("%s: bad request from a "
					    "client: %s", ch->m.self,
					    msg_type_name(m.type));
					goto lost;
				}
				fatalx("%s: bad %s from %s", ch->m.self,
				    msg_type_name(m.type), ch->m.peer);
			}
			ch->dispatch(ch, &m, ch->arg);
			/* The dispatcher may have closed the channel. */
			if (ch->ev == NULL)
				return;
		}
		if (r == -1) {
			if (ch->external) {
				log_warnx("%s: malformed frame from a client",
				    ch->m.self);
				goto lost;
			}
			fatalx("%s: malformed frame from %s", ch->m.self,
			    ch->m.peer);
		}
	}
	chan_update(ch);
	return;
lost:
	chan_close(ch);
	if (ch->lost != NULL)
		ch->lost(ch, ch->arg);
	/* ch may be freed by now. */
}

/*
 * Start-up hand-over.
 */

static void
conf_send_one(void *arg, size_t inst, enum opt_id opt, const char *value)
{
	struct msgchan	*ch = arg;

	msg_begin(ch, MSG_PARENT_CONF_OPTION_NOTIFY, 0, -1);
	msg_put_u32(ch, (uint32_t)inst);
	msg_put_u32(ch, (uint32_t)opt);
	msg_put_u32(ch, value != NULL);
	msg_put_str(ch, value != NULL ? value : "");
	msg_end(ch);
}

void
proc_conf_send(struct msgchan *ch, const struct config *conf,
    uint32_t generation)
{
	size_t	 i;

	for (i = 0; i < conf->ninst; i++) {
		msg_begin(ch, MSG_PARENT_CONF_INSTANCE_NOTIFY, 0, -1);
		msg_put_u32(ch, (uint32_t)i);
		msg_put_str(ch, conf->inst[i].name);
		msg_end(ch);
	}
	config_foreach(conf, conf_send_one, ch);
	msg_begin(ch, MSG_PARENT_CONF_END_NOTIFY, 0, -1);
	msg_put_u32(ch, generation);
	msg_end(ch);
}

/*
 * Instance names arrive before their options; config_set() creates an
 * instance at the first option that names the next index.
 */
int
proc_conf_frame(struct conf_rx *rx, struct msg *m)
{
	char		 name[BOUNDS_INSTNAME], err[512], *val;
	uint32_t	 inst, opt, hasval;

	switch (m->type) {
	case MSG_PARENT_CONF_INSTANCE_NOTIFY:
		if (msg_get_u32(m, &inst) == -1 ||
		    msg_get_str(m, name, sizeof(name)) == -1 ||
		    msg_get_end(m) == -1 || inst != rx->nnames ||
		    inst >= BOUNDS_INSTANCES)
			fatalx("bad instance from parent");
		if (inst == 0)
			config_init(rx->conf, NULL);
		strlcpy(rx->names[inst], name, sizeof(rx->names[inst]));
		rx->nnames++;
		return (0);
	case MSG_PARENT_CONF_OPTION_NOTIFY:
		if (msg_get_u32(m, &inst) == -1 || msg_get_u32(m, &opt) == -1 ||
		    msg_get_u32(m, &hasval) == -1 ||
		    (val = msg_get_strdup(m)) == NULL ||
		    msg_get_end(m) == -1)
			fatalx("bad option from parent");
		if (inst >= rx->nnames || opt >= OPT__COUNT)
			fatalx("bad option %u/%u from parent", inst, opt);
		if (config_set(rx->conf, inst, rx->names[inst],
		    (enum opt_id)opt, hasval ? val : NULL, err,
		    sizeof(err)) != CONF_OK)
			fatalx("option from parent: %s", err);
		free(val);
		return (0);
	case MSG_PARENT_CONF_END_NOTIFY:
		if (msg_get_u32(m, &rx->generation) == -1 ||
		    msg_get_end(m) == -1 || rx->nnames == 0)
			fatalx("bad configuration end from parent");
		rx->nnames = 0;
		return (1);
	default:
		fatalx("unexpected %s from parent", msg_type_name(m->type));
	}
}

static void
boot_frame(struct proc_boot *boot, struct msg *m, int *done)
{
	struct listener	*l;
	uint32_t	 u;
	int		 fd;

	switch (m->type) {
	case MSG_PARENT_CONF_INSTANCE_NOTIFY:
	case MSG_PARENT_CONF_OPTION_NOTIFY:
	case MSG_PARENT_CONF_END_NOTIFY:
		boot->rx.conf = &boot->conf;
		if (proc_conf_frame(&boot->rx, m))
			boot->generation = boot->rx.generation;
		break;
	case MSG_PARENT_PEER_NOTIFY:
		if (msg_get_u32(m, &u) == -1 || msg_get_end(m) == -1 ||
		    u >= PROC__COUNT || !proc_peers(boot->self, u) ||
		    (fd = msg_take_fd(m)) == -1)
			fatalx("bad peer from parent");
		if (boot->peerfd[u] != -1)
			close(boot->peerfd[u]);
		boot->peerfd[u] = fd;
		break;
	case MSG_PARENT_LISTENER_NOTIFY:
		if (boot->nlst == BOUNDS_LISTENERS)
			fatalx("too many listeners");
		l = &boot->lst[boot->nlst];
		if (msg_get_u32(m, &l->inst) == -1 ||
		    msg_get_u32(m, &l->kind) == -1 ||
		    msg_get_str(m, l->addr, sizeof(l->addr)) == -1 ||
		    msg_get_end(m) == -1 || (l->fd = msg_take_fd(m)) == -1)
			fatalx("bad listener from parent");
		boot->nlst++;
		break;
	case MSG_PARENT_START_NOTIFY:
		if (msg_get_end(m) == -1)
			fatalx("bad start from parent");
		*done = 1;
		break;
	default:
		fatalx("unexpected %s from parent", msg_type_name(m->type));
	}
}

void
proc_boot_receive(struct proc_boot *boot, struct msgchan *parent)
{
	struct pollfd	 pfd;
	struct msg	 m;
	long		 n;
	int		 done = 0, r;

	while (!done) {
		pfd.fd = parent->fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, BOOT_TIMEOUT_MS)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (r == 0)
			fatalx("no configuration from the parent");
		if ((n = msg_read(parent)) == 0)
			exit(0);	/* the parent is gone */
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fatal("read from parent");
		}
		while (!done && (r = msg_get(parent, &m)) == 1) {
			if (msg_check(&m) == -1)
				fatalx("bad %s from parent",
				    msg_type_name(m.type));
			boot_frame(boot, &m, &done);
			msg_done(parent, &m);
		}
		if (r == -1)
			fatalx("malformed frame from parent");
	}
}

/*
 * Chroot directories.
 */

/* Shorten buf to the deepest common ancestor of buf and path. */
static int
common_prefix(char *buf, size_t bufsz, const char *path)
{
	size_t	 i, slash = 0;

	if (buf[0] == '\0')
		return (strlcpy(buf, path, bufsz) >= bufsz ? -1 : 0);
	for (i = 0; buf[i] != '\0' && buf[i] == path[i]; i++)
		if (buf[i] == '/')
			slash = i;
	if (buf[i] == '\0' && (path[i] == '/' || path[i] == '\0'))
		return (0);		/* buf is an ancestor of path */
	if (buf[i] == '/' && path[i] == '\0') {
		buf[i] = '\0';		/* path is an ancestor of buf */
		return (0);
	}
	buf[slash == 0 ? 1 : slash] = '\0';
	return (0);
}

char *
proc_chroot_dir(enum proc_id proc, const struct config *conf, char *buf,
    size_t bufsz)
{
	const char	*p;
	size_t		 i;

	switch (proc) {
	case PROC_MTA:
		/*
		 * A unix-socket smarthost must be reachable: the deepest
		 * common ancestor of the sockets' directories, as for the
		 * spools below.
		 */
		buf[0] = '\0';
		for (i = 0; i < conf->ninst; i++) {
			char	 dir[BOUNDS_PATH], *slash;

			p = conf_str(&conf->inst[i], OPT_FORWARD_TO);
			if (p == NULL || p[0] != '/')
				continue;
			if (strlcpy(dir, p, sizeof(dir)) >= sizeof(dir))
				return (NULL);
			if ((slash = strrchr(dir, '/')) == dir)
				return (NULL);
			*slash = '\0';
			if (common_prefix(buf, bufsz, dir) == -1)
				return (NULL);
		}
		if (strcmp(buf, "/") == 0)
			return (NULL);
		if (buf[0] != '\0')
			return (buf);
		/* FALLTHROUGH */
	case PROC_SMTP:
	case PROC_CONTROL:
		if (strlcpy(buf, PROC_EMPTY_DIR, bufsz) >= bufsz)
			return (NULL);
		return (buf);
	case PROC_QUEUE:
	case PROC_POP:
		buf[0] = '\0';
		for (i = 0; i < conf->ninst; i++) {
			p = conf_str(&conf->inst[i], OPT_SPOOL_DIR);
			if (p == NULL || p[0] != '/' ||
			    common_prefix(buf, bufsz, p) == -1)
				return (NULL);
			p = conf_str(&conf->inst[i], OPT_DELIVERY_DIR);
			if (p != NULL && (p[0] != '/' ||
			    common_prefix(buf, bufsz, p) == -1))
				return (NULL);
		}
		if (buf[0] == '\0' || strcmp(buf, "/") == 0)
			return (NULL);
		return (buf);
	default:
		return (NULL);
	}
}

void
proc_drop(enum proc_id proc, const struct config *conf)
{
	struct passwd	*pw = NULL;
	const char	*user;
	char		 dir[BOUNDS_PATH];
	uid_t		 ruid, euid, suid;
	gid_t		 rgid, egid, sgid;

	user = conf_str(conf_global(conf), OPT_USER);
	if (geteuid() == 0) {
		/* Before the chroot: there is no passwd file in there. */
		if (strcmp(user, "root") != 0 && (pw = getpwnam(user)) == NULL)
			fatalx("%s: unknown user %s", proc_name(proc), user);
		if (proc_chroot_dir(proc, conf, dir, sizeof(dir)) != NULL) {
			if (chroot(dir) == -1)
				fatal("%s: chroot %s", proc_name(proc), dir);
			if (chdir("/") == -1)
				fatal("%s: chdir /", proc_name(proc));
		}
		if (pw != NULL) {
			if (setgroups(1, &pw->pw_gid) == -1 ||
			    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
			    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
				fatal("%s: cannot drop privileges to %s",
				    proc_name(proc), user);
			if (getresuid(&ruid, &euid, &suid) == -1 ||
			    getresgid(&rgid, &egid, &sgid) == -1 ||
			    ruid != pw->pw_uid || euid != pw->pw_uid ||
			    suid != pw->pw_uid || rgid != pw->pw_gid ||
			    egid != pw->pw_gid || sgid != pw->pw_gid)
				fatalx("%s: privileges not dropped",
				    proc_name(proc));
		}
	}
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		fatal("%s: prctl", proc_name(proc));
}

/*
 * Child start-up.
 */

void
proc_log_conf(const struct config *conf)
{
	const struct instconf	*g = conf_global(conf);
	const char		*fmt = conf_str(g, OPT_LOG_FORMAT);

	log_setlevel(conf_bool(g, OPT_LOG), conf_bool(g, OPT_VERBOSE),
	    conf_bool(g, OPT_DEBUG), log_parse_format(fmt ? fmt : "", NULL));
}

static void
child_sink(int level, const char *body, void *arg)
{
	struct proc_boot	*boot = arg;
	struct msgchan		*ch = boot->parent;

	msg_begin(ch, MSG_LOG_NOTIFY, 0, -1);
	msg_put_u32(ch, (uint32_t)level);
	msg_put_str(ch, body);
	msg_end(ch);
	if (boot->pch != NULL && boot->pch->ev != NULL)
		chan_flush(boot->pch);
	else
		(void)msg_flush(ch, 5000);
}

static void
child_atfatal(void *arg)
{
	struct proc_boot	*boot = arg;

	if (boot->parent != NULL)
		(void)msg_flush(boot->parent, 5000);
}

void
proc_child_init(enum proc_id self, struct proc_boot *boot,
    struct msgchan *parent)
{
	char	 title[64];
	int	 i;

	memset(boot, 0, sizeof(*boot));
	boot->self = self;
	for (i = 0; i < PROC__COUNT; i++)
		boot->peerfd[i] = -1;
	umask(077);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);

	msg_init(parent, PROC_PARENT_FD, proc_name(self), "parent");
	boot->parent = parent;
	log_procinit(proc_name(self), child_sink, boot);
	log_atfatal(child_atfatal, boot);

	snprintf(title, sizeof(title), "%s", proc_name(self));
	setproctitle("%s", title);
	(void)prctl(PR_SET_NAME, title);

	proc_boot_receive(boot, parent);
	proc_log_conf(&boot->conf);
}

/*
 * A reload replaces boot->conf, but the process may hold pointers into
 * the old one (instance names in log contexts, paths, --forward-to in
 * a pass under way): it is kept, never freed, so those stay valid.
 * Each SIGHUP costs the size of one configuration.
 */
static void
child_conf_retire(struct proc_boot *boot)
{
	struct config	**p;

	if ((p = reallocarray(boot->retired, boot->nretired + 1,
	    sizeof(*p))) == NULL ||
	    (p[boot->nretired] = malloc(sizeof(**p))) == NULL)
		fatal("%s: reload", proc_name(boot->self));
	boot->retired = p;
	*p[boot->nretired++] = boot->conf;
}

/* One TLS file of a reload, kept until MSG_PARENT_TLS_END_NOTIFY. */
static void
child_tls_file(struct proc_boot *boot, struct msg *m)
{
	char	 path[PATH_MAX];
	int	 fd;

	fd = msg_take_fd(m);
	if (msg_get_str(m, path, sizeof(path)) == -1 ||
	    msg_get_end(m) == -1 || fd == -1 || boot->ntls == PROC_TLS_FILES)
		fatalx("%s: bad %s", proc_name(boot->self),
		    msg_type_name(m->type));
	if ((boot->tls_path[boot->ntls] = strdup(path)) == NULL)
		fatal("%s: tls reload", proc_name(boot->self));
	boot->tls_fd[boot->ntls++] = fd;
}

static void
child_tls_clear(struct proc_boot *boot)
{
	size_t	 i;

	for (i = 0; i < boot->ntls; i++) {
		free(boot->tls_path[i]);
		close(boot->tls_fd[i]);
	}
	boot->ntls = 0;
}

static void
child_parent_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct proc_boot	*boot = arg;

	switch (m->type) {
	case MSG_PARENT_CONF_INSTANCE_NOTIFY:
	case MSG_PARENT_CONF_OPTION_NOTIFY:
	case MSG_PARENT_CONF_END_NOTIFY:
		boot->rx.conf = &boot->next;
		if (proc_conf_frame(&boot->rx, m)) {
			child_conf_retire(boot);
			boot->conf = boot->next;
			boot->generation = boot->rx.generation;
			memset(&boot->next, 0, sizeof(boot->next));
			proc_log_conf(&boot->conf);
			log_debug("%s: configuration %u", proc_name(boot->self),
			    boot->generation);
		}
		msg_done(&ch->m, m);
		return;
	case MSG_PARENT_TLS_FILE_NOTIFY:
		child_tls_file(boot, m);
		msg_done(&ch->m, m);
		return;
	case MSG_PARENT_TLS_END_NOTIFY:
		if (msg_get_end(m) == -1)
			fatalx("%s: bad %s", proc_name(boot->self),
			    msg_type_name(m->type));
		tlsconf_files_use((const char *const *)boot->tls_path,
		    boot->tls_fd, boot->ntls);
		if (boot->tls_reload != NULL)
			boot->tls_reload(boot->arg);
		tlsconf_files_use(NULL, NULL, 0);
		child_tls_clear(boot);
		msg_done(&ch->m, m);
		return;
	default:
		if (boot->dispatch == NULL)
			fatalx("%s: unexpected %s from parent",
			    proc_name(boot->self), msg_type_name(m->type));
		boot->dispatch(ch, m, boot->arg);
	}
}

static void
child_parent_lost(struct chan *ch, void *arg)
{
	/* EOF from the parent: the daemon is stopping. */
	exit(0);
}

void
proc_loop_init(struct event_base *base, struct proc_boot *boot,
    struct msgchan *parent, struct chan *pch,
    void (*dispatch)(struct chan *, struct msg *, void *), void *arg)
{
	boot->dispatch = dispatch;
	boot->arg = arg;
	/* The boot channel, with anything it holds, becomes pch. */
	pch->m = *parent;
	memset(parent, 0, sizeof(*parent));
	parent->fd = -1;
	chan_attach(pch, base, PROC_PARENT, child_parent_dispatch,
	    child_parent_lost, boot);
	boot->parent = &pch->m;
	boot->pch = pch;

	msg_begin(&pch->m, MSG_CHILD_READY_NOTIFY, 0, -1);
	msg_put_u32(&pch->m, boot->self);
	msg_end(&pch->m);
	chan_flush(pch);
}

static void
peer_lost(struct chan *ch, void *arg)
{
	/*
	 * A sibling died.  The parent reports it by name and stops us all
	 * by closing our channel; leaving first would blur that report.
	 */
	log_debug("%s: lost channel to %s", ch->m.self, proc_name(ch->peer));
}

struct event_base *
proc_start(struct proc_boot *boot, struct msgchan *parent, struct chan *pch,
    struct chan peers[PROC__COUNT],
    void (*dispatch)(struct chan *, struct msg *, void *), void *arg)
{
	struct event_base	*base;
	int			 i;

	proc_drop(boot->self, &boot->conf);
	if ((base = event_base_new()) == NULL)
		fatalx("%s: event_base_new", proc_name(boot->self));
	proc_loop_init(base, boot, parent, pch, dispatch, arg);
	for (i = 1; i < PROC__COUNT; i++) {
		if (boot->peerfd[i] == -1)
			continue;
		chan_init(&peers[i], base, boot->peerfd[i], boot->self, i,
		    dispatch, peer_lost, arg);
		boot->peerfd[i] = -1;
	}
	return (base);
}

void
proc_run(struct event_base *base, enum proc_id self)
{
	event_base_dispatch(base);
	fatalx("%s: event loop ended", proc_name(self));
}
