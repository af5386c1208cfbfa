/*
 * SMTP server sessions (see session.h): each accepted connection gets an
 * io object, a protocol engine and a 64-bit id that names it on the
 * queue channel.  The engine talks through smtp_ops: replies go to the
 * io's output buffer, message content is written into the content file
 * queue handed over, and its requests become frames to queue (MAIL, end
 * of DATA) or are answered here (RCPT and VRFY without a verifier).
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

#include "addr.h"
#include "bounds.h"
#include "filter_result.h"
#include "io.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "proc.h"
#include "sasl.h"
#include "session.h"
#include "smtp_proto.h"
#include "smtpd.h"

#define SESSION_CBUF	(64 * 1024)	/* content written in chunks */
#define SESSION_RCPTMAX	(16000)		/* recipient bytes per frame */
#define SESSION_BASEMAX	96		/* spool base name */
#define SESSION_TRACEMAX	1100	/* one traced line, escaped */
#define SESSION_AUTH_DELAY_MS	1000	/* before a failed AUTH's 535 */
#define SESSION_CERTMAX	(8 * 1024)	/* ClientCertificate PEM kept */

/* s->flags */
#define SF_CLOSING	0x01		/* the engine asked to close */
#define SF_GONE		0x02		/* connection closed, reply due */
#define SF_STARTTLS	0x04		/* handshake after this line */
#define SF_STARTED	0x08		/* greeting sent, engine running */

struct session {
	RB_ENTRY(session)	 entry;
	uint64_t		 id;
	struct smtpd_ctx	*ctx;
	uint32_t		 inst;
	struct io		*io;
	struct smtp_proto	 proto;
	struct slog		 log;
	char			 peer[128];	/* ip:port for log lines */
	int			 flags;
	char			 reason[160];	/* for the closed line */
	int			 idle;		/* --idle-timeout seconds */
	uint16_t		 wait;		/* request outstanding, or 0 */
	int			 traced;	/* content line logged */
	uint32_t		 stored;	/* messages committed */
	int			 implicit;	/* --server-tls-connection */
	char			 trusted[64];	/* lookup's session check */
	char			 mechs[128];	/* what the secrets allow */
	char			 mechs_pre[128], mechs_tls[128];
	char			*cert;		/* verified client certificate */
	struct event		*ev_delay;	/* a failed AUTH's reply */
	char			 authmech[SASL_MECHMAX];
	char			 authid[BOUNDS_DOMAIN + 1];

	/* The message in progress. */
	int			 msg;		/* queue holds files for us */
	int			 fd;		/* content file, or -1 */
	char			 base[SESSION_BASEMAX];
	char			*cbuf;		/* content not yet written */
	size_t			 clen;
	int			 cerr;		/* errno of a failed write */
	uint64_t		 csize;		/* content octets written */
	int			 body;		/* ADDR_BODY_* */
	int			 utf8;		/* a mailbox name has UTF-8 */
	char			 from[BOUNDS_PATH + 1];
	char			 authin[BOUNDS_LINE];
	char			*rcpt;		/* "R<addr>\0", "L<mbox>\0" */
	size_t			 rcptlen, rcptsz;
	uint32_t		 nrcpt;

	/* The address being verified (RCPT or VRFY). */
	enum smtp_req		 vkind;
	int			 vutf8;
};

static int	 session_cmp(struct session *, struct session *);
RB_PROTOTYPE_INTERNAL(session_tree, session, entry, session_cmp,
    __attribute__((__unused__)) static)
RB_GENERATE_INTERNAL(session_tree, session, entry, session_cmp,
    __attribute__((__unused__)) static)

static void	 session_on_io(struct io *, int, void *);
static void	 session_process(struct session *);
static void	 session_close(struct session *, const char *);
static void	 session_free(struct session *);
static void	 session_wait(struct session *, uint16_t);
static void	 session_trace_rx(struct session *, const char *, size_t);
static void	 session_rollback(struct session *);
static void	 session_commit(struct session *);
static int	 session_content_flush(struct session *);
static void	 session_message_clear(struct session *);
static int	 session_rcpt_add(struct session *, int, const char *);
static void	 session_verify(struct session *, const struct smtp_request *);
static void	 session_reply_verify(struct session *, struct msg *);
static void	 session_proto_conf(struct session *, struct smtp_proto_conf *);
static void	 session_reply_create(struct session *, struct msg *);
static void	 session_reply_commit(struct session *, struct msg *);
static void	 session_check(struct session *);
static void	 session_reply_check(struct session *, struct msg *);
static void	 session_begin(struct session *);
static void	 session_greet(struct session *);
static void	 session_starttls(struct session *);
static void	 session_tls_ready(struct session *);
static void	 session_auth(struct session *, const struct smtp_request *);
static void	 session_reply_auth(struct session *, struct msg *);
static void	 session_on_auth_delay(evutil_socket_t, short, void *);
static void	 ops_send(void *, const char *);
static void	 ops_request(void *, const struct smtp_request *);
static void	 ops_content(void *, const char *, size_t);
static void	 ops_start_tls(void *);
static void	 ops_close(void *, const char *);
static void	 ops_log(void *, const char *);

static const struct smtp_ops session_ops = {
	.send = ops_send,
	.request = ops_request,
	.content = ops_content,
	.start_tls = ops_start_tls,
	.close = ops_close,
	.log = ops_log,
	.now = NULL,
};

static int
session_cmp(struct session *a, struct session *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

/* --server-smtp-config and --anonymous into the engine's settings. */
static void
session_proto_conf(struct session *s, struct smtp_proto_conf *pc)
{
	const struct instconf	*ic = &s->ctx->boot->conf.inst[s->inst];
	const char		*v, *w;
	size_t			 n;
	int			 on, anon_all;

	memset(pc, 0, sizeof(*pc));
	pc->domain = conf_str(ic, OPT_DOMAIN);
	if (pc->domain == NULL || *pc->domain == '\0')
		pc->domain = s->ctx->hostname;
	pc->version = EMAILRELAY_VERSION;
	pc->client_ip = s->log.addr;
	pc->size_limit = (uint64_t)conf_num(ic, OPT_SIZE);
	pc->pipelining = 1;
	if ((v = conf_str(ic, OPT_SERVER_SMTP_CONFIG)) != NULL) {
		for (w = v; *w != '\0'; w += n) {
			w += strspn(w, ", ");
			if ((n = strcspn(w, ",")) == 0)
				break;
			on = 1;
			if (*w == '+' || *w == '-') {
				on = *w == '+';
				w++;
				n--;
			}
			while (n > 0 && w[n - 1] == ' ')
				n--;
#define WORD(x)	(n == sizeof(x) - 1 && strncmp(w, x, n) == 0)
			if (WORD("pipelining"))
				pc->pipelining = on;
			else if (WORD("chunking"))
				pc->chunking = on;
			else if (WORD("smtputf8"))
				pc->smtputf8 = on;
			else if (WORD("smtputf8strict"))
				pc->smtputf8strict = on;
			else if (WORD("nostrictparsing"))
				pc->nostrictparsing = on;
#undef WORD
			w += strcspn(w, ",");
			n = 0;
		}
	}
	if (conf_bool(ic, OPT_ANONYMOUS)) {
		v = conf_str(ic, OPT_ANONYMOUS);
		anon_all = v == NULL || *v == '\0';
		pc->anon_vrfy = anon_all || strstr(v, "vrfy") != NULL;
		pc->anon_server = anon_all || strstr(v, "server") != NULL;
		pc->anon_content = anon_all || strstr(v, "content") != NULL;
	}
	/* AUTH: what the secrets allow, under --server-auth-config. */
	pc->auth = conf_bool(ic, OPT_SERVER_AUTH);
	v = conf_str(ic, OPT_SERVER_AUTH_CONFIG);
	if (sasl_mech_filter(s->mechs, v, 0, s->mechs_pre,
	    sizeof(s->mechs_pre)) == -1)
		s->mechs_pre[0] = '\0';
	if (sasl_mech_filter(s->mechs, v, 1, s->mechs_tls,
	    sizeof(s->mechs_tls)) == -1)
		s->mechs_tls[0] = '\0';
	pc->auth_mechs = s->mechs_pre;
	pc->auth_mechs_tls = s->mechs_tls;
	/* TLS. */
	pc->tls_available = s->ctx->tls[s->inst] != NULL && !s->implicit &&
	    conf_bool(ic, OPT_SERVER_TLS);
	pc->tls_active = s->implicit;
	pc->tls_cipher = s->implicit ? io_tls_cipher(s->io) : NULL;
	pc->tls_required = conf_bool(ic, OPT_SERVER_TLS_REQUIRED);
}

int
session_new(struct smtpd_ctx *ctx, const struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct session		*s;
	const struct instconf	*ic;
	char			*colon;
	long long		 idle;
	int			 on = 1;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("smtp server: session");
		close(fd);
		return (-1);
	}
	s->ctx = ctx;
	s->inst = l->inst;
	s->fd = -1;
	ic = &ctx->boot->conf.inst[s->inst];
	do {
		arc4random_buf(&s->id, sizeof(s->id));
	} while (s->id == 0 || RB_FIND(session_tree, &ctx->sessions, s) !=
	    NULL);
	if ((s->io = io_new(ctx->base, fd, session_on_io, s)) == NULL) {
		log_warn("smtp server: session");
		close(fd);
		free(s);
		return (-1);
	}
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
	RB_INSERT(session_tree, &ctx->sessions, s);

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
	slog_info(&s->log, "smtp connection from %s", s->peer);

	idle = conf_num(ic, OPT_IDLE_TIMEOUT);
	if (idle > INT_MAX / 1000)
		idle = INT_MAX / 1000;
	s->idle = (int)idle;
	io_set_timeout(s->io, s->idle > 0 ? s->idle * 1000 : -1);
	s->implicit = conf_bool(ic, OPT_SERVER_TLS_CONNECTION) &&
	    ctx->tls[s->inst] != NULL;
	/* Secrets (trusted address, mechanisms) and DNSBL: ask lookup. */
	if (conf_bool(ic, OPT_SERVER_AUTH) || conf_bool(ic, OPT_DNSBL))
		session_check(s);
	else
		session_begin(s);
	return (0);
}

/* Ask lookup about the client before the greeting. */
static void
session_check(struct session *s)
{
	struct msgchan	*l = &s->ctx->peer[PROC_LOOKUP].m;

	msg_begin(l, MSG_SMTPD_SESSION_CHECK, s->id, -1);
	msg_put_u32(l, s->inst);
	msg_put_str(l, s->log.addr);
	msg_end(l);
	session_wait(s, MSG_SMTPD_SESSION_CHECK);
}

static void
session_reply_check(struct session *s, struct msg *m)
{
	uint32_t	 status;

	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_str(m, s->trusted, sizeof(s->trusted)) == -1 ||
	    msg_get_str(m, s->mechs, sizeof(s->mechs)) == -1 ||
	    msg_get_end(m) == -1)
		fatalx("smtp server: bad %s reply from lookup",
		    msg_type_name(m->type));
	if (s->flags & SF_GONE) {
		session_free(s);
		return;
	}
	if (status != MSG_OK) {
		/* Dropped without a reply; what it sent is never read. */
		if (s->io != NULL)
			io_drop(s->io, io_datalen(s->io));
		/* Closed by session_process(), after this returns. */
		ops_close(s, "client address blocked");
		return;
	}
	session_begin(s);
}

/* Implicit TLS first, else the greeting at once. */
static void
session_begin(struct session *s)
{
	if (!s->implicit) {
		session_greet(s);
		return;
	}
	if (io_tls_accept(s->io, s->ctx->tls[s->inst]) == -1) {
		slog_warnx(&s->log, "tls error: %s", io_tls_error(s->io) !=
		    NULL ? io_tls_error(s->io) : strerror(errno));
		ops_close(s, "tls error");
		return;
	}
}

static void
session_greet(struct session *s)
{
	struct smtp_proto_conf	 pc;

	session_proto_conf(s, &pc);
	smtp_proto_init(&s->proto, &pc, &session_ops, s);
	if (s->trusted[0] != '\0')
		smtp_proto_set_trusted(&s->proto, s->trusted);
	s->flags |= SF_STARTED;
	smtp_proto_start(&s->proto);
}

/* The STARTTLS line is consumed: hand the socket to TLS. */
static void
session_starttls(struct session *s)
{
	if (io_tls_accept(s->io, s->ctx->tls[s->inst]) == -1) {
		slog_warnx(&s->log, "tls error: %s", io_tls_error(s->io) !=
		    NULL ? io_tls_error(s->io) : strerror(errno));
		ops_close(s, "tls error");
	}
}

/* The handshake is done: greet (implicit TLS) or tell the engine. */
static void
session_tls_ready(struct session *s)
{
	const char	*pem, *cipher = io_tls_cipher(s->io);
	size_t		 len;

	slog_verbose(&s->log, "tls session established: %s %s",
	    io_tls_version(s->io) != NULL ? io_tls_version(s->io) : "",
	    cipher != NULL ? cipher : "");
	free(s->cert);
	s->cert = NULL;
	if (io_tls_peer_verified(s->io) &&
	    (pem = io_tls_peer_cert_pem(s->io, &len)) != NULL &&
	    len < SESSION_CERTMAX && (s->cert = strndup(pem, len)) == NULL)
		slog_warnx(&s->log, "cannot keep the client certificate");
	if ((s->flags & SF_STARTED) == 0)
		session_greet(s);
	else
		smtp_proto_tls_done(&s->proto, cipher != NULL ? cipher : "");
	session_process(s);
	/* s may be freed */
}

static void
session_on_io(struct io *io, int event, void *arg)
{
	struct session	*s = arg;
	char		 reason[128];
	int		 e;

	switch (event) {
	case IO_DATAIN:
		session_process(s);
		/* s may be freed */
		return;
	case IO_TLSREADY:
		session_tls_ready(s);
		/* s may be freed */
		return;
	case IO_LOWAT:
		if ((s->flags & SF_CLOSING) && io_queued(io) == 0)
			session_close(s, s->reason);
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
		if (e == ECONNRESET || e == EPIPE)
			session_close(s, "peer disconnected");
		else if (io_tls_error(io) != NULL) {
			(void)snprintf(reason, sizeof(reason),
			    "tls error: %s", io_tls_error(io));
			session_close(s, reason);
		} else {
			(void)snprintf(reason, sizeof(reason),
			    "socket error: %s", strerror(e));
			session_close(s, reason);
		}
		return;
	default:
		fatalx("smtp server: unexpected io event %d", event);
	}
}

/*
 * Feed buffered input to the engine until it waits for a request, needs
 * more input, or closes.  May free s.
 */
static void
session_process(struct session *s)
{
	struct io_line	 l;
	uint64_t	 left;
	size_t		 n, max;
	int		 r;

	while (s->io != NULL && (s->flags & SF_CLOSING) == 0 &&
	    (s->flags & SF_STARTED) && !smtp_proto_busy(&s->proto)) {
		if ((left = smtp_proto_chunk_left(&s->proto)) > 0) {
			if ((n = io_datalen(s->io)) == 0)
				break;
			if ((uint64_t)n > left)
				n = (size_t)left;
			n = smtp_proto_chunk(&s->proto, io_data(s->io), n);
			io_drop(s->io, n);
			continue;
		}
		max = smtp_proto_in_content(&s->proto) ? IO_IN_DEFAULT :
		    BOUNDS_LINE;
		if (io_getline(s->io, max, &l) == 0)
			break;
		session_trace_rx(s, l.p, l.term == IO_LINE_NONE ? l.size :
		    l.len);
		r = smtp_proto_line(&s->proto, l.p, l.size);
		if (r == SMTP_PROTO_BUSY)
			break;
		io_drop(s->io, l.size);
		if (r == SMTP_PROTO_DROP)
			io_drop(s->io, io_datalen(s->io));
		if (s->flags & SF_STARTTLS) {
			s->flags &= ~SF_STARTTLS;
			session_starttls(s);
			break;
		}
	}
	if (s->io != NULL && (s->flags & SF_CLOSING) &&
	    io_queued(s->io) == 0)
		session_close(s, s->reason);
	/* s may be freed */
}

/* The --verbose trace of a received line; content and secrets are not. */
static void
session_trace_rx(struct session *s, const char *p, size_t len)
{
	char	 buf[SESSION_TRACEMAX];
	size_t	 n;

	if (!log_enabled(LOGL_VERBOSE))
		return;
	if (smtp_proto_in_content(&s->proto)) {
		if (!s->traced)
			slog_verbose(&s->log,
			    "rx<<: [message content not logged]");
		s->traced = 1;
		return;
	}
	s->traced = 0;
	if (s->proto.state == SMTP_ST_SASL) {
		slog_verbose(&s->log, "rx<<: [authentication response not "
		    "logged]");
		return;
	}
	/* "AUTH <mech> <initial response>": the response stays out. */
	if (len > 5 && strncasecmp(p, "AUTH ", 5) == 0) {
		for (n = 5; n < len && p[n] != ' '; n++)
			;
		len = n;
	}
	slog_verbose(&s->log, "rx<<: \"%s\"", log_vis(buf, sizeof(buf), p,
	    len));
}

/*
 * End the connection: the one "closed" line, the socket, a message in
 * progress.  The session itself stays until an outstanding reply comes.
 * May free s.
 */
static void
session_close(struct session *s, const char *reason)
{
	char	 r[sizeof(s->reason)];

	if (s->io != NULL) {
		(void)strlcpy(r, reason, sizeof(r));
		slog_info(&s->log, "smtp connection closed: %s: %s", r,
		    s->peer);
		io_free(s->io);
		s->io = NULL;
		smtpd_session_closed(s->ctx);
	}
	if (s->wait != 0) {
		s->flags |= SF_GONE;
		return;
	}
	session_rollback(s);
	session_free(s);
}

static void
session_free(struct session *s)
{
	struct msgchan	*q = &s->ctx->peer[PROC_QUEUE].m;

	/* For --forward-on-disconnect. */
	if (s->stored > 0) {
		msg_begin(q, MSG_SMTPD_SESSION_END_NOTIFY, s->id, -1);
		msg_put_u32(q, s->inst);
		msg_put_u32(q, s->stored);
		msg_end(q);
		chan_flush(&s->ctx->peer[PROC_QUEUE]);
	}
	RB_REMOVE(session_tree, &s->ctx->sessions, s);
	session_message_clear(s);
	smtp_proto_clear(&s->proto);
	if (s->ev_delay != NULL)
		event_free(s->ev_delay);
	free(s->cert);
	if (s->io != NULL)
		io_free(s->io);
	free(s);
}

/* A request to queue is out: no input until its reply. */
static void
session_wait(struct session *s, uint16_t type)
{
	if (s->wait != 0)
		fatalx("smtp server: %s while waiting for %s",
		    msg_type_name(type), msg_type_name(s->wait));
	s->wait = type;
	if (s->io != NULL)
		io_pause(s->io, IO_IN);
	chan_flush(&s->ctx->peer[type == MSG_SMTPD_MESSAGE_CREATE ||
	    type == MSG_SMTPD_MESSAGE_COMMIT ? PROC_QUEUE : PROC_LOOKUP]);
}

/* Forget the message: descriptors, buffers, recipients. */
static void
session_message_clear(struct session *s)
{
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	s->msg = 0;
	s->base[0] = '\0';
	free(s->cbuf);
	s->cbuf = NULL;
	s->clen = 0;
	s->cerr = 0;
	s->csize = 0;
	s->body = ADDR_BODY_NONE;
	s->utf8 = 0;
	s->from[0] = '\0';
	s->authin[0] = '\0';
	free(s->rcpt);
	s->rcpt = NULL;
	s->rcptlen = s->rcptsz = 0;
	s->nrcpt = 0;
}

/* Tell queue to drop the message in progress, if there is one. */
static void
session_rollback(struct session *s)
{
	struct msgchan	*q = &s->ctx->peer[PROC_QUEUE].m;

	if (s->msg) {
		msg_begin(q, MSG_SMTPD_MESSAGE_ROLLBACK_NOTIFY, s->id, -1);
		msg_end(q);
		chan_flush(&s->ctx->peer[PROC_QUEUE]);
	}
	session_message_clear(s);
}

/* Write the buffered content.  Returns 0, or -1 with s->cerr set. */
static int
session_content_flush(struct session *s)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (s->cerr == 0 && off < s->clen) {
		if ((n = write(s->fd, s->cbuf + off, s->clen - off)) == -1) {
			if (errno == EINTR)
				continue;
			s->cerr = errno;
			break;
		}
		off += (size_t)n;
		s->csize += (uint64_t)n;
	}
	s->clen = 0;
	return (s->cerr == 0 ? 0 : -1);
}

/*
 * Append a recipient for the RCPT frames: kind 'R' for To-Remote, 'L'
 * for To-Local.
 */
static int
session_rcpt_add(struct session *s, int kind, const char *addr)
{
	char	*p;
	size_t	 n = strlen(addr) + 2, sz;

	if (n > SESSION_RCPTMAX) {
		errno = EINVAL;
		return (-1);
	}
	if (s->rcptsz - s->rcptlen < n) {
		sz = s->rcptsz == 0 ? 1024 : s->rcptsz * 2;
		while (sz - s->rcptlen < n)
			sz *= 2;
		if ((p = realloc(s->rcpt, sz)) == NULL)
			return (-1);
		s->rcpt = p;
		s->rcptsz = sz;
	}
	s->rcpt[s->rcptlen] = (char)kind;
	memcpy(s->rcpt + s->rcptlen + 1, addr, n - 1);
	s->rcptlen += n;
	s->nrcpt++;
	return (0);
}

/*
 * The end of DATA: the content goes to disk, the envelope fields and the
 * recipients to queue, then the commit request.
 */
static void
session_commit(struct session *s)
{
	struct msgchan	*q = &s->ctx->peer[PROC_QUEUE].m;
	size_t		 off, end, next;
	uint32_t	 cnt;
	const char	*id;

	(void)session_content_flush(s);
	if (close(s->fd) == -1 && s->cerr == 0)
		s->cerr = errno;
	s->fd = -1;
	if (s->cerr != 0) {
		slog_warnx(&s->log, "cannot write message content: %s",
		    strerror(s->cerr));
		session_rollback(s);
		smtp_proto_reply(&s->proto, SMTP_REQ_DATA_END, MSG_TEMPFAIL,
		    "452 cannot store message content");
		return;
	}

	id = smtp_proto_auth_id(&s->proto);
	msg_begin(q, MSG_SMTPD_MESSAGE_ENVELOPE_NOTIFY, s->id, -1);
	msg_put_u32(q, (uint32_t)s->body);
	msg_put_u32(q, (uint32_t)s->utf8);
	msg_put_str(q, s->from);
	msg_put_str(q, s->log.addr);
	/* SASL id, or a trusted client's keyword (SPEC 7). */
	msg_put_str(q, id != NULL ? id : s->proto.trusted);
	msg_put_str(q, s->authin);
	msg_put_str(q, s->cert != NULL ? s->cert : "");
	msg_end(q);
	for (off = 0; off < s->rcptlen; off = end) {
		/* Whole entries, up to SESSION_RCPTMAX bytes a frame. */
		for (end = off, cnt = 0; end < s->rcptlen; end = next, cnt++) {
			next = end + strlen(s->rcpt + end) + 1;
			if (next - off > SESSION_RCPTMAX)
				break;
		}
		msg_begin(q, MSG_SMTPD_MESSAGE_RCPT_NOTIFY, s->id, -1);
		msg_put_u32(q, cnt);
		msg_put_data(q, s->rcpt + off, end - off);
		msg_end(q);
	}
	msg_begin(q, MSG_SMTPD_MESSAGE_COMMIT, s->id, -1);
	msg_put_u64(q, s->csize);
	msg_end(q);
	session_wait(s, MSG_SMTPD_MESSAGE_COMMIT);
}

/* The reply to MESSAGE_CREATE. */
static void
session_reply_create(struct session *s, struct msg *m)
{
	char		 reason[512], base[SESSION_BASEMAX];
	uint32_t	 status;
	int		 fd;

	fd = msg_take_fd(m);
	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_str(m, reason, sizeof(reason)) == -1 ||
	    msg_get_str(m, base, sizeof(base)) == -1 ||
	    msg_get_end(m) == -1 || (status == MSG_OK) != (fd != -1))
		fatalx("smtp server: bad %s reply from queue",
		    msg_type_name(m->type));
	if (status == MSG_OK) {
		s->msg = 1;
		s->fd = fd;
		(void)strlcpy(s->base, base, sizeof(s->base));
	}
	if (s->flags & SF_GONE) {
		session_rollback(s);
		session_free(s);
		return;
	}
	if (status == MSG_OK)
		smtp_proto_reply(&s->proto, SMTP_REQ_MAIL, MSG_OK, NULL);
	else {
		session_message_clear(s);
		smtp_proto_reply(&s->proto, SMTP_REQ_MAIL, (int)status, reason);
	}
}

/* The reply to MESSAGE_COMMIT: the files are stored or gone. */
static void
session_reply_commit(struct session *s, struct msg *m)
{
	char		 text[512];
	uint32_t	 status;

	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_str(m, text, sizeof(text)) == -1 ||
	    msg_get_end(m) == -1)
		fatalx("smtp server: bad %s reply from queue",
		    msg_type_name(m->type));
	/* Either way queue is done with the message. */
	if (status == MSG_OK) {
		s->stored++;
		s->ctx->msgs_accepted++;
		s->ctx->bytes_in += s->csize;
	} else
		s->ctx->msgs_rejected++;
	s->msg = 0;
	session_message_clear(s);
	if (s->flags & SF_GONE) {
		session_free(s);
		return;
	}
	smtp_proto_reply(&s->proto, SMTP_REQ_DATA_END, (int)status, text);
}

/*
 * Ask lookup's address verifier about a RCPT or VRFY address (SPEC 6.5),
 * with the client's authentication as the engine knows it.
 */
static void
session_verify(struct session *s, const struct smtp_request *req)
{
	struct msgchan	*l = &s->ctx->peer[PROC_LOOKUP].m;
	const char	*id = smtp_proto_auth_id(&s->proto);
	const char	*am = smtp_proto_auth_mech(&s->proto);
	char		 mech[32];
	size_t		 i;

	(void)strlcpy(mech, am != NULL ? am : "none", sizeof(mech));
	for (i = 0; mech[i] != '\0'; i++)
		mech[i] = (char)tolower((unsigned char)mech[i]);
	s->vkind = req->kind;
	s->vutf8 = req->utf8;
	msg_begin(l, MSG_SMTPD_RCPT_VERIFY, s->id, -1);
	msg_put_u32(l, s->inst);
	msg_put_str(l, req->addr);
	msg_put_str(l, req->kind == SMTP_REQ_RCPT ? s->from : "");
	msg_put_str(l, s->peer);
	msg_put_str(l, s->proto.domain);
	msg_put_str(l, mech);
	/* The trust keyword of a trusted client, SPEC 6.5. */
	msg_put_str(l, id != NULL ? id : s->proto.trusted);
	msg_end(l);
	session_wait(s, MSG_SMTPD_RCPT_VERIFY);
}

/*
 * The verifier's answer: local and remote recipients join the message
 * (To-Local with the mailbox, To-Remote with the possibly rewritten
 * address); VRFY gets the full name or the address.
 */
static void
session_reply_verify(struct session *s, struct msg *m)
{
	char		 fullname[FILTER_TEXT_MAX + 1];
	char		 mailbox[FILTER_TEXT_MAX + 1];
	char		 text[FILTER_TEXT_MAX + 1];
	uint32_t	 status, result;
	int		 st;

	if (msg_get_u32(m, &status) == -1 || msg_get_u32(m, &result) == -1 ||
	    msg_get_str(m, fullname, sizeof(fullname)) == -1 ||
	    msg_get_str(m, mailbox, sizeof(mailbox)) == -1 ||
	    msg_get_str(m, text, sizeof(text)) == -1 ||
	    msg_get_end(m) == -1 || status != MSG_OK ||
	    result > VERIFY_ABORT)
		fatalx("smtp server: bad %s reply from lookup",
		    msg_type_name(m->type));
	if (s->flags & SF_GONE) {
		session_free(s);
		return;
	}
	switch (result) {
	case VERIFY_LOCAL:
		st = SMTP_STATUS_LOCAL;
		break;
	case VERIFY_REMOTE:
		st = MSG_OK;
		break;
	case VERIFY_TEMP:
		st = MSG_TEMPFAIL;
		break;
	case VERIFY_ABORT:
		st = SMTP_STATUS_ABORT;
		break;
	default:
		st = MSG_PERMFAIL;
		break;
	}
	if (s->vkind == SMTP_REQ_VRFY) {
		smtp_proto_reply(&s->proto, SMTP_REQ_VRFY, st,
		    st == SMTP_STATUS_LOCAL ? fullname : st == MSG_OK ?
		    mailbox : text);
		return;
	}
	if ((st == SMTP_STATUS_LOCAL || st == MSG_OK) &&
	    session_rcpt_add(s, st == MSG_OK ? 'R' : 'L', mailbox) == -1) {
		smtp_proto_reply(&s->proto, SMTP_REQ_RCPT, MSG_TEMPFAIL,
		    "452 cannot accept more recipients");
		return;
	}
	if ((st == SMTP_STATUS_LOCAL || st == MSG_OK) && s->vutf8)
		s->utf8 = 1;
	smtp_proto_reply(&s->proto, SMTP_REQ_RCPT, st,
	    st == MSG_TEMPFAIL || st == MSG_PERMFAIL ? text : NULL);
}

void
session_dispatch(struct smtpd_ctx *ctx, struct msg *m)
{
	struct session	 key, *s;
	int		 fd, gone;

	key.id = m->id;
	if ((s = RB_FIND(session_tree, &ctx->sessions, &key)) == NULL ||
	    s->wait != m->type) {
		if ((fd = msg_take_fd(m)) != -1)
			close(fd);
		fatalx("smtp server: %s reply for %s session %016llx",
		    msg_type_name(m->type), s == NULL ? "unknown" :
		    "a not waiting", (unsigned long long)m->id);
	}
	s->wait = 0;
	gone = (s->flags & SF_GONE) != 0;
	if (m->type == MSG_SMTPD_MESSAGE_CREATE)
		session_reply_create(s, m);
	else if (m->type == MSG_SMTPD_RCPT_VERIFY)
		session_reply_verify(s, m);
	else if (m->type == MSG_SMTPD_SESSION_CHECK)
		session_reply_check(s, m);
	else if (m->type == MSG_SMTPD_AUTH_CHECK)
		session_reply_auth(s, m);
	else
		session_reply_commit(s, m);
	if (gone)
		return;		/* freed */
	if (s->io != NULL && (s->flags & SF_CLOSING) == 0)
		io_resume(s->io, IO_IN);
	/* Pipelined input waited in the buffer. */
	session_process(s);
	/* s may be freed */
}

/*
 * Credentials go to lookup, which alone reads the secrets (SPEC 7).
 */
static void
session_auth(struct session *s, const struct smtp_request *req)
{
	struct msgchan	*l = &s->ctx->peer[PROC_LOOKUP].m;

	(void)strlcpy(s->authmech, req->mech, sizeof(s->authmech));
	(void)strlcpy(s->authid, req->id, sizeof(s->authid));
	msg_begin(l, MSG_SMTPD_AUTH_CHECK, s->id, -1);
	msg_put_u32(l, s->inst);
	msg_put_str(l, req->mech);
	msg_put_str(l, req->authzid != NULL ? req->authzid : "");
	msg_put_str(l, req->id);
	msg_put_str(l, req->secret);
	msg_put_str(l, req->challenge != NULL ? req->challenge : "");
	msg_put_str(l, s->log.addr);
	msg_end(l);
	session_wait(s, MSG_SMTPD_AUTH_CHECK);
}

/*
 * lookup's verdict.  A failure is logged with the client's address for
 * fail2ban and answered only after a delay, which a timer applies so
 * that nothing else waits.
 */
static void
session_reply_auth(struct session *s, struct msg *m)
{
	struct timeval	 tv;
	char		 kind[16], mech[SASL_MECHMAX], id[SESSION_TRACEMAX];
	uint32_t	 status;
	size_t		 i;

	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_str(m, kind, sizeof(kind)) == -1 ||
	    msg_get_end(m) == -1 || status > MSG_PERMFAIL)
		fatalx("smtp server: bad %s reply from lookup",
		    msg_type_name(m->type));
	if (s->flags & SF_GONE) {
		session_free(s);
		return;
	}
	for (i = 0; i < sizeof(mech) - 1 && s->authmech[i] != '\0'; i++)
		mech[i] = (char)tolower((unsigned char)s->authmech[i]);
	mech[i] = '\0';
	(void)log_vis(id, sizeof(id), s->authid, strlen(s->authid));
	if (status == MSG_OK) {
		slog_info(&s->log, "successful authentication of remote "
		    "client using mechanism [%s] and %s secret for [%s]",
		    mech, kind, id);
		smtp_proto_reply(&s->proto, SMTP_REQ_AUTH, MSG_OK, NULL);
		return;
	}
	slog_warnx(&s->log, "failed authentication of remote client using "
	    "mechanism [%s] and %s secret for [%s]: %s", mech,
	    kind[0] != '\0' ? kind : "no", id, s->peer);
	if (status == MSG_TEMPFAIL) {
		smtp_proto_reply(&s->proto, SMTP_REQ_AUTH, MSG_TEMPFAIL, NULL);
		return;
	}
	if (s->ev_delay == NULL && (s->ev_delay = evtimer_new(s->ctx->base,
	    session_on_auth_delay, s)) == NULL) {
		smtp_proto_reply(&s->proto, SMTP_REQ_AUTH, MSG_PERMFAIL, NULL);
		return;
	}
	tv.tv_sec = SESSION_AUTH_DELAY_MS / 1000;
	tv.tv_usec = (SESSION_AUTH_DELAY_MS % 1000) * 1000;
	evtimer_add(s->ev_delay, &tv);
}

static void
session_on_auth_delay(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;

	smtp_proto_reply(&s->proto, SMTP_REQ_AUTH, MSG_PERMFAIL, NULL);
	session_process(s);
	/* s may be freed */
}

/*
 * The engine's ops.
 */

static void
ops_send(void *arg, const char *line)
{
	struct session	*s = arg;
	char		 buf[SESSION_TRACEMAX];

	if (s->io == NULL)
		return;
	if (log_enabled(LOGL_VERBOSE))
		slog_verbose(&s->log, "tx>>: \"%s\"", log_vis(buf,
		    sizeof(buf), line, strlen(line)));
	if (io_print(s->io, line) == -1 || io_write(s->io, "\r\n", 2) == -1)
		ops_close(s, "cannot queue a reply");
}

static void
ops_request(void *arg, const struct smtp_request *req)
{
	struct session	*s = arg;
	struct msgchan	*q = &s->ctx->peer[PROC_QUEUE].m;

	switch (req->kind) {
	case SMTP_REQ_MAIL:
		session_message_clear(s);
		(void)strlcpy(s->from, req->addr, sizeof(s->from));
		(void)strlcpy(s->authin, req->auth != NULL ? req->auth : "",
		    sizeof(s->authin));
		s->body = req->body;
		s->utf8 = req->utf8;
		msg_begin(q, MSG_SMTPD_MESSAGE_CREATE, s->id, -1);
		msg_put_u32(q, s->inst);
		msg_put_u64(q, req->size);
		msg_end(q);
		session_wait(s, MSG_SMTPD_MESSAGE_CREATE);
		break;
	case SMTP_REQ_RCPT:
		if (conf_bool(&s->ctx->boot->conf.inst[s->inst],
		    OPT_ADDRESS_VERIFIER)) {
			session_verify(s, req);
			break;
		}
		/* No verifier: every recipient is accepted as remote. */
		if (session_rcpt_add(s, 'R', req->addr) == -1) {
			smtp_proto_reply(&s->proto, SMTP_REQ_RCPT,
			    MSG_TEMPFAIL, "452 cannot accept more recipients");
			break;
		}
		if (req->utf8)
			s->utf8 = 1;
		smtp_proto_reply(&s->proto, SMTP_REQ_RCPT, MSG_OK, NULL);
		break;
	case SMTP_REQ_VRFY:
		if (conf_bool(&s->ctx->boot->conf.inst[s->inst],
		    OPT_ADDRESS_VERIFIER)) {
			session_verify(s, req);
			break;
		}
		smtp_proto_reply(&s->proto, SMTP_REQ_VRFY, MSG_OK, req->addr);
		break;
	case SMTP_REQ_DATA_END:
		session_commit(s);
		break;
	case SMTP_REQ_AUTH:
		session_auth(s, req);
		break;
	case SMTP_REQ_RSET:
		session_rollback(s);
		break;
	default:
		fatalx("smtp server: unknown request %d", (int)req->kind);
	}
}

static void
ops_content(void *arg, const char *data, size_t len)
{
	struct session	*s = arg;
	size_t		 n;

	if (s->fd == -1 || s->cerr != 0)
		return;
	if (s->cbuf == NULL && (s->cbuf = malloc(SESSION_CBUF)) == NULL) {
		s->cerr = ENOMEM;
		return;
	}
	while (len > 0 && s->cerr == 0) {
		n = SESSION_CBUF - s->clen;
		if (n > len)
			n = len;
		memcpy(s->cbuf + s->clen, data, n);
		s->clen += n;
		data += n;
		len -= n;
		if (s->clen == SESSION_CBUF)
			(void)session_content_flush(s);
	}
}

static void
ops_start_tls(void *arg)
{
	struct session	*s = arg;

	/* STARTTLS is never offered without TLS. */
	if (s->ctx->tls[s->inst] == NULL) {
		ops_close(arg, "tls is not available");
		return;
	}
	/* After the STARTTLS line is consumed (session_process). */
	s->flags |= SF_STARTTLS;
}

static void
ops_close(void *arg, const char *reason)
{
	struct session	*s = arg;

	if (s->flags & SF_CLOSING)
		return;
	s->flags |= SF_CLOSING;
	(void)strlcpy(s->reason, reason, sizeof(s->reason));
	if (s->io != NULL)
		io_pause(s->io, IO_IN);
}

static void
ops_log(void *arg, const char *text)
{
	struct session	*s = arg;

	slog_warnx(&s->log, "%s", text);
}
