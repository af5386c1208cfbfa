/*
 * Envelope files (SPEC 3): exact #2821.8 output, reading back, older
 * formats, LF-only files, free lines after End, malformed input and the
 * sanitising of failure reasons.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "t.h"

/* Every field set, a certificate and a reason pair after End. */
static const char full_text[] =
    "X-MailRelay-Format: #2821.8\r\n"
    "X-MailRelay-Content: 8bit\r\n"
    "X-MailRelay-From: alice@example.com\r\n"
    "X-MailRelay-ToCount: 3\r\n"
    "X-MailRelay-To-Local: postmaster\r\n"
    "X-MailRelay-To-Remote: bob@example.net\r\n"
    "X-MailRelay-To-Remote: carol@example.org\r\n"
    "X-MailRelay-Authentication: alice+2Bx+3D\r\n"
    "X-MailRelay-Client: 192.0.2.7\r\n"
    "X-MailRelay-ClientCertificate: -----BEGIN CERTIFICATE-----\r\n"
    " MIIBszCCAVmgAwIBAgIUQ0123456789abcdefghijklmnopqrs=\r\n"
    " -----END CERTIFICATE-----\r\n"
    "X-MailRelay-MailFromAuthIn: alice+40example.com\r\n"
    "X-MailRelay-MailFromAuthOut: <>\r\n"
    "X-MailRelay-ForwardTo: example.net\r\n"
    "X-MailRelay-ForwardToAddress: 198.51.100.1:25\r\n"
    "X-MailRelay-ClientAccountSelector: acct1\r\n"
    "X-MailRelay-Utf8MailboxNames: 1\r\n"
    "X-MailRelay-End: 1\r\n"
    "X-MailRelay-Reason: mailbox unavailable\r\n"
    "X-MailRelay-ReasonCode: 550\r\n";

/* A fresh envelope: every empty field keeps its trailing space. */
static const char empty_text[] =
    "X-MailRelay-Format: #2821.8\r\n"
    "X-MailRelay-Content: unknown\r\n"
    "X-MailRelay-From: \r\n"
    "X-MailRelay-ToCount: 0\r\n"
    "X-MailRelay-Authentication: \r\n"
    "X-MailRelay-Client: \r\n"
    "X-MailRelay-ClientCertificate: \r\n"
    "X-MailRelay-MailFromAuthIn: \r\n"
    "X-MailRelay-MailFromAuthOut: \r\n"
    "X-MailRelay-ForwardTo: \r\n"
    "X-MailRelay-ForwardToAddress: \r\n"
    "X-MailRelay-ClientAccountSelector: \r\n"
    "X-MailRelay-Utf8MailboxNames: 0\r\n"
    "X-MailRelay-End: 1\r\n";

static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUQ0123456789abcdefghijklmnopqrs=\n"
    "-----END CERTIFICATE-----";

static int	 build_full(struct envelope *);
static int	 write_equals(const struct envelope *, const char *);
static int	 read_fails(const char *, size_t, const char *);
static char	*to_lf(const char *);

static int
build_full(struct envelope *env)
{
	envelope_init(env);
	env->body = ENVELOPE_BODY_8BIT;
	env->utf8 = 1;
	if (envelope_set_from(env, "alice@example.com") == -1 ||
	    envelope_add_rcpt(env, 0, "bob@example.net") == -1 ||
	    envelope_add_rcpt(env, 1, "postmaster") == -1 ||
	    envelope_add_rcpt(env, 0, "carol@example.org") == -1 ||
	    envelope_set_auth(env, "alice+x=") == -1 ||
	    envelope_set_client(env, "192.0.2.7") == -1 ||
	    envelope_set_client_cert(env, "-----BEGIN CERTIFICATE-----\r\n"
	    "MIIBszCCAVmgAwIBAgIUQ0123456789abcdefghijklmnopqrs=\r\n"
	    "-----END CERTIFICATE-----\r\n") == -1 ||
	    envelope_set_auth_in(env, "alice+40example.com") == -1 ||
	    envelope_set_auth_out(env, "<>") == -1 ||
	    envelope_set_forward_to(env, "example.net") == -1 ||
	    envelope_set_forward_to_address(env, "198.51.100.1:25") == -1 ||
	    envelope_set_selector(env, "acct1") == -1 ||
	    envelope_add_reason(env, "mailbox unavailable", 550) == -1)
		return (-1);
	return (0);
}

/* 1 if envelope_write(env) gives exactly text. */
static int
write_equals(const struct envelope *env, const char *text)
{
	char	*buf;
	size_t	 len;
	int	 ok;

	if (envelope_write(env, &buf, &len) == -1)
		return (0);
	ok = len == strlen(text) && memcmp(buf, text, len) == 0;
	if (!ok)
		printf("--- got:\n%s--- want:\n%s---\n", buf, text);
	free(buf);
	return (ok);
}

/*
 * 1 if reading fails with an error text containing want; len SIZE_MAX
 * means strlen(text).
 */
static int
read_fails(const char *text, size_t len, const char *want)
{
	struct envelope	 env;
	char		 err[256];
	int		 r;

	if (len == SIZE_MAX)
		len = strlen(text);
	envelope_init(&env);
	err[0] = '\0';
	r = envelope_read(text, len, &env, err, sizeof(err));
	envelope_free(&env);
	if (r != -1) {
		printf("read succeeded, want error \"%s\"\n", want);
		return (0);
	}
	if (err[0] == '\0' || strcmp(err, "no error") == 0 ||
	    strstr(err, want) == NULL) {
		printf("error \"%s\", want \"%s\"\n", err, want);
		return (0);
	}
	return (1);
}

/* A copy of text with every CRLF turned into LF. */
static char *
to_lf(const char *text)
{
	char	*s, *o;

	if ((s = strdup(text)) == NULL)
		return (NULL);
	for (o = s; *text != '\0'; text++)
		if (!(text[0] == '\r' && text[1] == '\n'))
			*o++ = *text;
	*o = '\0';
	return (s);
}

TEST(envelope_write_full_exact)
{
	struct envelope	 env;
	int		 ok;

	T_EQ_INT(build_full(&env), 0);
	ok = write_equals(&env, full_text);
	envelope_free(&env);
	T_ASSERT(ok);
}

TEST(envelope_write_empty_exact)
{
	struct envelope	 env;

	envelope_init(&env);
	T_ASSERT(write_equals(&env, empty_text));
	envelope_free(&env);
}

TEST(envelope_read_full)
{
	struct envelope	 env;
	char		 err[256], reason[256];
	int		 code, ok;

	envelope_init(&env);
	T_EQ_INT(envelope_read(full_text, strlen(full_text), &env, err,
	    sizeof(err)), 0);
	T_EQ_INT(env.format, 8);
	T_EQ_INT(env.body, ENVELOPE_BODY_8BIT);
	T_EQ_STR(env.from, "alice@example.com");
	T_EQ_INT(env.nto_local, 1);
	T_EQ_STR(env.to_local[0], "postmaster");
	T_EQ_INT(env.nto_remote, 2);
	T_EQ_STR(env.to_remote[0], "bob@example.net");
	T_EQ_STR(env.to_remote[1], "carol@example.org");
	T_EQ_STR(env.auth, "alice+2Bx+3D");
	T_EQ_STR(env.client, "192.0.2.7");
	T_EQ_STR(env.client_cert, cert_pem);
	T_EQ_STR(env.auth_in, "alice+40example.com");
	T_EQ_STR(env.auth_out, "<>");
	T_EQ_STR(env.forward_to, "example.net");
	T_EQ_STR(env.forward_to_address, "198.51.100.1:25");
	T_EQ_STR(env.selector, "acct1");
	T_EQ_INT(env.utf8, 1);
	T_EQ_INT(env.nlines, 2);
	T_EQ_INT(envelope_reason(&env, reason, sizeof(reason), &code), 1);
	T_EQ_STR(reason, "mailbox unavailable");
	T_EQ_INT(code, 550);
	ok = write_equals(&env, full_text);
	envelope_free(&env);
	T_ASSERT(ok);
}

TEST(envelope_read_empty_fields)
{
	struct envelope	 env;
	char		 err[256];
	int		 ok;

	envelope_init(&env);
	T_EQ_INT(envelope_read(empty_text, strlen(empty_text), &env, err,
	    sizeof(err)), 0);
	T_EQ_INT(env.body, ENVELOPE_BODY_UNKNOWN);
	T_EQ_STR(env.from, "");
	T_ASSERT(env.client_cert == NULL);
	T_EQ_INT(env.nto_local + env.nto_remote, 0);
	T_EQ_INT(env.nlines, 0);
	T_EQ_INT(envelope_reason(&env, NULL, 0, NULL), 0);
	ok = write_equals(&env, empty_text);
	envelope_free(&env);
	T_ASSERT(ok);
}

TEST(envelope_read_lf_only)
{
	struct envelope	 env;
	char		 err[256], *lf;
	int		 r, ok;

	T_ASSERT((lf = to_lf(full_text)) != NULL);
	T_ASSERT(strchr(lf, '\r') == NULL);
	envelope_init(&env);
	r = envelope_read(lf, strlen(lf), &env, err, sizeof(err));
	free(lf);
	T_EQ_INT(r, 0);
	T_EQ_STR(env.client_cert, cert_pem);
	T_EQ_STR(env.to_remote[1], "carol@example.org");
	/* Rewritten with CRLF. */
	ok = write_equals(&env, full_text);
	envelope_free(&env);
	T_ASSERT(ok);
}

TEST(envelope_read_no_final_newline)
{
	static const char text[] =
	    "X-MailRelay-Format: #2821.8\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "X-MailRelay-From: a@b\r\n"
	    "X-MailRelay-ToCount: 1\r\n"
	    "X-MailRelay-To-Remote: c@d\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: 127.0.0.1\r\n"
	    "X-MailRelay-ClientCertificate: \r\n"
	    "X-MailRelay-MailFromAuthIn: \r\n"
	    "X-MailRelay-MailFromAuthOut: \r\n"
	    "X-MailRelay-ForwardTo: \r\n"
	    "X-MailRelay-ForwardToAddress: \r\n"
	    "X-MailRelay-ClientAccountSelector: \r\n"
	    "X-MailRelay-Utf8MailboxNames: 0\r\n"
	    "X-MailRelay-End: 1";
	struct envelope	 env;
	char		 err[256];

	envelope_init(&env);
	T_EQ_INT(envelope_read(text, strlen(text), &env, err, sizeof(err)),
	    0);
	T_EQ_INT(env.body, ENVELOPE_BODY_7BIT);
	T_EQ_INT(env.nlines, 0);
	envelope_free(&env);
}

TEST(envelope_extra_lines_kept)
{
	static const char extra[] =
	    "X-MailRelay-Reason: connection refused\r\n"
	    "X-MailRelay-ReasonCode: \r\n"
	    "X-Custom-Filter: seen by spamfilter; score=1.5\r\n"
	    "\r\n"
	    "X-MailRelay-SplitGroupCount: 2\r\n"
	    "X-MailRelay-SplitGroup: example.net\r\n"
	    "X-MailRelay-Retry: 3\r\n"
	    "X-MailRelay-Reason: 452 mailbox full\r\n"
	    "X-MailRelay-ReasonCode: 452\r\n"
	    "trailing free text\r\n";
	struct envelope	 env;
	char		 text[4096], err[256], reason[64], group[64];
	unsigned int	 count;
	int		 code, ok;

	(void)snprintf(text, sizeof(text), "%s%s", empty_text, extra);
	envelope_init(&env);
	T_EQ_INT(envelope_read(text, strlen(text), &env, err, sizeof(err)),
	    0);
	T_EQ_INT(env.nlines, 10);
	T_EQ_INT(env.lines[0].kind, ENVELOPE_LINE_REASON);
	T_EQ_INT(env.lines[1].kind, ENVELOPE_LINE_REASONCODE);
	T_EQ_INT(env.lines[2].kind, ENVELOPE_LINE_OTHER);
	T_EQ_STR(env.lines[2].text,
	    "X-Custom-Filter: seen by spamfilter; score=1.5");
	T_EQ_STR(env.lines[3].text, "");
	T_EQ_INT(env.lines[4].kind, ENVELOPE_LINE_SPLITGROUPCOUNT);
	T_EQ_INT(env.lines[5].kind, ENVELOPE_LINE_SPLITGROUP);
	T_EQ_INT(env.lines[6].kind, ENVELOPE_LINE_RETRY);
	T_EQ_INT(envelope_retry_get(&env), 3);
	T_EQ_INT(envelope_split(&env, &count, group, sizeof(group)), 1);
	T_EQ_INT(count, 2);
	T_EQ_STR(group, "example.net");
	/* The last pair is the current one. */
	T_EQ_INT(envelope_reason(&env, reason, sizeof(reason), &code), 1);
	T_EQ_STR(reason, "452 mailbox full");
	T_EQ_INT(code, 452);
	/* A rewrite keeps every line verbatim and in order. */
	ok = write_equals(&env, text);
	envelope_free(&env);
	T_ASSERT(ok);
}

TEST(envelope_format_3)
{
	static const char text[] =
	    "X-MailRelay-Format: #2821.3\r\n"
	    "X-MailRelay-Content: 8bit\r\n"
	    "X-MailRelay-From: old@example.com\r\n"
	    "X-MailRelay-ToCount: 2\r\n"
	    "X-MailRelay-To-Remote: r1@example.net\r\n"
	    "X-MailRelay-To-Local: postmaster\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: 192.0.2.1:1025\r\n"
	    "X-MailRelay-End: 1\r\n";
	static const char want[] =
	    "X-MailRelay-Format: #2821.8\r\n"
	    "X-MailRelay-Content: 8bit\r\n"
	    "X-MailRelay-From: old@example.com\r\n"
	    "X-MailRelay-ToCount: 2\r\n"
	    "X-MailRelay-To-Local: postmaster\r\n"
	    "X-MailRelay-To-Remote: r1@example.net\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: 192.0.2.1\r\n"
	    "X-MailRelay-ClientCertificate: \r\n"
	    "X-MailRelay-MailFromAuthIn: \r\n"
	    "X-MailRelay-MailFromAuthOut: \r\n"
	    "X-MailRelay-ForwardTo: \r\n"
	    "X-MailRelay-ForwardToAddress: \r\n"
	    "X-MailRelay-ClientAccountSelector: \r\n"
	    "X-MailRelay-Utf8MailboxNames: 0\r\n"
	    "X-MailRelay-End: 1\r\n";
	struct envelope	 env;
	char		 err[256];
	int		 ok;

	envelope_init(&env);
	T_EQ_INT(envelope_read(text, strlen(text), &env, err, sizeof(err)),
	    0);
	T_EQ_INT(env.format, 3);
	T_EQ_STR(env.to_local[0], "postmaster");
	T_EQ_STR(env.to_remote[0], "r1@example.net");
	T_EQ_STR(env.client, "192.0.2.1");
	ok = write_equals(&env, want);
	envelope_free(&env);
	T_ASSERT(ok);
}

TEST(envelope_format_4_clientname)
{
	static const char text[] =
	    "X-MailRelay-Format: #2821.4\n"
	    "X-MailRelay-Content: 7bit\n"
	    "X-MailRelay-From: \n"
	    "X-MailRelay-ToCount: 1\n"
	    "X-MailRelay-To-Remote: r1@example.net\n"
	    "X-MailRelay-Authentication: joe\n"
	    "X-MailRelay-Client: 192.0.2.1:1025\n"
	    "X-MailRelay-ClientName: mail.example.com\n"
	    "X-MailRelay-ClientCertificate: \n"
	    "X-MailRelay-MailFromAuthIn: joe\n"
	    "X-MailRelay-MailFromAuthOut: \n"
	    "X-MailRelay-End: 1\n"
	    "X-MailRelay-Reason: old failure\n"
	    "X-MailRelay-ReasonCode: 451\n";
	struct envelope	 env;
	char		 err[256], reason[64];
	int		 code;

	envelope_init(&env);
	T_EQ_INT(envelope_read(text, strlen(text), &env, err, sizeof(err)),
	    0);
	T_EQ_INT(env.format, 4);
	T_EQ_INT(env.body, ENVELOPE_BODY_7BIT);
	T_EQ_STR(env.auth, "joe");
	T_EQ_STR(env.client, "192.0.2.1");
	T_EQ_STR(env.auth_in, "joe");
	T_EQ_INT(envelope_reason(&env, reason, sizeof(reason), &code), 1);
	T_EQ_STR(reason, "old failure");
	T_EQ_INT(code, 451);
	envelope_free(&env);
	/* ClientName is only known in #2821.4 (and older). */
	T_ASSERT(read_fails(
	    "X-MailRelay-Format: #2821.5\n"
	    "X-MailRelay-Content: 7bit\n"
	    "X-MailRelay-From: \n"
	    "X-MailRelay-ToCount: 0\n"
	    "X-MailRelay-Authentication: \n"
	    "X-MailRelay-Client: 192.0.2.1:1025\n"
	    "X-MailRelay-ClientName: mail.example.com\n"
	    "X-MailRelay-End: 1\n", SIZE_MAX, "ClientName"));
}

TEST(envelope_format_5_ipport)
{
	static const char text[] =
	    "X-MailRelay-Format: #2821.5\r\n"
	    "X-MailRelay-Content: binarymime\r\n"
	    "X-MailRelay-From: a@example.com\r\n"
	    "X-MailRelay-ToCount: 1\r\n"
	    "X-MailRelay-To-Remote: b@example.net\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: [2001:db8::7]:2525\r\n"
	    "X-MailRelay-ClientCertificate: \r\n"
	    "X-MailRelay-MailFromAuthIn: \r\n"
	    "X-MailRelay-MailFromAuthOut: <>\r\n"
	    "X-MailRelay-End: 1\r\n";
	struct envelope	 env;
	char		 err[256];

	envelope_init(&env);
	T_EQ_INT(envelope_read(text, strlen(text), &env, err, sizeof(err)),
	    0);
	T_EQ_INT(env.format, 5);
	T_EQ_INT(env.body, ENVELOPE_BODY_BINARYMIME);
	T_EQ_STR(env.client, "2001:db8::7");
	T_EQ_STR(env.auth_out, "<>");
	T_EQ_STR(env.forward_to, "");
	envelope_free(&env);
}

TEST(envelope_client_port_forms)
{
	static const struct {
		const char	*in, *want;
	} cases[] = {
		{ "192.0.2.7:25", "192.0.2.7" },
		{ "192.0.2.7", "192.0.2.7" },
		{ "[2001:db8::1]:25", "2001:db8::1" },
		{ "2001:db8::1.25", "2001:db8::1" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "::ffff:192.0.2.1", "::ffff:192.0.2.1" },
		{ "::1", "::1" },
		{ "mail.example.com:25", "mail.example.com:25" },
		{ "", "" },
	};
	struct envelope	 env;
	char		 text[1024], err[256];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(text, sizeof(text),
		    "X-MailRelay-Format: #2821.5\r\n"
		    "X-MailRelay-Content: 7bit\r\n"
		    "X-MailRelay-From: \r\n"
		    "X-MailRelay-ToCount: 0\r\n"
		    "X-MailRelay-Authentication: \r\n"
		    "X-MailRelay-Client: %s\r\n"
		    "X-MailRelay-End: 1\r\n", cases[i].in);
		envelope_init(&env);
		T_EQ_INT(envelope_read(text, strlen(text), &env, err,
		    sizeof(err)), 0);
		T_EQ_STR(env.client, cases[i].want);
		envelope_free(&env);
	}
}

TEST(envelope_format_6_7)
{
	static const char text6[] =
	    "X-MailRelay-Format: #2821.6\r\n"
	    "X-MailRelay-Content: 8bit\r\n"
	    "X-MailRelay-From: a@example.com\r\n"
	    "X-MailRelay-ToCount: 1\r\n"
	    "X-MailRelay-To-Remote: b@example.net\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: 192.0.2.9:40000\r\n"
	    "X-MailRelay-ClientCertificate: \r\n"
	    "X-MailRelay-MailFromAuthIn: \r\n"
	    "X-MailRelay-MailFromAuthOut: \r\n"
	    "X-MailRelay-ForwardTo: example.net\r\n"
	    "X-MailRelay-ForwardToAddress: 198.51.100.2:25\r\n"
	    "X-MailRelay-End: 1\r\n"
	    "X-MailRelay-SplitGroupCount: 2\r\n"
	    "X-MailRelay-SplitGroup: g1\r\n";
	static const char text7[] =
	    "X-MailRelay-Format: #2821.7\r\n"
	    "X-MailRelay-Content: 8bit\r\n"
	    "X-MailRelay-From: a@example.com\r\n"
	    "X-MailRelay-ToCount: 1\r\n"
	    "X-MailRelay-To-Remote: b@example.net\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: 192.0.2.9\r\n"
	    "X-MailRelay-ClientCertificate: \r\n"
	    "X-MailRelay-MailFromAuthIn: \r\n"
	    "X-MailRelay-MailFromAuthOut: \r\n"
	    "X-MailRelay-ForwardTo: \r\n"
	    "X-MailRelay-ForwardToAddress: \r\n"
	    "X-MailRelay-ClientAccountSelector: work\r\n"
	    "X-MailRelay-End: 1\r\n";
	struct envelope	 env;
	char		 err[256], group[16];
	unsigned int	 count;

	envelope_init(&env);
	T_EQ_INT(envelope_read(text6, strlen(text6), &env, err, sizeof(err)),
	    0);
	T_EQ_INT(env.format, 6);
	T_EQ_STR(env.client, "192.0.2.9");
	T_EQ_STR(env.forward_to, "example.net");
	T_EQ_STR(env.forward_to_address, "198.51.100.2:25");
	T_EQ_STR(env.selector, "");
	T_EQ_INT(envelope_split(&env, &count, group, sizeof(group)), 1);
	T_EQ_INT(count, 2);
	T_EQ_STR(group, "g1");
	T_EQ_INT(envelope_read(text7, strlen(text7), &env, err, sizeof(err)),
	    0);
	T_EQ_INT(env.format, 7);
	T_EQ_STR(env.selector, "work");
	T_EQ_INT(env.utf8, 0);
	T_EQ_INT(env.nlines, 0);
	envelope_free(&env);
}

TEST(envelope_read_interleaved_to)
{
	static const char text[] =
	    "X-MailRelay-Format: #2821.8\n"
	    "X-MailRelay-Content: 7bit\n"
	    "X-MailRelay-From: a@b\n"
	    "X-MailRelay-ToCount: 4\n"
	    "X-MailRelay-To-Remote: r1@x\n"
	    "X-MailRelay-To-Local: l1\n"
	    "X-MailRelay-To-Remote: r2@x\n"
	    "X-MailRelay-To-Local: l2\n"
	    "X-MailRelay-Authentication: \n"
	    "X-MailRelay-Client: \n"
	    "X-MailRelay-ClientCertificate: \n"
	    "X-MailRelay-MailFromAuthIn: \n"
	    "X-MailRelay-MailFromAuthOut: \n"
	    "X-MailRelay-ForwardTo: \n"
	    "X-MailRelay-ForwardToAddress: \n"
	    "X-MailRelay-ClientAccountSelector: \n"
	    "X-MailRelay-Utf8MailboxNames: 0\n"
	    "X-MailRelay-End: 1\n";
	struct envelope	 env;
	char		 err[256];

	envelope_init(&env);
	T_EQ_INT(envelope_read(text, strlen(text), &env, err, sizeof(err)),
	    0);
	T_EQ_INT(env.nto_local, 2);
	T_EQ_INT(env.nto_remote, 2);
	T_EQ_STR(env.to_local[1], "l2");
	T_EQ_STR(env.to_remote[1], "r2@x");
	envelope_free(&env);
}

TEST(envelope_read_malformed)
{
	char	*big, *lf;
	size_t	 i, n;
	char	 text[4096];

	T_ASSERT(read_fails("", 0, "empty"));
	T_ASSERT(read_fails("hello\r\n", 7, "not an envelope"));
	T_ASSERT(read_fails("X-MailRelay-Format: #2821.9\r\n", 29,
	    "unknown envelope format"));
	T_ASSERT(read_fails("X-MailRelay-Format: #2821.2\r\n", 29,
	    "unknown envelope format"));
	T_ASSERT(read_fails("X-MailRelay-Format: #2821.80\r\n", 30,
	    "unknown envelope format"));
	/* Cut after each line: always "missing" or "no End". */
	T_ASSERT(read_fails(full_text, strstr(full_text, "X-MailRelay-End") -
	    full_text, "no X-MailRelay-End line"));
	T_ASSERT(read_fails(full_text, strstr(full_text, "X-MailRelay-Client:")
	    - full_text, "missing X-MailRelay-Client"));
	T_ASSERT(read_fails(full_text, strstr(full_text, "X-MailRelay-From")
	    - full_text, "missing X-MailRelay-From"));
	T_ASSERT(read_fails(full_text, 40, "line 2: unexpected line"));
	/* A required #2821.8 field left out. */
	(void)snprintf(text, sizeof(text), "%.*s%s",
	    (int)(strstr(empty_text, "X-MailRelay-ForwardTo:") - empty_text),
	    empty_text, strstr(empty_text, "X-MailRelay-ForwardToAddress:"));
	T_ASSERT(read_fails(text, strlen(text),
	    "missing X-MailRelay-ForwardTo"));
	/* Out of order: From after ToCount. */
	T_ASSERT(read_fails(
	    "X-MailRelay-Format: #2821.8\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "X-MailRelay-ToCount: 0\r\n"
	    "X-MailRelay-From: a@b\r\n", SIZE_MAX, "missing X-MailRelay-From"));
	T_ASSERT(read_fails(
	    "X-MailRelay-Format: #2821.3\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "X-MailRelay-From: a@b\r\n"
	    "X-MailRelay-ToCount: 0\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: \r\n"
	    "X-MailRelay-MailFromAuthOut: \r\n"
	    "X-MailRelay-MailFromAuthIn: \r\n"
	    "X-MailRelay-End: 1\r\n", SIZE_MAX, "MailFromAuthIn out of order"));
	/* ToCount wrong or not a number. */
	T_ASSERT(read_fails(
	    "X-MailRelay-Format: #2821.3\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "X-MailRelay-From: a@b\r\n"
	    "X-MailRelay-ToCount: 2\r\n"
	    "X-MailRelay-To-Remote: c@d\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: \r\n"
	    "X-MailRelay-End: 1\r\n", SIZE_MAX, "To-Local or To-Remote"));
	T_ASSERT(read_fails(
	    "X-MailRelay-Format: #2821.3\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "X-MailRelay-From: a@b\r\n"
	    "X-MailRelay-ToCount: -1\r\n", SIZE_MAX, "bad ToCount"));
	T_ASSERT(read_fails(
	    "X-MailRelay-Format: #2821.3\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "X-MailRelay-From: a@b\r\n"
	    "X-MailRelay-ToCount: 10001\r\n", SIZE_MAX, "too many recipients"));
	/* An unknown line among the fields. */
	T_ASSERT(read_fails(
	    "X-MailRelay-Format: #2821.8\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "Subject: hello\r\n", SIZE_MAX, "line 3: unexpected line"));
	/* NUL byte and bare CR. */
	T_ASSERT(read_fails("X-MailRelay-Format: #2821.8\r\n\0", 30, "NUL"));
	T_ASSERT(read_fails("X-MailRelay-Format: #2821.8\rX", 29, "bare CR"));
	/* A field longer than ENVELOPE_FIELD_MAX. */
	n = 64 + ENVELOPE_FIELD_MAX;
	T_ASSERT((big = malloc(n + 64)) != NULL);
	i = (size_t)snprintf(big, n, "X-MailRelay-Format: #2821.3\n"
	    "X-MailRelay-Content: 7bit\nX-MailRelay-From: ");
	memset(big + i, 'a', ENVELOPE_FIELD_MAX);
	(void)strlcpy(big + i + ENVELOPE_FIELD_MAX, "\n", 2);
	T_ASSERT(read_fails(big, strlen(big), "From too long"));
	free(big);
	/* Larger than ENVELOPE_MAX_SIZE. */
	n = ENVELOPE_MAX_SIZE + 1;
	T_ASSERT((big = malloc(n)) != NULL);
	memcpy(big, full_text, strlen(full_text));
	memset(big + strlen(full_text), 'x', n - strlen(full_text));
	T_ASSERT(read_fails(big, n, "too large"));
	free(big);
	/* LF-only input keeps the same line numbers in errors. */
	T_ASSERT((lf = to_lf(full_text)) != NULL);
	T_ASSERT(read_fails(lf, strstr(lf, "X-MailRelay-End") - lf,
	    "no X-MailRelay-End"));
	free(lf);
}

TEST(envelope_read_failure_leaves_empty)
{
	struct envelope	 env;
	char		 err[256];

	T_EQ_INT(build_full(&env), 0);
	T_EQ_INT(envelope_read("junk", 4, &env, err, sizeof(err)), -1);
	T_EQ_INT(env.nto_remote, 0);
	T_EQ_INT(env.nlines, 0);
	T_ASSERT(env.client_cert == NULL);
	T_EQ_STR(env.from, "");
	envelope_free(&env);
}

TEST(envelope_reason_sanitised)
{
	struct envelope	 env, back;
	char		*buf, *p, err[256], reason[2048];
	size_t		 len, n, i;
	int		 code, ends;

	envelope_init(&env);
	/* A hostile reply must not inject a line. */
	T_EQ_INT(envelope_add_reason(&env, "550 no\r\nX-MailRelay-End: 1"
	    "\r\nX-MailRelay-To-Remote: evil@x\n\x01\x7f\xff tail  ", 550), 0);
	T_EQ_INT(env.nlines, 2);
	T_EQ_STR(env.lines[0].text, "X-MailRelay-Reason: 550 no "
	    "X-MailRelay-End: 1 X-MailRelay-To-Remote: evil@x ?? tail");
	T_EQ_STR(env.lines[1].text, "X-MailRelay-ReasonCode: 550");
	T_EQ_INT(envelope_write(&env, &buf, &len), 0);
	for (ends = 0, p = buf; (p = strstr(p, "\nX-MailRelay-End")) != NULL;
	    p++)
		ends++;
	T_EQ_INT(ends, 1);
	envelope_init(&back);
	T_EQ_INT(envelope_read(buf, len, &back, err, sizeof(err)), 0);
	free(buf);
	T_EQ_INT(back.nto_remote, 0);
	T_EQ_INT(back.nlines, 2);
	T_EQ_INT(envelope_reason(&back, reason, sizeof(reason), &code), 1);
	T_EQ_INT(code, 550);
	T_ASSERT(strncmp(reason, "550 no X-MailRelay-End", 22) == 0);
	envelope_free(&back);

	/* 100 KB of reply text: one bounded line of printable ASCII. */
	n = 100 * 1024;
	T_ASSERT((p = malloc(n + 1)) != NULL);
	for (i = 0; i < n; i++)
		p[i] = (i % 70 == 69) ? '\n' : (char)('a' + i % 26);
	p[n] = '\0';
	T_EQ_INT(envelope_add_reason(&env, p, 451), 0);
	free(p);
	T_EQ_INT(envelope_reason(&env, reason, sizeof(reason), &code), 1);
	T_EQ_INT(code, 451);
	T_EQ_INT(strlen(reason), ENVELOPE_REASON_MAX);
	for (i = 0; reason[i] != '\0'; i++)
		T_ASSERT(reason[i] >= 0x20 && reason[i] < 0x7f);
	T_ASSERT(reason[ENVELOPE_REASON_MAX - 1] != ' ');
	envelope_free(&env);
}

TEST(envelope_reason_sanitize_rules)
{
	char	 out[16];

	T_EQ_INT(envelope_reason_sanitize("  a\t\tb \r\n", 9, out,
	    sizeof(out)), 3);
	T_EQ_STR(out, "a b");
	T_EQ_INT(envelope_reason_sanitize("\xc3\xa9t\xc3\xa9", 6, out,
	    sizeof(out)), 5);
	T_EQ_STR(out, "??t??");
	/* Cut at outsz - 1, never ending in a space. */
	T_EQ_INT(envelope_reason_sanitize("0123456789abcd efgh", 19, out,
	    sizeof(out)), 14);
	T_EQ_STR(out, "0123456789abcd");
	T_EQ_INT(envelope_reason_sanitize("", 0, out, sizeof(out)), 0);
	T_EQ_STR(out, "");
}

TEST(envelope_reason_pairs)
{
	struct envelope	 env;
	char		 reason[64];
	int		 code, ok;

	envelope_init(&env);
	T_EQ_INT(envelope_reason(&env, reason, sizeof(reason), &code), 0);
	T_EQ_INT(envelope_add_reason(&env, "no remote recipients", 0), 0);
	T_EQ_INT(envelope_add_reason(&env, "one or more recipients rejected",
	    550), 0);
	T_EQ_INT(envelope_add_reason(&env, "connection refused", -1), 0);
	T_EQ_INT(env.nlines, 6);
	T_EQ_INT(envelope_reason(&env, reason, sizeof(reason), &code), 1);
	T_EQ_STR(reason, "connection refused");
	T_EQ_INT(code, 0);
	/* An empty ReasonCode keeps the space after the colon. */
	T_EQ_STR(env.lines[1].text, "X-MailRelay-ReasonCode: ");
	T_EQ_STR(env.lines[5].text, "X-MailRelay-ReasonCode: ");
	ok = write_equals(&env, "X-MailRelay-Format: #2821.8\r\n"
	    "X-MailRelay-Content: unknown\r\n"
	    "X-MailRelay-From: \r\n"
	    "X-MailRelay-ToCount: 0\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: \r\n"
	    "X-MailRelay-ClientCertificate: \r\n"
	    "X-MailRelay-MailFromAuthIn: \r\n"
	    "X-MailRelay-MailFromAuthOut: \r\n"
	    "X-MailRelay-ForwardTo: \r\n"
	    "X-MailRelay-ForwardToAddress: \r\n"
	    "X-MailRelay-ClientAccountSelector: \r\n"
	    "X-MailRelay-Utf8MailboxNames: 0\r\n"
	    "X-MailRelay-End: 1\r\n"
	    "X-MailRelay-Reason: no remote recipients\r\n"
	    "X-MailRelay-ReasonCode: \r\n"
	    "X-MailRelay-Reason: one or more recipients rejected\r\n"
	    "X-MailRelay-ReasonCode: 550\r\n"
	    "X-MailRelay-Reason: connection refused\r\n"
	    "X-MailRelay-ReasonCode: \r\n");
	envelope_free(&env);
	T_ASSERT(ok);
}

TEST(envelope_free_line_cap)
{
	struct envelope	 env;
	char		 reason[64];
	int		 i, code;

	envelope_init(&env);
	T_EQ_INT(envelope_add_reason(&env, "first", 421), 0);
	for (i = 0; i < ENVELOPE_FREE_MAX / 2 + 10; i++)
		T_EQ_INT(envelope_add_reason(&env, "again", 452), 0);
	T_ASSERT(env.nlines <= ENVELOPE_FREE_MAX);
	T_ASSERT(strstr(env.lines[0].text, "first") == NULL);
	T_EQ_INT(env.lines[0].kind, ENVELOPE_LINE_REASON);
	T_EQ_INT(env.lines[1].kind, ENVELOPE_LINE_REASONCODE);
	T_EQ_INT(envelope_reason(&env, reason, sizeof(reason), &code), 1);
	T_EQ_INT(code, 452);
	envelope_free(&env);
}

TEST(envelope_retry_count)
{
	struct envelope	 env, back;
	char		*buf, err[256];
	size_t		 len;

	envelope_init(&env);
	T_EQ_INT(envelope_retry_get(&env), 0);
	T_EQ_INT(envelope_add_reason(&env, "timeout", 0), 0);
	T_EQ_INT(envelope_retry_set(&env, 1), 0);
	T_EQ_INT(envelope_retry_get(&env), 1);
	T_EQ_INT(envelope_add_reason(&env, "timeout again", 0), 0);
	T_EQ_INT(envelope_retry_set(&env, 2), 0);
	/* Still one Retry line, rewritten in place. */
	T_EQ_INT(env.nlines, 5);
	T_EQ_STR(env.lines[2].text, "X-MailRelay-Retry: 2");
	T_EQ_INT(envelope_retry_set(&env, -1), -1);
	T_EQ_INT(envelope_write(&env, &buf, &len), 0);
	envelope_init(&back);
	T_EQ_INT(envelope_read(buf, len, &back, err, sizeof(err)), 0);
	free(buf);
	T_EQ_INT(envelope_retry_get(&back), 2);
	envelope_free(&back);
	envelope_free(&env);
}

TEST(envelope_split_lines)
{
	struct envelope	 env;
	char		 group[32];
	unsigned int	 count;

	envelope_init(&env);
	T_EQ_INT(envelope_split(&env, &count, group, sizeof(group)), 0);
	T_EQ_INT(count, 0);
	T_EQ_INT(envelope_set_split(&env, 3, "1700000000.1"), 0);
	T_EQ_INT(envelope_set_split(&env, 2, "1700000000.2"), 0);
	T_EQ_INT(env.nlines, 2);
	T_EQ_STR(env.lines[0].text, "X-MailRelay-SplitGroupCount: 2");
	T_EQ_STR(env.lines[1].text, "X-MailRelay-SplitGroup: 1700000000.2");
	T_EQ_INT(envelope_split(&env, &count, group, sizeof(group)), 1);
	T_EQ_INT(count, 2);
	T_EQ_STR(group, "1700000000.2");
	T_EQ_INT(envelope_set_split(&env, 1, "a\r\nb"), -1);
	envelope_free(&env);
}

TEST(envelope_rcpts)
{
	struct envelope	 env, back;
	char		 addr[32], *buf, err[256];
	size_t		 len;
	int		 i, ok;

	envelope_init(&env);
	T_EQ_INT(envelope_add_rcpt(&env, 0, "a@x"), 0);
	T_EQ_INT(envelope_add_rcpt(&env, 0, "b@x"), 0);
	T_EQ_INT(envelope_add_rcpt(&env, 0, "c@x"), 0);
	T_EQ_INT(envelope_add_rcpt(&env, 1, "local"), 0);
	T_EQ_INT(envelope_add_rcpt(&env, 0, "evil@x\r\nX-MailRelay-End: 1"),
	    -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_INT(envelope_remove_rcpt(&env, 0, 1), 0);
	T_EQ_INT(envelope_remove_rcpt(&env, 0, 5), -1);
	T_EQ_INT(env.nto_remote, 2);
	T_EQ_STR(env.to_remote[0], "a@x");
	T_EQ_STR(env.to_remote[1], "c@x");
	envelope_clear_rcpts(&env, 0);
	T_EQ_INT(env.nto_remote, 0);
	T_EQ_INT(env.nto_local, 1);
	T_EQ_INT(envelope_add_rcpt(&env, 0, "d@x"), 0);
	T_EQ_STR(env.to_remote[0], "d@x");
	envelope_clear_rcpts(&env, 1);
	T_EQ_INT(env.nto_local, 0);
	/* BOUNDS_RCPT in all. */
	for (i = 1; i < BOUNDS_RCPT; i++) {
		(void)snprintf(addr, sizeof(addr), "r%d@x", i);
		if (envelope_add_rcpt(&env, i % 2, addr) == -1)
			break;
	}
	T_EQ_INT(i, BOUNDS_RCPT);
	T_EQ_INT(envelope_add_rcpt(&env, 0, "one@more"), -1);
	T_EQ_INT(errno, E2BIG);
	T_EQ_INT(envelope_write(&env, &buf, &len), 0);
	envelope_init(&back);
	ok = envelope_read(buf, len, &back, err, sizeof(err)) == 0 &&
	    back.nto_local + back.nto_remote == BOUNDS_RCPT;
	free(buf);
	envelope_free(&back);
	envelope_free(&env);
	T_ASSERT(ok);
}

TEST(envelope_setters)
{
	struct envelope	 env;
	char		 big[ENVELOPE_FIELD_MAX + 1];

	envelope_init(&env);
	T_EQ_INT(envelope_set_from(&env, "a@b\r\nX-MailRelay-End: 1"), -1);
	T_EQ_STR(env.from, "");
	T_EQ_INT(envelope_set_forward_to(&env, "x\ty"), -1);
	T_EQ_INT(envelope_set_selector(&env, "sel"), 0);
	T_EQ_STR(env.selector, "sel");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	T_EQ_INT(envelope_set_client(&env, big), -1);
	big[ENVELOPE_FIELD_MAX - 1] = '\0';
	T_EQ_INT(envelope_set_client(&env, big), 0);
	T_EQ_INT(envelope_set_auth(&env, "user name+x"), 0);
	T_EQ_STR(env.auth, "user+20name+2Bx");
	T_EQ_INT(envelope_set_auth(&env, big), 0);
	memset(big, '+', ENVELOPE_FIELD_MAX - 1);
	T_EQ_INT(envelope_set_auth(&env, big), -1);
	T_EQ_INT(envelope_set_client_cert(&env, "\n  A\r\nB\r\n\r\n"), 0);
	T_EQ_STR(env.client_cert, "A\nB");
	T_EQ_INT(envelope_set_client_cert(&env, "A\x01"), -1);
	T_EQ_STR(env.client_cert, "A\nB");
	T_EQ_INT(envelope_set_client_cert(&env, ""), 0);
	T_ASSERT(env.client_cert == NULL);
	T_EQ_STR(envelope_body_name(ENVELOPE_BODY_BINARYMIME), "binarymime");
	envelope_free(&env);
}

TEST(envelope_write_rejects_injected)
{
	struct envelope	 env;
	char		*buf;
	size_t		 len;

	envelope_init(&env);
	/* Fields changed behind the setters' backs are still checked. */
	(void)strlcpy(env.forward_to, "x\r\nX-MailRelay-End: 1",
	    sizeof(env.forward_to));
	T_EQ_INT(envelope_write(&env, &buf, &len), -1);
	T_EQ_INT(errno, EINVAL);
	T_ASSERT(buf == NULL);
	envelope_free(&env);
}

TEST(envelope_copy_deep)
{
	struct envelope	 a, b;
	int		 ok;

	T_EQ_INT(build_full(&a), 0);
	envelope_init(&b);
	T_EQ_INT(envelope_copy(&b, &a), 0);
	envelope_free(&a);
	ok = write_equals(&b, full_text);
	envelope_free(&b);
	T_ASSERT(ok);
}

TEST(envelope_cert_continuation)
{
	static const char text[] =
	    "X-MailRelay-Format: #2821.8\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "X-MailRelay-From: \r\n"
	    "X-MailRelay-ToCount: 0\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: \r\n"
	    "X-MailRelay-ClientCertificate: line1\r\n"
	    " line2\r\n"
	    "  indented\r\n"
	    " \r\n"
	    " line5\r\n"
	    "X-MailRelay-MailFromAuthIn: \r\n"
	    "X-MailRelay-MailFromAuthOut: \r\n"
	    "X-MailRelay-ForwardTo: \r\n"
	    "X-MailRelay-ForwardToAddress: \r\n"
	    "X-MailRelay-ClientAccountSelector: \r\n"
	    "X-MailRelay-Utf8MailboxNames: 0\r\n"
	    "X-MailRelay-End: 1\r\n";
	struct envelope	 env;
	char		 err[256];
	int		 ok;

	envelope_init(&env);
	T_EQ_INT(envelope_read(text, strlen(text), &env, err, sizeof(err)),
	    0);
	T_EQ_STR(env.client_cert, "line1\nline2\n indented\n\nline5");
	ok = write_equals(&env, text);
	envelope_free(&env);
	T_ASSERT(ok);
}
