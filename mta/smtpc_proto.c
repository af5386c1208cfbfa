/*
 * SMTP client protocol engine (SPEC sections 5 and 14).  See
 * smtpc_proto.h.
 *
 * One state enum and one transition function per input kind: reply lines
 * are collected by smtpc_reply and a complete reply goes to proto_reply(),
 * which dispatches on the state.  A message's MAIL, RCPTs and DATA are
 * numbered steps 0..nrcpt+1 so that pipelined replies match in order.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "bounds.h"
#include "md5.h"
#include "sasl.h"
#include "secrets.h"
#include "smtpc_proto.h"
#include "smtpc_reply.h"

/* conf flags */
#define SMTPC_C_PIPELINING	0x0001
#define SMTPC_C_TLS		0x0002
#define SMTPC_C_TLSREQ		0x0004
#define SMTPC_C_TLSACTIVE	0x0008
#define SMTPC_C_SOME		0x0010
#define SMTPC_C_BINSTRICT	0x0020
#define SMTPC_C_8BITSTRICT	0x0040
#define SMTPC_C_UTF8STRICT	0x0080

#define E_PROTOCOL	"protocol error"
#define E_UNEXPECTED	"unexpected reply"
#define E_GREETING	"greeting rejected"
#define E_EHLO		"EHLO rejected"
#define E_HELO		"HELO rejected"
#define E_STARTTLS	"STARTTLS rejected"
#define E_RSET		"RSET rejected"
#define E_ABANDON	\
    "transaction abandoned: server wants data after a rejection"
#define E_MAILTOOLONG	"MAIL command too long"
#define R_ERROR		"error reply from the server"
#define CLOSE_QUIT	"quit"

#define CMD_MAX		(3 * BOUNDS_LINE + 128)	/* MAIL with parameters */

/* An AUTH line or response: the base64 of "\0id\0secret" and a verb. */
#define AUTH_RAWMAX	(SMTPC_AUTH_IDMAX + SMTPC_AUTH_SECRETMAX + 2)
#define AUTH_LINEMAX	(BASE64_ENCODED_LEN(AUTH_RAWMAX) + 32)
#define AUTH_STEPMAX	4	/* challenges answered before giving up */
#define AUTH_NOTLOGGED	"tx>>: [authentication response not logged]"

static void	 proto_trace(struct smtpc_proto *, const char *, const char *,
		    size_t);
static void	 proto_send(struct smtpc_proto *, const char *);
static void	 proto_sendf(struct smtpc_proto *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static void	 proto_data(struct smtpc_proto *, const char *, size_t);
static void	 proto_flush(struct smtpc_proto *);
static int	 proto_batch(const struct smtpc_proto *);
static void	 proto_reply(struct smtpc_proto *, const struct smtpc_reply *);
static void	 proto_reply_fail(struct smtpc_proto *, const char *,
		    const struct smtpc_reply *);
static void	 proto_session_fail(struct smtpc_proto *, const char *);
static void	 proto_ehlo(struct smtpc_proto *, const char *);
static void	 proto_after_ehlo(struct smtpc_proto *);
static void	 proto_auth(struct smtpc_proto *);
static int	 proto_auth_choose(struct smtpc_proto *);
static void	 proto_auth_start(struct smtpc_proto *);
static void	 proto_auth_reply(struct smtpc_proto *,
		    const struct smtpc_reply *);
static void	 proto_auth_step(struct smtpc_proto *, const char *);
static int	 proto_auth_cram(struct smtpc_proto *, const char *, char *,
		    size_t);
static void	 proto_auth_send(struct smtpc_proto *, const char *,
		    const void *, size_t, const char *);
static void	 proto_auth_wipe(struct smtpc_proto *);
static void	 proto_ready(struct smtpc_proto *);
static void	 proto_quit(struct smtpc_proto *);
static void	 proto_mail(struct smtpc_proto *);
static void	 proto_rcpt(struct smtpc_proto *, size_t);
static void	 proto_data_cmd(struct smtpc_proto *);
static void	 proto_mail_reply(struct smtpc_proto *,
		    const struct smtpc_reply *);
static int	 proto_rank(int);
static void	 proto_rcpts_done(struct smtpc_proto *);
static void	 proto_decide(struct smtpc_proto *, int, int, const char *);
static void	 proto_decide_reply(struct smtpc_proto *,
		    const struct smtpc_reply *);
static void	 proto_rset(struct smtpc_proto *);
static void	 proto_done(struct smtpc_proto *, int, int, const char *);
static void	 proto_delivered(struct smtpc_proto *);
static void	 proto_msg_reset(struct smtpc_proto *);
static void	 proto_want(struct smtpc_proto *);
static void	 proto_lines(struct smtpc_proto *, const char *, size_t);
static void	 proto_line_end(struct smtpc_proto *);
static void	 proto_content_end(struct smtpc_proto *);

void
smtpc_proto_init(struct smtpc_proto *p, const struct smtpc_conf *conf,
    const struct smtpc_ops *ops, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->arg = arg;
	p->state = SMTPC_ST_NEW;
	smtpc_reply_init(&p->reply);
	if (conf->domain != NULL)
		(void)strlcpy(p->domain, conf->domain, sizeof(p->domain));
	if (conf->local_ip != NULL)
		(void)strlcpy(p->local_ip, conf->local_ip,
		    sizeof(p->local_ip));
	if (conf->pipelining)
		p->conf |= SMTPC_C_PIPELINING;
	if (conf->tls || conf->tls_required)
		p->conf |= SMTPC_C_TLS;
	if (conf->tls_required)
		p->conf |= SMTPC_C_TLSREQ;
	if (conf->tls_active) {
		p->conf |= SMTPC_C_TLSACTIVE;
		p->tls = 1;
	}
	if (conf->forward_to_some)
		p->conf |= SMTPC_C_SOME;
	if (conf->binarymimestrict)
		p->conf |= SMTPC_C_BINSTRICT;
	if (conf->eightbitstrict)
		p->conf |= SMTPC_C_8BITSTRICT;
	if (conf->smtputf8strict)
		p->conf |= SMTPC_C_UTF8STRICT;
	p->auth = conf->auth != 0;
	if (conf->auth_config != NULL && strlcpy(p->auth_config,
	    conf->auth_config, sizeof(p->auth_config)) >=
	    sizeof(p->auth_config))
		p->auth_config_long = 1;
}

void
smtpc_proto_start(struct smtpc_proto *p)
{
	if (p->state == SMTPC_ST_NEW)
		p->state = SMTPC_ST_GREETING;
}

void
smtpc_proto_clear(struct smtpc_proto *p)
{
	free(p->rejected);
	p->rejected = NULL;
	proto_auth_wipe(p);
}

int
smtpc_proto_in_content(const struct smtpc_proto *p)
{
	return (p->state == SMTPC_ST_CONTENT);
}

int
smtpc_proto_closed(const struct smtpc_proto *p)
{
	return (p->state == SMTPC_ST_CLOSED);
}

unsigned int
smtpc_proto_ext(const struct smtpc_proto *p)
{
	return (p->ext);
}

const char *
smtpc_proto_auth_mech(const struct smtpc_proto *p)
{
	return (p->auth_ok ? p->auth_mech : "");
}

/*
 * Input
 */

void
smtpc_proto_line(struct smtpc_proto *p, const char *line, size_t len)
{
	struct smtpc_reply	 r;
	char			 why[128];
	int			 rv;

	if (p->state == SMTPC_ST_CLOSED || p->state == SMTPC_ST_NEW)
		return;
	proto_trace(p, "rx<<: ", line, len);
	rv = smtpc_reply_line(&p->reply, line, len);
	if (rv == SMTPC_REPLY_MORE)
		return;
	if (rv == SMTPC_REPLY_ERROR) {
		(void)snprintf(why, sizeof(why), "%s: %s", E_PROTOCOL,
		    p->reply.errstr);
		proto_session_fail(p, why);
		return;
	}
	r = p->reply;
	smtpc_reply_init(&p->reply);
	proto_reply(p, &r);
}

void
smtpc_proto_overlong(struct smtpc_proto *p)
{
	if (p->state == SMTPC_ST_CLOSED || p->state == SMTPC_ST_NEW)
		return;
	proto_session_fail(p, SMTPC_E_OVERLONG);
}

void
smtpc_proto_prompt_timeout(struct smtpc_proto *p)
{
	if (p->state != SMTPC_ST_GREETING)
		return;
	p->late_greeting = 1;
	proto_ehlo(p, "EHLO");
}

void
smtpc_proto_timeout(struct smtpc_proto *p)
{
	smtpc_proto_fail(p, SMTPC_E_TIMEOUT);
}

void
smtpc_proto_fail(struct smtpc_proto *p, const char *reason)
{
	if (p->state == SMTPC_ST_CLOSED)
		return;
	if (p->state == SMTPC_ST_QUIT) {
		p->state = SMTPC_ST_CLOSED;
		p->ops->close(p->arg, 0, CLOSE_QUIT);
		return;
	}
	proto_session_fail(p, reason);
}

void
smtpc_proto_tls_done(struct smtpc_proto *p)
{
	if (p->state != SMTPC_ST_TLS)
		return;
	p->tls = 1;
	p->ext = 0;
	proto_ehlo(p, "EHLO");
}

void
smtpc_proto_auth_secret(struct smtpc_proto *p, int kind, const char *id,
    const unsigned char *secret, size_t len)
{
	size_t	 idlen;

	if (p->state != SMTPC_ST_SECRET)
		return;
	if (kind == SECRET_NONE) {
		/* "= =": no authentication for this account */
		proto_ready(p);
		return;
	}
	idlen = strlen(id);
	if (idlen > SMTPC_AUTH_IDMAX || len > sizeof(p->auth_secret)) {
		proto_session_fail(p, SMTPC_E_AUTHLONG);
		return;
	}
	p->auth_kind = kind;
	memcpy(p->auth_id, id, idlen);
	p->auth_id[idlen] = '\0';
	p->auth_idlen = idlen;
	memcpy(p->auth_secret, secret, len);
	p->auth_secretlen = len;
	if (p->auth_config_long) {
		proto_session_fail(p, SMTPC_E_AUTHCONF);
		return;
	}
	if (proto_auth_choose(p) == -1) {
		proto_session_fail(p, SMTPC_E_AUTHMECH);
		return;
	}
	proto_auth_start(p);
}

int
smtpc_proto_message(struct smtpc_proto *p, const struct smtpc_msg *msg)
{
	if (p->state == SMTPC_ST_CLOSED || p->state == SMTPC_ST_QUIT ||
	    p->quit || p->msg != NULL)
		return (-1);
	proto_msg_reset(p);
	p->msg = msg;
	if (p->state == SMTPC_ST_READY)
		proto_mail(p);
	return (0);
}

void
smtpc_proto_quit(struct smtpc_proto *p)
{
	if (p->state == SMTPC_ST_CLOSED || p->state == SMTPC_ST_QUIT)
		return;
	p->quit = 1;
	if (p->state == SMTPC_ST_READY && p->msg == NULL)
		proto_quit(p);
}

void
smtpc_proto_content(struct smtpc_proto *p, const char *data, size_t len,
    int eof)
{
	if (p->state != SMTPC_ST_CONTENT || !p->in_next_wanted)
		return;
	p->in_next_wanted = 0;
	if (p->bdat) {
		if (len == 0 && !eof) {
			proto_want(p);
			return;
		}
		p->bdat_last = eof;
		p->state = SMTPC_ST_BDAT;
		proto_sendf(p, "BDAT %zu%s", len, eof ? " LAST" : "");
		if (len > 0)
			p->ops->data(p->arg, data, len);
		return;
	}
	proto_lines(p, data, len);
	if (eof)
		proto_content_end(p);
	else
		proto_want(p);
}

/*
 * Output
 */

/* A -v trace line: prefix, then the line quoted, controls as \xHH. */
static void
proto_trace(struct smtpc_proto *p, const char *prefix, const char *line,
    size_t len)
{
	char		 buf[4 * BOUNDS_LINE + 64];
	size_t		 i, n;
	unsigned char	 c;

	if (p->ops->log == NULL)
		return;
	n = strlcpy(buf, prefix, sizeof(buf));
	buf[n++] = '"';
	for (i = 0; i < len && n + 8 < sizeof(buf); i++) {
		c = (unsigned char)line[i];
		if (c < 0x20 || c >= 0x7f) {
			(void)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", c);
			n += 4;
		} else
			buf[n++] = (char)c;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	p->ops->log(p->arg, buf);
}

static void
proto_send(struct smtpc_proto *p, const char *line)
{
	proto_trace(p, "tx>>: ", line, strlen(line));
	p->ops->send(p->arg, line);
}

static void
proto_sendf(struct smtpc_proto *p, const char *fmt, ...)
{
	char	 buf[CMD_MAX];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
	proto_send(p, buf);
}

static void
proto_data(struct smtpc_proto *p, const char *s, size_t len)
{
	if (p->olen + len > sizeof(p->obuf))
		proto_flush(p);
	memcpy(p->obuf + p->olen, s, len);
	p->olen += len;
}

static void
proto_flush(struct smtpc_proto *p)
{
	if (p->olen > 0)
		p->ops->data(p->arg, p->obuf, p->olen);
	p->olen = 0;
}

/* True when MAIL and the RCPTs go in one batch. */
static int
proto_batch(const struct smtpc_proto *p)
{
	return ((p->conf & SMTPC_C_PIPELINING) &&
	    (p->ext & SMTPC_EXT_PIPELINING));
}

/*
 * Failures
 */

/*
 * The session ends: the message in hand gets its decided outcome, or
 * this reason with an empty ReasonCode.
 */
static void
proto_session_fail(struct smtpc_proto *p, const char *reason)
{
	char	 why[SMTPC_REPLY_TEXTMAX + 128];

	if (p->state == SMTPC_ST_CLOSED)
		return;
	(void)strlcpy(why, reason, sizeof(why));
	p->state = SMTPC_ST_CLOSED;
	proto_auth_wipe(p);
	if (p->msg != NULL) {
		if (p->decided)
			proto_done(p, p->res_status, p->res_code,
			    p->res_reason);
		else
			proto_done(p, SMTPC_SESSION_FAILED, 0, why);
	}
	p->ops->close(p->arg, 1, why);
}

/* Session failure for an unwanted reply: "<what>: <code> <text>". */
static void
proto_reply_fail(struct smtpc_proto *p, const char *what,
    const struct smtpc_reply *r)
{
	char	 why[SMTPC_REPLY_TEXTMAX + 128];

	(void)snprintf(why, sizeof(why), "%s: %d%s%s", what, r->code,
	    r->text[0] != '\0' ? " " : "", r->text);
	proto_session_fail(p, why);
}

/*
 * Replies
 */

static void
proto_reply(struct smtpc_proto *p, const struct smtpc_reply *r)
{
	int	 cls = smtpc_reply_class(r);

	switch (p->state) {
	case SMTPC_ST_GREETING:
		if (cls != 2) {
			proto_reply_fail(p, E_GREETING, r);
			return;
		}
		p->greeted = 1;
		proto_ehlo(p, "EHLO");
		return;
	case SMTPC_ST_EHLO:
		if (p->late_greeting && !p->greeted && r->code == 220) {
			/* the greeting after the prompt timeout */
			p->greeted = 1;
			return;
		}
		p->greeted = 1;
		if (cls == 2) {
			p->ext = r->ext;
			(void)strlcpy(p->auth_offered, r->auth,
			    sizeof(p->auth_offered));
			proto_after_ehlo(p);
		} else if (cls == 5)
			proto_ehlo(p, "HELO");
		else
			proto_reply_fail(p, E_EHLO, r);
		return;
	case SMTPC_ST_HELO:
		if (cls != 2) {
			proto_reply_fail(p, E_HELO, r);
			return;
		}
		p->ext = 0;
		p->auth_offered[0] = '\0';
		proto_after_ehlo(p);
		return;
	case SMTPC_ST_STARTTLS:
		if (r->code == 220) {
			p->state = SMTPC_ST_TLS;
			p->ops->start_tls(p->arg);
		} else if (p->conf & SMTPC_C_TLSREQ)
			proto_reply_fail(p, E_STARTTLS, r);
		else
			proto_auth(p);
		return;
	case SMTPC_ST_AUTH:
		proto_auth_reply(p, r);
		return;
	case SMTPC_ST_MAIL:
		proto_mail_reply(p, r);
		return;
	case SMTPC_ST_DATAEND:
		if (cls == 2)
			proto_delivered(p);
		else {
			proto_decide_reply(p, r);
			proto_done(p, p->res_status, p->res_code,
			    p->res_reason);
		}
		return;
	case SMTPC_ST_BDAT:
		if (cls != 2) {
			proto_decide_reply(p, r);
			proto_rset(p);
		} else if (p->bdat_last)
			proto_delivered(p);
		else {
			p->state = SMTPC_ST_CONTENT;
			proto_want(p);
		}
		return;
	case SMTPC_ST_RSET:
		if (cls != 2) {
			proto_reply_fail(p, E_RSET, r);
			return;
		}
		proto_done(p, p->res_status, p->res_code, p->res_reason);
		return;
	case SMTPC_ST_QUIT:
		p->state = SMTPC_ST_CLOSED;
		p->ops->close(p->arg, 0, CLOSE_QUIT);
		return;
	default:
		/* idle, in content or in the TLS handshake: not asked for */
		proto_reply_fail(p, E_UNEXPECTED, r);
		return;
	}
}

/* EHLO or HELO with the domain, or an address literal without a dot. */
static void
proto_ehlo(struct smtpc_proto *p, const char *verb)
{
	p->state = verb[0] == 'E' ? SMTPC_ST_EHLO : SMTPC_ST_HELO;
	if (strchr(p->domain, '.') != NULL || p->local_ip[0] == '\0')
		proto_sendf(p, "%s %s", verb, p->domain);
	else if (strchr(p->local_ip, ':') != NULL)
		proto_sendf(p, "%s [IPv6:%s]", verb, p->local_ip);
	else
		proto_sendf(p, "%s [%s]", verb, p->local_ip);
}

static void
proto_after_ehlo(struct smtpc_proto *p)
{
	if ((p->conf & SMTPC_C_TLS) && !p->tls) {
		if (p->ext & SMTPC_EXT_STARTTLS) {
			p->state = SMTPC_ST_STARTTLS;
			proto_send(p, "STARTTLS");
			return;
		}
		if (p->conf & SMTPC_C_TLSREQ) {
			proto_session_fail(p, SMTPC_E_TLSREQ);
			return;
		}
	}
	proto_auth(p);
}

/*
 * AUTH
 */

/* After the last EHLO: ask for the account when AUTH is to be done. */
static void
proto_auth(struct smtpc_proto *p)
{
	if (!p->auth || p->auth_done || !(p->ext & SMTPC_EXT_AUTH)) {
		/* Not offered: go on without, as E-MailRelay does. */
		proto_ready(p);
		return;
	}
	p->auth_done = 1;
	if (p->ops->request == NULL) {
		proto_session_fail(p, SMTPC_E_NOSECRETS);
		return;
	}
	p->state = SMTPC_ST_SECRET;
	p->ops->request(p->arg, SMTPC_REQ_AUTH_SECRET);
	/* the answer may have come from inside: nothing more here */
}

/*
 * Choose the mechanism for the account into p->auth_mech.  Returns 0,
 * or -1 when none is both usable and allowed.
 */
static int
proto_auth_choose(struct smtpc_proto *p)
{
	static const char *const plain[] = { "CRAM-MD5", "PLAIN", "LOGIN",
	    NULL };
	static const char *const md5[] = { "CRAM-MD5", NULL };
	static const char *const oauth[] = { "XOAUTH2", NULL };
	const char *const	*ours;
	char			 cand[64], out[64];
	size_t			 i, n;

	switch (p->auth_kind) {
	case SECRET_PLAIN:
		ours = plain;
		break;
	case SECRET_MD5:
		if (p->auth_secretlen != MD5_HMAC_STATE)
			return (-1);
		ours = md5;
		break;
	case SECRET_OAUTH:
		ours = oauth;
		break;
	default:
		return (-1);
	}
	/* Ours in our order, if offered; then the configuration's lists. */
	cand[0] = '\0';
	for (i = 0; ours[i] != NULL; i++) {
		if (!sasl_mech_allowed(p->auth_offered, ours[i]))
			continue;
		if (cand[0] != '\0')
			(void)strlcat(cand, " ", sizeof(cand));
		(void)strlcat(cand, ours[i], sizeof(cand));
	}
	if (sasl_mech_filter(cand, p->auth_config, p->tls, out,
	    sizeof(out)) == -1 || out[0] == '\0')
		return (-1);
	n = strcspn(out, " ");
	if (n >= sizeof(p->auth_mech))
		return (-1);
	memcpy(p->auth_mech, out, n);
	p->auth_mech[n] = '\0';
	return (0);
}

/* Send AUTH: with the initial response for PLAIN and XOAUTH2. */
static void
proto_auth_start(struct smtpc_proto *p)
{
	unsigned char	 raw[AUTH_RAWMAX];
	char		 cmd[32];
	size_t		 n;

	p->state = SMTPC_ST_AUTH;
	p->auth_step = 0;
	(void)snprintf(cmd, sizeof(cmd), "AUTH %s", p->auth_mech);
	if (strcmp(p->auth_mech, "PLAIN") == 0) {
		/* authzid "", id, password (RFC 4616) */
		n = 0;
		raw[n++] = '\0';
		memcpy(raw + n, p->auth_id, p->auth_idlen);
		n += p->auth_idlen;
		raw[n++] = '\0';
		memcpy(raw + n, p->auth_secret, p->auth_secretlen);
		n += p->auth_secretlen;
		proto_auth_send(p, cmd, raw, n,
		    "tx>>: \"AUTH PLAIN\" [initial response not logged]");
		explicit_bzero(raw, sizeof(raw));
	} else if (strcmp(p->auth_mech, "XOAUTH2") == 0)
		proto_auth_send(p, cmd, p->auth_secret, p->auth_secretlen,
		    "tx>>: \"AUTH XOAUTH2\" [initial response not logged]");
	else
		proto_send(p, cmd);
}

/* A reply in the exchange: a challenge, or the outcome. */
static void
proto_auth_reply(struct smtpc_proto *p, const struct smtpc_reply *r)
{
	if (r->code == 334 && p->auth_step < AUTH_STEPMAX) {
		p->auth_step++;
		proto_auth_step(p, r->text);
		return;
	}
	proto_auth_wipe(p);
	if (smtpc_reply_class(r) != 2) {
		proto_reply_fail(p, SMTPC_E_AUTHFAIL, r);
		return;
	}
	p->auth_ok = 1;
	proto_ready(p);
}

/* Answer challenge number p->auth_step (base64 text). */
static void
proto_auth_step(struct smtpc_proto *p, const char *text)
{
	char	 resp[SMTPC_AUTH_IDMAX + 2 * MD5_DIGEST + 2];
	size_t	 step = (size_t)p->auth_step;

	if (strcmp(p->auth_mech, "LOGIN") == 0 && step == 1)
		/* "Username:" */
		proto_auth_send(p, NULL, p->auth_id, p->auth_idlen,
		    AUTH_NOTLOGGED);
	else if (strcmp(p->auth_mech, "LOGIN") == 0 && step == 2)
		/* "Password:" */
		proto_auth_send(p, NULL, p->auth_secret, p->auth_secretlen,
		    AUTH_NOTLOGGED);
	else if (strcmp(p->auth_mech, "CRAM-MD5") == 0 && step == 1 &&
	    proto_auth_cram(p, text, resp, sizeof(resp)) == 0) {
		proto_auth_send(p, NULL, resp, strlen(resp), AUTH_NOTLOGGED);
		explicit_bzero(resp, sizeof(resp));
	} else if (strcmp(p->auth_mech, "XOAUTH2") == 0 && step == 1)
		/* an error report (RFC 7628 3.2.2): answer it empty */
		proto_send(p, "");
	else
		/* nothing to say to this one: cancel (RFC 4954) */
		proto_send(p, "*");
}

/*
 * The CRAM-MD5 response "<id> <hex HMAC-MD5 of the challenge>" (RFC
 * 2195) for the base64 challenge text, from the password or from the
 * md5 state.  Returns 0, or -1 when the challenge is no base64 or the
 * response does not fit into out.
 */
static int
proto_auth_cram(struct smtpc_proto *p, const char *text, char *out,
    size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 chal[SMTPC_REPLY_TEXTMAX], d[MD5_DIGEST];
	ssize_t			 n;
	size_t			 i, len;

	if ((n = base64_decode(text, strlen(text), chal, sizeof(chal), 0)) ==
	    -1 || p->auth_idlen + 2 + 2 * MD5_DIGEST > outsz)
		return (-1);
	if (p->auth_kind == SECRET_MD5)
		md5_hmac_from_state(p->auth_secret, chal, (size_t)n, d);
	else
		md5_hmac(p->auth_secret, p->auth_secretlen, chal, (size_t)n,
		    d);
	memcpy(out, p->auth_id, p->auth_idlen);
	len = p->auth_idlen;
	out[len++] = ' ';
	for (i = 0; i < MD5_DIGEST; i++) {
		out[len++] = hex[d[i] >> 4];
		out[len++] = hex[d[i] & 0x0f];
	}
	out[len] = '\0';
	explicit_bzero(d, sizeof(d));
	return (0);
}

/*
 * Send "<verb> <base64 of len octets at raw>", or the base64 alone when
 * verb is NULL; the trace shows only shown.
 */
static void
proto_auth_send(struct smtpc_proto *p, const char *verb, const void *raw,
    size_t len, const char *shown)
{
	char	 line[AUTH_LINEMAX];
	size_t	 n = 0;

	if (verb != NULL) {
		n = strlcpy(line, verb, sizeof(line));
		if (n + 1 < sizeof(line))
			line[n++] = ' ';
	}
	if (n + 1 >= sizeof(line) || base64_encode(raw, len, line + n,
	    sizeof(line) - n) == -1) {
		/* the account was bounded on arrival */
		proto_session_fail(p, SMTPC_E_AUTHLONG);
		return;
	}
	if (p->ops->log != NULL)
		p->ops->log(p->arg, shown);
	p->ops->send(p->arg, line);
	explicit_bzero(line, sizeof(line));
}

/* Forget the account. */
static void
proto_auth_wipe(struct smtpc_proto *p)
{
	explicit_bzero(p->auth_id, sizeof(p->auth_id));
	explicit_bzero(p->auth_secret, sizeof(p->auth_secret));
	p->auth_idlen = p->auth_secretlen = 0;
}

static void
proto_ready(struct smtpc_proto *p)
{
	p->state = SMTPC_ST_READY;
	if (p->msg != NULL)
		proto_mail(p);
	else if (p->quit)
		proto_quit(p);
	else if (!p->ready_told) {
		p->ready_told = 1;
		if (p->ops->ready != NULL)
			p->ops->ready(p->arg);
	}
}

static void
proto_quit(struct smtpc_proto *p)
{
	p->state = SMTPC_ST_QUIT;
	proto_send(p, "QUIT");
}

/*
 * One message
 */

static void
proto_msg_reset(struct smtpc_proto *p)
{
	free(p->rejected);
	p->rejected = NULL;
	p->msg = NULL;
	p->started = p->bdat = p->pipelined = 0;
	p->nsent = p->nreplied = p->naccepted = p->nrejected = 0;
	p->rcpt_code = 0;
	p->decided = p->res_status = p->res_code = 0;
	p->res_reason[0] = '\0';
	p->in_next_wanted = p->next_again = 0;
	p->midline = p->cr = p->bdat_last = 0;
	p->nlines = 0;
	p->olen = 0;
}

static void
proto_mail(struct smtpc_proto *p)
{
	const struct smtpc_msg	*m = p->msg;
	char			 cmd[CMD_MAX], param[64];
	const char		*body = NULL;
	size_t			 i;
	int			 n;

	if (m->nrcpt == 0) {
		proto_done(p, SMTPC_FAILED, 0, SMTPC_R_NORCPT);
		return;
	}
	if (m->body == SMTPC_BODY_BINARYMIME) {
		if ((p->ext & SMTPC_EXT_CHUNKING) &&
		    (p->ext & SMTPC_EXT_BINARYMIME))
			p->bdat = 1;
		else if (p->conf & SMTPC_C_BINSTRICT) {
			proto_done(p, SMTPC_FAILED, 0, SMTPC_R_BINARY);
			return;
		}
	}
	if (m->body == SMTPC_BODY_8BIT && !(p->ext & SMTPC_EXT_8BITMIME) &&
	    (p->conf & SMTPC_C_8BITSTRICT)) {
		proto_done(p, SMTPC_FAILED, 0, SMTPC_R_8BIT);
		return;
	}
	if (m->smtputf8 && !(p->ext & SMTPC_EXT_SMTPUTF8) &&
	    (p->conf & SMTPC_C_UTF8STRICT)) {
		proto_done(p, SMTPC_FAILED, 0, SMTPC_R_UTF8);
		return;
	}
	if ((p->rejected = calloc(m->nrcpt, 1)) == NULL) {
		proto_done(p, SMTPC_FAILED, 0, SMTPC_R_NOMEM);
		return;
	}

	switch (m->body) {
	case SMTPC_BODY_7BIT:
		if (p->ext & SMTPC_EXT_8BITMIME)
			body = "7BIT";
		break;
	case SMTPC_BODY_8BIT:
		if (p->ext & SMTPC_EXT_8BITMIME)
			body = "8BITMIME";
		break;
	case SMTPC_BODY_BINARYMIME:
		if (p->bdat)
			body = "BINARYMIME";
		else if (p->ext & SMTPC_EXT_8BITMIME)
			body = "8BITMIME";
		break;
	default:
		break;
	}
	param[0] = '\0';
	if (m->size > 0 && (p->ext & SMTPC_EXT_SIZE))
		(void)snprintf(param, sizeof(param), " SIZE=%llu",
		    (unsigned long long)m->size);
	n = snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>%s%s%s%s%s%s",
	    m->from != NULL ? m->from : "",
	    body != NULL ? " BODY=" : "", body != NULL ? body : "",
	    m->smtputf8 && (p->ext & SMTPC_EXT_SMTPUTF8) ? " SMTPUTF8" : "",
	    m->auth != NULL && (p->ext & SMTPC_EXT_AUTH) ? " AUTH=" : "",
	    m->auth != NULL && (p->ext & SMTPC_EXT_AUTH) ? m->auth : "",
	    param);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		proto_done(p, SMTPC_FAILED, 0, E_MAILTOOLONG);
		return;
	}
	p->state = SMTPC_ST_MAIL;
	p->started = 1;
	proto_send(p, cmd);
	p->nsent = 1;
	if (!proto_batch(p))
		return;
	for (i = 0; i < m->nrcpt; i++)
		proto_rcpt(p, i);
	if (!p->bdat) {
		p->pipelined = 1;
		proto_data_cmd(p);
	}
}

static void
proto_rcpt(struct smtpc_proto *p, size_t i)
{
	proto_sendf(p, "RCPT TO:<%s>", p->msg->rcpt[i]);
	p->nsent++;
}

static void
proto_data_cmd(struct smtpc_proto *p)
{
	proto_send(p, "DATA");
	p->nsent++;
}

/* Replies to step 0 (MAIL), 1..nrcpt (RCPT) and nrcpt + 1 (DATA). */
static void
proto_mail_reply(struct smtpc_proto *p, const struct smtpc_reply *r)
{
	size_t	 step = p->nreplied++, n = p->msg->nrcpt;
	int	 cls = smtpc_reply_class(r);

	if (step == 0) {
		if (cls != 2)
			proto_decide_reply(p, r);
		if (proto_batch(p))
			return;
		if (p->decided)
			proto_rset(p);
		else
			proto_rcpt(p, 0);
		return;
	}
	if (step <= n) {
		if (cls == 2)
			p->naccepted++;
		else {
			p->rejected[step - 1] = 1;
			p->nrejected++;
			/* the first 5xx if any, else the first 4xx */
			if (p->rcpt_code == 0 ||
			    proto_rank(r->code) > proto_rank(p->rcpt_code))
				p->rcpt_code = r->code;
		}
		if (step < n) {
			if (!proto_batch(p))
				proto_rcpt(p, step);
			return;
		}
		proto_rcpts_done(p);
		return;
	}
	/* DATA */
	if (r->code == 354) {
		if (p->decided) {
			/* pipelined DATA we must not feed: drop the line */
			proto_session_fail(p, E_ABANDON);
			return;
		}
		p->state = SMTPC_ST_CONTENT;
		proto_want(p);
		return;
	}
	if (!p->decided)
		proto_decide_reply(p, r);
	proto_rset(p);
}

/* How a rejection code ranks for ReasonCode: 5xx, then 4xx, then odd. */
static int
proto_rank(int code)
{
	if (code / 100 == 5)
		return (2);
	if (code / 100 == 4)
		return (1);
	return (0);
}

/* All RCPT replies are in: decide, then DATA, BDAT or RSET. */
static void
proto_rcpts_done(struct smtpc_proto *p)
{
	if (!p->decided) {
		if (p->nrejected > 0 && !(p->conf & SMTPC_C_SOME))
			proto_decide(p, SMTPC_FAILED, p->rcpt_code,
			    SMTPC_R_RCPT);
		else if (p->naccepted == 0)
			proto_decide(p, SMTPC_FAILED, p->rcpt_code,
			    SMTPC_R_ALLRCPT);
	}
	if (p->pipelined)
		return;		/* the DATA reply follows */
	if (p->decided)
		proto_rset(p);
	else if (p->bdat) {
		p->state = SMTPC_ST_CONTENT;
		proto_want(p);
	} else
		proto_data_cmd(p);
}

static void
proto_decide(struct smtpc_proto *p, int status, int code,
    const char *reason)
{
	if (p->decided)
		return;
	p->decided = 1;
	p->res_status = status;
	p->res_code = code;
	(void)strlcpy(p->res_reason, reason, sizeof(p->res_reason));
}

/* A failure reply to MAIL, DATA, BDAT or after the data. */
static void
proto_decide_reply(struct smtpc_proto *p, const struct smtpc_reply *r)
{
	proto_decide(p, SMTPC_FAILED, r->code,
	    r->text[0] != '\0' ? r->text : R_ERROR);
}

static void
proto_rset(struct smtpc_proto *p)
{
	p->state = SMTPC_ST_RSET;
	proto_send(p, "RSET");
}

static void
proto_delivered(struct smtpc_proto *p)
{
	if (p->nrejected > 0)
		proto_done(p, SMTPC_PARTIAL, p->rcpt_code, SMTPC_R_RCPT);
	else
		proto_done(p, SMTPC_DELIVERED, 0, "");
}

/*
 * Report the outcome of the message in hand; the engine is idle (or
 * closed) during ops->done(), which may give the next message.
 */
static void
proto_done(struct smtpc_proto *p, int status, int code, const char *reason)
{
	struct smtpc_result	 res;
	char			 why[SMTPC_REPLY_TEXTMAX + 128];
	unsigned char		*rej = p->rejected;

	(void)strlcpy(why, reason, sizeof(why));
	memset(&res, 0, sizeof(res));
	res.status = status;
	res.code = code;
	res.reason = why;
	res.nrejected = p->nrejected;
	res.rejected = p->nrejected > 0 ? rej : NULL;
	p->rejected = NULL;
	proto_msg_reset(p);
	if (p->state != SMTPC_ST_CLOSED)
		p->state = SMTPC_ST_READY;
	p->ops->done(p->arg, &res);
	free(rej);
	if (p->state == SMTPC_ST_READY && p->msg == NULL && p->quit)
		proto_quit(p);
}

/*
 * Content
 */

/*
 * Ask for the next chunk.  A session that answers from inside
 * content_next() re-enters here: the loop asks again instead of
 * recursing.
 */
static void
proto_want(struct smtpc_proto *p)
{
	p->in_next_wanted = 1;
	if (p->in_next) {
		p->next_again = 1;
		return;
	}
	do {
		p->next_again = 0;
		p->in_next = 1;
		p->ops->content_next(p->arg);
		p->in_next = 0;
	} while (p->next_again && p->state == SMTPC_ST_CONTENT);
}

/* DATA mode: CRLF line ends and dot-stuffing (see smtpc_proto.h). */
static void
proto_lines(struct smtpc_proto *p, const char *s, size_t len)
{
	size_t	 i;
	char	 c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (p->cr) {
			/* CRLF, or a lone CR: a line end either way */
			p->cr = 0;
			proto_line_end(p);
			if (c == '\n')
				continue;
		}
		if (c == '\r') {
			p->cr = 1;
			continue;
		}
		if (c == '\n') {
			proto_line_end(p);
			continue;
		}
		if (!p->midline && c == '.')
			proto_data(p, ".", 1);
		proto_data(p, &c, 1);
		p->midline = 1;
	}
	proto_flush(p);
}

static void
proto_line_end(struct smtpc_proto *p)
{
	proto_data(p, "\r\n", 2);
	p->midline = 0;
	p->nlines++;
}

static void
proto_content_end(struct smtpc_proto *p)
{
	char	 buf[64];

	if (p->cr) {
		p->cr = 0;
		proto_line_end(p);
	}
	if (p->midline)
		proto_line_end(p);
	proto_flush(p);
	if (p->ops->log != NULL) {
		(void)snprintf(buf, sizeof(buf),
		    "tx>>: [%llu line(s) of content]",
		    (unsigned long long)p->nlines);
		p->ops->log(p->arg, buf);
	}
	p->state = SMTPC_ST_DATAEND;
	proto_send(p, ".");
}
