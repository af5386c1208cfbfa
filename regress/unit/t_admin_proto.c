/*
 * control/admin_proto.c: the admin-port engine driven through a fake
 * session that cuts lines (fragments of overlong ones too), honours busy,
 * and records the octets sent, the requests and the close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "msg.h"
#include "control/admin_proto.h"
#include "t.h"

/* Compare through a variable: T_EQ_STR prints its argument text. */
#define T_SENT(f, expect) do {						\
	const char *t_expect = (expect);				\
	T_EQ_STR((f)->sent, t_expect);					\
} while (0)

#define P	ADMIN_PROTO_PROMPT
#define HELP	"commands: dnsbl, failures, flush, forward, help, info, " \
	"list, notify, pid, quit, smtp, status, unfail-all\r\n"
#define HELPT	"commands: dnsbl, failures, flush, forward, help, info, " \
	"list, notify, pid, quit, smtp, status, terminate, unfail-all\r\n"
#define BAD	"error: unrecognised command\r\n"

struct fake {
	struct admin_proto	 p;
	char			 sent[65536];	/* octets as sent */
	size_t			 sentlen;
	int			 sends;		/* ops->send() calls */
	char			 in[65536];	/* unfed input */
	size_t			 inlen;
	struct admin_request	 reqs[64];	/* in order */
	size_t			 nreq;
	int			 closed;
	char			 reason[128];
	int			 autoreply;	/* answer requests at once */
	int			 autostatus;
	const char		*autotext;
	const char		*reqevent;	/* event from inside request */
	int			 reqevent_rc;
};

static void	 f_send(void *, const char *, size_t);
static void	 f_request(void *, const struct admin_request *);
static void	 f_close(void *, const char *);
static struct fake *fake_new(const struct admin_proto_conf *);
static void	 pump(struct fake *);
static void	 inputn(struct fake *, const char *, size_t);
static void	 input(struct fake *, const char *);
static void	 answer(struct fake *, int, const char *);
static void	 conf_default(struct admin_proto_conf *);
static void	 clear_sent(struct fake *);

static const struct admin_ops fake_ops = { f_send, f_request, f_close };

static void
f_send(void *arg, const char *data, size_t len)
{
	struct fake	*f = arg;

	if (len == 0 || len >= sizeof(f->sent) - f->sentlen)
		abort();
	memcpy(f->sent + f->sentlen, data, len);
	f->sentlen += len;
	f->sent[f->sentlen] = '\0';
	f->sends++;
}

static void
f_request(void *arg, const struct admin_request *req)
{
	struct fake	*f = arg;

	if (f->nreq == sizeof(f->reqs) / sizeof(f->reqs[0]))
		abort();
	f->reqs[f->nreq++] = *req;
	if (f->reqevent != NULL)
		f->reqevent_rc = admin_proto_event(&f->p, f->reqevent);
	if (f->autoreply && req->kind != ADMIN_REQ_NOTIFY &&
	    req->kind != ADMIN_REQ_TERMINATE &&
	    admin_proto_reply(&f->p, f->autostatus, f->autotext) != 0)
		abort();
}

static void
f_close(void *arg, const char *reason)
{
	struct fake	*f = arg;

	f->closed++;
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static struct fake *
fake_new(const struct admin_proto_conf *conf)
{
	struct fake	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		abort();
	admin_proto_init(&f->p, conf, &fake_ops, f);
	return (f);
}

/* The session's input loop: lines cut at LF, fragments, busy. */
static void
pump(struct fake *f)
{
	char	*nl;
	size_t	 used;

	while (f->inlen > 0 && !admin_proto_busy(&f->p)) {
		nl = memchr(f->in, '\n', f->inlen);
		if (nl != NULL && (size_t)(nl - f->in) < ADMIN_PROTO_LINEMAX)
			used = (size_t)(nl - f->in) + 1;
		else if (f->inlen >= ADMIN_PROTO_LINEMAX)
			used = ADMIN_PROTO_LINEMAX;
		else
			break;
		if (admin_proto_line(&f->p, f->in, used) == ADMIN_PROTO_BUSY)
			break;
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
answer(struct fake *f, int status, const char *text)
{
	if (admin_proto_reply(&f->p, status, text) != 0)
		abort();
	pump(f);
}

static void
conf_default(struct admin_proto_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->version = "2.6.1";
	c->pid = 4242;
	c->forward_to = 1;
}

static void
clear_sent(struct fake *f)
{
	f->sentlen = 0;
	f->sent[0] = '\0';
}

TEST(admin_help_and_prompt)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	/* no prompt before the first command */
	T_SENT(f, "");
	T_ASSERT(!admin_proto_busy(&f->p));
	input(f, "help\r\n");
	T_SENT(f, HELP P);
	clear_sent(f);
	input(f, "HELP\n");
	T_SENT(f, HELP P);
	clear_sent(f);
	input(f, "  HeLp  \t\r\n");
	T_SENT(f, HELP P);
	T_EQ_INT(f->nreq, 0);
	T_EQ_INT(f->closed, 0);
	free(f);

	c.terminate = 1;
	f = fake_new(&c);
	input(f, "help\r\n");
	T_SENT(f, HELPT P);
	free(f);
}

TEST(admin_empty_lines)
{
	struct admin_proto_conf	 c;
	struct fake		*f;
	int			 i;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "\r\n");
	T_SENT(f, P);
	input(f, "\n \t\r\n");
	T_SENT(f, P P P);
	/* not counted as unrecognised */
	clear_sent(f);
	for (i = 0; i < 2 * ADMIN_PROTO_MAXERRORS; i++)
		input(f, "\r\n");
	T_EQ_INT(f->closed, 0);
	T_EQ_INT(f->sentlen, 2 * ADMIN_PROTO_MAXERRORS * strlen(P));
	free(f);
}

TEST(admin_forward)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "forward\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_FORWARD);
	T_ASSERT(admin_proto_busy(&f->p));
	T_SENT(f, "");
	answer(f, MSG_OK, NULL);
	T_SENT(f, "OK\r\n" P);
	T_ASSERT(!admin_proto_busy(&f->p));
	clear_sent(f);
	/* case-insensitive, extra words ignored as E-MailRelay does */
	input(f, "FORWARD now\n");
	T_EQ_INT(f->nreq, 2);
	T_EQ_INT(f->reqs[1].kind, ADMIN_REQ_FORWARD);
	answer(f, MSG_TEMPFAIL, "queue unavailable");
	T_SENT(f, "error: queue unavailable\r\n" P);
	free(f);
}

TEST(admin_no_forward_to)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.forward_to = 0;
	f = fake_new(&c);
	input(f, "forward\r\nflush\r\n");
	T_SENT(f,
	    "error: no remote server configured: use --forward-to\r\n" P
	    "error: no remote server configured: use --forward-to\r\n" P);
	T_EQ_INT(f->nreq, 0);
	T_ASSERT(!admin_proto_busy(&f->p));
	/* the other queue commands still work */
	input(f, "list\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_LIST);
	free(f);
}

TEST(admin_flush)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "flush\r\n");
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_FLUSH);
	T_SENT(f, "");
	answer(f, MSG_OK, "ignored");
	T_SENT(f, "OK\r\n" P);
	clear_sent(f);
	input(f, "flush\r\n");
	answer(f, MSG_PERMFAIL, "no messages to send");
	T_SENT(f, "error: no messages to send\r\n" P);
	clear_sent(f);
	input(f, "flush\r\n");
	answer(f, MSG_TEMPFAIL, "still working\n");
	T_SENT(f, "error: still working\r\n" P);
	clear_sent(f);
	/* "error: " is not doubled; no text gets a default */
	input(f, "flush\r\n");
	answer(f, MSG_PERMFAIL, "error: still working");
	input(f, "flush\r\n");
	answer(f, MSG_PERMFAIL, NULL);
	input(f, "flush\r\n");
	answer(f, MSG_PERMFAIL, "two\nlines");
	T_SENT(f, "error: still working\r\n" P
	    "error: request failed\r\n" P
	    "error: two lines\r\n" P);
	T_EQ_INT(f->nreq, 6);
	free(f);
}

TEST(admin_unfail_all)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	c.forward_to = 0;
	f = fake_new(&c);
	input(f, "unfail-all\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_UNFAIL_ALL);
	T_SENT(f, "");
	answer(f, MSG_OK, NULL);
	T_SENT(f, "\r\n" P);
	clear_sent(f);
	input(f, "Unfail-All\r\n");
	answer(f, MSG_TEMPFAIL, "spool not writable");
	T_SENT(f, "error: spool not writable\r\n" P);
	free(f);
}

TEST(admin_list_failures)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "list\r\n");
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_LIST);
	answer(f, MSG_OK, "emailrelay.1.2.3\nemailrelay.1.2.4\n");
	T_SENT(f, "emailrelay.1.2.3\r\nemailrelay.1.2.4\r\n" P);
	clear_sent(f);
	input(f, "list\r\n");
	answer(f, MSG_OK, "");
	input(f, "list\r\n");
	answer(f, MSG_OK, NULL);
	input(f, "list\r\n");
	answer(f, MSG_OK, "\n\r\n");
	T_SENT(f, "<none>\r\n" P "<none>\r\n" P "<none>\r\n" P);
	clear_sent(f);
	/* CRLF between ids, no final line end */
	input(f, "failures\r\n");
	T_EQ_INT(f->reqs[4].kind, ADMIN_REQ_FAILURES);
	answer(f, MSG_OK, "a\r\nb");
	input(f, "failures\r\n");
	answer(f, MSG_OK, "");
	input(f, "failures\r\n");
	answer(f, MSG_TEMPFAIL, "queue busy");
	T_SENT(f, "a\r\nb\r\n" P "<none>\r\n" P "error: queue busy\r\n" P);
	free(f);
}

TEST(admin_reply_parts)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "list\r\n");
	T_EQ_INT(admin_proto_reply_part(&f->p, "id1\nid2\n"), 0);
	T_SENT(f, "id1\r\nid2\r\n");
	T_ASSERT(admin_proto_busy(&f->p));
	T_EQ_INT(admin_proto_reply_part(&f->p, "id3"), 0);
	answer(f, MSG_OK, "id4\n");
	T_SENT(f, "id1\r\nid2\r\nid3\r\nid4\r\n" P);
	clear_sent(f);
	/* parts, then an empty end: no "<none>" */
	input(f, "failures\r\n");
	T_EQ_INT(admin_proto_reply_part(&f->p, "bad1\n"), 0);
	answer(f, MSG_OK, NULL);
	T_SENT(f, "bad1\r\n" P);
	clear_sent(f);
	/* a list before this one does not count for "<none>" */
	input(f, "list\r\n");
	answer(f, MSG_OK, NULL);
	T_SENT(f, "<none>\r\n" P);
	/* not for other requests, nor when nothing is outstanding */
	T_EQ_INT(admin_proto_reply_part(&f->p, "x"), -1);
	input(f, "forward\r\n");
	T_EQ_INT(admin_proto_reply_part(&f->p, "x"), -1);
	answer(f, MSG_OK, NULL);
	input(f, "status\r\n");
	T_EQ_INT(admin_proto_reply_part(&f->p, "LISTEN: 127.0.0.1:25\n\n"),
	    0);
	answer(f, MSG_OK, "IN started: 1");
	T_SENT(f, "<none>\r\n" P "OK\r\n" P
	    "LISTEN: 127.0.0.1:25\r\n\r\nIN started: 1\r\n" P);
	free(f);
}

TEST(admin_status)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "status\r\n");
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_STATUS);
	T_SENT(f, "");
	answer(f, MSG_OK,
	    "LISTEN: 127.0.0.1:25\n"
	    "OUT started: 3\n"
	    "OUT finished: 2\n"
	    "\n"
	    "IN: 127.0.0.1:25 <- 127.0.0.1:\t4000\n");
	T_SENT(f,
	    "LISTEN: 127.0.0.1:25\r\n"
	    "OUT started: 3\r\n"
	    "OUT finished: 2\r\n"
	    "\r\n"
	    "IN: 127.0.0.1:25 <- 127.0.0.1: 4000\r\n" P);
	clear_sent(f);
	input(f, "status\r\n");
	answer(f, MSG_OK, "");
	T_SENT(f, "no info\r\n" P);
	clear_sent(f);
	/* a lone CR and other control characters become spaces */
	input(f, "status\r\n");
	answer(f, MSG_OK, "a\rb\033c\x7f" "d\xc3\xa9");
	T_SENT(f, "a b c d\xc3\xa9\r\n" P);
	free(f);
}

TEST(admin_pid_info)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "pid\r\n");
	T_SENT(f, "4242\r\n" P);
	clear_sent(f);
	input(f, "info version\r\ninfo VERSION\r\n");
	T_SENT(f, "2.6.1\r\n" P "2.6.1\r\n" P);
	clear_sent(f);
	input(f, "info\r\ninfo copyright\r\ninfo version x\r\n");
	T_SENT(f, "usage: info {version}\r\n" P
	    "usage: info {version}\r\n" P
	    "usage: info {version}\r\n" P);
	T_EQ_INT(f->nreq, 0);
	free(f);

	c.copyright = "Copyright (C) 2026 The emailrelay authors";
	c.pid = 1;
	c.version = "0.1.0";
	f = fake_new(&c);
	input(f, "info copyright\r\ninfo version\r\ninfo foo\r\npid\r\n");
	T_SENT(f, "Copyright (C) 2026 The emailrelay authors\r\n" P
	    "0.1.0\r\n" P
	    "usage: info {copyright|version}\r\n" P
	    "1\r\n" P);
	free(f);
}

TEST(admin_smtp)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "smtp disable\r\n");
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_SMTP);
	T_EQ_INT(f->reqs[0].enable, 0);
	answer(f, MSG_OK, NULL);
	input(f, "SMTP Enable\r\n");
	T_EQ_INT(f->nreq, 2);
	T_EQ_INT(f->reqs[1].kind, ADMIN_REQ_SMTP);
	T_EQ_INT(f->reqs[1].enable, 1);
	answer(f, MSG_OK, NULL);
	T_SENT(f, "OK\r\n" P "OK\r\n" P);
	clear_sent(f);
	input(f, "smtp\r\nsmtp foo\r\nsmtp enable now\r\n");
	T_SENT(f, "usage: smtp {disable|enable}\r\n" P
	    "usage: smtp {disable|enable}\r\n" P
	    "usage: smtp {disable|enable}\r\n" P);
	T_EQ_INT(f->nreq, 2);
	clear_sent(f);
	input(f, "smtp enable\r\n");
	answer(f, MSG_TEMPFAIL, "smtp server not running");
	T_SENT(f, "error: smtp server not running\r\n" P);
	free(f);
}

TEST(admin_dnsbl)
{
	static const char *const bad[] = {
		"dnsbl", "dnsbl foo", "dnsbl start now", "dnsbl stop +5",
		"dnsbl stop -1", "dnsbl stop 5x", "dnsbl stop 1 2",
		"dnsbl stop 31536001", "dnsbl stop 99999999999",
		"dnsbl stop 0x10"
	};
	struct admin_proto_conf	 c;
	struct fake		*f;
	char			 line[64];
	size_t			 i;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "dnsbl start\r\n");
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_DNSBL);
	T_EQ_INT(f->reqs[0].enable, 1);
	answer(f, MSG_OK, NULL);
	input(f, "dnsbl stop\r\n");
	T_EQ_INT(f->reqs[1].kind, ADMIN_REQ_DNSBL);
	T_EQ_INT(f->reqs[1].enable, 0);
	T_EQ_INT(f->reqs[1].seconds, 0);
	answer(f, MSG_OK, NULL);
	input(f, "DNSBL Stop   300 \r\n");
	T_EQ_INT(f->reqs[2].enable, 0);
	T_EQ_INT(f->reqs[2].seconds, 300);
	answer(f, MSG_OK, NULL);
	input(f, "dnsbl stop 31536000\r\n");
	T_EQ_INT(f->reqs[3].seconds, ADMIN_PROTO_DNSBLMAX);
	answer(f, MSG_PERMFAIL, "no dnsbl configured");
	T_SENT(f, "OK\r\n" P "OK\r\n" P "OK\r\n" P
	    "error: no dnsbl configured\r\n" P);
	T_EQ_INT(f->nreq, 4);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_sent(f);
		snprintf(line, sizeof(line), "%s\r\n", bad[i]);
		input(f, line);
		T_SENT(f, "usage: dnsbl {start|stop [<seconds>]}\r\n" P);
		T_EQ_INT(f->nreq, 4);
	}
	T_EQ_INT(f->closed, 0);
	free(f);
}

TEST(admin_quit)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "pid\r\nQUIT\r\nhelp\r\n");
	T_SENT(f, "4242\r\n" P);
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->reason, "quit");
	T_ASSERT(admin_proto_closed(&f->p));
	T_ASSERT(admin_proto_busy(&f->p));
	T_EQ_INT(f->nreq, 0);
	/* the rest stays unfed */
	T_EQ_INT(f->inlen, 6);
	T_EQ_INT(admin_proto_line(&f->p, "help\r\n", 6), ADMIN_PROTO_BUSY);
	T_EQ_INT(admin_proto_reply(&f->p, MSG_OK, NULL), -1);
	T_SENT(f, "4242\r\n" P);
	free(f);
}

TEST(admin_terminate)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	/* not allowed: unrecognised, counted, nothing else */
	conf_default(&c);
	f = fake_new(&c);
	input(f, "terminate\r\n");
	T_SENT(f, BAD P);
	T_EQ_INT(f->nreq, 0);
	T_EQ_INT(f->closed, 0);
	T_EQ_INT(f->p.errors, 1);
	free(f);

	c.terminate = 1;
	f = fake_new(&c);
	f->reqevent = "too late";
	input(f, "notify\r\n");
	clear_sent(f);
	input(f, "Terminate\r\nhelp\r\n");
	T_SENT(f, "");
	T_EQ_INT(f->nreq, 2);
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_NOTIFY);
	T_EQ_INT(f->reqs[1].kind, ADMIN_REQ_TERMINATE);
	/* closed before the request: no event goes out */
	T_EQ_INT(f->reqevent_rc, 0);
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->reason, "terminate");
	T_ASSERT(admin_proto_closed(&f->p));
	T_EQ_INT(admin_proto_event(&f->p, "x"), 0);
	T_SENT(f, "");
	free(f);
}

TEST(admin_unrecognised)
{
	struct admin_proto_conf	 c;
	struct fake		*f;
	char			 expect[ADMIN_PROTO_MAXERRORS *
				    (sizeof(BAD) + sizeof(P))];
	int			 i;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "foo\r\n");
	T_SENT(f, BAD P);
	/* a prefix or a word with more is not a command */
	input(f, "hel\r\nhelpme\r\nlist-all\r\nunfail\r\n");
	T_EQ_INT(f->nreq, 0);
	T_EQ_INT(f->p.errors, 5);
	clear_sent(f);
	/* good commands do not reset the count */
	input(f, "help\r\n");
	T_SENT(f, HELP P);
	clear_sent(f);
	expect[0] = '\0';
	for (i = 5; i < ADMIN_PROTO_MAXERRORS - 1; i++) {
		input(f, "bogus\n");
		strlcat(expect, BAD P, sizeof(expect));
	}
	T_SENT(f, expect);
	T_EQ_INT(f->closed, 0);
	T_ASSERT(!admin_proto_busy(&f->p));
	clear_sent(f);
	/* the 30th: its answer, no prompt, closed */
	input(f, "bogus\r\nhelp\r\n");
	T_SENT(f, BAD);
	T_EQ_INT(f->closed, 1);
	T_EQ_STR(f->reason, "too many unrecognised commands");
	T_ASSERT(admin_proto_closed(&f->p));
	free(f);
}

TEST(admin_long_lines)
{
	struct admin_proto_conf	 c;
	struct fake		*f;
	char			 line[5000];

	conf_default(&c);
	f = fake_new(&c);
	/* 1000 octets with CRLF: still a line ("help" and blanks) */
	memset(line, ' ', sizeof(line));
	memcpy(line, "help", 4);
	memcpy(line + ADMIN_PROTO_LINEMAX - 2, "\r\n", 2);
	inputn(f, line, ADMIN_PROTO_LINEMAX);
	T_SENT(f, HELP P);
	clear_sent(f);
	/* one more octet: unrecognised */
	memcpy(line + ADMIN_PROTO_LINEMAX - 2, " \r\n", 3);
	T_EQ_INT(admin_proto_line(&f->p, line, ADMIN_PROTO_LINEMAX + 1),
	    ADMIN_PROTO_OK);
	T_SENT(f, BAD P);
	clear_sent(f);
	/* 5000 octets: fragments dropped, one answer at the LF */
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	inputn(f, line, sizeof(line));
	T_SENT(f, BAD P);
	T_EQ_INT(f->p.errors, 2);
	clear_sent(f);
	/* the next line is a command again */
	input(f, "pid\n");
	T_SENT(f, "4242\r\n" P);
	clear_sent(f);
	/* a fragment alone answers nothing yet */
	T_EQ_INT(admin_proto_line(&f->p, line, ADMIN_PROTO_LINEMAX),
	    ADMIN_PROTO_OK);
	T_SENT(f, "");
	T_EQ_INT(admin_proto_line(&f->p, "help\r\n", 6), ADMIN_PROTO_OK);
	T_SENT(f, BAD P);
	T_EQ_INT(f->p.errors, 3);
	free(f);
}

TEST(admin_nul)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	inputn(f, "help\0\r\n", 7);
	inputn(f, "\0\n", 2);
	inputn(f, "quit\0x\n", 7);
	T_SENT(f, BAD P BAD P BAD P);
	T_EQ_INT(f->closed, 0);
	T_EQ_INT(f->p.errors, 3);
	free(f);
}

TEST(admin_line_ends)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	/* CRLF, bare LF, and a CR doubled by some terminals */
	input(f, "pid\r\npid\npid\r\r\n");
	T_SENT(f, "4242\r\n" P "4242\r\n" P "4242\r\n" P);
	clear_sent(f);
	/* a line without terminator waits for it */
	input(f, "pi");
	T_SENT(f, "");
	input(f, "d\n");
	T_SENT(f, "4242\r\n" P);
	/* a zero-length call takes nothing */
	T_EQ_INT(admin_proto_line(&f->p, "", 0), ADMIN_PROTO_OK);
	input(f, "pid\n");
	T_SENT(f, "4242\r\n" P "4242\r\n" P);
	free(f);
}

TEST(admin_busy)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	conf_default(&c);
	f = fake_new(&c);
	T_EQ_INT(admin_proto_reply(&f->p, MSG_OK, NULL), -1);
	/* pipelined: the second waits for the first's reply */
	input(f, "list\r\npid\r\nforward\r\n");
	T_ASSERT(admin_proto_busy(&f->p));
	T_EQ_INT(f->nreq, 1);
	T_SENT(f, "");
	T_EQ_INT(f->inlen, strlen("pid\r\nforward\r\n"));
	T_EQ_INT(admin_proto_line(&f->p, "pid\r\n", 5), ADMIN_PROTO_BUSY);
	T_SENT(f, "");
	answer(f, MSG_OK, "m1");
	T_EQ_INT(f->nreq, 2);
	T_EQ_INT(f->reqs[1].kind, ADMIN_REQ_FORWARD);
	T_SENT(f, "m1\r\n" P "4242\r\n" P);
	T_ASSERT(admin_proto_busy(&f->p));
	answer(f, MSG_OK, NULL);
	T_SENT(f, "m1\r\n" P "4242\r\n" P "OK\r\n" P);
	T_EQ_INT(admin_proto_reply(&f->p, MSG_OK, NULL), -1);
	T_SENT(f, "m1\r\n" P "4242\r\n" P "OK\r\n" P);
	free(f);

	/* answered from inside the request callback */
	f = fake_new(&c);
	f->autoreply = 1;
	f->autotext = "id";
	input(f, "list\r\nfailures\r\nunfail-all\r\nstatus\r\n");
	T_EQ_INT(f->nreq, 4);
	T_SENT(f, "id\r\n" P "id\r\n" P "\r\n" P "id\r\n" P);
	T_ASSERT(!admin_proto_busy(&f->p));
	free(f);
}

TEST(admin_notify)
{
	struct admin_proto_conf	 c;
	struct fake		*f;
	char			 ev[ADMIN_PROTO_EVENTMAX + 100];
	char			 expect[ADMIN_PROTO_EVENTMAX + 100];

	conf_default(&c);
	f = fake_new(&c);
	/* no events before notify */
	T_EQ_INT(admin_proto_event(&f->p, "forwarding: start"), 0);
	T_ASSERT(!admin_proto_notifying(&f->p));
	T_SENT(f, "");
	input(f, "notify\r\n");
	/* no reply line, only the prompt; the one-way request after it */
	T_SENT(f, P);
	T_EQ_INT(f->nreq, 1);
	T_EQ_INT(f->reqs[0].kind, ADMIN_REQ_NOTIFY);
	T_ASSERT(!admin_proto_busy(&f->p));
	T_ASSERT(admin_proto_notifying(&f->p));
	T_EQ_INT(admin_proto_event(&f->p, "forwarding: start"), 1);
	T_SENT(f, P "EVENT: forwarding: start\r\n" P);
	clear_sent(f);
	/* a second notify asks nothing more */
	input(f, "NOTIFY\r\n");
	T_SENT(f, P);
	T_EQ_INT(f->nreq, 1);
	clear_sent(f);
	/* line ends and control characters inside become spaces */
	T_EQ_INT(admin_proto_event(&f->p, "a\r\nb\tc"), 1);
	T_SENT(f, "EVENT: a  b c\r\n" P);
	clear_sent(f);
	T_EQ_INT(admin_proto_event(&f->p, ""), 1);
	T_SENT(f, "EVENT: \r\n" P);
	clear_sent(f);
	/* cut at ADMIN_PROTO_EVENTMAX */
	memset(ev, 'e', sizeof(ev) - 1);
	ev[sizeof(ev) - 1] = '\0';
	T_EQ_INT(admin_proto_event(&f->p, ev), 1);
	snprintf(expect, sizeof(expect), "EVENT: %.*s\r\n" P,
	    ADMIN_PROTO_EVENTMAX, ev);
	T_SENT(f, expect);
	/* one send per event: never split */
	clear_sent(f);
	f->sends = 0;
	T_EQ_INT(admin_proto_event(&f->p, "x"), 1);
	T_EQ_INT(f->sends, 1);
	/* commands still work */
	clear_sent(f);
	input(f, "pid\r\n");
	T_SENT(f, "4242\r\n" P);
	input(f, "quit\r\n");
	T_EQ_INT(admin_proto_event(&f->p, "after quit"), 0);
	T_ASSERT(!admin_proto_notifying(&f->p));
	T_SENT(f, "4242\r\n" P);
	free(f);
}

TEST(admin_notify_held)
{
	struct admin_proto_conf	 c;
	struct fake		*f;
	const char		*head = "x\r\n" P "EVENT: vvv";
	char			 ev[ADMIN_PROTO_EVENTMAX];
	int			 i, r, held = 0, dropped = 0;

	conf_default(&c);
	f = fake_new(&c);
	input(f, "notify\r\n");
	clear_sent(f);
	/* held while a request is outstanding, sent after the reply */
	input(f, "list\r\n");
	T_EQ_INT(admin_proto_event(&f->p, "one"), 1);
	T_SENT(f, "");
	T_EQ_INT(admin_proto_reply_part(&f->p, "m1\n"), 0);
	T_EQ_INT(admin_proto_event(&f->p, "two"), 1);
	T_SENT(f, "m1\r\n");
	answer(f, MSG_OK, "m2\n");
	T_SENT(f, "m1\r\nm2\r\n" P "EVENT: one\r\n" P "EVENT: two\r\n" P);
	clear_sent(f);
	/* and after an error answer too */
	input(f, "flush\r\n");
	T_EQ_INT(admin_proto_event(&f->p, "three"), 1);
	answer(f, MSG_PERMFAIL, "no messages to send");
	T_SENT(f, "error: no messages to send\r\n" P "EVENT: three\r\n" P);
	clear_sent(f);
	/* the held buffer is bounded: later events are dropped */
	input(f, "status\r\n");
	memset(ev, 'v', sizeof(ev) - 1);
	ev[sizeof(ev) - 1] = '\0';
	for (i = 0; i < 20; i++) {
		r = admin_proto_event(&f->p, ev);
		if (r == 1)
			held++;
		else if (r == -1)
			dropped++;
	}
	T_ASSERT(held > 0);
	T_ASSERT(dropped > 0);
	T_EQ_INT(held + dropped, 20);
	T_EQ_INT(f->p.dropped, dropped);
	T_ASSERT(f->p.heldlen <= ADMIN_PROTO_HELDMAX);
	T_SENT(f, "");
	answer(f, MSG_OK, "x");
	T_EQ_INT(f->sentlen, strlen("x\r\n" P) + (size_t)held *
	    (strlen("EVENT: \r\n" P) + sizeof(ev) - 1));
	T_ASSERT(strncmp(f->sent, head, strlen(head)) == 0);
	T_EQ_INT(f->p.heldlen, 0);
	/* room again */
	T_EQ_INT(admin_proto_event(&f->p, "four"), 1);
	free(f);

	/* an event from inside the request callback follows the answer */
	f = fake_new(&c);
	input(f, "notify\r\n");
	clear_sent(f);
	f->autoreply = 1;
	f->autostatus = MSG_OK;
	f->reqevent = "inside";
	input(f, "forward\r\n");
	T_EQ_INT(f->reqevent_rc, 1);
	T_SENT(f, "OK\r\n" P "EVENT: inside\r\n" P);
	free(f);

}

TEST(admin_notify_within_notify)
{
	struct admin_proto_conf	 c;
	struct fake		*f;

	/* an event pushed from inside the NOTIFY request follows the prompt */
	conf_default(&c);
	f = fake_new(&c);
	f->reqevent = "hello";
	input(f, "notify\r\n");
	T_EQ_INT(f->reqevent_rc, 1);
	T_SENT(f, P "EVENT: hello\r\n" P);
	free(f);
}
