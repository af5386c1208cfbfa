/*
 * Authentication secrets (SPEC 7): the secrets file of --client-auth,
 * --server-auth and --pop-auth, and the "plain:B64:B64" form of
 * --client-auth.  Lines are "client|server type id secret [selector]";
 * see secrets.c.  Loaded only by lookup (and the parent); every id and
 * secret is freed with freezero.
 */
#ifndef SECRETS_H
#define SECRETS_H

#include <stddef.h>

#define SECRETS_FILE_MAX	(1024 * 1024)	/* bytes in a secrets file */
#define SECRETS_WILDCARD_LEN	52	/* an IPv6 CIDR form and its NUL */
#define SECRETS_WILDCARD_MAX	130	/* IPv6: exact plus /128../0 */

/* Which side a line is for. */
#define SECRETS_CLIENT		1
#define SECRETS_SERVER		2

/* Kinds of secret (legacy names: login = plain, cram-md5 and apop = md5). */
#define SECRET_PLAIN		1	/* plain, plain:b, login */
#define SECRET_MD5		2	/* md5, cram-md5, apop: hashed state */
#define SECRET_OAUTH		3	/* oauth, oauth:b (client only) */
#define SECRET_NONE		4	/* server: trusted address; client: = = */

struct secret {
	int		 side;		/* SECRETS_CLIENT or SECRETS_SERVER */
	int		 kind;		/* SECRET_* */
	char		*id;		/* decoded, NUL-terminated, no NUL in it;
					   SECRET_NONE server: address pattern;
					   SECRET_NONE client: "" */
	size_t		 idlen;
	unsigned char	*secret;	/* decoded, NUL-terminated: plain: the
					   password; md5: the 32-byte hashed
					   state; oauth: the XOAUTH2 initial
					   response (decoded from base64);
					   none (server): the keyword;
					   none (client): "" */
	size_t		 secretlen;
	char		*selector;	/* fifth field, "" if none */
	unsigned int	 lineno;	/* 0 for --client-auth plain:... */
};

struct secrets {
	struct secret	*v;		/* lines in file order */
	size_t		 n;
	size_t		 cap;
	size_t		 nserver_plain;	/* server lines of each kind */
	size_t		 nserver_md5;
	size_t		 nserver_none;
};

/*
 * Parse len bytes of secrets-file text at p (need not be NUL-terminated);
 * name is the file name used in error messages.  Returns a new structure
 * (free with secrets_free), or NULL with "<name>:<line>: <what>" (or
 * "<name>: out of memory") in err.
 */
struct secrets	*secrets_parse(const char *p, size_t len, const char *name,
		    char *err, size_t errsz);

/*
 * Read and parse the secrets file at path (at most SECRETS_FILE_MAX bytes,
 * a regular file).  Returns as secrets_parse(); errors opening or reading
 * are "<path>: <strerror>" and "<path>: file too large".
 */
struct secrets	*secrets_read(const char *path, char *err, size_t errsz);

/*
 * The same from an open descriptor (from the parent), named name in
 * messages.  The descriptor is read from its current offset and not closed.
 */
struct secrets	*secrets_read_fd(int fd, const char *name, char *err,
		    size_t errsz);

/* Returns 1 if an --client-auth value is the inline "plain:" form. */
int		 secrets_client_auth_inline(const char *value);

/*
 * Parse --client-auth "plain:<base64 id>:<base64 password>" into a new
 * structure holding one client plain secret without a selector.  Returns
 * NULL with a message in err if the value is malformed.
 */
struct secrets	*secrets_client_auth(const char *value, char *err,
		    size_t errsz);

/* Clear and free everything; NULL is allowed. */
void		 secrets_free(struct secrets *);

/*
 * The first server line of kind (SECRET_PLAIN or SECRET_MD5) for id (idlen
 * bytes, exact match), or NULL.  For CRAM-MD5 a caller tries SECRET_MD5,
 * then SECRET_PLAIN; the other mechanisms need SECRET_PLAIN.
 */
const struct secret *secrets_server_lookup(const struct secrets *, int kind,
		    const char *id, size_t idlen);

/*
 * The keyword of the server "none" line trusting the client address ip
 * (an IPv4 or IPv6 address as text, IPv6 optionally with "%scope"), or NULL.
 * Patterns are matched as exact strings against secrets_wildcards(), most
 * specific first.
 */
const char	*secrets_trusted(const struct secrets *, const char *ip);

/*
 * The wildcard forms of the address ip, most specific first, into out:
 * IPv4 a.b.c.d, then the canonical CIDR forms a.b.c.d/32 down to 0.0.0.0/0
 * with a.b.c.* after /24, a.b.*.* after /16, a.*.*.* after /8 and *.*.*.*
 * after /0 (38 forms); IPv6 the inet_ntop form, then addr/128 down to ::/0
 * (130 forms).  An IPv4-mapped IPv6 address counts as IPv4.  Returns the
 * count, or -1 if ip is not an address or max is too small.
 */
int		 secrets_wildcards(const char *ip,
		    char (*out)[SECRETS_WILDCARD_LEN], size_t max);

/*
 * The client account for selector (NULL or "" for lines without one), or
 * NULL if there is none.  A SECRET_NONE result means: do not authenticate.
 */
const struct secret *secrets_client_lookup(const struct secrets *,
		    const char *selector);

/*
 * The AUTH mechanisms the server can offer with these secrets (SPEC 4),
 * as static text: with any server plain secret "CRAM-SHA512 CRAM-SHA256
 * CRAM-SHA1 CRAM-MD5 PLAIN LOGIN", else with md5 secrets "CRAM-MD5", else "".
 */
const char	*secrets_server_mechs(const struct secrets *);

/* The name of a kind for log lines: "plain", "md5", "oauth", "none". */
const char	*secrets_kind_name(int kind);

#endif /* SECRETS_H */
