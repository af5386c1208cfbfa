/*
 * Secrets files (SPEC 7): every type and legacy name, comments, errors
 * with file and line, lookups, trusted-address wildcards, the mechanism
 * list, --client-auth plain:B64:B64, reading a file with its size cap.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "md5.h"
#include "secrets.h"
#include "t.h"

#define PW123_B64	"9N2IRYVXqu7SkOW1Xat+wpR9NbA2R6fb61XlmqW+46E="
#define PW123_DOTTED	"1166597620.4004140933.3051720914.3263081309." \
			"2956295572.3685173046.2598721003.2716057253"

static struct secrets *
parse(const char *text, char *err, size_t errsz)
{
	err[0] = '\0';
	return (secrets_parse(text, strlen(text), "auth.txt", err, errsz));
}

/* Expect text to fail with exactly msg. */
static int
bad(const char *text, const char *msg)
{
	struct secrets	*sec;
	char		 err[256];

	if ((sec = parse(text, err, sizeof(err))) != NULL) {
		secrets_free(sec);
		printf("accepted: %s\n", text);
		return (0);
	}
	if (strcmp(err, msg) != 0) {
		printf("got \"%s\" for %s\n", err, text);
		return (0);
	}
	return (1);
}

/* Expect text to parse. */
static int
good(const char *text)
{
	struct secrets	*sec;
	char		 err[256];

	if ((sec = parse(text, err, sizeof(err))) == NULL) {
		printf("refused: %s: %s\n", text, err);
		return (0);
	}
	secrets_free(sec);
	return (1);
}

TEST(secrets_plain_xtext)
{
	struct secrets		*sec;
	const struct secret	*s;
	char			 err[256];

	sec = parse("server plain alice s+3Dcr+2Bt\n"
	    "server login bob+40example.com pw2\n", err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_INT(sec->n, 2);
	s = secrets_server_lookup(sec, SECRET_PLAIN, "alice", 5);
	T_ASSERT(s != NULL);
	T_EQ_INT(s->secretlen, 6);
	T_EQ_STR((const char *)s->secret, "s=cr+t");
	T_EQ_INT(s->lineno, 1);
	T_EQ_STR(s->selector, "");
	/* login is plain; the id is xtext-decoded. */
	s = secrets_server_lookup(sec, SECRET_PLAIN, "bob@example.com", 15);
	T_ASSERT(s != NULL);
	T_EQ_INT(s->kind, SECRET_PLAIN);
	T_EQ_STR((const char *)s->secret, "pw2");
	T_EQ_INT(s->lineno, 2);
	/* Exact matches only, and no md5 secret here. */
	T_ASSERT(secrets_server_lookup(sec, SECRET_PLAIN, "Alice", 5) == NULL);
	T_ASSERT(secrets_server_lookup(sec, SECRET_PLAIN, "alic", 4) == NULL);
	T_ASSERT(secrets_server_lookup(sec, SECRET_MD5, "alice", 5) == NULL);
	T_ASSERT(secrets_client_lookup(sec, NULL) == NULL);
	T_EQ_STR(secrets_server_mechs(sec),
	    "CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN LOGIN");
	secrets_free(sec);
}

TEST(secrets_plain_base64)
{
	struct secrets		*sec;
	const struct secret	*s;
	char			 err[256];

	sec = parse("client plain:b YWxpY2U= cDRzcyB3b3Jk\n", err,
	    sizeof(err));
	T_ASSERT(sec != NULL);
	s = secrets_client_lookup(sec, NULL);
	T_ASSERT(s != NULL);
	T_EQ_INT(s->kind, SECRET_PLAIN);
	T_EQ_STR(s->id, "alice");
	T_EQ_STR((const char *)s->secret, "p4ss word");
	T_EQ_INT(s->secretlen, 9);
	T_ASSERT(secrets_client_lookup(sec, "") == s);
	T_ASSERT(secrets_client_lookup(sec, "other") == NULL);
	/* No server secrets: nothing to offer. */
	T_EQ_STR(secrets_server_mechs(sec), "");
	secrets_free(sec);
	T_ASSERT(bad("client plain:b YWxpY cDRz\n",
	    "auth.txt:1: invalid base64 id"));
	/* Padding may be left out, as E-MailRelay allows. */
	sec = parse("client plain:b YWxpY2U cDRzcyB3b3Jk\n", err,
	    sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_STR(secrets_client_lookup(sec, NULL)->id, "alice");
	secrets_free(sec);
	T_ASSERT(bad("client plain:b YWxpY2U= cDRz!\n",
	    "auth.txt:1: invalid base64 secret"));
}

TEST(secrets_md5_forms)
{
	struct secrets		*sec;
	const struct secret	*s1, *s2, *s3, *s4;
	unsigned char		 want[32], d[16], e[16];
	char			 err[256];
	const char		*ch = "<1.2@relay.test>";

	sec = parse("server md5 alice " PW123_B64 "\n"
	    "server cram-md5 bob " PW123_DOTTED "\n"
	    "server apop carol " PW123_B64 "\n"
	    "client md5 dave " PW123_B64 "\n", err, sizeof(err));
	T_ASSERT(sec != NULL);
	md5_hmac_state("password123", 11, want);
	s1 = secrets_server_lookup(sec, SECRET_MD5, "alice", 5);
	s2 = secrets_server_lookup(sec, SECRET_MD5, "bob", 3);
	s3 = secrets_server_lookup(sec, SECRET_MD5, "carol", 5);
	s4 = secrets_client_lookup(sec, NULL);
	T_ASSERT(s1 != NULL && s2 != NULL && s3 != NULL && s4 != NULL);
	T_EQ_INT(s1->secretlen, 32);
	T_EQ_INT(s2->secretlen, 32);
	T_EQ_INT(s4->kind, SECRET_MD5);
	/* Both forms give the same little-endian state bytes. */
	T_ASSERT(memcmp(s1->secret, want, 32) == 0);
	T_ASSERT(memcmp(s2->secret, want, 32) == 0);
	T_ASSERT(memcmp(s3->secret, want, 32) == 0);
	/* A CRAM-MD5 response computed from the password verifies. */
	md5_hmac("password123", 11, ch, strlen(ch), e);
	md5_hmac_from_state(s2->secret, ch, strlen(ch), d);
	T_ASSERT(memcmp(d, e, 16) == 0);
	T_ASSERT(secrets_server_lookup(sec, SECRET_PLAIN, "alice", 5) ==
	    NULL);
	/* md5 secrets only: CRAM-MD5 only. */
	T_EQ_STR(secrets_server_mechs(sec), "CRAM-MD5");
	secrets_free(sec);

	T_ASSERT(bad("server md5 alice 9N2IRYVXqu7SkOW1Xat+wpR9NbA2R6fb\n",
	    "auth.txt:1: invalid md5 secret: need 44 base64 characters or "
	    "eight dotted decimal numbers"));
	T_ASSERT(bad("\nserver md5 a 1.2.3.4.5.6.7\n",
	    "auth.txt:2: invalid md5 secret: need 44 base64 characters or "
	    "eight dotted decimal numbers"));
	T_ASSERT(good("server md5 a 1.2.3.4.5.6.7.4294967295\n"));
	T_ASSERT(bad("server md5 a 1.2.3.4.5.6.7.4294967296\n",
	    "auth.txt:1: invalid md5 secret: need 44 base64 characters or "
	    "eight dotted decimal numbers"));
	T_ASSERT(bad("server md5 a 1.2.3.4.5.6.7.8.9\n",
	    "auth.txt:1: invalid md5 secret: need 44 base64 characters or "
	    "eight dotted decimal numbers"));
	T_ASSERT(bad("server md5 a 1..3.4.5.6.7.8\n",
	    "auth.txt:1: invalid md5 secret: need 44 base64 characters or "
	    "eight dotted decimal numbers"));
	T_ASSERT(bad("server md5 a -1.2.3.4.5.6.7.8\n",
	    "auth.txt:1: invalid md5 secret: need 44 base64 characters or "
	    "eight dotted decimal numbers"));
	T_ASSERT(bad("server md5 a plaintext\n",
	    "auth.txt:1: invalid md5 secret: need 44 base64 characters or "
	    "eight dotted decimal numbers"));
}

TEST(secrets_dotted_byte_order)
{
	struct secrets		*sec;
	const struct secret	*s;
	char			 err[256];

	sec = parse("server md5 a 1.256.0.0.0.0.0.4294967295\n", err,
	    sizeof(err));
	T_ASSERT(sec != NULL);
	s = secrets_server_lookup(sec, SECRET_MD5, "a", 1);
	T_ASSERT(s != NULL);
	T_ASSERT(memcmp(s->secret, "\1\0\0\0\0\1\0\0", 8) == 0);
	T_ASSERT(memcmp(s->secret + 28, "\xff\xff\xff\xff", 4) == 0);
	secrets_free(sec);
}

TEST(secrets_mixed_mechs)
{
	struct secrets	*sec;
	char		 err[256];

	sec = parse("server md5 a " PW123_B64 "\nserver plain b c\n", err,
	    sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_STR(secrets_server_mechs(sec),
	    "CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN LOGIN");
	T_EQ_INT(sec->nserver_plain, 1);
	T_EQ_INT(sec->nserver_md5, 1);
	secrets_free(sec);
	T_EQ_STR(secrets_server_mechs(NULL), "");
}

TEST(secrets_oauth)
{
	struct secrets		*sec;
	const struct secret	*s;
	char			 err[256];
	const char		*resp =
	    "user=bob@example.com\001auth=Bearer ya29.tok\001\001";

	sec = parse("client oauth bob+40example.com "
	    "dXNlcj1ib2JAZXhhbXBsZS5jb20BYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ== "
	    "gmail\n"
	    "client oauth:b me@example.onmicrosoft.com "
	    "dXNlcj1ib2JAZXhhbXBsZS5jb20BYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ== "
	    "ms365\n", err, sizeof(err));
	T_ASSERT(sec != NULL);
	s = secrets_client_lookup(sec, "gmail");
	T_ASSERT(s != NULL);
	T_EQ_INT(s->kind, SECRET_OAUTH);
	T_EQ_STR(s->id, "bob@example.com");
	T_EQ_INT(s->secretlen, strlen(resp));
	T_EQ_STR((const char *)s->secret, resp);
	s = secrets_client_lookup(sec, "ms365");
	T_ASSERT(s != NULL);
	T_EQ_STR(s->id, "me@example.onmicrosoft.com");
	T_ASSERT(secrets_client_lookup(sec, NULL) == NULL);
	secrets_free(sec);
	T_ASSERT(bad("server oauth bob Ym9i\n",
	    "auth.txt:1: oauth secrets are for client lines only"));
	T_ASSERT(bad("client oauth bob token-not-base64!\n",
	    "auth.txt:1: invalid base64 secret"));
}

TEST(secrets_selectors_and_none)
{
	struct secrets		*sec;
	const struct secret	*s;
	char			 err[256];

	sec = parse("client plain alice pw1\n"
	    "client plain bob pw2 relay2\n"
	    "client plain = = local\n"
	    "client plain carol pw3 relay2\n", err, sizeof(err));
	T_ASSERT(sec != NULL);
	s = secrets_client_lookup(sec, NULL);
	T_ASSERT(s != NULL);
	T_EQ_STR(s->id, "alice");
	/* The first line with the selector wins. */
	s = secrets_client_lookup(sec, "relay2");
	T_ASSERT(s != NULL);
	T_EQ_STR(s->id, "bob");
	T_EQ_STR(s->selector, "relay2");
	s = secrets_client_lookup(sec, "local");
	T_ASSERT(s != NULL);
	T_EQ_INT(s->kind, SECRET_NONE);
	T_EQ_STR(s->id, "");
	T_ASSERT(secrets_client_lookup(sec, "nope") == NULL);
	secrets_free(sec);
	/* "=" is special only as both id and secret of a client line. */
	T_ASSERT(bad("client plain = pw\n", "auth.txt:1: invalid xtext id"));
	T_ASSERT(bad("server plain = =\n", "auth.txt:1: invalid xtext id"));
	T_ASSERT(bad("client none 1.2.3.4 kw\n",
	    "auth.txt:1: \"none\" is for server lines only"));
}

TEST(secrets_comments)
{
	struct secrets		*sec;
	const struct secret	*s;
	char			 err[256];

	sec = parse("# a comment\n"
	    "   # indented comment with   fields  a b c d e f\n"
	    "\n"
	    "  \t \r\n"
	    "#server plain skipped pw\n"
	    "server plain alice pw # a comment, not a selector\n"
	    "client plain bob pw sel # trailing comment\n"
	    "client plain carol pw #sel\r\n"
	    "\tSERVER\tPLAIN\tdan\tpw#x\n", err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_INT(sec->n, 4);
	T_ASSERT(secrets_server_lookup(sec, SECRET_PLAIN, "skipped", 7) ==
	    NULL);
	s = secrets_server_lookup(sec, SECRET_PLAIN, "alice", 5);
	T_ASSERT(s != NULL);
	T_EQ_STR(s->selector, "");
	T_EQ_INT(s->lineno, 6);
	s = secrets_client_lookup(sec, "sel");
	T_ASSERT(s != NULL);
	T_EQ_STR(s->id, "bob");
	s = secrets_client_lookup(sec, NULL);
	T_ASSERT(s != NULL);
	T_EQ_STR(s->id, "carol");
	T_EQ_STR((const char *)s->secret, "pw");
	/* Case-insensitive names; '#' inside the secret is data. */
	s = secrets_server_lookup(sec, SECRET_PLAIN, "dan", 3);
	T_ASSERT(s != NULL);
	T_EQ_STR((const char *)s->secret, "pw#x");
	secrets_free(sec);

	/* An empty file and a file of comments hold nothing. */
	sec = parse("", err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_INT(sec->n, 0);
	T_ASSERT(secrets_trusted(sec, "127.0.0.1") == NULL);
	secrets_free(sec);
}

TEST(secrets_errors_name_file_and_line)
{
	struct secrets	*sec;
	char		 err[256];

	T_ASSERT(bad("server plain alice\n", "auth.txt:1: too few fields"));
	T_ASSERT(bad("# c\n\nserver plain a b sel extra\n",
	    "auth.txt:3: too many fields"));
	T_ASSERT(bad("both plain a b\n",
	    "auth.txt:1: first field must be \"client\" or \"server\""));
	T_ASSERT(bad("server sha1 a b\n", "auth.txt:1: unknown secret type"));
	T_ASSERT(bad("server plain:x a b\n",
	    "auth.txt:1: unknown secret type"));
	T_ASSERT(bad("server plain a+4 b\n", "auth.txt:1: invalid xtext id"));
	T_ASSERT(bad("server plain a b+zz\n",
	    "auth.txt:1: invalid xtext secret"));
	T_ASSERT(bad("server plain a+00b c\n", "auth.txt:1: invalid id"));
	T_ASSERT(bad("server plain a b\001\n",
	    "auth.txt:1: invalid character"));
	sec = secrets_parse("server plain a b\nserver plain a\0b c\n", 35,
	    "auth.txt", err, sizeof(err));
	T_ASSERT(sec == NULL);
	T_EQ_STR(err, "auth.txt:2: invalid character");
	T_ASSERT(bad("server plain a b\r\r\n",
	    "auth.txt:1: invalid character"));
	/* The last line needs no newline. */
	T_ASSERT(bad("server plain a b\nserver plain a",
	    "auth.txt:2: too few fields"));
}

TEST(secrets_trusted_wildcards)
{
	char	 w[SECRETS_WILDCARD_MAX][SECRETS_WILDCARD_LEN];
	int	 n;

	n = secrets_wildcards("192.168.0.5", w, SECRETS_WILDCARD_MAX);
	T_EQ_INT(n, 38);
	T_EQ_STR(w[0], "192.168.0.5");
	T_EQ_STR(w[1], "192.168.0.5/32");
	T_EQ_STR(w[2], "192.168.0.4/31");
	T_EQ_STR(w[9], "192.168.0.0/24");
	T_EQ_STR(w[10], "192.168.0.*");
	T_EQ_STR(w[17], "192.168.0.0/17");
	T_EQ_STR(w[18], "192.168.0.0/16");
	T_EQ_STR(w[19], "192.168.*.*");
	T_EQ_STR(w[20], "192.168.0.0/15");
	T_EQ_STR(w[26], "192.128.0.0/9");
	T_EQ_STR(w[27], "192.0.0.0/8");
	T_EQ_STR(w[28], "192.*.*.*");
	T_EQ_STR(w[29], "192.0.0.0/7");
	T_EQ_STR(w[35], "128.0.0.0/1");
	T_EQ_STR(w[36], "0.0.0.0/0");
	T_EQ_STR(w[37], "*.*.*.*");
	n = secrets_wildcards("fe80::1:2%eth0", w, SECRETS_WILDCARD_MAX);
	T_EQ_INT(n, 130);
	T_EQ_STR(w[0], "fe80::1:2");
	T_EQ_STR(w[1], "fe80::1:2/128");
	T_EQ_STR(w[2], "fe80::1:2/127");
	T_EQ_STR(w[3], "fe80::1:0/126");
	T_EQ_STR(w[1 + 64], "fe80::/64");
	T_EQ_STR(w[1 + 128 - 10], "fe80::/10");
	T_EQ_STR(w[1 + 128 - 9], "fe80::/9");
	T_EQ_STR(w[1 + 128 - 8], "fe00::/8");
	T_EQ_STR(w[129], "::/0");
	/* IPv4-mapped counts as IPv4; upper case and zeros are canonical. */
	n = secrets_wildcards("::ffff:10.1.2.3", w, SECRETS_WILDCARD_MAX);
	T_EQ_INT(n, 38);
	T_EQ_STR(w[0], "10.1.2.3");
	n = secrets_wildcards("2001:DB8:0:0::1", w, SECRETS_WILDCARD_MAX);
	T_EQ_STR(w[0], "2001:db8::1");
	T_EQ_INT(secrets_wildcards("not-an-ip", w, SECRETS_WILDCARD_MAX), -1);
	T_EQ_INT(secrets_wildcards("", w, SECRETS_WILDCARD_MAX), -1);
	T_EQ_INT(secrets_wildcards("1.2.3.4%eth0", w, SECRETS_WILDCARD_MAX),
	    -1);
	T_EQ_INT(secrets_wildcards("1.2.3.4", w, 37), -1);
	T_EQ_INT(secrets_wildcards("::1", w, 129), -1);
}

TEST(secrets_trusted_lookup)
{
	struct secrets	*sec;
	char		 err[256];

	sec = parse("server none 192.168.0.* lan\n"
	    "server none 192.168.0.5 host5\n"
	    "server none 10.0.0.0/8 ten\n"
	    "server none 172.16.*.* private\n"
	    "server none fe80::/64 linklocal\n"
	    "server none 2001:db8::7 v6host\n"
	    "server none 127.0.0.1 localhost-trusted\n"
	    "server plain alice pw\n", err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_INT(sec->nserver_none, 7);
	/* The most specific pattern wins, whatever the line order. */
	T_EQ_STR(secrets_trusted(sec, "192.168.0.5"), "host5");
	T_EQ_STR(secrets_trusted(sec, "192.168.0.6"), "lan");
	T_ASSERT(secrets_trusted(sec, "192.168.1.5") == NULL);
	T_EQ_STR(secrets_trusted(sec, "10.200.3.4"), "ten");
	T_ASSERT(secrets_trusted(sec, "11.0.0.1") == NULL);
	T_EQ_STR(secrets_trusted(sec, "172.16.99.1"), "private");
	T_EQ_STR(secrets_trusted(sec, "fe80::1234:5678%eth0"), "linklocal");
	T_ASSERT(secrets_trusted(sec, "fe80:0:0:1::1") == NULL);
	T_EQ_STR(secrets_trusted(sec, "2001:DB8::7"), "v6host");
	T_EQ_STR(secrets_trusted(sec, "::ffff:127.0.0.1"),
	    "localhost-trusted");
	T_ASSERT(secrets_trusted(sec, "garbage") == NULL);
	/* none lines are not passwords. */
	T_ASSERT(secrets_server_lookup(sec, SECRET_PLAIN, "192.168.0.*",
	    11) == NULL);
	secrets_free(sec);

	/* A non-canonical CIDR pattern never matches. */
	sec = parse("server none 192.168.0.5/24 x\n", err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_ASSERT(secrets_trusted(sec, "192.168.0.5") == NULL);
	secrets_free(sec);
	/* Everyone. */
	sec = parse("server none *.*.*.* all\n", err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_STR(secrets_trusted(sec, "203.0.113.9"), "all");
	T_ASSERT(secrets_trusted(sec, "2001:db8::1") == NULL);
	secrets_free(sec);
}

TEST(secrets_client_auth_inline_form)
{
	struct secrets		*sec;
	const struct secret	*s;
	char			 err[256];

	T_ASSERT(secrets_client_auth_inline("plain:YQ==:Yg=="));
	T_ASSERT(secrets_client_auth_inline("PLAIN:YQ==:Yg=="));
	T_ASSERT(!secrets_client_auth_inline("/etc/emailrelay.auth"));
	sec = secrets_client_auth("plain:YWxpY2U=:cDRzcyB3b3Jk", err,
	    sizeof(err));
	T_ASSERT(sec != NULL);
	s = secrets_client_lookup(sec, NULL);
	T_ASSERT(s != NULL);
	T_EQ_INT(s->kind, SECRET_PLAIN);
	T_EQ_INT(s->side, SECRETS_CLIENT);
	T_EQ_STR(s->id, "alice");
	T_EQ_STR((const char *)s->secret, "p4ss word");
	T_EQ_INT(s->lineno, 0);
	secrets_free(sec);
	/* An empty password is allowed, an empty id not. */
	sec = secrets_client_auth("plain:YWxpY2U=:", err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_INT(secrets_client_lookup(sec, NULL)->secretlen, 0);
	secrets_free(sec);
	T_ASSERT(secrets_client_auth("plain::cDRz", err, sizeof(err)) ==
	    NULL);
	T_EQ_STR(err, "--client-auth: invalid base64 id");
	T_ASSERT(secrets_client_auth("plain:YWxpY2U=", err, sizeof(err)) ==
	    NULL);
	T_EQ_STR(err, "--client-auth: expected plain:<base64 id>:"
	    "<base64 password>");
	T_ASSERT(secrets_client_auth("plain:YWxpY2U=:cDRz!", err,
	    sizeof(err)) == NULL);
	T_EQ_STR(err, "--client-auth: invalid base64 password");
	/* SPEC 13's value, written without padding. */
	sec = secrets_client_auth("plain:YWxpY2VAZ21haWwuY29t:UGFzc3cwcmQ",
	    err, sizeof(err));
	T_ASSERT(sec != NULL);
	s = secrets_client_lookup(sec, NULL);
	T_EQ_STR(s->id, "alice@gmail.com");
	T_EQ_INT(s->secretlen, 8);
	T_ASSERT(memcmp(s->secret, "Passw0rd", 8) == 0);
	secrets_free(sec);
}

TEST(secrets_read_file)
{
	struct secrets	*sec;
	char		 path[512], err[512], want[600], tmpl[7];
	const char	*text = "server plain alice pw\n", *dir;
	char		*big;
	int		 fd, r;

	if ((dir = getenv("TMPDIR")) == NULL || dir[0] == '\0')
		dir = "/tmp";
	/* mkstemp(3)'s six template letters, spelled out. */
	memset(tmpl, 'X', 6);
	tmpl[6] = '\0';
	r = snprintf(path, sizeof(path), "%s/t_secrets.%s", dir, tmpl);
	T_ASSERT(r > 0 && (size_t)r < sizeof(path));
	T_ASSERT((fd = mkstemp(path)) != -1);
	T_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	sec = secrets_read(path, err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_ASSERT(secrets_server_lookup(sec, SECRET_PLAIN, "alice", 5) !=
	    NULL);
	secrets_free(sec);
	/* From a descriptor, at its offset. */
	T_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	sec = secrets_read_fd(fd, "fd-name", err, sizeof(err));
	T_ASSERT(sec != NULL);
	T_EQ_INT(sec->n, 1);
	secrets_free(sec);
	/* Errors name the path and the line. */
	T_ASSERT(write(fd, "server bogus a b\n", 17) == 17);
	T_ASSERT(secrets_read(path, err, sizeof(err)) == NULL);
	(void)snprintf(want, sizeof(want), "%s:2: unknown secret type", path);
	T_EQ_STR(err, want);
	/* One byte over the cap. */
	T_ASSERT(ftruncate(fd, 0) == 0);
	T_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	T_ASSERT((big = malloc(SECRETS_FILE_MAX + 1)) != NULL);
	memset(big, '\n', SECRETS_FILE_MAX + 1);
	T_ASSERT(write(fd, big, SECRETS_FILE_MAX + 1) ==
	    SECRETS_FILE_MAX + 1);
	free(big);
	T_ASSERT(secrets_read(path, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, ": file too large") != NULL);
	T_ASSERT(ftruncate(fd, SECRETS_FILE_MAX) == 0);
	sec = secrets_read(path, err, sizeof(err));
	T_ASSERT(sec != NULL);
	secrets_free(sec);
	(void)close(fd);
	(void)unlink(path);
	T_ASSERT(secrets_read(path, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "No such file or directory") != NULL);
	T_ASSERT(secrets_read(dir, err, sizeof(err)) == NULL);
	(void)snprintf(want, sizeof(want), "%s: not a regular file", dir);
	T_EQ_STR(err, want);
}

TEST(secrets_kind_names)
{
	T_EQ_STR(secrets_kind_name(SECRET_PLAIN), "plain");
	T_EQ_STR(secrets_kind_name(SECRET_MD5), "md5");
	T_EQ_STR(secrets_kind_name(SECRET_OAUTH), "oauth");
	T_EQ_STR(secrets_kind_name(SECRET_NONE), "none");
}
