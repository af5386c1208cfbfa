/*
 * DNSBL checks of SMTP clients (SPEC 6.6): the --dnsbl value and the
 * asynchronous check on a dns.h resolver.
 *
 * The value comes in two orders:
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
 *
 * A zone lists a client when it answers an A record within 127.0.0.0/8
 * (RFC 5782), except 127.255.255.0/24, which DNSBL operators use for
 * error replies (query refused, rate limited): such an answer, another
 * address or a server failure counts as a zone that failed, like one
 * that timed out.  Local addresses (SPEC 2.4, netaddr_is_local()) and
 * unix sockets are never checked.
 */
#ifndef DNSBL_H
#define DNSBL_H

#include <sys/socket.h>

#include <netinet/in.h>

#include <stddef.h>

#include "dns.h"

struct event_base;
struct dnsbl_check;

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

enum dnsbl_zstatus {
	DNSBL_Z_CLEAN,		/* NXDOMAIN or no A record */
	DNSBL_Z_LISTED,		/* an A record in 127/8 */
	DNSBL_Z_TIMEOUT,	/* no answer in time */
	DNSBL_Z_FAILED		/* server failure, error or odd answer */
};

struct dnsbl_zone {
	const char		*zone;
	enum dnsbl_zstatus	 status;
	char			 answer[INET_ADDRSTRLEN]; /* the A record
						   that decided, or "" */
};

/* The outcome of a check; valid only during the done callback. */
struct dnsbl_result {
	int			 allow;		/* 1: serve the client */
	int			 skipped;	/* local: nothing was asked */
	int			 listed;	/* zones listing the client */
	int			 timed_out;	/* zones without an answer */
	int			 failed;	/* zones that failed */
	int			 threshold;
	const char		*client;	/* the IP address checked */
	size_t			 nzones;
	const struct dnsbl_zone	*zones;		/* in --dnsbl order */
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

/* Whether sa is never checked: local (SPEC 2.4), unix or not IP. */
int	 dnsbl_exempt(const struct sockaddr *sa);

/*
 * The DNS name to ask zone about sa: "4.3.2.1.<zone>" for 1.2.3.4
 * (also for an IPv4-mapped IPv6 address), 32 reversed nibbles for
 * IPv6.  Returns 0, or -1 (not IP, name too long) with buf set to "".
 */
int	 dnsbl_qname(const struct sockaddr *sa, const char *zone, char *buf,
	    size_t bufsz);

/*
 * A resolver for conf on base: its DNS server, a try timeout of half
 * the check's timeout.  Free with dns_free().  NULL with *errstr set.
 */
struct dns	*dnsbl_resolver_new(struct event_base *base,
		    const struct dnsbl_conf *conf, const char **errstr);

/*
 * Check client against every zone of conf at once (conf is copied), on
 * resolver r (pointed at conf->server when one is set).  done(arg,
 * result) is called exactly once from the event loop when every zone
 * has answered or timed out, unless dnsbl_cancel() comes first; an
 * exempt client is reported as allowed and skipped without any query.
 * If r is freed meanwhile, the zones still asked count as failed and
 * done() is called during dns_free().  The check frees itself after
 * done() returns.  Returns a handle for dnsbl_cancel(), or NULL with
 * errno set (EINVAL, ENOMEM); then done() is never called.
 */
struct dnsbl_check *dnsbl_start(struct dns *r, const struct dnsbl_conf *conf,
		    const struct sockaddr *client,
		    void (*done)(void *, const struct dnsbl_result *),
		    void *arg);

/*
 * Drop a check whose done() has not been called (the session ended):
 * its queries are cancelled and done() is never called.  Frees it;
 * NULL is ignored.
 */
void	 dnsbl_cancel(struct dnsbl_check *c);

/*
 * The zones that listed the client, comma-separated, for a log line;
 * truncated with "..." to fit.  Returns buf.
 */
char	*dnsbl_listed_str(const struct dnsbl_result *res, char *buf,
	    size_t bufsz);

#endif /* DNSBL_H */
