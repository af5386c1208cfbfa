/*
 * SMTP server protocol engine (SPEC sections 4 and 14).  See smtp_proto.h.
 *
 * One state enum, one entry per input kind, and check-then-proceed per
 * command as in OpenSMTPD's smtp_session.c.  Replies are E-MailRelay's
 * wording, byte for byte.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "bounds.h"
#include "msg.h"
#include "sasl.h"
#include "smtp_proto.h"

/* conf flags */
#define SMTP_C_ANON_VRFY	0x0001
#define SMTP_C_ANON_SERVER	0x0002
#define SMTP_C_ANON_CONTENT	0x0004
#define SMTP_C_PIPELINING	0x0008
#define SMTP_C_CHUNKING		0x0010
#define SMTP_C_SMTPUTF8		0x0020
#define SMTP_C_UTF8STRICT	0x0040
#define SMTP_C_LAX		0x0080
#define SMTP_C_AUTH		0x0100
#define SMTP_C_TLS		0x0200
#define SMTP_C_TLSREQ		0x0400

#define R_UNRECOGNIZED	"500 command unrecognized"
#define R_TOOLONG	"500 line too long"
#define R_PARAMREQ	"501 parameter required"
#define R_SYNTAX	"501 syntax error in parameters"
#define R_NOPARAMS	"501 syntax error (no parameters allowed)"
#define R_NOTIMPL	"502 command not implemented"
#define R_SEQUENCE	\
    "503 command out of sequence -- use RSET to resynchronise"
#define R_AUTHREQ	"530 authentication required"
#define R_TLSREQ	"530 encryption required: use starttls"
#define R_TOOBIG	"552 message size exceeds fixed maximum message size"
#define R_NORCPT	"554 no valid recipients"
#define R_EMPTYRCPT	"550 invalid empty mailbox"
#define R_BADVRFY	"550 invalid mailbox"
#define R_TOOMANY	"452 too many recipients"
#define R_RESET		"250 state reset"
#define R_NOOP		"250 noop"
#define R_QUIT		"221 OK"
#define R_DATA		"354 start mail input -- end with <CRLF>.<CRLF>"
#define R_PROCESSED	"250 message processed"
#define R_TLSREADY	"220 ready to start tls"
#define R_AUTHOK	"235 authentication successful"
#define R_AUTHFAIL	"535 authentication failed"
#define R_AUTHTEMP	"454 temporary authentication failure"
#define R_AUTHCANCEL	"501 authentication cancelled"
#define R_BADB64	"501 invalid base64 encoding"
#define R_BADRESP	"501 invalid authentication response"
#define R_BADMECH	"504 unsupported authentication mechanism"
#define R_AUTHDONE	"503 already authenticated"
#define R_CANNOTVRFY	"252 cannot vrfy"
#define R_BADPATH	"553 mailbox name not allowed: "
#define R_BADPARAM	"555 unsupported parameter"

#define REASON_ERRORS	"too many protocol errors from the client"
#define REASON_QUIT	"smtp protocol done"
#define REASON_ABORT	"address verifier abort"
#define LOG_LONGLINE	"very long line detected"

#define REPLY_MAX	1024

struct proto_cmd {
	const char	*verb;
	void		(*fn)(struct smtp_proto *, char *);
};

static void	 proto_send(struct smtp_proto *, const char *);
static void	 proto_sendf(struct smtp_proto *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static int	 proto_error(struct smtp_proto *);
static void	 proto_fail(struct smtp_proto *, const char *);
static void	 proto_close(struct smtp_proto *, const char *);
static void	 proto_request(struct smtp_proto *, struct smtp_request *);
static void	 proto_reset(struct smtp_proto *);
static void	 proto_clear_tx(struct smtp_proto *);
static void	 proto_clean(const char *, char *, size_t);
static void	 proto_reply_text(struct smtp_proto *, int, const char *,
		    const char *, const char *);
static void	 proto_received(struct smtp_proto *);
static void	 proto_content(struct smtp_proto *, const char *, size_t);
static void	 proto_command(struct smtp_proto *, const char *, size_t);
static void	 proto_data_line(struct smtp_proto *, const char *, size_t);
static int	 proto_data_dot(struct smtp_proto *, const char *, size_t);
static void	 proto_data_end(struct smtp_proto *);
static void	 proto_chunk_end(struct smtp_proto *);
static int	 proto_can_mail(struct smtp_proto *);
static void	 proto_sasl_end(struct smtp_proto *);
static void	 proto_sasl_result(struct smtp_proto *, int);
static void	 proto_sasl_request(struct smtp_proto *);
static void	 cmd_ehlo(struct smtp_proto *, char *);
static void	 cmd_helo(struct smtp_proto *, char *);
static char	*proto_path_args(struct smtp_proto *, char *, const char *,
		    size_t *, size_t *);
static void	 cmd_mail(struct smtp_proto *, char *);
static void	 cmd_rcpt(struct smtp_proto *, char *);
static void	 cmd_data(struct smtp_proto *, char *);
static void	 cmd_bdat(struct smtp_proto *, char *);
static void	 cmd_rset(struct smtp_proto *, char *);
static void	 cmd_noop(struct smtp_proto *, char *);
static void	 cmd_quit(struct smtp_proto *, char *);
static void	 cmd_vrfy(struct smtp_proto *, char *);
static void	 cmd_notimpl(struct smtp_proto *, char *);
static void	 cmd_starttls(struct smtp_proto *, char *);
static void	 cmd_auth(struct smtp_proto *, char *);

static const struct proto_cmd proto_cmds[] = {
	{ "EHLO",	cmd_ehlo },
	{ "HELO",	cmd_helo },
	{ "MAIL",	cmd_mail },
	{ "RCPT",	cmd_rcpt },
	{ "DATA",	cmd_data },
	{ "BDAT",	cmd_bdat },
	{ "RSET",	cmd_rset },
	{ "NOOP",	cmd_noop },
	{ "QUIT",	cmd_quit },
	{ "VRFY",	cmd_vrfy },
	{ "HELP",	cmd_notimpl },
	{ "EXPN",	cmd_notimpl },
	{ "STARTTLS",	cmd_starttls },
	{ "AUTH",	cmd_auth },
};

static void
proto_send(struct smtp_proto *p, const char *line)
{
	p->ops->send(p->arg, line);
}

static void
proto_sendf(struct smtp_proto *p, const char *fmt, ...)
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

/*
 * Count a protocol error; the 8th closes the connection after its reply.
 * Returns 1 if it did.
 */
static int
proto_error(struct smtp_proto *p)
{
	if (++p->errors < SMTP_PROTO_MAXERRORS)
		return (0);
	proto_close(p, REASON_ERRORS);
	return (1);
}

/* A reply that counts as a protocol error. */
static void
proto_fail(struct smtp_proto *p, const char *line)
{
	proto_send(p, line);
	proto_error(p);
}

static void
proto_close(struct smtp_proto *p, const char *reason)
{
	proto_sasl_end(p);
	p->state = SMTP_ST_CLOSED;
	p->ops->close(p->arg, reason);
}

/*
 * Hand a request to the session.  The last thing a caller does: the
 * session may answer at once, from inside the call.
 */
static void
proto_request(struct smtp_proto *p, struct smtp_request *req)
{
	p->state = SMTP_ST_WAIT;
	p->wait = req->kind;
	p->ops->request(p->arg, req);
}

static void
proto_clear_tx(struct smtp_proto *p)
{
	p->mail = 0;
	p->body = ADDR_BODY_NONE;
	p->smtputf8 = 0;
	p->nrcpt = 0;
	p->msgsize = 0;
	p->toobig = 0;
	p->midline = 0;
	p->lastlf = 0;
	p->lastcr = 0;
	p->ndot = 0;
	p->linelen = 0;
	p->bdat = 0;
	p->chunk_left = 0;
	p->chunk_size = 0;
	p->chunk_last = 0;
	p->chunk_err = NULL;
	p->chunk_errcount = 0;
}

/* Abandon the transaction; a message in progress is discarded. */
static void
proto_reset(struct smtp_proto *p)
{
	struct smtp_request	 req;

	if (p->mail) {
		memset(&req, 0, sizeof(req));
		req.kind = SMTP_REQ_RSET;
		p->ops->request(p->arg, &req);
	}
	proto_clear_tx(p);
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

/*
 * Send text from outside as a reply: as it is when it starts with a
 * three-digit code whose first digit is in classes, otherwise after
 * defcode.  Control characters become spaces.
 */
static void
proto_reply_text(struct smtp_proto *p, int defcode, const char *classes,
    const char *text, const char *deftext)
{
	char	 clean[512];

	if (text == NULL || *text == '\0')
		text = deftext;
	proto_clean(text, clean, sizeof(clean));
	if (clean[0] != '\0' && strchr(classes, clean[0]) != NULL &&
	    clean[1] >= '0' && clean[1] <= '9' &&
	    clean[2] >= '0' && clean[2] <= '9' && clean[3] == ' ')
		proto_send(p, clean);
	else
		proto_sendf(p, "%d %s", defcode, clean);
}

int
smtp_proto_received(char *buf, size_t size, const char *helo,
    const char *client_ip, const char *domain, int authenticated,
    const char *tls_cipher, time_t t, long gmtoff)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	char		 name[BOUNDS_DOMAIN + 1];
	struct tm	 tm;
	time_t		 lt;
	long		 off;
	size_t		 i;
	unsigned char	 c;
	int		 n;

	for (i = 0; helo[i] != '\0' && i < sizeof(name) - 1; i++) {
		c = (unsigned char)helo[i];
		name[i] = (c <= 32 || c == 127) ? '-' : (char)c;
	}
	name[i] = '\0';
	lt = t + (time_t)gmtoff;
	if (gmtime_r(&lt, &tm) == NULL)
		return (-1);
	off = gmtoff < 0 ? -gmtoff : gmtoff;
	n = snprintf(buf, size, "Received: from %s ([%s]) by %s with ESMTP%s%s"
	    "%s%s ; %s, %d %s %d %02d:%02d:%02d %c%02ld%02ld\r\n",
	    name, client_ip, domain,
	    tls_cipher != NULL ? "S" : "", authenticated ? "A" : "",
	    tls_cipher != NULL && *tls_cipher != '\0' ? " tls " : "",
	    tls_cipher != NULL ? tls_cipher : "",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    gmtoff < 0 ? '-' : '+', off / 3600, (off % 3600) / 60);
	if (n < 0 || (size_t)n >= size)
		return (-1);
	return (n);
}

/* The Received line, first in the content (not with anonymous=content). */
static void
proto_received(struct smtp_proto *p)
{
	char		 buf[REPLY_MAX];
	struct tm	 tm;
	time_t		 now;
	long		 gmtoff = 0;
	int		 n;

	if (p->conf & SMTP_C_ANON_CONTENT)
		return;
	now = p->ops->now != NULL ? p->ops->now(p->arg) : time(NULL);
	if (localtime_r(&now, &tm) != NULL)
		gmtoff = tm.tm_gmtoff;
	n = smtp_proto_received(buf, sizeof(buf), p->helo, p->client_ip,
	    p->domain, p->authenticated, p->tls ? p->cipher : NULL, now,
	    gmtoff);
	if (n > 0)
		p->ops->content(p->arg, buf, (size_t)n);
}

/* Message octets, counted against --size; discarded once over it. */
static void
proto_content(struct smtp_proto *p, const char *data, size_t len)
{
	if (len == 0)
		return;
	p->msgsize += len;
	if (p->size_limit != 0 && p->msgsize > p->size_limit)
		p->toobig = 1;
	if (!p->toobig)
		p->ops->content(p->arg, data, len);
}

void
smtp_proto_init(struct smtp_proto *p, const struct smtp_proto_conf *conf,
    const struct smtp_ops *ops, void *arg)
{
	const char	*tlsmechs;

	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->arg = arg;
	p->state = SMTP_ST_NEW;
	(void)strlcpy(p->domain, conf->domain != NULL ? conf->domain : "",
	    sizeof(p->domain));
	(void)strlcpy(p->version, conf->version != NULL ? conf->version : "",
	    sizeof(p->version));
	(void)strlcpy(p->client_ip, conf->client_ip != NULL ?
	    conf->client_ip : "", sizeof(p->client_ip));
	(void)strlcpy(p->mechs, conf->auth_mechs != NULL ? conf->auth_mechs :
	    "", sizeof(p->mechs));
	tlsmechs = conf->auth_mechs_tls != NULL ? conf->auth_mechs_tls :
	    p->mechs;
	(void)strlcpy(p->mechs_tls, tlsmechs, sizeof(p->mechs_tls));
	p->size_limit = conf->size_limit;
	if (conf->anon_vrfy)
		p->conf |= SMTP_C_ANON_VRFY;
	if (conf->anon_server)
		p->conf |= SMTP_C_ANON_SERVER;
	if (conf->anon_content)
		p->conf |= SMTP_C_ANON_CONTENT;
	if (conf->pipelining)
		p->conf |= SMTP_C_PIPELINING;
	if (conf->chunking)
		p->conf |= SMTP_C_CHUNKING;
	if (conf->smtputf8 || conf->smtputf8strict)
		p->conf |= SMTP_C_SMTPUTF8;
	if (conf->smtputf8strict)
		p->conf |= SMTP_C_UTF8STRICT;
	if (conf->nostrictparsing)
		p->conf |= SMTP_C_LAX;
	if (conf->auth)
		p->conf |= SMTP_C_AUTH;
	if (conf->tls_available)
		p->conf |= SMTP_C_TLS;
	if (conf->tls_required)
		p->conf |= SMTP_C_TLSREQ;
	if (conf->tls_active) {
		p->tls = 1;
		(void)strlcpy(p->cipher, conf->tls_cipher != NULL ?
		    conf->tls_cipher : "", sizeof(p->cipher));
	}
	proto_clear_tx(p);
}

void
smtp_proto_start(struct smtp_proto *p)
{
	if (p->state != SMTP_ST_NEW)
		return;
	p->state = SMTP_ST_CMD;
	if (p->conf & SMTP_C_ANON_SERVER)
		proto_send(p, "220 greeting");
	else
		proto_sendf(p, "220 %s -- E-MailRelay V%s -- Service ready",
		    p->domain, p->version);
}

int
smtp_proto_line(struct smtp_proto *p, const char *line, size_t len)
{
	size_t	 n;
	int	 complete;

	switch (p->state) {
	case SMTP_ST_DATA:
		proto_data_line(p, line, len);
		return (SMTP_PROTO_OK);
	case SMTP_ST_CMD:
	case SMTP_ST_SASL:
		break;
	default:
		return (SMTP_PROTO_BUSY);
	}
	complete = len > 0 && line[len - 1] == '\n';
	if (!complete) {
		/* a fragment of an overlong line: drop it, reply at LF */
		p->overlong = 1;
		return (SMTP_PROTO_OK);
	}
	if (p->overlong || len > BOUNDS_LINE) {
		p->overlong = 0;
		smtp_proto_overlong(p);
		return (SMTP_PROTO_OK);
	}
	n = len - 1;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (p->state == SMTP_ST_SASL) {
		p->state = SMTP_ST_CMD;
		proto_sasl_result(p, sasl_step(&p->sasl, line, n));
	} else
		proto_command(p, line, n);
	if (p->drop) {
		p->drop = 0;
		return (SMTP_PROTO_DROP);
	}
	return (SMTP_PROTO_OK);
}

void
smtp_proto_overlong(struct smtp_proto *p)
{
	if (p->state != SMTP_ST_CMD && p->state != SMTP_ST_SASL)
		return;
	if (p->state == SMTP_ST_SASL) {
		proto_sasl_end(p);
		p->state = SMTP_ST_CMD;
	}
	proto_fail(p, R_TOOLONG);
}

/* One command line without terminator. */
static void
proto_command(struct smtp_proto *p, const char *line, size_t len)
{
	char	 buf[BOUNDS_LINE + 1];
	char	*args;
	size_t	 i, vlen;

	if (memchr(line, '\0', len) != NULL || len >= sizeof(buf)) {
		proto_fail(p, R_UNRECOGNIZED);
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		buf[--len] = '\0';
	for (vlen = 0; vlen < len && buf[vlen] != ' '; vlen++)
		;
	args = buf + vlen;
	while (*args == ' ')
		args++;
	for (i = 0; i < sizeof(proto_cmds) / sizeof(proto_cmds[0]); i++) {
		if (strlen(proto_cmds[i].verb) == vlen &&
		    strncasecmp(buf, proto_cmds[i].verb, vlen) == 0) {
			proto_cmds[i].fn(p, args);
			return;
		}
	}
	proto_fail(p, R_UNRECOGNIZED);
}

static void
cmd_ehlo(struct smtp_proto *p, char *args)
{
	char		 lines[12][BOUNDS_DOMAIN + 32];
	const char	*mechs;
	char		*sp;
	size_t		 i, n = 0;

	if (*args == '\0') {
		proto_fail(p, R_PARAMREQ);
		return;
	}
	if ((sp = strchr(args, ' ')) != NULL)
		*sp = '\0';
	proto_reset(p);
	(void)strlcpy(p->helo, args, sizeof(p->helo));
	p->greeted = 1;
	p->authenticated = 0;
	p->authid[0] = '\0';
	p->authmech[0] = '\0';

	(void)snprintf(lines[n++], sizeof(lines[0]), "%s says hello",
	    (p->conf & SMTP_C_ANON_SERVER) ? "smtp" : p->domain);
	if (p->size_limit != 0)
		(void)snprintf(lines[n++], sizeof(lines[0]), "SIZE %llu",
		    (unsigned long long)p->size_limit);
	mechs = p->tls ? p->mechs_tls : p->mechs;
	if ((p->conf & SMTP_C_AUTH) && *mechs != '\0')
		(void)snprintf(lines[n++], sizeof(lines[0]), "AUTH %s", mechs);
	if ((p->conf & SMTP_C_TLS) && !p->tls)
		(void)strlcpy(lines[n++], "STARTTLS", sizeof(lines[0]));
	if ((p->conf & SMTP_C_ANON_VRFY) == 0)
		(void)strlcpy(lines[n++], "VRFY", sizeof(lines[0]));
	if (p->conf & SMTP_C_CHUNKING) {
		(void)strlcpy(lines[n++], "CHUNKING", sizeof(lines[0]));
		(void)strlcpy(lines[n++], "BINARYMIME", sizeof(lines[0]));
	}
	if (p->conf & SMTP_C_PIPELINING)
		(void)strlcpy(lines[n++], "PIPELINING", sizeof(lines[0]));
	if (p->conf & SMTP_C_SMTPUTF8)
		(void)strlcpy(lines[n++], "SMTPUTF8", sizeof(lines[0]));
	(void)strlcpy(lines[n++], "8BITMIME", sizeof(lines[0]));
	for (i = 0; i < n; i++)
		proto_sendf(p, "250%c%s", i + 1 < n ? '-' : ' ', lines[i]);
}

static void
cmd_helo(struct smtp_proto *p, char *args)
{
	char	*sp;

	if (*args == '\0') {
		proto_fail(p, R_PARAMREQ);
		return;
	}
	if ((sp = strchr(args, ' ')) != NULL)
		*sp = '\0';
	proto_reset(p);
	(void)strlcpy(p->helo, args, sizeof(p->helo));
	p->greeted = 1;
	p->authenticated = 0;
	p->authid[0] = '\0';
	p->authmech[0] = '\0';
	if (p->conf & SMTP_C_ANON_SERVER)
		proto_send(p, "250 hello");
	else
		proto_sendf(p, "250 %s says hello", p->domain);
}

/* Common checks for MAIL (and VRFY): TLS first, then AUTH. */
static int
proto_can_mail(struct smtp_proto *p)
{
	if ((p->conf & SMTP_C_TLSREQ) && !p->tls) {
		proto_fail(p, R_TLSREQ);
		return (0);
	}
	if ((p->conf & SMTP_C_AUTH) && !p->authenticated &&
	    p->trusted[0] == '\0') {
		proto_fail(p, R_AUTHREQ);
		return (0);
	}
	return (1);
}

/*
 * The "FROM:" or "TO:" part of MAIL and RCPT: returns the path and what
 * follows it, with *span the path's length and *len the rest's, or NULL
 * after the error reply.
 */
static char *
proto_path_args(struct smtp_proto *p, char *args, const char *word,
    size_t *span, size_t *len)
{
	char	*rest;
	size_t	 n = strlen(word);

	if (*args == '\0') {
		proto_fail(p, R_PARAMREQ);
		return (NULL);
	}
	if (strncasecmp(args, word, n) != 0) {
		proto_fail(p, R_SYNTAX);
		return (NULL);
	}
	for (rest = args + n; *rest == ' '; rest++)
		;
	*len = strlen(rest);
	*span = addr_path_span(rest, *len);
	if (*span < *len && rest[*span] != ' ') {
		proto_fail(p, R_SYNTAX);
		return (NULL);
	}
	return (rest);
}

static void
cmd_mail(struct smtp_proto *p, char *args)
{
	struct smtp_request	 req;
	struct mailaddr		 ma;
	struct mailparams	 mp;
	char			 auth[512];
	const char		*err;
	char			*rest;
	size_t			 span, rlen;
	int			 flags, r;

	if (!p->greeted) {
		proto_fail(p, R_SEQUENCE);
		return;
	}
	if (!proto_can_mail(p))
		return;
	if (p->mail) {
		proto_fail(p, R_SEQUENCE);
		return;
	}
	if ((rest = proto_path_args(p, args, "FROM:", &span, &rlen)) == NULL)
		return;
	flags = (p->conf & SMTP_C_LAX) ? ADDR_F_LAX : 0;
	if (p->conf & SMTP_C_CHUNKING)
		flags |= ADDR_F_BINARY;
	if (p->conf & SMTP_C_SMTPUTF8)
		flags |= ADDR_F_SMTPUTF8;
	r = addr_parse_params(rest + span, rlen - span, flags, &mp, &err);
	if (r == ADDR_EUNKNOWN) {
		proto_fail(p, R_BADPARAM);
		return;
	}
	if (r != 0) {
		proto_sendf(p, "501 %s", err);
		proto_error(p);
		return;
	}
	flags = (p->conf & SMTP_C_LAX) ? ADDR_F_LAX : 0;
	if (mp.smtputf8 || (p->conf & SMTP_C_UTF8STRICT) == 0)
		flags |= ADDR_F_UTF8;
	if (addr_parse_path(rest, span, flags, &ma, &err) == -1) {
		proto_sendf(p, "%s%s", R_BADPATH, err);
		proto_error(p);
		return;
	}
	if (mp.has_size && p->size_limit != 0 && mp.size > p->size_limit) {
		proto_send(p, R_TOOBIG);
		return;
	}
	if (addr_format(&ma, p->addr, sizeof(p->addr)) == -1) {
		proto_fail(p, R_BADPATH "path too long");
		return;
	}
	auth[0] = '\0';
	if (mp.auth != NULL && mp.authlen < sizeof(auth)) {
		memcpy(auth, mp.auth, mp.authlen);
		auth[mp.authlen] = '\0';
	}
	p->body = mp.body;
	p->smtputf8 = mp.smtputf8;
	memset(&req, 0, sizeof(req));
	req.kind = SMTP_REQ_MAIL;
	req.addr = p->addr;
	req.utf8 = ma.utf8;
	req.smtputf8 = mp.smtputf8;
	req.body = mp.body;
	req.size = mp.has_size ? mp.size : 0;
	req.auth = auth;
	proto_request(p, &req);
}

static void
cmd_rcpt(struct smtp_proto *p, char *args)
{
	struct smtp_request	 req;
	struct mailaddr		 ma;
	struct mailparams	 mp;
	const char		*err;
	char			*rest;
	size_t			 span, rlen;
	int			 flags, r;

	if (!p->mail || p->bdat) {
		proto_fail(p, R_SEQUENCE);
		return;
	}
	if ((rest = proto_path_args(p, args, "TO:", &span, &rlen)) == NULL)
		return;
	flags = ADDR_F_RCPT | ((p->conf & SMTP_C_LAX) ? ADDR_F_LAX : 0);
	r = addr_parse_params(rest + span, rlen - span, flags, &mp, &err);
	if (r == ADDR_EUNKNOWN) {
		proto_fail(p, R_BADPARAM);
		return;
	}
	if (r != 0) {
		proto_sendf(p, "501 %s", err);
		proto_error(p);
		return;
	}
	if (p->smtputf8 || (p->conf & SMTP_C_UTF8STRICT) == 0)
		flags |= ADDR_F_UTF8;
	if (addr_parse_path(rest, span, flags, &ma, &err) == -1) {
		proto_sendf(p, "%s%s", R_BADPATH, err);
		proto_error(p);
		return;
	}
	if (addr_is_null(&ma)) {
		proto_fail(p, R_EMPTYRCPT);
		return;
	}
	if (p->nrcpt >= BOUNDS_RCPT) {
		proto_send(p, R_TOOMANY);
		return;
	}
	if (addr_format(&ma, p->addr, sizeof(p->addr)) == -1) {
		proto_fail(p, R_BADPATH "path too long");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = SMTP_REQ_RCPT;
	req.addr = p->addr;
	req.utf8 = ma.utf8;
	proto_request(p, &req);
}

static void
cmd_data(struct smtp_proto *p, char *args)
{
	if (!p->mail || p->bdat || p->body == ADDR_BODY_BINARYMIME) {
		proto_fail(p, R_SEQUENCE);
		return;
	}
	if (*args != '\0') {
		proto_fail(p, R_NOPARAMS);
		return;
	}
	if (p->nrcpt == 0) {
		proto_send(p, R_NORCPT);
		return;
	}
	proto_send(p, R_DATA);
	p->state = SMTP_ST_DATA;
	p->msgsize = 0;
	p->toobig = 0;
	p->midline = 0;
	p->lastlf = 0;
	p->lastcr = 0;
	p->ndot = 0;
	p->linelen = 0;
	proto_received(p);
}

/*
 * A line that is a lone dot.  Only "." CRLF after a CRLF line ends the
 * message; with a bare LF on either side it is content, kept as sent, so
 * that nothing smuggled after "\n.\n" or "\r\n.\n" becomes a second
 * transaction.  Returns 0 if line is not a lone dot line.
 */
static int
proto_data_dot(struct smtp_proto *p, const char *line, size_t len)
{
	int	 crlf;

	if (len == 2 && memcmp(line, ".\n", 2) == 0)
		crlf = 0;
	else if (len == 3 && memcmp(line, ".\r\n", 3) == 0)
		crlf = 1;
	else
		return (0);
	if (crlf && !p->lastlf) {
		proto_data_end(p);
		return (1);
	}
	proto_content(p, line, len);
	p->midline = 0;
	p->linelen = 0;
	p->lastlf = !crlf;
	p->lastcr = 0;
	return (1);
}

/* One DATA line with its terminator, or a fragment of a long one. */
static void
proto_data_line(struct smtp_proto *p, const char *line, size_t len)
{
	char	 tmp[3];
	size_t	 body, n;
	int	 complete, crlf;

	complete = len > 0 && line[len - 1] == '\n';
	if (p->ndot > 0 && !complete && p->ndot + len < sizeof(p->dot) + 1) {
		/* still too short to tell: "." then "\r" */
		memcpy(p->dot + p->ndot, line, len);
		p->ndot += len;
		return;
	}
	if (p->ndot > 0) {
		/* a "." or ".\r" held back at the start of a line */
		if (complete && p->ndot + len <= sizeof(tmp)) {
			memcpy(tmp, p->dot, p->ndot);
			memcpy(tmp + p->ndot, line, len);
			n = p->ndot + len;
			p->ndot = 0;
			if (proto_data_dot(p, tmp, n))
				return;
			p->ndot = n - len;
		}
		/* not the end: the held-back dot was stuffing */
		proto_content(p, p->dot + 1, p->ndot - 1);
		p->linelen += p->ndot;
		p->lastcr = p->dot[p->ndot - 1] == '\r';
		p->ndot = 0;
		p->midline = 1;
	}
	if (!p->midline && len > 0 && line[0] == '.') {
		if (proto_data_dot(p, line, len))
			return;
		if (!complete && len < 3) {
			memcpy(p->dot, line, len);
			p->ndot = len;
			return;
		}
		/* dot-unstuffing */
		line++;
		len--;
		p->linelen++;
	}
	body = len;
	crlf = 0;
	if (complete) {
		body--;
		if (body > 0 && line[body - 1] == '\r') {
			body--;
			crlf = 1;
		} else if (body == 0 && p->lastcr)
			crlf = 1;	/* CR at the end of the last fragment */
	}
	p->linelen += body;
	if (p->linelen > BOUNDS_TEXTLINE && !p->longline_logged) {
		p->longline_logged = 1;
		if (p->ops->log != NULL)
			p->ops->log(p->arg, LOG_LONGLINE);
	}
	proto_content(p, line, len);
	p->midline = !complete;
	if (complete) {
		p->linelen = 0;
		p->lastlf = !crlf;
		p->lastcr = 0;
	} else if (len > 0)
		p->lastcr = line[len - 1] == '\r';
}

/* The end of the message: commit it, or refuse it when too big. */
static void
proto_data_end(struct smtp_proto *p)
{
	struct smtp_request	 req;

	p->state = SMTP_ST_CMD;
	if (p->toobig) {
		proto_reset(p);
		proto_send(p, R_TOOBIG);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = SMTP_REQ_DATA_END;
	req.size = p->msgsize;
	proto_request(p, &req);
}

static void
cmd_bdat(struct smtp_proto *p, char *args)
{
	char		*sp;
	uint64_t	 n = 0;
	size_t		 i;
	int		 last = 0;

	if ((p->conf & SMTP_C_CHUNKING) == 0) {
		proto_fail(p, R_UNRECOGNIZED);
		return;
	}
	if (*args == '\0') {
		proto_fail(p, R_PARAMREQ);
		return;
	}
	if ((sp = strchr(args, ' ')) != NULL) {
		*sp++ = '\0';
		while (*sp == ' ')
			sp++;
		if (strcasecmp(sp, "LAST") != 0) {
			proto_fail(p, R_SYNTAX);
			return;
		}
		last = 1;
	}
	/* chunk-size = 1*DIGIT; at most 19 digits fits in 64 bits */
	for (i = 0; args[i] != '\0'; i++) {
		if (args[i] < '0' || args[i] > '9' || i >= 19) {
			proto_fail(p, R_SYNTAX);
			return;
		}
		n = n * 10 + (uint64_t)(args[i] - '0');
	}
	p->chunk_left = n;
	p->chunk_size = n;
	p->chunk_last = last;
	p->chunk_err = NULL;
	p->chunk_errcount = 0;
	/* a refused chunk is still read, then answered */
	if (!p->mail) {
		p->chunk_err = R_SEQUENCE;
		p->chunk_errcount = 1;
	} else if (p->nrcpt == 0)
		p->chunk_err = R_NORCPT;
	else if (!p->bdat) {
		p->bdat = 1;
		p->msgsize = 0;
		p->toobig = 0;
		proto_received(p);
	}
	p->state = SMTP_ST_CHUNK;
	if (n == 0)
		proto_chunk_end(p);
}

uint64_t
smtp_proto_chunk_left(const struct smtp_proto *p)
{
	return (p->state == SMTP_ST_CHUNK ? p->chunk_left : 0);
}

size_t
smtp_proto_chunk(struct smtp_proto *p, const char *data, size_t len)
{
	size_t	 take;

	if (p->state != SMTP_ST_CHUNK)
		return (0);
	take = len;
	if ((uint64_t)take > p->chunk_left)
		take = (size_t)p->chunk_left;
	if (p->chunk_err == NULL)
		proto_content(p, data, take);
	p->chunk_left -= take;
	if (p->chunk_left == 0)
		proto_chunk_end(p);
	return (take);
}

/* All octets of a BDAT chunk are in. */
static void
proto_chunk_end(struct smtp_proto *p)
{
	p->state = SMTP_ST_CMD;
	if (p->chunk_err != NULL) {
		proto_send(p, p->chunk_err);
		if (p->chunk_errcount)
			proto_error(p);
		return;
	}
	if (!p->chunk_last) {
		proto_sendf(p, "250 %llu bytes received",
		    (unsigned long long)p->chunk_size);
		return;
	}
	proto_data_end(p);
}

static void
cmd_rset(struct smtp_proto *p, char *args)
{
	proto_reset(p);
	proto_send(p, R_RESET);
}

static void
cmd_noop(struct smtp_proto *p, char *args)
{
	proto_send(p, R_NOOP);
}

static void
cmd_quit(struct smtp_proto *p, char *args)
{
	proto_send(p, R_QUIT);
	proto_close(p, REASON_QUIT);
}

static void
cmd_notimpl(struct smtp_proto *p, char *args)
{
	proto_send(p, R_NOTIMPL);
}

static void
cmd_vrfy(struct smtp_proto *p, char *args)
{
	struct smtp_request	 req;
	size_t			 len;

	if (!proto_can_mail(p))
		return;
	if (p->conf & SMTP_C_ANON_VRFY) {
		proto_send(p, R_CANNOTVRFY);
		return;
	}
	len = strlen(args);
	if (len >= 2 && args[0] == '<' && args[len - 1] == '>') {
		args[len - 1] = '\0';
		args++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(p->addr)) {
		proto_send(p, R_BADVRFY);
		return;
	}
	(void)strlcpy(p->addr, args, sizeof(p->addr));
	memset(&req, 0, sizeof(req));
	req.kind = SMTP_REQ_VRFY;
	req.addr = p->addr;
	proto_request(p, &req);
}

static void
cmd_starttls(struct smtp_proto *p, char *args)
{
	if ((p->conf & SMTP_C_TLS) == 0) {
		proto_fail(p, R_UNRECOGNIZED);
		return;
	}
	if (p->tls) {
		proto_fail(p, R_SEQUENCE);
		return;
	}
	if (*args != '\0') {
		proto_fail(p, R_NOPARAMS);
		return;
	}
	proto_send(p, R_TLSREADY);
	/* RFC 3207 4.2: forget everything learnt before the handshake */
	proto_reset(p);
	p->greeted = 0;
	p->helo[0] = '\0';
	p->authenticated = 0;
	p->authid[0] = '\0';
	p->authmech[0] = '\0';
	p->state = SMTP_ST_TLS;
	p->drop = 1;
	p->ops->start_tls(p->arg);
}

void
smtp_proto_tls_done(struct smtp_proto *p, const char *cipher)
{
	p->tls = 1;
	(void)strlcpy(p->cipher, cipher != NULL ? cipher : "",
	    sizeof(p->cipher));
	if (p->state == SMTP_ST_TLS)
		p->state = SMTP_ST_CMD;
}

static void
proto_sasl_end(struct smtp_proto *p)
{
	sasl_clear(&p->sasl);
}

static void
cmd_auth(struct smtp_proto *p, char *args)
{
	char	*mech, *initial;
	time_t	 now;
	int	 r;

	if ((p->conf & SMTP_C_AUTH) == 0) {
		proto_send(p, R_NOTIMPL);
		return;
	}
	if ((p->conf & SMTP_C_TLSREQ) && !p->tls) {
		proto_fail(p, R_TLSREQ);
		return;
	}
	if (!p->greeted || p->mail) {
		proto_fail(p, R_SEQUENCE);
		return;
	}
	if (p->authenticated) {
		proto_fail(p, R_AUTHDONE);
		return;
	}
	if (*args == '\0') {
		proto_fail(p, R_PARAMREQ);
		return;
	}
	mech = args;
	initial = NULL;
	if ((initial = strchr(args, ' ')) != NULL) {
		*initial++ = '\0';
		while (*initial == ' ')
			initial++;
		if (strchr(initial, ' ') != NULL) {
			proto_fail(p, R_SYNTAX);
			return;
		}
	}
	now = p->ops->now != NULL ? p->ops->now(p->arg) : time(NULL);
	r = sasl_start(&p->sasl, p->tls ? p->mechs_tls : p->mechs, mech,
	    initial, initial != NULL ? strlen(initial) : 0, p->domain, now);
	(void)strlcpy(p->authmech, sasl_mech(&p->sasl), sizeof(p->authmech));
	proto_sasl_result(p, r);
}

/* Act on a result of sasl_start() or sasl_step(), in command state. */
static void
proto_sasl_result(struct smtp_proto *p, int r)
{
	switch (r) {
	case SASL_CHALLENGE:
		p->state = SMTP_ST_SASL;
		proto_sendf(p, "334 %s", sasl_challenge(&p->sasl));
		return;
	case SASL_DONE:
		proto_sasl_request(p);
		return;
	case SASL_ETEMP:
		proto_sasl_end(p);
		proto_send(p, R_AUTHTEMP);
		return;
	default:
		break;
	}
	proto_sasl_end(p);
	p->authmech[0] = '\0';
	switch (r) {
	case SASL_CANCEL:
		proto_send(p, R_AUTHCANCEL);
		break;
	case SASL_EBADMECH:
		proto_fail(p, R_BADMECH);
		break;
	case SASL_ESYNTAX:
		proto_fail(p, R_SYNTAX);
		break;
	case SASL_EBASE64:
		proto_fail(p, R_BADB64);
		break;
	case SASL_EFAIL:
		proto_send(p, R_AUTHFAIL);
		break;
	default:
		proto_fail(p, R_BADRESP);
		break;
	}
}

/* Credentials complete: ask lookup, then wipe them. */
static void
proto_sasl_request(struct smtp_proto *p)
{
	struct smtp_request	 req;

	/* sasl.c bounds the id to BOUNDS_DOMAIN octets */
	(void)strlcpy(p->authid, p->sasl.id, sizeof(p->authid));
	memset(&req, 0, sizeof(req));
	req.kind = SMTP_REQ_AUTH;
	req.mech = p->authmech;
	req.authzid = p->sasl.authzid;
	req.id = p->authid;
	req.secret = p->sasl.secret;
	req.challenge = sasl_cram_challenge(&p->sasl);
	proto_request(p, &req);
	proto_sasl_end(p);
}

int
smtp_proto_reply(struct smtp_proto *p, enum smtp_req kind, int status,
    const char *text)
{
	char	 clean[512];

	if (p->state != SMTP_ST_WAIT || p->wait != kind)
		return (-1);
	p->state = SMTP_ST_CMD;
	p->wait = SMTP_REQ_NONE;
	switch (kind) {
	case SMTP_REQ_MAIL:
		if (status == MSG_OK) {
			p->mail = 1;
			proto_sendf(p, "250 sender <%s> OK", p->addr);
		} else {
			p->body = ADDR_BODY_NONE;
			p->smtputf8 = 0;
			proto_reply_text(p, status == MSG_TEMPFAIL ? 452 : 553,
			    "45", text, "cannot accept message");
		}
		break;
	case SMTP_REQ_RCPT:
		if (status == SMTP_STATUS_ABORT) {
			proto_close(p, REASON_ABORT);
			break;
		}
		if (status == MSG_OK || status == SMTP_STATUS_LOCAL) {
			p->nrcpt++;
			proto_sendf(p, "250 recipient <%s> %sOK", p->addr,
			    status == SMTP_STATUS_LOCAL ? " " : "");
		} else
			proto_reply_text(p, status == MSG_TEMPFAIL ? 450 : 550,
			    "45", text, "mailbox unavailable");
		break;
	case SMTP_REQ_VRFY:
		if (status == SMTP_STATUS_ABORT) {
			proto_close(p, REASON_ABORT);
			break;
		}
		if (status == SMTP_STATUS_LOCAL)
			proto_reply_text(p, 250, "", text, p->addr);
		else if (status == MSG_OK) {
			proto_clean(text != NULL && *text != '\0' ? text :
			    p->addr, clean, sizeof(clean));
			proto_sendf(p, "252 cannot verify but will accept: %s",
			    clean);
		}
		else
			proto_reply_text(p, status == MSG_TEMPFAIL ? 450 : 550,
			    "45", text, "mailbox unavailable");
		break;
	case SMTP_REQ_DATA_END:
		if (status == MSG_OK)
			proto_reply_text(p, 250, "2", text,
			    "message processed");
		else
			proto_reply_text(p, 452, "45", text, "error");
		proto_clear_tx(p);
		break;
	case SMTP_REQ_AUTH:
		if (status == MSG_OK) {
			p->authenticated = 1;
			proto_send(p, R_AUTHOK);
		} else {
			p->authid[0] = '\0';
			p->authmech[0] = '\0';
			proto_reply_text(p, status == MSG_TEMPFAIL ? 454 : 535,
			    "45", text, status == MSG_TEMPFAIL ?
			    "temporary authentication failure" :
			    "authentication failed");
		}
		break;
	default:
		return (-1);
	}
	return (0);
}

void
smtp_proto_set_trusted(struct smtp_proto *p, const char *keyword)
{
	(void)strlcpy(p->trusted, keyword != NULL ? keyword : "",
	    sizeof(p->trusted));
}

int
smtp_proto_busy(const struct smtp_proto *p)
{
	return (p->state == SMTP_ST_NEW || p->state == SMTP_ST_WAIT ||
	    p->state == SMTP_ST_TLS || p->state == SMTP_ST_CLOSED);
}

int
smtp_proto_closed(const struct smtp_proto *p)
{
	return (p->state == SMTP_ST_CLOSED);
}

int
smtp_proto_in_content(const struct smtp_proto *p)
{
	return (p->state == SMTP_ST_DATA || p->state == SMTP_ST_CHUNK);
}

int
smtp_proto_in_transaction(const struct smtp_proto *p)
{
	return (p->mail);
}

const char *
smtp_proto_auth_id(const struct smtp_proto *p)
{
	return (p->authenticated ? p->authid : NULL);
}

const char *
smtp_proto_auth_mech(const struct smtp_proto *p)
{
	return (p->authenticated ? p->authmech : NULL);
}

const char *
smtp_proto_helo(const struct smtp_proto *p)
{
	return (p->helo);
}

void
smtp_proto_clear(struct smtp_proto *p)
{
	proto_sasl_end(p);
}
