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

static int	 ac_name(const struct account_conf *, const char *, size_t,
		    char *);
static int	 ac_lookup(const struct account_conf *, const char *,
		    struct verify_outcome *);

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
