/*
 * mta/smtpc_proto.c: the SMTP client engine driven through a fake
 * session that records the wire (command lines with CRLF and raw content
 * octets, in order), the -v trace, the outcomes and the close, and feeds
 * content in chunks of a chosen size, at once or later.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "md5.h"
#include "secrets.h"
#include "mta/smtpc_proto.h"
#include "t.h"

/* Compare through variables: T_EQ_STR prints its argument text. */
#define T_WIRE(f, expect) do {						\
	const char *t_expect = (expect);				\
	T_EQ_STR((f)->wire, t_expect);					\
} while (0)

#define NRES	8

struct fake {
	struct smtpc_proto	 p;
	char			 wire[65536];
	size_t			 wirelen;
	char			 trace[16384];	/* log lines, "\n" after each */
	size_t			 tracelen;
	const char		*content;	/* the stored content file */
	size_t			 clen, coff;
	size_t			 chunk;		/* feed size, 0 = all */
	int			 async;		/* answer content_next later */
	int			 wanted;
	int			 tls_started;
	int			 ready;
	struct smtpc_result	 res[NRES];
	char			 reason[NRES][1200];
	unsigned char		 rej[NRES][8];
	size_t			 nres;
	int			 closed, close_failed;
	char			 close_reason[1200];
	const struct smtpc_msg	*next;		/* given from done() */
	int			 quit_in_done;
	size_t			 nrcpt;		/* of the message in hand */
	int			 requests;	/* SMTPC_REQ_AUTH_SECRET asked */
	/* With answer_now: the account given from inside request(). */
	int			 answer_now;
	int			 kind;
	const char		*id;
	const char		*secret;
	size_t			 secretlen;
};

static void	 f_send(void *, const char *);
static void	 f_data(void *, const char *, size_t);
static void	 f_start_tls(void *);
static void	 f_request(void *, enum smtpc_req);
static void	 f_content_next(void *);
static void	 f_ready(void *);
static void	 f_done(void *, const struct smtpc_result *);
static void	 f_close(void *, int, const char *);
static void	 f_log(void *, const char *);
static void	 f_feed(struct fake *);
static struct fake *fake_new(const struct smtpc_conf *);
static void	 fake_free(struct fake *);
static void	 srv(struct fake *, const char *);
static void	 clear(struct fake *);
static void	 conf_default(struct smtpc_conf *);
static struct fake *established(const struct smtpc_conf *, const char *);
static void	 msg_init(struct smtpc_msg *, const char *const *, size_t);
static const char *content_run(struct fake *, const char *, size_t, size_t);

static const struct smtpc_ops fake_ops = {
	f_send, f_data, f_start_tls, f_request, f_content_next, f_ready,
	f_done, f_close, f_log
};

static const char *const rcpt1[] = { "c@d.example" };
static const char *const rcpt3[] = { "r1@d.example", "r2@d.example",
    "r3@d.example" };

#define EHLO_PLAIN	"250-mx.example says hello\r\n250 8BITMIME"
#define EHLO_PIPE	"250-mx.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n" \
			"250 SIZE 1000000"

static void
f_send(void *arg, const char *line)
{
	struct fake	*f = arg;
	int		 n;

	n = snprintf(f->wire + f->wirelen, sizeof(f->wire) - f->wirelen,
	    "%s\r\n", line);
	if (n > 0 && (size_t)n < sizeof(f->wire) - f->wirelen)
		f->wirelen += (size_t)n;
}

static void
f_data(void *arg, const char *data, size_t len)
{
	struct fake	*f = arg;

	if (f->wirelen + len < sizeof(f->wire)) {
		memcpy(f->wire + f->wirelen, data, len);
		f->wirelen += len;
		f->wire[f->wirelen] = '\0';
	}
}

static void
f_start_tls(void *arg)
{
	struct fake	*f = arg;

	f->tls_started++;
}

static void
f_request(void *arg, enum smtpc_req kind)
{
	struct fake	*f = arg;

	if (kind != SMTPC_REQ_AUTH_SECRET)
		abort();
	f->requests++;
	if (f->answer_now)
		smtpc_proto_auth_secret(&f->p, f->kind, f->id,
		    (const unsigned char *)f->secret, f->secretlen);
}

static void
f_content_next(void *arg)
{
	struct fake	*f = arg;

	f->wanted++;
	if (!f->async)
		f_feed(f);
}

/* Give the next chunk of f->content. */
static void
f_feed(struct fake *f)
{
	size_t	 n = f->clen - f->coff;

	if (f->chunk > 0 && n > f->chunk)
		n = f->chunk;
	f->coff += n;
	smtpc_proto_content(&f->p, f->content + f->coff - n, n,
	    f->coff == f->clen);
}

static void
f_ready(void *arg)
{
	struct fake	*f = arg;

	f->ready++;
}

static void
f_done(void *arg, const struct smtpc_result *res)
{
	struct fake	*f = arg;
	const struct smtpc_msg *m;
	size_t		 i;

	if (f->nres == NRES)
		abort();
	f->res[f->nres] = *res;
	snprintf(f->reason[f->nres], sizeof(f->reason[0]), "%s", res->reason);
	f->res[f->nres].reason = f->reason[f->nres];
	/* the tests that look at rejected flags send f->nrcpt recipients */
	if (res->rejected != NULL)
		for (i = 0; i < f->nrcpt && i < sizeof(f->rej[0]); i++)
			f->rej[f->nres][i] = res->rejected[i];
	f->nres++;
	if ((m = f->next) != NULL) {
		f->next = NULL;
		if (smtpc_proto_message(&f->p, m) == -1)
			abort();
	} else if (f->quit_in_done)
		smtpc_proto_quit(&f->p);
}

static void
f_close(void *arg, int failed, const char *reason)
{
	struct fake	*f = arg;

	f->closed++;
	f->close_failed = failed;
	snprintf(f->close_reason, sizeof(f->close_reason), "%s", reason);
}

static void
f_log(void *arg, const char *text)
{
	struct fake	*f = arg;
	int		 n;

	n = snprintf(f->trace + f->tracelen, sizeof(f->trace) - f->tracelen,
	    "%s\n", text);
	if (n > 0 && (size_t)n < sizeof(f->trace) - f->tracelen)
		f->tracelen += (size_t)n;
}

static struct fake *
fake_new(const struct smtpc_conf *conf)
{
	struct fake	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		abort();
	smtpc_proto_init(&f->p, conf, &fake_ops, f);
	f->content = "";
	return (f);
}

static void
fake_free(struct fake *f)
{
	smtpc_proto_clear(&f->p);
	free(f);
}

/* Server output: lines separated by CRLF, fed one at a time. */
static void
srv(struct fake *f, const char *s)
{
	const char	*e;

	for (;;) {
		e = strstr(s, "\r\n");
		smtpc_proto_line(&f->p, s, e != NULL ? (size_t)(e - s) :
		    strlen(s));
		if (e == NULL)
			return;
		s = e + 2;
	}
}

static void
clear(struct fake *f)
{
	f->wirelen = 0;
	f->wire[0] = '\0';
}

static void
conf_default(struct smtpc_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->domain = "relay.example";
	c->local_ip = "192.0.2.1";
}

/* Connected, greeted, EHLO answered with ehlo; the wire cleared. */
static struct fake *
established(const struct smtpc_conf *conf, const char *ehlo)
{
	struct fake	*f = fake_new(conf);

	smtpc_proto_start(&f->p);
	srv(f, "220 mx.example ESMTP");
	srv(f, ehlo);
	clear(f);
	return (f);
}

static void
msg_init(struct smtpc_msg *m, const char *const *rcpt, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->from = "a@b.example";
	m->rcpt = rcpt;
	m->nrcpt = n;
	m->body = SMTPC_BODY_7BIT;
}

TEST(smtpc_full_session)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	T_WIRE(f, "");
	srv(f, "220-mx.example ESMTP\r\n220 hello");
	T_WIRE(f, "EHLO relay.example\r\n");
	T_EQ_INT(f->ready, 0);
	srv(f, "250-mx.example\r\n250-8BITMIME\r\n250-SIZE 100\r\n250 AUTH "
	    "PLAIN");
	T_EQ_INT(f->ready, 1);
	T_EQ_INT(smtpc_proto_ext(&f->p), SMTPC_EXT_8BITMIME | SMTPC_EXT_SIZE |
	    SMTPC_EXT_AUTH);
	msg_init(&m, rcpt3, 2);
	m.size = 42;
	m.body = SMTPC_BODY_8BIT;
	m.auth = "me+40x.example";
	f->content = "Subject: hi\r\n\r\nbody\r\n";
	f->clen = strlen(f->content);
	T_EQ_INT(smtpc_proto_message(&f->p, &m), 0);
	T_EQ_INT(smtpc_proto_message(&f->p, &m), -1);	/* one at a time */
	srv(f, "250 sender OK");
	srv(f, "250 recipient OK");
	srv(f, "250 recipient OK");
	T_EQ_INT(f->wanted, 0);
	srv(f, "354 go ahead");
	T_EQ_INT(f->nres, 0);
	srv(f, "250 message processed");
	T_WIRE(f, "EHLO relay.example\r\n"
	    "MAIL FROM:<a@b.example> BODY=8BITMIME AUTH=me+40x.example "
	    "SIZE=42\r\n"
	    "RCPT TO:<r1@d.example>\r\n"
	    "RCPT TO:<r2@d.example>\r\n"
	    "DATA\r\n"
	    "Subject: hi\r\n\r\nbody\r\n.\r\n");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_DELIVERED);
	T_EQ_INT(f->res[0].code, 0);
	T_EQ_STR(f->res[0].reason, "");
	T_ASSERT(f->res[0].rejected == NULL);
	smtpc_proto_quit(&f->p);
	T_EQ_INT(f->closed, 0);
	srv(f, "221 bye");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->close_failed, 0);
	T_ASSERT(smtpc_proto_closed(&f->p));
	/* nothing more is taken */
	srv(f, "250 late");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(smtpc_proto_message(&f->p, &m), -1);
	T_ASSERT(strstr(f->wire, "QUIT\r\n") != NULL);
	fake_free(f);
}

TEST(smtpc_trace)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;
	const char		*expect;

	conf_default(&c);
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 mx \x01ok");
	srv(f, "250 mx");
	msg_init(&m, rcpt1, 1);
	f->content = "a\nb\n";
	f->clen = 4;
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 ok\r\n354 go\r\n250 done");
	expect = "rx<<: \"220 mx \\x01ok\"\n"
	    "tx>>: \"EHLO relay.example\"\n"
	    "rx<<: \"250 mx\"\n"
	    "tx>>: \"MAIL FROM:<a@b.example>\"\n"
	    "rx<<: \"250 ok\"\n"
	    "tx>>: \"RCPT TO:<c@d.example>\"\n"
	    "rx<<: \"250 ok\"\n"
	    "tx>>: \"DATA\"\n"
	    "rx<<: \"354 go\"\n"
	    "tx>>: [2 line(s) of content]\n"
	    "tx>>: \".\"\n"
	    "rx<<: \"250 done\"\n";
	T_EQ_STR(f->trace, expect);
	fake_free(f);
}

TEST(smtpc_pipelining_batch)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	c.pipelining = 1;
	f = established(&c, EHLO_PIPE);
	msg_init(&m, rcpt3, 3);
	m.size = 10;
	f->content = "x\r\n";
	f->clen = 3;
	smtpc_proto_message(&f->p, &m);
	/* one batch before any reply */
	T_WIRE(f, "MAIL FROM:<a@b.example> BODY=7BIT SIZE=10\r\n"
	    "RCPT TO:<r1@d.example>\r\nRCPT TO:<r2@d.example>\r\n"
	    "RCPT TO:<r3@d.example>\r\nDATA\r\n");
	srv(f, "250 ok\r\n250 ok\r\n250 ok");
	T_EQ_INT(f->wanted, 0);
	srv(f, "250 ok");
	T_EQ_INT(f->wanted, 0);
	srv(f, "354 go");		/* the fifth reply is DATA's */
	T_EQ_INT(f->wanted, 1);
	srv(f, "250 done");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_DELIVERED);
	T_ASSERT(strstr(f->wire, "DATA\r\nx\r\n.\r\n") != NULL);
	fake_free(f);

	/* configured but not offered: one command per reply */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "MAIL FROM:<a@b.example> BODY=7BIT\r\n");
	fake_free(f);

	/* offered but not configured */
	c.pipelining = 0;
	f = established(&c, EHLO_PIPE);
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "MAIL FROM:<a@b.example> BODY=7BIT SIZE=10\r\n");
	fake_free(f);
}

TEST(smtpc_pipelining_rejections)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	c.pipelining = 1;
	msg_init(&m, rcpt3, 3);

	/* a rejection, DATA refused: RSET, then the outcome */
	f = established(&c, EHLO_PIPE);
	smtpc_proto_message(&f->p, &m);
	clear(f);
	srv(f, "250 ok\r\n250 ok\r\n550 no such user\r\n250 ok");
	T_WIRE(f, "");
	srv(f, "554 no valid recipients");
	T_WIRE(f, "RSET\r\n");
	T_EQ_INT(f->nres, 0);
	srv(f, "250 reset");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_STR(f->res[0].reason, "one or more recipients rejected");
	T_EQ_INT(f->res[0].code, 550);
	T_EQ_INT(f->wanted, 0);
	T_EQ_INT(f->closed, 0);
	fake_free(f);

	/* a rejection but 354 to the pipelined DATA: never send content */
	f = established(&c, EHLO_PIPE);
	smtpc_proto_message(&f->p, &m);
	clear(f);
	srv(f, "250 ok\r\n450 try later\r\n250 ok\r\n250 ok\r\n354 go");
	T_WIRE(f, "");
	T_EQ_INT(f->wanted, 0);
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_INT(f->res[0].code, 450);
	T_EQ_STR(f->res[0].reason, "one or more recipients rejected");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->close_failed, 1);
	fake_free(f);

	/* MAIL refused: the RCPT and DATA replies are absorbed */
	f = established(&c, EHLO_PIPE);
	smtpc_proto_message(&f->p, &m);
	clear(f);
	srv(f, "452 mailbox full\r\n503 no mail\r\n503 no mail\r\n"
	    "503 no mail");
	T_WIRE(f, "");
	srv(f, "503 no mail");
	T_WIRE(f, "RSET\r\n");
	srv(f, "250 ok");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_INT(f->res[0].code, 452);
	T_EQ_STR(f->res[0].reason, "mailbox full");
	fake_free(f);
}

TEST(smtpc_helo_fallback)
{
	struct smtpc_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 old.example");
	srv(f, "502 what");
	T_WIRE(f, "EHLO relay.example\r\nHELO relay.example\r\n");
	T_EQ_INT(f->ready, 0);
	srv(f, "250 old.example");
	T_EQ_INT(f->ready, 1);
	T_EQ_INT(smtpc_proto_ext(&f->p), 0);
	fake_free(f);

	/* 4xx to EHLO is no fallback: session failure */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n421 closing");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->close_failed, 1);
	T_EQ_STR(f->close_reason, "EHLO rejected: 421 closing");
	fake_free(f);

	/* HELO refused too */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n500 no\r\n550 no");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, "HELO rejected: 550 no");
	fake_free(f);
}

TEST(smtpc_address_literal)
{
	struct smtpc_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.domain = "localhost";
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n500 no");
	T_WIRE(f, "EHLO [192.0.2.1]\r\nHELO [192.0.2.1]\r\n");
	fake_free(f);

	c.local_ip = "2001:db8::1";
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x");
	T_WIRE(f, "EHLO [IPv6:2001:db8::1]\r\n");
	fake_free(f);
}

TEST(smtpc_prompt_timeout)
{
	struct smtpc_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	smtpc_proto_prompt_timeout(&f->p);
	T_WIRE(f, "EHLO relay.example\r\n");
	/* the late greeting is skipped, then the EHLO reply counts */
	srv(f, "220 slow.example");
	T_EQ_INT(f->ready, 0);
	srv(f, "250-slow.example\r\n250 PIPELINING");
	T_EQ_INT(f->ready, 1);
	T_EQ_INT(smtpc_proto_ext(&f->p), SMTPC_EXT_PIPELINING);
	T_WIRE(f, "EHLO relay.example\r\n");
	fake_free(f);

	/* a server that never greets */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	smtpc_proto_prompt_timeout(&f->p);
	srv(f, "250 ok");
	T_EQ_INT(f->ready, 1);
	fake_free(f);
}

TEST(smtpc_forward_to_all_reasoncode)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	msg_init(&m, rcpt3, 3);
	/* 450, 550, 551: the first 5xx; every RCPT is still tried */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n450 greylisted\r\n550 unknown\r\n551 moved");
	T_WIRE(f, "MAIL FROM:<a@b.example> BODY=7BIT\r\n"
	    "RCPT TO:<r1@d.example>\r\nRCPT TO:<r2@d.example>\r\n"
	    "RCPT TO:<r3@d.example>\r\nRSET\r\n");
	srv(f, "250 reset");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_STR(f->res[0].reason, "one or more recipients rejected");
	T_EQ_INT(f->res[0].code, 550);
	T_EQ_INT(f->res[0].nrejected, 3);
	fake_free(f);

	/* 4xx only: the first 4xx */
	f = established(&c, EHLO_PLAIN);
	f->nrcpt = 3;
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 ok\r\n451 later\r\n452 full\r\n250 reset");
	T_EQ_INT(f->res[0].code, 451);
	T_EQ_INT(f->res[0].nrejected, 2);
	T_EQ_INT(f->rej[0][0], 0);
	T_EQ_INT(f->rej[0][1], 1);
	T_EQ_INT(f->rej[0][2], 1);
	T_EQ_INT(f->closed, 0);
	fake_free(f);

	/* 5xx after a 4xx */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n421 x\r\n250 ok\r\n553 bad\r\n250 reset");
	T_EQ_INT(f->res[0].code, 553);
	fake_free(f);

	/* an odd code ranks below a 4xx */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n354 odd\r\n250 ok\r\n452 full\r\n250 reset");
	T_EQ_INT(f->res[0].code, 452);
	fake_free(f);
}

TEST(smtpc_forward_to_some)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	c.forward_to_some = 1;
	msg_init(&m, rcpt3, 3);
	f = established(&c, EHLO_PLAIN);
	f->nrcpt = 3;
	f->content = "hi";
	f->clen = 2;
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 ok\r\n550 unknown\r\n250 ok\r\n354 go\r\n"
	    "250 done");
	T_WIRE(f, "MAIL FROM:<a@b.example> BODY=7BIT\r\n"
	    "RCPT TO:<r1@d.example>\r\nRCPT TO:<r2@d.example>\r\n"
	    "RCPT TO:<r3@d.example>\r\nDATA\r\nhi\r\n.\r\n");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_PARTIAL);
	T_EQ_STR(f->res[0].reason, "one or more recipients rejected");
	T_EQ_INT(f->res[0].code, 550);
	T_EQ_INT(f->res[0].nrejected, 1);
	T_EQ_INT(f->rej[0][0], 0);
	T_EQ_INT(f->rej[0][1], 1);
	T_EQ_INT(f->rej[0][2], 0);
	fake_free(f);

	/* none accepted */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n450 a\r\n550 b\r\n450 c");
	T_ASSERT(strstr(f->wire, "RCPT TO:<r3@d.example>\r\nRSET\r\n") !=
	    NULL);
	srv(f, "250 reset");
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_STR(f->res[0].reason, "all recipients rejected");
	T_EQ_INT(f->res[0].code, 550);
	T_EQ_INT(f->res[0].nrejected, 3);
	fake_free(f);
}

TEST(smtpc_mail_and_data_failures)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m, m2;
	struct fake		*f;

	conf_default(&c);
	msg_init(&m, rcpt1, 1);
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "553-sender\r\n553 sender not allowed");
	T_WIRE(f, "MAIL FROM:<a@b.example> BODY=7BIT\r\nRSET\r\n");
	srv(f, "250 ok");
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_INT(f->res[0].code, 553);
	T_EQ_STR(f->res[0].reason, "sender not allowed");
	fake_free(f);

	/* DATA refused */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 ok\r\n451 local error\r\n250 ok");
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_INT(f->res[0].code, 451);
	T_EQ_STR(f->res[0].reason, "local error");
	fake_free(f);

	/* after the data: no RSET; the next message goes on */
	f = established(&c, EHLO_PLAIN);
	msg_init(&m2, rcpt3, 1);
	m2.from = "";
	f->next = &m2;
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 ok\r\n354 go");
	clear(f);
	srv(f, "552 too big");
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_INT(f->res[0].code, 552);
	T_EQ_STR(f->res[0].reason, "too big");
	T_WIRE(f, "MAIL FROM:<> BODY=7BIT\r\n");
	/* an empty text still gives a reason */
	srv(f, "550");
	srv(f, "250 reset");
	T_EQ_INT(f->nres, 2);
	T_EQ_INT(f->res[1].code, 550);
	T_EQ_STR(f->res[1].reason, "error reply from the server");
	fake_free(f);

	/* no recipients: nothing sent */
	f = established(&c, EHLO_PLAIN);
	msg_init(&m, rcpt1, 0);
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "");
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_STR(f->res[0].reason, "no remote recipients");
	fake_free(f);
}

TEST(smtpc_session_failures)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	msg_init(&m, rcpt1, 1);

	/* 421 greeting with a message waiting */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	smtpc_proto_message(&f->p, &m);
	srv(f, "421 too busy");
	T_WIRE(f, "");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	T_EQ_INT(f->res[0].code, 0);
	T_EQ_STR(f->res[0].reason, "greeting rejected: 421 too busy");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->close_failed, 1);
	fake_free(f);

	/* disconnect in the middle: the message gets the text */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok");
	smtpc_proto_fail(&f->p, "connection closed by peer");
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	T_EQ_STR(f->res[0].reason, "connection closed by peer");
	T_EQ_INT(f->res[0].code, 0);
	T_EQ_INT(f->closed, 1);
	smtpc_proto_timeout(&f->p);	/* nothing after close */
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->nres, 1);
	fake_free(f);

	/* response timeout */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	smtpc_proto_timeout(&f->p);
	T_EQ_STR(f->res[0].reason, "response timeout");
	T_EQ_STR(f->close_reason, "response timeout");
	fake_free(f);

	/* a timeout with no message in hand: close only */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_timeout(&f->p);
	T_EQ_INT(f->nres, 0);
	T_EQ_INT(f->closed, 1);
	fake_free(f);

	/* an unsolicited 421 while idle */
	f = established(&c, EHLO_PLAIN);
	srv(f, "421 shutting down");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, "unexpected reply: 421 shutting down");
	fake_free(f);

	/* a disconnect after QUIT is a normal end */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_quit(&f->p);
	T_WIRE(f, "QUIT\r\n");
	smtpc_proto_fail(&f->p, "connection closed by peer");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->close_failed, 0);
	fake_free(f);
}

TEST(smtpc_starttls)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	c.tls = 1;
	msg_init(&m, rcpt1, 1);
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n250-x\r\n250-starttls\r\n250 PIPELINING");
	T_WIRE(f, "EHLO relay.example\r\nSTARTTLS\r\n");
	srv(f, "220 go ahead");
	T_EQ_INT(f->tls_started, 1);
	/* plaintext injected behind the 220 is a protocol error */
	srv(f, "250 injected");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, "unexpected reply: 250 injected");
	fake_free(f);

	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n250-x\r\n250 STARTTLS\r\n220 go");
	smtpc_proto_tls_done(&f->p);
	T_WIRE(f, "EHLO relay.example\r\nSTARTTLS\r\nEHLO relay.example\r\n");
	T_EQ_INT(f->ready, 0);
	/* no second STARTTLS, even if offered again */
	srv(f, "250-x\r\n250 STARTTLS");
	T_EQ_INT(f->ready, 1);
	T_WIRE(f, "EHLO relay.example\r\nSTARTTLS\r\nEHLO relay.example\r\n");
	fake_free(f);

	/* not offered: plaintext without --client-tls-required */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n250 x");
	T_EQ_INT(f->ready, 1);
	fake_free(f);

	/* not offered with --client-tls-required */
	c.tls = 0;
	c.tls_required = 1;
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	smtpc_proto_message(&f->p, &m);
	srv(f, "220 x\r\n250 x");
	T_EQ_INT(f->ready, 0);
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	T_EQ_STR(f->res[0].reason, "tls required but not offered by the "
	    "server");
	T_EQ_INT(f->closed, 1);
	T_WIRE(f, "EHLO relay.example\r\n");
	fake_free(f);

	/* STARTTLS refused with --client-tls-required */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n250-x\r\n250 STARTTLS\r\n454 no tls now");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, "STARTTLS rejected: 454 no tls now");
	fake_free(f);

	/* HELO fallback cannot do TLS */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n500 x\r\n250 x");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->ready, 0);
	fake_free(f);

	/* implicit TLS: no STARTTLS */
	c.tls_active = 1;
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n250-x\r\n250 STARTTLS");
	T_EQ_INT(f->ready, 1);
	T_EQ_INT(f->tls_started, 0);
	fake_free(f);
}

/* Send content in chunks of chunk octets; return the DATA part sent. */
static const char *
content_run(struct fake *f, const char *content, size_t len, size_t chunk)
{
	struct smtpc_msg	 m;

	msg_init(&m, rcpt1, 1);
	f->content = content;
	f->clen = len;
	f->coff = 0;
	f->chunk = chunk;
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 ok");
	clear(f);
	srv(f, "354 go");
	srv(f, "250 done");
	return (f->wire);
}

TEST(smtpc_content_transform)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "", ".\r\n" },
		{ "a\r\nb\r\n", "a\r\nb\r\n.\r\n" },
		{ "a\nb\n", "a\r\nb\r\n.\r\n" },
		{ "a\rb\r", "a\r\nb\r\n.\r\n" },
		{ "a\r\r\nb", "a\r\n\r\nb\r\n.\r\n" },
		{ "no final newline", "no final newline\r\n.\r\n" },
		{ ".\r\n..x\n.", "..\r\n...x\r\n..\r\n.\r\n" },
		{ "a\n.\nb\r.\r\n", "a\r\n..\r\nb\r\n..\r\n.\r\n" },
		{ "x.y\n .z\n", "x.y\r\n .z\r\n.\r\n" },
		{ "\n\n", "\r\n\r\n.\r\n" },
		{ "\r", "\r\n.\r\n" },
		{ "mixed\r\nends\nhere\rok",
		    "mixed\r\nends\r\nhere\r\nok\r\n.\r\n" },
	};
	struct smtpc_conf	 c;
	struct fake		*f;
	const char		*out;
	size_t			 i, chunk;

	conf_default(&c);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* whole, and split at every possible place */
		for (chunk = 0; chunk <= 3; chunk++) {
			f = established(&c, EHLO_PLAIN);
			out = content_run(f, cases[i].in, strlen(cases[i].in),
			    chunk);
			T_EQ_STR(out, cases[i].out);
			T_EQ_INT(f->nres, 1);
			T_EQ_INT(f->res[0].status, SMTPC_DELIVERED);
			fake_free(f);
		}
	}
}

TEST(smtpc_content_lines_counted)
{
	struct smtpc_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = established(&c, EHLO_PLAIN);
	content_run(f, "", 0, 0);
	T_ASSERT(strstr(f->trace, "tx>>: [0 line(s) of content]\n") != NULL);
	fake_free(f);
	f = established(&c, EHLO_PLAIN);
	content_run(f, "a\r\rb\nc", 6, 1);
	T_ASSERT(strstr(f->trace, "tx>>: [4 line(s) of content]\n") != NULL);
	fake_free(f);
}

TEST(smtpc_content_async)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	f = established(&c, EHLO_PLAIN);
	msg_init(&m, rcpt1, 1);
	f->async = 1;
	f->content = "line one\nline two\n";
	f->clen = strlen(f->content);
	f->chunk = 5;
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 ok\r\n354 go");
	clear(f);
	T_EQ_INT(f->wanted, 1);
	T_ASSERT(smtpc_proto_in_content(&f->p));
	f_feed(f);
	T_EQ_INT(f->wanted, 2);
	T_WIRE(f, "line ");
	while (f->coff < f->clen)
		f_feed(f);
	T_WIRE(f, "line one\r\nline two\r\n.\r\n");
	T_ASSERT(!smtpc_proto_in_content(&f->p));
	/* a stray chunk while none is wanted is ignored */
	smtpc_proto_content(&f->p, "zzz", 3, 0);
	T_WIRE(f, "line one\r\nline two\r\n.\r\n");
	srv(f, "250 ok");
	T_EQ_INT(f->res[0].status, SMTPC_DELIVERED);
	fake_free(f);
}

TEST(smtpc_bdat)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	c.pipelining = 1;
	msg_init(&m, rcpt1, 1);
	m.body = SMTPC_BODY_BINARYMIME;
	f = established(&c, "250-x\r\n250-PIPELINING\r\n250-CHUNKING\r\n"
	    "250-8BITMIME\r\n250 BINARYMIME");
	f->content = "bin\r\x00.\n\r\n.";
	f->clen = 11;
	f->chunk = 6;
	smtpc_proto_message(&f->p, &m);
	/* no DATA in the batch */
	T_WIRE(f, "MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n"
	    "RCPT TO:<c@d.example>\r\n");
	srv(f, "250 ok");
	clear(f);
	srv(f, "250 ok");
	T_EQ_INT(memcmp(f->wire, "BDAT 6\r\nbin\r\x00.", 14), 0);
	T_EQ_INT(f->wirelen, 14);
	clear(f);
	srv(f, "250 6 octets");
	T_WIRE(f, "BDAT 5 LAST\r\n\n\r\n.");
	srv(f, "250 message ok");
	T_EQ_INT(f->res[0].status, SMTPC_DELIVERED);

	/* an empty binarymime body, and a failing chunk */
	f->content = "";
	f->clen = 0;
	f->coff = 0;
	smtpc_proto_message(&f->p, &m);
	clear(f);
	srv(f, "250 ok\r\n250 ok");
	T_WIRE(f, "BDAT 0 LAST\r\n");
	srv(f, "554 rejected");
	T_WIRE(f, "BDAT 0 LAST\r\nRSET\r\n");
	srv(f, "250 ok");
	T_EQ_INT(f->res[1].status, SMTPC_FAILED);
	T_EQ_INT(f->res[1].code, 554);
	T_EQ_STR(f->res[1].reason, "rejected");
	fake_free(f);
}

TEST(smtpc_strictness)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	msg_init(&m, rcpt1, 1);

	/* binarymime without CHUNKING: DATA with line processing */
	m.body = SMTPC_BODY_BINARYMIME;
	f = established(&c, "250-x\r\n250 8BITMIME");
	f->content = "a\nb";
	f->clen = 3;
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "MAIL FROM:<a@b.example> BODY=8BITMIME\r\n");
	srv(f, "250 ok\r\n250 ok\r\n354 go\r\n250 ok");
	T_ASSERT(strstr(f->wire, "DATA\r\na\r\nb\r\n.\r\n") != NULL);
	T_EQ_INT(f->res[0].status, SMTPC_DELIVERED);
	fake_free(f);

	c.binarymimestrict = 1;
	f = established(&c, "250-x\r\n250-CHUNKING\r\n250 8BITMIME");
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "");
	T_EQ_INT(f->res[0].status, SMTPC_FAILED);
	T_EQ_STR(f->res[0].reason, SMTPC_R_BINARY);
	T_EQ_INT(f->closed, 0);
	fake_free(f);

	/* 8bit to a 7bit server: sent without BODY=, or failed if strict */
	m.body = SMTPC_BODY_8BIT;
	f = established(&c, "250 x");
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "MAIL FROM:<a@b.example>\r\n");
	fake_free(f);
	c.eightbitstrict = 1;
	f = established(&c, "250 x");
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "");
	T_EQ_STR(f->res[0].reason, SMTPC_R_8BIT);
	fake_free(f);

	/* SMTPUTF8 */
	m.body = SMTPC_BODY_7BIT;
	m.smtputf8 = 1;
	f = established(&c, "250-x\r\n250 SMTPUTF8");
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "MAIL FROM:<a@b.example> SMTPUTF8\r\n");
	fake_free(f);
	f = established(&c, "250 x");
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "MAIL FROM:<a@b.example>\r\n");
	fake_free(f);
	c.smtputf8strict = 1;
	f = established(&c, "250 x");
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "");
	T_EQ_STR(f->res[0].reason, SMTPC_R_UTF8);
	fake_free(f);

	/* AUTH= only when the server offers AUTH; unknown body: no BODY= */
	m.smtputf8 = 0;
	m.auth = "<>";
	m.body = SMTPC_BODY_UNKNOWN;
	f = established(&c, "250-x\r\n250-8BITMIME\r\n250 AUTH LOGIN");
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "MAIL FROM:<a@b.example> AUTH=<>\r\n");
	fake_free(f);
	f = established(&c, "250 x");
	smtpc_proto_message(&f->p, &m);
	T_WIRE(f, "MAIL FROM:<a@b.example>\r\n");
	fake_free(f);
}

TEST(smtpc_two_messages)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m1, m2;
	struct fake		*f;

	conf_default(&c);
	c.pipelining = 1;
	msg_init(&m1, rcpt1, 1);
	msg_init(&m2, rcpt3 + 1, 2);
	m2.from = "z@b.example";
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	/* the first message is given before the session is ready */
	smtpc_proto_message(&f->p, &m1);
	f->next = &m2;
	f->quit_in_done = 1;
	f->content = "one\n";
	f->clen = 4;
	srv(f, "220 x");
	srv(f, EHLO_PIPE);
	T_EQ_INT(f->ready, 0);
	srv(f, "250 ok\r\n250 ok\r\n354 go");
	f->content = "two\n";
	f->clen = 4;
	f->coff = 0;
	srv(f, "250 first done");
	srv(f, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 second done");
	T_WIRE(f, "EHLO relay.example\r\n"
	    "MAIL FROM:<a@b.example> BODY=7BIT\r\n"
	    "RCPT TO:<c@d.example>\r\nDATA\r\none\r\n.\r\n"
	    "MAIL FROM:<z@b.example> BODY=7BIT\r\n"
	    "RCPT TO:<r2@d.example>\r\nRCPT TO:<r3@d.example>\r\nDATA\r\n"
	    "two\r\n.\r\nQUIT\r\n");
	T_EQ_INT(f->nres, 2);
	T_EQ_INT(f->res[0].status, SMTPC_DELIVERED);
	T_EQ_INT(f->res[1].status, SMTPC_DELIVERED);
	T_EQ_INT(f->ready, 0);
	T_EQ_INT(f->closed, 0);
	srv(f, "221 bye");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->close_failed, 0);
	T_EQ_STR(f->close_reason, "quit");
	fake_free(f);
}

TEST(smtpc_hostile_replies)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;
	char			*big;
	size_t			 i;

	conf_default(&c);
	msg_init(&m, rcpt1, 1);

	/* 1000 continuation lines to EHLO */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	smtpc_proto_message(&f->p, &m);
	srv(f, "220 x");
	for (i = 0; i < 1000; i++)
		srv(f, "250-PIPELINING");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, "protocol error: too many reply lines");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	T_EQ_INT(f->res[0].code, 0);
	T_EQ_INT(f->ready, 0);
	fake_free(f);

	/* 100 KB line fragments: the session reports each as overlong */
	T_ASSERT((big = malloc(100 * 1024)) != NULL);
	memset(big, 'A', 100 * 1024);
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	smtpc_proto_overlong(&f->p);
	smtpc_proto_overlong(&f->p);
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, SMTPC_E_OVERLONG);
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	fake_free(f);
	/* and one fed whole anyway */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_line(&f->p, big, 100 * 1024);
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, "protocol error: reply line too long");
	fake_free(f);
	free(big);

	/* CR inside a line */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 o\rk");
	T_EQ_STR(f->close_reason, "protocol error: control character in "
	    "reply");
	T_EQ_STR(f->res[0].reason, "protocol error: control character in "
	    "reply");
	fake_free(f);

	/* code mismatch */
	f = established(&c, EHLO_PLAIN);
	smtpc_proto_message(&f->p, &m);
	srv(f, "250-ok\r\n550 no");
	T_EQ_STR(f->close_reason, "protocol error: reply code mismatch");
	T_EQ_INT(f->res[0].code, 0);
	fake_free(f);

	/* garbage greeting */
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "HTTP/1.1 400 Bad Request");
	T_EQ_STR(f->close_reason, "protocol error: bad reply code");
	fake_free(f);

	/* a reply while content is being sent */
	f = established(&c, EHLO_PLAIN);
	f->async = 1;
	smtpc_proto_message(&f->p, &m);
	srv(f, "250 ok\r\n250 ok\r\n354 go\r\n421 bye");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	T_EQ_STR(f->res[0].reason, "unexpected reply: 421 bye");
	smtpc_proto_content(&f->p, "QQQ", 3, 1);	/* ignored: closed */
	T_ASSERT(strstr(f->wire, "QQQ") == NULL);
	fake_free(f);
}

/*
 * AUTH (SPEC 5, 7)
 */

#define EHLO_AUTH(mechs)	"250-mx.example\r\n250-8BITMIME\r\n250 AUTH " mechs

/* The account answer of a test: kind, id and a NUL-terminated secret. */
static void
answer(struct fake *f, int kind, const char *id, const char *secret)
{
	smtpc_proto_auth_secret(&f->p, kind, id,
	    (const unsigned char *)secret, strlen(secret));
}

/* Connected and greeted with auth configured; EHLO answered with ehlo. */
static struct fake *
auth_session(struct smtpc_conf *c, const char *ehlo)
{
	c->auth = 1;
	return (established(c, ehlo));
}

TEST(smtpc_auth_plain)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;

	conf_default(&c);
	f = auth_session(&c, EHLO_AUTH("PLAIN LOGIN"));
	/* the account is asked for, nothing sent meanwhile */
	T_EQ_INT(f->requests, 1);
	T_WIRE(f, "");
	T_EQ_INT(f->ready, 0);
	msg_init(&m, rcpt1, 1);
	m.auth = "id";
	T_EQ_INT(smtpc_proto_message(&f->p, &m), 0);	/* waits */
	T_WIRE(f, "");
	answer(f, SECRET_PLAIN, "id", "pw");
	/* base64 of "\0id\0pw" */
	T_WIRE(f, "AUTH PLAIN AGlkAHB3\r\n");
	T_EQ_STR(smtpc_proto_auth_mech(&f->p), "");
	srv(f, "235 2.7.0 authenticated");
	T_EQ_STR(smtpc_proto_auth_mech(&f->p), "PLAIN");
	T_WIRE(f, "AUTH PLAIN AGlkAHB3\r\nMAIL FROM:<a@b.example> BODY=7BIT "
	    "AUTH=id\r\n");
	/* the trace shows no credential */
	T_ASSERT(strstr(f->trace, "AGlkAHB3") == NULL);
	T_ASSERT(strstr(f->trace, "tx>>: \"AUTH PLAIN\" [initial response "
	    "not logged]\n") != NULL);
	T_EQ_INT(f->requests, 1);
	fake_free(f);

	/* an answer given from inside the request */
	f = fake_new(&c);
	f->answer_now = 1;
	f->kind = SECRET_PLAIN;
	f->id = "alice@example.com";
	f->secret = "s3cret";
	f->secretlen = 6;
	smtpc_proto_start(&f->p);
	srv(f, "220 mx\r\n" EHLO_AUTH("PLAIN"));
	/* base64 of "\0alice@example.com\0s3cret" */
	T_WIRE(f, "EHLO relay.example\r\n"
	    "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHMzY3JldA==\r\n");
	srv(f, "235 ok");
	T_EQ_INT(f->ready, 1);
	/* an answer that is not waited for is ignored */
	answer(f, SECRET_PLAIN, "x", "y");
	T_WIRE(f, "EHLO relay.example\r\n"
	    "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHMzY3JldA==\r\n");
	fake_free(f);
}

TEST(smtpc_auth_login)
{
	struct smtpc_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = auth_session(&c, EHLO_AUTH("LOGIN"));
	answer(f, SECRET_PLAIN, "user", "pass");
	T_WIRE(f, "AUTH LOGIN\r\n");
	clear(f);
	srv(f, "334 VXNlcm5hbWU6");
	T_WIRE(f, "dXNlcg==\r\n");
	clear(f);
	srv(f, "334 UGFzc3dvcmQ6");
	T_WIRE(f, "cGFzcw==\r\n");
	clear(f);
	T_EQ_INT(f->ready, 0);
	srv(f, "235 ok");
	T_EQ_INT(f->ready, 1);
	T_EQ_STR(smtpc_proto_auth_mech(&f->p), "LOGIN");
	T_ASSERT(strstr(f->trace, "dXNlcg==") == NULL);
	T_ASSERT(strstr(f->trace, "cGFzcw==") == NULL);
	T_ASSERT(strstr(f->trace, "tx>>: [authentication response not "
	    "logged]\n") != NULL);
	/* the challenges are no secret */
	T_ASSERT(strstr(f->trace, "rx<<: \"334 VXNlcm5hbWU6\"") != NULL);
	fake_free(f);

	/* a third challenge is cancelled, the 501 fails the session */
	f = auth_session(&c, EHLO_AUTH("LOGIN"));
	answer(f, SECRET_PLAIN, "user", "pass");
	srv(f, "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6");
	clear(f);
	srv(f, "334 bW9yZT8=");
	T_WIRE(f, "*\r\n");
	srv(f, "501 5.7.0 cancelled");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->close_failed, 1);
	T_EQ_STR(f->close_reason, "authentication failed: 501 5.7.0 "
	    "cancelled");
	fake_free(f);

	/* a server that challenges for ever is given up */
	f = auth_session(&c, EHLO_AUTH("LOGIN"));
	answer(f, SECRET_PLAIN, "user", "pass");
	srv(f, "334 a\r\n334 b\r\n334 c\r\n334 d");
	T_EQ_INT(f->closed, 0);
	srv(f, "334 e");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, "authentication failed: 334 e");
	fake_free(f);
}

/* RFC 2195's example: "tim", "tanstaaftanstaaf" and this challenge. */
#define CRAM_CHAL	"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
#define CRAM_RESP	"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"

TEST(smtpc_auth_cram_md5)
{
	struct smtpc_conf	 c;
	struct fake		*f;
	unsigned char		 state[MD5_HMAC_STATE];

	conf_default(&c);
	/* from the password: preferred over PLAIN and LOGIN */
	f = auth_session(&c, EHLO_AUTH("LOGIN PLAIN CRAM-MD5 XOAUTH2"));
	answer(f, SECRET_PLAIN, "tim", "tanstaaftanstaaf");
	T_WIRE(f, "AUTH CRAM-MD5\r\n");
	clear(f);
	srv(f, "334 " CRAM_CHAL);
	T_WIRE(f, CRAM_RESP "\r\n");
	T_ASSERT(strstr(f->trace, CRAM_RESP) == NULL);
	srv(f, "235 ok");
	T_EQ_INT(f->ready, 1);
	T_EQ_STR(smtpc_proto_auth_mech(&f->p), "CRAM-MD5");
	fake_free(f);

	/* from the md5 state of emailrelay-passwd: the same response */
	md5_hmac_state("tanstaaftanstaaf", 16, state);
	f = auth_session(&c, EHLO_AUTH("CRAM-MD5"));
	smtpc_proto_auth_secret(&f->p, SECRET_MD5, "tim", state,
	    sizeof(state));
	T_WIRE(f, "AUTH CRAM-MD5\r\n");
	clear(f);
	srv(f, "334 " CRAM_CHAL);
	T_WIRE(f, CRAM_RESP "\r\n");
	srv(f, "235 ok");
	T_EQ_INT(f->ready, 1);
	fake_free(f);

	/* a challenge that is no base64: cancelled */
	f = auth_session(&c, EHLO_AUTH("CRAM-MD5"));
	answer(f, SECRET_PLAIN, "tim", "tanstaaftanstaaf");
	clear(f);
	srv(f, "334 not*base64");
	T_WIRE(f, "*\r\n");
	srv(f, "501 cancelled");
	T_EQ_STR(f->close_reason, "authentication failed: 501 cancelled");
	fake_free(f);
}

TEST(smtpc_auth_xoauth2)
{
	struct smtpc_conf	 c;
	struct fake		*f;
	const char		*ir = "user=a@b.example\001auth=Bearer tok\001\001";

	conf_default(&c);
	f = auth_session(&c, EHLO_AUTH("PLAIN LOGIN XOAUTH2"));
	answer(f, SECRET_OAUTH, "a@b.example", ir);
	T_WIRE(f, "AUTH XOAUTH2 dXNlcj1hQGIuZXhhbXBsZQFhdXRoPUJlYXJlciB0b2sBAQ=="
	    "\r\n");
	T_ASSERT(strstr(f->trace, "dXNlcj1h") == NULL);
	T_ASSERT(strstr(f->trace, "tx>>: \"AUTH XOAUTH2\" [initial response "
	    "not logged]\n") != NULL);
	srv(f, "235 2.7.0 Accepted");
	T_EQ_INT(f->ready, 1);
	T_EQ_STR(smtpc_proto_auth_mech(&f->p), "XOAUTH2");
	fake_free(f);

	/* an error challenge gets an empty response, then the failure */
	f = auth_session(&c, EHLO_AUTH("XOAUTH2"));
	answer(f, SECRET_OAUTH, "a@b.example", ir);
	clear(f);
	srv(f, "334 eyJzdGF0dXMiOiI0MDEifQ==");
	T_WIRE(f, "\r\n");
	srv(f, "535 5.7.8 Username and Password not accepted");
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->close_reason, "authentication failed: 535 5.7.8 Username "
	    "and Password not accepted");
	fake_free(f);
}

/* The mechanism chosen for an account of kind, or the close reason. */
static const char *
choose(const char *config, int tls, const char *offered, int kind)
{
	static char		 out[1300];
	struct smtpc_conf	 c;
	struct fake		*f;
	char			 ehlo[256];
	unsigned char		 state[MD5_HMAC_STATE];

	conf_default(&c);
	c.auth_config = config;
	c.tls_active = tls;
	(void)snprintf(ehlo, sizeof(ehlo), "250-mx\r\n250 AUTH %s", offered);
	f = auth_session(&c, ehlo);
	if (kind == SECRET_MD5) {
		memset(state, 7, sizeof(state));
		smtpc_proto_auth_secret(&f->p, kind, "id", state,
		    sizeof(state));
	} else
		answer(f, kind, "id", "pw");
	if (f->closed)
		(void)snprintf(out, sizeof(out), "%s", f->close_reason);
	else if (strncmp(f->wire, "AUTH ", 5) == 0)
		(void)snprintf(out, sizeof(out), "%.*s",
		    (int)strcspn(f->wire + 5, " \r"), f->wire + 5);
	else
		(void)snprintf(out, sizeof(out), "?%.100s", f->wire);
	fake_free(f);
	return (out);
}

TEST(smtpc_auth_choice)
{
	const char	*all = "PLAIN LOGIN CRAM-MD5 XOAUTH2 CRAM-SHA256";

	/* our order: CRAM-MD5, PLAIN, LOGIN; XOAUTH2 only with oauth */
	T_EQ_STR(choose(NULL, 0, all, SECRET_PLAIN), "CRAM-MD5");
	T_EQ_STR(choose(NULL, 0, "LOGIN PLAIN", SECRET_PLAIN), "PLAIN");
	T_EQ_STR(choose(NULL, 0, "LOGIN", SECRET_PLAIN), "LOGIN");
	T_EQ_STR(choose(NULL, 0, "XOAUTH2", SECRET_PLAIN), SMTPC_E_AUTHMECH);
	T_EQ_STR(choose(NULL, 0, all, SECRET_OAUTH), "XOAUTH2");
	T_EQ_STR(choose(NULL, 0, "PLAIN LOGIN", SECRET_OAUTH),
	    SMTPC_E_AUTHMECH);
	/* an md5 state is good for CRAM-MD5 only */
	T_EQ_STR(choose(NULL, 0, all, SECRET_MD5), "CRAM-MD5");
	T_EQ_STR(choose(NULL, 0, "PLAIN LOGIN CRAM-SHA1", SECRET_MD5),
	    SMTPC_E_AUTHMECH);
	/* nothing we know */
	T_EQ_STR(choose(NULL, 0, "GSSAPI NTLM", SECRET_PLAIN),
	    SMTPC_E_AUTHMECH);
	T_EQ_STR(SMTPC_E_AUTHMECH, "cannot authenticate: no usable mechanism "
	    "offered by the server");

	/* m: keeps and orders, x: removes */
	T_EQ_STR(choose("m:login", 0, all, SECRET_PLAIN), "LOGIN");
	T_EQ_STR(choose("m:login,plain", 0, all, SECRET_PLAIN), "LOGIN");
	T_EQ_STR(choose("m:xoauth2,plain", 0, all, SECRET_PLAIN), "PLAIN");
	T_EQ_STR(choose("x:cram-md5", 0, all, SECRET_PLAIN), "PLAIN");
	T_EQ_STR(choose("x:cram-md5 plain", 0, all, SECRET_PLAIN), "LOGIN");
	T_EQ_STR(choose("m:plain", 0, "LOGIN CRAM-MD5", SECRET_PLAIN),
	    SMTPC_E_AUTHMECH);
	/* m:;a:plain = no AUTH before TLS, PLAIN only after */
	T_EQ_STR(choose("m:;a:plain", 0, all, SECRET_PLAIN),
	    SMTPC_E_AUTHMECH);
	T_EQ_STR(choose("m:;a:plain", 1, all, SECRET_PLAIN), "PLAIN");
	/* without a: or d:, m: and x: go on applying with TLS */
	T_EQ_STR(choose("x:cram-md5", 1, all, SECRET_PLAIN), "PLAIN");
	/* with d: only, m: and x: no longer apply */
	T_EQ_STR(choose("m:login;d:cram-md5", 1, all, SECRET_PLAIN),
	    "PLAIN");
	T_EQ_STR(choose("m:login;d:cram-md5", 0, all, SECRET_PLAIN),
	    "LOGIN");
	/* case does not matter */
	T_EQ_STR(choose("M:Login", 0, "plain login", SECRET_PLAIN), "LOGIN");
}

TEST(smtpc_auth_failures)
{
	struct smtpc_conf	 c;
	struct smtpc_msg	 m;
	struct fake		*f;
	char			 big[SMTPC_AUTH_SECRETMAX + 2];

	conf_default(&c);
	msg_init(&m, rcpt1, 1);

	/* 535: a session failure with the server's reply, no code */
	f = auth_session(&c, EHLO_AUTH("PLAIN"));
	smtpc_proto_message(&f->p, &m);
	answer(f, SECRET_PLAIN, "id", "wrong");
	srv(f, "535 5.7.8 bad credentials");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	T_EQ_INT(f->res[0].code, 0);
	T_EQ_STR(f->res[0].reason, "authentication failed: 535 5.7.8 bad "
	    "credentials");
	T_EQ_INT(f->closed, 1);
	T_EQ_INT(f->close_failed, 1);
	T_ASSERT(strstr(f->wire, "MAIL") == NULL);
	T_EQ_STR(smtpc_proto_auth_mech(&f->p), "");
	fake_free(f);

	/* a 4xx too */
	f = auth_session(&c, EHLO_AUTH("PLAIN"));
	smtpc_proto_message(&f->p, &m);
	answer(f, SECRET_PLAIN, "id", "pw");
	srv(f, "454 4.7.0 try later");
	T_EQ_STR(f->res[0].reason, "authentication failed: 454 4.7.0 try "
	    "later");
	T_EQ_INT(f->res[0].code, 0);
	fake_free(f);

	/* no usable mechanism fails the message in hand clearly */
	f = auth_session(&c, EHLO_AUTH("GSSAPI"));
	smtpc_proto_message(&f->p, &m);
	answer(f, SECRET_PLAIN, "id", "pw");
	T_EQ_INT(f->nres, 1);
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	T_EQ_STR(f->res[0].reason, SMTPC_E_AUTHMECH);
	T_WIRE(f, "");
	fake_free(f);

	/* no account: the session says why */
	f = auth_session(&c, EHLO_AUTH("PLAIN"));
	smtpc_proto_message(&f->p, &m);
	smtpc_proto_fail(&f->p, SMTPC_E_NOACCOUNT " for selector [x]");
	T_EQ_STR(f->res[0].reason, "cannot authenticate: no client account "
	    "for selector [x]");
	T_EQ_INT(f->res[0].status, SMTPC_SESSION_FAILED);
	/* a late answer changes nothing */
	answer(f, SECRET_PLAIN, "id", "pw");
	T_WIRE(f, "");
	fake_free(f);

	/* an account too long to send */
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f = auth_session(&c, EHLO_AUTH("PLAIN"));
	answer(f, SECRET_PLAIN, "id", big);
	T_EQ_STR(f->close_reason, SMTPC_E_AUTHLONG);
	fake_free(f);
	/* the longest one goes */
	big[SMTPC_AUTH_SECRETMAX] = '\0';
	f = auth_session(&c, EHLO_AUTH("PLAIN"));
	answer(f, SECRET_PLAIN, "id", big);
	T_EQ_INT(f->closed, 0);
	T_ASSERT(strncmp(f->wire, "AUTH PLAIN AGlkAHBwcHBw", 22) == 0);
	fake_free(f);

	/* a reply while the account is awaited */
	f = auth_session(&c, EHLO_AUTH("PLAIN"));
	srv(f, "250 what");
	T_EQ_STR(f->close_reason, "unexpected reply: 250 what");
	fake_free(f);
}

TEST(smtpc_auth_when)
{
	struct smtpc_conf	 c;
	struct fake		*f;

	conf_default(&c);

	/* a "= =" account: no AUTH */
	f = auth_session(&c, EHLO_AUTH("PLAIN"));
	T_EQ_INT(f->requests, 1);
	answer(f, SECRET_NONE, "", "");
	T_EQ_INT(f->ready, 1);
	T_WIRE(f, "");
	fake_free(f);

	/* AUTH not offered: no request, on without AUTH */
	f = auth_session(&c, EHLO_PLAIN);
	T_EQ_INT(f->requests, 0);
	T_EQ_INT(f->ready, 1);
	fake_free(f);

	/* HELO: no AUTH */
	c.auth = 1;
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n500 no ehlo\r\n250 x");
	T_EQ_INT(f->requests, 0);
	T_EQ_INT(f->ready, 1);
	fake_free(f);

	/* not configured: never asked */
	c.auth = 0;
	f = established(&c, EHLO_AUTH("PLAIN"));
	T_EQ_INT(f->requests, 0);
	T_EQ_INT(f->ready, 1);
	fake_free(f);

	/* STARTTLS first; AUTH after the second EHLO, as it offers it */
	c.auth = 1;
	c.tls = 1;
	c.auth_config = "m:;a:login";
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n250-x\r\n250-AUTH PLAIN\r\n250 STARTTLS");
	T_EQ_INT(f->requests, 0);
	T_WIRE(f, "EHLO relay.example\r\nSTARTTLS\r\n");
	srv(f, "220 go");
	smtpc_proto_tls_done(&f->p);
	clear(f);
	srv(f, "250-x\r\n250 AUTH=LOGIN PLAIN");
	T_EQ_INT(f->requests, 1);
	answer(f, SECRET_PLAIN, "u", "p");
	T_WIRE(f, "AUTH LOGIN\r\n");
	fake_free(f);

	/* STARTTLS refused without tls required: AUTH in the clear */
	c.auth_config = NULL;
	f = fake_new(&c);
	smtpc_proto_start(&f->p);
	srv(f, "220 x\r\n250-x\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"
	    "454 not now");
	T_EQ_INT(f->requests, 1);
	fake_free(f);

	/* QUIT asked for while the account is awaited: after AUTH */
	c.tls = 0;
	f = auth_session(&c, EHLO_AUTH("PLAIN"));
	smtpc_proto_quit(&f->p);
	T_WIRE(f, "");
	answer(f, SECRET_PLAIN, "id", "pw");
	srv(f, "235 ok");
	T_WIRE(f, "AUTH PLAIN AGlkAHB3\r\nQUIT\r\n");
	fake_free(f);
}
