/*
 * The account: address verifier (account.h).
 */
#include <sys/types.h>

#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "bounds.h"
#include "filter_result.h"

#define ACCOUNT_LOOKUP_FAILED	"account lookup failed"

static int	 ac_item(const char **, const char **, size_t *);
static int	 ac_uid(const char *, size_t, uid_t *);
static int	 ac_range(const char *, size_t, struct account_conf *);
static int	 ac_name(const struct account_conf *, const char *, size_t,
		    char *);
static int	 ac_lookup(const struct account_conf *, const char *,
		    struct verify_outcome *);

int
account_parse(const char *opts, struct account_conf *c, char *err,
    size_t errsz)
{
	const char	*w;
	size_t		 len;
	int		 range = 0, check = 0, remote = 0;

	memset(c, 0, sizeof(*c));
	c->uid_lo = ACCOUNT_UID_LO;
	c->uid_hi = ACCOUNT_UID_HI;
	c->mode = ACCOUNT_LOCAL;
	if (errsz > 0)
		err[0] = '\0';
	while (ac_item(&opts, &w, &len)) {
		if (len == 0)
			continue;
		if (len == 9 && strncmp(w, "lowercase", 9) == 0)
			c->lowercase = 1;
		else if (len == 5 && strncmp(w, "check", 5) == 0)
			check = 1;
		else if (len == 6 && strncmp(w, "remote", 6) == 0)
			remote = 1;
		else if (memchr(w, '-', len) == NULL) {
			(void)snprintf(err, errsz, "unknown account: option "
			    "\"%.*s\" (lowercase, check, remote or a uid "
			    "range)", (int)(len > 64 ? 64 : len), w);
			return (-1);
		} else if (range) {
			(void)snprintf(err, errsz, "account: uid range given "
			    "twice");
			return (-1);
		} else if (ac_range(w, len, c) == -1) {
			(void)snprintf(err, errsz, "invalid account: uid range "
			    "\"%.*s\" (<lo>-<hi>, lo not above hi)",
			    (int)(len > 64 ? 64 : len), w);
			return (-1);
		} else
			range = 1;
	}
	if (check && remote) {
		(void)snprintf(err, errsz, "account: check and remote "
		    "cannot be combined");
		return (-1);
	}
	c->mode = check ? ACCOUNT_CHECK : remote ? ACCOUNT_REMOTE :
	    ACCOUNT_LOCAL;
	return (0);
}

void
account_verify(const struct account_conf *c, const char *rcpt,
    const char *domain, struct verify_outcome *o)
{
	char		 out[2 + FILTER_TEXT_MAX + 1];
	const char	*at;
	int		 n, found = 0;

	if (rcpt == NULL)
		rcpt = "";
	at = strrchr(rcpt, '@');
	if (at == NULL || (domain != NULL && domain[0] != '\0' &&
	    strcasecmp(at + 1, domain) == 0)) {
		found = ac_lookup(c, rcpt, o);
		if (found == -1)
			return;		/* *o is the temporary failure */
	}
	if (found && c->mode != ACCOUNT_REMOTE)
		return;			/* *o is the local mailbox */
	if ((found && c->mode == ACCOUNT_REMOTE) ||
	    (!found && c->mode == ACCOUNT_CHECK)) {
		/*
		 * Line 1 empty, line 2 the address; a line end in it or
		 * too long is invalid.
		 */
		n = snprintf(out, sizeof(out), "\n%s", rcpt);
		if (n < 0 || (size_t)n >= sizeof(out) ||
		    strpbrk(rcpt, "\r\n") != NULL)
			verifier_result(2, 0, NULL, 0, o);
		else
			verifier_result(1, 0, out, (size_t)n, o);
		return;
	}
	verifier_result(2, 0, NULL, 0, o);
}

/*
 * The next item of a ';' or ',' separated list at *pp, blanks around it
 * removed.  Returns 0 at the end.
 */
static int
ac_item(const char **pp, const char **item, size_t *len)
{
	const char	*p = *pp, *e;

	if (p == NULL)
		return (0);
	e = p + strcspn(p, ";,");
	*pp = *e == '\0' ? NULL : e + 1;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*item = p;
	*len = (size_t)(e - p);
	return (1);
}

/* A uid: 1 to 10 decimal digits, at most UINT32_MAX. */
static int
ac_uid(const char *p, size_t len, uid_t *uid)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len > 10)
		return (-1);
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > UINT32_MAX)
		return (-1);
	*uid = (uid_t)v;
	return (0);
}

/* "<lo>-<hi>" into c. */
static int
ac_range(const char *w, size_t len, struct account_conf *c)
{
	const char	*dash;
	uid_t		 lo, hi;

	dash = memchr(w, '-', len);
	if (ac_uid(w, (size_t)(dash - w), &lo) == -1 ||
	    ac_uid(dash + 1, len - (size_t)(dash - w) - 1, &hi) == -1 ||
	    hi < lo)
		return (-1);
	c->uid_lo = lo;
	c->uid_hi = hi;
	return (0);
}

/*
 * The account name to look up from the local part (len octets at lp)
 * into name (BOUNDS_LOCALPART + 1 bytes): a quoted string is unquoted,
 * "lowercase" folds it.  Returns 0 when it is no possible account name.
 */
static int
ac_name(const struct account_conf *c, const char *lp, size_t len,
    char *name)
{
	size_t	 i, n = 0;
	int	 quoted = 0;
	char	 ch;

	if (len >= 2 && lp[0] == '"' && lp[len - 1] == '"') {
		quoted = 1;
		lp++;
		len -= 2;
	}
	for (i = 0; i < len; i++) {
		ch = lp[i];
		if (quoted && ch == '\\' && i + 1 < len)
			ch = lp[++i];
		if (c->lowercase && ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    (ch == '-' && n > 0)))
			return (0);
		if (n == BOUNDS_LOCALPART)
			return (0);
		name[n++] = ch;
	}
	name[n] = '\0';
	return (n > 0);
}

/*
 * Look the local part of rcpt up.  Returns 1 with *o the local outcome,
 * 0 when it is not an account (*o untouched), or -1 with *o the
 * temporary failure.
 */
static int
ac_lookup(const struct account_conf *c, const char *rcpt,
    struct verify_outcome *o)
{
	char		 buf[ACCOUNT_PWBUF];
	char		 name[BOUNDS_LOCALPART + 1];
	char		 out[FILTER_TEXT_MAX + BOUNDS_LOCALPART + 2];
	struct passwd	 pw, *res = NULL;
	const char	*at, *gecos;
	size_t		 glen;
	int		 rv, n;

	at = strrchr(rcpt, '@');
	if (!ac_name(c, rcpt, at != NULL ? (size_t)(at - rcpt) :
	    strlen(rcpt), name))
		return (0);
	memset(&pw, 0, sizeof(pw));
	if (c->getpw != NULL)
		rv = c->getpw(name, &pw, buf, sizeof(buf), &res);
	else
		rv = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (rv != 0 && rv != ENOENT && rv != ESRCH && rv != EBADF &&
	    rv != EPERM) {
		explicit_bzero(buf, sizeof(buf));
		verifier_result(3, 0, ACCOUNT_LOOKUP_FAILED,
		    strlen(ACCOUNT_LOOKUP_FAILED), o);
		return (-1);
	}
	if (rv != 0 || res == NULL || res->pw_name == NULL ||
	    strcmp(res->pw_name, name) != 0 || res->pw_uid == 0 ||
	    res->pw_uid < c->uid_lo || res->pw_uid > c->uid_hi) {
		explicit_bzero(buf, sizeof(buf));
		return (0);
	}
	/* Line 1 the full name, line 2 the mailbox. */
	gecos = res->pw_gecos != NULL ? res->pw_gecos : "";
	glen = strcspn(gecos, ",\r\n");
	if (glen > FILTER_TEXT_MAX)
		glen = FILTER_TEXT_MAX;
	n = snprintf(out, sizeof(out), "%.*s\n%s", (int)glen, gecos, name);
	explicit_bzero(buf, sizeof(buf));
	if (n < 0 || (size_t)n >= sizeof(out))
		return (0);
	verifier_result(0, 0, out, (size_t)n, o);
	return (1);
}
