/*
 * POP3 server sessions (see session.h): each accepted connection gets an
 * io object, a protocol engine and a 64-bit id that names it on the
 * lookup channel.  The engine talks through pop_ops: replies go to the
 * io's output buffer; AUTH requests become MSG_POP_AUTH_CHECK frames to
 * lookup (the secrets never come here); LIST, RETR and UPDATE are
 * answered here from the maildrop (maildrop.c).  Message content is read
 * in chunks, each only once the client has taken the previous ones
 * (IO_LOWAT), so a large message never sits in memory.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "io.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "proc.h"
#include "sasl.h"
#include "maildrop.h"
#include "pop.h"
#include "pop_proto.h"
#include "session.h"

#define SESSION_CHUNK		(16 * 1024)	/* content read at a time */
#define SESSION_OUTFILL		(64 * 1024)	/* queued before waiting */
#define SESSION_TRACEMAX	1100		/* one traced line, escaped */
#define SESSION_AUTHDELAY	1		/* seconds before a failed
						   login's -ERR */
#define SESSION_MECHMAX		128

/* s->flags */
#define SF_CLOSING	0x01		/* the engine asked to close */
#define SF_GONE		0x02		/* connection closed, reply due */
#define SF_STARTED	0x04		/* the engine has greeted */
#define SF_STLS		0x08		/* start the STLS handshake */
#define SF_LOCKED	0x10		/* holds its maildrop */
#define SF_AUTHLOGGED	0x20		/* lookup's refusal is logged */

struct pop_session {
	RB_ENTRY(pop_session)	 entry;
	uint64_t		 id;
	struct pop_ctx		*ctx;
	uint32_t		 inst;
	struct io		*io;
	struct pop_proto	 proto;
	struct slog		 log;
	char			 peer[128];	/* ip:port for log lines */
	int			 flags;
	char			 reason[160];	/* for the closed line */
	int			 idle;		/* --idle-timeout seconds */
	uint16_t		 wait;		/* lookup request, or 0 */

	/* SASL mechanisms, before and once TLS is active */
	char			 mechs[SESSION_MECHMAX];
	char			 mechs_tls[SESSION_MECHMAX];

	/* a refused login waits SESSION_AUTHDELAY before its -ERR */
	struct event		*ev_delay;
	int			 delay_status;
	char			 kind[32];	/* secret kind, for the log */
	char			 authmech[SASL_MECHMAX];	/* lower case */
	char			 authid[BOUNDS_DOMAIN + 1];	/* as sent */

	/* the maildrop, once authenticated */
	struct maildrop		 md;
	int			 mdopen;
	char			 user[MAILDROP_USERMAX + 1];	/* lock key */
	int			 fd;		/* message being sent, or -1 */
};

static int	 session_cmp(struct pop_session *, struct pop_session *);
RB_PROTOTYPE_INTERNAL(pop_session_tree, pop_session, entry, session_cmp,
    __attribute__((__unused__)) static)
RB_GENERATE_INTERNAL(pop_session_tree, pop_session, entry, session_cmp,
    __attribute__((__unused__)) static)

static void	 session_on_io(struct io *, int, void *);
static void	 session_on_delay(evutil_socket_t, short, void *);
static void	 session_process(struct pop_session *);
static int	 session_pump(struct pop_session *);
static void	 session_start(struct pop_session *);
static void	 session_stls(struct pop_session *);
static void	 session_close(struct pop_session *, const char *);
static void	 session_release(struct pop_session *);
static void	 session_free(struct pop_session *);
static void	 session_wait(struct pop_session *, uint16_t);
static void	 session_trace_rx(struct pop_session *, const char *, size_t);
static void	 session_reply_check(struct pop_session *, struct msg *);
static void	 session_reply_auth(struct pop_session *, struct msg *);
static void	 session_list(struct pop_session *, const char *);
static int	 session_locked(struct pop_session *, const char *);
static void	 session_retr(struct pop_session *, size_t);
static void	 session_update(struct pop_session *, const size_t *, size_t);
static void	 session_content_done(struct pop_session *);
static void	 ops_send(void *, const char *);
static void	 ops_write(void *, const char *, size_t);
static void	 ops_request(void *, const struct pop_request *);
static void	 ops_start_tls(void *);
static void	 ops_close(void *, const char *);
static void	 ops_auth_failed(void *, const char *, const char *,
		    const char *);

static const struct pop_ops session_ops = {
	.send = ops_send,
	.write = ops_write,
	.request = ops_request,
	.start_tls = ops_start_tls,
	.close = ops_close,
	.auth_failed = ops_auth_failed,
	.now = NULL,
};

static int
session_cmp(struct pop_session *a, struct pop_session *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

int
pop_session_new(struct pop_ctx *ctx, const struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct pop_session	*s;
	const struct instconf	*ic;
	struct msgchan		*lk = &ctx->peer[PROC_LOOKUP].m;
	char			*colon;
	long long		 idle;
	int			 on = 1;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("pop server: session");
		close(fd);
		return (-1);
	}
	s->ctx = ctx;
	s->inst = l->inst;
	s->fd = -1;
	s->md.dirfd = s->md.newfd = s->md.curfd = -1;
	ic = &ctx->boot->conf.inst[s->inst];
	do {
		arc4random_buf(&s->id, sizeof(s->id));
	} while (s->id == 0 || RB_FIND(pop_session_tree, &ctx->sessions,
	    s) != NULL);
	if ((s->ev_delay = evtimer_new(ctx->base, session_on_delay, s)) ==
	    NULL || (s->io = io_new(ctx->base, fd, session_on_io, s)) ==
	    NULL) {
		log_warn("pop server: session");
		if (s->ev_delay != NULL)
			event_free(s->ev_delay);
		close(fd);
		free(s);
		return (-1);
	}
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
	RB_INSERT(pop_session_tree, &ctx->sessions, s);

	s->log.unit = ic->name;
	s->log.sid = s->id;
	netaddr_ip(sa, s->log.addr, sizeof(s->log.addr));
	netaddr_str(sa, s->peer, sizeof(s->peer));
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		if ((colon = strrchr(s->peer, sa->sa_family == AF_INET ?
		    ':' : '.')) != NULL)
			(void)strlcpy(s->log.port, colon + 1,
			    sizeof(s->log.port));
	}
	(void)strlcpy(s->log.net, l->addr, sizeof(s->log.net));
	slog_info(&s->log, "pop connection from %s", s->peer);

	idle = conf_num(ic, OPT_IDLE_TIMEOUT);
	if (idle > INT_MAX / 1000)
		idle = INT_MAX / 1000;
	s->idle = (int)idle;
	io_set_timeout(s->io, s->idle > 0 ? s->idle * 1000 : -1);

	/* Nothing is read before lookup has had its say. */
	msg_begin(lk, MSG_POP_SESSION_CHECK, s->id, -1);
	msg_put_u32(lk, s->inst);
	msg_put_str(lk, s->log.addr);
	msg_end(lk);
	session_wait(s, MSG_POP_SESSION_CHECK);
	return (0);
}

/* A request to lookup is out: no input until its reply. */
static void
session_wait(struct pop_session *s, uint16_t type)
{
	if (s->wait != 0)
		fatalx("pop server: %s while waiting for %s",
		    msg_type_name(type), msg_type_name(s->wait));
	s->wait = type;
	if (s->io != NULL)
		io_pause(s->io, IO_IN);
	chan_flush(&s->ctx->peer[PROC_LOOKUP]);
}

/* The engine's settings, then the greeting. */
static void
session_start(struct pop_session *s)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	struct pop_proto_conf	 pc;

	memset(&pc, 0, sizeof(pc));
	pc.host = conf_str(ic, OPT_DOMAIN);
	if (pc.host == NULL || *pc.host == '\0')
		pc.host = s->ctx->hostname;
	pc.pid = (unsigned long long)getpid();
	pc.auth_mechs = s->mechs;
	pc.auth_mechs_tls = s->mechs_tls;
	pc.tls_available = s->ctx->inst[s->inst].tls != NULL &&
	    conf_bool(ic, OPT_SERVER_TLS);
	pc.tls_active = io_tls_active(s->io);
	pc.tls_required = conf_bool(ic, OPT_SERVER_TLS_REQUIRED);
	pop_proto_init(&s->proto, &pc, &session_ops, s);
	s->flags |= SF_STARTED;
	pop_proto_start(&s->proto);
	io_resume(s->io, IO_IN);
	session_process(s);
	/* s may be freed */
}

/* The engine has said "+OK begin TLS negotiation": start the handshake. */
static void
session_stls(struct pop_session *s)
{
	s->flags &= ~SF_STLS;
	io_drop(s->io, io_datalen(s->io));
	if (io_tls_accept(s->io, s->ctx->inst[s->inst].tls) == -1)
		ops_close(s, "tls error: cannot start the handshake");
}

static void
session_on_io(struct io *io, int event, void *arg)
{
	struct pop_session	*s = arg;
	const char		*te;
	char			 reason[IO_TLS_ERRMAX + 64];
	int			 e;

	switch (event) {
	case IO_TLSREADY:
		slog_verbose(&s->log, "pop tls established: %s %s",
		    io_tls_version(io), io_tls_cipher(io));
		if ((s->flags & SF_STARTED) == 0)
			session_start(s);
		else {
			pop_proto_tls_done(&s->proto);
			session_process(s);
		}
		/* s may be freed */
		return;
	case IO_DATAIN:
		session_process(s);
		/* s may be freed */
		return;
	case IO_LOWAT:
		if (s->flags & SF_STARTED)
			pop_proto_drained(&s->proto);
		session_process(s);
		/* s may be freed */
		return;
	case IO_TIMEOUT:
		(void)snprintf(reason, sizeof(reason),
		    "idle timeout: no activity after %ds", s->idle);
		session_close(s, reason);
		return;
	case IO_EOF:
		session_close(s, "peer disconnected");
		return;
	case IO_ERROR:
		e = io_error(io);
		if ((te = io_tls_error(io)) != NULL) {
			(void)snprintf(reason, sizeof(reason),
			    "tls error: %s", te);
			session_close(s, reason);
		} else if (e == ECONNRESET || e == EPIPE)
			session_close(s, "peer disconnected");
		else {
			(void)snprintf(reason, sizeof(reason),
			    "socket error: %s", strerror(e));
			session_close(s, reason);
		}
		return;
	default:
		fatalx("pop server: unexpected io event %d", event);
	}
}

/*
 * Send message content while the client keeps up: returns 1 when the
 * message is done, 0 when more waits for IO_LOWAT.
 */
static int
session_pump(struct pop_session *s)
{
	char	 buf[SESSION_CHUNK];
	ssize_t	 n;

	while (s->io != NULL && io_queued(s->io) < SESSION_OUTFILL &&
	    (s->flags & SF_CLOSING) == 0) {
		do {
			n = read(s->fd, buf, sizeof(buf));
		} while (n == -1 && errno == EINTR);
		if (n == -1) {
			slog_warnx(&s->log, "pop: cannot read a message: %s",
			    strerror(errno));
			session_content_done(s);
			ops_close(s, "cannot read a message");
			return (1);
		}
		if (n == 0 || pop_proto_content(&s->proto, buf, (size_t)n) ==
		    POP_CONTENT_DONE) {
			session_content_done(s);
			return (1);
		}
	}
	return (s->io == NULL || (s->flags & SF_CLOSING) != 0);
}

/* The message has been sent (or cannot be): its end, its descriptor. */
static void
session_content_done(struct pop_session *s)
{
	pop_proto_content_end(&s->proto);
	if (s->fd != -1) {
		(void)close(s->fd);
		s->fd = -1;
	}
}

/*
 * Feed buffered input to the engine until it waits for a request, a
 * listing or content needs the output to drain, more input is needed,
 * or it closes.  May free s.
 */
static void
session_process(struct pop_session *s)
{
	struct io_line	 l;
	int		 r;

	while (s->io != NULL && (s->flags & (SF_CLOSING | SF_STARTED)) ==
	    SF_STARTED) {
		if (s->fd != -1) {
			if (!session_pump(s))
				break;
			continue;
		}
		if (pop_proto_busy(&s->proto) || s->wait != 0 ||
		    evtimer_pending(s->ev_delay, NULL))
			break;
		if (io_getline(s->io, BOUNDS_LINE, &l) == 0)
			break;
		session_trace_rx(s, l.p, l.term == IO_LINE_NONE ? l.size :
		    l.len);
		r = pop_proto_line(&s->proto, l.p, l.size);
		if (r == POP_PROTO_BUSY)
			break;
		io_drop(s->io, l.size);
		if (r == POP_PROTO_DROP)
			io_drop(s->io, io_datalen(s->io));
		if (s->flags & SF_STLS)
			session_stls(s);
	}
	if (s->io != NULL && (s->flags & SF_CLOSING) &&
	    io_queued(s->io) == 0)
		session_close(s, s->reason);
	/* s may be freed */
}

/* The --verbose trace of a received line; secrets are not. */
static void
session_trace_rx(struct pop_session *s, const char *p, size_t len)
{
	char	 buf[SESSION_TRACEMAX];
	size_t	 n;

	if (!log_enabled(LOGL_VERBOSE))
		return;
	if (pop_proto_sensitive(&s->proto, p, len)) {
		if (pop_proto_state(&s->proto) == POP_ST_SASL) {
			slog_verbose(&s->log, "rx<<: [authentication "
			    "response not logged]");
			return;
		}
		/* "PASS", or "AUTH <mech>" without the initial response */
		for (n = 0; n < len && p[n] != ' '; n++)
			;
		if (n + 1 < len && strncasecmp(p, "AUTH", 4) == 0)
			for (n++; n < len && p[n] != ' '; n++)
				;
		len = n;
	}
	slog_verbose(&s->log, "rx<<: \"%s\"", log_vis(buf, sizeof(buf), p,
	    len));
}

/*
 * End the connection: the one "closed" line, the socket.  The session
 * itself stays until an outstanding reply comes.  May free s.
 */
static void
session_close(struct pop_session *s, const char *reason)
{
	char	 r[sizeof(s->reason)];

	if (s->io != NULL) {
		(void)strlcpy(r, reason, sizeof(r));
		slog_info(&s->log, "pop connection closed: %s: %s", r,
		    s->peer);
		io_free(s->io);
		s->io = NULL;
		session_release(s);
		pop_session_closed(s->ctx);
	}
	if (s->wait != 0) {
		s->flags |= SF_GONE;
		return;
	}
	session_free(s);
}

/* Let go of the message being sent and the maildrop (and its lock). */
static void
session_release(struct pop_session *s)
{
	if (s->fd != -1) {
		(void)close(s->fd);
		s->fd = -1;
	}
	if (s->mdopen) {
		maildrop_close(&s->md);
		s->mdopen = 0;
	}
	s->flags &= ~SF_LOCKED;
}

static void
session_free(struct pop_session *s)
{
	RB_REMOVE(pop_session_tree, &s->ctx->sessions, s);
	session_release(s);
	if (s->flags & SF_STARTED)
		pop_proto_clear(&s->proto);
	event_free(s->ev_delay);
	if (s->io != NULL)
		io_free(s->io);
	freezero(s, sizeof(*s));
}

/* Lookup's verdict on the client: serve it, or drop it silently. */
static void
session_reply_check(struct pop_session *s, struct msg *m)
{
	const struct instconf	*ic;
	char			 trusted[BOUNDS_LINE], mechs[BOUNDS_LINE];
	const char		*cfg;
	uint32_t		 status;

	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_str(m, trusted, sizeof(trusted)) == -1 ||
	    msg_get_str(m, mechs, sizeof(mechs)) == -1 ||
	    msg_get_end(m) == -1 || status > MSG_PERMFAIL)
		fatalx("pop server: bad %s reply from lookup",
		    msg_type_name(m->type));
	if (s->flags & SF_GONE) {
		session_free(s);
		return;
	}
	if (status != MSG_OK) {
		session_close(s, status == MSG_PERMFAIL ?
		    "client rejected" : "cannot check the client");
		return;
	}
	ic = &s->ctx->boot->conf.inst[s->inst];
	cfg = conf_str(ic, OPT_SERVER_AUTH_CONFIG);
	if (sasl_mech_filter(mechs, cfg, 0, s->mechs, sizeof(s->mechs)) == -1)
		s->mechs[0] = '\0';
	if (sasl_mech_filter(mechs, cfg, 1, s->mechs_tls,
	    sizeof(s->mechs_tls)) == -1)
		s->mechs_tls[0] = '\0';
	if (conf_bool(ic, OPT_SERVER_TLS_CONNECTION) &&
	    s->ctx->inst[s->inst].tls != NULL) {
		/* implicit TLS: the greeting follows the handshake */
		io_resume(s->io, IO_IN);
		if (io_tls_accept(s->io, s->ctx->inst[s->inst].tls) == -1)
			session_close(s, "tls error: cannot start the "
			    "handshake");
		return;
	}
	session_start(s);
	/* s may be freed */
}

/*
 * Lookup's verdict on credentials.  A refusal is logged now and answered
 * after SESSION_AUTHDELAY, with no input read meanwhile.
 */
static void
session_reply_auth(struct pop_session *s, struct msg *m)
{
	struct timeval	 tv = { SESSION_AUTHDELAY, 0 };
	const char	*mech = s->authmech;
	char		 id[BOUNDS_LINE];
	uint32_t	 status;

	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_str(m, s->kind, sizeof(s->kind)) == -1 ||
	    msg_get_end(m) == -1 || status > MSG_PERMFAIL)
		fatalx("pop server: bad %s reply from lookup",
		    msg_type_name(m->type));
	if (s->flags & SF_GONE) {
		session_free(s);
		return;
	}
	(void)log_vis(id, sizeof(id), s->authid, strlen(s->authid));
	if (status == MSG_OK) {
		slog_info(&s->log, "successful authentication of remote "
		    "client using mechanism [%s] and %s secret for [%s]",
		    mech, s->kind, id);
		pop_proto_reply(&s->proto, POP_REQ_AUTH, MSG_OK, NULL);
		return;
	}
	if (status == MSG_TEMPFAIL) {
		slog_warnx(&s->log, "failed authentication of remote client "
		    "using mechanism [%s] and %s secret for [%s]: %s", mech,
		    s->kind[0] != '\0' ? s->kind : "no", id, s->peer);
		s->flags |= SF_AUTHLOGGED;
		pop_proto_reply(&s->proto, POP_REQ_AUTH, MSG_TEMPFAIL, NULL);
		return;
	}
	slog_warnx(&s->log, "failed authentication of remote client using "
	    "mechanism [%s] and %s secret for [%s]: %s", mech,
	    s->kind[0] != '\0' ? s->kind : "no", id, s->peer);
	s->flags |= SF_AUTHLOGGED;
	s->delay_status = (int)status;
	if (s->io != NULL)
		io_pause(s->io, IO_IN);
	evtimer_add(s->ev_delay, &tv);
}

static void
session_on_delay(evutil_socket_t fd, short ev, void *arg)
{
	struct pop_session	*s = arg;

	if (s->io == NULL)
		return;
	pop_proto_reply(&s->proto, POP_REQ_AUTH, s->delay_status, NULL);
	if ((s->flags & SF_CLOSING) == 0)
		io_resume(s->io, IO_IN);
	session_process(s);
	/* s may be freed */
}

void
pop_session_dispatch(struct pop_ctx *ctx, struct msg *m)
{
	struct pop_session	 key, *s;
	int			 gone;

	key.id = m->id;
	if ((s = RB_FIND(pop_session_tree, &ctx->sessions, &key)) == NULL ||
	    s->wait != m->type)
		fatalx("pop server: %s reply for %s session %016llx",
		    msg_type_name(m->type), s == NULL ? "unknown" :
		    "a not waiting", (unsigned long long)m->id);
	s->wait = 0;
	gone = (s->flags & SF_GONE) != 0;
	if (m->type == MSG_POP_SESSION_CHECK) {
		session_reply_check(s, m);
		return;		/* s may be freed */
	}
	session_reply_auth(s, m);
	if (gone)
		return;		/* freed */
	if (s->io != NULL && (s->flags & SF_CLOSING) == 0 &&
	    !evtimer_pending(s->ev_delay, NULL))
		io_resume(s->io, IO_IN);
	/* Pipelined input waited in the buffer. */
	session_process(s);
	/* s may be freed */
}

/*
 * Whether another session holds the maildrop of user ("" for the whole
 * spool) in this session's spool directory.
 */
static int
session_locked(struct pop_session *s, const char *user)
{
	struct pop_ctx		*ctx = s->ctx;
	struct pop_session	*o;

	RB_FOREACH(o, pop_session_tree, &ctx->sessions) {
		if (o == s || (o->flags & SF_LOCKED) == 0)
			continue;
		if (ctx->inst[o->inst].dev == ctx->inst[s->inst].dev &&
		    ctx->inst[o->inst].ino == ctx->inst[s->inst].ino &&
		    strcmp(o->user, user) == 0)
			return (1);
	}
	return (0);
}

/* POP_REQ_LIST: lock, open and describe the maildrop of user. */
static void
session_list(struct pop_session *s, const char *user)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	char			 safe[BOUNDS_LINE];
	size_t			 i, n;
	int			 byname = conf_bool(ic, OPT_POP_BY_NAME);

	if (byname && !maildrop_user_valid(user)) {
		slog_warnx(&s->log, "pop: invalid mailbox name [%s]",
		    log_vis(safe, sizeof(safe), user, strlen(user)));
		pop_proto_reply(&s->proto, POP_REQ_LIST, MSG_PERMFAIL,
		    "invalid mailbox name");
		return;
	}
	if (session_locked(s, byname ? user : "")) {
		pop_proto_reply(&s->proto, POP_REQ_LIST, MSG_TEMPFAIL,
		    "maildrop already locked");
		return;
	}
	if (maildrop_open(&s->md, s->ctx->inst[s->inst].spoolfd,
	    byname ? user : NULL) == -1) {
		slog_warnx(&s->log, "pop: cannot open the maildrop of [%s]: "
		    "%s", log_vis(safe, sizeof(safe), user, strlen(user)),
		    strerror(errno));
		pop_proto_reply(&s->proto, POP_REQ_LIST, MSG_TEMPFAIL, NULL);
		return;
	}
	s->mdopen = 1;
	if (maildrop_scan(&s->md, POP_PROTO_MAXMSGS) == -1 ||
	    pop_proto_maildrop(&s->proto, n = maildrop_count(&s->md)) == -1) {
		slog_warnx(&s->log, "pop: cannot list the maildrop of [%s]: "
		    "%s", log_vis(safe, sizeof(safe), user, strlen(user)),
		    strerror(errno));
		session_release(s);
		pop_proto_reply(&s->proto, POP_REQ_LIST, MSG_TEMPFAIL, NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		if (pop_proto_maildrop_entry(&s->proto, i + 1,
		    maildrop_size(&s->md, i), maildrop_uid(&s->md, i)) == -1) {
			slog_warnx(&s->log, "pop: cannot list the maildrop "
			    "of [%s]", log_vis(safe, sizeof(safe), user,
			    strlen(user)));
			session_release(s);
			pop_proto_reply(&s->proto, POP_REQ_LIST, MSG_TEMPFAIL,
			    NULL);
			return;
		}
	}
	(void)strlcpy(s->user, byname ? user : "", sizeof(s->user));
	s->flags |= SF_LOCKED;
	pop_proto_reply(&s->proto, POP_REQ_LIST, MSG_OK, NULL);
}

/* POP_REQ_RETR: open the message; the content follows the "+OK". */
static void
session_retr(struct pop_session *s, size_t msgno)
{
	int	 fd;

	if ((fd = maildrop_open_msg(&s->md, msgno - 1)) == -1) {
		if (errno != ENOENT)
			slog_warnx(&s->log, "pop: cannot open a message: %s",
			    strerror(errno));
		pop_proto_reply(&s->proto, POP_REQ_RETR, errno == ENOENT ?
		    MSG_PERMFAIL : MSG_TEMPFAIL, NULL);
		return;
	}
	s->fd = fd;
	pop_proto_reply(&s->proto, POP_REQ_RETR, MSG_OK, NULL);
	if (log_enabled(LOGL_VERBOSE))
		slog_verbose(&s->log, "tx>>: [message content not logged]");
	/* session_process() sends the content */
}

/* POP_REQ_UPDATE: delete what DELE marked, unless --pop-no-delete. */
static void
session_update(struct pop_session *s, const size_t *deleted, size_t n)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	size_t			 i, failed = 0;
	int			 e = 0;

	if (!conf_bool(ic, OPT_POP_NO_DELETE)) {
		for (i = 0; i < n; i++) {
			if (maildrop_delete(&s->md, deleted[i] - 1) == -1) {
				e = errno;
				failed++;
			}
		}
	}
	if (failed > 0)
		slog_warnx(&s->log, "pop: cannot delete %zu message(s): %s",
		    failed, strerror(e));
	else if (n > 0)
		log_debug("pop: %zu message(s) %s", n,
		    conf_bool(ic, OPT_POP_NO_DELETE) ? "not deleted "
		    "(--pop-no-delete)" : "deleted");
	session_release(s);
	pop_proto_reply(&s->proto, POP_REQ_UPDATE, failed > 0 ?
	    MSG_TEMPFAIL : MSG_OK, NULL);
}

/*
 * The engine's ops.
 */

static void
ops_send(void *arg, const char *line)
{
	struct pop_session	*s = arg;
	char			 buf[SESSION_TRACEMAX];

	if (s->io == NULL)
		return;
	if (log_enabled(LOGL_VERBOSE))
		slog_verbose(&s->log, "tx>>: \"%s\"", log_vis(buf,
		    sizeof(buf), line, strlen(line)));
	if (io_print(s->io, line) == -1 || io_write(s->io, "\r\n", 2) == -1)
		ops_close(s, "cannot queue a reply");
}

static void
ops_write(void *arg, const char *data, size_t len)
{
	struct pop_session	*s = arg;

	if (s->io == NULL)
		return;
	if (io_write(s->io, data, len) == -1)
		ops_close(s, "cannot queue message content");
}

static void
ops_request(void *arg, const struct pop_request *req)
{
	struct pop_session	*s = arg;
	struct msgchan		*lk = &s->ctx->peer[PROC_LOOKUP].m;
	size_t			 i;

	switch (req->kind) {
	case POP_REQ_AUTH:
		s->flags &= ~SF_AUTHLOGGED;
		for (i = 0; req->mech[i] != '\0' &&
		    i < sizeof(s->authmech) - 1; i++)
			s->authmech[i] = (char)tolower(
			    (unsigned char)req->mech[i]);
		s->authmech[i] = '\0';
		(void)strlcpy(s->authid, req->id, sizeof(s->authid));
		msg_begin(lk, MSG_POP_AUTH_CHECK, s->id, -1);
		msg_put_u32(lk, s->inst);
		msg_put_str(lk, req->mech);
		msg_put_str(lk, req->authzid);
		msg_put_str(lk, req->id);
		msg_put_str(lk, req->secret);
		msg_put_str(lk, req->challenge);
		msg_put_str(lk, s->log.addr);
		msg_end(lk);
		session_wait(s, MSG_POP_AUTH_CHECK);
		break;
	case POP_REQ_LIST:
		session_list(s, req->id);
		break;
	case POP_REQ_RETR:
		session_retr(s, req->msgno);
		break;
	case POP_REQ_UPDATE:
		session_update(s, req->deleted, req->ndeleted);
		break;
	default:
		fatalx("pop server: unknown request %d", (int)req->kind);
	}
}

static void
ops_start_tls(void *arg)
{
	struct pop_session	*s = arg;

	/* after the STLS line is consumed: see session_process() */
	s->flags |= SF_STLS;
}

static void
ops_close(void *arg, const char *reason)
{
	struct pop_session	*s = arg;

	if (s->flags & SF_CLOSING)
		return;
	s->flags |= SF_CLOSING;
	(void)strlcpy(s->reason, reason, sizeof(s->reason));
	if (s->io != NULL)
		io_pause(s->io, IO_IN);
}

static void
ops_auth_failed(void *arg, const char *mech, const char *id,
    const char *why)
{
	struct pop_session	*s = arg;
	char			 m[SASL_MECHMAX], safe[BOUNDS_LINE];
	size_t			 i;

	if (s->flags & SF_AUTHLOGGED) {
		/* lookup's refusal, logged when it came */
		s->flags &= ~SF_AUTHLOGGED;
		return;
	}
	for (i = 0; mech[i] != '\0' && i < sizeof(m) - 1; i++)
		m[i] = (char)tolower((unsigned char)mech[i]);
	m[i] = '\0';
	slog_warnx(&s->log, "failed authentication of remote client using "
	    "mechanism [%s] for [%s]: %s (%s)", m, log_vis(safe,
	    sizeof(safe), id, strlen(id)), s->peer, why);
}
