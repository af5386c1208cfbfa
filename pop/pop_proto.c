/*
 * POP3 server protocol engine (SPEC section 8).  See pop_proto.h.
 *
 * One state enum, one entry per input kind, and check-then-proceed per
 * command as in smtp_proto.c.  SASL exchanges are common/sasl.c's.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bounds.h"
#include "msg.h"
#include "sasl.h"
#include "pop_proto.h"

/* conf flags */
#define POP_C_TLS		0x0001
#define POP_C_TLSREQ		0x0002

/* struct pop_msg flags */
#define POP_M_SET		0x01
#define POP_M_DELETED		0x02

#define T_MAILDROP	"maildrop unavailable"
#define T_NOMSG		"no such message"

#define R_GREETING	"+OK POP3 server ready"
#define R_OK		"+OK"
#define R_CAPA		"+OK capability list follows"
#define R_MECHS		"+OK authentication mechanisms follow"
#define R_UIDL		"+OK unique-id listing follows"
#define R_TOP		"+OK top of message follows"
#define R_BYE		"+OK POP3 server signing off"
#define R_TLSREADY	"+OK begin TLS negotiation"
#define R_UNKNOWN	"-ERR unknown command"
#define R_STATE		"-ERR command not valid in this state"
#define R_TOOLONG	"-ERR line too long"
#define R_BADCHAR	"-ERR invalid character in command"
#define R_MISSING	"-ERR missing argument"
#define R_BADARG	"-ERR invalid argument"
#define R_NOUSER	"-ERR send USER first"
#define R_NOTAVAIL	"-ERR command not available"
#define R_TLSREQ	"-ERR encryption required: use stls"
#define R_TLSACTIVE	"-ERR tls already active"
#define R_AUTHFAIL	"-ERR authentication failed"
#define R_AUTHTEMP	"-ERR temporary authentication failure"
#define R_AUTHCANCEL	"-ERR authentication cancelled"
#define R_BADB64	"-ERR invalid base64 encoding"
#define R_BADRESP	"-ERR invalid authentication response"
#define R_BADMECH	"-ERR unsupported authentication mechanism"
#define R_NOMSG		"-ERR " T_NOMSG
#define R_NOTREMOVED	"-ERR some deleted messages not removed"

#define REASON_ERRORS	"too many protocol errors from the client"
#define REASON_QUIT	"pop protocol done"

#define REPLY_MAX	512

struct pop_msg {
	uint64_t	 size;
	size_t		 uid;		/* offset into p->uids */
	unsigned int	 flags;
};

struct proto_cmd {
	const char	*verb;
	int		 trans;		/* 1: TRANSACTION, 0: AUTHORIZATION,
					   -1: both */
	void		(*fn)(struct pop_proto *, char *);
};

static void	 proto_send(struct pop_proto *, const char *);
static void	 proto_sendf(struct pop_proto *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static void	 proto_write(struct pop_proto *, const char *, size_t);
static int	 proto_error(struct pop_proto *);
static void	 proto_fail(struct pop_proto *, const char *);
static void	 proto_close(struct pop_proto *, const char *);
static void	 proto_request(struct pop_proto *, struct pop_request *);
static void	 proto_clean(const char *, char *, size_t);
static void	 proto_err_text(struct pop_proto *, const char *,
		    const char *);
static void	 proto_command(struct pop_proto *, const char *, size_t);
static void	 proto_maildrop_free(struct pop_proto *);
static int	 proto_number(const char *, uint64_t, uint64_t *);
static struct pop_msg *proto_msg_arg(struct pop_proto *, const char *,
		    size_t *);
static void	 proto_list_batch(struct pop_proto *);
static int	 proto_can_login(struct pop_proto *);
static int	 proto_plain_allowed(const struct pop_proto *);
static const char *proto_mechs(const struct pop_proto *);
static void	 proto_auth_failed(struct pop_proto *, const char *,
		    const char *);
static void	 proto_sasl_result(struct pop_proto *, int);
static void	 proto_auth_request(struct pop_proto *, const char *,
		    const char *, const char *, const char *);
static int	 proto_line_end(struct pop_proto *, int);
static void	 cmd_capa(struct pop_proto *, char *);
static void	 cmd_user(struct pop_proto *, char *);
static void	 cmd_pass(struct pop_proto *, char *);
static void	 cmd_auth(struct pop_proto *, char *);
static void	 cmd_stls(struct pop_proto *, char *);
static void	 cmd_quit(struct pop_proto *, char *);
static void	 cmd_stat(struct pop_proto *, char *);
static void	 cmd_list(struct pop_proto *, char *);
static void	 cmd_uidl(struct pop_proto *, char *);
static void	 cmd_retr(struct pop_proto *, char *);
static void	 cmd_top(struct pop_proto *, char *);
static void	 cmd_dele(struct pop_proto *, char *);
static void	 cmd_noop(struct pop_proto *, char *);
static void	 cmd_rset(struct pop_proto *, char *);

static const struct proto_cmd proto_cmds[] = {
	{ "CAPA",	-1,	cmd_capa },
	{ "USER",	0,	cmd_user },
	{ "PASS",	0,	cmd_pass },
	{ "AUTH",	0,	cmd_auth },
	{ "STLS",	0,	cmd_stls },
	{ "QUIT",	-1,	cmd_quit },
	{ "STAT",	1,	cmd_stat },
	{ "LIST",	1,	cmd_list },
	{ "UIDL",	1,	cmd_uidl },
	{ "RETR",	1,	cmd_retr },
	{ "TOP",	1,	cmd_top },
	{ "DELE",	1,	cmd_dele },
	{ "NOOP",	1,	cmd_noop },
	{ "RSET",	1,	cmd_rset },
};

static void
proto_send(struct pop_proto *p, const char *line)
{
	p->ops->send(p->arg, line);
}

static void
proto_sendf(struct pop_proto *p, const char *fmt, ...)
{
	char	 line[REPLY_MAX];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		line[0] = '\0';
	/* a longer line is cut: every part we format is bounded */
	proto_send(p, line);
}

static void
proto_write(struct pop_proto *p, const char *data, size_t len)
{
	if (len > 0)
		p->ops->write(p->arg, data, len);
}

/*
 * Count a protocol error; the last one allowed closes the connection
 * after its reply.  Returns 1 if it did.
 */
static int
proto_error(struct pop_proto *p)
{
	if (++p->errors < POP_PROTO_MAXERRORS)
		return (0);
	proto_close(p, REASON_ERRORS);
	return (1);
}

/* A reply that counts as a protocol error. */
static void
proto_fail(struct pop_proto *p, const char *line)
{
	proto_send(p, line);
	proto_error(p);
}

static void
proto_close(struct pop_proto *p, const char *reason)
{
	sasl_clear(&p->sasl);
	p->state = POP_ST_CLOSED;
	p->ops->close(p->arg, reason);
}

/*
 * Hand a request to the session.  The last thing a caller does: the
 * session may answer at once, from inside the call.
 */
static void
proto_request(struct pop_proto *p, struct pop_request *req)
{
	p->state = req->kind == POP_REQ_UPDATE ? POP_ST_UPDATE : POP_ST_WAIT;
	p->wait = req->kind;
	p->ops->request(p->arg, req);
}

/* Copy text for a reply line: control characters become spaces. */
static void
proto_clean(const char *text, char *out, size_t size)
{
	size_t		 i, n;
	unsigned char	 c;

	for (i = 0, n = 0; text[i] != '\0' && n < size - 1; i++) {
		c = (unsigned char)text[i];
		out[n++] = (c < 32 || c == 127) ? ' ' : (char)c;
	}
	out[n] = '\0';
}

/* "-ERR <text>" with text from outside, or deftext. */
static void
proto_err_text(struct pop_proto *p, const char *text, const char *deftext)
{
	char	 clean[256];

	if (text == NULL || *text == '\0')
		text = deftext;
	if (strncmp(text, "-ERR ", 5) == 0)
		text += 5;
	proto_clean(text, clean, sizeof(clean));
	proto_sendf(p, "-ERR %s", clean);
}

void
pop_proto_init(struct pop_proto *p, const struct pop_proto_conf *conf,
    const struct pop_ops *ops, void *arg)
{
	const char	*tlsmechs;

	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->arg = arg;
	p->state = POP_ST_NEW;
	(void)strlcpy(p->host, conf->host != NULL ? conf->host : "",
	    sizeof(p->host));
	(void)strlcpy(p->impl, conf->implementation != NULL ?
	    conf->implementation : "", sizeof(p->impl));
	(void)strlcpy(p->mechs, conf->auth_mechs != NULL ? conf->auth_mechs :
	    "", sizeof(p->mechs));
	tlsmechs = conf->auth_mechs_tls != NULL ? conf->auth_mechs_tls :
	    p->mechs;
	(void)strlcpy(p->mechs_tls, tlsmechs, sizeof(p->mechs_tls));
	p->pid = conf->pid;
	if (conf->tls_available)
		p->conf |= POP_C_TLS;
	if (conf->tls_required)
		p->conf |= POP_C_TLSREQ;
	p->tls = conf->tls_active != 0;
}

void
pop_proto_start(struct pop_proto *p)
{
	time_t	 now;

	if (p->state != POP_ST_NEW)
		return;
	p->state = POP_ST_AUTHORIZATION;
	now = p->ops->now != NULL ? p->ops->now(p->arg) : time(NULL);
	proto_sendf(p, R_GREETING " <%llu.%lld@%s>", p->pid, (long long)now,
	    p->host);
}

int
pop_proto_line(struct pop_proto *p, const char *line, size_t len)
{
	size_t	 n;
	int	 complete;

	switch (p->state) {
	case POP_ST_AUTHORIZATION:
	case POP_ST_TRANSACTION:
	case POP_ST_SASL:
		break;
	default:
		return (POP_PROTO_BUSY);
	}
	complete = len > 0 && line[len - 1] == '\n';
	if (!complete) {
		/* a fragment of an overlong line: drop it, reply at LF */
		p->overlong = 1;
		return (POP_PROTO_OK);
	}
	if (p->overlong || len > BOUNDS_LINE) {
		p->overlong = 0;
		if (p->state == POP_ST_SASL) {
			sasl_clear(&p->sasl);
			p->state = POP_ST_AUTHORIZATION;
		}
		proto_fail(p, R_TOOLONG);
		return (POP_PROTO_OK);
	}
	n = len - 1;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (p->state == POP_ST_SASL) {
		p->state = POP_ST_AUTHORIZATION;
		proto_sasl_result(p, sasl_step(&p->sasl, line, n));
	} else
		proto_command(p, line, n);
	if (p->drop) {
		p->drop = 0;
		return (POP_PROTO_DROP);
	}
	return (POP_PROTO_OK);
}

/* One command line without terminator. */
static void
proto_command(struct pop_proto *p, const char *line, size_t len)
{
	char	 buf[BOUNDS_LINE + 1];
	char	*args;
	size_t	 i, vlen;
	int	 trans = p->state == POP_ST_TRANSACTION;

	if (memchr(line, '\0', len) != NULL || len >= sizeof(buf)) {
		proto_fail(p, R_BADCHAR);
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (vlen = 0; vlen < len && buf[vlen] != ' '; vlen++)
		;
	for (i = 0; i < sizeof(proto_cmds) / sizeof(proto_cmds[0]); i++) {
		if (strlen(proto_cmds[i].verb) == vlen &&
		    strncasecmp(buf, proto_cmds[i].verb, vlen) == 0)
			break;
	}
	if (i == sizeof(proto_cmds) / sizeof(proto_cmds[0])) {
		proto_fail(p, R_UNKNOWN);
		return;
	}
	if (proto_cmds[i].trans != -1 && proto_cmds[i].trans != trans) {
		proto_fail(p, R_STATE);
		return;
	}
	/* PASS takes the rest of the line as it is: spaces are allowed */
	args = buf + vlen;
	if (*args == ' ')
		args++;
	if (proto_cmds[i].fn != cmd_pass) {
		while (len > 0 && (buf[len - 1] == ' ' ||
		    buf[len - 1] == '\t'))
			buf[--len] = '\0';
		while (*args == ' ')
			args++;
	}
	proto_cmds[i].fn(p, args);
	explicit_bzero(buf, sizeof(buf));
}

static const char *
proto_mechs(const struct pop_proto *p)
{
	return (p->tls ? p->mechs_tls : p->mechs);
}

/* USER/PASS is offered with the PLAIN mechanism: plain passwords. */
static int
proto_plain_allowed(const struct pop_proto *p)
{
	return (sasl_mech_allowed(proto_mechs(p), "PLAIN"));
}

/* Common check for USER, PASS and AUTH: TLS first if required. */
static int
proto_can_login(struct pop_proto *p)
{
	if ((p->conf & POP_C_TLSREQ) && !p->tls) {
		proto_fail(p, R_TLSREQ);
		return (0);
	}
	return (1);
}

static void
cmd_capa(struct pop_proto *p, char *args)
{
	int	 login = (p->conf & POP_C_TLSREQ) == 0 || p->tls;

	proto_send(p, R_CAPA);
	if (login && proto_plain_allowed(p))
		proto_send(p, "USER");
	proto_send(p, "CAPA");
	proto_send(p, "TOP");
	proto_send(p, "UIDL");
	if ((p->conf & POP_C_TLS) && !p->tls)
		proto_send(p, "STLS");
	if (login && *proto_mechs(p) != '\0')
		proto_sendf(p, "SASL %s", proto_mechs(p));
	if (p->impl[0] != '\0')
		proto_sendf(p, "IMPLEMENTATION %s", p->impl);
	proto_send(p, ".");
}

static void
cmd_user(struct pop_proto *p, char *args)
{
	if (!proto_can_login(p))
		return;
	if (!proto_plain_allowed(p)) {
		proto_fail(p, R_NOTAVAIL);
		return;
	}
	if (*args == '\0') {
		proto_fail(p, R_MISSING);
		return;
	}
	if (strlcpy(p->user, args, sizeof(p->user)) >= sizeof(p->user)) {
		explicit_bzero(p->user, sizeof(p->user));
		p->have_user = 0;
		proto_fail(p, R_BADARG);
		return;
	}
	p->have_user = 1;
	proto_send(p, R_OK);
}

static void
cmd_pass(struct pop_proto *p, char *args)
{
	if (!proto_can_login(p))
		return;
	if (!proto_plain_allowed(p)) {
		proto_fail(p, R_NOTAVAIL);
		return;
	}
	if (!p->have_user) {
		proto_fail(p, R_NOUSER);
		return;
	}
	/* a failed PASS needs a new USER (RFC 1939) */
	p->have_user = 0;
	if (*args == '\0') {
		explicit_bzero(p->user, sizeof(p->user));
		proto_fail(p, R_MISSING);
		return;
	}
	(void)strlcpy(p->authmech, "PLAIN", sizeof(p->authmech));
	proto_auth_request(p, "", p->user, args, "");
	explicit_bzero(p->user, sizeof(p->user));
}

static void
cmd_auth(struct pop_proto *p, char *args)
{
	const char	*s;
	char		*mech, *initial;
	size_t		 n;
	time_t		 now;
	int		 r;

	if (!proto_can_login(p))
		return;
	if (*args == '\0') {
		/* E-MailRelay's listing of the mechanisms (RFC 1734) */
		proto_send(p, R_MECHS);
		for (s = proto_mechs(p); *s != '\0'; s += n) {
			while (*s == ' ')
				s++;
			if ((n = strcspn(s, " ")) > 0)
				proto_sendf(p, "%.*s", (int)n, s);
		}
		proto_send(p, ".");
		return;
	}
	mech = args;
	if ((initial = strchr(args, ' ')) != NULL) {
		*initial++ = '\0';
		while (*initial == ' ')
			initial++;
		if (strchr(initial, ' ') != NULL) {
			proto_fail(p, R_BADARG);
			return;
		}
	}
	p->have_user = 0;
	now = p->ops->now != NULL ? p->ops->now(p->arg) : time(NULL);
	r = sasl_start(&p->sasl, proto_mechs(p), mech, initial,
	    initial != NULL ? strlen(initial) : 0, p->host, now);
	(void)strlcpy(p->authmech, sasl_mech(&p->sasl), sizeof(p->authmech));
	proto_sasl_result(p, r);
}

static void
proto_auth_failed(struct pop_proto *p, const char *id, const char *why)
{
	if (p->ops->auth_failed != NULL)
		p->ops->auth_failed(p->arg, p->authmech, id, why);
}

/* Act on a result of sasl_start() or sasl_step(). */
static void
proto_sasl_result(struct pop_proto *p, int r)
{
	switch (r) {
	case SASL_CHALLENGE:
		p->state = POP_ST_SASL;
		proto_sendf(p, "+ %s", sasl_challenge(&p->sasl));
		return;
	case SASL_DONE:
		proto_auth_request(p, p->sasl.authzid, p->sasl.id,
		    p->sasl.secret, sasl_cram_challenge(&p->sasl));
		sasl_clear(&p->sasl);
		return;
	default:
		break;
	}
	sasl_clear(&p->sasl);
	switch (r) {
	case SASL_CANCEL:
		proto_send(p, R_AUTHCANCEL);
		break;
	case SASL_ETEMP:
		proto_send(p, R_AUTHTEMP);
		break;
	case SASL_EBADMECH:
		proto_fail(p, R_BADMECH);
		break;
	case SASL_ESYNTAX:
		proto_fail(p, R_BADARG);
		break;
	case SASL_EBASE64:
		proto_fail(p, R_BADB64);
		break;
	case SASL_EFAIL:
		proto_auth_failed(p, "", "authentication id too long");
		proto_fail(p, R_AUTHFAIL);
		break;
	default:
		proto_fail(p, R_BADRESP);
		break;
	}
	p->authmech[0] = '\0';
}

/* Credentials complete: ask lookup.  The caller wipes the secret. */
static void
proto_auth_request(struct pop_proto *p, const char *authzid, const char *id,
    const char *secret, const char *challenge)
{
	struct pop_request	 req;

	/* USER and the SASL ids are bounded to fit */
	(void)strlcpy(p->authid, id, sizeof(p->authid));
	memset(&req, 0, sizeof(req));
	req.kind = POP_REQ_AUTH;
	req.mech = p->authmech;
	req.authzid = authzid;
	req.id = p->authid;
	req.secret = secret;
	req.challenge = challenge;
	proto_request(p, &req);
}

static void
cmd_stls(struct pop_proto *p, char *args)
{
	if ((p->conf & POP_C_TLS) == 0) {
		proto_fail(p, R_UNKNOWN);
		return;
	}
	if (p->tls) {
		proto_fail(p, R_TLSACTIVE);
		return;
	}
	if (*args != '\0') {
		proto_fail(p, R_BADARG);
		return;
	}
	proto_send(p, R_TLSREADY);
	/* RFC 2595 4: forget what was learnt before the handshake */
	p->have_user = 0;
	explicit_bzero(p->user, sizeof(p->user));
	p->state = POP_ST_TLS;
	p->drop = 1;
	p->ops->start_tls(p->arg);
}

void
pop_proto_tls_done(struct pop_proto *p)
{
	p->tls = 1;
	if (p->state == POP_ST_TLS)
		p->state = POP_ST_AUTHORIZATION;
}

static void
cmd_quit(struct pop_proto *p, char *args)
{
	struct pop_request	 req;
	size_t			 i, n = 0;

	if (p->state != POP_ST_TRANSACTION) {
		proto_send(p, R_BYE);
		proto_close(p, REASON_QUIT);
		return;
	}
	/* UPDATE state: the outside deletes, then we say goodbye */
	for (i = 0; i < p->nmsgs; i++)
		if (p->msgs[i].flags & POP_M_DELETED)
			p->deleted[n++] = i + 1;
	memset(&req, 0, sizeof(req));
	req.kind = POP_REQ_UPDATE;
	req.id = p->authid;
	req.deleted = p->deleted;
	req.ndeleted = n;
	proto_request(p, &req);
}

/* Returns 0 if s is 1 to 20 digits of a number at most max, else -1. */
static int
proto_number(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 19)
			return (-1);
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || n > max)
		return (-1);
	*out = n;
	return (0);
}

/*
 * The message named by a "msg" argument, not deleted, with its number in
 * *msgno; NULL after the error reply.
 */
static struct pop_msg *
proto_msg_arg(struct pop_proto *p, const char *arg, size_t *msgno)
{
	uint64_t	 n;

	if (*arg == '\0') {
		proto_fail(p, R_MISSING);
		return (NULL);
	}
	if (proto_number(arg, UINT64_MAX / 10, &n) == -1) {
		proto_fail(p, R_BADARG);
		return (NULL);
	}
	if (n == 0 || n > p->nmsgs ||
	    (p->msgs[n - 1].flags & POP_M_DELETED)) {
		proto_send(p, R_NOMSG);
		return (NULL);
	}
	*msgno = (size_t)n;
	return (&p->msgs[n - 1]);
}

static void
cmd_stat(struct pop_proto *p, char *args)
{
	if (*args != '\0') {
		proto_fail(p, R_BADARG);
		return;
	}
	proto_sendf(p, "+OK %zu %llu", p->count,
	    (unsigned long long)p->octets);
}

/* Up to POP_PROTO_LISTBATCH lines of a LIST or UIDL listing. */
static void
proto_list_batch(struct pop_proto *p)
{
	struct pop_msg	*m;
	size_t		 sent = 0;

	while (p->listnext <= p->nmsgs && sent < POP_PROTO_LISTBATCH) {
		m = &p->msgs[p->listnext - 1];
		if ((m->flags & POP_M_DELETED) == 0) {
			if (p->listuid)
				proto_sendf(p, "%zu %s", p->listnext,
				    p->uids + m->uid);
			else
				proto_sendf(p, "%zu %llu", p->listnext,
				    (unsigned long long)m->size);
			sent++;
		}
		p->listnext++;
	}
	if (p->listnext <= p->nmsgs) {
		p->state = POP_ST_LISTING;
		return;
	}
	proto_send(p, ".");
	p->state = POP_ST_TRANSACTION;
}

void
pop_proto_drained(struct pop_proto *p)
{
	if (p->state == POP_ST_LISTING)
		proto_list_batch(p);
}

static void
cmd_list(struct pop_proto *p, char *args)
{
	struct pop_msg	*m;
	size_t		 n;

	if (*args != '\0') {
		if ((m = proto_msg_arg(p, args, &n)) != NULL)
			proto_sendf(p, "+OK %zu %llu", n,
			    (unsigned long long)m->size);
		return;
	}
	proto_sendf(p, "+OK %zu messages (%llu octets)", p->count,
	    (unsigned long long)p->octets);
	p->listuid = 0;
	p->listnext = 1;
	proto_list_batch(p);
}

static void
cmd_uidl(struct pop_proto *p, char *args)
{
	struct pop_msg	*m;
	size_t		 n;

	if (*args != '\0') {
		if ((m = proto_msg_arg(p, args, &n)) != NULL)
			proto_sendf(p, "+OK %zu %s", n, p->uids + m->uid);
		return;
	}
	proto_send(p, R_UIDL);
	p->listuid = 1;
	p->listnext = 1;
	proto_list_batch(p);
}

static void
cmd_retr(struct pop_proto *p, char *args)
{
	struct pop_request	 req;
	struct pop_msg		*m;
	size_t			 n;

	if ((m = proto_msg_arg(p, args, &n)) == NULL)
		return;
	p->msgno = n;
	p->top = 0;
	p->toplines = 0;
	memset(&req, 0, sizeof(req));
	req.kind = POP_REQ_RETR;
	req.msgno = n;
	req.uid = p->uids + m->uid;
	proto_request(p, &req);
}

static void
cmd_top(struct pop_proto *p, char *args)
{
	struct pop_request	 req;
	struct pop_msg		*m;
	char			*sp;
	uint64_t		 lines;
	size_t			 n;

	if ((sp = strchr(args, ' ')) == NULL) {
		/* both "msg" and "n" are required */
		proto_fail(p, R_MISSING);
		return;
	}
	*sp++ = '\0';
	while (*sp == ' ')
		sp++;
	if (proto_number(sp, UINT64_MAX / 10, &lines) == -1) {
		proto_fail(p, R_BADARG);
		return;
	}
	if ((m = proto_msg_arg(p, args, &n)) == NULL)
		return;
	p->msgno = n;
	p->top = 1;
	p->toplines = lines;
	memset(&req, 0, sizeof(req));
	req.kind = POP_REQ_RETR;
	req.msgno = n;
	req.uid = p->uids + m->uid;
	req.top = 1;
	req.lines = lines;
	proto_request(p, &req);
}

static void
cmd_dele(struct pop_proto *p, char *args)
{
	struct pop_msg	*m;
	uint64_t	 n;
	size_t		 msgno;

	/* a deleted message has its own answer here */
	if (*args != '\0' && proto_number(args, UINT64_MAX / 10, &n) == 0 &&
	    n >= 1 && n <= p->nmsgs &&
	    (p->msgs[n - 1].flags & POP_M_DELETED)) {
		proto_sendf(p, "-ERR message %llu already deleted",
		    (unsigned long long)n);
		return;
	}
	if ((m = proto_msg_arg(p, args, &msgno)) == NULL)
		return;
	m->flags |= POP_M_DELETED;
	p->count--;
	p->octets -= m->size;
	proto_sendf(p, "+OK message %zu deleted", msgno);
}

static void
cmd_noop(struct pop_proto *p, char *args)
{
	proto_send(p, R_OK);
}

static void
cmd_rset(struct pop_proto *p, char *args)
{
	size_t	 i;

	for (i = 0; i < p->nmsgs; i++)
		p->msgs[i].flags &= ~POP_M_DELETED;
	p->count = p->nmsgs;
	p->octets = 0;
	for (i = 0; i < p->nmsgs; i++)
		p->octets += p->msgs[i].size;
	proto_sendf(p, "+OK maildrop has %zu messages (%llu octets)",
	    p->count, (unsigned long long)p->octets);
}

static void
proto_maildrop_free(struct pop_proto *p)
{
	free(p->msgs);
	free(p->uids);
	free(p->deleted);
	p->msgs = NULL;
	p->uids = NULL;
	p->deleted = NULL;
	p->nmsgs = p->nset = p->uidlen = p->uidsize = 0;
	p->count = 0;
	p->octets = 0;
}

int
pop_proto_maildrop(struct pop_proto *p, size_t n)
{
	if (p->state != POP_ST_WAIT || p->wait != POP_REQ_LIST)
		return (-1);
	proto_maildrop_free(p);
	if (n > POP_PROTO_MAXMSGS)
		return (-1);
	if (n == 0)
		return (0);
	if ((p->msgs = calloc(n, sizeof(*p->msgs))) == NULL ||
	    (p->deleted = calloc(n, sizeof(*p->deleted))) == NULL) {
		proto_maildrop_free(p);
		return (-1);
	}
	p->nmsgs = n;
	return (0);
}

int
pop_proto_maildrop_entry(struct pop_proto *p, size_t msgno, uint64_t size,
    const char *uid)
{
	struct pop_msg	*m;
	char		*np;
	size_t		 i, len, nsize;

	if (p->state != POP_ST_WAIT || p->wait != POP_REQ_LIST ||
	    msgno == 0 || msgno > p->nmsgs)
		return (-1);
	m = &p->msgs[msgno - 1];
	if (m->flags & POP_M_SET)
		return (-1);
	len = strlen(uid);
	if (len == 0 || len > POP_PROTO_UIDMAX)
		return (-1);
	for (i = 0; i < len; i++)
		if (uid[i] < 0x21 || uid[i] > 0x7e)
			return (-1);
	if (p->uidsize - p->uidlen < len + 1) {
		/* at most nmsgs * (POP_PROTO_UIDMAX + 1) octets */
		nsize = p->uidsize == 0 ? 4096 : p->uidsize * 2;
		if (nsize > p->nmsgs * (POP_PROTO_UIDMAX + 1))
			nsize = p->nmsgs * (POP_PROTO_UIDMAX + 1);
		if (nsize < p->uidlen + len + 1)
			nsize = p->uidlen + len + 1;
		if ((np = realloc(p->uids, nsize)) == NULL)
			return (-1);
		p->uids = np;
		p->uidsize = nsize;
	}
	memcpy(p->uids + p->uidlen, uid, len + 1);
	m->uid = p->uidlen;
	p->uidlen += len + 1;
	m->size = size;
	m->flags = POP_M_SET;
	p->nset++;
	p->count++;
	p->octets += size;
	return (0);
}

const char *
pop_proto_uid(const struct pop_proto *p, size_t msgno)
{
	if (msgno == 0 || msgno > p->nmsgs ||
	    (p->msgs[msgno - 1].flags & POP_M_SET) == 0)
		return (NULL);
	return (p->uids + p->msgs[msgno - 1].uid);
}

int
pop_proto_reply(struct pop_proto *p, enum pop_req kind, int status,
    const char *text)
{
	struct pop_request	 req;
	int			 r = 0;

	if ((p->state != POP_ST_WAIT && p->state != POP_ST_UPDATE) ||
	    p->wait != kind)
		return (-1);
	p->wait = POP_REQ_NONE;
	p->state = p->authenticated && kind != POP_REQ_LIST ?
	    POP_ST_TRANSACTION : POP_ST_AUTHORIZATION;
	switch (kind) {
	case POP_REQ_AUTH:
		if (status != MSG_OK) {
			proto_auth_failed(p, p->authid, text != NULL &&
			    *text != '\0' ? text : status == MSG_TEMPFAIL ?
			    "temporary failure" : "rejected");
			explicit_bzero(p->authid, sizeof(p->authid));
			p->authmech[0] = '\0';
			if (status == MSG_TEMPFAIL)
				proto_send(p, R_AUTHTEMP);
			else
				proto_fail(p, R_AUTHFAIL);
			break;
		}
		/* authenticated: open the maildrop */
		p->authenticated = 1;
		memset(&req, 0, sizeof(req));
		req.kind = POP_REQ_LIST;
		req.id = p->authid;
		proto_request(p, &req);
		break;
	case POP_REQ_LIST:
		if (status == MSG_OK && p->nset != p->nmsgs) {
			r = -1;
			status = MSG_TEMPFAIL;
			text = NULL;
		}
		if (status != MSG_OK) {
			proto_maildrop_free(p);
			p->authenticated = 0;
			explicit_bzero(p->authid, sizeof(p->authid));
			p->authmech[0] = '\0';
			proto_err_text(p, text, T_MAILDROP);
			break;
		}
		p->state = POP_ST_TRANSACTION;
		proto_sendf(p, "+OK maildrop has %zu messages (%llu octets)",
		    p->count, (unsigned long long)p->octets);
		break;
	case POP_REQ_RETR:
		if (status != MSG_OK) {
			proto_err_text(p, text, T_NOMSG);
			break;
		}
		if (p->top)
			proto_send(p, R_TOP);
		else
			proto_sendf(p, "+OK %llu octets", (unsigned long long)
			    p->msgs[p->msgno - 1].size);
		p->state = POP_ST_CONTENT;
		p->bol = 1;
		p->crpend = 0;
		p->cdone = 0;
		p->inbody = 0;
		p->bodylines = 0;
		break;
	case POP_REQ_UPDATE:
		if (status == MSG_OK)
			proto_send(p, R_BYE);
		else
			proto_send(p, R_NOTREMOVED);
		proto_close(p, REASON_QUIT);
		break;
	default:
		return (-1);
	}
	return (r);
}

int
pop_proto_in_content(const struct pop_proto *p)
{
	return (p->state == POP_ST_CONTENT && !p->cdone);
}

/*
 * A line of content has ended; empty if it had no octets.  Returns 1 if
 * TOP has all it wants.
 */
static int
proto_line_end(struct pop_proto *p, int empty)
{
	if (!p->top)
		return (0);
	if (!p->inbody) {
		if (!empty)
			return (0);
		p->inbody = 1;
		return (p->toplines == 0);
	}
	return (++p->bodylines >= p->toplines);
}

int
pop_proto_content(struct pop_proto *p, const char *data, size_t len)
{
	size_t	 i = 0, start = 0;
	int	 empty;

	if (p->state != POP_ST_CONTENT || p->cdone)
		return (POP_CONTENT_DONE);
	if (p->crpend && len > 0) {
		/* a CR ended the last chunk: it was a line end already */
		p->crpend = 0;
		if (data[0] == '\n')
			i = 1;		/* sent with what follows */
		else
			proto_write(p, "\n", 1);
	}
	while (i < len) {
		if (data[i] == '\r' || data[i] == '\n') {
			empty = p->bol;
			p->bol = 1;
			if (data[i] == '\n') {
				/* bare LF */
				proto_write(p, data + start, i - start);
				proto_write(p, "\r\n", 2);
				start = ++i;
			} else if (i + 1 == len) {
				/* CR last: an LF may follow in the next one */
				i++;
				p->crpend = 1;
			} else if (data[i + 1] == '\n')
				i += 2;
			else {
				/* bare CR */
				proto_write(p, data + start, i + 1 - start);
				proto_write(p, "\n", 1);
				start = ++i;
			}
			if (proto_line_end(p, empty)) {
				proto_write(p, data + start, i - start);
				if (p->crpend)
					proto_write(p, "\n", 1);
				p->crpend = 0;
				p->cdone = 1;
				return (POP_CONTENT_DONE);
			}
			continue;
		}
		if (p->bol && data[i] == '.') {
			/* dot-stuffing: the dot goes out twice */
			proto_write(p, data + start, i - start);
			proto_write(p, ".", 1);
			start = i;
		}
		p->bol = 0;
		i++;
	}
	proto_write(p, data + start, len - start);
	return (POP_CONTENT_MORE);
}

void
pop_proto_content_end(struct pop_proto *p)
{
	if (p->state != POP_ST_CONTENT)
		return;
	if (p->crpend)
		proto_write(p, "\n", 1);
	else if (!p->bol)
		proto_write(p, "\r\n", 2);
	proto_write(p, ".\r\n", 3);
	p->crpend = 0;
	p->bol = 1;
	p->cdone = 0;
	p->state = POP_ST_TRANSACTION;
}

int
pop_proto_sensitive(const struct pop_proto *p, const char *line, size_t len)
{
	const char	*sp;

	if (p->state == POP_ST_SASL)
		return (1);
	if (len >= 4 && strncasecmp(line, "PASS", 4) == 0 &&
	    (len == 4 || line[4] == ' ' || line[4] == '\r' ||
	    line[4] == '\n'))
		return (1);
	if (len >= 5 && strncasecmp(line, "AUTH ", 5) == 0) {
		/* a second word is an initial response */
		for (sp = line + 5; sp < line + len && *sp == ' '; sp++)
			;
		for (; sp < line + len && *sp != ' '; sp++)
			;
		return (sp < line + len);
	}
	return (0);
}

enum pop_state
pop_proto_state(const struct pop_proto *p)
{
	return (p->state);
}

int
pop_proto_busy(const struct pop_proto *p)
{
	switch (p->state) {
	case POP_ST_AUTHORIZATION:
	case POP_ST_SASL:
	case POP_ST_TRANSACTION:
		return (0);
	default:
		return (1);
	}
}

int
pop_proto_closed(const struct pop_proto *p)
{
	return (p->state == POP_ST_CLOSED);
}

const char *
pop_proto_auth_id(const struct pop_proto *p)
{
	return (p->authenticated ? p->authid : NULL);
}

const char *
pop_proto_auth_mech(const struct pop_proto *p)
{
	return (p->authenticated ? p->authmech : NULL);
}

void
pop_proto_clear(struct pop_proto *p)
{
	sasl_clear(&p->sasl);
	explicit_bzero(p->user, sizeof(p->user));
	proto_maildrop_free(p);
}
