/*
 * smtpd/smtp_proto.c: the SMTP server engine driven through a fake
 * session that cuts lines, honours busy and BDAT octets, and records
 * replies, requests and content.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "msg.h"
#include "addr.h"
#include "smtpd/smtp_proto.h"
#include "t.h"

/* Compare through variables: T_EQ_STR prints its argument text. */
#define T_SENT(f, expect) do {						\
	const char *t_expect = (expect);				\
	T_EQ_STR((f)->sent, t_expect);					\
} while (0)
#define T_CONTENT(f, expect) do {					\
	const char *t_expect = (expect);				\
	T_EQ_STR((f)->content, t_expect);				\
} while (0)

#define FIXED_TIME	1795461603	/* Mon, 23 Nov 2026 19:20:03 UTC */

struct fake {
	struct smtp_proto	 p;
	char			 sent[65536];	/* replies, "\n" after each */
	size_t			 sentlen;
	char			*content;
	size_t			 contentlen, contentsz;
	char			 in[262144];	/* unfed input */
	size_t			 inlen;
	enum smtp_req		 reqs[64];	/* kinds in order */
	size_t			 nreq;
	struct smtp_request	 last;		/* last non-RSET request */
	char			 addr[BOUNDS_PATH + 1];
	char			 mech[32], id[300], secret[1000];
	char			 authzid[300], challenge[400], auth[600];
	int			 rsets;
	int			 tls_started;
	int			 closed;
	char			 reason[128];
	int			 logs;
	char			 logtext[128];
	int			 dropped;
	int			 autoreply;	/* answer requests at once */
	int			 autostatus;
};

static void	 f_send(void *, const char *);
static void	 f_request(void *, const struct smtp_request *);
static void	 f_content(void *, const char *, size_t);
static void	 f_start_tls(void *);
static void	 f_close(void *, const char *);
static void	 f_log(void *, const char *);
static time_t	 f_now(void *);
static struct fake *fake_new(const struct smtp_proto_conf *);
static void	 fake_free(struct fake *);
static void	 pump(struct fake *);
static void	 input(struct fake *, const char *);
static void	 inputn(struct fake *, const char *, size_t);
static void	 answer(struct fake *, enum smtp_req, int, const char *);
static void	 conf_default(struct smtp_proto_conf *);
static struct fake *session(const struct smtp_proto_conf *);
static void	 clear_sent(struct fake *);
static const char *b64(const char *, size_t);
static const char *unb64(const char *);

static const struct smtp_ops fake_ops = {
	f_send, f_request, f_content, f_start_tls, f_close, f_log, f_now
};

static void
f_send(void *arg, const char *line)
{
	struct fake	*f = arg;
	int		 n;

	n = snprintf(f->sent + f->sentlen, sizeof(f->sent) - f->sentlen,
	    "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(f->sent) - f->sentlen)
		f->sentlen += (size_t)n;
}

static void
f_request(void *arg, const struct smtp_request *req)
{
	struct fake	*f = arg;

	if (f->nreq < sizeof(f->reqs) / sizeof(f->reqs[0]))
		f->reqs[f->nreq++] = req->kind;
	if (req->kind == SMTP_REQ_RSET) {
		f->rsets++;
		return;
	}
	f->last = *req;
	snprintf(f->addr, sizeof(f->addr), "%s", req->addr ? req->addr : "");
	snprintf(f->mech, sizeof(f->mech), "%s", req->mech ? req->mech : "");
	snprintf(f->id, sizeof(f->id), "%s", req->id ? req->id : "");
	snprintf(f->secret, sizeof(f->secret), "%s",
	    req->secret ? req->secret : "");
	snprintf(f->authzid, sizeof(f->authzid), "%s",
	    req->authzid ? req->authzid : "");
	snprintf(f->challenge, sizeof(f->challenge), "%s",
	    req->challenge ? req->challenge : "");
	snprintf(f->auth, sizeof(f->auth), "%s", req->auth ? req->auth : "");
	if (f->autoreply)
		smtp_proto_reply(&f->p, req->kind, f->autostatus, NULL);
}

static void
f_content(void *arg, const char *data, size_t len)
{
	struct fake	*f = arg;

	if (f->contentlen + len + 1 > f->contentsz) {
		f->contentsz = (f->contentlen + len + 1) * 2;
		if ((f->content = realloc(f->content, f->contentsz)) == NULL)
			abort();
	}
	memcpy(f->content + f->contentlen, data, len);
	f->contentlen += len;
	f->content[f->contentlen] = '\0';
}

static void
f_start_tls(void *arg)
{
	struct fake	*f = arg;

	f->tls_started++;
}

static void
f_close(void *arg, const char *reason)
{
	struct fake	*f = arg;

	f->closed++;
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static void
f_log(void *arg, const char *text)
{
	struct fake	*f = arg;

	f->logs++;
	snprintf(f->logtext, sizeof(f->logtext), "%s", text);
}

static time_t
f_now(void *arg)
{
	return (FIXED_TIME);
}

static struct fake *
fake_new(const struct smtp_proto_conf *conf)
{
	struct fake	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		abort();
	setenv("TZ", "UTC", 1);
	tzset();
	smtp_proto_init(&f->p, conf, &fake_ops, f);
	return (f);
}

static void
fake_free(struct fake *f)
{
	smtp_proto_clear(&f->p);
	free(f->content);
	free(f);
}

/* The session's input loop: lines, fragments, BDAT octets. */
static void
pump(struct fake *f)
{
	char	*nl;
	size_t	 used;
	int	 r;

	while (f->inlen > 0 && !smtp_proto_busy(&f->p)) {
		if (smtp_proto_chunk_left(&f->p) > 0) {
			used = smtp_proto_chunk(&f->p, f->in, f->inlen);
		} else {
			nl = memchr(f->in, '\n', f->inlen);
			if (nl != NULL)
				used = (size_t)(nl - f->in) + 1;
			else if (f->inlen >= BOUNDS_LINE)
				used = f->inlen;
			else
				break;
			r = smtp_proto_line(&f->p, f->in, used);
			if (r == SMTP_PROTO_BUSY)
				break;
			if (r == SMTP_PROTO_DROP) {
				f->dropped += (int)(f->inlen - used);
				used = f->inlen;
			}
		}
		memmove(f->in, f->in + used, f->inlen - used);
		f->inlen -= used;
	}
}

static void
inputn(struct fake *f, const char *s, size_t len)
{
	if (len > sizeof(f->in) - f->inlen)
		abort();
	memcpy(f->in + f->inlen, s, len);
	f->inlen += len;
	pump(f);
}

static void
input(struct fake *f, const char *s)
{
	inputn(f, s, strlen(s));
}

static void
answer(struct fake *f, enum smtp_req kind, int status, const char *text)
{
	if (smtp_proto_reply(&f->p, kind, status, text) != 0)
		abort();
	pump(f);
}

static void
conf_default(struct smtp_proto_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->domain = "relay.test";
	c->version = "2.6.1";
	c->client_ip = "127.0.0.1";
}

/* Started, greeting and EHLO done, transcript cleared. */
static struct fake *
session(const struct smtp_proto_conf *conf)
{
	struct fake	*f;

	f = fake_new(conf);
	smtp_proto_start(&f->p);
	input(f, "EHLO client.test\r\n");
	clear_sent(f);
	return (f);
}

static void
clear_sent(struct fake *f)
{
	f->sentlen = 0;
	f->sent[0] = '\0';
}

static const char *
b64(const char *s, size_t len)
{
	static const char	 c[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static char		 out[1024];
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i, n = 0;
	uint32_t		 v;

	for (i = 0; i < len; i += 3) {
		v = (uint32_t)u[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)u[i + 1] << 8;
		if (i + 2 < len)
			v |= u[i + 2];
		out[n++] = c[(v >> 18) & 63];
		out[n++] = c[(v >> 12) & 63];
		out[n++] = i + 1 < len ? c[(v >> 6) & 63] : '=';
		out[n++] = i + 2 < len ? c[v & 63] : '=';
	}
	out[n] = '\0';
	return (out);
}

static const char *
unb64(const char *s)
{
	static const char	 c[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static char		 out[1024];
	size_t			 i, n = 0, len = strlen(s);
	uint32_t		 v;
	int			 j, pad;
	const char		*q;

	for (i = 0; i + 4 <= len; i += 4) {
		v = 0;
		pad = 0;
		for (j = 0; j < 4; j++) {
			if (s[i + j] == '=') {
				pad++;
				v <<= 6;
				continue;
			}
			q = strchr(c, s[i + j]);
			v = (v << 6) | (uint32_t)(q - c);
		}
		out[n++] = (char)(v >> 16);
		if (pad < 2)
			out[n++] = (char)(v >> 8);
		if (pad < 1)
			out[n++] = (char)v;
	}
	out[n] = '\0';
	return (out);
}

#define RECEIVED "Received: from client.test ([127.0.0.1]) by relay.test " \
	"with ESMTP ; Mon, 23 Nov 2026 19:20:03 +0000\r\n"

TEST(smtp_greeting)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	T_ASSERT(smtp_proto_busy(&f->p));
	T_EQ_INT(smtp_proto_line(&f->p, "NOOP\r\n", 6), SMTP_PROTO_BUSY);
	smtp_proto_start(&f->p);
	T_SENT(f,
	    "220 relay.test -- E-MailRelay V2.6.1 -- Service ready\n");
	T_ASSERT(!smtp_proto_busy(&f->p));
	fake_free(f);

	c.anon_server = 1;
	f = fake_new(&c);
	smtp_proto_start(&f->p);
	input(f, "EHLO x\r\nHELO y\r\n");
	T_SENT(f, "220 greeting\n"
	    "250-smtp says hello\n250-VRFY\n250 8BITMIME\n"
	    "250 hello\n");
	fake_free(f);
}

TEST(smtp_full_dialogue)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.pipelining = 1;
	f = fake_new(&c);
	smtp_proto_start(&f->p);
	input(f, "EHLO client.test\r\n");
	T_SENT(f,
	    "220 relay.test -- E-MailRelay V2.6.1 -- Service ready\n"
	    "250-relay.test says hello\n"
	    "250-VRFY\n"
	    "250-PIPELINING\n"
	    "250 8BITMIME\n");
	clear_sent(f);

	input(f, "MAIL FROM:<a@b.example>\r\n");
	T_ASSERT(smtp_proto_busy(&f->p));
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0], SMTP_REQ_MAIL);
	T_EQ_STR(f->addr, "a@b.example");
	T_EQ_INT(f->last.body, ADDR_BODY_NONE);
	T_SENT(f, "");
	T_ASSERT(!smtp_proto_in_transaction(&f->p));
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	T_SENT(f, "250 sender <a@b.example> OK\n");
	T_ASSERT(smtp_proto_in_transaction(&f->p));

	input(f, "RCPT TO:<c@d.example>\r\n");
	T_EQ_INT(f->reqs[1], SMTP_REQ_RCPT);
	T_EQ_STR(f->addr, "c@d.example");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "RCPT TO:<me@relay.test>\r\n");
	answer(f, SMTP_REQ_RCPT, SMTP_STATUS_LOCAL, "me");
	input(f, "DATA\r\n");
	T_ASSERT(smtp_proto_in_content(&f->p));
	T_CONTENT(f, RECEIVED);
	input(f, "Subject: hi\r\n\r\nbody\r\n.\r\n");
	T_EQ_INT(f->reqs[3], SMTP_REQ_DATA_END);
	T_EQ_INT(f->last.size, 21);
	answer(f, SMTP_REQ_DATA_END, MSG_OK, NULL);
	input(f, "QUIT\r\n");
	T_SENT(f,
	    "250 sender <a@b.example> OK\n"
	    "250 recipient <c@d.example> OK\n"
	    "250 recipient <me@relay.test>  OK\n"
	    "354 start mail input -- end with <CRLF>.<CRLF>\n"
	    "250 message processed\n"
	    "221 OK\n");
	T_CONTENT(f, RECEIVED "Subject: hi\r\n\r\nbody\r\n");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->reason, "smtp protocol done");
	T_ASSERT(smtp_proto_closed(&f->p));
	T_EQ_INT(smtp_proto_line(&f->p, "NOOP\r\n", 6), SMTP_PROTO_BUSY);
	T_EQ_INT(f->nreq, 4);
	T_EQ_INT(f->rsets, 0);
	fake_free(f);
}

TEST(smtp_pipelined_batch)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.pipelining = 1;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example> BODY=8BITMIME SIZE=100\r\n"
	    "RCPT TO:<c@d.example>\r\n"
	    "RCPT TO:<bad@d.example>\r\n"
	    "DATA\r\n"
	    "line 1\r\n"
	    ".\r\n"
	    "NOOP\r\n");
	/* one request at a time; the rest stays buffered */
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->last.body, ADDR_BODY_8BITMIME);
	T_EQ_INT(f->last.size, 100);
	T_ASSERT(f->inlen > 0);
	T_SENT(f, "");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	T_EQ_INT(f->nreq, 2);
	T_EQ_STR(f->addr, "c@d.example");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	T_EQ_INT(f->nreq, 3);
	T_EQ_STR(f->addr, "bad@d.example");
	answer(f, SMTP_REQ_RCPT, MSG_PERMFAIL, "no such user");
	T_EQ_INT(f->nreq, 4);
	T_EQ_INT(f->reqs[3], SMTP_REQ_DATA_END);
	answer(f, SMTP_REQ_DATA_END, MSG_OK, NULL);
	T_EQ_INT(f->inlen, 0);
	T_SENT(f,
	    "250 sender <a@b.example> OK\n"
	    "250 recipient <c@d.example> OK\n"
	    "550 no such user\n"
	    "354 start mail input -- end with <CRLF>.<CRLF>\n"
	    "250 message processed\n"
	    "250 noop\n");
	T_CONTENT(f, RECEIVED "line 1\r\n");
	fake_free(f);
}

TEST(smtp_ehlo_adverts)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.size_limit = 1000000;
	c.auth = 1;
	c.auth_mechs = "CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN LOGIN";
	c.tls_available = 1;
	c.chunking = 1;
	c.pipelining = 1;
	c.smtputf8 = 1;
	f = fake_new(&c);
	smtp_proto_start(&f->p);
	clear_sent(f);
	input(f, "ehlo client.test\r\n");
	T_SENT(f,
	    "250-relay.test says hello\n"
	    "250-SIZE 1000000\n"
	    "250-AUTH CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN LOGIN\n"
	    "250-STARTTLS\n"
	    "250-VRFY\n"
	    "250-CHUNKING\n"
	    "250-BINARYMIME\n"
	    "250-PIPELINING\n"
	    "250-SMTPUTF8\n"
	    "250 8BITMIME\n");
	fake_free(f);

	/* m:;a:plain -- no AUTH until TLS, anonymous vrfy */
	conf_default(&c);
	c.auth = 1;
	c.auth_mechs = "";
	c.auth_mechs_tls = "PLAIN";
	c.tls_available = 1;
	c.anon_vrfy = 1;
	f = fake_new(&c);
	smtp_proto_start(&f->p);
	clear_sent(f);
	input(f, "EHLO client.test\r\n");
	T_SENT(f, "250-relay.test says hello\n250-STARTTLS\n"
	    "250 8BITMIME\n");
	clear_sent(f);
	input(f, "AUTH PLAIN\r\n");
	T_SENT(f, "504 unsupported authentication mechanism\n");
	clear_sent(f);
	input(f, "STARTTLS\r\n");
	smtp_proto_tls_done(&f->p, "TLS_AES_256_GCM_SHA384");
	input(f, "EHLO client.test\r\n");
	T_SENT(f, "220 ready to start tls\n"
	    "250-relay.test says hello\n250-AUTH PLAIN\n250 8BITMIME\n");
	fake_free(f);
}

TEST(smtp_helo)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	smtp_proto_start(&f->p);
	clear_sent(f);
	input(f, "HELO\r\nEHLO\r\nHELO my host\r\n");
	T_SENT(f, "501 parameter required\n501 parameter required\n"
	    "250 relay.test says hello\n");
	T_EQ_STR(smtp_proto_helo(&f->p), "my");
	fake_free(f);
}

TEST(smtp_sequence_errors)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	smtp_proto_start(&f->p);
	clear_sent(f);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	input(f, "RCPT TO:<a@b.example>\r\n");
	input(f, "DATA\r\n");
	input(f, "HELP\r\nEXPN list\r\nAUTH PLAIN\r\nSTARTTLS\r\n");
	input(f, "BDAT 10\r\n");
	input(f, "FOO bar\r\n");
	T_SENT(f,
	    "503 command out of sequence -- use RSET to resynchronise\n"
	    "503 command out of sequence -- use RSET to resynchronise\n"
	    "503 command out of sequence -- use RSET to resynchronise\n"
	    "502 command not implemented\n"
	    "502 command not implemented\n"
	    "502 command not implemented\n"
	    "500 command unrecognized\n"
	    "500 command unrecognized\n"
	    "500 command unrecognized\n");
	T_EQ_INT(f->nreq, 0);
	T_EQ_INT(f->closed, 0);
	fake_free(f);
}

TEST(smtp_mail_errors)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.size_limit = 1000;
	f = session(&c);
	input(f, "MAIL FROM:a@b.example\r\n");
	input(f, "MAIL\r\n");
	input(f, "MAIL TO:<a@b.example>\r\n");
	input(f, "MAIL FROM:<a@b.example> FOO=1\r\n");
	input(f, "MAIL FROM:<a@b.example> SIZE=x\r\n");
	input(f, "MAIL FROM:<a@b.example> SIZE=1001\r\n");
	input(f, "MAIL FROM:<a@b.example>x\r\n");
	input(f, "MAIL FROM:<a@@b.example>\r\n");
	T_SENT(f,
	    "553 mailbox name not allowed: missing angle brackets in "
	    "mailbox name\n"
	    "501 parameter required\n"
	    "501 syntax error in parameters\n"
	    "555 unsupported parameter\n"
	    "501 invalid SIZE value\n"
	    "552 message size exceeds fixed maximum message size\n"
	    "501 syntax error in parameters\n"
	    "553 mailbox name not allowed: invalid domain\n");
	T_EQ_INT(f->nreq, 0);
	/* 7 protocol errors so far (552 is not one) */
	T_EQ_INT(f->closed, 0);
	clear_sent(f);
	input(f, "MAIL FROM: <> SIZE=1000\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_STR(f->addr, "");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "MAIL FROM:<x@y.example>\r\n");
	T_SENT(f, "250 sender <> OK\n"
	    "503 command out of sequence -- use RSET to resynchronise\n");
	/* that was the 8th: closed */
	T_EQ_INT(f->closed, 1);
	fake_free(f);
}

TEST(smtp_mail_failures)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_TEMPFAIL, "452 4.3.1 spool full");
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_TEMPFAIL, "spool full");
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_PERMFAIL, NULL);
	T_SENT(f, "452 4.3.1 spool full\n452 spool full\n"
	    "553 cannot accept message\n");
	T_ASSERT(!smtp_proto_in_transaction(&f->p));
	/* a reply of the wrong kind is refused */
	input(f, "MAIL FROM:<a@b.example>\r\n");
	T_EQ_INT(smtp_proto_reply(&f->p, SMTP_REQ_RCPT, MSG_OK, NULL), -1);
	T_EQ_INT(smtp_proto_reply(&f->p, SMTP_REQ_MAIL, MSG_OK, NULL), 0);
	T_EQ_INT(smtp_proto_reply(&f->p, SMTP_REQ_MAIL, MSG_OK, NULL), -1);
	fake_free(f);
}

TEST(smtp_rcpt_results)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	clear_sent(f);
	input(f, "RCPT TO:<>\r\n");
	input(f, "RCPT TO:<x@y.example> NOTIFY=NEVER\r\n");
	input(f, "RCPT TO:x@y.example\r\n");
	input(f, "RCPT\r\n");
	input(f, "RCPT FROM:<x@y.example>\r\n");
	T_EQ_INT(f->nreq, 1);
	input(f, "RCPT TO:<t1@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_TEMPFAIL, "try later");
	input(f, "RCPT TO:<t2@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_PERMFAIL, NULL);
	input(f, "RCPT TO:<t3@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_PERMFAIL, "551 user not local\r\nX");
	input(f, "RCPT TO:<Postmaster>\r\n");
	T_EQ_STR(f->addr, "Postmaster");
	answer(f, SMTP_REQ_RCPT, SMTP_STATUS_LOCAL, NULL);
	input(f, "DATA\r\n");
	T_SENT(f,
	    "550 invalid empty mailbox\n"
	    "555 unsupported parameter\n"
	    "553 mailbox name not allowed: missing angle brackets in "
	    "mailbox name\n"
	    "501 parameter required\n"
	    "501 syntax error in parameters\n"
	    "450 try later\n"
	    "550 mailbox unavailable\n"
	    "551 user not local  X\n"
	    "250 recipient <Postmaster>  OK\n"
	    "354 start mail input -- end with <CRLF>.<CRLF>\n");
	fake_free(f);
}

TEST(smtp_rcpt_abort)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	clear_sent(f);
	input(f, "RCPT TO:<x@y.example>\r\nNOOP\r\n");
	answer(f, SMTP_REQ_RCPT, SMTP_STATUS_ABORT, NULL);
	T_SENT(f, "");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->reason, "address verifier abort");
	T_ASSERT(smtp_proto_busy(&f->p));
	fake_free(f);
}

TEST(smtp_no_valid_recipients)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_PERMFAIL, "no");
	clear_sent(f);
	input(f, "DATA\r\n");
	T_SENT(f, "554 no valid recipients\n");
	T_ASSERT(!smtp_proto_in_content(&f->p));
	clear_sent(f);
	input(f, "RSET\r\n");
	T_SENT(f, "250 state reset\n");
	T_EQ_INT(f->rsets, 1);
	T_ASSERT(!smtp_proto_in_transaction(&f->p));
	fake_free(f);
}

TEST(smtp_too_many_recipients)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	size_t			 i;

	conf_default(&c);
	f = session(&c);
	f->autoreply = 1;
	f->autostatus = MSG_OK;
	input(f, "MAIL FROM:<a@b.example>\r\n");
	for (i = 0; i < BOUNDS_RCPT; i++)
		input(f, "RCPT TO:<x@y.example>\r\n");
	clear_sent(f);
	input(f, "RCPT TO:<x@y.example>\r\n");
	T_SENT(f, "452 too many recipients\n");
	T_EQ_INT(f->closed, 0);
	fake_free(f);
}

TEST(smtp_dot_stuffing)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.anon_content = 1;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "DATA\r\n");
	/* no Received line with anonymous=content */
	T_EQ_INT(f->contentlen, 0);
	clear_sent(f);
	input(f, "a\r\n..b\r\n.\nNOOP\r\n");
	/* ".\n" is not the end (SMTP smuggling): kept, NOOP is content */
	T_EQ_INT(f->reqs[2], SMTP_REQ_NONE);
	input(f, "x\n.\r\nNOOP\r\n.\r\nNOOP\r\n");
	T_EQ_INT(f->reqs[2], SMTP_REQ_DATA_END);
	T_CONTENT(f, "a\r\n.b\r\n.\nNOOP\r\nx\n.\r\nNOOP\r\n");
	answer(f, SMTP_REQ_DATA_END, MSG_OK, NULL);
	T_SENT(f, "250 message processed\n250 noop\n");
	fake_free(f);

	/* bare LF lines are kept as sent; only "." CRLF after CRLF ends */
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "DATA\r\n");
	clear_sent(f);
	input(f, "..\r\nc\nd\r\r\n. \r\n.\r.\r\n.x\n\r\n.\r\nNOOP\r\n");
	T_CONTENT(f, ".\r\nc\nd\r\r\n \r\n\r.\r\nx\n\r\n");
	T_EQ_INT(f->last.size, f->contentlen);
	answer(f, SMTP_REQ_DATA_END, MSG_OK, NULL);
	T_SENT(f, "250 message processed\n250 noop\n");
	fake_free(f);
}

TEST(smtp_data_fragments)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.anon_content = 1;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "DATA\r\n");
	/* a session that passes odd pieces: "." then "\r\n" is the end */
	T_EQ_INT(smtp_proto_line(&f->p, "ab", 2), SMTP_PROTO_OK);
	T_EQ_INT(smtp_proto_line(&f->p, ".c\r\n", 4), SMTP_PROTO_OK);
	T_EQ_INT(smtp_proto_line(&f->p, ".", 1), SMTP_PROTO_OK);
	T_EQ_INT(smtp_proto_line(&f->p, ".x\r\n", 4), SMTP_PROTO_OK);
	T_EQ_INT(smtp_proto_line(&f->p, ".\r", 2), SMTP_PROTO_OK);
	T_EQ_INT(smtp_proto_line(&f->p, "\r\n", 2), SMTP_PROTO_OK);
	T_CONTENT(f, "ab.c\r\n.x\r\n\r\r\n");
	/* ".a" held back, then "\r" and "\n": content "a\r\n" */
	T_EQ_INT(smtp_proto_line(&f->p, ".", 1), SMTP_PROTO_OK);
	T_EQ_INT(smtp_proto_line(&f->p, "a\r", 2), SMTP_PROTO_OK);
	T_EQ_INT(smtp_proto_line(&f->p, "\n", 1), SMTP_PROTO_OK);
	/* ".", "\r", "\n" in three pieces is the end */
	T_EQ_INT(smtp_proto_line(&f->p, ".", 1), SMTP_PROTO_OK);
	T_EQ_INT(smtp_proto_line(&f->p, "\r", 1), SMTP_PROTO_OK);
	T_ASSERT(!smtp_proto_busy(&f->p));
	T_EQ_INT(smtp_proto_line(&f->p, "\n", 1), SMTP_PROTO_OK);
	T_ASSERT(smtp_proto_busy(&f->p));
	T_EQ_INT(f->reqs[2], SMTP_REQ_DATA_END);
	T_CONTENT(f, "ab.c\r\n.x\r\n\r\r\na\r\n");
	fake_free(f);
}

TEST(smtp_long_data_line)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	char			 line[5000];

	conf_default(&c);
	c.anon_content = 1;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "DATA\r\n");
	/* 998 octets: fine */
	memset(line, 'a', 998);
	memcpy(line + 998, "\r\n", 3);
	input(f, line);
	T_EQ_INT(f->logs, 0);
	/* 4000 octets, passed in pieces by the session: kept, logged once */
	memset(line, 'b', 4000);
	memcpy(line + 4000, "\r\n", 3);
	inputn(f, line, 1500);
	inputn(f, line + 1500, 2502);
	input(f, line);
	T_EQ_INT(f->logs, 1);
	T_EQ_STR(f->logtext, "very long line detected");
	input(f, ".\r\n");
	T_EQ_INT(f->contentlen, 1000 + 4002 + 4002);
	T_ASSERT(memcmp(f->content + 1000, line, 4002) == 0);
	T_ASSERT(memcmp(f->content + 5002, line, 4002) == 0);
	fake_free(f);
}

TEST(smtp_size_limit)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	char			 line[100];

	conf_default(&c);
	c.size_limit = 100;
	c.anon_content = 1;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "DATA\r\n");
	clear_sent(f);
	memset(line, 'x', 48);
	memcpy(line + 48, "\r\n", 3);
	input(f, line);
	input(f, line);
	T_EQ_INT(f->contentlen, 100);
	input(f, line);
	input(f, line);
	/* over the limit: read on, write nothing more */
	T_EQ_INT(f->contentlen, 100);
	T_SENT(f, "");
	input(f, ".\r\n");
	T_SENT(f,
	    "552 message size exceeds fixed maximum message size\n");
	T_EQ_INT(f->rsets, 1);
	T_EQ_INT(f->nreq, 3);	/* MAIL, RCPT, RSET: no DATA_END */
	T_ASSERT(!smtp_proto_in_transaction(&f->p));
	/* still usable */
	clear_sent(f);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	T_SENT(f, "250 sender <a@b.example> OK\n");
	fake_free(f);
}

TEST(smtp_bdat)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.chunking = 1;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n");
	T_EQ_INT(f->last.body, ADDR_BODY_BINARYMIME);
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	clear_sent(f);
	input(f, "DATA\r\n");
	T_SENT(f,
	    "503 command out of sequence -- use RSET to resynchronise\n");
	clear_sent(f);
	/* octets are raw: no dot handling, NUL and bare CR kept */
	inputn(f, "BDAT 7\r\n.\r\n\0\rab", 15);
	T_EQ_INT(smtp_proto_chunk_left(&f->p), 0);
	T_SENT(f, "250 7 bytes received\n");
	input(f, "BDAT 3 LAST\r\nxyzNOOP\r\n");
	T_EQ_INT(f->reqs[2], SMTP_REQ_DATA_END);
	T_EQ_INT(f->last.size, 10);
	T_EQ_INT(f->contentlen, strlen(RECEIVED) + 10);
	T_ASSERT(memcmp(f->content, RECEIVED, strlen(RECEIVED)) == 0);
	T_ASSERT(memcmp(f->content + strlen(RECEIVED), ".\r\n\0\rabxyz",
	    10) == 0);
	answer(f, SMTP_REQ_DATA_END, MSG_OK, NULL);
	T_SENT(f, "250 7 bytes received\n250 message processed\n"
	    "250 noop\n");
	T_ASSERT(!smtp_proto_in_transaction(&f->p));
	fake_free(f);
}

TEST(smtp_bdat_pieces)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.chunking = 1;
	c.anon_content = 1;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	clear_sent(f);
	input(f, "BDAT 10 last\r\n12345");
	T_EQ_INT(smtp_proto_chunk_left(&f->p), 5);
	T_ASSERT(smtp_proto_in_content(&f->p));
	T_EQ_INT(smtp_proto_line(&f->p, "X\r\n", 3), SMTP_PROTO_BUSY);
	input(f, "67890");
	T_EQ_INT(f->reqs[2], SMTP_REQ_DATA_END);
	T_CONTENT(f, "1234567890");
	answer(f, SMTP_REQ_DATA_END, MSG_TEMPFAIL, "foo bar");
	T_SENT(f, "452 foo bar\n");
	/* BDAT 0 LAST ends an empty message */
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "BDAT 0 LAST\r\n");
	T_EQ_INT(f->reqs[5], SMTP_REQ_DATA_END);
	T_EQ_INT(f->last.size, 0);
	fake_free(f);
}

TEST(smtp_bdat_errors)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.chunking = 1;
	f = session(&c);
	/* refused chunks are still read, so their octets are not commands */
	input(f, "BDAT 6\r\nQUIT\r\nNOOP\r\n");
	input(f, "BDAT x\r\nBDAT 1 FIRST\r\nBDAT 12345678901234567890\r\n");
	T_SENT(f,
	    "503 command out of sequence -- use RSET to resynchronise\n"
	    "250 noop\n"
	    "501 syntax error in parameters\n"
	    "501 syntax error in parameters\n"
	    "501 syntax error in parameters\n");
	T_EQ_INT(f->closed, 0);
	clear_sent(f);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "BDAT 4 LAST\r\nabcdRSET\r\n");
	T_SENT(f, "250 sender <a@b.example> OK\n"
	    "554 no valid recipients\n250 state reset\n");
	T_EQ_INT(f->contentlen, 0);
	fake_free(f);

	/* without chunking BDAT and BINARYMIME are unknown */
	conf_default(&c);
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n");
	input(f, "BDAT 1 LAST\r\n");
	T_SENT(f, "555 unsupported parameter\n"
	    "500 command unrecognized\n");
	fake_free(f);
}

TEST(smtp_bdat_size_limit)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.chunking = 1;
	c.anon_content = 1;
	c.size_limit = 10;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	clear_sent(f);
	input(f, "BDAT 8\r\n12345678BDAT 8 LAST\r\n12345678NOOP\r\n");
	T_SENT(f, "250 8 bytes received\n"
	    "552 message size exceeds fixed maximum message size\n"
	    "250 noop\n");
	T_EQ_INT(f->rsets, 1);
	T_EQ_INT(f->contentlen, 8);
	fake_free(f);
}

TEST(smtp_protocol_errors_close)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	int			 i;

	conf_default(&c);
	f = session(&c);
	for (i = 0; i < 7; i++)
		input(f, "BOGUS\r\n");
	T_EQ_INT(f->closed, 0);
	input(f, "NOOP\r\n");
	clear_sent(f);
	input(f, "MAIL FROM:<x@y.example> SIZE=x\r\nNOOP\r\n");
	T_SENT(f, "501 invalid SIZE value\n");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->reason, "too many protocol errors from the client");
	T_ASSERT(smtp_proto_busy(&f->p));
	fake_free(f);
}

TEST(smtp_overlong_and_nul)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	char			 line[3000];

	conf_default(&c);
	f = session(&c);
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', 1500);
	memcpy(line + 1505, "\r\n", 3);
	input(f, line);
	/* exactly 1000 with CRLF is fine, 1001 is not */
	memset(line + 5, 'x', 993);
	memcpy(line + 998, "\r\n", 3);
	input(f, line);
	memset(line + 5, 'x', 994);
	memcpy(line + 999, "\r\n", 3);
	input(f, line);
	inputn(f, "NO\0OP\r\n", 7);
	input(f, "\r\n");
	input(f, "NOOP\r\n");
	T_SENT(f, "500 line too long\n250 noop\n500 line too long\n"
	    "500 command unrecognized\n500 command unrecognized\n250 noop\n");
	clear_sent(f);
	smtp_proto_overlong(&f->p);
	T_SENT(f, "500 line too long\n");
	T_EQ_INT(f->closed, 0);
	fake_free(f);
}

TEST(smtp_starttls)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.tls_available = 1;
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	clear_sent(f);
	input(f, "STARTTLS\r\nMAIL FROM:<evil@x.example>\r\nQUIT\r\n");
	T_SENT(f, "220 ready to start tls\n");
	T_EQ_INT(f->tls_started, 1);
	T_EQ_INT(f->dropped, (int)strlen("MAIL FROM:<evil@x.example>\r\n"
	    "QUIT\r\n"));
	T_EQ_INT(f->rsets, 1);
	T_ASSERT(smtp_proto_busy(&f->p));
	T_EQ_INT(f->nreq, 2);
	smtp_proto_tls_done(&f->p, "TLS_AES_256_GCM_SHA384");
	T_ASSERT(!smtp_proto_busy(&f->p));
	clear_sent(f);
	/* EHLO needed again; STARTTLS no longer offered */
	input(f, "MAIL FROM:<a@b.example>\r\n");
	input(f, "EHLO client.test\r\n");
	input(f, "STARTTLS\r\n");
	T_SENT(f,
	    "503 command out of sequence -- use RSET to resynchronise\n"
	    "250-relay.test says hello\n250-VRFY\n250 8BITMIME\n"
	    "503 command out of sequence -- use RSET to resynchronise\n");
	input(f, "MAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "DATA\r\n");
	T_CONTENT(f, "Received: from client.test ([127.0.0.1]) by "
	    "relay.test with ESMTPS tls TLS_AES_256_GCM_SHA384 ; Mon, 23 Nov "
	    "2026 19:20:03 +0000\r\n");
	fake_free(f);

	conf_default(&c);
	f = session(&c);
	input(f, "STARTTLS\r\nNOOP\r\n");
	T_SENT(f, "500 command unrecognized\n250 noop\n");
	T_EQ_INT(f->tls_started, 0);
	fake_free(f);
}

TEST(smtp_tls_required)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.tls_available = 1;
	c.tls_required = 1;
	c.auth = 1;
	c.auth_mechs = "PLAIN";
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\nVRFY bob\r\nAUTH PLAIN\r\n");
	T_SENT(f, "530 encryption required: use starttls\n"
	    "530 encryption required: use starttls\n"
	    "530 encryption required: use starttls\n");
	T_EQ_INT(f->nreq, 0);
	fake_free(f);

	/* implicit TLS counts as TLS */
	c.tls_active = 1;
	c.tls_cipher = "TLS_AES_128_GCM_SHA256";
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\n");
	T_SENT(f, "530 authentication required\n");
	fake_free(f);
}

TEST(smtp_auth_required)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.auth = 1;
	c.auth_mechs = "PLAIN LOGIN";
	f = session(&c);
	input(f, "MAIL FROM:<a@b.example>\r\nVRFY bob\r\n");
	T_SENT(f, "530 authentication required\n"
	    "530 authentication required\n");
	T_EQ_INT(f->nreq, 0);
	fake_free(f);

	/* a trusted address needs no AUTH */
	f = fake_new(&c);
	smtp_proto_set_trusted(&f->p, "trusted-lan");
	smtp_proto_start(&f->p);
	input(f, "EHLO client.test\r\nMAIL FROM:<a@b.example>\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0], SMTP_REQ_MAIL);
	fake_free(f);
}

TEST(smtp_auth_plain)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	char			 line[512];

	conf_default(&c);
	c.auth = 1;
	c.auth_mechs = "PLAIN LOGIN";
	f = session(&c);
	snprintf(line, sizeof(line), "AUTH plain %s\r\n",
	    b64("\0bob\0secret pw", 14));
	input(f, line);
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0], SMTP_REQ_AUTH);
	T_EQ_STR(f->mech, "PLAIN");
	T_EQ_STR(f->id, "bob");
	T_EQ_STR(f->secret, "secret pw");
	T_EQ_STR(f->authzid, "");
	/* not authenticated before the answer */
	T_ASSERT(smtp_proto_busy(&f->p));
	T_ASSERT(smtp_proto_auth_id(&f->p) == NULL);
	answer(f, SMTP_REQ_AUTH, MSG_OK, NULL);
	T_SENT(f, "235 authentication successful\n");
	T_EQ_STR(smtp_proto_auth_id(&f->p), "bob");
	T_EQ_STR(smtp_proto_auth_mech(&f->p), "PLAIN");
	clear_sent(f);
	input(f, "AUTH PLAIN\r\n");
	T_SENT(f, "503 already authenticated\n");
	clear_sent(f);
	input(f, "MAIL FROM:<a@b.example> AUTH=bob\r\n");
	T_EQ_STR(f->auth, "bob");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<x@y.example>\r\n");
	answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
	input(f, "DATA\r\n");
	T_CONTENT(f, "Received: from client.test ([127.0.0.1]) by "
	    "relay.test with ESMTPA ; Mon, 23 Nov 2026 19:20:03 +0000\r\n");
	input(f, ".\r\n");
	answer(f, SMTP_REQ_DATA_END, MSG_OK, NULL);
	/* EHLO resets authentication */
	clear_sent(f);
	input(f, "EHLO again\r\nMAIL FROM:<a@b.example>\r\n");
	T_ASSERT(smtp_proto_auth_id(&f->p) == NULL);
	T_ASSERT(strstr(f->sent, "530 authentication required\n") != NULL);
	fake_free(f);

	/* continuation, with an authorization id; then failure */
	f = session(&c);
	input(f, "AUTH PLAIN\r\n");
	T_SENT(f, "334 \n");
	T_ASSERT(!smtp_proto_busy(&f->p));
	snprintf(line, sizeof(line), "%s\r\n", b64("admin\0bob\0pw", 12));
	input(f, line);
	T_EQ_STR(f->authzid, "admin");
	T_EQ_STR(f->id, "bob");
	T_EQ_STR(f->secret, "pw");
	answer(f, SMTP_REQ_AUTH, MSG_PERMFAIL, NULL);
	input(f, "AUTH PLAIN =\r\n");
	T_SENT(f, "334 \n535 authentication failed\n"
	    "501 invalid authentication response\n");
	T_ASSERT(smtp_proto_auth_id(&f->p) == NULL);
	fake_free(f);
}

TEST(smtp_auth_login_cram)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	char			 line[512], chbuf[1024];
	const char		*ch;

	conf_default(&c);
	c.auth = 1;
	c.auth_mechs = "CRAM-SHA256 CRAM-MD5 LOGIN";
	f = session(&c);
	input(f, "AUTH LOGIN\r\n");
	T_SENT(f, "334 VXNlcm5hbWU6\n");
	snprintf(line, sizeof(line), "%s\r\n", b64("alice", 5));
	input(f, line);
	T_SENT(f, "334 VXNlcm5hbWU6\n334 UGFzc3dvcmQ6\n");
	snprintf(line, sizeof(line), "%s\r\n", b64("pa ss", 5));
	input(f, line);
	T_EQ_STR(f->mech, "LOGIN");
	T_EQ_STR(f->id, "alice");
	T_EQ_STR(f->secret, "pa ss");
	answer(f, SMTP_REQ_AUTH, MSG_TEMPFAIL, NULL);
	T_ASSERT(strstr(f->sent,
	    "\n454 temporary authentication failure\n") != NULL);
	clear_sent(f);

	/* LOGIN with the user name as initial response */
	snprintf(line, sizeof(line), "AUTH LOGIN %s\r\n", b64("carol", 5));
	input(f, line);
	T_SENT(f, "334 UGFzc3dvcmQ6\n");
	input(f, "*\r\n");
	T_SENT(f, "334 UGFzc3dvcmQ6\n501 authentication cancelled\n");
	clear_sent(f);

	input(f, "AUTH CRAM-MD5\r\n");
	T_ASSERT(strncmp(f->sent, "334 ", 4) == 0);
	snprintf(line, sizeof(line), "%.*s", (int)(f->sentlen - 5),
	    f->sent + 4);
	ch = unb64(line);
	snprintf(chbuf, sizeof(chbuf), "%s", ch);
	ch = chbuf;
	clear_sent(f);
	/* "<digits.1795461603@relay.test>" */
	T_ASSERT(ch[0] == '<');
	T_ASSERT(strstr(ch, ".1795461603@relay.test>") != NULL);
	T_ASSERT(strspn(ch + 1, "0123456789") ==
	    strlen(ch) - 1 - strlen(".1795461603@relay.test>"));
	snprintf(line, sizeof(line), "%s\r\n",
	    b64("dave 0123456789abcdef0123456789abcdef", 37));
	input(f, line);
	T_EQ_STR(f->mech, "CRAM-MD5");
	T_EQ_STR(f->id, "dave");
	T_EQ_STR(f->secret, "0123456789abcdef0123456789abcdef");
	T_EQ_STR(f->challenge, ch);
	answer(f, SMTP_REQ_AUTH, MSG_OK, NULL);
	T_SENT(f, "235 authentication successful\n");
	T_EQ_STR(smtp_proto_auth_mech(&f->p), "CRAM-MD5");
	fake_free(f);
}

TEST(smtp_auth_errors)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	char			 line[2000];

	conf_default(&c);
	c.auth = 1;
	c.auth_mechs = "PLAIN LOGIN CRAM-MD5";
	f = fake_new(&c);
	smtp_proto_start(&f->p);
	clear_sent(f);
	input(f, "AUTH PLAIN\r\n");		/* before EHLO */
	input(f, "EHLO x\r\n");
	clear_sent(f);
	input(f, "AUTH\r\n");
	input(f, "AUTH DIGEST-MD5\r\n");
	input(f, "AUTH CRAM-MD5 abcd\r\n");
	input(f, "AUTH PLAIN !!!!\r\n");
	input(f, "AUTH PLAIN\r\n");
	input(f, "not base64\r\n");
	T_SENT(f,
	    "501 parameter required\n"
	    "504 unsupported authentication mechanism\n"
	    "501 syntax error in parameters\n"
	    "501 invalid base64 encoding\n"
	    "334 \n"
	    "501 invalid base64 encoding\n");
	T_EQ_INT(f->nreq, 0);
	/* an overlong response ends the exchange */
	clear_sent(f);
	input(f, "AUTH LOGIN\r\n");
	memset(line, 'A', 1500);
	memcpy(line + 1500, "\r\n", 3);
	input(f, line);
	input(f, "NOOP\r\n");
	T_SENT(f, "334 VXNlcm5hbWU6\n500 line too long\n250 noop\n");
	T_EQ_INT(f->closed, 0);
	fake_free(f);

	/* no --server-auth: 502 */
	conf_default(&c);
	f = session(&c);
	input(f, "AUTH PLAIN\r\n");
	T_SENT(f, "502 command not implemented\n");
	fake_free(f);
}

TEST(smtp_vrfy)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = session(&c);
	input(f, "VRFY\r\n");
	input(f, "VRFY <>\r\n");
	input(f, "VRFY <me@relay.test>\r\n");
	T_EQ_STR(f->addr, "me@relay.test");
	answer(f, SMTP_REQ_VRFY, SMTP_STATUS_LOCAL,
	    "Me Myself <me@relay.test>");
	input(f, "VRFY you@far.example\r\n");
	answer(f, SMTP_REQ_VRFY, MSG_OK, NULL);
	input(f, "VRFY nobody\r\n");
	answer(f, SMTP_REQ_VRFY, MSG_PERMFAIL, "no such mailbox");
	input(f, "VRFY later\r\n");
	answer(f, SMTP_REQ_VRFY, MSG_TEMPFAIL, "try again");
	T_SENT(f,
	    "550 invalid mailbox\n"
	    "550 invalid mailbox\n"
	    "250 Me Myself <me@relay.test>\n"
	    "252 cannot verify but will accept: you@far.example\n"
	    "550 no such mailbox\n"
	    "450 try again\n");
	fake_free(f);

	c.anon_vrfy = 1;
	f = session(&c);
	input(f, "VRFY bob\r\n");
	T_SENT(f, "252 cannot vrfy\n");
	T_EQ_INT(f->nreq, 0);
	fake_free(f);
}

TEST(smtp_data_end_results)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;
	int			 i;
	const char		*texts[] = { "550 5.7.1 go away", "foo bar",
				    NULL, "\tspam" };

	conf_default(&c);
	f = session(&c);
	for (i = 0; i < 4; i++) {
		input(f, "MAIL FROM:<a@b.example>\r\n");
		answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
		input(f, "RCPT TO:<x@y.example>\r\n");
		answer(f, SMTP_REQ_RCPT, MSG_OK, NULL);
		input(f, "DATA\r\nx\r\n.\r\n");
		clear_sent(f);
		answer(f, SMTP_REQ_DATA_END, MSG_PERMFAIL, texts[i]);
		T_ASSERT(!smtp_proto_in_transaction(&f->p));
		switch (i) {
		case 0:
			T_SENT(f, "550 5.7.1 go away\n");
			break;
		case 1:
			T_SENT(f, "452 foo bar\n");
			break;
		case 2:
			T_SENT(f, "452 error\n");
			break;
		default:
			T_SENT(f, "452  spam\n");
			break;
		}
	}
	T_EQ_INT(f->rsets, 0);
	fake_free(f);
}

TEST(smtp_rset_and_noop)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	smtp_proto_start(&f->p);
	clear_sent(f);
	input(f, "noop\r\nrset\r\nNOOP with args\r\n");
	T_SENT(f, "250 noop\n250 state reset\n250 noop\n");
	T_EQ_INT(f->rsets, 0);
	/* EHLO in a transaction discards it */
	input(f, "EHLO a\r\nMAIL FROM:<a@b.example>\r\n");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "EHLO b\r\n");
	T_EQ_INT(f->rsets, 1);
	T_ASSERT(!smtp_proto_in_transaction(&f->p));
	fake_free(f);
}

TEST(smtp_smtputf8)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	/* without smtputf8strict UTF-8 addresses are accepted */
	conf_default(&c);
	c.smtputf8 = 1;
	f = session(&c);
	input(f, "MAIL FROM:<j\xc3\xbcrgen@b.example>\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->last.utf8, 1);
	T_EQ_INT(f->last.smtputf8, 0);
	fake_free(f);

	c.smtputf8strict = 1;
	f = session(&c);
	input(f, "MAIL FROM:<j\xc3\xbcrgen@b.example>\r\n");
	T_SENT(f, "553 mailbox name not allowed: invalid character "
	    "in mailbox name\n");
	input(f, "MAIL FROM:<j\xc3\xbcrgen@b.example> SMTPUTF8\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->last.smtputf8, 1);
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:<m\xc3\xbcller@c.example>\r\n");
	T_EQ_INT(f->nreq, 2);
	T_EQ_INT(f->last.utf8, 1);
	fake_free(f);
}

TEST(smtp_nostrictparsing)
{
	struct smtp_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.nostrictparsing = 1;
	f = session(&c);
	input(f, "MAIL FROM:a@b.example X-UNKNOWN=1\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_STR(f->addr, "a@b.example");
	answer(f, SMTP_REQ_MAIL, MSG_OK, NULL);
	input(f, "RCPT TO:bob\r\n");
	T_EQ_STR(f->addr, "bob");
	fake_free(f);
}

TEST(smtp_received_line)
{
	char	 buf[512];
	int	 n;

	n = smtp_proto_received(buf, sizeof(buf), "client.test", "127.0.0.1",
	    "relay.test", 0, NULL, FIXED_TIME, 0);
	T_EQ_STR(buf, RECEIVED);
	T_EQ_INT(n, strlen(RECEIVED));
	/* spaces in the HELO name, TLS and AUTH, a positive offset */
	smtp_proto_received(buf, sizeof(buf), "my  host", "192.0.2.7",
	    "relay.test", 1, "TLS_AES_256_GCM_SHA384", FIXED_TIME, 3600);
	T_EQ_STR(buf, "Received: from my--host ([192.0.2.7]) by relay.test "
	    "with ESMTPSA tls TLS_AES_256_GCM_SHA384 ; Mon, 23 Nov 2026 "
	    "20:20:03 +0100\r\n");
	/* day not zero-padded, negative half-hour offset crossing midnight */
	smtp_proto_received(buf, sizeof(buf), "h", "::1", "r.test", 1, NULL,
	    1793671200, -(5 * 3600 + 1800));
	T_EQ_STR(buf, "Received: from h ([::1]) by r.test with ESMTPA ; "
	    "Mon, 2 Nov 2026 20:30:00 -0530\r\n");
	/* too small */
	T_EQ_INT(smtp_proto_received(buf, 20, "h", "::1", "r.test", 0, NULL,
	    FIXED_TIME, 0), -1);
}
