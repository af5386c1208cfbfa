/*
 * Outgoing SMTP sessions (see session.h).  Each session owns an io object
 * and an smtpc_proto engine; the engine's ops write command lines and
 * content into the io's output buffer, content is read from the spool
 * descriptor queue handed over in chunks and only while the output is
 * below its low-water mark, and every message outcome goes back to queue
 * as the reply to its MESSAGE_FORWARD.  Messages for an address that
 * already has a session wait in that session's backlog, so consecutive
 * messages go over one connection without a round trip to queue in
 * between; other addresses get sessions of their own, in parallel.  A
 * session that is idle after a message waits MTA_IDLE_MS for the next
 * one, then sends QUIT.
 *
 * The connection goes to the address, or through a SOCKS 4a proxy
 * ("host:port@proxy:port": the proxy resolves the host name), from
 * --client-interface when given.
 *
 * TLS: with --client-tls-connection the handshake runs right after the
 * connect, before the greeting; STARTTLS is the engine's start_tls op,
 * run once the "220" line is consumed, and whatever the server sent
 * behind that line in the clear is discarded by the io layer, never
 * taken for a reply.  A failed handshake or certificate check is a
 * session failure.  AUTH: a session serves one ClientAccountSelector;
 * the engine's request for the account goes to lookup, and a session
 * is freed only once lookup answered.
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
#include "secrets.h"
#include "mta.h"
#include "session.h"
#include "smtpc_proto.h"

#define MTA_IDLE_MS	2000		/* idle connection kept */
#define MTA_CHUNK	(64 * 1024)	/* content read per chunk */
#define MTA_LOWAT	(16 * 1024)	/* read more content below this */
#define MTA_ADDRMAX	ENVELOPE_FIELD_MAX	/* address as given */
#define MTA_BASEMAX	96		/* spool base name */
#define MTA_REASONMAX	1000		/* reason text sent to queue */
#define MTA_BACKLOG	32		/* messages waiting per session */
#define MTA_SOCKSMAX	(8 + 1 + 256 + 1)	/* SOCKS 4a request */

/* A message from queue. */
struct mta_msg {
	TAILQ_ENTRY(mta_msg)	 entry;
	uint64_t		 id;
	int			 fd;		/* content, O_RDONLY */
	uint32_t		 body;
	uint32_t		 utf8;
	char			 base[MTA_BASEMAX];
	char			 from[ENVELOPE_FIELD_MAX];
	char			 auth[ENVELOPE_FIELD_MAX];
	char			 selector[ENVELOPE_FIELD_MAX];
	char			**rcpt;
	size_t			 nrcpt;
};

TAILQ_HEAD(mta_msg_list, mta_msg);

struct mta_session {
	TAILQ_ENTRY(mta_session) entry;
	struct mta_ctx		*ctx;
	uint32_t		 inst;
	char			 addr[MTA_ADDRMAX];
	char			 selector[ENVELOPE_FIELD_MAX];
	struct slog		 log;
	struct io		*io;
	struct smtpc_proto	 proto;
	int			 started;	/* engine set up */
	int			 connected;
	int			 counted;	/* in ctx->out_started */
	int			 closed;	/* ops->close() was called */
	int			 quitting;	/* QUIT asked for */
	int			 socks;		/* awaiting the proxy's reply */
	int			 implicit;	/* --client-tls-connection */
	int			 greeting;	/* engine started */
	int			 tls_pending;	/* STARTTLS: handshake next */
	int			 handshake;	/* TLS handshake under way */
	uint64_t		 reqid;		/* request to lookup, or 0 */
	int			 resolving;	/* MSG_MTA_RESOLVE asked */
	char			 ip[INET6_ADDRSTRLEN];	/* resolved */
	int			 free_wanted;	/* freed once lookup answered */
	int			 response_ms;
	struct event		*ev_prompt;	/* --prompt-timeout */
	struct event		*ev_idle;	/* QUIT when idle */
	struct event		*ev_free;	/* deferred free */

	/* The message in hand, or NULL; then those waiting. */
	struct mta_msg		*cur;
	struct mta_msg_list	 backlog;
	size_t			 nbacklog;
	struct smtpc_msg	 msg;
	char			*cbuf;
	int			 want;		/* chunk wanted */
};

static struct mta_session *session_find(struct mta_ctx *, uint32_t,
		    const char *, const char *);
static struct mta_session *session_new(struct mta_ctx *, uint32_t,
		    const char *, const char *);
static int	 session_connect(struct mta_session *, char *, size_t);
static int	 session_sockaddr(const char *, unsigned int,
		    struct sockaddr_storage *, socklen_t *);
static int	 session_socks_request(struct mta_session *);
static int	 session_socks_reply(struct mta_session *);
static void	 session_connect_failed(struct mta_session *, const char *);
static void	 session_start(struct mta_session *);
static void	 session_greeting(struct mta_session *);
static void	 session_tls(struct mta_session *);
static void	 session_tls_ready(struct mta_session *);
static void	 session_lines(struct mta_session *);
static void	 session_next(struct mta_session *);
static void	 session_send(struct mta_session *);
static void	 mmsg_reply(struct mta_ctx *, const struct mta_msg *, uint32_t,
		    int, const char *, const unsigned char *, size_t);
static void	 mmsg_free(struct mta_msg *);
static void	 session_reply(struct mta_session *, uint32_t, int,
		    const char *, const unsigned char *, size_t);
static void	 session_release_backlog(struct mta_session *, const char *);
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
static void	 ops_request(void *, enum smtpc_req);
static void	 ops_content_next(void *);
static void	 ops_done(void *, const struct smtpc_result *);
static void	 ops_close(void *, int, const char *);
static void	 ops_log(void *, const char *);

static const struct smtpc_ops session_ops = {
	.send = ops_send,
	.data = ops_data,
	.start_tls = ops_start_tls,
	.request = ops_request,
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

/*
 * A session of inst connected (or connecting) to addr for selector that
 * can take one more message: the least loaded one.
 */
static struct mta_session *
session_find(struct mta_ctx *ctx, uint32_t inst, const char *addr,
    const char *selector)
{
	struct mta_session	*s, *best = NULL;

	TAILQ_FOREACH(s, &ctx->sessions, entry) {
		if (s->inst != inst || s->closed || s->quitting ||
		    (s->io == NULL && !s->resolving) ||
		    s->nbacklog >= MTA_BACKLOG ||
		    (s->started && smtpc_proto_closed(&s->proto)) ||
		    strcmp(s->addr, addr) != 0 ||
		    strcmp(s->selector, selector) != 0)
			continue;
		if (best == NULL || s->nbacklog + (s->cur != NULL) <
		    best->nbacklog + (best->cur != NULL))
			best = s;
	}
	return (best);
}

void
mta_session_forward(struct mta_ctx *ctx, struct msg *m)
{
	struct mta_session	*s;
	struct mta_msg		*mm;
	char			 addr[MTA_ADDRMAX];
	char			 err[256];
	uint32_t		 inst;
	int			 fd;

	if ((mm = calloc(1, sizeof(*mm))) == NULL)
		fatal("mta: message");
	fd = msg_take_fd(m);
	mm->fd = fd;
	mm->id = m->id;
	if (msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, mm->base, sizeof(mm->base)) == -1 ||
	    msg_get_str(m, addr, sizeof(addr)) == -1 ||
	    msg_get_str(m, mm->from, sizeof(mm->from)) == -1 ||
	    msg_get_u32(m, &mm->body) == -1 ||
	    msg_get_u32(m, &mm->utf8) == -1 ||
	    msg_get_str(m, mm->auth, sizeof(mm->auth)) == -1 ||
	    msg_get_str(m, mm->selector, sizeof(mm->selector)) == -1 ||
	    msg_get_end(m) == -1 || fd == -1 ||
	    inst >= ctx->boot->conf.ninst || mm->body > SMTPC_BODY_UNKNOWN ||
	    (ctx->nrcpt > 0 && ctx->rcpt_id != m->id) || m->id == 0)
		fatalx("mta: bad %s from queue", msg_type_name(m->type));
	/* The recipients move over from ctx. */
	mm->rcpt = ctx->rcpt;
	mm->nrcpt = ctx->nrcpt;
	ctx->rcpt = NULL;
	ctx->nrcpt = ctx->rcptsz = 0;
	ctx->rcpt_id = 0;

	if ((s = session_find(ctx, inst, addr, mm->selector)) == NULL &&
	    (s = session_new(ctx, inst, addr, mm->selector)) == NULL) {
		mmsg_reply(ctx, mm, MSG_FWD_CONNECT, 0, SMTPC_R_NOMEM, NULL, 0);
		mmsg_free(mm);
		return;
	}
	TAILQ_INSERT_TAIL(&s->backlog, mm, entry);
	s->nbacklog++;
	if (s->io == NULL && !s->resolving) {
		if (session_connect(s, err, sizeof(err)) == -1) {
			session_connect_failed(s, err);
			session_free(s);
		}
		return;
	}
	if (s->cur == NULL && s->started) {
		evtimer_del(s->ev_idle);
		session_next(s);
	}
}

static struct mta_session *
session_new(struct mta_ctx *ctx, uint32_t inst, const char *addr,
    const char *selector)
{
	struct mta_session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("mta: session");
		return (NULL);
	}
	s->ctx = ctx;
	s->inst = inst;
	TAILQ_INIT(&s->backlog);
	(void)strlcpy(s->addr, addr, sizeof(s->addr));
	(void)strlcpy(s->selector, selector, sizeof(s->selector));
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
 * An IP address and port as a socket address.  Returns 0, or -1 when ip
 * is not an IPv4 or IPv6 address.
 */
static int
session_sockaddr(const char *ip, unsigned int port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return (0);
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return (0);
	}
	return (-1);
}

/*
 * Ask lookup for the address of host (SPEC 5: host names in
 * --forward-to and ForwardToAddress, or of the SOCKS proxy); the
 * connect goes on in mta_session_resolved().
 */
static void
session_resolve(struct mta_session *s, const char *host)
{
	struct mta_ctx	*ctx = s->ctx;
	struct msgchan	*l = &ctx->peer[PROC_LOOKUP].m;

	do {
		s->reqid = ++ctx->reqid;
	} while (s->reqid == 0);
	s->resolving = 1;
	msg_begin(l, MSG_MTA_RESOLVE, s->reqid, -1);
	msg_put_str(l, host);
	msg_end(l);
	chan_flush(&ctx->peer[PROC_LOOKUP]);
}

void
mta_session_resolved(struct mta_ctx *ctx, struct msg *m)
{
	struct mta_session	*s;
	char			 text[200], err[256];
	uint32_t		 status;

	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_str(m, text, sizeof(text)) == -1 ||
	    msg_get_end(m) == -1 ||
	    (status != MSG_OK && status != MSG_TEMPFAIL))
		fatalx("mta: bad %s from lookup", msg_type_name(m->type));
	TAILQ_FOREACH(s, &ctx->sessions, entry)
		if (s->reqid == m->id && s->resolving)
			break;
	if (s == NULL || m->id == 0)
		fatalx("mta: %s from lookup for no request",
		    msg_type_name(m->type));
	s->reqid = 0;
	s->resolving = 0;
	if (s->free_wanted) {
		session_free(s);
		return;
	}
	if (status != MSG_OK)
		(void)snprintf(err, sizeof(err), "cannot resolve host name: "
		    "%s", text);
	else if (strlcpy(s->ip, text, sizeof(s->ip)) >= sizeof(s->ip))
		(void)strlcpy(err, "bad address from the resolver",
		    sizeof(err));
	else if (session_connect(s, err, sizeof(err)) == 0)
		return;
	session_connect_failed(s, err);
	session_free(s);
}

/*
 * Start connecting to s->addr (or its SOCKS proxy), from
 * --client-interface when given; a host name is resolved by lookup
 * first.  Returns 0 (connecting or resolving), or -1 with the reason in
 * err when the connect failed at once.
 */
static int
session_connect(struct mta_session *s, char *err, size_t errsz)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	struct sockaddr_storage	 ss, ls;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	struct hostport		 hp;
	const char		*e, *iface;
	socklen_t		 len, llen = 0;
	int			 fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (netaddr_parse_hostport(s->addr, 1, &hp, &e) == -1) {
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
	} else {
		const char	*host = hp.socks[0] != '\0' ? hp.socks : hp.host;
		unsigned int	 port = hp.socks[0] != '\0' ? hp.socks_port :
				    hp.port;

		if (s->ip[0] != '\0')
			host = s->ip;
		if (session_sockaddr(host, port, &ss, &len) == -1) {
			if (s->ip[0] != '\0') {
				(void)strlcpy(err, "bad address from the "
				    "resolver", errsz);
				return (-1);
			}
			session_resolve(s, host);
			return (0);
		}
		s->socks = hp.socks[0] != '\0';
	}
	iface = conf_bool(ic, OPT_CLIENT_INTERFACE) ?
	    conf_str(ic, OPT_CLIENT_INTERFACE) : NULL;
	if (ss.ss_family == AF_UNIX)
		iface = NULL;
	if (iface != NULL) {
		if (session_sockaddr(iface, 0, &ls, &llen) == -1) {
			(void)strlcpy(err, "bad --client-interface address",
			    errsz);
			return (-1);
		}
		if (ls.ss_family != ss.ss_family) {
			(void)snprintf(err, errsz, "--client-interface %s "
			    "cannot reach an %s address", iface,
			    ss.ss_family == AF_INET ? "IPv4" : "IPv6");
			return (-1);
		}
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		(void)strlcpy(err, strerror(errno), errsz);
		return (-1);
	}
	if (iface != NULL && bind(fd, (struct sockaddr *)&ls, llen) == -1) {
		(void)snprintf(err, errsz, "cannot bind to %s: %s", iface,
		    strerror(errno));
		close(fd);
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
	s->counted = 1;
	s->ctx->out_started++;
	slog_info(&s->log, "forwarding to %s", s->addr);
	return (0);
}

/*
 * Connected to the proxy: ask for the real address (SOCKS 4 for an IPv4
 * address, else 4a with the host name for the proxy to resolve; empty
 * user id).  Returns 0, or -1 when the request cannot be queued.
 */
static int
session_socks_request(struct mta_session *s)
{
	struct hostport		 hp;
	struct in_addr		 in;
	unsigned char		 req[MTA_SOCKSMAX];
	const char		*e;
	size_t			 n, hl;

	if (netaddr_parse_hostport(s->addr, 1, &hp, &e) == -1)
		return (-1);
	req[0] = 4;			/* version */
	req[1] = 1;			/* CONNECT */
	req[2] = (hp.port >> 8) & 0xff;
	req[3] = hp.port & 0xff;
	n = 8;
	if (inet_pton(AF_INET, hp.host, &in) == 1) {
		memcpy(req + 4, &in, 4);
		req[n++] = 0;		/* user id */
	} else {
		/* 0.0.0.1: the host name follows the user id. */
		req[4] = req[5] = req[6] = 0;
		req[7] = 1;
		req[n++] = 0;
		hl = strlen(hp.host);
		if (hl == 0 || n + hl + 1 > sizeof(req))
			return (-1);
		memcpy(req + n, hp.host, hl + 1);
		n += hl + 1;
	}
	return (io_write(s->io, req, n));
}

/*
 * The proxy's 8-byte reply.  Returns 1 when the tunnel is up (the reply
 * consumed), 0 when more input is needed, -1 when the proxy refused.
 */
static int
session_socks_reply(struct mta_session *s)
{
	const unsigned char	*p;

	if (io_datalen(s->io) < 8)
		return (0);
	p = (const unsigned char *)io_data(s->io);
	if (p[0] != 0 || p[1] != 90)
		return (-1);
	io_drop(s->io, 8);
	s->socks = 0;
	return (1);
}

/*
 * No connection: every message of s goes back to ready (queue skips the
 * address for the rest of its pass).  The caller frees or closes s.
 */
static void
session_connect_failed(struct mta_session *s, const char *why)
{
	char	 buf[256];

	log_warnx("smtp client error: connect failure: cannot connect to %s: "
	    "%s", s->addr, log_vis(buf, sizeof(buf), why, strlen(why)));
	if (s->cur != NULL) {
		session_reply(s, MSG_FWD_CONNECT, 0, why, NULL, 0);
		session_message_clear(s);
	}
	session_release_backlog(s, why);
}

/*
 * Connected: set up the engine, then wait for the greeting, or with
 * implicit TLS for the handshake first.
 */
static void
session_start(struct mta_session *s)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	struct smtpc_conf	 sc;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 ip[64];

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
	s->implicit = conf_bool(ic, OPT_CLIENT_TLS_CONNECTION);
	sc.tls = conf_bool(ic, OPT_CLIENT_TLS);
	sc.tls_required = conf_bool(ic, OPT_CLIENT_TLS_REQUIRED);
	sc.tls_active = s->implicit;
	sc.auth = conf_bool(ic, OPT_CLIENT_AUTH);
	sc.auth_config = conf_bool(ic, OPT_CLIENT_AUTH_CONFIG) ?
	    conf_str(ic, OPT_CLIENT_AUTH_CONFIG) : NULL;
	smtpc_proto_init(&s->proto, &sc, &session_ops, s);
	s->started = 1;
	s->connected = 1;
	io_set_timeout(s->io, s->response_ms);
	session_next(s);
	if (s->closed)
		return;
	if (s->implicit)
		session_tls(s);
	else
		session_greeting(s);
}

/* Wait for the greeting, for --prompt-timeout at most. */
static void
session_greeting(struct mta_session *s)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	struct timeval		 tv;
	int			 ms;

	s->greeting = 1;
	if ((ms = session_ms(ic, OPT_PROMPT_TIMEOUT)) > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = 0;
		evtimer_add(s->ev_prompt, &tv);
	}
	smtpc_proto_start(&s->proto);
}

/*
 * Start the client side of the TLS handshake (implicit TLS, or after
 * the "220" to STARTTLS was consumed): SNI from
 * --client-tls-server-name, the name check of --client-tls-verify-name.
 * Unread plaintext input is discarded by io_tls_connect().  A failure
 * is a session failure.
 */
static void
session_tls(struct mta_session *s)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	struct tls_config	*cfg = s->ctx->tls[s->inst];
	const char		*sni = NULL, *name = NULL;
	char			 why[IO_TLS_ERRMAX + 32];
	size_t			 n;

	s->tls_pending = 0;
	if (cfg == NULL) {
		/* TLS is set up for every instance that asks for it */
		smtpc_proto_fail(&s->proto, "tls error: not configured");
		return;
	}
	if ((n = io_datalen(s->io)) > 0)
		slog_warnx(&s->log, "smtp client: discarding %zu octet(s) sent "
		    "in the clear before the tls handshake", n);
	if (conf_bool(ic, OPT_CLIENT_TLS_SERVER_NAME))
		sni = conf_str(ic, OPT_CLIENT_TLS_SERVER_NAME);
	if (conf_bool(ic, OPT_CLIENT_TLS_VERIFY_NAME))
		name = conf_str(ic, OPT_CLIENT_TLS_VERIFY_NAME);
	s->handshake = 1;
	if (io_tls_connect(s->io, cfg, sni, name,
	    s->ctx->tls_chain[s->inst]) == -1) {
		s->handshake = 0;
		(void)snprintf(why, sizeof(why), "tls error: %s",
		    io_tls_error(s->io) != NULL ? io_tls_error(s->io) :
		    strerror(errno));
		smtpc_proto_fail(&s->proto, why);
	}
}

/* The handshake is done: greet (implicit TLS) or tell the engine. */
static void
session_tls_ready(struct mta_session *s)
{
	const char	*version = io_tls_version(s->io);
	const char	*cipher = io_tls_cipher(s->io);

	s->handshake = 0;
	slog_verbose(&s->log, "tls session established with %s: %s %s%s",
	    s->addr, version != NULL ? version : "",
	    cipher != NULL ? cipher : "", io_tls_peer_verified(s->io) ?
	    " (server certificate verified)" : "");
	if (!s->greeting)
		session_greeting(s);
	else
		smtpc_proto_tls_done(&s->proto);
	if (!s->closed && io_datalen(s->io) > 0)
		session_lines(s);
}

/* Take the next waiting message in hand, if any and none is. */
static void
session_next(struct mta_session *s)
{
	struct mta_msg	*mm;

	if (s->cur != NULL || (mm = TAILQ_FIRST(&s->backlog)) == NULL)
		return;
	TAILQ_REMOVE(&s->backlog, mm, entry);
	s->nbacklog--;
	s->cur = mm;
	session_send(s);
}

/* Give the message in hand to the engine. */
static void
session_send(struct mta_session *s)
{
	struct mta_msg	*mm = s->cur;
	struct stat	 st;

	(void)strlcpy(s->log.msgid, mm->base, sizeof(s->log.msgid));
	memset(&s->msg, 0, sizeof(s->msg));
	s->msg.from = mm->from;
	s->msg.rcpt = (const char *const *)mm->rcpt;
	s->msg.nrcpt = mm->nrcpt;
	s->msg.body = (int)mm->body;
	s->msg.smtputf8 = mm->utf8 != 0;
	s->msg.size = fstat(mm->fd, &st) == 0 && S_ISREG(st.st_mode) ?
	    (uint64_t)st.st_size : 0;
	s->msg.auth = mm->auth[0] != '\0' ? mm->auth : NULL;
	if (smtpc_proto_message(&s->proto, &s->msg) == -1) {
		/* The connection is going: nothing was tried. */
		session_reply(s, MSG_FWD_CONNECT, 0, "connection closed",
		    NULL, 0);
		session_message_clear(s);
	}
}

/* Answer queue for message mm. */
static void
mmsg_reply(struct mta_ctx *ctx, const struct mta_msg *mm, uint32_t outcome,
    int code, const char *reason, const unsigned char *rejected, size_t n)
{
	struct msgchan	*q = &ctx->peer[PROC_QUEUE].m;
	char		 r[MTA_REASONMAX + 1];

	/* A Reason is cut at this length anyway (SPEC 3). */
	(void)strlcpy(r, reason, sizeof(r));
	msg_reply_begin(q, MSG_QUEUE_MESSAGE_FORWARD, mm->id, -1);
	msg_put_u32(q, outcome);
	msg_put_u32(q, code > 0 && code < 1000 ? (uint32_t)code : 0);
	msg_put_str(q, r);
	msg_put_data(q, rejected != NULL ? (const void *)rejected : "",
	    rejected != NULL ? n : 0);
	msg_end(q);
	chan_flush(&ctx->peer[PROC_QUEUE]);
}

static void
mmsg_free(struct mta_msg *mm)
{
	size_t	 i;

	if (mm->fd != -1)
		close(mm->fd);
	for (i = 0; i < mm->nrcpt; i++)
		free(mm->rcpt[i]);
	free(mm->rcpt);
	free(mm);
}

/* Answer queue for the message in hand. */
static void
session_reply(struct mta_session *s, uint32_t outcome, int code,
    const char *reason, const unsigned char *rejected, size_t n)
{
	mmsg_reply(s->ctx, s->cur, outcome, code, reason, rejected, n);
}

/*
 * The waiting messages were not tried: back to ready, and queue skips
 * this address for the rest of its pass.
 */
static void
session_release_backlog(struct mta_session *s, const char *why)
{
	struct mta_msg	*mm;

	while ((mm = TAILQ_FIRST(&s->backlog)) != NULL) {
		TAILQ_REMOVE(&s->backlog, mm, entry);
		s->nbacklog--;
		mmsg_reply(s->ctx, mm, MSG_FWD_CONNECT, 0, why, NULL, 0);
		mmsg_free(mm);
	}
}

/* Done with the message in hand. */
static void
session_message_clear(struct mta_session *s)
{
	if (s->cur != NULL)
		mmsg_free(s->cur);
	s->cur = NULL;
	free(s->cbuf);
	s->cbuf = NULL;
	s->want = 0;
	s->log.msgid[0] = '\0';
}

/* Read and give the next content chunk, if wanted and there is room. */
static void
session_feed(struct mta_session *s)
{
	ssize_t	 n;

	while (s->want && s->cur != NULL && s->io != NULL && !s->closed &&
	    io_queued(s->io) <= MTA_LOWAT) {
		if (s->cbuf == NULL && (s->cbuf = malloc(MTA_CHUNK)) == NULL) {
			smtpc_proto_fail(&s->proto, SMTPC_R_NOMEM);
			return;
		}
		if ((n = read(s->cur->fd, s->cbuf, MTA_CHUNK)) == -1) {
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
	if (s->cur != NULL || !TAILQ_EMPTY(&s->backlog))
		fatalx("mta: session freed with a message in hand");
	TAILQ_REMOVE(&s->ctx->sessions, s, entry);
	session_message_clear(s);
	if (s->io != NULL)
		io_free(s->io);
	if (s->counted)
		s->ctx->out_finished++;
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
	struct mta_session	*s = arg;

	if (s->reqid != 0) {
		/* lookup's answer is still to come: free s then */
		s->free_wanted = 1;
		return;
	}
	session_free(s);
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

	if (!s->closed && s->cur == NULL && TAILQ_EMPTY(&s->backlog)) {
		s->quitting = 1;
		smtpc_proto_quit(&s->proto);
	}
}

/* Feed the engine the server's complete lines, then more content. */
static void
session_lines(struct mta_session *s)
{
	struct io_line	 l;

	while (!s->closed && !s->tls_pending && !s->handshake &&
	    io_getline(s->io, BOUNDS_LINE, &l) == 1) {
		evtimer_del(s->ev_prompt);
		if (l.overlong) {
			io_drop(s->io, l.size);
			smtpc_proto_overlong(&s->proto);
			break;
		}
		smtpc_proto_line(&s->proto, l.p, l.len);
		if (!s->closed)
			io_drop(s->io, l.size);
	}
	if (s->tls_pending && !s->closed) {
		/* the "220" to STARTTLS is consumed; the rest is dropped */
		session_tls(s);
		return;
	}
	session_feed(s);
}

static void
session_on_io(struct io *io, int event, void *arg)
{
	struct mta_session	*s = arg;
	char			 why[IO_TLS_ERRMAX + 32];

	if (s->closed)
		return;
	if (!s->connected) {
		switch (event) {
		case IO_CONNECTED:
			if (!s->socks) {
				session_start(s);
				return;
			}
			if (session_socks_request(s) == 0)
				return;
			(void)strlcpy(why, "socks: cannot send the request",
			    sizeof(why));
			break;
		case IO_DATAIN:
			if (!s->socks)
				fatalx("mta: input before the connection");
			switch (session_socks_reply(s)) {
			case 0:
				return;
			case 1:
				session_start(s);
				if (!s->closed && io_datalen(io) > 0)
					session_lines(s);
				return;
			default:
				(void)strlcpy(why, "socks: request rejected by "
				    "the proxy", sizeof(why));
				break;
			}
			break;
		case IO_EOF:
			(void)strlcpy(why, "connection closed", sizeof(why));
			break;
		case IO_TIMEOUT:
			(void)strlcpy(why, "connection timed out",
			    sizeof(why));
			break;
		default:
			(void)strlcpy(why, strerror(io_error(io) != 0 ?
			    io_error(io) : ECONNREFUSED), sizeof(why));
			break;
		}
		session_connect_failed(s, why);
		session_close(s);
		return;
	}
	switch (event) {
	case IO_DATAIN:
		session_lines(s);
		return;
	case IO_TLSREADY:
		session_tls_ready(s);
		return;
	case IO_LOWAT:
		session_feed(s);
		return;
	case IO_TIMEOUT:
		if (s->handshake) {
			smtpc_proto_fail(&s->proto, "tls error: handshake "
			    "timed out");
			return;
		}
		if (s->cur == NULL && TAILQ_EMPTY(&s->backlog) &&
		    !s->quitting) {
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
		if (io_tls_error(io) != NULL)
			(void)snprintf(why, sizeof(why), "tls error: %s",
			    io_tls_error(io));
		else
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

/*
 * The server said 220 to STARTTLS: the handshake starts once
 * session_lines() consumed that line.
 */
static void
ops_start_tls(void *arg)
{
	struct mta_session	*s = arg;

	s->tls_pending = 1;
}

/* The engine wants the client account: ask lookup. */
static void
ops_request(void *arg, enum smtpc_req kind)
{
	struct mta_session	*s = arg;
	struct mta_ctx		*ctx = s->ctx;
	struct msgchan		*l = &ctx->peer[PROC_LOOKUP].m;

	if (kind != SMTPC_REQ_AUTH_SECRET || s->reqid != 0)
		fatalx("mta: unexpected engine request %d", (int)kind);
	do {
		s->reqid = ++ctx->reqid;
	} while (s->reqid == 0);
	msg_begin(l, MSG_MTA_CLIENT_SECRET, s->reqid, -1);
	msg_put_u32(l, s->inst);
	msg_put_str(l, s->selector);
	msg_end(l);
	chan_flush(&ctx->peer[PROC_LOOKUP]);
}

void
mta_session_secret(struct mta_ctx *ctx, struct msg *m)
{
	struct mta_session	*s;
	const char		*idp;
	const void		*secret;
	char			 id[SMTPC_AUTH_IDMAX + 1];
	char			 why[MTA_REASONMAX];
	size_t			 idlen, len;
	uint32_t		 status, kind;

	if (msg_get_u32(m, &status) == -1 || msg_get_u32(m, &kind) == -1 ||
	    msg_get_strp(m, &idp, &idlen) == -1 ||
	    msg_get_data(m, &secret, &len) == -1 || msg_get_end(m) == -1 ||
	    (status != MSG_OK && status != MSG_PERMFAIL &&
	    status != MSG_TEMPFAIL) ||
	    (status == MSG_OK && (kind < SECRET_PLAIN || kind > SECRET_NONE)))
		fatalx("mta: bad %s from lookup", msg_type_name(m->type));
	TAILQ_FOREACH(s, &ctx->sessions, entry)
		if (s->reqid == m->id)
			break;
	if (s == NULL || m->id == 0)
		fatalx("mta: %s from lookup for no request",
		    msg_type_name(m->type));
	s->reqid = 0;
	if (s->closed || smtpc_proto_closed(&s->proto)) {
		/* the connection went meanwhile */
		if (s->free_wanted)
			session_free(s);
	} else if (status == MSG_OK && idlen >= sizeof(id))
		smtpc_proto_fail(&s->proto, SMTPC_E_AUTHLONG);
	else if (status == MSG_OK) {
		memcpy(id, idp, idlen);
		id[idlen] = '\0';
		smtpc_proto_auth_secret(&s->proto, (int)kind, id, secret, len);
		explicit_bzero(id, sizeof(id));
	} else if (status == MSG_PERMFAIL) {
		if (s->selector[0] != '\0')
			(void)snprintf(why, sizeof(why), "%s for selector [%.256s]",
			    SMTPC_E_NOACCOUNT, s->selector);
		else
			(void)strlcpy(why, SMTPC_E_NOACCOUNT, sizeof(why));
		smtpc_proto_fail(&s->proto, why);
	} else
		smtpc_proto_fail(&s->proto, SMTPC_E_NOSECRETS);
	/* The secret is in the channel's input buffer: wipe it there. */
	explicit_bzero((void *)(uintptr_t)secret, len);
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
	if (s->cur == NULL)
		fatalx("mta: an outcome without a message");
	session_reply(s, outcome, res->code, res->reason, res->rejected,
	    res->rejected != NULL ? s->cur->nrcpt : 0);
	session_message_clear(s);
	if (!s->closed && !smtpc_proto_closed(&s->proto))
		session_next(s);
	if (s->cur == NULL && !s->closed &&
	    !smtpc_proto_closed(&s->proto)) {
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
	if (s->cur != NULL) {
		/* The engine reports every message; this is a safeguard. */
		session_reply(s, MSG_FWD_SESSION, 0, reason, NULL, 0);
		session_message_clear(s);
	}
	session_release_backlog(s, reason);
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
