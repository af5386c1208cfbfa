/*
 * Asynchronous DNS for the lookup process (SPEC 6.6, STYLE.md section
 * 6): c-ares driven by one libevent base.  ARES_OPT_SOCK_STATE_CB adds
 * and removes one persistent event per c-ares socket, ares_process_fd()
 * runs on activity and one timer follows ares_timeout().  Questions go
 * to the name servers of /etc/resolv.conf (read once, by dns_new()) or
 * to one explicit server; no search list, no hosts file.  Answers that
 * do not fit in UDP are fetched again over TCP.
 *
 * Callbacks: every query started successfully gets exactly one call of
 * cb(arg, result), arg being the one given at the start, unless it is
 * cancelled with dns_cancel() (then it gets none).  Callbacks run from
 * the event loop, never from inside a dns_*() call, except that
 * dns_free() reports the queries still outstanding with DNS_CANCELLED
 * before it returns.  A callback may start and cancel queries and may
 * call dns_free() (the resolver then goes away once that callback has
 * returned).  A query handle is invalid once its callback has been
 * called or it has been cancelled.
 *
 * Everything is bounded: DNS_ADDR_MAX addresses and DNS_MX_MAX MX
 * records are kept per answer, and at most DNS_QUERIES_MAX queries are
 * outstanding per resolver.  dns_parse_server() and dns_valid_domain()
 * are in common/lookupconf.h.
 */
#ifndef DNS_H
#define DNS_H

#include <sys/socket.h>

#include <stddef.h>

#include "lookupconf.h"

struct event_base;
struct dns;
struct dns_query;

#define DNS_ADDR_MAX	16	/* addresses kept per answer */
#define DNS_MX_MAX	16	/* MX records kept (the most preferred) */
#define DNS_QUERIES_MAX	1024	/* outstanding queries per resolver */

enum dns_status {
	DNS_OK = 0,		/* at least one record */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_NODATA,		/* the name exists, no record of that type */
	DNS_TIMEOUT,		/* no answer within the query's timeout */
	DNS_ERROR,		/* server failure or refusal, unusable answer,
				   network error */
	DNS_CANCELLED		/* the resolver was freed */
};

/* One MX record. */
struct dns_mx {
	unsigned int	 pref;			/* preference, lowest first */
	char		 host[DNS_NAME_MAX];	/* exchanger; "" = null MX */
};

/*
 * What a query found; valid only during the callback.  Address queries
 * fill addr (IPv4 first, then IPv6, each in answer order, with the
 * query's port); MX queries fill mx (by preference, ties in answer
 * order).  status is DNS_OK exactly when naddr or nmx is non-zero.
 */
struct dns_result {
	enum dns_status			 status;
	size_t				 naddr;
	const struct sockaddr_storage	*addr;
	size_t				 nmx;
	const struct dns_mx		*mx;
};

/*
 * A resolver bound to base.  server is NULL or "" for the name servers
 * of /etc/resolv.conf, else an address for dns_parse_server().  try_ms
 * (1 to DNS_TIMEOUT_MAX) is how long one try waits before c-ares sends
 * the question again.  Returns a resolver for dns_free(), or NULL with
 * *errstr set to static text (bad server address, c-ares failure, no
 * memory).
 */
struct dns	*dns_new(struct event_base *base, const char *server,
		    int try_ms, const char **errstr);

/* The event base r was made for. */
struct event_base *dns_base(const struct dns *r);

/*
 * Free the resolver.  Every query still outstanding gets its callback
 * with DNS_CANCELLED before this returns (no new query can be started
 * meanwhile); called from a query's callback, that happens as soon as
 * the callback returns.  NULL is ignored.
 */
void	 dns_free(struct dns *r);

/*
 * The addresses of host (A and AAAA asked at once) with port applied.
 * An IP address as host is answered as it is, without DNS.  timeout_ms
 * (1 to DNS_TIMEOUT_MAX) bounds the whole query: what has not been
 * answered by then counts as DNS_TIMEOUT.  Status: DNS_OK with at least
 * one address; else DNS_NXDOMAIN if either question got that, else
 * DNS_TIMEOUT, DNS_ERROR, DNS_NODATA in that order.  Returns a handle
 * for dns_cancel(), or NULL with errno set (EINVAL for a bad name or
 * timeout, EAGAIN at DNS_QUERIES_MAX or while the resolver is being
 * freed, ENOMEM); then cb is never called.
 */
struct dns_query *dns_query_addr(struct dns *r, const char *host,
		    unsigned int port, int timeout_ms,
		    void (*cb)(void *, const struct dns_result *), void *arg);

/*
 * The MX records of domain, as for dns_query_addr().  A reply holding
 * no MX record is DNS_NODATA.
 */
struct dns_query *dns_query_mx(struct dns *r, const char *domain,
		    int timeout_ms,
		    void (*cb)(void *, const struct dns_result *), void *arg);

/*
 * The A records of name, nothing else (DNSBL); port 0 in the results.
 * As for dns_query_addr() except that an IP address is not special.
 */
struct dns_query *dns_query_a(struct dns *r, const char *name,
		    int timeout_ms,
		    void (*cb)(void *, const struct dns_result *), void *arg);

/*
 * Drop a query whose callback has not been called yet: it never will
 * be.  Only an outstanding handle may be passed; NULL is ignored.
 */
void	 dns_cancel(struct dns_query *q);

/* Static text for a status: "no such domain", "timeout", ... */
const char *dns_status_str(enum dns_status status);

/*
 * Format an IPv4 or IPv6 socket address as "<ipv4>:<port>" or
 * "[<ipv6>]:<port>", the host:port form of SPEC 2.4 that
 * netaddr_parse_hostport() reads back (no scope).  Returns 0, or -1
 * (another family, buffer too small) with buf set to "".
 */
int	 dns_addr_hostport(const struct sockaddr *sa, char *buf,
	    size_t bufsz);

#endif /* DNS_H */
