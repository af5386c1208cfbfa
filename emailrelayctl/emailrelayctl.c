/*
 * emailrelayctl: the operator tool over the daemon's control socket
 * (SPEC 10; the protocol is described in common/ctl.h).
 *
 *	emailrelayctl [-s socket] [-d spool-dir] [-j] [-o openmetrics]
 *	    [-n count] command [args]
 *
 * With -d and no daemon listening, "show queue" and "show message" read
 * the spool directory itself.  Exit status 0 success, 1 a refused or
 * failed command, 2 a usage error.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "envelope.h"
#include "log.h"
#include "msg.h"
#include "spool.h"

#define CTL_DEFAULT_SOCKET	"/run/emailrelay/control.sock"
#define CTL_TIMEOUT_MS		30000	/* for one reply */
#define CTL_SCANMAX		(1024 * 1024)
#define CTL_MONITOR_DEFAULT	10	/* samples when not a tty */
#define CTL_STATMAX		64	/* counters kept */

struct stat_kv {
	char			 name[CTL_NAMEMAX];
	unsigned long long	 v;
};

static const char	*sockpath = CTL_DEFAULT_SOCKET;
static int		 json;

static void	 usage(void) __attribute__((__noreturn__));
static int	 ctl_connect(void);
static int	 request(struct msgchan *, uint16_t, struct msg *);
static void	 json_str(const char *);
static void	 print_qent(const struct ctl_qent *, const char *, int,
		    time_t, int);
static void	 print_rcpts_json(const char *);
static int	 do_show_queue(struct msgchan *);
static int	 do_show_message(struct msgchan *, const char *);
static int	 do_simple(struct msgchan *, const struct ctl_cmd *);
static int	 get_stats(struct msgchan *, struct stat_kv *, size_t *);
static int	 do_stats(struct msgchan *, const char *);
static int	 do_monitor(struct msgchan *, long long);
static int	 offline_queue(const char *);
static int	 offline_message(const char *, const char *);
static int	 reply_fail(struct msg *);

static void
usage(void)
{
	fprintf(stderr, "usage: emailrelayctl [-j] [-d spool-dir] "
	    "[-n count] [-o openmetrics] [-s socket] command [args]\n"
	    "commands: show queue | show stats | show message <id> |\n"
	    "    forward [instance] | retry <id>|all | remove <id> |\n"
	    "    pause smtp|forward | resume smtp|forward | monitor |\n"
	    "    log verbose|brief | reload | stop\n");
	exit(2);
}

/* Connect to sockpath; -1 with errno when that fails. */
static int
ctl_connect(void)
{
	struct sockaddr_un	 sun;
	int			 fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

/*
 * Send the request framed in ch (msg_begin..msg_end done by the caller)
 * and wait for its reply into *m (valid until the next request).
 * Returns 0, or -1 after a message on stderr.
 */
static int
request(struct msgchan *ch, uint16_t type, struct msg *m)
{
	struct pollfd	 pfd;
	long		 n;
	int		 r;

	if (msg_flush(ch, CTL_TIMEOUT_MS) == -1) {
		if (errno == EPIPE || errno == ECONNRESET)
			fprintf(stderr, "emailrelayctl: %s: connection closed "
			    "by the daemon (access denied?)\n", sockpath);
		else
			fprintf(stderr, "emailrelayctl: %s: %s\n", sockpath,
			    strerror(errno));
		return (-1);
	}
	for (;;) {
		if ((r = msg_get(ch, m)) == 1)
			break;
		if (r == -1)
			goto bad;
		pfd.fd = ch->fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, CTL_TIMEOUT_MS)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "emailrelayctl: poll: %s\n",
			    strerror(errno));
			return (-1);
		}
		if (r == 0) {
			fprintf(stderr, "emailrelayctl: %s: no answer from "
			    "the daemon\n", sockpath);
			return (-1);
		}
		if ((n = msg_read(ch)) == 0) {
			fprintf(stderr, "emailrelayctl: %s: connection closed "
			    "by the daemon (access denied?)\n", sockpath);
			return (-1);
		}
		if (n == -1 && errno == ECONNRESET) {
			fprintf(stderr, "emailrelayctl: %s: connection closed "
			    "by the daemon (access denied?)\n", sockpath);
			return (-1);
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "emailrelayctl: %s: %s\n", sockpath,
			    strerror(errno));
			return (-1);
		}
	}
	if (m->type != type || (m->flags & MSG_F_REPLY) == 0 ||
	    msg_check(m) == -1)
		goto bad;
	return (0);
bad:
	fprintf(stderr, "emailrelayctl: %s: malformed answer from the "
	    "daemon\n", sockpath);
	return (-1);
}

/* A failure reply: its text on stderr; returns 1. */
static int
reply_fail(struct msg *m)
{
	char	 text[1024];

	if (msg_get_str(m, text, sizeof(text)) == -1)
		(void)strlcpy(text, "failed", sizeof(text));
	fprintf(stderr, "emailrelayctl: %s\n", text[0] != '\0' ? text :
	    "failed");
	return (1);
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20 ||
		    (unsigned char)*s > 0x7e)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void
print_rcpts_json(const char *r)
{
	const char	*p = r, *c;
	char		 one[CTL_RCPTMAX];
	size_t		 n;
	int		 first = 1;

	putchar('[');
	while (*p != '\0') {
		c = strchr(p, ',');
		n = c != NULL ? (size_t)(c - p) : strlen(p);
		if (n >= sizeof(one))
			n = sizeof(one) - 1;
		memcpy(one, p, n);
		one[n] = '\0';
		printf("%s", first ? "" : ", ");
		json_str(one);
		first = 0;
		p += n + (c != NULL);
		if (c == NULL)
			break;
	}
	putchar(']');
}

/*
 * One entry: a text line, or (json) an object, left open without close;
 * first for the commas.
 */
static void
print_qent(const struct ctl_qent *e, const char *inst, int first,
    time_t now, int close)
{
	long long	 age = now > e->mtime ? (long long)now - e->mtime : 0;

	if (!json) {
		printf("%s  %-5s  %6llds  %8lld  <%s>  %s%s%s%s%s\n", e->id,
		    e->state, age, e->size, e->from, e->rcpts,
		    e->reason[0] != '\0' ? "  reason: " : "", e->reason,
		    inst[0] != '\0' ? "  instance: " : "", inst);
		return;
	}
	printf("%s{\"id\": ", first ? "" : ",\n ");
	json_str(e->id);
	printf(", \"instance\": ");
	json_str(inst);
	printf(", \"state\": ");
	json_str(e->state);
	printf(", \"age\": %lld, \"mtime\": %lld, \"size\": %lld, "
	    "\"from\": ", age, e->mtime, e->size);
	json_str(e->from);
	printf(", \"recipients\": ");
	print_rcpts_json(e->rcpts);
	printf(", \"reason\": ");
	json_str(e->reason);
	if (close)
		putchar('}');
}

static int
do_show_queue(struct msgchan *ch)
{
	struct msg	 m;
	struct ctl_qent	 e;
	char		 after[SPOOL_BASE_MAX], inst[BOUNDS_INSTNAME];
	const void	*data;
	const char	*p, *end, *nl;
	size_t		 dlen;
	uint32_t	 i, status, more, ninst = 1;
	int		 first = 1, count = 0;
	time_t		 now = time(NULL);

	if (json)
		printf("[");
	for (i = 0; i < ninst; i++) {
		after[0] = '\0';
		do {
			msg_begin(ch, MSG_CTL_QUEUE_SHOW, 0, -1);
			msg_put_u32(ch, MSG_VERSION);
			msg_put_u32(ch, i);
			msg_put_str(ch, after);
			msg_end(ch);
			if (request(ch, MSG_CTL_QUEUE_SHOW, &m) == -1)
				return (1);
			if (msg_get_u32(&m, &status) == -1)
				return (1);
			if (status != MSG_OK)
				return (reply_fail(&m));
			if (msg_get_str(&m, inst, sizeof(inst)) == -1 ||
			    msg_get_u32(&m, &more) == -1 ||
			    msg_get_u32(&m, &ninst) == -1 ||
			    msg_get_data(&m, &data, &dlen) == -1 ||
			    ninst > BOUNDS_INSTANCES) {
				fprintf(stderr, "emailrelayctl: malformed "
				    "answer\n");
				return (1);
			}
			p = data;
			end = p + dlen;
			while (p < end) {
				if ((nl = memchr(p, '\n', end - p)) == NULL ||
				    ctl_qent_unpack(p, nl + 1 - p, &e) == -1) {
					fprintf(stderr, "emailrelayctl: "
					    "malformed queue entry\n");
					return (1);
				}
				print_qent(&e, inst, first, now, 1);
				first = 0;
				count++;
				(void)strlcpy(after, e.id, sizeof(after));
				p = nl + 1;
			}
			msg_done(ch, &m);
			if (more && after[0] == '\0')
				return (1);	/* a page with nothing */
		} while (more);
	}
	if (json)
		printf("]\n");
	else if (count == 0)
		printf("no messages\n");
	return (0);
}

static int
do_show_message(struct msgchan *ch, const char *id)
{
	struct msg	 m;
	struct ctl_qent	 e;
	char		 inst[BOUNDS_INSTNAME], line[CTL_LINEMAX];
	char		*env;
	const void	*data;
	size_t		 dlen;
	uint32_t	 status;

	msg_begin(ch, MSG_CTL_MESSAGE_SHOW, 0, -1);
	msg_put_u32(ch, MSG_VERSION);
	msg_put_str(ch, id);
	msg_end(ch);
	if (request(ch, MSG_CTL_MESSAGE_SHOW, &m) == -1 ||
	    msg_get_u32(&m, &status) == -1)
		return (1);
	if (status != MSG_OK)
		return (reply_fail(&m));
	if (msg_get_str(&m, inst, sizeof(inst)) == -1 ||
	    msg_get_str(&m, line, sizeof(line)) == -1 ||
	    msg_get_data(&m, &data, &dlen) == -1 ||
	    ctl_qent_unpack(line, strlen(line), &e) == -1) {
		fprintf(stderr, "emailrelayctl: malformed answer\n");
		return (1);
	}
	if ((env = strndup(data, dlen)) == NULL) {
		fprintf(stderr, "emailrelayctl: out of memory\n");
		return (1);
	}
	if (json) {
		/* The entry's object, with the envelope added. */
		print_qent(&e, inst, 1, time(NULL), 0);
		printf(", \"envelope\": ");
		json_str(env);
		printf("}\n");
	} else {
		print_qent(&e, inst, 1, time(NULL), 1);
		printf("%s", env);
	}
	free(env);
	return (0);
}

/* Commands answered by a status and a text. */
static int
do_simple(struct msgchan *ch, const struct ctl_cmd *cmd)
{
	struct msg	 m;
	char		 text[1024];
	uint16_t	 type;
	uint32_t	 status;

	switch (cmd->kind) {
	case CTL_CMD_FORWARD:
		type = MSG_CTL_QUEUE_FORWARD;
		break;
	case CTL_CMD_RETRY:
		type = MSG_CTL_MESSAGE_RETRY;
		break;
	case CTL_CMD_REMOVE:
		type = MSG_CTL_MESSAGE_REMOVE;
		break;
	case CTL_CMD_PAUSE:
	case CTL_CMD_RESUME:
		type = MSG_CTL_PAUSE;
		break;
	case CTL_CMD_LOG:
		type = MSG_CTL_LOG;
		break;
	case CTL_CMD_RELOAD:
		type = MSG_CTL_RELOAD;
		break;
	default:
		type = MSG_CTL_STOP;
		break;
	}
	msg_begin(ch, type, 0, -1);
	msg_put_u32(ch, MSG_VERSION);
	switch (type) {
	case MSG_CTL_QUEUE_FORWARD:
	case MSG_CTL_MESSAGE_RETRY:
	case MSG_CTL_MESSAGE_REMOVE:
		msg_put_str(ch, cmd->arg);
		break;
	case MSG_CTL_PAUSE:
		msg_put_u32(ch, cmd->num);
		msg_put_u32(ch, cmd->kind == CTL_CMD_PAUSE);
		break;
	case MSG_CTL_LOG:
		msg_put_u32(ch, cmd->num);
		break;
	}
	msg_end(ch);
	if (request(ch, type, &m) == -1 || msg_get_u32(&m, &status) == -1)
		return (1);
	if (status != MSG_OK)
		return (reply_fail(&m));
	if (msg_get_str(&m, text, sizeof(text)) == -1)
		text[0] = '\0';
	if (json) {
		printf("{\"status\": \"ok\", \"text\": ");
		json_str(text);
		printf("}\n");
	} else
		printf("%s\n", text[0] != '\0' ? text : "ok");
	return (0);
}

/* The counters into kv (at most CTL_STATMAX); 0, or -1 after a message. */
static int
get_stats(struct msgchan *ch, struct stat_kv *kv, size_t *n)
{
	struct msg	 m;
	const char	*s, *p, *end;
	size_t		 len;
	uint32_t	 status;
	int		 r;

	*n = 0;
	msg_begin(ch, MSG_CTL_STATS, 0, -1);
	msg_put_u32(ch, MSG_VERSION);
	msg_end(ch);
	if (request(ch, MSG_CTL_STATS, &m) == -1 ||
	    msg_get_u32(&m, &status) == -1)
		return (-1);
	if (status != MSG_OK) {
		(void)reply_fail(&m);
		return (-1);
	}
	if (msg_get_strp(&m, &s, &len) == -1)
		return (-1);
	p = s;
	end = s + len;
	while (*n < CTL_STATMAX && (r = ctl_stat_next(&p, end,
	    kv[*n].name, sizeof(kv[*n].name), &kv[*n].v)) == 1)
		(*n)++;
	msg_done(ch, &m);
	return (0);
}

/* OpenMetrics: counters end in _total, the rest are gauges. */
static int
do_stats(struct msgchan *ch, const char *format)
{
	static const char *counters[] = { "connections",
	    "messages_accepted", "messages_rejected", "messages_forwarded",
	    "messages_failed", "bytes_received" };
	struct stat_kv	 kv[CTL_STATMAX];
	size_t		 i, j, n;
	int		 queue_done = 0;

	if (get_stats(ch, kv, &n) == -1)
		return (1);
	if (format != NULL) {
		for (i = 0; i < n; i++) {
			for (j = 0; j < sizeof(counters) /
			    sizeof(counters[0]); j++)
				if (strcmp(kv[i].name, counters[j]) == 0)
					break;
			if (j < sizeof(counters) / sizeof(counters[0])) {
				printf("# TYPE emailrelay_%s counter\n"
				    "emailrelay_%s_total %llu\n", kv[i].name,
				    kv[i].name, kv[i].v);
				continue;
			}
			if (strncmp(kv[i].name, "queue_", 6) == 0) {
				if (!queue_done)
					printf("# TYPE emailrelay_queue_"
					    "messages gauge\n");
				queue_done = 1;
				printf("emailrelay_queue_messages{state=\"%s\"}"
				    " %llu\n", kv[i].name + 6, kv[i].v);
				continue;
			}
			printf("# TYPE emailrelay_%s gauge\n"
			    "emailrelay_%s %llu\n", kv[i].name, kv[i].name,
			    kv[i].v);
		}
		printf("# EOF\n");
		return (0);
	}
	if (json)
		putchar('{');
	for (i = 0; i < n; i++) {
		if (json)
			printf("%s\"%s\": %llu", i > 0 ? ", " : "",
			    kv[i].name, kv[i].v);
		else
			printf("%s %llu\n", kv[i].name, kv[i].v);
	}
	if (json)
		printf("}\n");
	return (0);
}

/* A line of counters now and whenever they change, count lines. */
static int
do_monitor(struct msgchan *ch, long long count)
{
	struct stat_kv	 kv[CTL_STATMAX], last[CTL_STATMAX];
	struct timespec	 ts = { 1, 0 };
	size_t		 i, n, nlast = 0;
	long long	 lines = 0, polls = 0;
	char		 tbuf[32];
	time_t		 now;

	while (count <= 0 || lines < count) {
		if (get_stats(ch, kv, &n) == -1)
			return (1);
		/* A line when something changed, and one a minute. */
		if (nlast == 0 || n != nlast || memcmp(kv, last,
		    n * sizeof(kv[0])) != 0 || polls % 60 == 0 ||
		    count > 0) {
			now = time(NULL);
			strftime(tbuf, sizeof(tbuf), "%H:%M:%S",
			    localtime(&now));
			if (json)
				printf("{\"time\": %lld", (long long)now);
			else
				printf("%s", tbuf);
			for (i = 0; i < n; i++) {
				if (json)
					printf(", \"%s\": %llu", kv[i].name,
					    kv[i].v);
				else
					printf(" %s=%llu", kv[i].name,
					    kv[i].v);
			}
			printf(json ? "}\n" : "\n");
			fflush(stdout);
			lines++;
		}
		memcpy(last, kv, n * sizeof(kv[0]));
		nlast = n;
		polls++;
		if (count > 0 && lines >= count)
			break;
		(void)nanosleep(&ts, NULL);
	}
	return (0);
}

/* show queue from the spool directory alone. */
static int
offline_queue(const char *dir)
{
	static const enum spool_state states[] = { SPOOL_READY, SPOOL_BUSY,
	    SPOOL_BAD, SPOOL_NEW };
	struct spool_entry	*list;
	struct ctl_qent		*all = NULL, *p;
	size_t			 i, k, n, nall = 0;
	int			 dirfd, first = 1;
	time_t			 now = time(NULL);

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "emailrelayctl: %s: %s\n", dir,
		    strerror(errno));
		return (1);
	}
	for (k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		list = NULL;
		n = 0;
		if (spool_scan(dirfd, states[k], CTL_SCANMAX, &list, &n,
		    NULL) == -1) {
			fprintf(stderr, "emailrelayctl: %s: %s\n", dir,
			    strerror(errno));
			return (1);
		}
		if (n > 0) {
			if ((p = reallocarray(all, nall + n,
			    sizeof(*all))) == NULL) {
				fprintf(stderr, "emailrelayctl: out of "
				    "memory\n");
				return (1);
			}
			all = p;
		}
		for (i = 0; i < n; i++) {
			if (ctl_qent_load(dirfd, list[i].base, states[k],
			    &all[nall]) == -1) {
				if (errno == ENOENT)
					continue;
				fprintf(stderr, "emailrelayctl: warning: "
				    "%s: %s\n", list[i].base, all[nall].from);
			}
			nall++;
		}
		free(list);
	}
	/* Oldest first, as the daemon lists them. */
	for (i = 1; i < nall; i++) {
		struct ctl_qent	 t;

		for (k = i; k > 0 && spool_base_cmp(all[k - 1].id,
		    all[k].id) > 0; k--) {
			t = all[k];
			all[k] = all[k - 1];
			all[k - 1] = t;
		}
	}
	if (json)
		printf("[");
	for (i = 0; i < nall; i++) {
		print_qent(&all[i], "", first, now, 1);
		first = 0;
	}
	if (json)
		printf("]\n");
	else if (nall == 0)
		printf("no messages\n");
	free(all);
	close(dirfd);
	return (0);
}

/* show message from the spool directory alone. */
static int
offline_message(const char *dir, const char *id)
{
	static const enum spool_state states[] = { SPOOL_READY, SPOOL_BUSY,
	    SPOOL_BAD, SPOOL_NEW };
	struct ctl_qent	 e;
	struct stat	 st;
	char		 name[SPOOL_NAME_MAX], *env = NULL;
	size_t		 k, len;
	int		 dirfd;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "emailrelayctl: %s: %s\n", dir,
		    strerror(errno));
		return (1);
	}
	for (k = 0; k < sizeof(states) / sizeof(states[0]); k++)
		if (spool_name(name, sizeof(name), id, states[k]) == 0 &&
		    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			break;
	if (k == sizeof(states) / sizeof(states[0]) ||
	    (ctl_qent_load(dirfd, id, states[k], &e) == -1 &&
	    errno == ENOENT)) {
		fprintf(stderr, "emailrelayctl: no such message\n");
		close(dirfd);
		return (1);
	}
	if (spool_file_load(dirfd, name, ENVELOPE_MAX_SIZE, &env,
	    &len) == -1) {
		fprintf(stderr, "emailrelayctl: %s: %s\n", name,
		    strerror(errno));
		close(dirfd);
		return (1);
	}
	print_qent(&e, "", 1, time(NULL), !json);
	if (json) {
		printf(", \"envelope\": ");
		json_str(env);
		printf("}\n");
	} else
		printf("%s", env);
	free(env);
	close(dirfd);
	return (0);
}

int
main(int argc, char *argv[])
{
	struct msgchan	 ch;
	struct ctl_cmd	 cmd;
	const char	*spool = NULL, *format = NULL, *errstr;
	long long	 count = -1;
	int		 c, fd, r;

	log_init("emailrelayctl");
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "d:jn:o:s:")) != -1) {
		switch (c) {
		case 'd':
			spool = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			count = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "emailrelayctl: -n %s: %s\n",
				    optarg, errstr);
				usage();
			}
			break;
		case 'o':
			if (strcmp(optarg, "openmetrics") != 0) {
				fprintf(stderr, "emailrelayctl: -o %s: only "
				    "openmetrics is known\n", optarg);
				usage();
			}
			format = optarg;
			break;
		case 's':
			sockpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (ctl_cmd_parse(argc, argv, &cmd, &errstr) == -1) {
		fprintf(stderr, "emailrelayctl: %s\n", errstr);
		usage();
	}
	if (format != NULL && cmd.kind != CTL_CMD_SHOW_STATS) {
		fprintf(stderr, "emailrelayctl: -o is for show stats\n");
		usage();
	}
	if (count == -1 && cmd.kind == CTL_CMD_MONITOR && !isatty(1))
		count = CTL_MONITOR_DEFAULT;

	if ((fd = ctl_connect()) == -1) {
		if (spool != NULL && (errno == ENOENT ||
		    errno == ECONNREFUSED)) {
			if (cmd.kind == CTL_CMD_SHOW_QUEUE)
				return (offline_queue(spool));
			if (cmd.kind == CTL_CMD_SHOW_MESSAGE)
				return (offline_message(spool, cmd.arg));
		}
		fprintf(stderr, "emailrelayctl: cannot connect to %s: %s\n",
		    sockpath, strerror(errno));
		return (1);
	}
	msg_init(&ch, fd, "emailrelayctl", "emailrelay");
	switch (cmd.kind) {
	case CTL_CMD_SHOW_QUEUE:
		r = do_show_queue(&ch);
		break;
	case CTL_CMD_SHOW_MESSAGE:
		r = do_show_message(&ch, cmd.arg);
		break;
	case CTL_CMD_SHOW_STATS:
		r = do_stats(&ch, format);
		break;
	case CTL_CMD_MONITOR:
		r = do_monitor(&ch, count);
		break;
	default:
		r = do_simple(&ch, &cmd);
		break;
	}
	fflush(stdout);
	msg_clear(&ch);
	return (r);
}
