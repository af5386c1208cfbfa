/*
 * Configuration values of the lookup process's network built-ins,
 * parsed alike where the configuration is checked (options.c) and where
 * they are used (lookup/dns.c, dnsbl.c, mx.c, account.c): DNS server
 * addresses and domain names (SPEC 6.6), --dnsbl values, mx: options
 * (SPEC 6.3) and account: options (SPEC 6.5).  Pure parsers: nothing
 * here resolves a name, opens a socket, allocates or logs.  The names
 * keep the prefix of the lookup module that uses them.
 */
#ifndef LOOKUPCONF_H
#define LOOKUPCONF_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

/* DNS (lookup/dns.h) */
#define DNS_NAME_MAX	256	/* a domain name and its NUL */
#define DNS_TIMEOUT_MAX	3600000	/* largest timeout in milliseconds */
#define DNS_ADDRSTR_MAX	64	/* "[<ipv6>]:<port>" and its NUL */

/*
 * Parse a name server address: "<ip>", "<ip>:<port>" (IPv6 split at the
 * last colon) or "[<ipv6>]:<port>"; the port defaults to 53.  Pure
 * parser: never resolves.  Returns 0 with *out set, or -1 with *errstr
 * set to static text.
 */
int	 dns_parse_server(const char *s, struct sockaddr_storage *out,
	    const char **errstr);

/*
 * Whether s[0..len-1] is a domain name we accept in configuration and
 * ForwardTo: netaddr_valid_hostname(), at most 253 octets, no label
 * starting or ending with '-', and a last label that is not all digits
 * (that would be a malformed address).  No final dot.
 */
int	 dns_valid_domain(const char *s, size_t len);

/*
 * --dnsbl (lookup/dnsbl.h).  The value comes in two orders:
 *
 *	zone[,zone...][,threshold[,timeout-ms[,dns-server]]]
 *	dns-server,timeout-ms,threshold,zone[,zone...]	(legacy)
 *
 * The legacy order is recognised by its first field being a DNS server
 * address (an IP address, optionally with a port), which a zone never
 * is: a zone is a domain name, and a name whose last label is numeric
 * is refused as one.  In the current order the zones are the leading
 * fields that are not numbers; the threshold, timeout and server follow
 * in that order, each optional only when the later ones are absent.
 * Threshold: default 1, 0 = check and log only, never refuse.
 * Timeout: milliseconds, default 5000, not 0; negative = refuse a client
 * when the zones that did not answer could have reached the threshold.
 */
#define DNSBL_ZONES_MAX		32	/* zones in one --dnsbl value */
#define DNSBL_ZONE_MAX		190	/* zone and its NUL: leaves room for
					   the 64 octets of a reversed IPv6
					   address in a 253-octet name */
#define DNSBL_THRESHOLD_DEFAULT	1
#define DNSBL_THRESHOLD_MAX	1000
#define DNSBL_TIMEOUT_DEFAULT	5000	/* milliseconds */

/* A parsed --dnsbl value. */
struct dnsbl_conf {
	size_t		 nzones;
	char		 zones[DNSBL_ZONES_MAX][DNSBL_ZONE_MAX]; /* no final
							    dot */
	int		 threshold;
	int		 timeout_ms;	/* negative: refuse on timeout */
	char		 server[DNS_ADDRSTR_MAX];	/* "" = resolv.conf */
	int		 legacy;	/* was in the legacy order */
};

/*
 * Parse a --dnsbl value into *out.  Returns 0, or -1 with *errstr set
 * to static text.
 */
int	 dnsbl_conf_parse(const char *value, struct dnsbl_conf *out,
	    const char **errstr);

/*
 * The option-table checker for --dnsbl: NULL when value parses, else
 * the static error text of dnsbl_conf_parse().
 */
const char *dnsbl_conf_check(const char *value);

/*
 * mx: options (lookup/mx.h): "mx:[nst=<s>;rt=<s>;<dns-host:port>]",
 * items in any order: nst is the name-server timeout, how long one try
 * waits for an answer before the question is sent again; rt is the
 * routing timeout, the limit for the whole lookup of one message; the
 * address names the DNS server (an IP address, port 53 by default)
 * instead of those of /etc/resolv.conf.
 */
#define MX_NST_DEFAULT	2	/* seconds */
#define MX_RT_DEFAULT	15	/* seconds */
#define MX_TIMEOUT_MAX	3600	/* largest nst or rt, seconds */

/* Parsed mx: options. */
struct mx_conf {
	int		 nst;		/* seconds per try */
	int		 rt;		/* seconds for a whole routing */
	char		 server[DNS_ADDRSTR_MAX]; /* "" = resolv.conf */
};

/*
 * Parse the text after "mx:" (may be NULL or empty) into *out, defaults
 * filled in.  Returns 0, or -1 with *errstr set to static text naming
 * the bad item.
 */
int	 mx_parse_options(const char *opts, struct mx_conf *out,
	    const char **errstr);

/* account: options (lookup/account.h). */
#define ACCOUNT_UID_LO		1000	/* default uid range */
#define ACCOUNT_UID_HI		32767

/* account_conf.mode */
#define ACCOUNT_LOCAL		0	/* default */
#define ACCOUNT_CHECK		1	/* "check" */
#define ACCOUNT_REMOTE		2	/* "remote" */

struct passwd;

struct account_conf {
	uid_t	 uid_lo;
	uid_t	 uid_hi;
	int	 lowercase;		/* "lowercase" */
	int	 mode;			/* ACCOUNT_* */
	/*
	 * The password database lookup, getpwnam_r(3)'s contract; NULL
	 * means getpwnam_r.
	 */
	int	(*getpw)(const char *name, struct passwd *pw, char *buf,
		    size_t bufsz, struct passwd **result);
};

/*
 * Parse the options after "account:" (opts may be NULL or ""): items
 * separated by ';' or ',', empty items ignored: "<lo>-<hi>" (decimal
 * uids, lo <= hi, once), "lowercase", "check", "remote" (not both).
 * Fills *c (getpw NULL).  Returns 0, or -1 with a message in err (errsz
 * bytes) such as "invalid account: uid range \"5-1\"".
 */
int	 account_parse(const char *opts, struct account_conf *c, char *err,
	    size_t errsz);

#endif /* LOOKUPCONF_H */
