/*
 * Admin sessions (SPEC 9): each accepted admin connection gets an io
 * object, an admin_proto engine and a 64-bit id that names it on the
 * channels.  The engine's requests become frames to queue (forward,
 * flush, unfail-all, list, failures), smtpd (smtp enable|disable and the
 * server side of status), mta (the client side of status), lookup (dnsbl
 * start|stop) and the parent (terminate); their replies come back
 * through admin_session_dispatch().
 * A session has at most one request outstanding, reads no input
 * meanwhile and lives until its reply even when the client is gone.
 * There is no idle timeout: an operator may keep a "notify" session open
 * for days.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "io.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "proc.h"
#include "admin_proto.h"
#include "control.h"

#define ADMIN_TRACEMAX	(ADMIN_PROTO_LINEMAX + 100)	/* escaped line */
#define ADMIN_TEXTMAX	1024		/* a reply's reason */
#define ADMIN_IDMAX	128		/* a message id */
#define ADMIN_REPORTMAX	(8 * 1024)	/* admin "IN:" lines */

/* s->flags */
#define AS_CLOSING	0x01		/* the engine asked to close */
#define AS_GONE		0x02		/* connection closed, reply due */
#define AS_EOF		0x04		/* the client sent all it will */

struct admin_session {
	RB_ENTRY(admin_session)	 entry;
	uint64_t		 id;
	struct control_ctx	*ctx;
	uint32_t		 inst;
	struct io		*io;
	struct admin_proto	 proto;
	struct slog		 log;
	char			 peer[128];	/* ip:port for log lines */
	char			 local[128];	/* our end, for status */
	int			 flags;
	char			 reason[160];	/* for the closed line */
	uint16_t		 wait;		/* request outstanding, or 0 */
	uint32_t		 failed;	/* listing .bad messages */

	/* The status report: what smtpd said, until mta answers. */
	uint64_t		 in_started, in_finished;
	char			*listen;
	char			*in;
};

static int	 admin_cmp(struct admin_session *, struct admin_session *);
RB_PROTOTYPE_INTERNAL(admin_tree, admin_session, entry, admin_cmp,
    __attribute__((__unused__)) static)
RB_GENERATE_INTERNAL(admin_tree, admin_session, entry, admin_cmp,
    __attribute__((__unused__)) static)

static void	 admin_on_io(struct io *, int, void *);
static void	 admin_process(struct admin_session *);
static void	 admin_close(struct admin_session *, const char *);
static void	 admin_free(struct admin_session *);
static void	 admin_wait(struct admin_session *, uint16_t, enum proc_id);
static void	 admin_list(struct admin_session *, const char *);
static void	 admin_reply_text(struct admin_session *, struct msg *);
static void	 admin_reply_list(struct admin_session *, struct msg *);
static void	 admin_reply_smtp_status(struct admin_session *,
		    struct msg *);
static void	 admin_reply_mta_status(struct admin_session *, struct msg *);
static void	 admin_trace_rx(struct admin_session *, const char *, size_t);
static char	*admin_strdup(struct msg *, const char *);
static void	 ops_send(void *, const char *, size_t);
static void	 ops_request(void *, const struct admin_request *);
static void	 ops_close(void *, const char *);

static const struct admin_ops admin_ops = {
	.send = ops_send,
	.request = ops_request,
	.close = ops_close,
};

static int
admin_cmp(struct admin_session *a, struct admin_session *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

int
admin_session_new(struct control_ctx *ctx, const struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct admin_session	*s;
	const struct instconf	*ic;
	struct admin_proto_conf	 pc;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			*colon;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("admin server: session");
		close(fd);
		return (-1);
	}
	s->ctx = ctx;
	s->inst = l->inst;
	ic = &ctx->boot->conf.inst[s->inst];
	do {
		arc4random_buf(&s->id, sizeof(s->id));
	} while (s->id == 0 || RB_FIND(admin_tree, &ctx->sessions, s) !=
	    NULL);
	if ((s->io = io_new(ctx->base, fd, admin_on_io, s)) == NULL) {
		log_warn("admin server: session");
		close(fd);
		free(s);
		return (-1);
	}
	/* No idle timeout (SPEC 9). */
	io_set_timeout(s->io, -1);
	RB_INSERT(admin_tree, &ctx->sessions, s);

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
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		netaddr_str((struct sockaddr *)&ss, s->local,
		    sizeof(s->local));
	else
		(void)strlcpy(s->local, l->addr, sizeof(s->local));
	slog_info(&s->log, "admin connection from %s", s->peer);

	memset(&pc, 0, sizeof(pc));
	pc.version = EMAILRELAY_VERSION;
	pc.copyright = NULL;
	pc.pid = ctx->pid;
	pc.forward_to = conf_bool(ic, OPT_FORWARD_TO);
	pc.terminate = conf_bool(ic, OPT_ADMIN_TERMINATE);
	admin_proto_init(&s->proto, &pc, &admin_ops, s);
	return (0);
}

static void
admin_on_io(struct io *io, int event, void *arg)
{
	struct admin_session	*s = arg;
	char			 reason[128];
	int			 e;

	switch (event) {
	case IO_DATAIN:
		admin_process(s);
		/* s may be freed */
		return;
	case IO_LOWAT:
		if ((s->flags & AS_CLOSING) && io_queued(io) == 0)
			admin_close(s, s->reason);
		return;
	case IO_TIMEOUT:
		/* No timeout is set; a stray one closes like an error. */
		admin_close(s, "timeout");
		return;
	case IO_EOF:
		/*
		 * "echo forward | nc": the commands before the end are
		 * answered, then the connection closes.
		 */
		s->flags |= AS_EOF;
		admin_process(s);
		/* s may be freed */
		return;
	case IO_ERROR:
		e = io_error(io);
		if (e == ECONNRESET || e == EPIPE)
			admin_close(s, "peer disconnected");
		else {
			(void)snprintf(reason, sizeof(reason),
			    "socket error: %s", strerror(e));
			admin_close(s, reason);
		}
		return;
	default:
		fatalx("admin server: unexpected io event %d", event);
	}
}

/*
 * Feed buffered input to the engine until it waits for a request, needs
 * more input, or closes.  May free s.
 */
static void
admin_process(struct admin_session *s)
{
	struct io_line	 l;

	while (s->io != NULL && (s->flags & AS_CLOSING) == 0 &&
	    !admin_proto_busy(&s->proto)) {
		if (io_getline(s->io, ADMIN_PROTO_LINEMAX, &l) == 0)
			break;
		admin_trace_rx(s, l.p, l.term == IO_LINE_NONE ? l.size :
		    l.len);
		if (admin_proto_line(&s->proto, l.p, l.size) ==
		    ADMIN_PROTO_BUSY)
			break;
		io_drop(s->io, l.size);
	}
	if (s->io != NULL && (s->flags & (AS_EOF | AS_CLOSING)) == AS_EOF &&
	    !admin_proto_busy(&s->proto))
		ops_close(s, "peer disconnected");
	if (s->io != NULL && (s->flags & AS_CLOSING) &&
	    io_queued(s->io) == 0)
		admin_close(s, s->reason);
	/* s may be freed */
}

/* The --verbose trace of a received line. */
static void
admin_trace_rx(struct admin_session *s, const char *p, size_t len)
{
	char	 buf[ADMIN_TRACEMAX];

	if (!log_enabled(LOGL_VERBOSE))
		return;
	slog_verbose(&s->log, "rx<<: \"%s\"", log_vis(buf, sizeof(buf), p,
	    len));
}

/*
 * End the connection: the one "closed" line and the socket.  The
 * session itself stays until an outstanding reply comes.  May free s.
 */
static void
admin_close(struct admin_session *s, const char *reason)
{
	char	 r[sizeof(s->reason)];

	if (s->io != NULL) {
		(void)strlcpy(r, reason, sizeof(r));
		slog_info(&s->log, "admin connection closed: %s: %s", r,
		    s->peer);
		io_free(s->io);
		s->io = NULL;
		control_session_closed(s->ctx);
	}
	if (s->wait != 0) {
		s->flags |= AS_GONE;
		return;
	}
	admin_free(s);
}

static void
admin_free(struct admin_session *s)
{
	RB_REMOVE(admin_tree, &s->ctx->sessions, s);
	if (s->io != NULL)
		io_free(s->io);
	free(s->listen);
	free(s->in);
	free(s);
}

/* A request is out: no input until its reply. */
static void
admin_wait(struct admin_session *s, uint16_t type, enum proc_id to)
{
	if (s->wait != 0)
		fatalx("admin server: %s while waiting for %s",
		    msg_type_name(type), msg_type_name(s->wait));
	s->wait = type;
	if (s->io != NULL)
		io_pause(s->io, IO_IN);
	chan_flush(&s->ctx->peer[to]);
}

/* Ask queue for the next page of ids after the id after. */
static void
admin_list(struct admin_session *s, const char *after)
{
	struct msgchan	*q = &s->ctx->peer[PROC_QUEUE].m;

	msg_begin(q, MSG_CONTROL_QUEUE_LIST, s->id, -1);
	msg_put_u32(q, s->inst);
	msg_put_u32(q, s->failed);
	msg_put_str(q, after);
	msg_end(q);
	admin_wait(s, MSG_CONTROL_QUEUE_LIST, PROC_QUEUE);
}

static void
ops_send(void *arg, const char *data, size_t len)
{
	struct admin_session	*s = arg;

	if (s->io == NULL || (s->flags & AS_CLOSING))
		return;
	if (io_write(s->io, data, len) == -1) {
		/* A client that never reads: drop it once flushed. */
		s->flags |= AS_CLOSING;
		(void)strlcpy(s->reason, "too much output waiting",
		    sizeof(s->reason));
	}
}

static void
ops_close(void *arg, const char *reason)
{
	struct admin_session	*s = arg;

	if ((s->flags & AS_CLOSING) == 0) {
		s->flags |= AS_CLOSING;
		(void)strlcpy(s->reason, reason, sizeof(s->reason));
	}
}

static void
ops_request(void *arg, const struct admin_request *req)
{
	struct admin_session	*s = arg;
	struct control_ctx	*ctx = s->ctx;
	struct msgchan		*m;

	switch (req->kind) {
	case ADMIN_REQ_FORWARD:
	case ADMIN_REQ_FLUSH:
		m = &ctx->peer[PROC_QUEUE].m;
		msg_begin(m, MSG_CONTROL_QUEUE_FORWARD, s->id, -1);
		msg_put_u32(m, s->inst);
		msg_put_u32(m, req->kind == ADMIN_REQ_FLUSH);
		msg_end(m);
		admin_wait(s, MSG_CONTROL_QUEUE_FORWARD, PROC_QUEUE);
		break;
	case ADMIN_REQ_UNFAIL_ALL:
		m = &ctx->peer[PROC_QUEUE].m;
		msg_begin(m, MSG_CONTROL_QUEUE_UNFAIL, s->id, -1);
		msg_put_u32(m, s->inst);
		msg_end(m);
		admin_wait(s, MSG_CONTROL_QUEUE_UNFAIL, PROC_QUEUE);
		break;
	case ADMIN_REQ_LIST:
	case ADMIN_REQ_FAILURES:
		s->failed = req->kind == ADMIN_REQ_FAILURES;
		admin_list(s, "");
		break;
	case ADMIN_REQ_STATUS:
		m = &ctx->peer[PROC_SMTP].m;
		msg_begin(m, MSG_CONTROL_SMTP_STATUS, s->id, -1);
		msg_end(m);
		admin_wait(s, MSG_CONTROL_SMTP_STATUS, PROC_SMTP);
		break;
	case ADMIN_REQ_SMTP:
		m = &ctx->peer[PROC_SMTP].m;
		msg_begin(m, MSG_CONTROL_SMTP_ENABLE, s->id, -1);
		msg_put_u32(m, s->inst);
		msg_put_u32(m, req->enable != 0);
		msg_end(m);
		admin_wait(s, MSG_CONTROL_SMTP_ENABLE, PROC_SMTP);
		break;
	case ADMIN_REQ_DNSBL:
		/* The checks (SPEC 6.6) run in lookup: the switch too. */
		m = &ctx->peer[PROC_LOOKUP].m;
		msg_begin(m, MSG_CONTROL_LOOKUP_DNSBL, s->id, -1);
		msg_put_u32(m, req->enable != 0);
		msg_put_u32(m, req->enable ? 0 : req->seconds);
		msg_end(m);
		admin_wait(s, MSG_CONTROL_LOOKUP_DNSBL, PROC_LOOKUP);
		break;
	case ADMIN_REQ_NOTIFY:
		/* The engine keeps the flag; events come from queue. */
		break;
	case ADMIN_REQ_TERMINATE:
		slog_info(&s->log, "admin terminate request");
		m = &ctx->parent.m;
		msg_begin(m, MSG_CONTROL_TERMINATE_NOTIFY, 0, -1);
		msg_end(m);
		chan_flush(&ctx->parent);
		break;
	default:
		fatalx("admin server: unexpected request %d", req->kind);
	}
}

/* A string field as a malloc'd copy; fatal when malformed. */
static char *
admin_strdup(struct msg *m, const char *from)
{
	char	*p;

	if ((p = msg_get_strdup(m)) == NULL) {
		if (m->bad)
			fatalx("admin server: bad %s reply from %s",
			    msg_type_name(m->type), from);
		fatal("admin server: reply");
	}
	return (p);
}

/*
 * A reply of u32 status, str reason (FORWARD, UNFAIL, SMTP_ENABLE,
 * LOOKUP_DNSBL).
 */
static void
admin_reply_text(struct admin_session *s, struct msg *m)
{
	char		 text[ADMIN_TEXTMAX];
	uint32_t	 status;

	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_str(m, text, sizeof(text)) == -1 ||
	    msg_get_end(m) == -1)
		fatalx("admin server: bad %s reply",
		    msg_type_name(m->type));
	if (s->flags & AS_GONE)
		return;
	(void)admin_proto_reply(&s->proto, status, text);
}

/* A page of ids: sent at once, and the next page asked for. */
static void
admin_reply_list(struct admin_session *s, struct msg *m)
{
	char		*ids, *last, after[ADMIN_IDMAX];
	size_t		 n;
	uint32_t	 status, more;

	if (msg_get_u32(m, &status) == -1 || msg_get_u32(m, &more) == -1)
		fatalx("admin server: bad %s reply", msg_type_name(m->type));
	ids = admin_strdup(m, "queue");
	if (msg_get_end(m) == -1)
		fatalx("admin server: bad %s reply", msg_type_name(m->type));
	if (s->flags & AS_GONE) {
		free(ids);
		return;
	}
	if (status != MSG_OK || !more) {
		(void)admin_proto_reply(&s->proto, status, ids);
		free(ids);
		return;
	}
	/* The last id of this page is where the next one starts. */
	n = strlen(ids);
	while (n > 0 && (ids[n - 1] == '\n' || ids[n - 1] == '\r'))
		ids[--n] = '\0';
	last = strrchr(ids, '\n');
	last = last != NULL ? last + 1 : ids;
	if (*last == '\0' || strlcpy(after, last, sizeof(after)) >=
	    sizeof(after))
		fatalx("admin server: bad %s page", msg_type_name(m->type));
	(void)admin_proto_reply_part(&s->proto, ids);
	free(ids);
	admin_list(s, after);
}

/* smtpd's half of the status report; mta's half is asked for next. */
static void
admin_reply_smtp_status(struct admin_session *s, struct msg *m)
{
	struct msgchan	*q = &s->ctx->peer[PROC_MTA].m;
	uint32_t	 status;

	free(s->listen);
	free(s->in);
	s->listen = s->in = NULL;
	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_u64(m, &s->in_started) == -1 ||
	    msg_get_u64(m, &s->in_finished) == -1)
		fatalx("admin server: bad %s reply", msg_type_name(m->type));
	s->listen = admin_strdup(m, "smtp");
	s->in = admin_strdup(m, "smtp");
	if (msg_get_end(m) == -1)
		fatalx("admin server: bad %s reply", msg_type_name(m->type));
	if (s->flags & AS_GONE)
		return;
	if (status != MSG_OK) {
		(void)admin_proto_reply(&s->proto, status, "no status");
		return;
	}
	msg_begin(q, MSG_CONTROL_MTA_STATUS, s->id, -1);
	msg_end(q);
	admin_wait(s, MSG_CONTROL_MTA_STATUS, PROC_MTA);
}

/*
 * The report in E-MailRelay's order (its GNet::Monitor): listeners,
 * client connection counts, server connection counts and the open
 * server connections.  The OUT counts only when mta keeps them.
 */
static void
admin_reply_mta_status(struct admin_session *s, struct msg *m)
{
	struct control_ctx	*ctx = s->ctx;
	struct control_listener	*cl;
	char			*buf, *adm;
	size_t			 i, len, sz;
	uint64_t		 out_started, out_finished;
	uint32_t		 status;
	int			 n;

	if (msg_get_u32(m, &status) == -1 ||
	    msg_get_u64(m, &out_started) == -1 ||
	    msg_get_u64(m, &out_finished) == -1 || msg_get_end(m) == -1)
		fatalx("admin server: bad %s reply", msg_type_name(m->type));
	if (s->flags & AS_GONE)
		return;
	if ((adm = calloc(1, ADMIN_REPORTMAX)) == NULL) {
		(void)admin_proto_reply(&s->proto, MSG_TEMPFAIL,
		    "out of memory");
		return;
	}
	admin_session_report(ctx, adm, ADMIN_REPORTMAX);
	sz = strlen(s->listen) + strlen(s->in) + strlen(adm) +
	    ctx->nlst * (sizeof(cl->l->addr) + 16) + 256;
	if ((buf = malloc(sz)) == NULL) {
		free(adm);
		(void)admin_proto_reply(&s->proto, MSG_TEMPFAIL,
		    "out of memory");
		return;
	}
	len = strlcpy(buf, s->listen, sz);
	for (i = 0; i < ctx->nlst; i++) {
		cl = &ctx->lst[i];
		n = snprintf(buf + len, sz - len, "LISTEN: %s\n", cl->l->addr);
		if (n < 0 || (size_t)n >= sz - len)
			fatalx("admin server: status report");
		len += (size_t)n;
	}
	if (status == MSG_OK) {
		n = snprintf(buf + len, sz - len, "OUT started: %llu\n"
		    "OUT finished: %llu\n", (unsigned long long)out_started,
		    (unsigned long long)out_finished);
		if (n < 0 || (size_t)n >= sz - len)
			fatalx("admin server: status report");
		len += (size_t)n;
	}
	n = snprintf(buf + len, sz - len, "IN started: %llu\n"
	    "IN finished: %llu\n%s%s",
	    (unsigned long long)(s->in_started + ctx->in_started),
	    (unsigned long long)(s->in_finished + ctx->in_finished),
	    s->in, adm);
	if (n < 0 || (size_t)n >= sz - len)
		fatalx("admin server: status report");
	free(adm);
	(void)admin_proto_reply(&s->proto, MSG_OK, buf);
	free(buf);
}

void
admin_session_dispatch(struct control_ctx *ctx, struct msg *m)
{
	struct admin_session	 key, *s;

	key.id = m->id;
	if ((s = RB_FIND(admin_tree, &ctx->sessions, &key)) == NULL ||
	    s->wait != m->type)
		fatalx("admin server: %s reply for %s session %016llx",
		    msg_type_name(m->type), s == NULL ? "unknown" :
		    "a not waiting", (unsigned long long)m->id);
	s->wait = 0;
	switch (m->type) {
	case MSG_CONTROL_QUEUE_LIST:
		admin_reply_list(s, m);
		break;
	case MSG_CONTROL_SMTP_STATUS:
		admin_reply_smtp_status(s, m);
		break;
	case MSG_CONTROL_MTA_STATUS:
		admin_reply_mta_status(s, m);
		break;
	default:
		admin_reply_text(s, m);
		break;
	}
	if (s->flags & AS_GONE) {
		if (s->wait == 0)
			admin_free(s);
		return;
	}
	if (s->wait != 0)
		return;		/* the next part is asked for */
	if (s->io != NULL && (s->flags & AS_CLOSING) == 0)
		io_resume(s->io, IO_IN);
	/* Input that came before the reply waited in the buffer. */
	admin_process(s);
	/* s may be freed */
}

void
admin_session_event(struct control_ctx *ctx, struct msg *m)
{
	struct admin_session	*s, *next;
	char			 text[ADMIN_PROTO_EVENTMAX + 1];
	uint32_t		 inst;

	if (msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, text, sizeof(text)) == -1 ||
	    msg_get_end(m) == -1)
		fatalx("admin server: bad %s from queue",
		    msg_type_name(m->type));
	RB_FOREACH_SAFE(s, admin_tree, &ctx->sessions, next) {
		if (s->inst != inst || s->io == NULL ||
		    (s->flags & AS_CLOSING) ||
		    !admin_proto_notifying(&s->proto))
			continue;
		(void)admin_proto_event(&s->proto, text);
		if ((s->flags & AS_CLOSING) && io_queued(s->io) == 0)
			admin_close(s, s->reason);
		/* s may be freed */
	}
}

void
admin_session_report(struct control_ctx *ctx, char *buf, size_t bufsz)
{
	struct admin_session	*s;
	size_t			 len;
	int			 n;

	if (bufsz == 0)
		return;
	len = strlen(buf);
	RB_FOREACH(s, admin_tree, &ctx->sessions) {
		if (s->io == NULL)
			continue;
		n = snprintf(buf + len, bufsz - len, "IN: %s <- %s\n",
		    s->local, s->peer);
		if (n < 0 || (size_t)n >= bufsz - len) {
			buf[len] = '\0';
			return;
		}
		len += (size_t)n;
	}
}
