/*
 * Mail routing for the mx: client filter (SPEC 6.3): the ForwardTo
 * domain of an envelope becomes a ForwardToAddress "<ip>:<port>" (or
 * "[<ipv6>]:<port>", which netaddr_parse_hostport() reads back).
 *
 * Order (RFC 5321 section 5.1): the MX records of the domain, lowest
 * preference first, ties in answer order; for each exchanger its
 * addresses (A and AAAA, IPv4 first) and the first one is taken; an
 * exchanger without an address is skipped for the next.  No MX record
 * (the name exists) means the domain itself (implicit MX).  A null MX
 * ("." as the only exchanger, RFC 7505) and a name that does not exist
 * are permanent failures; a timeout or server failure is temporary.
 * The address 0.0.0.0 (or ::) clears the routing, so the message goes
 * to --forward-to.  The port is 25 unless ForwardTo names one.  An
 * address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]", optionally with
 * ":<port>") needs no DNS.
 *
 * Options "mx:[nst=<s>;rt=<s>;<dns-host:port>]", items in any order:
 * nst is the name-server timeout, how long one try waits for an answer
 * before the question is sent again (default MX_NST_DEFAULT); rt is the
 * routing timeout, the limit for the whole lookup of one message, MX
 * and address queries together (default MX_RT_DEFAULT), after which the
 * outcome is temporary; the address names the DNS server (an IP
 * address, port 53 by default) instead of those of /etc/resolv.conf.
 * struct mx_conf and mx_parse_options() are in common/lookupconf.h.
 */
#ifndef MX_H
#define MX_H

#include <sys/socket.h>

#include "dns.h"

struct event_base;
struct mx_route;

#define MX_PORT_DEFAULT	25

/* A parsed ForwardTo value. */
struct mx_target {
	char			 domain[DNS_NAME_MAX];	/* "" for a literal */
	int			 literal;	/* addr holds the address */
	struct sockaddr_storage	 addr;		/* literal, with port */
	unsigned int		 port;		/* MX_PORT_DEFAULT if none */
};

enum mx_status {
	MX_OK,			/* address holds ForwardToAddress */
	MX_CLEAR,		/* 0.0.0.0: clear ForwardToAddress */
	MX_FAIL,		/* routing failed: the filter fails */
	MX_TEMP			/* try again later: the message stays ready */
};

/* The outcome of a routing; valid only during the done callback. */
struct mx_result {
	enum mx_status	 status;
	char		 address[DNS_ADDRSTR_MAX];	/* MX_OK: host:port */
	char		 exchanger[DNS_NAME_MAX];	/* host used, or "" */
	const char	*reason;	/* static text for MX_FAIL, MX_TEMP;
					   "" otherwise */
};

/*
 * Parse a ForwardTo value: "<domain>", "<domain>:<port>", an IP address
 * with or without brackets, "[IPv6:<ipv6>]", each literal optionally
 * followed by ":<port>".  Returns 0, or -1 with *errstr set.
 */
int	 mx_parse_forward_to(const char *fwd, struct mx_target *out,
	    const char **errstr);

/*
 * A resolver for conf on base (its server and nst); free it with
 * dns_free().  NULL with *errstr set on failure.
 */
struct dns	*mx_resolver_new(struct event_base *base,
		    const struct mx_conf *conf, const char **errstr);

/*
 * Route forward_to (a ForwardTo value) with resolver r, limited to
 * conf->rt seconds.  done(arg, result) is called exactly once from the
 * event loop, unless mx_route_cancel() comes first; a ForwardTo that
 * does not parse gives MX_FAIL, a literal is reported without DNS.  If
 * r is freed meanwhile, done() gets MX_TEMP during dns_free().  The
 * route frees itself after done() returns.  Returns a handle for
 * mx_route_cancel(), or NULL with errno set (ENOMEM, EAGAIN when the
 * resolver is full or being freed); then done() is never called.
 */
struct mx_route	*mx_route_start(struct dns *r, const char *forward_to,
		    const struct mx_conf *conf,
		    void (*done)(void *, const struct mx_result *), void *arg);

/*
 * Drop a routing whose done() has not been called: it never will be.
 * Frees it; NULL is ignored.
 */
void	 mx_route_cancel(struct mx_route *m);

#endif /* MX_H */
