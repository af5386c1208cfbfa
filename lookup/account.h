/*
 * The account: address verifier (SPEC 6.5): recipients that are local
 * system accounts at --domain.  Pure apart from the password database,
 * whose lookup is a function pointer so that tests need no real
 * accounts.  No allocation, no logging, no libevent.
 *
 * A recipient is split at its last '@'; the domain must equal --domain
 * ignoring ASCII case (a recipient without '@', as VRFY may give, is a
 * name at --domain).  The local part, unquoted if it is a quoted string
 * and folded to lower case with "lowercase", is an account when it is
 * 1 to BOUNDS_LOCALPART octets of [A-Za-z0-9._-] not starting with '-',
 * the database has it under exactly that name, and its uid is within
 * the range and not 0 (root is never an account, whatever the range).
 *
 *	mode		an account at --domain	anything else
 *	(default)	local			invalid
 *	check		local			remote
 *	remote		remote			invalid
 *
 * SPEC 6.5 (E-MailRelay's wording) lets only "check" pass recipients
 * that are not local accounts (as remote), so account: alone and
 * "remote" reject every other recipient, other domains included;
 * "remote" accepts accounts as remote, to be forwarded.  Local:
 * mailbox = the account name, full name = the first comma-separated
 * part of the GECOS field.  Remote: the address is the recipient as
 * given.  Invalid: 550 "mailbox unavailable".  A database
 * error (other than "not found") is temporary: 450 "account lookup
 * failed".  Outcomes are made by verifier_result(), as for a program.
 * The options and account_parse() are in common/lookupconf.h.
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <sys/types.h>

#include <stddef.h>

#include "lookupconf.h"

struct passwd;
struct verify_outcome;

#define ACCOUNT_PWBUF		16384	/* getpwnam_r() buffer */

/*
 * Verify recipient rcpt (as given) against domain (--domain) as the
 * table above says.  Fills *o completely; never fails.
 */
void	 account_verify(const struct account_conf *c, const char *rcpt,
	    const char *domain, struct verify_outcome *o);

#endif /* ACCOUNT_H */
