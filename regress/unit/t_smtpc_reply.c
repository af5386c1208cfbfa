/*
 * mta/smtpc_reply.c: the multi-line reply parser, EHLO keywords and the
 * bounds against hostile servers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "mta/smtpc_reply.h"
#include "t.h"

static int	 feed(struct smtpc_reply *, const char *);

/* Feed a NUL-terminated line; returns the parser's result. */
static int
feed(struct smtpc_reply *r, const char *line)
{
	return (smtpc_reply_line(r, line, strlen(line)));
}

TEST(smtpc_reply_single)
{
	struct smtpc_reply	 r;

	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "250 sender <a@b.example> OK"), SMTPC_REPLY_DONE);
	T_EQ_INT(r.code, 250);
	T_EQ_INT(smtpc_reply_class(&r), 2);
	T_EQ_STR(r.text, "sender <a@b.example> OK");
	T_EQ_INT(r.nlines, 1);
	T_EQ_INT(r.ext, 0);
}

TEST(smtpc_reply_code_only)
{
	struct smtpc_reply	 r;

	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "354"), SMTPC_REPLY_DONE);
	T_EQ_INT(r.code, 354);
	T_EQ_STR(r.text, "");
	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "221 "), SMTPC_REPLY_DONE);
	T_EQ_STR(r.text, "");
}

TEST(smtpc_reply_multiline)
{
	struct smtpc_reply	 r;

	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "550-first line"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "550-"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "550 mailbox unavailable"), SMTPC_REPLY_DONE);
	T_EQ_INT(r.code, 550);
	T_EQ_INT(r.nlines, 3);
	T_EQ_STR(r.text, "mailbox unavailable");
	/* a complete reply takes no more lines */
	T_EQ_INT(feed(&r, "550 again"), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "reply already complete");
}

TEST(smtpc_reply_ehlo_keywords)
{
	struct smtpc_reply	 r;

	smtpc_reply_init(&r);
	/* the first line is the greeting, even if it looks like a keyword */
	T_EQ_INT(feed(&r, "250-PIPELINING says hello"), SMTPC_REPLY_MORE);
	T_EQ_INT(r.ext, 0);
	T_EQ_INT(feed(&r, "250-size 35882577"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-8bitmime"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-Auth login PLAIN cram-md5"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-AUTH=XOAUTH2"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-ENHANCEDSTATUSCODES"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-PIPELININGX"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-CHUNKING"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-BINARYMIME"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-SMTPUTF8"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250 STARTTLS"), SMTPC_REPLY_DONE);
	T_EQ_INT(r.ext, SMTPC_EXT_SIZE | SMTPC_EXT_8BITMIME | SMTPC_EXT_AUTH |
	    SMTPC_EXT_CHUNKING | SMTPC_EXT_BINARYMIME | SMTPC_EXT_SMTPUTF8 |
	    SMTPC_EXT_STARTTLS);
	T_EQ_INT(r.size, 35882577);
	T_EQ_STR(r.auth, "LOGIN PLAIN CRAM-MD5 XOAUTH2");

	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "250-a.example"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-SIZE"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-SIZE=5"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250-AUTH bad/mech OK"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "250 pipelining"), SMTPC_REPLY_DONE);
	T_EQ_INT(r.ext, SMTPC_EXT_SIZE | SMTPC_EXT_AUTH | SMTPC_EXT_PIPELINING);
	T_EQ_INT(r.size, 0);
	T_EQ_STR(r.auth, "OK");
}

TEST(smtpc_reply_bad_code)
{
	struct smtpc_reply	 r;
	const char		*bad[] = { "", "25", "2x0 ok", "650 ok",
				    "050 ok", " 250 ok", "abc", "25a" };
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtpc_reply_init(&r);
		T_EQ_INT(feed(&r, bad[i]), SMTPC_REPLY_ERROR);
		T_EQ_STR(r.errstr, "bad reply code");
	}
	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "250+ok"), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "bad reply separator");
	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "2500 ok"), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "bad reply separator");
}

TEST(smtpc_reply_mismatch)
{
	struct smtpc_reply	 r;

	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "250-one"), SMTPC_REPLY_MORE);
	T_EQ_INT(feed(&r, "251 two"), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "reply code mismatch");
	/* stays in error */
	T_EQ_INT(feed(&r, "250 three"), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "reply code mismatch");
}

TEST(smtpc_reply_controls)
{
	struct smtpc_reply	 r;

	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "250 a\rb"), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "control character in reply");
	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "250 a\nb"), SMTPC_REPLY_ERROR);
	smtpc_reply_init(&r);
	T_EQ_INT(smtpc_reply_line(&r, "250 a\0b", 7), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "control character in reply");
	/* a TAB or high byte is text: sanitised later */
	smtpc_reply_init(&r);
	T_EQ_INT(feed(&r, "250 a\tb\xe9"), SMTPC_REPLY_DONE);
	T_EQ_STR(r.text, "a\tb\xe9");
}

TEST(smtpc_reply_bounds)
{
	struct smtpc_reply	 r;
	char			*big;
	size_t			 i;
	int			 rv = SMTPC_REPLY_MORE;

	/* 1000 continuation lines: an error at line 101, nothing more */
	smtpc_reply_init(&r);
	for (i = 0; i < 1000; i++) {
		rv = feed(&r, "250-PIPELINING");
		if (i < SMTPC_REPLY_MAXLINES)
			T_EQ_INT(rv, SMTPC_REPLY_MORE);
		else
			T_EQ_INT(rv, SMTPC_REPLY_ERROR);
	}
	T_EQ_STR(r.errstr, "too many reply lines");
	T_EQ_INT(r.nlines, SMTPC_REPLY_MAXLINES);

	/* a line over BOUNDS_LINE, and the caller's overlong report */
	T_ASSERT((big = malloc(100 * 1024)) != NULL);
	memset(big, 'x', 100 * 1024);
	memcpy(big, "250 ", 4);
	smtpc_reply_init(&r);
	T_EQ_INT(smtpc_reply_line(&r, big, 100 * 1024), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "reply line too long");
	smtpc_reply_init(&r);
	T_EQ_INT(smtpc_reply_line(&r, big, BOUNDS_LINE), SMTPC_REPLY_DONE);
	T_EQ_INT(strlen(r.text), BOUNDS_LINE - 4);
	smtpc_reply_init(&r);
	T_EQ_INT(smtpc_reply_overlong(&r), SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "reply line too long");

	/* total octets: 100 lines of 1000 exceed SMTPC_REPLY_MAXBYTES */
	memcpy(big, "250-", 4);
	smtpc_reply_init(&r);
	for (i = 0; i < 100; i++)
		if ((rv = smtpc_reply_line(&r, big, BOUNDS_LINE)) !=
		    SMTPC_REPLY_MORE)
			break;
	free(big);
	T_EQ_INT(rv, SMTPC_REPLY_ERROR);
	T_EQ_STR(r.errstr, "reply too large");
	T_ASSERT(r.nbytes <= SMTPC_REPLY_MAXBYTES);
}
