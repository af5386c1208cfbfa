/*
 * pop/pop_proto.c: the POP3 server engine driven through a fake session
 * that cuts lines, honours busy, records replies, raw content output and
 * requests, and serves a maildrop held in the test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "bounds.h"
#include "md5.h"
#include "msg.h"
#include "pop/pop_proto.h"
#include "t.h"

/* Compare through variables: T_EQ_STR prints its argument text. */
#define T_SENT(f, expect) do {						\
	const char *t_expect = (expect);				\
	T_EQ_STR((f)->sent, t_expect);					\
} while (0)
#define T_OUT(f, expect) do {						\
	const char *t_expect = (expect);				\
	T_EQ_STR((f)->out, t_expect);					\
} while (0)

#define FIXED_TIME	1795461603
#define GREETING	"+OK POP3 server ready <4242.1795461603@pop.test>\n"

struct fake {
	struct pop_proto	 p;
	char			 sent[1 << 20];	/* replies, "\n" after each */
	size_t			 sentlen;
	char			 out[65536];	/* ops->write() octets */
	size_t			 outlen;
	int			 writes;
	char			 in[16384];	/* unfed input */
	size_t			 inlen;
	enum pop_req		 reqs[64];	/* kinds in order */
	size_t			 nreq;
	struct pop_request	 last;
	char			 mech[32], id[300], secret[1100];
	char			 authzid[300], challenge[400], uid[80];
	size_t			 deleted[64];
	size_t			 ndeleted;
	int			 tls_started;
	int			 closed;
	char			 reason[128];
	int			 authfails;
	char			 af_mech[32], af_id[300], af_why[128];
	int			 dropped;
};

static void	 f_send(void *, const char *);
static void	 f_write(void *, const char *, size_t);
static void	 f_request(void *, const struct pop_request *);
static void	 f_start_tls(void *);
static void	 f_close(void *, const char *);
static void	 f_auth_failed(void *, const char *, const char *,
		    const char *);
static time_t	 f_now(void *);
static void	 conf_default(struct pop_proto_conf *);
static struct fake *fake_new(const struct pop_proto_conf *);
static void	 fake_free(struct fake *);
static void	 pump(struct fake *);
static void	 input(struct fake *, const char *);
static void	 inputn(struct fake *, const char *, size_t);
static void	 answer(struct fake *, enum pop_req, int, const char *);
static void	 clear_sent(struct fake *);
static void	 clear_out(struct fake *);
static int	 maildrop(struct fake *, size_t, const uint64_t *,
		    const char *const *);
static struct fake *logged_in(const struct pop_proto_conf *, size_t);
static const char *b64(const char *, size_t);
static const char *unb64(const char *);
static int	 stream(struct fake *, const char *, size_t, const size_t *,
		    size_t);
static size_t	 reference(const char *, size_t, int, uint64_t, char *);
static int	 splits_agree(struct fake *, const char *, int, uint64_t,
		    const char *);
static int	 prefix(const char *, const char *);
static int	 suffix(const char *, const char *);

static const struct pop_ops fake_ops = {
	f_send, f_write, f_request, f_start_tls, f_close, f_auth_failed,
	f_now
};

static const uint64_t	 sizes3[] = { 120, 250, 4000 };
static const char *const uids3[] = {
	"emailrelay.100.1700000000.1.content",
	"emailrelay.100.1700000000.2.content",
	"emailrelay.100.1700000001.3.content"
};

static void
f_send(void *arg, const char *line)
{
	struct fake	*f = arg;
	int		 n;

	n = snprintf(f->sent + f->sentlen, sizeof(f->sent) - f->sentlen,
	    "%s\n", line);
	if (n < 0 || (size_t)n >= sizeof(f->sent) - f->sentlen)
		abort();
	f->sentlen += (size_t)n;
}

static void
f_write(void *arg, const char *data, size_t len)
{
	struct fake	*f = arg;

	if (len == 0 || f->outlen + len >= sizeof(f->out))
		abort();
	memcpy(f->out + f->outlen, data, len);
	f->outlen += len;
	f->out[f->outlen] = '\0';
	f->writes++;
}

static void
f_request(void *arg, const struct pop_request *req)
{
	struct fake	*f = arg;
	size_t		 i;

	if (f->nreq < sizeof(f->reqs) / sizeof(f->reqs[0]))
		f->reqs[f->nreq++] = req->kind;
	f->last = *req;
	snprintf(f->mech, sizeof(f->mech), "%s", req->mech ? req->mech : "");
	snprintf(f->id, sizeof(f->id), "%s", req->id ? req->id : "");
	snprintf(f->secret, sizeof(f->secret), "%s",
	    req->secret ? req->secret : "");
	snprintf(f->authzid, sizeof(f->authzid), "%s",
	    req->authzid ? req->authzid : "");
	snprintf(f->challenge, sizeof(f->challenge), "%s",
	    req->challenge ? req->challenge : "");
	snprintf(f->uid, sizeof(f->uid), "%s", req->uid ? req->uid : "");
	f->ndeleted = 0;
	for (i = 0; i < req->ndeleted && i < 64; i++)
		f->deleted[f->ndeleted++] = req->deleted[i];
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
f_auth_failed(void *arg, const char *mech, const char *id, const char *why)
{
	struct fake	*f = arg;

	f->authfails++;
	snprintf(f->af_mech, sizeof(f->af_mech), "%s", mech);
	snprintf(f->af_id, sizeof(f->af_id), "%s", id);
	snprintf(f->af_why, sizeof(f->af_why), "%s", why);
}

static time_t
f_now(void *arg)
{
	return (FIXED_TIME);
}

static void
conf_default(struct pop_proto_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->host = "pop.test";
	c->pid = 4242;
	c->auth_mechs = "CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN "
	    "LOGIN";
}

static struct fake *
fake_new(const struct pop_proto_conf *conf)
{
	struct fake	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		abort();
	pop_proto_init(&f->p, conf, &fake_ops, f);
	return (f);
}

static void
fake_free(struct fake *f)
{
	pop_proto_clear(&f->p);
	free(f);
}

/* The session's input loop: lines, fragments of overlong ones. */
static void
pump(struct fake *f)
{
	char	*nl;
	size_t	 used;
	int	 r;

	while (f->inlen > 0 && !pop_proto_busy(&f->p)) {
		nl = memchr(f->in, '\n', f->inlen);
		if (nl != NULL)
			used = (size_t)(nl - f->in) + 1;
		else if (f->inlen >= BOUNDS_LINE)
			used = f->inlen;
		else
			break;
		r = pop_proto_line(&f->p, f->in, used);
		if (r == POP_PROTO_BUSY)
			break;
		if (r == POP_PROTO_DROP) {
			f->dropped += (int)(f->inlen - used);
			used = f->inlen;
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
answer(struct fake *f, enum pop_req kind, int status, const char *text)
{
	if (pop_proto_reply(&f->p, kind, status, text) != 0)
		abort();
	pump(f);
}

static void
clear_sent(struct fake *f)
{
	f->sentlen = 0;
	f->sent[0] = '\0';
}

static void
clear_out(struct fake *f)
{
	f->outlen = 0;
	f->out[0] = '\0';
	f->writes = 0;
}

/* Describe a maildrop for the outstanding LIST. */
static int
maildrop(struct fake *f, size_t n, const uint64_t *sizes,
    const char *const *uids)
{
	size_t	 i;

	if (pop_proto_maildrop(&f->p, n) != 0)
		return (-1);
	for (i = 0; i < n; i++)
		if (pop_proto_maildrop_entry(&f->p, i + 1, sizes[i],
		    uids[i]) != 0)
			return (-1);
	return (0);
}

/*
 * Started, logged in with USER/PASS, the maildrop of sizes3/uids3 (n of
 * them) open, transcript cleared.
 */
static struct fake *
logged_in(const struct pop_proto_conf *conf, size_t n)
{
	struct fake	*f;

	f = fake_new(conf);
	pop_proto_start(&f->p);
	input(f, "USER alice\r\nPASS secret\r\n");
	if (pop_proto_reply(&f->p, POP_REQ_AUTH, MSG_OK, NULL) != 0 ||
	    maildrop(f, n, sizes3, uids3) != 0 ||
	    pop_proto_reply(&f->p, POP_REQ_LIST, MSG_OK, NULL) != 0)
		abort();
	clear_sent(f);
	return (f);
}

static const char *
b64(const char *s, size_t len)
{
	static char	 out[480];

	if (base64_encode(s, len, out, sizeof(out)) == -1)
		abort();
	return (out);
}

static const char *
unb64(const char *s)
{
	static char	 out[512];
	ssize_t		 n;

	if ((n = base64_decode(s, strlen(s), out, sizeof(out) - 1, 0)) == -1)
		return ("");
	out[n] = '\0';
	return (out);
}

/*
 * Send content through RETR (or TOP with lines) of message 1 cut at the
 * ncuts ascending offsets, content_end included; f->out gets what went
 * out.  Returns the number of chunks fed before POP_CONTENT_DONE, or -1
 * if the content was used up first.
 */
static int
stream(struct fake *f, const char *msg, size_t len, const size_t *cuts,
    size_t ncuts)
{
	size_t	 i, from = 0, to;
	int	 done = -1;

	for (i = 0; i <= ncuts && done == -1; i++) {
		to = i < ncuts ? cuts[i] : len;
		if (!pop_proto_in_content(&f->p))
			abort();
		if (pop_proto_content(&f->p, msg + from, to - from) ==
		    POP_CONTENT_DONE)
			done = (int)i + 1;
		from = to;
	}
	/* later chunks are ignored */
	if (done != -1 && pop_proto_content(&f->p, "x\n", 2) !=
	    POP_CONTENT_DONE)
		abort();
	pop_proto_content_end(&f->p);
	return (done);
}

/*
 * An independent whole-buffer rendering: lines end at CRLF, LF or CR,
 * each sent with CRLF and a leading dot doubled; TOP keeps the header
 * block, the empty line and lines body lines.
 */
static size_t
reference(const char *msg, size_t len, int top, uint64_t lines, char *out)
{
	size_t		 i = 0, n = 0, start;
	uint64_t	 body = 0;
	int		 inbody = 0;

	while (i < len) {
		start = i;
		while (i < len && msg[i] != '\r' && msg[i] != '\n')
			i++;
		if (top && inbody && body++ >= lines)
			break;
		if (i > start && msg[start] == '.')
			out[n++] = '.';
		memcpy(out + n, msg + start, i - start);
		n += i - start;
		memcpy(out + n, "\r\n", 2);
		n += 2;
		if (i == start)
			inbody = 1;
		if (i < len && msg[i] == '\r' && i + 1 < len &&
		    msg[i + 1] == '\n')
			i++;
		if (i < len)
			i++;
		if (top && inbody && lines == 0)
			break;
	}
	memcpy(out + n, ".\r\n", 4);
	return (n + 3);
}

/*
 * The content of msg, as RETR (top 0) or TOP lines, gives expect unsplit,
 * cut at every offset, at every pair of offsets, and byte by byte.
 * Returns 1 if all agree.
 */
static int
splits_agree(struct fake *f, const char *msg, int top, uint64_t lines,
    const char *expect)
{
	char	 cmd[64];
	size_t	 len = strlen(msg), cuts[4096], i, j;

	if (len > sizeof(cuts) / sizeof(cuts[0]))
		abort();
	if (top)
		snprintf(cmd, sizeof(cmd), "TOP 1 %llu\r\n",
		    (unsigned long long)lines);
	else
		snprintf(cmd, sizeof(cmd), "RETR 1\r\n");
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			input(f, cmd);
			answer(f, POP_REQ_RETR, MSG_OK, NULL);
			clear_out(f);
			cuts[0] = i;
			cuts[1] = j;
			stream(f, msg, len, cuts, 2);
			if (strcmp(f->out, expect) != 0) {
				printf("cut at %zu and %zu: \"%s\"\n", i, j,
				    f->out);
				return (0);
			}
		}
	}
	input(f, cmd);
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	clear_out(f);
	for (i = 1; i < len; i++)
		cuts[i - 1] = i;
	stream(f, msg, len, cuts, len > 0 ? len - 1 : 0);
	return (strcmp(f->out, expect) == 0);
}

static int
prefix(const char *s, const char *pre)
{
	return (strncmp(s, pre, strlen(pre)) == 0);
}

static int
suffix(const char *s, const char *suf)
{
	size_t	 n = strlen(s), m = strlen(suf);

	return (n >= m && strcmp(s + n - m, suf) == 0);
}

TEST(pop_greeting)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	T_ASSERT(pop_proto_busy(&f->p));
	T_EQ_INT(pop_proto_line(&f->p, "NOOP\r\n", 6), POP_PROTO_BUSY);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_NEW);
	pop_proto_start(&f->p);
	T_SENT(f, GREETING);
	T_ASSERT(!pop_proto_busy(&f->p));
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_AUTHORIZATION);
	/* a second start sends nothing */
	pop_proto_start(&f->p);
	T_SENT(f, GREETING);
	fake_free(f);
}

TEST(pop_capa)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.tls_available = 1;
	c.implementation = "E-MailRelay V2.6.1";
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "capa\r\n");
	T_SENT(f, "+OK capability list follows\n"
	    "USER\nCAPA\nTOP\nUIDL\nSTLS\n"
	    "SASL CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN LOGIN\n"
	    "IMPLEMENTATION E-MailRelay V2.6.1\n.\n");
	fake_free(f);

	/* md5 secrets: CRAM-MD5 only, so no USER; no TLS, no STLS */
	conf_default(&c);
	c.auth_mechs = "CRAM-MD5";
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "CAPA\r\n");
	T_SENT(f, "+OK capability list follows\n"
	    "CAPA\nTOP\nUIDL\nSASL CRAM-MD5\n.\n");
	clear_sent(f);
	input(f, "USER bob\r\nPASS x\r\n");
	T_SENT(f, "-ERR command not available\n-ERR command not available\n");
	T_EQ_INT(f->nreq, 0);
	fake_free(f);

	/* no mechanism before TLS (m:;a:plain) */
	conf_default(&c);
	c.auth_mechs = "";
	c.auth_mechs_tls = "PLAIN";
	c.tls_available = 1;
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "CAPA\r\n");
	T_SENT(f, "+OK capability list follows\n"
	    "CAPA\nTOP\nUIDL\nSTLS\n.\n");
	clear_sent(f);
	input(f, "STLS\r\n");
	pop_proto_tls_done(&f->p);
	input(f, "CAPA\r\n");
	T_SENT(f, "+OK begin TLS negotiation\n"
	    "+OK capability list follows\n"
	    "USER\nCAPA\nTOP\nUIDL\nSASL PLAIN\n.\n");
	fake_free(f);

	/* the same list in the TRANSACTION state */
	conf_default(&c);
	f = logged_in(&c, 3);
	input(f, "CAPA\r\n");
	T_SENT(f, "+OK capability list follows\n"
	    "USER\nCAPA\nTOP\nUIDL\n"
	    "SASL CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN LOGIN\n"
	    ".\n");
	fake_free(f);
}

TEST(pop_whole_session)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	input(f, "USER alice\r\n");
	input(f, "PASS my secret \r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0], POP_REQ_AUTH);
	T_EQ_STR(f->mech, "PLAIN");
	T_EQ_STR(f->id, "alice");
	T_EQ_STR(f->secret, "my secret ");
	T_EQ_STR(f->authzid, "");
	T_EQ_STR(f->challenge, "");
	T_ASSERT(pop_proto_busy(&f->p));
	T_ASSERT(pop_proto_auth_id(&f->p) == NULL);
	answer(f, POP_REQ_AUTH, MSG_OK, NULL);
	/* the maildrop is asked for at once */
	T_EQ_INT(f->nreq, 2);
	T_EQ_INT(f->reqs[1], POP_REQ_LIST);
	T_EQ_STR(f->id, "alice");
	T_ASSERT(pop_proto_busy(&f->p));
	T_EQ_INT(maildrop(f, 3, sizes3, uids3), 0);
	answer(f, POP_REQ_LIST, MSG_OK, NULL);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_TRANSACTION);
	T_EQ_STR(pop_proto_auth_id(&f->p), "alice");
	T_EQ_STR(pop_proto_auth_mech(&f->p), "PLAIN");
	T_SENT(f, GREETING "+OK\n+OK maildrop has 3 messages (4370 octets)\n");
	clear_sent(f);

	input(f, "STAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nuidl 3\r\n");
	T_SENT(f,
	    "+OK 3 4370\n"
	    "+OK 3 messages (4370 octets)\n1 120\n2 250\n3 4000\n.\n"
	    "+OK 2 250\n"
	    "+OK unique-id listing follows\n"
	    "1 emailrelay.100.1700000000.1.content\n"
	    "2 emailrelay.100.1700000000.2.content\n"
	    "3 emailrelay.100.1700000001.3.content\n.\n"
	    "+OK 3 emailrelay.100.1700000001.3.content\n");
	clear_sent(f);

	input(f, "DELE 2\r\nLIST\r\nSTAT\r\nLIST 2\r\nUIDL 2\r\nDELE 2\r\n"
	    "RETR 2\r\nTOP 2 1\r\nUIDL\r\n");
	T_SENT(f,
	    "+OK message 2 deleted\n"
	    "+OK 2 messages (4120 octets)\n1 120\n3 4000\n.\n"
	    "+OK 2 4120\n"
	    "-ERR no such message\n"
	    "-ERR no such message\n"
	    "-ERR message 2 already deleted\n"
	    "-ERR no such message\n"
	    "-ERR no such message\n"
	    "+OK unique-id listing follows\n"
	    "1 emailrelay.100.1700000000.1.content\n"
	    "3 emailrelay.100.1700000001.3.content\n.\n");
	T_EQ_INT(f->nreq, 2);
	clear_sent(f);

	/* RSET undeletes */
	input(f, "RSET\r\nSTAT\r\nNOOP\r\n");
	T_SENT(f, "+OK maildrop has 3 messages (4370 octets)\n"
	    "+OK 3 4370\n+OK\n");
	clear_sent(f);

	input(f, "DELE 3\r\nDELE 1\r\nQUIT\r\nNOOP\r\n");
	T_EQ_INT(f->nreq, 3);
	T_EQ_INT(f->reqs[2], POP_REQ_UPDATE);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_UPDATE);
	T_ASSERT(pop_proto_busy(&f->p));
	T_EQ_INT(f->ndeleted, 2);
	T_EQ_INT(f->deleted[0], 1);
	T_EQ_INT(f->deleted[1], 3);
	T_EQ_STR(f->id, "alice");
	/* the outside maps numbers to its files through the uids */
	T_EQ_STR(pop_proto_uid(&f->p, 3), uids3[2]);
	T_ASSERT(pop_proto_uid(&f->p, 4) == NULL);
	T_ASSERT(pop_proto_uid(&f->p, 0) == NULL);
	T_EQ_INT(f->closed, 0);
	answer(f, POP_REQ_UPDATE, MSG_OK, NULL);
	T_SENT(f, "+OK message 3 deleted\n+OK message 1 deleted\n"
	    "+OK POP3 server signing off\n");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->reason, "pop protocol done");
	T_ASSERT(pop_proto_closed(&f->p));
	T_EQ_INT(pop_proto_line(&f->p, "NOOP\r\n", 6), POP_PROTO_BUSY);
	fake_free(f);
}

TEST(pop_user_pass_failures)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	char			 line[600];

	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "PASS early\r\nUSER\r\nUSER bob\r\nPASS wrong\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_STR(f->id, "bob");
	T_EQ_STR(f->secret, "wrong");
	answer(f, POP_REQ_AUTH, MSG_PERMFAIL, "no such user");
	/* the client is not told why; the log hook is */
	T_SENT(f, "-ERR send USER first\n-ERR missing argument\n+OK\n"
	    "-ERR authentication failed\n");
	T_EQ_INT(f->authfails, 1);
	T_EQ_STR(f->af_mech, "PLAIN");
	T_EQ_STR(f->af_id, "bob");
	T_EQ_STR(f->af_why, "no such user");
	T_ASSERT(pop_proto_auth_id(&f->p) == NULL);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_AUTHORIZATION);
	clear_sent(f);

	/* a failed PASS needs a new USER */
	input(f, "PASS again\r\n");
	T_SENT(f, "-ERR send USER first\n");
	clear_sent(f);
	input(f, "USER bob\r\nPASS\r\nPASS x\r\n");
	T_SENT(f, "+OK\n-ERR missing argument\n-ERR send USER first\n");
	T_EQ_INT(f->nreq, 1);
	clear_sent(f);

	/* a wrong password and an unknown user look the same */
	input(f, "USER alice\r\nPASS wrong\r\n");
	answer(f, POP_REQ_AUTH, MSG_PERMFAIL, "bad password");
	T_SENT(f, "+OK\n-ERR authentication failed\n");
	T_EQ_STR(f->af_why, "bad password");
	clear_sent(f);
	input(f, "USER alice\r\nPASS pw\r\n");
	answer(f, POP_REQ_AUTH, MSG_TEMPFAIL, NULL);
	T_SENT(f, "+OK\n-ERR temporary authentication failure\n");
	T_EQ_STR(f->af_why, "temporary failure");
	T_EQ_INT(f->authfails, 3);
	/* 7 protocol errors so far: a temporary failure is none */
	T_EQ_INT(f->closed, 0);
	fake_free(f);

	/* an overlong user name */
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	memset(line, 'u', sizeof(line));
	memcpy(line, "USER ", 5);
	memcpy(line + 5 + BOUNDS_DOMAIN + 1, "\r\n", 3);
	input(f, line);
	line[5 + BOUNDS_DOMAIN] = '\r';
	line[5 + BOUNDS_DOMAIN + 1] = '\n';
	line[5 + BOUNDS_DOMAIN + 2] = '\0';
	input(f, line);
	T_SENT(f, "-ERR invalid argument\n+OK\n");
	fake_free(f);

	/* the maildrop cannot be opened: back to AUTHORIZATION */
	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "USER alice\r\nPASS pw\r\n");
	answer(f, POP_REQ_AUTH, MSG_OK, NULL);
	T_EQ_STR(pop_proto_auth_id(&f->p), "alice");
	answer(f, POP_REQ_LIST, MSG_TEMPFAIL, "-ERR [IN-USE] maildrop locked");
	T_SENT(f, "+OK\n-ERR [IN-USE] maildrop locked\n");
	T_ASSERT(pop_proto_auth_id(&f->p) == NULL);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_AUTHORIZATION);
	clear_sent(f);
	input(f, "STAT\r\nUSER alice\r\nPASS pw\r\n");
	answer(f, POP_REQ_AUTH, MSG_OK, NULL);
	answer(f, POP_REQ_LIST, MSG_PERMFAIL, NULL);
	T_SENT(f, "-ERR command not valid in this state\n+OK\n"
	    "-ERR maildrop unavailable\n");
	fake_free(f);
}

TEST(pop_quit)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	/* in AUTHORIZATION: no UPDATE */
	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "quit\r\n");
	T_SENT(f, "+OK POP3 server signing off\n");
	T_EQ_INT(f->nreq, 0);
	T_EQ_INT(f->closed, 1);
	fake_free(f);

	/* nothing deleted: the UPDATE is still asked for */
	f = logged_in(&c, 3);
	input(f, "QUIT\r\n");
	T_EQ_INT(f->reqs[f->nreq - 1], POP_REQ_UPDATE);
	T_EQ_INT(f->ndeleted, 0);
	T_EQ_INT(f->closed, 0);
	answer(f, POP_REQ_UPDATE, MSG_OK, NULL);
	T_EQ_INT(f->closed, 1);
	fake_free(f);

	/* the deletion failed */
	f = logged_in(&c, 3);
	input(f, "DELE 2\r\nQUIT\r\n");
	T_EQ_INT(f->ndeleted, 1);
	T_EQ_INT(f->deleted[0], 2);
	answer(f, POP_REQ_UPDATE, MSG_TEMPFAIL, "disk error");
	T_SENT(f, "+OK message 2 deleted\n"
	    "-ERR some deleted messages not removed\n");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(pop_proto_reply(&f->p, POP_REQ_UPDATE, MSG_OK, NULL), -1);
	fake_free(f);
}

TEST(pop_cut_session)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	size_t			 n;

	conf_default(&c);
	f = logged_in(&c, 3);
	input(f, "DELE 1\r\nDELE 2\r\n");
	n = f->nreq;
	/* the connection drops: nothing is deleted */
	fake_free(f);
	T_EQ_INT(n, 2);
}

TEST(pop_wrong_state)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.tls_available = 1;
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "STAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nNOOP\r\n"
	    "RSET\r\nTOP 1 1\r\n");
	T_SENT(f,
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n");
	T_EQ_INT(f->closed, 0);
	fake_free(f);

	f = logged_in(&c, 3);
	input(f, "USER bob\r\nPASS x\r\nAUTH PLAIN\r\nSTLS\r\nAPOP a b\r\n"
	    "XTND\r\n\r\n");
	T_SENT(f,
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n"
	    "-ERR command not valid in this state\n"
	    "-ERR unknown command\n"
	    "-ERR unknown command\n"
	    "-ERR unknown command\n");
	/* 7 errors; the 8th closes after its reply */
	T_EQ_INT(f->closed, 0);
	T_EQ_INT(f->tls_started, 0);
	clear_sent(f);
	input(f, "UIDL x\r\nNOOP\r\n");
	T_SENT(f, "-ERR invalid argument\n");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->reason, "too many protocol errors from the client");
	T_EQ_INT(f->inlen, 6);
	fake_free(f);
}

TEST(pop_arguments)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = logged_in(&c, 3);
	input(f, "RETR\r\nRETR x\r\nRETR 0\r\nRETR 4\r\nTOP 1\r\n"
	    "TOP 1 x\r\nSTAT 1\r\n");
	T_SENT(f,
	    "-ERR missing argument\n"
	    "-ERR invalid argument\n"
	    "-ERR no such message\n"
	    "-ERR no such message\n"
	    "-ERR missing argument\n"
	    "-ERR invalid argument\n"
	    "-ERR invalid argument\n");
	T_EQ_INT(f->nreq, 2);
	clear_sent(f);
	/* 5 errors so far */
	T_EQ_INT(f->closed, 0);
	input(f, "LIST 99999999999999999999\r\nDELE -1\r\nRETR\r\n"
	    "NOOP\r\n");
	T_SENT(f, "-ERR invalid argument\n-ERR invalid argument\n"
	    "-ERR missing argument\n");
	T_EQ_INT(f->closed, 1);
	fake_free(f);

	/* no such message is not a protocol error */
	f = logged_in(&c, 3);
	input(f, "LIST 7\r\nLIST 7\r\nLIST 7\r\nLIST 7\r\nLIST 7\r\n"
	    "LIST 7\r\nLIST 7\r\nLIST 7\r\nLIST 7\r\nLIST  3\r\n");
	T_EQ_INT(f->closed, 0);
	T_ASSERT(strstr(f->sent, "-ERR no such message\n+OK 3 4000\n") !=
	    NULL);
	fake_free(f);
}

TEST(pop_long_lines_and_nul)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	char			 line[3000];

	conf_default(&c);
	f = logged_in(&c, 3);
	/* one overlong line, passed in fragments, gets one reply */
	memset(line, 'A', sizeof(line));
	memcpy(line + 2500, "\r\nNOOP\r\n", 9);
	input(f, line);
	T_SENT(f, "-ERR line too long\n+OK\n");
	clear_sent(f);
	/* a line of exactly BOUNDS_LINE octets is fine */
	memset(line, ' ', BOUNDS_LINE);
	memcpy(line, "NOOP", 4);
	memcpy(line + BOUNDS_LINE - 2, "\r\n", 3);
	input(f, line);
	T_SENT(f, "+OK\n");
	clear_sent(f);
	inputn(f, "NO\0OP\r\nNOOP\r\n", 13);
	T_SENT(f, "-ERR invalid character in command\n+OK\n");
	/* a bare LF ends a line too */
	clear_sent(f);
	input(f, "NOOP\n");
	T_SENT(f, "+OK\n");
	T_EQ_INT(f->closed, 0);
	fake_free(f);

	/* an overlong SASL response ends the exchange */
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "AUTH LOGIN\r\n");
	memset(line, 'A', 1500);
	memcpy(line + 1500, "\r\n", 3);
	input(f, line);
	input(f, "NOOP\r\n");
	T_SENT(f, "+ VXNlcm5hbWU6\n-ERR line too long\n"
	    "-ERR command not valid in this state\n");
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_AUTHORIZATION);
	T_EQ_INT(f->nreq, 0);
	fake_free(f);
}

TEST(pop_retr_normalised)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	const char		*msg, *expect;
	char			 ref[4096];
	size_t			 cuts[1] = { 0 };

	msg = "Subject: dots\r\n"
	    ".hidden: header\n"
	    "\r\n"
	    ".\r\n"
	    "..two\n"
	    "bare\rcr\r\r\n"
	    ".\n"
	    "mid.dot .\r\n"
	    ".";
	expect = "Subject: dots\r\n"
	    "..hidden: header\r\n"
	    "\r\n"
	    "..\r\n"
	    "...two\r\n"
	    "bare\r\ncr\r\n\r\n"
	    "..\r\n"
	    "mid.dot .\r\n"
	    "..\r\n"
	    ".\r\n";
	conf_default(&c);
	f = logged_in(&c, 3);
	input(f, "RETR 1\r\n");
	T_EQ_INT(f->last.kind, POP_REQ_RETR);
	T_EQ_INT(f->last.msgno, 1);
	T_EQ_INT(f->last.top, 0);
	T_EQ_STR(f->uid, uids3[0]);
	T_ASSERT(!pop_proto_in_content(&f->p));
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	T_SENT(f, "+OK 120 octets\n");
	T_ASSERT(pop_proto_in_content(&f->p));
	T_ASSERT(pop_proto_busy(&f->p));
	T_EQ_INT(stream(f, msg, strlen(msg), cuts, 0), -1);
	T_OUT(f, expect);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_TRANSACTION);
	/* the independent rendering agrees */
	reference(msg, strlen(msg), 0, 0, ref);
	T_EQ_STR(ref, expect);
	T_ASSERT(splits_agree(f, msg, 0, 0, expect));
	T_EQ_INT(f->closed, 0);
	fake_free(f);
}

TEST(pop_retr_edges)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	static const char *const msgs[] = {
		"", "x", "x\r", "x\n", "x\r\n", "\r", "\n", ".", "..", ".\r",
		"\r\n.\r\n", "\n\n\n", "\r\r\r", "a\r\n.\r\nb", ".x\n.\r.\n",
		"line one\nline two\n\nbody\n"
	};
	char			 ref[256];
	size_t			 i;

	conf_default(&c);
	f = logged_in(&c, 3);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		reference(msgs[i], strlen(msgs[i]), 0, 0, ref);
		T_ASSERT(splits_agree(f, msgs[i], 0, 0, ref));
	}
	/* some by hand */
	input(f, "RETR 2\r\n");
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	clear_out(f);
	pop_proto_content_end(&f->p);
	T_OUT(f, ".\r\n");
	input(f, "RETR 2\r\n");
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	clear_out(f);
	T_EQ_INT(pop_proto_content(&f->p, "a\r", 2), POP_CONTENT_MORE);
	T_EQ_INT(pop_proto_content(&f->p, "", 0), POP_CONTENT_MORE);
	T_EQ_INT(pop_proto_content(&f->p, "\n.", 2), POP_CONTENT_MORE);
	pop_proto_content_end(&f->p);
	T_OUT(f, "a\r\n..\r\n.\r\n");
	/* no content wanted now */
	T_EQ_INT(pop_proto_content(&f->p, "x", 1), POP_CONTENT_DONE);
	T_OUT(f, "a\r\n..\r\n.\r\n");
	fake_free(f);
}

TEST(pop_retr_writes_in_place)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	char			 big[20000];
	size_t			 i;

	/* CRLF content goes out in one write per chunk, not per line */
	for (i = 0; i + 10 <= sizeof(big); i += 10)
		memcpy(big + i, "01234567\r\n", 10);
	conf_default(&c);
	f = logged_in(&c, 3);
	input(f, "RETR 3\r\n");
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	T_SENT(f, "+OK 4000 octets\n");
	clear_out(f);
	T_EQ_INT(pop_proto_content(&f->p, big, 8000), POP_CONTENT_MORE);
	T_EQ_INT(f->writes, 1);
	T_EQ_INT(pop_proto_content(&f->p, big + 8000, 12000),
	    POP_CONTENT_MORE);
	T_EQ_INT(f->writes, 2);
	pop_proto_content_end(&f->p);
	T_EQ_INT(f->outlen, 20003);
	T_ASSERT(memcmp(f->out, big, 20000) == 0);
	T_EQ_STR(f->out + 20000, ".\r\n");
	fake_free(f);
}

TEST(pop_retr_failure_and_pipelining)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = logged_in(&c, 3);
	input(f, "RETR 1\r\nNOOP\r\n");
	/* the NOOP waits for the reply */
	T_SENT(f, "");
	answer(f, POP_REQ_RETR, MSG_PERMFAIL, "message\r\nvanished");
	T_SENT(f, "-ERR message  vanished\n+OK\n");
	clear_sent(f);
	input(f, "RETR 1\r\n");
	answer(f, POP_REQ_RETR, MSG_TEMPFAIL, NULL);
	T_SENT(f, "-ERR no such message\n");
	clear_sent(f);
	/* and for the content */
	input(f, "RETR 1\r\nSTAT\r\n");
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	T_SENT(f, "+OK 120 octets\n");
	T_EQ_INT(f->inlen, 6);
	pop_proto_content(&f->p, "hi\n", 3);
	pop_proto_content_end(&f->p);
	pump(f);
	T_SENT(f, "+OK 120 octets\n+OK 3 4370\n");
	T_OUT(f, "hi\r\n.\r\n");
	T_EQ_INT(pop_proto_reply(&f->p, POP_REQ_RETR, MSG_OK, NULL), -1);
	T_EQ_INT(f->closed, 0);
	fake_free(f);
}

TEST(pop_top)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	const char		*msg;
	char			 ref[1024];
	size_t			 cuts[2];
	uint64_t		 n;

	msg = "From: a\r\nSubject: b\r\n\r\nline 1\r\n.line 2\nline 3\r\n"
	    "line 4";
	conf_default(&c);
	f = logged_in(&c, 3);
	input(f, "TOP 1 2\r\n");
	T_EQ_INT(f->last.kind, POP_REQ_RETR);
	T_EQ_INT(f->last.top, 1);
	T_EQ_INT(f->last.lines, 2);
	T_EQ_INT(f->last.msgno, 1);
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	T_SENT(f, "+OK top of message follows\n");
	clear_out(f);
	/* DONE comes with the chunk that holds the second body line */
	cuts[0] = 30;
	cuts[1] = 42;
	T_EQ_INT(stream(f, msg, strlen(msg), cuts, 2), 2);
	T_OUT(f, "From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\n.\r\n");

	/* no body lines: the header block and the empty line */
	clear_sent(f);
	input(f, "TOP 1 0\r\n");
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	clear_out(f);
	T_EQ_INT(stream(f, msg, strlen(msg), cuts, 0), 1);
	T_OUT(f, "From: a\r\nSubject: b\r\n\r\n.\r\n");

	/* more lines than there are: all of it */
	input(f, "TOP 1 100\r\n");
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	clear_out(f);
	T_EQ_INT(stream(f, msg, strlen(msg), cuts, 0), -1);
	T_OUT(f, "From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\n"
	    "line 3\r\nline 4\r\n.\r\n");

	/* every cut, every line count, against the reference */
	for (n = 0; n <= 6; n++) {
		reference(msg, strlen(msg), 1, n, ref);
		T_ASSERT(splits_agree(f, msg, 1, n, ref));
	}
	/* a CR at the end of the last wanted line, cut before its LF */
	msg = "H: 1\r\n\r\nbody\r\nmore\r\n";
	input(f, "TOP 1 1\r\n");
	answer(f, POP_REQ_RETR, MSG_OK, NULL);
	clear_out(f);
	T_EQ_INT(pop_proto_content(&f->p, msg, 13), POP_CONTENT_DONE);
	T_ASSERT(!pop_proto_in_content(&f->p));
	T_ASSERT(pop_proto_busy(&f->p));
	pop_proto_content_end(&f->p);
	T_OUT(f, "H: 1\r\n\r\nbody\r\n.\r\n");
	/* headers only, no empty line */
	for (n = 0; n <= 2; n++)
		T_ASSERT(splits_agree(f, "A: 1\nB: 2\r\n", 1, n,
		    "A: 1\r\nB: 2\r\n.\r\n"));
	T_EQ_INT(f->closed, 0);
	fake_free(f);
}

TEST(pop_listing_batches)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	static uint64_t		 sizes[1000];
	static char		 uidbuf[1000][16];
	static const char	*uids[1000];
	size_t			 i, lines;
	const char		*s;

	for (i = 0; i < 1000; i++) {
		sizes[i] = i + 1;
		snprintf(uidbuf[i], sizeof(uidbuf[i]), "u%zu", i + 1);
		uids[i] = uidbuf[i];
	}
	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	input(f, "USER a\r\nPASS b\r\n");
	answer(f, POP_REQ_AUTH, MSG_OK, NULL);
	T_EQ_INT(maildrop(f, 1000, sizes, uids), 0);
	answer(f, POP_REQ_LIST, MSG_OK, NULL);
	input(f, "DELE 2\r\n");
	clear_sent(f);
	input(f, "LIST\r\nNOOP\r\n");
	for (lines = 0, s = f->sent; (s = strchr(s, '\n')) != NULL; s++)
		lines++;
	T_EQ_INT(lines, 1 + POP_PROTO_LISTBATCH);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_LISTING);
	T_ASSERT(pop_proto_busy(&f->p));
	T_EQ_INT(pop_proto_line(&f->p, "NOOP\r\n", 6), POP_PROTO_BUSY);
	T_ASSERT(strstr(f->sent, "\n2 2\n") == NULL);
	for (i = 0; i < 10 && pop_proto_busy(&f->p); i++) {
		pop_proto_drained(&f->p);
		pump(f);
	}
	T_EQ_INT(i, 3);
	for (lines = 0, s = f->sent; (s = strchr(s, '\n')) != NULL; s++)
		lines++;
	/* "+OK", 999 messages, ".", then the NOOP's "+OK" */
	T_EQ_INT(lines, 1 + 999 + 1 + 1);
	T_ASSERT(prefix(f->sent, "+OK 999 messages (500498 octets)\n"
	    "1 1\n3 3\n4 4\n"));
	T_ASSERT(suffix(f->sent, "\n999 999\n1000 1000\n.\n+OK\n"));
	/* harmless when nothing is pending */
	clear_sent(f);
	pop_proto_drained(&f->p);
	T_SENT(f, "");
	input(f, "UIDL\r\n");
	while (pop_proto_busy(&f->p))
		pop_proto_drained(&f->p);
	T_ASSERT(prefix(f->sent, "+OK unique-id listing follows\n"
	    "1 u1\n3 u3\n"));
	T_ASSERT(suffix(f->sent, "\n999 u999\n1000 u1000\n.\n"));
	fake_free(f);
}

TEST(pop_maildrop_limits)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	char			 uid[80];
	uint64_t		 one = 5;
	const char		*u = "a";

	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	/* nothing outstanding */
	T_EQ_INT(pop_proto_maildrop(&f->p, 1), -1);
	T_EQ_INT(pop_proto_reply(&f->p, POP_REQ_LIST, MSG_OK, NULL), -1);
	input(f, "USER a\r\nPASS b\r\n");
	T_EQ_INT(pop_proto_maildrop(&f->p, 1), -1);	/* AUTH, not LIST */
	answer(f, POP_REQ_AUTH, MSG_OK, NULL);
	T_EQ_INT(pop_proto_maildrop(&f->p, POP_PROTO_MAXMSGS + 1), -1);
	T_EQ_INT(pop_proto_maildrop(&f->p, 3), 0);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 0, 1, "a"), -1);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 4, 1, "a"), -1);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 1, 1, ""), -1);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 1, 1, "a b"), -1);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 1, 1, "a\x7f"), -1);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 1, 1, "\xc3\xa4"), -1);
	memset(uid, 'x', sizeof(uid));
	uid[POP_PROTO_UIDMAX + 1] = '\0';
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 1, 1, uid), -1);
	uid[POP_PROTO_UIDMAX] = '\0';
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 1, 1, uid), 0);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 1, 1, "b"), -1);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 3, 7, "c"), 0);
	T_EQ_STR(pop_proto_uid(&f->p, 1), uid);
	T_ASSERT(pop_proto_uid(&f->p, 2) == NULL);
	/* entry 2 missing: a bug, answered as a failure */
	clear_sent(f);
	T_EQ_INT(pop_proto_reply(&f->p, POP_REQ_LIST, MSG_OK, NULL), -1);
	T_SENT(f, "-ERR maildrop unavailable\n");
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_AUTHORIZATION);
	T_ASSERT(pop_proto_uid(&f->p, 1) == NULL);

	/* an empty maildrop, without pop_proto_maildrop() at all */
	clear_sent(f);
	input(f, "USER a\r\nPASS b\r\n");
	answer(f, POP_REQ_AUTH, MSG_OK, NULL);
	answer(f, POP_REQ_LIST, MSG_OK, NULL);
	input(f, "STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nQUIT\r\n");
	T_SENT(f, "+OK\n+OK maildrop has 0 messages (0 octets)\n"
	    "+OK 0 0\n+OK 0 messages (0 octets)\n.\n"
	    "+OK unique-id listing follows\n.\n-ERR no such message\n");
	T_EQ_INT(f->ndeleted, 0);
	/* the maildrop is not touched outside a LIST */
	answer(f, POP_REQ_UPDATE, MSG_OK, NULL);
	fake_free(f);

	f = logged_in(&c, 3);
	T_EQ_INT(pop_proto_maildrop(&f->p, 1), -1);
	T_EQ_INT(pop_proto_maildrop_entry(&f->p, 1, one, u), -1);
	T_EQ_STR(pop_proto_uid(&f->p, 2), uids3[1]);
	fake_free(f);
}

TEST(pop_sasl_plain)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	char			 line[512];

	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	snprintf(line, sizeof(line), "auth plain %s\r\n",
	    b64("\0bob\0secret pw", 14));
	T_ASSERT(pop_proto_sensitive(&f->p, line, strlen(line)));
	input(f, line);
	T_EQ_INT(f->nreq, 1);
	T_EQ_STR(f->mech, "PLAIN");
	T_EQ_STR(f->id, "bob");
	T_EQ_STR(f->secret, "secret pw");
	T_EQ_STR(f->authzid, "");
	answer(f, POP_REQ_AUTH, MSG_PERMFAIL, NULL);
	T_SENT(f, "-ERR authentication failed\n");
	T_EQ_STR(f->af_mech, "PLAIN");
	T_EQ_STR(f->af_id, "bob");
	T_EQ_STR(f->af_why, "rejected");
	clear_sent(f);

	/* "+ " continuation, an authorization id */
	T_ASSERT(!pop_proto_sensitive(&f->p, "AUTH PLAIN\r\n", 12));
	input(f, "AUTH PLAIN\r\n");
	T_SENT(f, "+ \n");
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_SASL);
	T_ASSERT(pop_proto_sensitive(&f->p, "x\r\n", 3));
	snprintf(line, sizeof(line), "%s\r\n", b64("admin\0bob\0pw", 12));
	input(f, line);
	T_EQ_STR(f->authzid, "admin");
	T_EQ_STR(f->id, "bob");
	T_EQ_STR(f->secret, "pw");
	answer(f, POP_REQ_AUTH, MSG_OK, NULL);
	T_EQ_INT(f->reqs[f->nreq - 1], POP_REQ_LIST);
	T_EQ_STR(f->id, "bob");
	answer(f, POP_REQ_LIST, MSG_OK, NULL);
	T_EQ_STR(pop_proto_auth_id(&f->p), "bob");
	T_EQ_STR(pop_proto_auth_mech(&f->p), "PLAIN");
	T_SENT(f, "+ \n+OK maildrop has 0 messages (0 octets)\n");
	fake_free(f);

	/* an empty initial response, malformed responses */
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "AUTH PLAIN =\r\n");
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n", b64("a\0b", 3));
	input(f, line);
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n",
	    b64("a\0b\0c\0d", 7));
	input(f, line);
	input(f, "AUTH PLAIN !!!!\r\nAUTH PLAIN a b\r\n");
	T_SENT(f,
	    "-ERR invalid authentication response\n"
	    "-ERR invalid authentication response\n"
	    "-ERR invalid authentication response\n"
	    "-ERR invalid base64 encoding\n"
	    "-ERR invalid argument\n");
	T_EQ_INT(f->nreq, 0);
	fake_free(f);
}

TEST(pop_sasl_login)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	char			 line[512];

	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "AUTH LOGIN\r\n");
	T_SENT(f, "+ VXNlcm5hbWU6\n");
	snprintf(line, sizeof(line), "%s\r\n", b64("alice", 5));
	input(f, line);
	T_SENT(f, "+ VXNlcm5hbWU6\n+ UGFzc3dvcmQ6\n");
	snprintf(line, sizeof(line), "%s\r\n", b64("pa ss", 5));
	input(f, line);
	T_EQ_STR(f->mech, "LOGIN");
	T_EQ_STR(f->id, "alice");
	T_EQ_STR(f->secret, "pa ss");
	answer(f, POP_REQ_AUTH, MSG_TEMPFAIL, "lookup timed out");
	T_ASSERT(strstr(f->sent,
	    "\n-ERR temporary authentication failure\n") != NULL);
	T_EQ_STR(f->af_mech, "LOGIN");
	T_EQ_STR(f->af_why, "lookup timed out");
	clear_sent(f);

	/* the user name as initial response, then a cancel */
	snprintf(line, sizeof(line), "AUTH LOGIN %s\r\n", b64("carol", 5));
	input(f, line);
	T_SENT(f, "+ UGFzc3dvcmQ6\n");
	input(f, "*\r\n");
	T_SENT(f, "+ UGFzc3dvcmQ6\n-ERR authentication cancelled\n");
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_AUTHORIZATION);
	T_EQ_INT(f->nreq, 1);
	clear_sent(f);

	/* an id too long fails without asking */
	memset(line, 'u', 300);
	input(f, "AUTH LOGIN\r\n");
	input(f, b64(line, BOUNDS_DOMAIN + 1));
	input(f, "\r\n");
	T_SENT(f, "+ VXNlcm5hbWU6\n-ERR authentication failed\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_STR(f->af_why, "authentication id too long");
	fake_free(f);
}

TEST(pop_sasl_cram)
{
	static const char *const mechs[] = {
		"CRAM-MD5", "CRAM-SHA1", "CRAM-SHA256", "CRAM-SHA512"
	};
	struct pop_proto_conf	 c;
	struct fake		*f;
	unsigned char		 digest[MD5_DIGEST];
	char			 line[1024], resp[256], ch[512], hex[64];
	size_t			 i, j;

	conf_default(&c);
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		f = fake_new(&c);
		pop_proto_start(&f->p);
		clear_sent(f);
		snprintf(line, sizeof(line), "AUTH %s\r\n", mechs[i]);
		input(f, line);
		T_ASSERT(prefix(f->sent, "+ "));
		f->sent[f->sentlen - 1] = '\0';
		snprintf(ch, sizeof(ch), "%s", unb64(f->sent + 2));
		/* "<digits.1795461603@pop.test>" */
		T_ASSERT(ch[0] == '<');
		T_ASSERT(strstr(ch, ".1795461603@pop.test>") != NULL);
		T_ASSERT(strspn(ch + 1, "0123456789") ==
		    strlen(ch) - 1 - strlen(".1795461603@pop.test>"));
		/* the digest as a client computes it (MD5 only here) */
		md5_hmac("tanstaaf", 8, ch, strlen(ch), digest);
		for (j = 0; j < MD5_DIGEST; j++)
			snprintf(hex + 2 * j, 3, "%02x", digest[j]);
		snprintf(resp, sizeof(resp), "tim %s", hex);
		snprintf(line, sizeof(line), "%s\r\n", b64(resp,
		    strlen(resp)));
		input(f, line);
		T_EQ_INT(f->nreq, 1);
		T_EQ_STR(f->mech, mechs[i]);
		T_EQ_STR(f->id, "tim");
		T_EQ_STR(f->secret, hex);
		T_EQ_STR(f->challenge, ch);
		answer(f, POP_REQ_AUTH, MSG_OK, NULL);
		answer(f, POP_REQ_LIST, MSG_OK, NULL);
		T_EQ_STR(pop_proto_auth_mech(&f->p), mechs[i]);
		fake_free(f);
	}

	/* RFC 2195's example digest, to check the test's arithmetic */
	md5_hmac("tanstaaftanstaaf", 16,
	    "<1896.697170952@postoffice.reston.mci.net>", 42, digest);
	for (j = 0; j < MD5_DIGEST; j++)
		snprintf(hex + 2 * j, 3, "%02x", digest[j]);
	T_EQ_STR(hex, "b913a602c7eda7a495b4e6e7334d3890");

	/* no initial response to CRAM; a response without a digest */
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "AUTH CRAM-MD5 abcd\r\nAUTH CRAM-MD5\r\n");
	snprintf(line, sizeof(line), "%s\r\n", b64("nospace", 7));
	input(f, line);
	T_ASSERT(prefix(f->sent, "-ERR invalid argument\n+ "));
	T_ASSERT(strstr(f->sent, "\n-ERR invalid authentication response\n")
	    != NULL);
	T_EQ_INT(f->nreq, 0);
	fake_free(f);
}

TEST(pop_sasl_mechanisms)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.auth_mechs = "CRAM-MD5 LOGIN";
	c.auth_mechs_tls = "PLAIN LOGIN";
	c.tls_available = 1;
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "AUTH\r\nAUTH PLAIN\r\nAUTH DIGEST-MD5\r\n"
	    "AUTH AVERYLONGMECHANISMNAME\r\n");
	T_SENT(f, "+OK authentication mechanisms follow\nCRAM-MD5\nLOGIN\n.\n"
	    "-ERR unsupported authentication mechanism\n"
	    "-ERR unsupported authentication mechanism\n"
	    "-ERR unsupported authentication mechanism\n");
	clear_sent(f);
	input(f, "STLS\r\n");
	pop_proto_tls_done(&f->p);
	input(f, "AUTH\r\nAUTH CRAM-MD5\r\nAUTH plain\r\n");
	T_SENT(f, "+OK begin TLS negotiation\n"
	    "+OK authentication mechanisms follow\nPLAIN\nLOGIN\n.\n"
	    "-ERR unsupported authentication mechanism\n"
	    "+ \n");
	fake_free(f);

	/* no mechanism at all */
	c.auth_mechs = NULL;
	c.auth_mechs_tls = NULL;
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "AUTH\r\nAUTH PLAIN\r\n");
	T_SENT(f, "+OK authentication mechanisms follow\n.\n"
	    "-ERR unsupported authentication mechanism\n");
	fake_free(f);
}

TEST(pop_stls)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	int			 r;

	conf_default(&c);
	c.tls_available = 1;
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	/* USER before STLS is forgotten; plaintext after STLS dropped */
	input(f, "USER bob\r\nSTLS\r\nPASS injected\r\n");
	T_SENT(f, "+OK\n+OK begin TLS negotiation\n");
	T_EQ_INT(f->tls_started, 1);
	T_EQ_INT(f->dropped, 15);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_TLS);
	T_ASSERT(pop_proto_busy(&f->p));
	T_EQ_INT(pop_proto_line(&f->p, "NOOP\r\n", 6), POP_PROTO_BUSY);
	pop_proto_tls_done(&f->p);
	T_EQ_INT(pop_proto_state(&f->p), POP_ST_AUTHORIZATION);
	clear_sent(f);
	input(f, "PASS x\r\nSTLS\r\nSTLS now\r\n");
	T_SENT(f, "-ERR send USER first\n-ERR tls already active\n"
	    "-ERR tls already active\n");
	T_EQ_INT(f->nreq, 0);
	fake_free(f);

	/* STLS with an argument; STLS in TRANSACTION */
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	r = pop_proto_line(&f->p, "STLS x\r\n", 8);
	T_EQ_INT(r, POP_PROTO_OK);
	T_SENT(f, "-ERR invalid argument\n");
	fake_free(f);
	f = logged_in(&c, 1);
	input(f, "STLS\r\n");
	T_SENT(f, "-ERR command not valid in this state\n");
	T_EQ_INT(f->tls_started, 0);
	fake_free(f);

	/* without --server-tls */
	c.tls_available = 0;
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "STLS\r\n");
	T_SENT(f, "-ERR unknown command\n");
	fake_free(f);

	/* implicit TLS */
	c.tls_available = 1;
	c.tls_active = 1;
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "CAPA\r\nSTLS\r\n");
	T_ASSERT(strstr(f->sent, "STLS\n") == NULL);
	T_ASSERT(strstr(f->sent, "\n-ERR tls already active\n") != NULL);
	fake_free(f);
}

TEST(pop_tls_required)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.tls_available = 1;
	c.tls_required = 1;
	f = fake_new(&c);
	pop_proto_start(&f->p);
	clear_sent(f);
	input(f, "CAPA\r\nUSER bob\r\nPASS x\r\nAUTH PLAIN\r\nAUTH\r\n");
	T_SENT(f, "+OK capability list follows\nCAPA\nTOP\nUIDL\nSTLS\n.\n"
	    "-ERR encryption required: use stls\n"
	    "-ERR encryption required: use stls\n"
	    "-ERR encryption required: use stls\n"
	    "-ERR encryption required: use stls\n");
	T_EQ_INT(f->nreq, 0);
	clear_sent(f);
	input(f, "STLS\r\n");
	pop_proto_tls_done(&f->p);
	input(f, "USER bob\r\nPASS x\r\n");
	T_SENT(f, "+OK begin TLS negotiation\n+OK\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_STR(f->secret, "x");
	fake_free(f);
}

TEST(pop_sensitive_lines)
{
	struct pop_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	T_ASSERT(pop_proto_sensitive(&f->p, "PASS x\r\n", 8));
	T_ASSERT(pop_proto_sensitive(&f->p, "pass\r\n", 6));
	T_ASSERT(!pop_proto_sensitive(&f->p, "PASSWORD\r\n", 10));
	T_ASSERT(!pop_proto_sensitive(&f->p, "USER x\r\n", 8));
	T_ASSERT(!pop_proto_sensitive(&f->p, "AUTH LOGIN\r\n", 12));
	T_ASSERT(pop_proto_sensitive(&f->p, "AUTH LOGIN Ym9i\r\n", 17));
	T_ASSERT(!pop_proto_sensitive(&f->p, "AUTH\r\n", 6));
	fake_free(f);
}

TEST(pop_auth_failures_close)
{
	struct pop_proto_conf	 c;
	struct fake		*f;
	int			 i;

	/* rejected credentials count as protocol errors */
	conf_default(&c);
	f = fake_new(&c);
	pop_proto_start(&f->p);
	for (i = 0; i < POP_PROTO_MAXERRORS; i++) {
		T_EQ_INT(f->closed, 0);
		input(f, "USER bob\r\nPASS guess\r\n");
		answer(f, POP_REQ_AUTH, MSG_PERMFAIL, NULL);
	}
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->authfails, POP_PROTO_MAXERRORS);
	fake_free(f);
}
