/*
 * Outgoing SMTP sessions (see session.h).  Each session owns an io object
 * and an smtpc_proto engine; the engine's ops write command lines and
 * content into the io's output buffer, content is read from the spool
 * descriptor queue handed over in chunks and only while the output is
 * below its low-water mark, and every message outcome goes back to queue
 * as the reply to its MESSAGE_FORWARD.  A session that is idle after a
 * message waits MTA_IDLE_MS for the next one to the same address, then
 * sends QUIT.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "envelope.h"
#include "io.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "proc.h"
#include "mta.h"
#include "session.h"
#include "smtpc_proto.h"

#define MTA_IDLE_MS	2000		/* idle connection kept */
#define MTA_CHUNK	(64 * 1024)	/* content read per chunk */
#define MTA_LOWAT	(16 * 1024)	/* read more content below this */
#define MTA_ADDRMAX	ENVELOPE_FIELD_MAX	/* address as given */
#define MTA_BASEMAX	96		/* spool base name */
#define MTA_REASONMAX	1000		/* reason text sent to queue */

struct mta_session {
	TAILQ_ENTRY(mta_session) entry;
	struct mta_ctx		*ctx;
	uint32_t		 inst;
	char			 addr[MTA_ADDRMAX];
	struct slog		 log;
	struct io		*io;
	struct smtpc_proto	 proto;
	int			 started;	/* engine set up */
	int			 connected;
	int			 closed;	/* ops->close() was called */
	int			 quitting;	/* QUIT asked for */
	int			 response_ms;
	struct event		*ev_prompt;	/* --prompt-timeout */
	struct event		*ev_idle;	/* QUIT when idle */
	struct event		*ev_free;	/* deferred free */

	/* The message in hand (id 0: none). */
	uint64_t		 id;
	int			 fd;		/* content, O_RDONLY */
	char			 base[MTA_BASEMAX];
	char			 from[ENVELOPE_FIELD_MAX];
	char			 auth[ENVELOPE_FIELD_MAX];
	char			**rcpt;
	size_t			 nrcpt;
	struct smtpc_msg	 msg;
	char			*cbuf;
	int			 want;		/* chunk wanted */
};

static struct mta_session *session_find(struct mta_ctx *, uint32_t,
		    const char *);
static struct mta_session *session_new(struct mta_ctx *, uint32_t,
		    const char *);
static int	 session_connect(struct mta_session *, char *, size_t);
static void	 session_start(struct mta_session *);
static void	 session_send(struct mta_session *);
static void	 session_reply(struct mta_session *, uint32_t, int,
		    const char *, const unsigned char *, size_t);
static void	 session_message_clear(struct mta_session *);
static void	 session_feed(struct mta_session *);
static void	 session_close(struct mta_session *);
static void	 session_free(struct mta_session *);
static void	 session_on_io(struct io *, int, void *);
static void	 session_on_prompt(evutil_socket_t, short, void *);
static void	 session_on_idle(evutil_socket_t, short, void *);
static void	 session_on_free(evutil_socket_t, short, void *);
static int	 session_ms(const struct instconf *, enum opt_id);
static void	 session_smtp_conf(const char *, struct smtpc_conf *);
static void	 ops_send(void *, const char *);
static void	 ops_data(void *, const char *, size_t);
static void	 ops_start_tls(void *);
static void	 ops_content_next(void *);
static void	 ops_done(void *, const struct smtpc_result *);
static void	 ops_close(void *, int, const char *);
static void	 ops_log(void *, const char *);

static const struct smtpc_ops session_ops = {
	.send = ops_send,
	.data = ops_data,
	.start_tls = ops_start_tls,
	.request = NULL,
	.content_next = ops_content_next,
	.ready = NULL,
	.done = ops_done,
	.close = ops_close,
	.log = ops_log,
};

/* An option in seconds as milliseconds for io and timers. */
static int
session_ms(const struct instconf *ic, enum opt_id id)
{
	long long	 v = conf_num(ic, id);

	if (v <= 0)
		return (-1);
	if (v > INT_MAX / 1000)
		v = INT_MAX / 1000;
	return ((int)v * 1000);
}

/*
 * --client-smtp-config: a comma list of pipelining, smtputf8strict,
 * eightbitstrict and binarymimestrict, each optionally with '+' (on, the
 * default) or '-' (off); later words win.  Unknown words were refused
 * when the configuration was read.
 */
static void
session_smtp_conf(const char *v, struct smtpc_conf *sc)
{
	const char	*w;
	size_t		 n;
	int		 on;

	if (v == NULL)
		return;
	for (w = v; *w != '\0'; w += n) {
		w += strspn(w, ", \t");
		if ((n = strcspn(w, ",")) == 0)
			break;
		on = 1;
		if (*w == '+' || *w == '-') {
			on = *w == '+';
			w++;
			n--;
		}
		while (n > 0 && (w[n - 1] == ' ' || w[n - 1] == '\t'))
			n--;
#define WORD(x)	(n == sizeof(x) - 1 && strncmp(w, x, n) == 0)
		if (WORD("pipelining"))
			sc->pipelining = on;
		else if (WORD("smtputf8strict"))
			sc->smtputf8strict = on;
		else if (WORD("eightbitstrict"))
			sc->eightbitstrict = on;
		else if (WORD("binarymimestrict"))
			sc->binarymimestrict = on;
#undef WORD
		w += strcspn(w, ",");
		n = 0;
	}
}

/* An idle session of inst connected (or connecting) to addr. */
static struct mta_session *
session_find(struct mta_ctx *ctx, uint32_t inst, const char *addr)
{
	struct mta_session	*s;

	TAILQ_FOREACH(s, &ctx->sessions, entry) {
		if (s->inst == inst && s->id == 0 && !s->closed &&
		    !s->quitting && s->io != NULL && s->started &&
		    !smtpc_proto_closed(&s->proto) &&
		    strcmp(s->addr, addr) == 0)
			return (s);
	}
	return (NULL);
}

void
mta_session_forward(struct mta_ctx *ctx, struct msg *m)
{
	struct mta_session	*s;
	struct stat		 st;
	char			 addr[MTA_ADDRMAX], base[MTA_BASEMAX];
	char			 from[ENVELOPE_FIELD_MAX];
	char			 auth[ENVELOPE_FIELD_MAX];
	char			 err[256];
	uint32_t		 inst, body, utf8;
	int			 fd;

	fd = msg_take_fd(m);
	if (msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, base, sizeof(base)) == -1 ||
	    msg_get_str(m, addr, sizeof(addr)) == -1 ||
	    msg_get_str(m, from, sizeof(from)) == -1 ||
	    msg_get_u32(m, &body) == -1 || msg_get_u32(m, &utf8) == -1 ||
	    msg_get_str(m, auth, sizeof(auth)) == -1 ||
	    msg_get_end(m) == -1 || fd == -1 ||
	    inst >= ctx->boot->conf.ninst || body > SMTPC_BODY_UNKNOWN ||
	    (ctx->nrcpt > 0 && ctx->rcpt_id != m->id) || m->id == 0)
		fatalx("mta: bad %s from queue", msg_type_name(m->type));

	if ((s = session_find(ctx, inst, addr)) != NULL) {
		if (s->ev_idle != NULL)
			evtimer_del(s->ev_idle);
	} else if ((s = session_new(ctx, inst, addr)) == NULL) {
		close(fd);
		mta_rcpt_clear(ctx);
		msg_reply_begin(&ctx->peer[PROC_QUEUE].m,
		    MSG_QUEUE_MESSAGE_FORWARD, m->id, -1);
		msg_put_u32(&ctx->peer[PROC_QUEUE].m, MSG_FWD_CONNECT);
		msg_put_u32(&ctx->peer[PROC_QUEUE].m, 0);
		msg_put_str(&ctx->peer[PROC_QUEUE].m, SMTPC_R_NOMEM);
		msg_put_data(&ctx->peer[PROC_QUEUE].m, "", 0);
		msg_end(&ctx->peer[PROC_QUEUE].m);
		chan_flush(&ctx->peer[PROC_QUEUE]);
		return;
	}

	/* The message in hand; the recipients move over from ctx. */
	s->id = m->id;
	s->fd = fd;
	(void)strlcpy(s->base, base, sizeof(s->base));
	(void)strlcpy(s->from, from, sizeof(s->from));
	(void)strlcpy(s->auth, auth, sizeof(s->auth));
	s->rcpt = ctx->rcpt;
	s->nrcpt = ctx->nrcpt;
	ctx->rcpt = NULL;
	ctx->nrcpt = ctx->rcptsz = 0;
	ctx->rcpt_id = 0;
	(void)strlcpy(s->log.msgid, base, sizeof(s->log.msgid));
	memset(&s->msg, 0, sizeof(s->msg));
	s->msg.from = s->from;
	s->msg.rcpt = (const char *const *)s->rcpt;
	s->msg.nrcpt = s->nrcpt;
	s->msg.body = (int)body;
	s->msg.smtputf8 = utf8 != 0;
	s->msg.size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ?
	    (uint64_t)st.st_size : 0;
	s->msg.auth = s->auth[0] != '\0' ? s->auth : NULL;

	if (s->io == NULL && session_connect(s, err, sizeof(err)) == -1) {
		log_warnx("smtp client error: connect failure: cannot connect "
		    "to %s: %s", s->addr, err);
		session_reply(s, MSG_FWD_CONNECT, 0, err, NULL, 0);
		session_message_clear(s);
		session_free(s);
		return;
	}
	if (s->started)
		session_send(s);
}

static struct mta_session *
session_new(struct mta_ctx *ctx, uint32_t inst, const char *addr)
{
	struct mta_session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("mta: session");
		return (NULL);
	}
	s->ctx = ctx;
	s->inst = inst;
	s->fd = -1;
	(void)strlcpy(s->addr, addr, sizeof(s->addr));
	s->log.unit = ctx->boot->conf.inst[inst].name;
	arc4random_buf(&s->log.sid, sizeof(s->log.sid));
	if ((s->ev_prompt = evtimer_new(ctx->base, session_on_prompt,
	    s)) == NULL || (s->ev_idle = evtimer_new(ctx->base,
	    session_on_idle, s)) == NULL || (s->ev_free = evtimer_new(
	    ctx->base, session_on_free, s)) == NULL) {
		log_warnx("mta: cannot create timers");
		if (s->ev_prompt != NULL)
			event_free(s->ev_prompt);
		if (s->ev_idle != NULL)
			event_free(s->ev_idle);
		free(s);
		return (NULL);
	}
	TAILQ_INSERT_TAIL(&ctx->sessions, s, entry);
	return (s);
}

/*
 * Start connecting to s->addr.  Returns 0, or -1 with the reason in err
 * when the connect failed at once.
 */
static int
session_connect(struct mta_session *s, char *err, size_t errsz)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	struct hostport		 hp;
	const char		*e;
	socklen_t		 len;
	int			 fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (netaddr_parse_hostport(s->addr, 0, &hp, &e) == -1) {
		(void)strlcpy(err, e, errsz);
		return (-1);
	}
	if (hp.is_unix) {
		const char	*path = hp.host;
		size_t		 n = strlen(s->ctx->root);

		/* The path as seen from inside our chroot. */
		if (n > 0 && strcmp(s->ctx->root, PROC_EMPTY_DIR) != 0) {
			if (strncmp(path, s->ctx->root, n) != 0 ||
			    path[n] != '/') {
				(void)strlcpy(err, "socket outside the chroot",
				    errsz);
				return (-1);
			}
			path += n;
		}
		sun->sun_family = AF_UNIX;
		if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
		    sizeof(sun->sun_path)) {
			(void)strlcpy(err, "path too long", errsz);
			return (-1);
		}
		len = sizeof(*sun);
	} else if (inet_pton(AF_INET, hp.host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(hp.port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, hp.host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(hp.port);
		len = sizeof(*sin6);
	} else {
		(void)strlcpy(err, "host names are not supported yet", errsz);
		return (-1);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		(void)strlcpy(err, strerror(errno), errsz);
		return (-1);
	}
	if (ss.ss_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
	if ((s->io = io_new(s->ctx->base, fd, session_on_io, s)) == NULL) {
		close(fd);
		(void)strlcpy(err, strerror(ENOMEM), errsz);
		return (-1);
	}
	io_set_timeout(s->io, session_ms(ic, OPT_CONNECTION_TIMEOUT));
	io_set_lowat(s->io, MTA_LOWAT);
	if (io_connect(s->io, (struct sockaddr *)&ss, len) == -1) {
		(void)strlcpy(err, strerror(errno), errsz);
		io_free(s->io);
		s->io = NULL;
		return (-1);
	}
	s->response_ms = session_ms(ic, OPT_RESPONSE_TIMEOUT);
	slog_info(&s->log, "forwarding to %s", s->addr);
	return (0);
}

/* Connected: set up the engine and wait for the greeting. */
static void
session_start(struct mta_session *s)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	struct smtpc_conf	 sc;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	struct timeval		 tv;
	char			 ip[64];
	int			 ms;

	ip[0] = '\0';
	if (getsockname(io_fileno(s->io), (struct sockaddr *)&ss, &sl) == 0)
		netaddr_ip((struct sockaddr *)&ss, ip, sizeof(ip));
	memset(&sc, 0, sizeof(sc));
	sc.domain = conf_str(ic, OPT_DOMAIN);
	if (sc.domain == NULL || *sc.domain == '\0')
		sc.domain = s->ctx->hostname;
	sc.local_ip = ip[0] != '\0' ? ip : "127.0.0.1";
	sc.forward_to_some = conf_bool(ic, OPT_FORWARD_TO_SOME);
	if (conf_bool(ic, OPT_CLIENT_SMTP_CONFIG))
		session_smtp_conf(conf_str(ic, OPT_CLIENT_SMTP_CONFIG), &sc);
	smtpc_proto_init(&s->proto, &sc, &session_ops, s);
	s->started = 1;
	s->connected = 1;
	io_set_timeout(s->io, s->response_ms);
	if ((ms = session_ms(ic, OPT_PROMPT_TIMEOUT)) > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = 0;
		evtimer_add(s->ev_prompt, &tv);
	}
	if (s->id != 0)
		session_send(s);
	smtpc_proto_start(&s->proto);
}

/* Give the message in hand to the engine. */
static void
session_send(struct mta_session *s)
{
	if (smtpc_proto_message(&s->proto, &s->msg) == -1) {
		/* The connection is going: try a new one next time. */
		session_reply(s, MSG_FWD_SESSION, 0, "connection closed",
		    NULL, 0);
		session_message_clear(s);
	}
}

/* Answer queue for the message in hand. */
static void
session_reply(struct mta_session *s, uint32_t outcome, int code,
    const char *reason, const unsigned char *rejected, size_t n)
{
	struct msgchan	*q = &s->ctx->peer[PROC_QUEUE].m;
	char		 r[MTA_REASONMAX + 1];

	/* A Reason is cut at this length anyway (SPEC 3). */
	(void)strlcpy(r, reason, sizeof(r));
	msg_reply_begin(q, MSG_QUEUE_MESSAGE_FORWARD, s->id, -1);
	msg_put_u32(q, outcome);
	msg_put_u32(q, code > 0 && code < 1000 ? (uint32_t)code : 0);
	msg_put_str(q, r);
	msg_put_data(q, rejected != NULL ? (const void *)rejected : "",
	    rejected != NULL ? n : 0);
	msg_end(q);
	chan_flush(&s->ctx->peer[PROC_QUEUE]);
}

static void
session_message_clear(struct mta_session *s)
{
	size_t	 i;

	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	for (i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	free(s->cbuf);
	s->cbuf = NULL;
	s->want = 0;
	s->id = 0;
	s->base[0] = '\0';
	s->log.msgid[0] = '\0';
}

/* Read and give the next content chunk, if wanted and there is room. */
static void
session_feed(struct mta_session *s)
{
	ssize_t	 n;

	while (s->want && s->id != 0 && s->io != NULL && !s->closed &&
	    io_queued(s->io) <= MTA_LOWAT) {
		if (s->cbuf == NULL && (s->cbuf = malloc(MTA_CHUNK)) == NULL) {
			smtpc_proto_fail(&s->proto, SMTPC_R_NOMEM);
			return;
		}
		if ((n = read(s->fd, s->cbuf, MTA_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			smtpc_proto_fail(&s->proto,
			    "cannot read the message content");
			return;
		}
		s->want = 0;
		/* May ask again from inside: s->want is set once more. */
		smtpc_proto_content(&s->proto, s->cbuf, (size_t)n, n == 0);
	}
}

/* No more use for the connection: free s once the engine returned. */
static void
session_close(struct mta_session *s)
{
	struct timeval	 tv = { 0, 0 };

	s->closed = 1;
	evtimer_add(s->ev_free, &tv);
}

static void
session_free(struct mta_session *s)
{
	if (s->id != 0)
		fatalx("mta: session freed with a message in hand");
	TAILQ_REMOVE(&s->ctx->sessions, s, entry);
	session_message_clear(s);
	if (s->io != NULL)
		io_free(s->io);
	if (s->started)
		smtpc_proto_clear(&s->proto);
	event_free(s->ev_prompt);
	event_free(s->ev_idle);
	event_free(s->ev_free);
	free(s);
}

static void
session_on_free(evutil_socket_t fd, short ev, void *arg)
{
	session_free(arg);
}

static void
session_on_prompt(evutil_socket_t fd, short ev, void *arg)
{
	struct mta_session	*s = arg;

	if (!s->closed)
		smtpc_proto_prompt_timeout(&s->proto);
}

static void
session_on_idle(evutil_socket_t fd, short ev, void *arg)
{
	struct mta_session	*s = arg;

	if (!s->closed && s->id == 0) {
		s->quitting = 1;
		smtpc_proto_quit(&s->proto);
	}
}

static void
session_on_io(struct io *io, int event, void *arg)
{
	struct mta_session	*s = arg;
	struct io_line		 l;
	char			 why[128];

	if (s->closed)
		return;
	if (!s->connected) {
		switch (event) {
		case IO_CONNECTED:
			session_start(s);
			return;
		case IO_TIMEOUT:
			(void)strlcpy(why, "connection timed out",
			    sizeof(why));
			break;
		default:
			(void)strlcpy(why, strerror(io_error(io) != 0 ?
			    io_error(io) : ECONNREFUSED), sizeof(why));
			break;
		}
		log_warnx("smtp client error: connect failure: cannot connect "
		    "to %s: %s", s->addr, why);
		if (s->id != 0) {
			session_reply(s, MSG_FWD_CONNECT, 0, why, NULL, 0);
			session_message_clear(s);
		}
		session_close(s);
		return;
	}
	switch (event) {
	case IO_DATAIN:
		while (!s->closed && io_getline(io, BOUNDS_LINE, &l) == 1) {
			evtimer_del(s->ev_prompt);
			if (l.overlong) {
				io_drop(io, l.size);
				smtpc_proto_overlong(&s->proto);
				break;
			}
			smtpc_proto_line(&s->proto, l.p, l.len);
			if (s->io != NULL)
				io_drop(io, l.size);
		}
		session_feed(s);
		return;
	case IO_LOWAT:
		session_feed(s);
		return;
	case IO_TIMEOUT:
		if (s->id == 0 && !s->quitting) {
			/* Idle with nothing to send: just leave. */
			s->quitting = 1;
			smtpc_proto_quit(&s->proto);
			return;
		}
		smtpc_proto_timeout(&s->proto);
		return;
	case IO_EOF:
		smtpc_proto_fail(&s->proto, "connection closed by the "
		    "server");
		return;
	case IO_ERROR:
		(void)snprintf(why, sizeof(why), "socket error: %s",
		    strerror(io_error(io)));
		smtpc_proto_fail(&s->proto, why);
		return;
	default:
		fatalx("mta: unexpected io event %d", event);
	}
}

/*
 * The engine's ops.
 */

static void
ops_send(void *arg, const char *line)
{
	struct mta_session	*s = arg;

	if (s->io == NULL || s->closed)
		return;
	if (io_print(s->io, line) == -1 || io_write(s->io, "\r\n", 2) == -1)
		smtpc_proto_fail(&s->proto, SMTPC_R_NOMEM);
}

static void
ops_data(void *arg, const char *data, size_t len)
{
	struct mta_session	*s = arg;

	if (s->io == NULL || s->closed)
		return;
	if (io_write(s->io, data, len) == -1)
		smtpc_proto_fail(&s->proto, SMTPC_R_NOMEM);
}

static void
ops_start_tls(void *arg)
{
	struct mta_session	*s = arg;

	/* STARTTLS is never configured without TLS. */
	smtpc_proto_fail(&s->proto, "tls is not available");
}

static void
ops_content_next(void *arg)
{
	struct mta_session	*s = arg;

	s->want = 1;
	session_feed(s);
}

static void
ops_done(void *arg, const struct smtpc_result *res)
{
	struct mta_session	*s = arg;
	struct timeval		 tv;
	uint32_t		 outcome;

	switch (res->status) {
	case SMTPC_DELIVERED:
		outcome = MSG_FWD_DELIVERED;
		break;
	case SMTPC_PARTIAL:
		outcome = MSG_FWD_PARTIAL;
		break;
	case SMTPC_FAILED:
		outcome = MSG_FWD_FAILED;
		break;
	default:
		outcome = MSG_FWD_SESSION;
		break;
	}
	if (s->id == 0)
		fatalx("mta: an outcome without a message");
	session_reply(s, outcome, res->code, res->reason, res->rejected,
	    res->rejected != NULL ? s->nrcpt : 0);
	session_message_clear(s);
	if (!s->closed && !smtpc_proto_closed(&s->proto)) {
		tv.tv_sec = MTA_IDLE_MS / 1000;
		tv.tv_usec = (MTA_IDLE_MS % 1000) * 1000;
		evtimer_add(s->ev_idle, &tv);
	}
}

static void
ops_close(void *arg, int failed, const char *reason)
{
	struct mta_session	*s = arg;
	char			 buf[256];

	if (failed)
		slog_warnx(&s->log, "smtp client error: %s",
		    log_vis(buf, sizeof(buf), reason, strlen(reason)));
	if (s->id != 0) {
		/* The engine reports every message; this is a safeguard. */
		session_reply(s, MSG_FWD_SESSION, 0, reason, NULL, 0);
		session_message_clear(s);
	}
	evtimer_del(s->ev_idle);
	evtimer_del(s->ev_prompt);
	session_close(s);
}

static void
ops_log(void *arg, const char *text)
{
	struct mta_session	*s = arg;

	if (log_enabled(LOGL_VERBOSE))
		slog_verbose(&s->log, "%s", text);
}
