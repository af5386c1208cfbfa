/*
 * The parent: parses the configuration once, binds the listeners, forks
 * and re-executes the six children, hands each its configuration,
 * channels and listeners, then only supervises: log lines from the
 * children, signals, reload, child death (SPEC section 11).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>
#include <ares.h>

#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "parent.h"
#include "proc.h"

#define STOP_GRACE_SEC	5

struct child {
	pid_t		 pid;
	struct chan	 ch;
	int		 ready;
};

struct parent {
	int		 argc;
	char		**argv;
	char		 exe[PATH_MAX];
	struct config	 conf;
	uint32_t	 generation;
	struct event_base *base;
	struct child	 child[PROC__COUNT];
	struct listener	 lst[BOUNDS_LISTENERS];
	size_t		 nlst;
	char		*unixpaths[BOUNDS_LISTENERS];
	size_t		 nunix;
	char		 pidfile[PATH_MAX];
	int		 stopping;
	int		 status;
	struct event	*ev_sig[4];
	struct event	*ev_stop;
	int		 ctl_verbose;	/* emailrelayctl log: -1, 0, 1 */
};

static int	 parse_config(struct config *, int, char **, int);
static void	 print_version(int);
static int	 check_setup(struct parent *);
static int	 bind_all(struct parent *);
static void	 bind_control(struct parent *);
static int	 bind_kind(struct parent *, size_t, int, long long);
static int	 bind_one(struct parent *, size_t, int, const struct sockaddr *,
		    socklen_t);
static int	 bind_unix(struct parent *, size_t, int, const char *);
static int	 bind_fd(struct parent *, size_t, int, int);
static int	 bind_ifname(struct parent *, size_t, int,
		    const struct iface_item *, long long);
static int	 add_listener(struct parent *, size_t, int, int, const char *);
static int	 daemonize(int);
static int	 write_pidfile(struct parent *);
static int	 mkdirs(const char *, mode_t);
static void	 spawn_children(struct parent *);
static void	 send_boot(struct parent *);
static void	 parent_dispatch(struct chan *, struct msg *, void *);
static void	 parent_lost(struct chan *, void *);
static void	 parent_on_signal(evutil_socket_t, short, void *);
static void	 parent_on_stop_timer(evutil_socket_t, short, void *);
static void	 parent_reap(struct parent *);
static void	 parent_shutdown(struct parent *, int);
static int	 parent_reload(struct parent *);
static void	 parent_verbose(struct config *, int);
static void	 parent_tls_send(struct parent *);
static void	 parent_tls_file(struct msgchan *, const char *, const char **,
		    size_t *);
static void	 parent_ctl(struct parent *, struct chan *, struct msg *);
static void	 parent_cleanup(struct parent *);
static int	 all_dead(struct parent *);
static void	 parent_drain(struct parent *, struct chan *);
static const char *kind_name(int);

/*
 * Parse argv (and the configuration file it names) into conf.  With
 * report, errors go to stderr in E-MailRelay's wording.  Returns 0, or 1
 * for an error, or -1 when --help or --version was answered.
 */
static int
parse_config(struct config *conf, int argc, char **argv, int report)
{
	char	 err[1024];
	int	 r;

	if ((r = config_argv(conf, argc, argv, err, sizeof(err))) == CONF_OK) {
		if (conf_bool(conf_global(conf), OPT_HELP)) {
			options_help(stdout,
			    conf_bool(conf_global(conf), OPT_VERBOSE));
			return (-1);
		}
		if (conf_bool(conf_global(conf), OPT_VERSION)) {
			print_version(conf_bool(conf_global(conf),
			    OPT_VERBOSE));
			return (-1);
		}
		r = config_finish(conf, err, sizeof(err));
	}
	if (r == CONF_OK)
		return (0);
	if (!report) {
		log_warnx("reload failed: %s", err);
		return (1);
	}
	switch (r) {
	case CONF_EOPTION:
		fprintf(stderr, "emailrelay: error: %s\n", err);
		fprintf(stderr, "emailrelay: try \"emailrelay --help "
		    "--verbose\" for more information\n");
		break;
	case CONF_EUSAGE:
		fprintf(stderr, "emailrelay: usage error: %s\n", err);
		break;
	default:
		fprintf(stderr, "emailrelay: error: %s\n", err);
		break;
	}
	return (1);
}

static void
print_version(int verbose)
{
	printf("E-MailRelay V%s\n", EMAILRELAY_VERSION);
	if (!verbose)
		return;
	printf("TLS library: libtls %d (LibreTLS API)\n", TLS_API);
	printf("Event library: libevent %s\n", event_get_version());
	printf("DNS library: c-ares %s\n", ares_version(NULL));
#ifdef HAVE_PAM
	printf("PAM: enabled\n");
#else
	printf("PAM: disabled\n");
#endif
	printf("POP server: enabled\n");
	printf("Admin server: enabled\n");
	printf("DNSBL: enabled\n");
	printf("Unix domain sockets: enabled\n");
	printf("IPv6: enabled\n");
	printf("Privilege separation: enabled\n");
}

/*
 * Start-up checks that need the file system: the --user account, the
 * spool directories (made absolute), and the pid file's directory.
 */
static int
check_setup(struct parent *p)
{
	struct instconf	*ic;
	struct stat	 st;
	const char	*user, *dir;
	char		 real[PATH_MAX], err[256];
	size_t		 i;

	user = conf_str(conf_global(&p->conf), OPT_USER);
	if (geteuid() == 0 && strcmp(user, "root") != 0 &&
	    getpwnam(user) == NULL) {
		fprintf(stderr, "emailrelay: error: unknown user: %s\n", user);
		return (-1);
	}
	for (i = 0; i < p->conf.ninst; i++) {
		ic = &p->conf.inst[i];
		dir = conf_str(ic, OPT_SPOOL_DIR);
		if (realpath(dir, real) == NULL || stat(real, &st) == -1) {
			fprintf(stderr, "emailrelay: error: invalid spool "
			    "directory: %s: %s\n", dir, strerror(errno));
			return (-1);
		}
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "emailrelay: error: invalid spool "
			    "directory: %s: not a directory\n", dir);
			return (-1);
		}
		if (config_set(&p->conf, i, ic->name, OPT_SPOOL_DIR, real,
		    err, sizeof(err)) != CONF_OK) {
			fprintf(stderr, "emailrelay: error: %s\n", err);
			return (-1);
		}
	}
	return (parent_auth_check(&p->conf));
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case LISTEN_SMTP:
		return ("smtp");
	case LISTEN_POP:
		return ("pop");
	case LISTEN_CONTROL:
		return ("control");
	default:
		return ("admin");
	}
}

static int
add_listener(struct parent *p, size_t inst, int kind, int fd,
    const char *addr)
{
	struct listener	*l;
	const char	*unit = p->conf.inst[inst].name;

	if (p->nlst == BOUNDS_LISTENERS) {
		close(fd);
		fprintf(stderr, "emailrelay: error: too many listening "
		    "addresses\n");
		return (-1);
	}
	l = &p->lst[p->nlst++];
	l->fd = fd;
	l->inst = inst;
	l->kind = kind;
	strlcpy(l->addr, addr, sizeof(l->addr));
	ulog_info(unit, "%s server on %s", kind_name(kind), addr);
	return (0);
}

static int
bind_one(struct parent *p, size_t inst, int kind, const struct sockaddr *sa,
    socklen_t salen)
{
	char	 addr[128];
	int	 fd, on = 1;

	netaddr_str(sa, addr, sizeof(addr));
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, sa, salen) == -1 || listen(fd, 128) == -1)
		goto fail;
	return (add_listener(p, inst, kind, fd, addr));
fail:
	fprintf(stderr, "emailrelay: error: cannot bind %s: %s\n", addr,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return (-1);
}

static int
bind_unix(struct parent *p, size_t inst, int kind, const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		fprintf(stderr, "emailrelay: error: cannot bind %s: path too "
		    "long\n", path);
		return (-1);
	}
	/* A socket left by a dead process is removed; a live one is not. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			fprintf(stderr, "emailrelay: error: cannot bind %s: "
			    "socket in use\n", path);
			return (-1);
		}
		if (errno == ECONNREFUSED)
			unlink(path);
		close(probe);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1 || listen(fd, 128) == -1) {
		fprintf(stderr, "emailrelay: error: cannot bind %s: %s\n",
		    path, strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (p->nunix < BOUNDS_LISTENERS &&
	    (p->unixpaths[p->nunix] = strdup(path)) != NULL)
		p->nunix++;
	return (add_listener(p, inst, kind, fd, path));
}

static int
bind_fd(struct parent *p, size_t inst, int kind, int fd)
{
	char		 addr[128];
	int		 on = 0, fl;
	socklen_t	 len = sizeof(on);
	struct sockaddr_storage ss;
	socklen_t	 sslen = sizeof(ss);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1 ||
	    !on) {
		fprintf(stderr, "emailrelay: error: invalid inherited "
		    "listening descriptor: fd#%d\n", fd);
		return (-1);
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		fprintf(stderr, "emailrelay: error: fd#%d: %s\n", fd,
		    strerror(errno));
		return (-1);
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		netaddr_str((struct sockaddr *)&ss, addr, sizeof(addr));
	else
		snprintf(addr, sizeof(addr), "fd#%d", fd);
	return (add_listener(p, inst, kind, fd, addr));
}

static int
bind_ifname(struct parent *p, size_t inst, int kind,
    const struct iface_item *it, long long port)
{
	struct ifaddrs		*ifa0, *ifa;
	struct sockaddr_storage	 ss;
	char			 name[IFNAMSIZ];
	size_t			 n;
	int			 found = 0;

	strlcpy(name, it->text, sizeof(name));
	n = strlen(name);
	if (n > 5 && (strcmp(name + n - 5, "-ipv4") == 0 ||
	    strcmp(name + n - 5, "-ipv6") == 0))
		name[n - 5] = '\0';
	if (getifaddrs(&ifa0) == -1) {
		fprintf(stderr, "emailrelay: error: getifaddrs: %s\n",
		    strerror(errno));
		return (-1);
	}
	for (ifa = ifa0; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || strcmp(ifa->ifa_name, name) != 0)
			continue;
		if (ifa->ifa_addr->sa_family != AF_INET &&
		    ifa->ifa_addr->sa_family != AF_INET6)
			continue;
		if (it->family != 0 && ifa->ifa_addr->sa_family != it->family)
			continue;
		memset(&ss, 0, sizeof(ss));
		if (ifa->ifa_addr->sa_family == AF_INET) {
			memcpy(&ss, ifa->ifa_addr, sizeof(struct sockaddr_in));
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		} else {
			memcpy(&ss, ifa->ifa_addr,
			    sizeof(struct sockaddr_in6));
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		}
		if (bind_one(p, inst, kind, (struct sockaddr *)&ss,
		    ifa->ifa_addr->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6)) == -1) {
			freeifaddrs(ifa0);
			return (-1);
		}
		found++;
	}
	freeifaddrs(ifa0);
	if (found == 0) {
		fprintf(stderr, "emailrelay: error: no address for interface "
		    "%s\n", it->text);
		return (-1);
	}
	return (0);
}

/* Bind every listener of one kind of instance inst. */
static int
bind_kind(struct parent *p, size_t inst, int kind, long long port)
{
	struct instconf		*ic = &p->conf.inst[inst];
	struct iface_item	 items[BOUNDS_LISTENERS];
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	const struct optval	*ov = &ic->opt[OPT_INTERFACE];
	const char		*errstr;
	size_t			 i, j, n, used = 0;
	int			 fd;

	for (i = 0; i < ov->nlist; i++) {
		if (netaddr_parse_iface_list(ov->list[i], items,
		    BOUNDS_LISTENERS, &n, &errstr) == -1) {
			fprintf(stderr, "emailrelay: usage error: invalid "
			    "--interface: %s\n", errstr);
			return (-1);
		}
		for (j = 0; j < n; j++) {
			if ((items[j].kinds & kind) == 0)
				continue;
			used++;
			switch (items[j].type) {
			case IFACE_IPV4:
				memset(&sin, 0, sizeof(sin));
				sin.sin_family = AF_INET;
				sin.sin_port = htons(port);
				inet_pton(AF_INET, items[j].text,
				    &sin.sin_addr);
				if (bind_one(p, inst, kind,
				    (struct sockaddr *)&sin, sizeof(sin)) == -1)
					return (-1);
				break;
			case IFACE_IPV6: {
				char	 a[108], *pct;

				memset(&sin6, 0, sizeof(sin6));
				sin6.sin6_family = AF_INET6;
				sin6.sin6_port = htons(port);
				strlcpy(a, items[j].text, sizeof(a));
				if ((pct = strchr(a, '%')) != NULL) {
					*pct++ = '\0';
					sin6.sin6_scope_id =
					    if_nametoindex(pct);
				}
				inet_pton(AF_INET6, a, &sin6.sin6_addr);
				if (bind_one(p, inst, kind,
				    (struct sockaddr *)&sin6,
				    sizeof(sin6)) == -1)
					return (-1);
				break;
			}
			case IFACE_NAME:
				if (bind_ifname(p, inst, kind, &items[j],
				    port) == -1)
					return (-1);
				break;
			case IFACE_UNIX:
				if (bind_unix(p, inst, kind,
				    items[j].text) == -1)
					return (-1);
				break;
			case IFACE_FD:
				if (bind_fd(p, inst, kind, items[j].fd) == -1)
					return (-1);
				break;
			}
		}
	}
	if (used > 0)
		return (0);

	/* No --interface for this kind: every IPv4 and IPv6 address. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind_one(p, inst, kind, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1)
		return (-1);
	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);		/* no IPv6 here */
	close(fd);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	sin6.sin6_addr = in6addr_any;
	return (bind_one(p, inst, kind, (struct sockaddr *)&sin6,
	    sizeof(sin6)));
}

static int
bind_all(struct parent *p)
{
	struct instconf	*ic;
	size_t		 i;

	for (i = 0; i < p->conf.ninst; i++) {
		ic = &p->conf.inst[i];
		if (conf_bool(ic, OPT_DONT_SERVE))
			continue;
		if (!conf_bool(ic, OPT_NO_SMTP) &&
		    bind_kind(p, i, LISTEN_SMTP, conf_num(ic, OPT_PORT)) == -1)
			return (-1);
		if (conf_bool(ic, OPT_POP) &&
		    bind_kind(p, i, LISTEN_POP, conf_num(ic, OPT_POP_PORT)) == -1)
			return (-1);
		if (conf_str(ic, OPT_ADMIN) != NULL &&
		    bind_kind(p, i, LISTEN_ADMIN, conf_num(ic, OPT_ADMIN)) == -1)
			return (-1);
	}
	return (0);
}

/*
 * The control socket for emailrelayctl (SPEC 10): its directory made if
 * missing, a stale socket removed (a live daemon's never), mode 0660,
 * owned by root and the group of the first instance's spool directory
 * when started as root (control lets that group in, see common/ctl.h).
 * A socket that cannot be made is a warning, not an error; --as-client
 * and --dont-serve runs make none.
 */
static void
bind_control(struct parent *p)
{
	const struct instconf	*g = conf_global(&p->conf);
	struct sockaddr_un	 sun;
	struct stat		 st;
	const char		*path;
	char			 dir[PATH_MAX], *slash;
	int			 fd = -1, probe;
	mode_t			 old;

	if (conf_bool(g, OPT_AS_CLIENT) || conf_bool(g, OPT_DONT_SERVE) ||
	    (path = conf_str(g, OPT_CONTROL_SOCKET)) == NULL || *path == '\0')
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path) || strlcpy(dir, path, sizeof(dir)) >=
	    sizeof(dir)) {
		log_warnx("cannot create control socket %s: path too long",
		    path);
		return;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdirs(dir, 0755) == -1) {
			log_warnx("cannot create control socket %s: %s: %s",
			    path, dir, strerror(errno));
			return;
		}
	}
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			log_warnx("cannot create control socket %s: in use "
			    "by another process", path);
			return;
		}
		/* Only a socket nobody listens on is removed. */
		if (errno == ECONNREFUSED && lstat(path, &st) == 0 &&
		    S_ISSOCK(st.st_mode))
			unlink(path);
		close(probe);
	}
	old = umask(0117);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warnx("cannot create control socket %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	umask(old);
	if (chmod(path, 0660) == -1 || (geteuid() == 0 &&
	    (stat(conf_str(&p->conf.inst[0], OPT_SPOOL_DIR), &st) == -1 ||
	    chown(path, 0, st.st_gid) == -1)) || listen(fd, 16) == -1) {
		log_warnx("cannot create control socket %s: %s", path,
		    strerror(errno));
		unlink(path);
		close(fd);
		return;
	}
	if (p->nunix < BOUNDS_LISTENERS &&
	    (p->unixpaths[p->nunix] = strdup(path)) != NULL)
		p->nunix++;
	(void)add_listener(p, 0, LISTEN_CONTROL, fd, path);
}

static int
mkdirs(const char *path, mode_t mode)
{
	char	 buf[PATH_MAX], *s;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	for (s = buf + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return (-1);
		*s = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return (-1);
	return (0);
}

static int
write_pidfile(struct parent *p)
{
	const char	*path;
	char		 dir[PATH_MAX], *slash, line[32];
	int		 fd, n;

	if ((path = conf_str(conf_global(&p->conf), OPT_PID_FILE)) == NULL)
		return (0);
	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir) ||
	    strlcpy(p->pidfile, path, sizeof(p->pidfile)) >=
	    sizeof(p->pidfile)) {
		log_error("pid file path too long: %s", path);
		return (-1);
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdirs(dir, 0755) == -1) {
			log_error("cannot create directory %s: %s", dir,
			    strerror(errno));
			return (-1);
		}
	}
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1 || write(fd, line, n) != n) {
		log_error("cannot write pid file %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		p->pidfile[0] = '\0';
		return (-1);
	}
	close(fd);
	return (0);
}

/* Fork into the background; the foreground process exits 0. */
static int
daemonize(int close_stderr)
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) == -1)
		return (-1);
	if (pid != 0)
		_exit(0);
	if (setsid() == -1)
		return (-1);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid != 0)
		_exit(0);
	if (chdir("/") == -1)
		return (-1);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (close_stderr)
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return (0);
}

static void
spawn_children(struct parent *p)
{
	char	**av, arg[32];
	pid_t	 pid;
	int	 sv[2], i, j;

	if ((av = calloc(p->argc + 2, sizeof(*av))) == NULL)
		fatal("calloc");
	av[0] = p->argv[0];
	for (i = 1; i < p->argc; i++)
		av[i + 1] = p->argv[i];

	for (i = 1; i < PROC__COUNT; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sv) == -1)
			fatal("socketpair");
		snprintf(arg, sizeof(arg), "--x-child=%s", proc_name(i));
		av[1] = arg;
		fflush(NULL);
		if ((pid = fork()) == -1)
			fatal("fork");
		if (pid == 0) {
			if (sv[1] == PROC_PARENT_FD) {
				if (fcntl(sv[1], F_SETFD, 0) == -1)
					_exit(1);
			} else if (dup2(sv[1], PROC_PARENT_FD) == -1)
				_exit(1);
			closefrom(PROC_PARENT_FD + 1);
			execv(p->exe, av);
			fprintf(stderr, "emailrelay: error: cannot execute "
			    "%s: %s\n", p->exe, strerror(errno));
			_exit(1);
		}
		close(sv[1]);
		p->child[i].pid = pid;
		chan_init(&p->child[i].ch, p->base, sv[0], PROC_PARENT, i,
		    parent_dispatch, parent_lost, p);
	}
	free(av);

	/* Channels between the children. */
	for (i = 1; i < PROC__COUNT; i++) {
		for (j = i + 1; j < PROC__COUNT; j++) {
			if (!proc_peers(i, j))
				continue;
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			    sv) == -1)
				fatal("socketpair");
			msg_begin(&p->child[i].ch.m, MSG_PARENT_PEER_NOTIFY, 0,
			    sv[0]);
			msg_put_u32(&p->child[i].ch.m, j);
			msg_end(&p->child[i].ch.m);
			msg_begin(&p->child[j].ch.m, MSG_PARENT_PEER_NOTIFY, 0,
			    sv[1]);
			msg_put_u32(&p->child[j].ch.m, i);
			msg_end(&p->child[j].ch.m);
		}
	}
}

/* Configuration, listeners and the go-ahead to every child. */
static void
send_boot(struct parent *p)
{
	struct msgchan	*m;
	struct listener	*l;
	size_t		 k;
	int		 i, to, fd;

	for (i = 1; i < PROC__COUNT; i++)
		proc_conf_send(&p->child[i].ch.m, &p->conf, p->generation);
	for (k = 0; k < p->nlst; k++) {
		l = &p->lst[k];
		to = l->kind == LISTEN_SMTP ? PROC_SMTP :
		    l->kind == LISTEN_POP ? PROC_POP : PROC_CONTROL;
		m = &p->child[to].ch.m;
		/* The listener stays with the parent too, for reloads. */
		if ((fd = dup(l->fd)) == -1)
			fatal("dup");
		msg_begin(m, MSG_PARENT_LISTENER_NOTIFY, 0, fd);
		msg_put_u32(m, l->inst);
		msg_put_u32(m, l->kind);
		msg_put_str(m, l->addr);
		msg_end(m);
	}
	for (i = 1; i < PROC__COUNT; i++) {
		msg_begin(&p->child[i].ch.m, MSG_PARENT_START_NOTIFY, 0, -1);
		msg_end(&p->child[i].ch.m);
		chan_flush(&p->child[i].ch);
	}
}

static void
parent_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct parent	*p = arg;
	char		 body[BOUNDS_LOGLINE], *s;
	uint32_t	 u;

	switch (m->type) {
	case MSG_LOG_NOTIFY:
		if (msg_get_u32(m, &u) == -1 ||
		    msg_get_str(m, body, sizeof(body)) == -1 ||
		    msg_get_end(m) == -1 || u > LOGL_ERROR)
			fatalx("parent: bad log line from %s",
			    proc_name(ch->peer));
		/* One line per event, whatever a child got wrong. */
		for (s = body; *s != '\0'; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				*s = '?';
		log_write(u, body);
		break;
	case MSG_CHILD_READY_NOTIFY:
		if (msg_get_u32(m, &u) == -1 || msg_get_end(m) == -1 ||
		    u != ch->peer)
			fatalx("parent: bad ready from %s",
			    proc_name(ch->peer));
		p->child[ch->peer].ready = 1;
		log_debug("%s process ready", proc_name(ch->peer));
		break;
	case MSG_QUEUE_CLIENT_DONE_NOTIFY:
		/* --as-client: the pass is over, stop with its status. */
		if (ch->peer != PROC_QUEUE || msg_get_u32(m, &u) == -1 ||
		    msg_get_end(m) == -1 || u > 1)
			fatalx("parent: bad client status from %s",
			    proc_name(ch->peer));
		parent_shutdown(p, (int)u);
		break;
	case MSG_CONTROL_TERMINATE_NOTIFY:
		/* The admin "terminate" command: stop as on SIGTERM. */
		if (ch->peer != PROC_CONTROL || msg_get_end(m) == -1)
			fatalx("parent: bad terminate from %s",
			    proc_name(ch->peer));
		if (!p->stopping)
			log_info("admin terminate request: stopping");
		parent_shutdown(p, 0);
		break;
	case MSG_CTL_LOG:
	case MSG_CTL_RELOAD:
	case MSG_CTL_STOP:
		parent_ctl(p, ch, m);
		break;
	default:
		if (parent_auth_dispatch(ch, m, p->base, &p->conf))
			break;
		fatalx("parent: unexpected %s from %s",
		    msg_type_name(m->type), proc_name(ch->peer));
	}
	msg_done(&ch->m, m);
}

/* --verbose on (1) or off (0) as emailrelayctl said; -1: as configured. */
static void
parent_verbose(struct config *c, int verbose)
{
	char	 err[256];

	if (verbose == 1) {
		if (config_set(c, 0, c->inst[0].name, OPT_VERBOSE, NULL, err,
		    sizeof(err)) != CONF_OK)
			fatalx("parent: log verbose: %s", err);
	} else if (verbose == 0)
		c->inst[0].opt[OPT_VERBOSE].set = 0;
}

/*
 * emailrelayctl's log, reload and stop, relayed by control: answered
 * here, then done (stop: the answer is written before the children are
 * told to go).
 */
static void
parent_ctl(struct parent *p, struct chan *ch, struct msg *m)
{
	struct msgchan	*c = &ch->m;
	const char	*text = "";
	uint32_t	 version, verbose = 0, status = MSG_OK;
	int		 i;

	if (ch->peer != PROC_CONTROL || (m->flags & MSG_F_REPLY) != 0 ||
	    msg_get_u32(m, &version) == -1 || (m->type == MSG_CTL_LOG &&
	    msg_get_u32(m, &verbose) == -1) || msg_get_end(m) == -1 ||
	    verbose > 1)
		fatalx("parent: bad %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	if (p->stopping) {
		status = MSG_TEMPFAIL;
		text = "stopping";
	} else if (m->type == MSG_CTL_LOG) {
		p->ctl_verbose = (int)verbose;
		parent_verbose(&p->conf, p->ctl_verbose);
		log_info("emailrelayctl: log %s", verbose ? "verbose" :
		    "brief");
		p->generation++;
		proc_log_conf(&p->conf);
		for (i = 1; i < PROC__COUNT; i++) {
			proc_conf_send(&p->child[i].ch.m, &p->conf,
			    p->generation);
			chan_flush(&p->child[i].ch);
		}
	} else if (m->type == MSG_CTL_RELOAD) {
		log_info("emailrelayctl: reload");
		if (parent_reload(p) == -1) {
			status = MSG_TEMPFAIL;
			text = "reload failed: see the log";
		}
	}
	msg_reply_begin(c, m->type, m->id, -1);
	msg_put_u32(c, status);
	msg_put_str(c, text);
	msg_end(c);
	if (m->type == MSG_CTL_STOP && status == MSG_OK) {
		log_info("emailrelayctl: stop: stopping");
		(void)msg_flush(c, 1000);
		parent_shutdown(p, 0);
		return;
	}
	chan_flush(ch);
}

static void
parent_lost(struct chan *ch, void *arg)
{
	/* The child is exiting: SIGCHLD tells the rest. */
}

/* Dispatch what a child sent before it died: its last log lines. */
static void
parent_drain(struct parent *p, struct chan *ch)
{
	struct msg	 m;
	int		 r, fd;

	while (msg_read(&ch->m) > 0) {
		while ((r = msg_get(&ch->m, &m)) == 1) {
			if (msg_check(&m) == -1) {
				if ((fd = msg_take_fd(&m)) != -1)
					close(fd);
				msg_done(&ch->m, &m);
				return;
			}
			parent_dispatch(ch, &m, p);
		}
		if (r == -1)
			return;
	}
}

static int
all_dead(struct parent *p)
{
	int	 i;

	for (i = 1; i < PROC__COUNT; i++)
		if (p->child[i].pid > 0)
			return (0);
	return (1);
}

static void
parent_reap(struct parent *p)
{
	pid_t	 pid;
	int	 status, i, code;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 1; i < PROC__COUNT; i++)
			if (p->child[i].pid == pid)
				break;
		if (i == PROC__COUNT)
			continue;
		p->child[i].pid = 0;
		if (p->child[i].ch.ev != NULL) {
			parent_drain(p, &p->child[i].ch);
			chan_close(&p->child[i].ch);
		}
		code = WIFEXITED(status) ? WEXITSTATUS(status) :
		    WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
		if (!p->stopping) {
			log_error("lost child %s status=%d", proc_name(i),
			    code);
			parent_shutdown(p, 1);
		} else if (code != 0)
			log_warnx("%s process exited with status=%d",
			    proc_name(i), code);
	}
	if (p->stopping && all_dead(p))
		event_base_loopexit(p->base, NULL);
}

static void
parent_shutdown(struct parent *p, int status)
{
	struct timeval	 tv = { STOP_GRACE_SEC, 0 };
	int		 i;

	if (p->stopping)
		return;
	p->stopping = 1;
	p->status = status;
	/*
	 * EOF on its channel tells each child to exit.  Only our half is
	 * shut: the log lines a child sends before it goes are still read,
	 * until its EOF closes the channel.
	 */
	for (i = 1; i < PROC__COUNT; i++)
		if (p->child[i].ch.ev != NULL &&
		    shutdown(p->child[i].ch.m.fd, SHUT_WR) == -1)
			chan_close(&p->child[i].ch);
	if ((p->ev_stop = evtimer_new(p->base, parent_on_stop_timer,
	    p)) == NULL || evtimer_add(p->ev_stop, &tv) == -1)
		fatalx("evtimer");
	if (all_dead(p))
		event_base_loopexit(p->base, NULL);
}

static void
parent_on_stop_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct parent	*p = arg;
	int		 i;

	for (i = 1; i < PROC__COUNT; i++) {
		if (p->child[i].pid > 0) {
			log_warnx("%s process did not stop: killing it",
			    proc_name(i));
			kill(p->child[i].pid, SIGKILL);
		}
	}
}

static int
parent_reload(struct parent *p)
{
	struct config	 next;
	int		 i;

	config_init(&next, p->argv[0]);
	if (parse_config(&next, p->argc, p->argv, 0) != 0) {
		config_free(&next);
		return (-1);
	}
	/* Listeners and spool directories stay as they were bound. */
	for (i = 0; i < (int)next.ninst || i < (int)p->conf.ninst; i++) {
		if (next.ninst != p->conf.ninst ||
		    strcmp(next.inst[i].name, p->conf.inst[i].name) != 0) {
			log_warnx("reload failed: the instances cannot change "
			    "without a restart");
			config_free(&next);
			return (-1);
		}
	}
	for (i = 0; i < (int)next.ninst && i < (int)p->conf.ninst; i++) {
		const char *old = conf_str(&p->conf.inst[i], OPT_SPOOL_DIR);
		char err[256];

		(void)config_set(&next, i, next.inst[i].name, OPT_SPOOL_DIR,
		    old, err, sizeof(err));
	}
	/* emailrelayctl's "log verbose|brief" outlasts a reload. */
	parent_verbose(&next, p->ctl_verbose);
	config_free(&p->conf);
	p->conf = next;
	p->generation++;
	proc_log_conf(&p->conf);
	for (i = 1; i < PROC__COUNT; i++) {
		proc_conf_send(&p->child[i].ch.m, &p->conf, p->generation);
		chan_flush(&p->child[i].ch);
	}
	parent_tls_send(p);
	log_info("configuration reloaded");
	return (0);
}

/*
 * After a reload: the TLS files of every instance, opened afresh, to
 * the processes that use them (SPEC 11), which are chrooted and
 * unprivileged by now; server files to smtp and pop, client files to
 * mta.  The parent never reads them.
 */
static void
parent_tls_send(struct parent *p)
{
	static const struct {
		enum proc_id	 proc;
		enum opt_id	 cert, ca;
	} side[] = {
		{ PROC_SMTP, OPT_SERVER_TLS_CERTIFICATE, OPT_SERVER_TLS_VERIFY },
		{ PROC_POP, OPT_SERVER_TLS_CERTIFICATE, OPT_SERVER_TLS_VERIFY },
		{ PROC_MTA, OPT_CLIENT_TLS_CERTIFICATE, OPT_CLIENT_TLS_VERIFY },
	};
	const struct instconf	*ic;
	const struct optval	*ov;
	const char		*sent[PROC_TLS_FILES], *ca;
	struct msgchan		*ch;
	size_t			 s, k, i, n;

	for (s = 0; s < sizeof(side) / sizeof(side[0]); s++) {
		if (p->child[side[s].proc].pid <= 0)
			continue;
		ch = &p->child[side[s].proc].ch.m;
		n = 0;
		for (k = 0; k < p->conf.ninst; k++) {
			ic = &p->conf.inst[k];
			ov = &ic->opt[side[s].cert];
			for (i = 0; ov->set && i < ov->nlist; i++)
				parent_tls_file(ch, ov->list[i], sent, &n);
			if ((ca = conf_str(ic, side[s].ca)) == NULL ||
			    *ca == '\0')
				continue;
			if (strcmp(ca, "<default>") == 0)
				ca = tls_default_ca_cert_file();
			parent_tls_file(ch, ca, sent, &n);
		}
		msg_begin(ch, MSG_PARENT_TLS_END_NOTIFY, 0, -1);
		msg_end(ch);
		chan_flush(&p->child[side[s].proc].ch);
	}
}

/*
 * One file (or CA directory) for a child, once per reload; sent[0..*n)
 * are those sent already.  One that cannot be opened is left out, and
 * the child keeps what it had for that instance.
 */
static void
parent_tls_file(struct msgchan *ch, const char *path, const char **sent,
    size_t *n)
{
	size_t	 i;
	int	 fd;

	for (i = 0; i < *n; i++)
		if (strcmp(sent[i], path) == 0)
			return;
	if (*n == PROC_TLS_FILES || strlen(path) >= PATH_MAX)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		log_warn("reload: %s", path);
		return;
	}
	msg_begin(ch, MSG_PARENT_TLS_FILE_NOTIFY, 0, fd);
	msg_put_str(ch, path);
	msg_end(ch);
	sent[(*n)++] = path;
}

static void
parent_on_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct parent	*p = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		if (!p->stopping)
			log_info("received signal %d: stopping", (int)sig);
		parent_shutdown(p, 0);
		break;
	case SIGHUP:
		if (!p->stopping)
			(void)parent_reload(p);
		break;
	case SIGCHLD:
		parent_reap(p);
		break;
	}
}

static void
parent_cleanup(struct parent *p)
{
	size_t	 i;

	if (p->pidfile[0] != '\0')
		unlink(p->pidfile);
	for (i = 0; i < p->nunix; i++) {
		unlink(p->unixpaths[i]);
		free(p->unixpaths[i]);
	}
	p->nunix = 0;
	for (i = 0; i < p->nlst; i++)
		close(p->lst[i].fd);
	p->nlst = 0;
}

int
parent_main(int argc, char *argv[])
{
	static struct parent	 parent;
	struct parent		*p = &parent;
	const struct instconf	*g;
	const char		*facname;
	ssize_t			 n;
	int			 r, facility, i, sigs[4] = {
		SIGTERM, SIGINT, SIGHUP, SIGCHLD };

	p->argc = argc;
	p->argv = argv;
	p->ctl_verbose = -1;
	umask(077);
	config_init(&p->conf, argv[0]);
	if ((r = parse_config(&p->conf, argc, argv, 1)) != 0)
		return (r == -1 ? 0 : 1);
	g = conf_global(&p->conf);

	if ((n = readlink("/proc/self/exe", p->exe, sizeof(p->exe) - 1)) <= 0) {
		fprintf(stderr, "emailrelay: error: cannot find the "
		    "executable: %s\n", strerror(errno));
		return (1);
	}
	p->exe[n] = '\0';

	proc_log_conf(&p->conf);
	facility = -1;
	if (conf_bool(g, OPT_SYSLOG) || ((conf_bool(g, OPT_LOG) ||
	    conf_bool(g, OPT_VERBOSE)) && !conf_bool(g, OPT_NO_SYSLOG))) {
		facname = conf_str(g, OPT_SYSLOG);
		facility = log_facility(facname != NULL && *facname != '\0' ?
		    facname : "mail");
	}
	if (log_configure(1, facility, conf_str(g, OPT_LOG_FILE)) == -1) {
		fprintf(stderr, "emailrelay: error: cannot open log file: "
		    "%s: %s\n", conf_str(g, OPT_LOG_FILE), strerror(errno));
		return (1);
	}
	for (i = 0; i < (int)p->conf.nwarn; i++)
		log_warnx("%s", p->conf.warn[i]);

	if (check_setup(p) == -1)
		return (1);
	if (bind_all(p) == -1)
		return (2);
	bind_control(p);

	if (!conf_bool(g, OPT_NO_DAEMON) &&
	    daemonize(conf_bool(g, OPT_CLOSE_STDERR)) == -1) {
		log_error("cannot run in the background: %s", strerror(errno));
		return (1);
	}
	if (write_pidfile(p) == -1)
		return (1);
	if (geteuid() == 0) {
		if (mkdirs(PROC_EMPTY_DIR, 0755) == -1) {
			log_error("cannot create %s: %s", PROC_EMPTY_DIR,
			    strerror(errno));
			parent_cleanup(p);
			return (1);
		}
	} else
		log_info("not started as root: privileges are not dropped");

	signal(SIGPIPE, SIG_IGN);
	if ((p->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < 4; i++)
		if ((p->ev_sig[i] = evsignal_new(p->base, sigs[i],
		    parent_on_signal, p)) == NULL ||
		    evsignal_add(p->ev_sig[i], NULL) == -1)
			fatalx("evsignal");

	spawn_children(p);
	send_boot(p);
	if (conf_bool(g, OPT_CLOSE_STDERR)) {
		int fd;

		if ((fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		log_configure(0, facility, conf_str(g, OPT_LOG_FILE));
	}

	event_base_dispatch(p->base);

	/* Every child has been reaped, or the loop failed. */
	for (i = 1; i < PROC__COUNT; i++)
		if (p->child[i].pid > 0)
			kill(p->child[i].pid, SIGKILL);
	parent_cleanup(p);
	if (p->stopping && p->status == 0)
		log_info("stopped");
	return (p->status);
}
