/*
 * common/addr.c: SMTP paths and ESMTP parameters.
 */
#include <string.h>

#include "addr.h"
#include "t.h"

static int	 path(const char *, int, struct mailaddr *, const char **);
static int	 params(const char *, int, struct mailparams *,
		    const char **);

static int
path(const char *s, int flags, struct mailaddr *a, const char **err)
{
	*err = NULL;
	return (addr_parse_path(s, strlen(s), flags, a, err));
}

static int
params(const char *s, int flags, struct mailparams *mp, const char **err)
{
	*err = NULL;
	return (addr_parse_params(s, strlen(s), flags, mp, err));
}

TEST(addr_path_simple)
{
	struct mailaddr	 a;
	const char	*err;
	char		 buf[300];

	T_EQ_INT(path("<a@b.example>", 0, &a, &err), 0);
	T_EQ_STR(a.local, "a");
	T_EQ_STR(a.domain, "b.example");
	T_EQ_INT(a.utf8, 0);
	T_EQ_INT(addr_format(&a, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "a@b.example");
	T_EQ_INT(addr_is_null(&a), 0);

	T_EQ_INT(path("<first.last+tag@sub-1.b.example>", 0, &a, &err), 0);
	T_EQ_STR(a.local, "first.last+tag");
	T_EQ_STR(a.domain, "sub-1.b.example");
	T_EQ_INT(path("<!#$%&'*+-/=?^_`{|}~@x.example>", 0, &a, &err), 0);
	T_EQ_STR(a.local, "!#$%&'*+-/=?^_`{|}~");
}

TEST(addr_path_null)
{
	struct mailaddr	 a;
	const char	*err;
	char		 buf[8];

	T_EQ_INT(path("<>", 0, &a, &err), 0);
	T_EQ_INT(addr_is_null(&a), 1);
	T_EQ_INT(addr_format(&a, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "");
}

TEST(addr_path_quoted)
{
	struct mailaddr	 a;
	const char	*err;

	T_EQ_INT(path("<\"john smith\"@b.example>", 0, &a, &err), 0);
	T_EQ_STR(a.local, "\"john smith\"");
	T_EQ_STR(a.domain, "b.example");
	T_EQ_INT(path("<\"a\\\"b@c\"@b.example>", 0, &a, &err), 0);
	T_EQ_STR(a.local, "\"a\\\"b@c\"");
	T_EQ_INT(path("<\"a>b\"@b.example>", 0, &a, &err), 0);
	T_EQ_STR(a.local, "\"a>b\"");
	T_EQ_INT(path("<\"\"@b.example>", 0, &a, &err), 0);
	/* unterminated, control character, bad quoted-pair */
	T_EQ_INT(path("<\"abc@b.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<\"a\tb\"@b.example>", 0, &a, &err), -1);
	T_EQ_STR(err, "invalid character in mailbox name");
	T_EQ_INT(path("<\"a\\\x01\"@b.example>", 0, &a, &err), -1);
}

TEST(addr_path_literals)
{
	struct mailaddr	 a;
	const char	*err;

	T_EQ_INT(path("<a@[192.0.2.1]>", 0, &a, &err), 0);
	T_EQ_STR(a.domain, "[192.0.2.1]");
	T_EQ_INT(path("<a@[IPv6:2001:db8::1]>", 0, &a, &err), 0);
	T_EQ_STR(a.domain, "[IPv6:2001:db8::1]");
	T_EQ_INT(path("<a@[ipv6:::1]>", 0, &a, &err), 0);
	T_EQ_INT(path("<a@[256.0.0.1]>", 0, &a, &err), -1);
	T_EQ_STR(err, "invalid address literal");
	T_EQ_INT(path("<a@[1.2.3]>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@[1.2.3.4.5]>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@[1..2.3]>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@[IPv6:zz::1]>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@[2001:db8::1]>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@[]>", 0, &a, &err), -1);
}

TEST(addr_path_source_route)
{
	struct mailaddr	 a;
	const char	*err;

	T_EQ_INT(path("<@a.example,@b.example:x@y.example>", 0, &a, &err), 0);
	T_EQ_STR(a.local, "x");
	T_EQ_STR(a.domain, "y.example");
	T_EQ_INT(path("<@a.example:x@y.example>", 0, &a, &err), 0);
	T_EQ_STR(a.local, "x");
	T_EQ_INT(path("<@a.example,x@y.example>", 0, &a, &err), -1);
	T_EQ_STR(err, "invalid source route");
	T_EQ_INT(path("<@:x@y.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<@a..b:x@y.example>", 0, &a, &err), -1);
}

TEST(addr_path_brackets)
{
	struct mailaddr	 a;
	const char	*err;

	T_EQ_INT(path("a@b.example", 0, &a, &err), -1);
	T_EQ_STR(err, "missing angle brackets in mailbox name");
	T_EQ_INT(path("<a@b.example", 0, &a, &err), -1);
	T_EQ_STR(err, "missing angle brackets in mailbox name");
	T_EQ_INT(path("a@b.example>", ADDR_F_LAX, &a, &err), -1);
	T_EQ_INT(path("", 0, &a, &err), -1);
	T_EQ_INT(path("<", 0, &a, &err), -1);
	/* nostrictparsing accepts a bare address */
	T_EQ_INT(path("a@b.example", ADDR_F_LAX, &a, &err), 0);
	T_EQ_STR(a.local, "a");
	T_EQ_STR(a.domain, "b.example");
}

TEST(addr_path_domains)
{
	struct mailaddr	 a;
	const char	*err;
	char		 buf[400];
	size_t		 i;

	T_EQ_INT(path("<a@localhost>", 0, &a, &err), 0);
	T_EQ_INT(path("<a@-b.example>", 0, &a, &err), -1);
	T_EQ_STR(err, "invalid domain");
	T_EQ_INT(path("<a@b-.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@b..example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@b.example.>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@.b.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@b_c.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@b_c.example>", ADDR_F_LAX, &a, &err), 0);
	T_EQ_INT(path("<a@b c.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@>", 0, &a, &err), -1);
	T_EQ_STR(err, "missing domain");
	T_EQ_INT(path("<a>", 0, &a, &err), -1);
	T_EQ_STR(err, "missing domain");
	/* a 64-octet label is too long, 63 is fine */
	memcpy(buf, "<a@", 3);
	for (i = 0; i < 63; i++)
		buf[3 + i] = 'x';
	memcpy(buf + 66, ".example>", 10);
	T_EQ_INT(path(buf, 0, &a, &err), 0);
	memcpy(buf + 3 + 63, "x.example>", 11);
	T_EQ_INT(path(buf, 0, &a, &err), -1);
	T_EQ_STR(err, "invalid domain");
}

TEST(addr_path_postmaster)
{
	struct mailaddr	 a;
	const char	*err;

	T_EQ_INT(path("<Postmaster>", ADDR_F_RCPT, &a, &err), 0);
	T_EQ_STR(a.local, "Postmaster");
	T_EQ_STR(a.domain, "");
	T_EQ_INT(addr_is_null(&a), 0);
	T_EQ_INT(path("<postmaster>", 0, &a, &err), -1);
	T_EQ_INT(path("<bob>", ADDR_F_RCPT, &a, &err), -1);
	T_EQ_INT(path("<bob>", ADDR_F_LAX, &a, &err), 0);
	T_EQ_STR(a.local, "bob");
}

TEST(addr_path_dots)
{
	struct mailaddr	 a;
	const char	*err;

	T_EQ_INT(path("<a..b@x.example>", 0, &a, &err), -1);
	T_EQ_STR(err, "invalid local part");
	T_EQ_INT(path("<.a@x.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a.@x.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a..b@x.example>", ADDR_F_LAX, &a, &err), 0);
	T_EQ_STR(a.local, "a..b");
	T_EQ_INT(path("<a(b)@x.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a b@x.example>", 0, &a, &err), -1);
	T_EQ_INT(path("<a@b@x.example>", 0, &a, &err), -1);
}

TEST(addr_path_limits)
{
	struct mailaddr	 a;
	const char	*err;
	char		 buf[600];
	size_t		 i, n;

	/* local part: 64 octets fine, 65 not */
	buf[0] = '<';
	for (i = 1; i <= 64; i++)
		buf[i] = 'l';
	memcpy(buf + 65, "@x.example>", 12);
	T_EQ_INT(path(buf, 0, &a, &err), 0);
	T_EQ_INT(strlen(a.local), 64);
	buf[65] = 'l';
	memcpy(buf + 66, "@x.example>", 12);
	T_EQ_INT(path(buf, 0, &a, &err), -1);
	T_EQ_STR(err, "local part too long");

	/* the whole path: at most 256 octets */
	n = 0;
	buf[n++] = '<';
	buf[n++] = 'a';
	buf[n++] = '@';
	while (n < 250) {
		memcpy(buf + n, "abcdefgh.", 9);
		n += 9;
	}
	memcpy(buf + n, "ex>", 4);
	n += 3;
	T_ASSERT(n > 256);
	T_EQ_INT(path(buf, 0, &a, &err), -1);
	T_EQ_STR(err, "path too long");
	/* 256 exactly is fine, 257 is not */
	memcpy(buf + 253, "ex>", 4);
	T_EQ_INT(strlen(buf), 256);
	T_EQ_INT(path(buf, 0, &a, &err), 0);
	memcpy(buf + 253, "exa>", 5);
	T_EQ_INT(path(buf, 0, &a, &err), -1);
	T_EQ_STR(err, "path too long");
}

TEST(addr_path_utf8)
{
	struct mailaddr	 a;
	const char	*err;

	/* "jürgen@bücher.example" */
	T_EQ_INT(path("<j\xc3\xbcrgen@b\xc3\xbc" "cher.example>", 0, &a, &err),
	    -1);
	T_EQ_STR(err, "invalid character in mailbox name");
	T_EQ_INT(path("<j\xc3\xbcrgen@b\xc3\xbc" "cher.example>", ADDR_F_UTF8,
	    &a, &err), 0);
	T_EQ_INT(a.utf8, 1);
	T_EQ_STR(a.local, "j\xc3\xbcrgen");
	T_EQ_INT(path("<a@b\xc3\xbc" "cher.example>", ADDR_F_UTF8, &a, &err),
	    0);
	T_EQ_INT(a.utf8, 1);
	T_EQ_INT(path("<\"\xe2\x82\xac\"@b.example>", ADDR_F_UTF8, &a, &err),
	    0);
	/* malformed: overlong, surrogate, truncated, stray continuation */
	T_EQ_INT(path("<\xc0\xaf@b.example>", ADDR_F_UTF8, &a, &err), -1);
	T_EQ_INT(path("<\xed\xa0\x80@b.example>", ADDR_F_UTF8, &a, &err), -1);
	T_EQ_INT(path("<\xe2\x82@b.example>", ADDR_F_UTF8, &a, &err), -1);
	T_EQ_INT(path("<\x80@b.example>", ADDR_F_UTF8, &a, &err), -1);
	T_EQ_INT(path("<\xf4\x90\x80\x80@b.example>", ADDR_F_UTF8, &a, &err),
	    -1);
}

TEST(addr_path_controls)
{
	struct mailaddr	 a;
	const char	*err;

	T_EQ_INT(addr_parse_path("<a\0b@x.example>", 15, 0, &a, &err), -1);
	T_EQ_INT(path("<a\r@x.example>", 0, &a, &err), -1);
	T_EQ_STR(err, "invalid character in mailbox name");
	T_EQ_INT(path("<a@x\x7f.example>", 0, &a, &err), -1);
}

TEST(addr_path_span_len)
{
	T_EQ_INT(addr_path_span("<a@b> SIZE=1", 12), 5);
	T_EQ_INT(addr_path_span("<\"a> b\"@c> X", 12), 10);
	T_EQ_INT(addr_path_span("<> BODY=8BITMIME", 16), 2);
	T_EQ_INT(addr_path_span("a@b SIZE=1", 10), 3);
	T_EQ_INT(addr_path_span("<a@b SIZE=1", 11), 4);
	T_EQ_INT(addr_path_span("", 0), 0);
}

TEST(addr_params_mail)
{
	struct mailparams	 mp;
	const char		*err;

	T_EQ_INT(params("", 0, &mp, &err), 0);
	T_EQ_INT(mp.has_size, 0);
	T_EQ_INT(mp.body, ADDR_BODY_NONE);
	T_EQ_INT(params(" SIZE=12345 BODY=8bitmime", 0, &mp, &err), 0);
	T_EQ_INT(mp.has_size, 1);
	T_EQ_INT(mp.size, 12345);
	T_EQ_INT(mp.body, ADDR_BODY_8BITMIME);
	T_EQ_INT(params(" body=7BIT", 0, &mp, &err), 0);
	T_EQ_INT(mp.body, ADDR_BODY_7BIT);
	T_EQ_INT(params(" SIZE=18446744073709551615", 0, &mp, &err), 0);
	T_ASSERT(mp.size == UINT64_MAX);
	T_EQ_INT(params(" AUTH=<>", 0, &mp, &err), 0);
	T_EQ_INT(mp.authlen, 2);
	T_EQ_INT(params(" AUTH=bob+2Bx@a.example", 0, &mp, &err), 0);
	T_ASSERT(mp.auth != NULL);
	T_EQ_INT(mp.authlen, 17);
	T_ASSERT(memcmp(mp.auth, "bob+2Bx@a.example", 17) == 0);
}

TEST(addr_params_extensions)
{
	struct mailparams	 mp;
	const char		*err;

	T_EQ_INT(params(" BODY=BINARYMIME", 0, &mp, &err), ADDR_EUNKNOWN);
	T_EQ_INT(params(" BODY=BINARYMIME", ADDR_F_BINARY, &mp, &err), 0);
	T_EQ_INT(mp.body, ADDR_BODY_BINARYMIME);
	T_EQ_INT(params(" SMTPUTF8", 0, &mp, &err), ADDR_EUNKNOWN);
	T_EQ_INT(params(" SMTPUTF8", ADDR_F_SMTPUTF8, &mp, &err), 0);
	T_EQ_INT(mp.smtputf8, 1);
	T_EQ_INT(params(" SMTPUTF8=yes", ADDR_F_SMTPUTF8, &mp, &err),
	    ADDR_EPARAM);
	/* lax mode ignores what is not advertised */
	T_EQ_INT(params(" SMTPUTF8 BODY=BINARYMIME", ADDR_F_LAX, &mp, &err), 0);
	T_EQ_INT(mp.smtputf8, 0);
	T_EQ_INT(mp.body, ADDR_BODY_NONE);
}

TEST(addr_params_bad)
{
	struct mailparams	 mp;
	const char		*err;

	T_EQ_INT(params(" SIZE=abc", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_STR(err, "invalid SIZE value");
	T_EQ_INT(params(" SIZE", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_INT(params(" SIZE=18446744073709551616", 0, &mp, &err),
	    ADDR_EPARAM);
	T_EQ_INT(params(" SIZE=1 SIZE=2", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_STR(err, "duplicate parameter");
	T_EQ_INT(params(" BODY=9BIT", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_STR(err, "invalid BODY value");
	T_EQ_INT(params(" BODY", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_INT(params(" AUTH=a+zz", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_STR(err, "invalid AUTH value");
	T_EQ_INT(params(" AUTH=a+2", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_INT(params(" X=", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_INT(params(" -X=1", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_INT(params(" X=a=b", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_INT(params(" X=a\tb", 0, &mp, &err), ADDR_EPARAM);
	T_EQ_STR(err, "syntax error in parameters");
	T_EQ_INT(params(" FOO=bar", 0, &mp, &err), ADDR_EUNKNOWN);
	T_EQ_STR(err, "unsupported parameter");
	T_EQ_INT(params(" FOO=bar", ADDR_F_LAX, &mp, &err), 0);
	T_EQ_INT(params(" X-FOO", 0, &mp, &err), ADDR_EUNKNOWN);
}

TEST(addr_params_rcpt)
{
	struct mailparams	 mp;
	const char		*err;

	T_EQ_INT(params("", ADDR_F_RCPT, &mp, &err), 0);
	T_EQ_INT(params(" NOTIFY=NEVER", ADDR_F_RCPT, &mp, &err),
	    ADDR_EUNKNOWN);
	T_EQ_INT(params(" SIZE=10", ADDR_F_RCPT, &mp, &err), ADDR_EUNKNOWN);
	T_EQ_INT(params(" NOTIFY=NEVER", ADDR_F_RCPT | ADDR_F_LAX, &mp, &err),
	    0);
}

TEST(addr_xtext)
{
	T_EQ_INT(addr_xtext_valid("abc", 3), 1);
	T_EQ_INT(addr_xtext_valid("a+2Bb", 5), 1);
	T_EQ_INT(addr_xtext_valid("a+2bb", 5), 0);
	T_EQ_INT(addr_xtext_valid("a+2", 3), 0);
	T_EQ_INT(addr_xtext_valid("a=b", 3), 0);
	T_EQ_INT(addr_xtext_valid("a b", 3), 0);
	T_EQ_INT(addr_xtext_valid("", 0), 1);
}
