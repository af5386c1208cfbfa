/*
 * lookup/netproto.c: the net: filter and verifier line protocols of
 * SPEC 6.3 and 6.5.  Requests (fields that could inject a field or a
 * line are refused), responses mapped as a program's output would be,
 * hostile responses (CR, NUL, 8-bit, brackets, overlong), and failures.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter_result.h"
#include "lookup/netproto.h"
#include "t.h"

#define S(s)	(s), strlen(s)

static int	 same_filter(const struct filter_outcome *,
		    const struct filter_outcome *);
static int	 same_verify(const struct verify_outcome *,
		    const struct verify_outcome *);

static int
same_filter(const struct filter_outcome *a, const struct filter_outcome *b)
{
	return (a->action == b->action && a->rescan == b->rescan &&
	    a->endpass == b->endpass && a->timed_out == b->timed_out &&
	    a->code == b->code && strcmp(a->response, b->response) == 0 &&
	    strcmp(a->reason, b->reason) == 0 &&
	    strcmp(a->reply, b->reply) == 0);
}

static int
same_verify(const struct verify_outcome *a, const struct verify_outcome *b)
{
	return (a->result == b->result && a->code == b->code &&
	    strcmp(a->fullname, b->fullname) == 0 &&
	    strcmp(a->mailbox, b->mailbox) == 0 &&
	    strcmp(a->text, b->text) == 0);
}

TEST(t_netproto_filter_request)
{
	char	 buf[64], big[NETPROTO_LINE_MAX + 2];
	char	*path;

	T_EQ_INT(netproto_filter_request(buf, sizeof(buf),
	    "/var/spool/emailrelay/emailrelay.1.2.content"), 45);
	T_EQ_STR(buf, "/var/spool/emailrelay/emailrelay.1.2.content\n");

	/* Exactly fits: path, LF, NUL. */
	T_EQ_INT(netproto_filter_request(buf, 5, "a/b"), 4);
	T_EQ_STR(buf, "a/b\n");
	errno = 0;
	T_EQ_INT(netproto_filter_request(buf, 5, "a/bc"), -1);
	T_EQ_INT(errno, EMSGSIZE);

	/* Nothing that could end the line early or confuse the peer. */
	errno = 0;
	T_EQ_INT(netproto_filter_request(buf, sizeof(buf), ""), -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_INT(netproto_filter_request(buf, sizeof(buf), NULL), -1);
	errno = 0;
	T_EQ_INT(netproto_filter_request(buf, sizeof(buf), "/a\nok"), -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_INT(netproto_filter_request(buf, sizeof(buf), "/a\r"), -1);
	T_EQ_INT(netproto_filter_request(buf, sizeof(buf), "/a\tb"), -1);
	T_EQ_INT(netproto_filter_request(buf, sizeof(buf), "/a\177"), -1);

	/* 8-bit bytes in a path are sent as they are. */
	T_EQ_INT(netproto_filter_request(buf, sizeof(buf), "/\xc3\xa9"), 4);

	/* The longest line, and one octet more. */
	T_ASSERT((path = malloc(NETPROTO_LINE_MAX + 2)) != NULL);
	memset(path, 'p', NETPROTO_LINE_MAX);
	path[NETPROTO_LINE_MAX] = '\0';
	T_EQ_INT(netproto_filter_request(big, sizeof(big), path),
	    NETPROTO_LINE_MAX + 1);
	T_EQ_INT(big[NETPROTO_LINE_MAX], '\n');
	path[NETPROTO_LINE_MAX] = 'p';
	path[NETPROTO_LINE_MAX + 1] = '\0';
	errno = 0;
	T_EQ_INT(netproto_filter_request(big, sizeof(big), path), -1);
	T_EQ_INT(errno, EMSGSIZE);
	free(path);
}

TEST(t_netproto_filter_ok)
{
	static const char *const oks[] = { "ok", "ok\n", "ok\r\n", "OK",
	    "Ok", " ok \t", "ok\tall clean", "ok\t", "ok\nsecond line" };
	static const char *const notok[] = { "okay", "ok then", "o k",
	    "\tok", "ko", "ok.", "ok\rx" };
	struct filter_outcome	 o;
	size_t			 i;

	for (i = 0; i < sizeof(oks) / sizeof(oks[0]); i++) {
		memset(&o, 0x55, sizeof(o));
		netproto_filter_response(S(oks[i]), &o);
		T_EQ_INT(o.action * 100 + (int)i, FILTER_PASS * 100 + (int)i);
		T_EQ_STR(o.response, "");
		T_EQ_STR(o.reason, "");
		T_EQ_STR(o.reply, "");
		T_EQ_INT(o.code, 0);
		T_EQ_INT(o.rescan + o.endpass + o.timed_out, 0);
	}
	for (i = 0; i < sizeof(notok) / sizeof(notok[0]); i++) {
		netproto_filter_response(S(notok[i]), &o);
		T_EQ_INT(o.action * 100 + (int)i, FILTER_FAIL * 100 + (int)i);
	}
	/* "\tok": the response is empty, "ok" is only the reason. */
	netproto_filter_response(S("\tok"), &o);
	T_EQ_STR(o.response, "rejected");
	T_EQ_STR(o.reason, "ok");
}

TEST(t_netproto_filter_errors)
{
	struct filter_outcome	 o;

	/* A code sets the reply; the text after the tab is the reason. */
	netproto_filter_response(S("550 go away\tbad word in line 3\n"), &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.response, "550 go away");
	T_EQ_STR(o.reply, "550 go away");
	T_EQ_STR(o.reason, "bad word in line 3");
	T_EQ_INT(o.rescan + o.endpass + o.timed_out, 0);

	/* No code: 452 as for a program; no tab: the reason is the text. */
	netproto_filter_response(S("rejected by policy\r\n"), &o);
	T_EQ_INT(o.code, 0);
	T_EQ_STR(o.response, "rejected by policy");
	T_EQ_STR(o.reason, "rejected by policy");
	T_EQ_STR(o.reply, "452 rejected by policy");

	/* 4xx too; later tabs are part of the reason (made spaces). */
	netproto_filter_response(S("421 busy\ttry\tlater"), &o);
	T_EQ_INT(o.code, 421);
	T_EQ_STR(o.reason, "try later");

	/* A tab right after the code ends the response there. */
	netproto_filter_response(S("550\tno"), &o);
	T_EQ_INT(o.code, 0);
	T_EQ_STR(o.response, "550");
	T_EQ_STR(o.reply, "452 550");
	T_EQ_STR(o.reason, "no");

	/* Empty line, empty response, empty reason. */
	netproto_filter_response(S("\n"), &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_STR(o.response, "rejected");
	T_EQ_STR(o.reply, "452 rejected");
	netproto_filter_response(NULL, 0, &o);
	T_EQ_STR(o.reply, "452 rejected");
	netproto_filter_response(S("nope\t"), &o);
	T_EQ_STR(o.reason, "nope");

	/* 2xx is no code. */
	netproto_filter_response(S("250 fine"), &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_STR(o.reply, "452 250 fine");
}

TEST(t_netproto_filter_like_program)
{
	static const char *const lines[][3] = {
		/* line, response, reason as a program would print them */
		{ "550 5.7.1 no thanks\tscore 9", "550 5.7.1 no thanks",
		    "score 9" },
		{ "451 later", "451 later", NULL },
		{ "x", "x", NULL },
		{ "\twhy", "", "why" },
		{ "a <b> [c]\td", "a <b> [c]", "d" },
	};
	struct filter_outcome	 a, b;
	char			 out[256];
	size_t			 i;
	int			 n;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		netproto_filter_response(S(lines[i][0]), &a);
		n = snprintf(out, sizeof(out), "<<%s>>\n%s%s%s", lines[i][1],
		    lines[i][2] ? "<<" : "", lines[i][2] ? lines[i][2] : "",
		    lines[i][2] ? ">>\n" : "");
		T_ASSERT(n > 0 && (size_t)n < sizeof(out));
		filter_result_server(1, 0, out, (size_t)n, &b);
		T_ASSERT(same_filter(&a, &b));
		filter_result_client(1, 0, out, (size_t)n, &b);
		T_ASSERT(same_filter(&a, &b));
	}
}

TEST(t_netproto_filter_hostile)
{
	static const char	 mixed[] = "55\0 a\rb\xc3\xa9\033c\tr\0s\r\n";
	struct filter_outcome	 o;
	char			*big;
	size_t			 i;

	/* NUL, CR, 8-bit, escape: printable ASCII only, never a code. */
	netproto_filter_response(mixed, sizeof(mixed) - 1, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 0);
	T_EQ_STR(o.response, "55? a?b???c");
	T_EQ_STR(o.reason, "r?s");
	T_EQ_STR(o.reply, "452 55? a?b???c");

	/* Only the first line counts. */
	netproto_filter_response(S("550 no\r\nok\n"), &o);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.response, "550 no");
	netproto_filter_response(S("ok\r\n550 no\n"), &o);
	T_EQ_INT(o.action, FILTER_PASS);

	/* Bracket pairs in the text cannot cut it or change it. */
	netproto_filter_response(S("550 <<x>> y\tr>>s"), &o);
	T_EQ_STR(o.response, "550 <<x>> y");
	T_EQ_STR(o.reason, "r>>s");
	netproto_filter_response(S("550 [[x]] y\t]]"), &o);
	T_EQ_STR(o.response, "550 [[x]] y");
	T_EQ_STR(o.reason, "]]");
	netproto_filter_response(S("a>"), &o);
	T_EQ_STR(o.response, "a>");
	netproto_filter_response(S("a]"), &o);
	T_EQ_STR(o.response, "a]");
	netproto_filter_response(S(">>"), &o);
	T_EQ_STR(o.response, ">>");
	/* Both pairs: what a program printing <<...>> gets. */
	netproto_filter_response(S("550 a]]b>>c"), &o);
	T_EQ_STR(o.response, "550 a]]b");
	netproto_filter_response(S("550 a>>b]]c"), &o);
	T_EQ_STR(o.response, "550 a");
	netproto_filter_response(S("550 a>]]"), &o);
	T_EQ_STR(o.response, "550 a>]]");
	/* Ending in '>' with a "]]" in it: neither form reads back. */
	netproto_filter_response(S("550 [[x]] y>"), &o);
	T_EQ_STR(o.response, "550 [[x]] y");

	/* The longest line is taken, its texts cut at FILTER_TEXT_MAX. */
	T_ASSERT((big = malloc(NETPROTO_LINE_MAX + 2)) != NULL);
	memset(big, 'x', NETPROTO_LINE_MAX + 1);
	memcpy(big, "554 ", 4);
	big[2000] = '\t';
	netproto_filter_response(big, NETPROTO_LINE_MAX, &o);
	T_EQ_INT(o.code, 554);
	T_EQ_INT(strlen(o.response), FILTER_TEXT_MAX);
	T_EQ_INT(strlen(o.reason), FILTER_TEXT_MAX);
	T_EQ_INT(strlen(o.reply), FILTER_TEXT_MAX);
	for (i = 4; i < FILTER_TEXT_MAX; i++)
		T_ASSERT(o.response[i] == 'x' && o.reason[i] == 'x');
	/* A CR LF after the longest line is not part of it. */
	big[NETPROTO_LINE_MAX] = '\r';
	big[NETPROTO_LINE_MAX + 1] = '\n';
	netproto_filter_response(big, NETPROTO_LINE_MAX + 2, &o);
	T_EQ_INT(o.code, 554);

	/* One more octet is a protocol error, also when it says ok. */
	big[NETPROTO_LINE_MAX] = 'x';
	netproto_filter_response(big, NETPROTO_LINE_MAX + 1, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 451);
	T_EQ_STR(o.reply, NETPROTO_FILTER_ERROR);
	T_EQ_STR(o.reason, "net filter: response line too long");
	memset(big, ' ', NETPROTO_LINE_MAX + 1);
	big[0] = 'o';
	big[1] = 'k';
	netproto_filter_response(big, NETPROTO_LINE_MAX, &o);
	T_EQ_INT(o.action, FILTER_PASS);
	netproto_filter_response(big, NETPROTO_LINE_MAX + 1, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	free(big);
}

TEST(t_netproto_filter_fail)
{
	struct filter_outcome	 o;

	netproto_filter_fail(NETPROTO_FILTER_ERROR,
	    "net filter: cannot connect to 127.0.0.1:10101: "
	    "Connection refused", 0, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 451);
	T_EQ_INT(o.timed_out, 0);
	T_EQ_STR(o.response, "451 filter error");
	T_EQ_STR(o.reply, "451 filter error");
	T_EQ_STR(o.reason, "net filter: cannot connect to 127.0.0.1:10101: "
	    "Connection refused");

	/* A timeout is a program's timeout, whatever the texts. */
	netproto_filter_fail("550 x", "y", 1, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.timed_out, 1);
	T_EQ_STR(o.reply, "452 error");
	T_EQ_STR(o.reason, "timeout");

	/* Defaults, and texts cut at a line end. */
	netproto_filter_fail(NULL, NULL, 0, &o);
	T_EQ_STR(o.reply, "451 filter error");
	T_EQ_STR(o.reason, "451 filter error");
	netproto_filter_fail("oops\r\n550 injected", "why\n<<x>>", 0, &o);
	T_EQ_INT(o.code, 0);
	T_EQ_STR(o.reply, "452 oops");
	T_EQ_STR(o.reason, "why");
}

TEST(t_netproto_verify_request)
{
	struct netproto_verify_req	 r;
	char				 buf[256], small[8], *big;

	memset(&r, 0, sizeof(r));
	r.to = "alice@example.com";
	r.from = "bob@example.org";
	r.ip = "192.0.2.7:51234";
	r.domain = "relay.example.com";
	r.mechanism = "plain";
	r.name = "bob";
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), 78);
	T_EQ_STR(buf, "alice@example.com|bob@example.org|192.0.2.7:51234|"
	    "relay.example.com|plain|bob\n");

	/* VRFY and an unauthenticated client: empty fields stay. */
	r.from = "";
	r.mechanism = "none";
	r.name = NULL;
	T_ASSERT(netproto_verify_request(buf, sizeof(buf), &r) > 0);
	T_EQ_STR(buf, "alice@example.com||192.0.2.7:51234|"
	    "relay.example.com|none|\n");
	memset(&r, 0, sizeof(r));
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), 6);
	T_EQ_STR(buf, "|||||\n");

	/* SMTPUTF8 addresses go as they are. */
	r.to = "j\xc3\xb6rg@example.com";
	T_ASSERT(netproto_verify_request(buf, sizeof(buf), &r) > 0);
	T_EQ_STR(buf, "j\xc3\xb6rg@example.com|||||\n");

	/* A field cannot add a field or a line. */
	r.to = "a|b@example.com";
	errno = 0;
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	T_EQ_INT(errno, EINVAL);
	r.to = "a@example.com";
	r.name = "bob|plain";
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	r.name = "bob\r\n0|root|x";
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	r.name = "bob\n";
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	r.name = "bob\r";
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	r.name = "b\tob";
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	r.name = "b\177ob";
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	r.name = NULL;
	r.domain = "x|y";
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	r.domain = NULL;

	/* Too long for the buffer or the line. */
	errno = 0;
	T_EQ_INT(netproto_verify_request(small, sizeof(small), &r), -1);
	T_EQ_INT(errno, EMSGSIZE);
	T_ASSERT((big = malloc(NETPROTO_LINE_MAX + 8)) != NULL);
	memset(big, 'a', NETPROTO_LINE_MAX - 5);
	big[NETPROTO_LINE_MAX - 5] = '\0';
	r.to = big;
	T_EQ_INT(netproto_verify_request(buf, sizeof(buf), &r), -1);
	{
		char	*line;

		T_ASSERT((line = malloc(NETPROTO_LINE_MAX + 2)) != NULL);
		T_EQ_INT(netproto_verify_request(line, NETPROTO_LINE_MAX + 2,
		    &r), NETPROTO_LINE_MAX + 1);
		T_EQ_INT(line[NETPROTO_LINE_MAX], '\n');
		big[NETPROTO_LINE_MAX - 5] = 'a';
		big[NETPROTO_LINE_MAX - 4] = '\0';
		errno = 0;
		T_EQ_INT(netproto_verify_request(line, NETPROTO_LINE_MAX + 2,
		    &r), -1);
		T_EQ_INT(errno, EMSGSIZE);
		free(line);
	}
	free(big);
}

TEST(t_netproto_verify_answers)
{
	struct verify_outcome	 o;

	netproto_verify_response(S("0|alice|Alice Example\n"), &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_INT(o.code, 250);
	T_EQ_STR(o.mailbox, "alice");
	T_EQ_STR(o.fullname, "Alice Example");

	/* No full name; a '|' in the full name is part of it. */
	netproto_verify_response(S("0|alice"), &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.mailbox, "alice");
	T_EQ_STR(o.fullname, "");
	netproto_verify_response(S("0|alice|Alice | Example|"), &o);
	T_EQ_STR(o.fullname, "Alice | Example|");

	/* No mailbox: invalid, as a program with one line. */
	netproto_verify_response(S("0||Alice"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.text, "mailbox unavailable");
	netproto_verify_response(S("0"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_STR(o.text, "mailbox unavailable");

	netproto_verify_response(S("1|bob@example.org\r\n"), &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_INT(o.code, 250);
	T_EQ_STR(o.mailbox, "bob@example.org");
	netproto_verify_response(S("1|a|b@example.org"), &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_STR(o.mailbox, "a|b@example.org");
	netproto_verify_response(S("1|"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	netproto_verify_response(S("1"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);

	netproto_verify_response(S("2|no such user"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.text, "no such user");
	netproto_verify_response(S("2"), &o);
	T_EQ_STR(o.text, "mailbox unavailable");

	netproto_verify_response(S("3|directory busy\n"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_INT(o.code, 450);
	T_EQ_STR(o.text, "directory busy");

	netproto_verify_response(S("100"), &o);
	T_EQ_INT(o.result, VERIFY_ABORT);
	T_EQ_INT(o.code, 0);
	netproto_verify_response(S("100|bye\r\n"), &o);
	T_EQ_INT(o.result, VERIFY_ABORT);

	/* Other codes are invalid, as a program's exit code would be. */
	netproto_verify_response(S("5|odd"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_STR(o.text, "odd");
	netproto_verify_response(S("007|odd"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	netproto_verify_response(S("000|alice|A"), &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
}

TEST(t_netproto_verify_like_program)
{
	static const struct {
		const char	*line;
		int		 exit;		/* the program's exit code */
		const char	*out;		/* and its output */
	} rows[] = {
		{ "0|alice|Alice Example", 0, "Alice Example\nalice\n" },
		{ "0|alice", 0, "\nalice\n" },
		{ "0||x", 0, "x\n\n" },
		{ "0|al ice  | A ", 0, " A \nal ice  \n" },
		{ "1|bob@example.org", 1, "\nbob@example.org\n" },
		{ "1|", 1, "\n\n" },
		{ "2|go away", 2, "go away\n" },
		{ "2|", 2, "" },
		{ "3|later", 3, "later\n" },
		{ "100", 100, "" },
		{ "42|x", 42, "x" },
		{ "255|x", 255, "x" },
	};
	struct verify_outcome	 a, b;
	size_t			 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		netproto_verify_response(S(rows[i].line), &a);
		verifier_result(rows[i].exit, 0, S(rows[i].out), &b);
		T_EQ_INT(same_verify(&a, &b) * 100 + (int)i, 100 + (int)i);
	}
}

TEST(t_netproto_verify_hostile)
{
	static const char	 nul[] = "0|ali\0ce|Al\0ice\n";
	struct verify_outcome	 o;
	char			*big;

	/* Garbage, no code, too many digits, a sign: temporary. */
	netproto_verify_response(S("alice"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_INT(o.code, 450);
	T_EQ_STR(o.text, "net verifier: invalid response");
	netproto_verify_response(S(""), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	netproto_verify_response(NULL, 0, &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	netproto_verify_response(S("|0|alice"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	netproto_verify_response(S("0000|alice|A"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	netproto_verify_response(S("-1|x"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	netproto_verify_response(S("0 |alice|A"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	netproto_verify_response(S("\r\n0|alice|A"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);

	/* A line ends at its LF: no second answer sneaks in. */
	netproto_verify_response(S("2|no\n0|root|x\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_STR(o.text, "no");

	/* Control characters in a mailbox make it invalid. */
	netproto_verify_response(nul, sizeof(nul) - 1, &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_STR(o.text, "mailbox unavailable");
	netproto_verify_response(S("1|a\rb@example.org\r\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	netproto_verify_response(S("0|al\tice|A"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);

	/* 8-bit: kept in a mailbox, '?' in texts; CR in a name is '?'. */
	netproto_verify_response(S("0|j\xc3\xb6rg|J\xc3\xb6rg\rX\r\n"), &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.mailbox, "j\xc3\xb6rg");
	T_EQ_STR(o.fullname, "J??rg?X");
	netproto_verify_response(S("3|\033[2Jbusy\xff"), &o);
	T_EQ_STR(o.text, "?[2Jbusy?");

	/* Overlong texts are cut; an overlong mailbox is invalid. */
	T_ASSERT((big = malloc(NETPROTO_LINE_MAX + 1)) != NULL);
	memset(big, 'x', NETPROTO_LINE_MAX + 1);
	memcpy(big, "3|", 2);
	netproto_verify_response(big, NETPROTO_LINE_MAX, &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_INT(strlen(o.text), FILTER_TEXT_MAX);
	memcpy(big, "1|", 2);
	netproto_verify_response(big, NETPROTO_LINE_MAX, &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	netproto_verify_response(big, FILTER_TEXT_MAX + 2, &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_INT(strlen(o.mailbox), FILTER_TEXT_MAX);
	netproto_verify_response(big, FILTER_TEXT_MAX + 3, &o);
	T_EQ_INT(o.result, VERIFY_INVALID);

	/* A line longer than NETPROTO_LINE_MAX is a protocol error. */
	memcpy(big, "1|", 2);
	netproto_verify_response(big, NETPROTO_LINE_MAX + 1, &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_STR(o.text, "net verifier: response line too long");
	free(big);
}

TEST(t_netproto_verify_fail)
{
	struct verify_outcome	 o;

	netproto_verify_fail("net verifier: cannot connect", 0, &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_INT(o.code, 450);
	T_EQ_STR(o.text, "net verifier: cannot connect");
	netproto_verify_fail("x", 1, &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_STR(o.text, "timeout");
	netproto_verify_fail("a\tb\xe9\r\nc", 0, &o);
	T_EQ_STR(o.text, "a b?");
	netproto_verify_fail(NULL, 0, &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_STR(o.text, "mailbox unavailable");
}
