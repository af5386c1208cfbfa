/*
 * common/filter_result.c: every exit code of SPEC 6.2 for --filter and
 * --client-filter, the <<...>> and [[...]] texts (two lines, SMTP codes,
 * none, garbage, CR/LF, 8-bit, overlong), timeouts, and the verifier
 * results of SPEC 6.5.
 */
#include <stdlib.h>
#include <string.h>

#include "filter_result.h"
#include "t.h"

#define S(s)	(s), strlen(s)

struct fr_row {
	int	 exit;
	int	 action;
	int	 rescan;
	int	 endpass;
};

TEST(t_filter_server_table)
{
	static const struct fr_row rows[] = {
		{ 0, FILTER_PASS, 0, 0 },
		{ 101, FILTER_PASS, 0, 0 },
		{ 100, FILTER_ABANDON, 0, 0 },
		{ 102, FILTER_ABANDON, 1, 0 },
		{ 103, FILTER_PASS, 1, 0 },
		{ 104, FILTER_FAIL, 1, 0 },
		{ 105, FILTER_FAIL, 0, 0 },
		{ 1, FILTER_FAIL, 0, 0 },
		{ 2, FILTER_FAIL, 0, 0 },
		{ 99, FILTER_FAIL, 0, 0 },
		{ 106, FILTER_FAIL, 0, 0 },
		{ 127, FILTER_FAIL, 0, 0 },
		{ 255, FILTER_FAIL, 0, 0 },
		{ -1, FILTER_FAIL, 0, 0 },
	};
	struct filter_outcome	 o;
	size_t			 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		filter_result_server(rows[i].exit, 0, S(""), &o);
		T_EQ_INT(o.action * 1000 + rows[i].exit,
		    rows[i].action * 1000 + rows[i].exit);
		T_EQ_INT(o.rescan * 1000 + rows[i].exit,
		    rows[i].rescan * 1000 + rows[i].exit);
		T_EQ_INT(o.endpass, 0);
		T_EQ_INT(o.timed_out, 0);
		if (rows[i].action == FILTER_FAIL) {
			T_EQ_STR(o.response, "rejected");
			T_EQ_STR(o.reason, "rejected");
			T_EQ_STR(o.reply, "452 rejected");
			T_EQ_INT(o.code, 0);
		} else {
			T_EQ_STR(o.response, "");
			T_EQ_STR(o.reply, "");
		}
	}
}

TEST(t_filter_client_table)
{
	static const struct fr_row rows[] = {
		{ 0, FILTER_PASS, 0, 0 },
		{ 101, FILTER_PASS, 0, 0 },
		{ 100, FILTER_ABANDON, 0, 0 },
		{ 102, FILTER_PASS, 0, 1 },
		{ 103, FILTER_PASS, 0, 0 },
		{ 104, FILTER_ABANDON, 0, 1 },
		{ 105, FILTER_FAIL, 0, 1 },
		{ 1, FILTER_FAIL, 0, 0 },
		{ 99, FILTER_FAIL, 0, 0 },
		{ 106, FILTER_FAIL, 0, 0 },
		{ 200, FILTER_FAIL, 0, 0 },
		{ -1, FILTER_FAIL, 0, 0 },
	};
	struct filter_outcome	 o;
	size_t			 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		filter_result_client(rows[i].exit, 0, S("<<no>>\n"), &o);
		T_EQ_INT(o.action * 1000 + rows[i].exit,
		    rows[i].action * 1000 + rows[i].exit);
		T_EQ_INT(o.endpass * 1000 + rows[i].exit,
		    rows[i].endpass * 1000 + rows[i].exit);
		T_EQ_INT(o.rescan, 0);
		if (rows[i].action == FILTER_FAIL)
			T_EQ_STR(o.response, "no");
	}
}

TEST(t_filter_timeout)
{
	struct filter_outcome	 o;

	/* The exit code does not matter once the program was killed. */
	filter_result_server(0, 1, S("<<550 ignored>>\n"), &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.timed_out, 1);
	T_EQ_INT(o.rescan, 0);
	T_EQ_STR(o.reply, "452 error");
	T_EQ_STR(o.response, "error");
	T_EQ_STR(o.reason, "timeout");
	T_EQ_INT(o.code, 0);

	filter_result_client(-1, 1, NULL, 0, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.timed_out, 1);
	T_EQ_STR(o.reason, "timeout");
}

TEST(t_filter_texts)
{
	struct filter_outcome	 o;

	/* One line: response and reason. */
	filter_result_server(1, 0, S("<<foo bar>>\n"), &o);
	T_EQ_STR(o.response, "foo bar");
	T_EQ_STR(o.reason, "foo bar");
	T_EQ_STR(o.reply, "452 foo bar");
	T_EQ_INT(o.code, 0);

	/* Two lines, other output around them, text after the closer. */
	filter_result_server(1, 0, S("hello\n<<go away>> trailing\nnoise\n"
	    "[[spam score 9]]\n<<third>>\n"), &o);
	T_EQ_STR(o.response, "go away");
	T_EQ_STR(o.reason, "spam score 9");
	T_EQ_STR(o.reply, "452 go away");

	/* A code with a space or a tab. */
	filter_result_server(105, 0, S("<<550 5.7.1 no thanks>>\n"), &o);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.reply, "550 5.7.1 no thanks");
	filter_result_server(1, 0, S("[[421\tbusy]]\r\n"), &o);
	T_EQ_INT(o.code, 421);
	T_EQ_STR(o.response, "421 busy");
	T_EQ_STR(o.reply, "421 busy");

	/* Not codes: 2xx, no separator, too short, letters. */
	filter_result_server(1, 0, S("<<250 fine>>"), &o);
	T_EQ_INT(o.code, 0);
	T_EQ_STR(o.reply, "452 250 fine");
	filter_result_server(1, 0, S("<<550>>"), &o);
	T_EQ_INT(o.code, 0);
	T_EQ_STR(o.reply, "452 550");
	filter_result_server(1, 0, S("<<550-x>>"), &o);
	T_EQ_INT(o.code, 0);
	filter_result_server(1, 0, S("<<5x0 x>>"), &o);
	T_EQ_INT(o.code, 0);
	filter_result_server(1, 0, S("<<45 x>>"), &o);
	T_EQ_INT(o.code, 0);

	/* No bracketed line: garbage, unclosed, not at the start. */
	filter_result_server(1, 0, S("garbage\n<<unclosed\n x<<a>>\n"
	    "[[mixed>>\n<>\n"), &o);
	T_EQ_STR(o.response, "rejected");
	T_EQ_STR(o.reason, "rejected");
	T_EQ_STR(o.reply, "452 rejected");

	/* An empty first text counts as a line but gives "rejected". */
	filter_result_server(1, 0, S("<<>>\n<<why>>\n"), &o);
	T_EQ_STR(o.response, "rejected");
	T_EQ_STR(o.reason, "why");

	/* The closer is the first one. */
	filter_result_server(1, 0, S("<<a>>b>>\n"), &o);
	T_EQ_STR(o.response, "a");

	/* No trailing newline, NULL output. */
	filter_result_server(1, 0, S("<<last>>"), &o);
	T_EQ_STR(o.response, "last");
	filter_result_server(1, 0, NULL, 0, &o);
	T_EQ_STR(o.reply, "452 rejected");
}

TEST(t_filter_text_sanitised)
{
	static const char	 mixed[] =
	    "<<a\rb\xc3\xa9" "c\033d\0e>>\r\n<<r\tx>>\n";
	struct filter_outcome	 o;
	char			*big;
	size_t			 i, n = 5000;

	/* CR inside the text, 8-bit, NUL, escape. */
	filter_result_server(1, 0, mixed, sizeof(mixed) - 1, &o);
	T_EQ_STR(o.response, "a?b??c?d?e");
	T_EQ_STR(o.reason, "r x");
	for (i = 0; o.reply[i] != '\0'; i++)
		T_ASSERT(o.reply[i] >= 0x20 && o.reply[i] <= 0x7e);

	/* A CR LF split inside "<<...>>" is two lines, neither complete. */
	filter_result_server(1, 0, S("<<split\r\nhere>>\n"), &o);
	T_EQ_STR(o.response, "rejected");

	/* Overlong text is cut at FILTER_TEXT_MAX. */
	T_ASSERT((big = malloc(n)) != NULL);
	big[0] = big[1] = '<';
	big[2] = '5';
	big[3] = '5';
	big[4] = '4';
	big[5] = ' ';
	for (i = 6; i < n - 3; i++)
		big[i] = 'x';
	big[n - 3] = '>';
	big[n - 2] = '>';
	big[n - 1] = '\n';
	filter_result_server(1, 0, big, n, &o);
	free(big);
	T_EQ_INT(strlen(o.response), FILTER_TEXT_MAX);
	T_EQ_INT(strlen(o.reason), FILTER_TEXT_MAX);
	T_EQ_INT(strlen(o.reply), FILTER_TEXT_MAX);
	T_EQ_INT(o.code, 554);
	T_ASSERT(strncmp(o.reply, "554 xxx", 7) == 0);

	/* Without a code the "452 " prefix still fits in the bound. */
	T_ASSERT((big = malloc(n)) != NULL);
	big[0] = big[1] = '[';
	for (i = 2; i < n - 2; i++)
		big[i] = 'y';
	big[n - 2] = ']';
	big[n - 1] = ']';
	filter_result_client(1, 0, big, n, &o);
	free(big);
	T_EQ_INT(strlen(o.reply), FILTER_TEXT_MAX);
	T_ASSERT(strncmp(o.reply, "452 yyy", 7) == 0);
}

TEST(t_verifier_result)
{
	struct verify_outcome	 o;

	verifier_result(0, 0, S("Joe Bloggs\njoe\n"), &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_INT(o.code, 250);
	T_EQ_STR(o.fullname, "Joe Bloggs");
	T_EQ_STR(o.mailbox, "joe");

	/* CRLF and trailing blank lines. */
	verifier_result(0, 0, S("Joe\r\njoe\r\n\r\n  \n"), &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.fullname, "Joe");
	T_EQ_STR(o.mailbox, "joe");

	verifier_result(1, 0, S("Remote User\nuser@other.example\n"), &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_INT(o.code, 250);
	T_EQ_STR(o.mailbox, "user@other.example");
	T_EQ_STR(o.fullname, "");

	/* 8-bit stays in an address (SMTPUTF8), not in the full name. */
	verifier_result(0, 0, S("J\xc3\xb6rg\nj\xc3\xb6rg\n"), &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.fullname, "J??rg");
	T_EQ_STR(o.mailbox, "j\xc3\xb6rg");

	/* Too few lines for 0 and 1: invalid. */
	verifier_result(0, 0, S("Joe Bloggs\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.text, "mailbox unavailable");
	verifier_result(1, 0, S(""), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	verifier_result(1, 0, S("name\n\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	verifier_result(0, 0, NULL, 0, &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	/* An empty second line before a third is still empty. */
	verifier_result(1, 0, S("name\n\nthird\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	/* A control character in the address. */
	verifier_result(1, 0, S("name\na\033b@c\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_STR(o.text, "mailbox unavailable");

	verifier_result(2, 0, S("no such user\nignored\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.text, "no such user");
	verifier_result(2, 0, S(""), &o);
	T_EQ_STR(o.text, "mailbox unavailable");
	verifier_result(7, 0, S("bad\tthing\r\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_STR(o.text, "bad thing");
	verifier_result(-1, 0, S("x\n"), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	verifier_result(101, 0, S(""), &o);
	T_EQ_INT(o.result, VERIFY_INVALID);

	verifier_result(3, 0, S("try later\n"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_INT(o.code, 450);
	T_EQ_STR(o.text, "try later");
	verifier_result(3, 0, S("\n"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_STR(o.text, "mailbox unavailable");

	verifier_result(100, 0, S("whatever\nelse\n"), &o);
	T_EQ_INT(o.result, VERIFY_ABORT);
	T_EQ_INT(o.code, 0);

	verifier_result(0, 1, S("Joe\njoe\n"), &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_INT(o.code, 450);
	T_EQ_STR(o.text, "timeout");
}

TEST(t_verifier_bounds)
{
	struct verify_outcome	 o;
	char			*big;
	size_t			 i, n = 3000;

	/* An overlong full name is cut; an overlong address is refused. */
	T_ASSERT((big = malloc(n)) != NULL);
	memset(big, 'n', n);
	big[2000] = '\n';
	memcpy(big + 2001, "joe\n", 4);
	verifier_result(0, 0, big, 2005, &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_INT(strlen(o.fullname), FILTER_TEXT_MAX);
	T_EQ_STR(o.mailbox, "joe");

	memset(big, 'a', n);
	memcpy(big, "name\n", 5);
	verifier_result(1, 0, big, n, &o);
	T_EQ_INT(o.result, VERIFY_INVALID);

	/* Exactly FILTER_TEXT_MAX is fine. */
	verifier_result(1, 0, big, 5 + FILTER_TEXT_MAX, &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_INT(strlen(o.mailbox), FILTER_TEXT_MAX);

	/* An overlong text for 2 is cut and printable. */
	memset(big, '\x80', n);
	verifier_result(2, 0, big, n, &o);
	T_EQ_INT(strlen(o.text), FILTER_TEXT_MAX);
	for (i = 0; i < FILTER_TEXT_MAX; i++)
		T_ASSERT(o.text[i] == '?');
	free(big);
}
