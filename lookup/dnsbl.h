/*
 * DNSBL checks of SMTP clients (SPEC 6.6): the asynchronous check on a
 * dns.h resolver.  The --dnsbl value (struct dnsbl_conf) and its parser,
 * dnsbl_conf_parse(), are in common/lookupconf.h.
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
