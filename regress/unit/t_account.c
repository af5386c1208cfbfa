/*
 * lookup/account.c: the account: verifier of SPEC 6.5.  Option parsing
 * and its errors; the three modes for accounts, non-accounts and other
 * domains; lowercase, quoting, the uid range, root; hostile local parts
 * and GECOS fields; database errors.  A table stands in for the password
 * database.
 */
#include <sys/types.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "filter_result.h"
#include "lookup/account.h"
#include "t.h"

struct fake_pw {
	const char	*name;
	uid_t		 uid;
	const char	*gecos;
	int		 error;		/* returned instead of an entry */
	const char	*real_name;	/* pw_name returned, if not name */
};

static const struct fake_pw fake_db[] = {
	{ "alice", 1000, "Alice Example,Room 1,,", 0, NULL },
	{ "bob", 32767, "", 0, NULL },
	{ "carol", 1500, NULL, 0, NULL },
	{ "Dave", 2000, "Dave Upper", 0, NULL },
	{ "root", 0, "root", 0, NULL },
	{ "toor", 0, "root again", 0, NULL },
	{ "daemon", 1, "daemon", 0, NULL },
	{ "nobody", 65534, "nobody", 0, NULL },
	{ "big", 32768, "Big", 0, NULL },
	{ "low", 999, "Low", 0, NULL },
	{ "eve", 1001, "\xc3\x88ve\tE\033[2J", 0, NULL },
	{ "mallory", 1002, "Mal\nalice\n", 0, NULL },
	{ "ldap.user", 1003, "L", 0, NULL },
	{ "broken", 0, NULL, EIO, NULL },
	{ "huge", 0, NULL, ERANGE, NULL },
	{ "gone", 0, NULL, ENOENT, NULL },
	{ "folded", 1004, "F", 0, "FOLDED" },
};

static char	 fake_last[128];	/* the last name looked up */
static int	 fake_calls;

static int	 fake_getpw(const char *, struct passwd *, char *, size_t,
		    struct passwd **);
static void	 conf(struct account_conf *, const char *);

static int
fake_getpw(const char *name, struct passwd *pw, char *buf, size_t bufsz,
    struct passwd **result)
{
	size_t	 i;

	fake_calls++;
	(void)snprintf(fake_last, sizeof(fake_last), "%s", name);
	*result = NULL;
	for (i = 0; i < sizeof(fake_db) / sizeof(fake_db[0]); i++) {
		if (strcmp(fake_db[i].name, name) != 0)
			continue;
		if (fake_db[i].error != 0)
			return (fake_db[i].error);
		memset(pw, 0, sizeof(*pw));
		(void)snprintf(buf, bufsz, "%s", fake_db[i].real_name ?
		    fake_db[i].real_name : fake_db[i].name);
		pw->pw_name = buf;
		pw->pw_passwd = (char *)"x";
		pw->pw_uid = fake_db[i].uid;
		pw->pw_gid = 100;
		pw->pw_gecos = (char *)fake_db[i].gecos;
		pw->pw_dir = (char *)"/home";
		pw->pw_shell = (char *)"/bin/sh";
		*result = pw;
		return (0);
	}
	return (0);
}

static void
conf(struct account_conf *c, const char *opts)
{
	char	 err[256];

	if (account_parse(opts, c, err, sizeof(err)) == -1) {
		fprintf(stderr, "account_parse(%s): %s\n", opts, err);
		memset(c, 0, sizeof(*c));
		c->uid_lo = 1;
		c->uid_hi = 0;	/* accepts nothing: the test fails */
	}
	c->getpw = fake_getpw;
}

TEST(t_account_parse)
{
	struct account_conf	 c;
	char			 err[256];

	T_EQ_INT(account_parse(NULL, &c, err, sizeof(err)), 0);
	T_EQ_INT(c.uid_lo, 1000);
	T_EQ_INT(c.uid_hi, 32767);
	T_EQ_INT(c.lowercase, 0);
	T_EQ_INT(c.mode, ACCOUNT_LOCAL);
	T_ASSERT(c.getpw == NULL);
	T_EQ_INT(account_parse("", &c, err, sizeof(err)), 0);
	T_EQ_INT(c.uid_lo, ACCOUNT_UID_LO);

	T_EQ_INT(account_parse("1000-1002;lowercase", &c, err, sizeof(err)),
	    0);
	T_EQ_INT(c.uid_lo, 1000);
	T_EQ_INT(c.uid_hi, 1002);
	T_EQ_INT(c.lowercase, 1);
	T_EQ_INT(account_parse(" check , 5-5 ;; ", &c, err, sizeof(err)), 0);
	T_EQ_INT(c.mode, ACCOUNT_CHECK);
	T_EQ_INT(c.uid_lo, 5);
	T_EQ_INT(c.uid_hi, 5);
	T_EQ_INT(account_parse("remote", &c, err, sizeof(err)), 0);
	T_EQ_INT(c.mode, ACCOUNT_REMOTE);
	T_EQ_INT(account_parse("0-4294967295", &c, err, sizeof(err)), 0);
	T_EQ_INT(c.uid_hi, 4294967295U);

	T_EQ_INT(account_parse("lowercas", &c, err, sizeof(err)), -1);
	T_EQ_STR(err, "unknown account: option \"lowercas\" (lowercase, "
	    "check, remote or a uid range)");
	T_EQ_INT(account_parse("Check", &c, err, sizeof(err)), -1);
	T_EQ_INT(account_parse("5-1", &c, err, sizeof(err)), -1);
	T_EQ_STR(err, "invalid account: uid range \"5-1\" (<lo>-<hi>, lo not "
	    "above hi)");
	T_EQ_INT(account_parse("a-b", &c, err, sizeof(err)), -1);
	T_EQ_INT(account_parse("-5", &c, err, sizeof(err)), -1);
	T_EQ_INT(account_parse("1000-", &c, err, sizeof(err)), -1);
	T_EQ_INT(account_parse("1000 - 2000", &c, err, sizeof(err)), -1);
	T_EQ_INT(account_parse("1-2-3", &c, err, sizeof(err)), -1);
	T_EQ_INT(account_parse("0-4294967296", &c, err, sizeof(err)), -1);
	T_EQ_INT(account_parse("1-99999999999", &c, err, sizeof(err)), -1);
	T_EQ_INT(account_parse("1-2;3-4", &c, err, sizeof(err)), -1);
	T_EQ_STR(err, "account: uid range given twice");
	T_EQ_INT(account_parse("check;remote", &c, err, sizeof(err)), -1);
	T_EQ_STR(err, "account: check and remote cannot be combined");

	/* A small error buffer is cut, never overrun. */
	memset(err, 'x', sizeof(err));
	T_EQ_INT(account_parse("5-1", &c, err, 8), -1);
	T_EQ_STR(err, "invalid");
	T_EQ_INT(err[8], 'x');
}

TEST(t_account_local)
{
	struct account_conf	 c;
	struct verify_outcome	 o;

	conf(&c, "");
	account_verify(&c, "alice@relay.example.com", "relay.example.com",
	    &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_INT(o.code, 250);
	T_EQ_STR(o.mailbox, "alice");
	T_EQ_STR(o.fullname, "Alice Example");

	/* The domain in any case; both ends of the default range. */
	account_verify(&c, "bob@RELAY.Example.COM", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.mailbox, "bob");
	T_EQ_STR(o.fullname, "");
	account_verify(&c, "carol@relay.example.com", "Relay.Example.Com", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.fullname, "");

	/* Not an account, or another domain: invalid. */
	account_verify(&c, "zoe@relay.example.com", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_INT(o.code, 550);
	T_EQ_STR(o.text, "mailbox unavailable");
	fake_calls = 0;
	account_verify(&c, "alice@example.org", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_INT(fake_calls, 0);
	account_verify(&c, "alice@relay.example.com.evil.example",
	    "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "alice@sub.relay.example.com", "relay.example.com",
	    &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "gone@relay.example.com", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);

	/* No '@' (VRFY alice): a name at our domain. */
	account_verify(&c, "alice", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.mailbox, "alice");

	/* The last '@' splits; a quoted local part is unquoted. */
	account_verify(&c, "\"alice\"@relay.example.com", "relay.example.com",
	    &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.mailbox, "alice");
	account_verify(&c, "\"al\\ice\"@relay.example.com",
	    "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(fake_last, "alice");
	account_verify(&c, "\"x@y\"@relay.example.com", "relay.example.com",
	    &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "alice@x@relay.example.com", "relay.example.com",
	    &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
}

TEST(t_account_case)
{
	struct account_conf	 c;
	struct verify_outcome	 o;

	/* Lookups are exact unless lowercase is given. */
	conf(&c, "");
	account_verify(&c, "Alice@relay.example.com", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_STR(fake_last, "Alice");
	account_verify(&c, "Dave@relay.example.com", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.mailbox, "Dave");

	conf(&c, "lowercase");
	account_verify(&c, "ALICE@relay.example.com", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(fake_last, "alice");
	T_EQ_STR(o.mailbox, "alice");
	account_verify(&c, "Dave@relay.example.com", "relay.example.com", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_STR(fake_last, "dave");

	/* A database that folds case itself: the name must match. */
	account_verify(&c, "folded@relay.example.com", "relay.example.com",
	    &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
}

TEST(t_account_uids)
{
	struct account_conf	 c;
	struct verify_outcome	 o;
	static const char *const never[] = { "root", "toor", "daemon",
	    "nobody", "big", "low" };
	size_t			 i;
	char			 rcpt[64];

	conf(&c, "");
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		(void)snprintf(rcpt, sizeof(rcpt), "%s@r.example", never[i]);
		account_verify(&c, rcpt, "r.example", &o);
		T_EQ_INT(o.result * 100 + (int)i, VERIFY_INVALID * 100 +
		    (int)i);
	}

	/* A range with 0 in it still never accepts root. */
	conf(&c, "0-100000");
	account_verify(&c, "root@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "toor@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "daemon@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	account_verify(&c, "nobody@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);

	/* A narrow range. */
	conf(&c, "1000-1000");
	account_verify(&c, "alice@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	account_verify(&c, "eve@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);

	/* With check, root and out-of-range accounts are remote. */
	conf(&c, "check");
	account_verify(&c, "root@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_STR(o.mailbox, "root@r.example");
}

TEST(t_account_modes)
{
	struct account_conf	 c;
	struct verify_outcome	 o;

	/* check: accounts local, everything else remote as given. */
	conf(&c, "check");
	account_verify(&c, "alice@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.mailbox, "alice");
	account_verify(&c, "Zoe@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_INT(o.code, 250);
	T_EQ_STR(o.mailbox, "Zoe@r.example");
	account_verify(&c, "alice@Example.ORG", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_STR(o.mailbox, "alice@Example.ORG");
	account_verify(&c, "j\xc3\xb6rg@example.org", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_STR(o.mailbox, "j\xc3\xb6rg@example.org");

	/* remote: accounts remote as given, everything else invalid. */
	conf(&c, "remote;lowercase");
	account_verify(&c, "Alice@R.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	T_EQ_STR(o.mailbox, "Alice@R.example");
	account_verify(&c, "zoe@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "alice@example.org", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);

	/* No --domain: only names without a domain are looked up. */
	conf(&c, "");
	account_verify(&c, "alice@", "", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "alice@r.example", NULL, &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "alice", NULL, &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
}

TEST(t_account_hostile)
{
	static const char *const names[] = { "", "-alice", "al ice",
	    "al/ice", "al:ice", "al\rice", "al\nice", "*", "al\\ice",
	    "j\xc3\xb6rg", "alice\"", "\"alice", "\"\"", "al%ice",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "a" };
	struct account_conf	 c;
	struct verify_outcome	 o;
	size_t			 i;
	char			 rcpt[128];
	char			 big[2 * FILTER_TEXT_MAX];

	/* Never a lookup for what cannot be an account name. */
	conf(&c, "lowercase");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(rcpt, sizeof(rcpt), "%s@r.example", names[i]);
		fake_calls = 0;
		account_verify(&c, rcpt, "r.example", &o);
		T_EQ_INT(o.result * 100 + (int)i, VERIFY_INVALID * 100 +
		    (int)i);
		T_EQ_INT(fake_calls * 100 + (int)i, (int)i);
	}
	/* 64 octets is the longest name looked up; dots are fine. */
	memset(rcpt, 'a', 64);
	(void)snprintf(rcpt + 64, 16, "@r.example");
	fake_calls = 0;
	account_verify(&c, rcpt, "r.example", &o);
	T_EQ_INT(fake_calls, 1);
	account_verify(&c, "LDAP.User@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.mailbox, "ldap.user");

	/* GECOS: printable ASCII only, never a second line. */
	account_verify(&c, "eve@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.fullname, "??ve E?[2J");
	T_EQ_STR(o.mailbox, "eve");
	account_verify(&c, "mallory@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_LOCAL);
	T_EQ_STR(o.fullname, "Mal");
	T_EQ_STR(o.mailbox, "mallory");

	/* Remote addresses with control characters or too long: invalid. */
	conf(&c, "check");
	account_verify(&c, "a\r\nb@example.org", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "a\nb@example.org", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "a\tb@example.org", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	account_verify(&c, "ab@example.org\r", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	account_verify(&c, big, "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	big[FILTER_TEXT_MAX] = '\0';
	account_verify(&c, big, "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	account_verify(&c, NULL, "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
}

TEST(t_account_errors)
{
	struct account_conf	 c;
	struct verify_outcome	 o;

	/* A failing database is temporary, in every mode. */
	conf(&c, "");
	account_verify(&c, "broken@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	T_EQ_INT(o.code, 450);
	T_EQ_STR(o.text, "account lookup failed");
	account_verify(&c, "huge@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	conf(&c, "check");
	account_verify(&c, "broken@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_TEMP);
	/* Not for other domains, which need no lookup. */
	account_verify(&c, "broken@example.org", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	/* "Not found" errors are no errors. */
	account_verify(&c, "gone@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
}

TEST(t_account_system)
{
	struct account_conf	 c;
	struct verify_outcome	 o;
	char			 err[128];

	/* The real database: root is never accepted, whatever the range. */
	T_EQ_INT(account_parse("0-4294967295", &c, err, sizeof(err)), 0);
	account_verify(&c, "root@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_INVALID);
	T_EQ_INT(account_parse("0-4294967295;check", &c, err, sizeof(err)),
	    0);
	account_verify(&c, "root@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
	account_verify(&c, "no-such-account-xq7@r.example", "r.example", &o);
	T_EQ_INT(o.result, VERIFY_REMOTE);
}
