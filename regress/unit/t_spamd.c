/*
 * lookup/spamd.c: the spamd request header and the response parser of
 * the spam: and spam-edit: filters (SPEC 6.3).  Responses as a real
 * spamd (SpamAssassin 4.0.1) sent them, fed whole, split at every
 * offset and octet by octet; spamd's errors; malformed, oversized and
 * hostile responses; wrong lengths; the body streamed; the outcomes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_result.h"
#include "lookup/spamd.h"
#include "t.h"

#define S(s)	(s), strlen(s)

/* A clean message's response from spamd 4.0.1, byte for byte. */
static const char clean_resp[] =
    "SPAMD/1.1 0 EX_OK\r\n"
    "Content-length: 439\r\n"
    "Spam: False ; -0.0 / 5.0\r\n"
    "\r\n"
    "X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-25) on vm\r\n"
    "X-Spam-Level: \r\n"
    "X-Spam-Status: No, score=-0.0 required=5.0 tests=NO_RECEIVED,NO_RE"
    "LAYS\r\n"
    "\tautolearn=unavailable autolearn_force=no version=4.0.1\r\n"
    "Date: Mon, 23 Nov 2026 19:20:02 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Message-ID: <20261123192002.1234@example.com>\r\n"
    "Subject: lunch tomorrow\r\n"
    "\r\n"
    "Hi Bob, shall we meet for lunch tomorrow at noon?\r\n"
    "Alice\r\n";
#define CLEAN_HEAD	(19 + 21 + 26 + 2)	/* octets before the body */

/* spamd's GTUBE response headers, with a shorter body. */
static const char spam_resp[] =
    "SPAMD/1.1 0 EX_OK\r\n"
    "Content-length: 42\r\n"
    "Spam: True ; 1000.0 / 5.0\r\n"
    "\r\n"
    "X-Spam-Flag: YES\r\n"
    "Subject: test\r\n"
    "\r\n"
    "GTUBE\r\n";

/* What a test's body callback saw. */
struct sink {
	char		 buf[4096];
	size_t		 len;
	size_t		 calls;
	int		 fail_at;	/* fail the n-th call (from 1); 0 never */
	const char	*expect_ptr;	/* where the next piece must start */
};

static int	 sink_body(void *, const char *, size_t);
static int	 feed(struct spamd_parser *, struct sink *, int, const char *,
		    size_t, size_t);
static int	 parse_all(const char *, size_t, struct spamd_parser *,
		    struct sink *);
static int	 same_result(const struct spamd_parser *,
		    const struct spamd_parser *);

static int
sink_body(void *arg, const char *data, size_t len)
{
	struct sink	*k = arg;

	k->calls++;
	if (k->fail_at != 0 && k->calls == (size_t)k->fail_at)
		return (-1);
	if (len == 0 || k->len + len > sizeof(k->buf))
		abort();
	if (k->expect_ptr != NULL && data != k->expect_ptr)
		abort();
	memcpy(k->buf + k->len, data, len);
	k->len += len;
	return (0);
}

/*
 * Feed len octets at data in pieces of at most step octets (0: all at
 * once) into a fresh parser.  Returns the last result.
 */
static int
feed(struct spamd_parser *p, struct sink *k, int with_body,
    const char *data, size_t len, size_t step)
{
	size_t	 i, n;
	int	 rv = SPAMD_MORE;

	memset(k, 0, sizeof(*k));
	spamd_init(p, with_body ? sink_body : NULL, k);
	if (step == 0)
		step = len;
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		rv = spamd_parse(p, data + i, n);
		if (rv != SPAMD_MORE)
			break;
	}
	return (rv);
}

static int
parse_all(const char *data, size_t len, struct spamd_parser *p,
    struct sink *k)
{
	return (feed(p, k, 1, data, len, 0));
}

static int
same_result(const struct spamd_parser *a, const struct spamd_parser *b)
{
	return (a->state == b->state && a->code == b->code &&
	    strcmp(a->message, b->message) == 0 &&
	    a->have_length == b->have_length && a->length == b->length &&
	    a->received == b->received &&
	    a->have_verdict == b->have_verdict && a->spam == b->spam &&
	    strcmp(a->score_text, b->score_text) == 0 &&
	    strcmp(a->threshold_text, b->threshold_text) == 0 &&
	    a->errstr == b->errstr);
}

TEST(t_spamd_request)
{
	char	 buf[SPAMD_REQUEST_MAX], user[SPAMD_USER_MAX + 2];

	/* As E-MailRelay sends it; spamd runs as its own user then. */
	T_EQ_INT(spamd_request(buf, sizeof(buf), 231, NULL), 42);
	T_EQ_STR(buf, "PROCESS SPAMC/1.4\r\nContent-length: 231\r\n\r\n");
	T_EQ_INT(spamd_request(buf, sizeof(buf), 0, ""), 40);
	T_EQ_STR(buf, "PROCESS SPAMC/1.4\r\nContent-length: 0\r\n\r\n");

	/* With a User: line, as spamc sends one. */
	T_ASSERT(spamd_request(buf, sizeof(buf), 1234, "nobody") > 0);
	T_EQ_STR(buf, "PROCESS SPAMC/1.4\r\nContent-length: 1234\r\n"
	    "User: nobody\r\n\r\n");

	/* The largest length and the longest user fit the constant. */
	memset(user, 'u', SPAMD_USER_MAX);
	user[SPAMD_USER_MAX] = '\0';
	T_ASSERT(spamd_request(buf, sizeof(buf), UINT64_MAX, user) > 0);
	T_ASSERT(strstr(buf, "Content-length: 18446744073709551615\r\n") !=
	    NULL);

	/* A user that could add a line or a header, or is too long. */
	errno = 0;
	T_EQ_INT(spamd_request(buf, sizeof(buf), 1, "a\r\nUser: root"), -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_INT(spamd_request(buf, sizeof(buf), 1, "a b"), -1);
	T_EQ_INT(spamd_request(buf, sizeof(buf), 1, "a\n"), -1);
	T_EQ_INT(spamd_request(buf, sizeof(buf), 1, "\xc3\xa9"), -1);
	T_EQ_INT(spamd_request(buf, sizeof(buf), 1, "a\177"), -1);
	user[SPAMD_USER_MAX] = 'u';
	user[SPAMD_USER_MAX + 1] = '\0';
	T_EQ_INT(spamd_request(buf, sizeof(buf), 1, user), -1);

	/* A buffer too small. */
	errno = 0;
	T_EQ_INT(spamd_request(buf, 42, 231, NULL), -1);
	T_EQ_INT(errno, EMSGSIZE);
	T_EQ_INT(spamd_request(buf, 43, 231, NULL), 42);
}

TEST(t_spamd_clean)
{
	struct spamd_parser	 p;
	struct sink		 k;
	struct filter_outcome	 o;

	T_EQ_INT(parse_all(clean_resp, sizeof(clean_resp) - 1, &p, &k),
	    SPAMD_DONE);
	T_EQ_INT(p.state, SPAMD_ST_DONE);
	T_EQ_INT(p.code, 0);
	T_EQ_STR(p.message, "EX_OK");
	T_EQ_INT(p.have_length, 1);
	T_EQ_INT(p.length, 439);
	T_EQ_INT(p.received, 439);
	T_EQ_INT(p.have_verdict, 1);
	T_EQ_INT(p.spam, 0);
	T_EQ_STR(p.score_text, "-0.0");
	T_EQ_STR(p.threshold_text, "5.0");
	T_ASSERT(p.score == 0.0);
	T_ASSERT(p.threshold == 5.0);
	T_ASSERT(p.errstr == NULL);
	T_EQ_INT(k.len, 439);
	T_ASSERT(memcmp(k.buf, clean_resp + CLEAN_HEAD, 439) == 0);
	T_EQ_INT(spamd_eof(&p), SPAMD_DONE);

	spamd_outcome(&p, 0, &o);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_STR(o.reply, "");
	spamd_outcome(&p, 1, &o);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_INT(o.code, 0);
}

TEST(t_spamd_spam)
{
	struct spamd_parser	 p;
	struct sink		 k;
	struct filter_outcome	 o;

	T_EQ_INT(parse_all(S(spam_resp), &p, &k), SPAMD_DONE);
	T_EQ_INT(p.spam, 1);
	T_EQ_STR(p.score_text, "1000.0");
	T_ASSERT(p.score == 1000.0);
	T_EQ_INT(k.len, 42);

	/* spam: rejects it for good. */
	spamd_outcome(&p, 0, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.response, "550 spam detected");
	T_EQ_STR(o.reply, "550 spam detected");
	T_EQ_STR(o.reason, "spam detected (score 1000.0/5.0)");
	T_EQ_INT(o.rescan + o.endpass + o.timed_out, 0);
	T_EQ_STR(o.reply, SPAMD_SPAM_RESPONSE);

	/* spam-edit: passes; the caller stores the body it got. */
	spamd_outcome(&p, 1, &o);
	T_EQ_INT(o.action, FILTER_PASS);
}

TEST(t_spamd_split)
{
	struct spamd_parser	 whole, p;
	struct sink		 kw, k;
	const char		*r = clean_resp;
	size_t			 len = sizeof(clean_resp) - 1, i, j, n;
	int			 rv;

	T_EQ_INT(parse_all(r, len, &whole, &kw), SPAMD_DONE);

	/* Two pieces, split at every offset. */
	for (i = 0; i <= len; i++) {
		memset(&k, 0, sizeof(k));
		spamd_init(&p, sink_body, &k);
		rv = spamd_parse(&p, r, i);
		T_EQ_INT(rv * 10000 + (int)i, (i == len ? SPAMD_DONE :
		    SPAMD_MORE) * 10000 + (int)i);
		rv = spamd_parse(&p, r + i, len - i);
		T_EQ_INT(rv * 10000 + (int)i, SPAMD_DONE * 10000 + (int)i);
		T_ASSERT(same_result(&p, &whole));
		T_ASSERT(k.len == kw.len && memcmp(k.buf, kw.buf, k.len) == 0);
	}

	/* Octet by octet, and in pieces of every size. */
	for (n = 1; n <= len; n++) {
		rv = feed(&p, &k, 1, r, len, n);
		T_EQ_INT(rv * 10000 + (int)n, SPAMD_DONE * 10000 + (int)n);
		T_ASSERT(same_result(&p, &whole));
		T_ASSERT(k.len == kw.len && memcmp(k.buf, kw.buf, k.len) == 0);
	}

	/* Three pieces, split at every pair of offsets. */
	r = spam_resp;
	len = strlen(spam_resp);
	T_EQ_INT(parse_all(r, len, &whole, &kw), SPAMD_DONE);
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			memset(&k, 0, sizeof(k));
			spamd_init(&p, sink_body, &k);
			T_ASSERT(spamd_parse(&p, r, i) != SPAMD_ERROR);
			T_ASSERT(spamd_parse(&p, r + i, j - i) != SPAMD_ERROR);
			T_EQ_INT(spamd_parse(&p, r + j, len - j), SPAMD_DONE);
			T_ASSERT(same_result(&p, &whole));
			T_ASSERT(k.len == kw.len &&
			    memcmp(k.buf, kw.buf, k.len) == 0);
		}
	}
}

TEST(t_spamd_streamed)
{
	struct spamd_parser	 p;
	struct sink		 k;
	const char		*body = clean_resp + CLEAN_HEAD;
	size_t			 i;

	/* Each piece goes on at once, straight from the caller's data. */
	memset(&k, 0, sizeof(k));
	spamd_init(&p, sink_body, &k);
	T_EQ_INT(spamd_parse(&p, clean_resp, CLEAN_HEAD), SPAMD_MORE);
	T_EQ_INT(p.state, SPAMD_ST_BODY);
	T_EQ_INT(k.calls, 0);
	for (i = 0; i < 10; i++) {
		k.expect_ptr = body + i * 40;
		T_EQ_INT(spamd_parse(&p, body + i * 40, 40), SPAMD_MORE);
		T_EQ_INT(k.calls, i + 1);
		T_EQ_INT(k.len, (i + 1) * 40);
		T_EQ_INT(p.received, (i + 1) * 40);
	}
	k.expect_ptr = body + 400;
	T_EQ_INT(spamd_parse(&p, body + 400, 39), SPAMD_DONE);
	T_EQ_INT(k.calls, 11);

	/* Without a callback (spam:) the body is only counted. */
	T_EQ_INT(feed(&p, &k, 0, clean_resp, sizeof(clean_resp) - 1, 7),
	    SPAMD_DONE);
	T_EQ_INT(p.received, 439);
	T_EQ_INT(k.calls, 0);

	/* The callback can stop the response. */
	memset(&k, 0, sizeof(k));
	k.fail_at = 2;
	spamd_init(&p, sink_body, &k);
	T_EQ_INT(spamd_parse(&p, clean_resp, CLEAN_HEAD + 10), SPAMD_MORE);
	T_EQ_INT(spamd_parse(&p, body + 10, 10), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "cannot store the rewritten message");
	T_EQ_INT(spamd_parse(&p, body + 20, 10), SPAMD_ERROR);
	T_EQ_INT(k.calls, 2);
}

TEST(t_spamd_error_status)
{
	static const char	 r[] = "SPAMD/1.0 76 Bad header line: "
	    "(header not in 'Name: value' format)\r\n";
	struct spamd_parser	 p;
	struct sink		 k;
	struct filter_outcome	 o;

	T_EQ_INT(parse_all(S(r), &p, &k), SPAMD_ERROR);
	T_EQ_INT(p.code, 76);
	T_EQ_STR(p.message, "Bad header line: (header not in 'Name: value' "
	    "format)");
	T_EQ_STR(p.errstr, "spamd reported an error");
	T_EQ_INT(spamd_eof(&p), SPAMD_ERROR);
	spamd_outcome(&p, 0, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 451);
	T_EQ_STR(o.reply, SPAMD_ERROR_RESPONSE);
	T_EQ_STR(o.reason, "spamd: error 76: Bad header line: (header not "
	    "in 'Name: value' format)");
	spamd_outcome(&p, 1, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 451);

	/* Without text, with tabs, a message cut at SPAMD_MESSAGE_MAX. */
	T_EQ_INT(parse_all(S("SPAMD/1.5 64\n"), &p, &k), SPAMD_ERROR);
	T_EQ_INT(p.code, 64);
	T_EQ_STR(p.message, "");
	spamd_outcome(&p, 0, &o);
	T_EQ_STR(o.reason, "spamd: error 64");
	T_EQ_INT(parse_all(S("SPAMD/1.1 74\tEX_IOERR \t\r\n"), &p, &k),
	    SPAMD_ERROR);
	T_EQ_STR(p.message, "EX_IOERR");
	{
		char	 big[SPAMD_LINE_MAX];

		memset(big, 'm', sizeof(big));
		memcpy(big, "SPAMD/1.1 75 ", 13);
		big[sizeof(big) - 2] = '\r';
		big[sizeof(big) - 1] = '\n';
		T_EQ_INT(parse_all(big, sizeof(big), &p, &k), SPAMD_ERROR);
		T_EQ_INT(p.code, 75);
		T_EQ_INT(strlen(p.message), SPAMD_MESSAGE_MAX);
	}

	/* "EX_OK" is not needed; code 0 is what counts. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0\r\nContent-length: 0\r\n\r\n"), &p,
	    &k), SPAMD_DONE);
	T_EQ_INT(parse_all(S("SPAMD/1.1 000 EX_OK\r\nContent-length: 0\r\n"
	    "\r\n"), &p, &k), SPAMD_DONE);
}

TEST(t_spamd_bad_status)
{
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\r\n", "SPAMD/1.1\r\n", "SPAMD/1.1 \r\n",
		"SPAMD/1.1 x\r\n", "SPAMD/1.1 0EX_OK\r\n",
		"SPAMD/1.1 1234 x\r\n",
		"SPAMD/x.1 0 EX_OK\r\n", "SPAMD/1 0 EX_OK\r\n",
		"SPAMD/1. 0 EX_OK\r\n", "SPAMD/1.1234 0 EX_OK\r\n",
		"SPAMD/1.1\t0 EX_OK\r\n", "spamd/1.1 0 EX_OK\r\n",
		" SPAMD/1.1 0 EX_OK\r\n", "SPAMD/1.1 -1 x\r\n", "\r\n",
		"SPAMD/1.1 0 EX_\xc3\x96K\r\n", "SPAMD/1.1 76 \xff\r\n",
	};
	static const char	 nul[] = "SPAMD/1.1 0 EX\0OK\r\n";
	static const char	 esc[] = "SPAMD/1.1 0 EX\033OK\r\n";
	struct spamd_parser	 p;
	struct sink		 k;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_EQ_INT(parse_all(S(bad[i]), &p, &k) * 100 + (int)i,
		    SPAMD_ERROR * 100 + (int)i);
		T_EQ_INT(p.code * 100 + (int)i, -1 * 100 + (int)i);
		T_ASSERT(p.errstr != NULL);
		T_EQ_STR(p.errstr, "malformed status line");
	}
	T_EQ_INT(parse_all(nul, sizeof(nul) - 1, &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "control character in the status line");
	T_EQ_INT(parse_all(esc, sizeof(esc) - 1, &p, &k), SPAMD_ERROR);
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX\rOK\r\n"), &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "control character in the status line");
}

TEST(t_spamd_headers)
{
	static const struct {
		const char	*spam;
		int		 is_spam;
		const char	*score;
		const char	*threshold;
	} good[] = {
		{ "True ; 1000.0 / 5.0", 1, "1000.0", "5.0" },
		{ "Yes ; 7.4 / 5.0", 1, "7.4", "5.0" },
		{ "true;1/2", 1, "1", "2" },
		{ "FALSE ; 0 / 5", 0, "0", "5" },
		{ "No;-12.25/5.5", 0, "-12.25", "5.5" },
		{ "\tTrue \t ;\t -1.5 \t/ 5.0 \t", 1, "-1.5", "5.0" },
		{ "True ; 9999999999.9999 / 1", 1, "9999999999.9999", "1" },
	};
	static const char *const bad[] = {
		"Maybe ; 1 / 2", "True 1 / 2", "True ; 1 2", "True ; 1. / 2",
		"True ; .5 / 5", "True ; 1 / 5 x", "True ; 12345678901 / 5",
		"True ; 1.00000 / 5", "True ; 1 / ", "True", "",
		"True ; +1 / 5",
		"True ; 1 / 5 ;", "Truex ; 1 / 5", "True ; 1e3 / 5",
		"True ; 1 / -", "True ; - / 5", "True ; 1,5 / 5",
	};
	struct spamd_parser	 p;
	struct sink		 k;
	char			 r[256];
	size_t			 i;
	int			 n;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = snprintf(r, sizeof(r), "SPAMD/1.1 0 EX_OK\r\nSpam: %s\r\n"
		    "Content-length: 0\r\n\r\n", good[i].spam);
		T_EQ_INT(parse_all(r, (size_t)n, &p, &k) * 100 + (int)i,
		    SPAMD_DONE * 100 + (int)i);
		T_EQ_INT(p.spam * 100 + (int)i, good[i].is_spam * 100 + (int)i);
		T_EQ_STR(p.score_text, good[i].score);
		T_EQ_STR(p.threshold_text, good[i].threshold);
	}
	T_ASSERT(p.score > 9999999999.9998 && p.score < 10000000000.0);
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nSpam: No;-12.25/5.5\r\n"
	    "Content-length: 0\r\n\r\n"), &p, &k), SPAMD_DONE);
	T_ASSERT(p.score == -12.25 && p.threshold == 5.5);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = snprintf(r, sizeof(r), "SPAMD/1.1 0 EX_OK\r\nSpam: %s\r\n"
		    "Content-length: 0\r\n\r\n", bad[i]);
		T_EQ_INT(parse_all(r, (size_t)n, &p, &k) * 100 + (int)i,
		    SPAMD_ERROR * 100 + (int)i);
		T_EQ_STR(p.errstr, "invalid Spam header");
	}

	/* Names in any case, LF line ends, other headers skipped. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\n"
	    "content-LENGTH:3\nDidSet: local\nX-Whatever: \xc3\xa9t\xc3\xa9\n"
	    "SPAM:  yes ; 6 / 5\n\nabc"), &p, &k), SPAMD_DONE);
	T_EQ_INT(p.length, 3);
	T_EQ_INT(p.spam, 1);
	T_ASSERT(k.len == 3 && memcmp(k.buf, "abc", 3) == 0);

	/* Content-length: required, once, digits only, 18 of them. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9 / 5\r\n"
	    "\r\n"), &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "no Content-length header");
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nContent-length: 1\r\n"
	    "Content-Length: 1\r\n\r\nx"), &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "more than one Content-length header");
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9 / 5\r\n"
	    "Spam: False ; 0 / 5\r\n"), &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "more than one Spam header");
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nContent-length: "
	    "999999999999999999\r\n\r\nx"), &p, &k), SPAMD_MORE);
	T_EQ_INT(p.length, 999999999999999999ULL);
	{
		static const char *const badlen[] = { "", "-1", "+1", "1a",
		    "0x10", "1 2", "1000000000000000000", "\xd9\xa3" };
		for (i = 0; i < sizeof(badlen) / sizeof(badlen[0]); i++) {
			n = snprintf(r, sizeof(r), "SPAMD/1.1 0 EX_OK\r\n"
			    "Content-length: %s\r\n\r\n", badlen[i]);
			T_EQ_INT(parse_all(r, (size_t)n, &p, &k) * 100 +
			    (int)i, SPAMD_ERROR * 100 + (int)i);
			T_EQ_STR(p.errstr, "invalid Content-length");
		}
	}

	/* Not "Name: value". */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nGarbage\r\n"), &p, &k),
	    SPAMD_ERROR);
	T_EQ_STR(p.errstr, "malformed header line");
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\n: 3\r\n"), &p, &k),
	    SPAMD_ERROR);
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nContent length: 3\r\n"),
	    &p, &k), SPAMD_ERROR);
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\n Content-length: 3\r\n"),
	    &p, &k), SPAMD_ERROR);
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nX\xc3\xa9: 3\r\n"),
	    &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "malformed header line");
}

TEST(t_spamd_hostile)
{
	static const char	 nul[] = "SPAMD/1.1 0 EX_OK\r\nX: a\0b\r\n";
	struct spamd_parser	 p;
	struct sink		 k;

	T_EQ_INT(parse_all(nul, sizeof(nul) - 1, &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "control character in a header line");
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nContent-length: 1\r"
	    "Spam: True ; 1 / 5\r\n"), &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "control character in a header line");
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nX: \033[2J\r\n"), &p, &k),
	    SPAMD_ERROR);
	/* CR CR LF: the line holds a CR. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\r\n"), &p, &k),
	    SPAMD_ERROR);
	/* A lone CR is no line end: the line never ends. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\rContent-length: 0\r\r"),
	    &p, &k), SPAMD_MORE);
	T_EQ_INT(spamd_eof(&p), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "connection closed early");
}

TEST(t_spamd_limits)
{
	struct spamd_parser	 p;
	struct sink		 k;
	char			*r;
	size_t			 n, i, step;

	T_ASSERT((r = malloc(64 * SPAMD_LINE_MAX)) != NULL);

	/* The longest header line, CRLF included, then one octet more. */
	for (step = 0; step <= 1; step++) {
		n = (size_t)snprintf(r, 64, "SPAMD/1.1 0 EX_OK\r\nX-Long: ");
		memset(r + n, 'v', SPAMD_LINE_MAX);
		n += SPAMD_LINE_MAX - 10;
		memcpy(r + n, "\r\nContent-length: 0\r\n\r\n", 23);
		T_EQ_INT(feed(&p, &k, 1, r, n + 23, step), SPAMD_DONE);
		n = (size_t)snprintf(r, 64, "SPAMD/1.1 0 EX_OK\r\nX-Long: ");
		n += SPAMD_LINE_MAX - 9;
		memcpy(r + n, "\r\nContent-length: 0\r\n\r\n", 23);
		T_EQ_INT(feed(&p, &k, 1, r, n + 23, step), SPAMD_ERROR);
		T_EQ_STR(p.errstr, "header line too long");
		/* Without a line end at all. */
		T_EQ_INT(feed(&p, &k, 1, r, 19 + SPAMD_LINE_MAX + 1, step),
		    SPAMD_ERROR);
		T_EQ_STR(p.errstr, "header line too long");
	}

	/* A status line that never ends. */
	memset(r, 'S', 2 * SPAMD_LINE_MAX);
	T_EQ_INT(feed(&p, &k, 1, r, SPAMD_LINE_MAX, 0), SPAMD_MORE);
	T_EQ_INT(spamd_parse(&p, r, 1), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "status line too long");

	/* SPAMD_HEADERS_MAX header lines, and one more. */
	n = (size_t)snprintf(r, 64, "SPAMD/1.1 0 EX_OK\r\n");
	for (i = 0; i < SPAMD_HEADERS_MAX - 1; i++)
		n += (size_t)snprintf(r + n, 64, "X-%zu: y\r\n", i);
	n += (size_t)snprintf(r + n, 64, "Content-length: 0\r\n\r\n");
	T_EQ_INT(feed(&p, &k, 1, r, n, 0), SPAMD_DONE);
	n = (size_t)snprintf(r, 64, "SPAMD/1.1 0 EX_OK\r\n");
	for (i = 0; i < SPAMD_HEADERS_MAX; i++)
		n += (size_t)snprintf(r + n, 64, "X-%zu: y\r\n", i);
	n += (size_t)snprintf(r + n, 64, "Content-length: 0\r\n\r\n");
	T_EQ_INT(feed(&p, &k, 1, r, n, 0), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "too many header lines");
	free(r);
}

TEST(t_spamd_lengths)
{
	static const char	 head[] = "SPAMD/1.1 0 EX_OK\r\n"
	    "Content-length: 5\r\nSpam: False ; 0.1 / 5.0\r\n\r\n";
	struct spamd_parser	 p;
	struct sink		 k;
	char			 r[256];
	size_t			 hl = sizeof(head) - 1;

	memcpy(r, head, hl);
	memcpy(r + hl, "12345678", 8);

	/* Short: complete only at end of file, and then it is not. */
	T_EQ_INT(parse_all(r, hl + 4, &p, &k), SPAMD_MORE);
	T_EQ_INT(spamd_eof(&p), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "response body shorter than Content-length");
	T_EQ_INT(k.len, 4);

	/* Long: the body stops at the length, the rest is an error. */
	T_EQ_INT(parse_all(r, hl + 6, &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "data after the response");
	T_ASSERT(k.len == 5 && memcmp(k.buf, "12345", 5) == 0);
	T_EQ_INT(parse_all(r, hl + 5, &p, &k), SPAMD_DONE);
	T_EQ_INT(spamd_parse(&p, "x", 1), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "data after the response");
	T_EQ_INT(spamd_parse(&p, "", 0), SPAMD_ERROR);
	T_EQ_INT(spamd_eof(&p), SPAMD_ERROR);

	/* Nothing more after an empty body either. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n"
	    "x"), &p, &k), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "data after the response");

	/* End of file before the status line or inside the headers. */
	spamd_init(&p, NULL, NULL);
	T_EQ_INT(spamd_parse(&p, "", 0), SPAMD_MORE);
	T_EQ_INT(spamd_eof(&p), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "connection closed early");
	T_EQ_INT(parse_all(r, hl - 2, &p, &k), SPAMD_MORE);
	T_EQ_INT(spamd_eof(&p), SPAMD_ERROR);
	T_EQ_STR(p.errstr, "connection closed early");
	T_EQ_INT(parse_all(r, 10, &p, &k), SPAMD_MORE);
	T_EQ_INT(spamd_eof(&p), SPAMD_ERROR);
}

TEST(t_spamd_outcomes)
{
	struct spamd_parser	 p;
	struct sink		 k;
	struct filter_outcome	 o;

	/* Not finished: incomplete, whatever was read. */
	T_EQ_INT(parse_all(clean_resp, 100, &p, &k), SPAMD_MORE);
	spamd_outcome(&p, 1, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 451);
	T_EQ_STR(o.reason, "spamd: incomplete response");

	/* A parse error names itself. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nGarbage\r\n"), &p, &k),
	    SPAMD_ERROR);
	spamd_outcome(&p, 0, &o);
	T_EQ_STR(o.reason, "spamd: malformed header line");
	T_EQ_STR(o.reply, "451 spam filter error");

	/* No verdict: spam: cannot decide, spam-edit: does not need one. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nContent-length: 2\r\n"
	    "\r\nhi"), &p, &k), SPAMD_DONE);
	spamd_outcome(&p, 0, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_STR(o.reason, "spamd: no Spam header in the response");
	spamd_outcome(&p, 1, &o);
	T_EQ_INT(o.action, FILTER_PASS);

	/* spam-edit: never replaces a message with nothing. */
	T_EQ_INT(parse_all(S("SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n"
	    "Spam: False ; 0 / 5\r\n\r\n"), &p, &k), SPAMD_DONE);
	spamd_outcome(&p, 1, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_STR(o.reason, "spamd: empty response body");
	spamd_outcome(&p, 0, &o);
	T_EQ_INT(o.action, FILTER_PASS);

	/* Transport failures and timeouts. */
	spamd_fail("spamd: cannot connect to 127.0.0.1:783: refused", 0, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 451);
	T_EQ_STR(o.reason, "spamd: cannot connect to 127.0.0.1:783: refused");
	spamd_fail("spamd: read timed out", 1, &o);
	T_EQ_INT(o.timed_out, 1);
	T_EQ_STR(o.reply, "452 error");
	T_EQ_STR(o.reason, "timeout");
}
