/*
 * Mail routing for the mx: client filter (mx.h): ForwardTo and option
 * parsers, and the MX / address lookups on a dns.h resolver.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "netaddr.h"
#include "dns.h"
#include "mx.h"

#define MX_FWD_MAX	300	/* longest ForwardTo we look at */

enum mx_state {
	MX_S_MX,		/* waiting for the MX records */
	MX_S_ADDR,		/* waiting for an exchanger's addresses */
	MX_S_IMPLICIT,		/* waiting for the domain's own addresses */
	MX_S_REPORT		/* outcome known, done() due from the loop */
};

struct mx_route {
	struct dns		*r;
	struct event		*ev;	/* rt deadline, or deferred report */
	struct dns_query	*q;	/* the query out, or NULL */
	enum mx_state		 state;
	struct mx_target	 t;
	struct dns_mx		 mx[DNS_MX_MAX];
	size_t			 nmx;
	size_t			 next;	/* next exchanger to try */
	int			 temp;	/* an exchanger failed temporarily */
	int			 timeout_ms;
	struct mx_result	 res;
	void			(*done)(void *, const struct mx_result *);
	void			*arg;
};

static int	 mx_port(const char *, unsigned int *);
static int	 mx_literal(const char *, size_t, int, struct mx_target *);
static void	 mx_on_timer(evutil_socket_t, short, void *);
static void	 mx_on_mx(void *, const struct dns_result *);
static void	 mx_on_addr(void *, const struct dns_result *);
static void	 mx_next(struct mx_route *);
static void	 mx_set(struct mx_route *, enum mx_status, const char *);
static void	 mx_address(struct mx_route *, const struct sockaddr *);
static void	 mx_defer(struct mx_route *);
static void	 mx_report(struct mx_route *);
static void	 mx_free(struct mx_route *);

/* A decimal port 1..65535, digits only. */
static int
mx_port(const char *s, unsigned int *port)
{
	const char	*e;
	long long	 v;
	size_t		 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]))
			return (-1);
	if (i == 0 || i > 5)
		return (-1);
	v = strtonum(s, 1, 65535, &e);
	if (e != NULL)
		return (-1);
	*port = (unsigned int)v;
	return (0);
}

/*
 * An IP address in p[0..len-1] (v6only: IPv6 only) into out->addr.
 * Returns 0 or -1.
 */
static int
mx_literal(const char *p, size_t len, int v6only, struct mx_target *out)
{
	char			 buf[INET6_ADDRSTRLEN];
	struct sockaddr_in	*sin = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&out->addr;

	if (len == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, p, len);
	buf[len] = '\0';
	memset(&out->addr, 0, sizeof(out->addr));
	if (!v6only && inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)out->port);
	} else if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)out->port);
	} else
		return (-1);
	out->literal = 1;
	return (0);
}

int
mx_parse_forward_to(const char *fwd, struct mx_target *out,
    const char **errstr)
{
	const char	*rb, *colon, *host;
	size_t		 len, hlen;
	int		 v6only = 0;

	memset(out, 0, sizeof(*out));
	out->port = MX_PORT_DEFAULT;
	len = strnlen(fwd, MX_FWD_MAX);
	if (len == 0) {
		*errstr = "empty ForwardTo";
		return (-1);
	}
	if (len == MX_FWD_MAX) {
		*errstr = "ForwardTo too long";
		return (-1);
	}
	if (fwd[0] == '[') {
		if ((rb = strchr(fwd, ']')) == NULL) {
			*errstr = "missing ']' after the address literal";
			return (-1);
		}
		if (rb[1] == ':') {
			if (mx_port(rb + 2, &out->port) == -1) {
				*errstr = "invalid port number";
				return (-1);
			}
		} else if (rb[1] != '\0') {
			*errstr = "unexpected text after the address literal";
			return (-1);
		}
		host = fwd + 1;
		hlen = (size_t)(rb - host);
		if (hlen >= 5 && strncasecmp(host, "IPv6:", 5) == 0) {
			host += 5;
			hlen -= 5;
			v6only = 1;
		}
		if (mx_literal(host, hlen, v6only, out) == -1) {
			*errstr = "invalid address literal";
			return (-1);
		}
		return (0);
	}
	/* A bare IPv6 address, before splitting off a port. */
	if (mx_literal(fwd, len, 1, out) == 0)
		return (0);
	hlen = len;
	if ((colon = strrchr(fwd, ':')) != NULL) {
		if (mx_port(colon + 1, &out->port) == -1) {
			*errstr = "invalid port number";
			return (-1);
		}
		hlen = (size_t)(colon - fwd);
	}
	if (mx_literal(fwd, hlen, 0, out) == 0)
		return (0);
	if (memchr(fwd, ':', hlen) != NULL) {
		*errstr = "invalid IPv6 address (use [<ipv6>]:<port>)";
		return (-1);
	}
	if (hlen > 0 && fwd[hlen - 1] == '.')
		hlen--;
	if (!dns_valid_domain(fwd, hlen)) {
		*errstr = "invalid domain name";
		return (-1);
	}
	memcpy(out->domain, fwd, hlen);
	out->domain[hlen] = '\0';
	return (0);
}

struct dns *
mx_resolver_new(struct event_base *base, const struct mx_conf *conf,
    const char **errstr)
{
	return (dns_new(base, conf->server, conf->nst * 1000, errstr));
}

struct mx_route *
mx_route_start(struct dns *r, const char *forward_to,
    const struct mx_conf *conf,
    void (*done)(void *, const struct mx_result *), void *arg)
{
	struct mx_route	*m;
	struct timeval	 tv;
	const char	*e;

	if (r == NULL || forward_to == NULL || conf == NULL ||
	    done == NULL || conf->rt < 1 || conf->rt > MX_TIMEOUT_MAX) {
		errno = EINVAL;
		return (NULL);
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	m->r = r;
	m->done = done;
	m->arg = arg;
	m->timeout_ms = conf->rt * 1000;
	m->res.reason = "";
	if ((m->ev = evtimer_new(dns_base(r), mx_on_timer, m)) == NULL) {
		free(m);
		errno = ENOMEM;
		return (NULL);
	}
	if (mx_parse_forward_to(forward_to, &m->t, &e) == -1) {
		mx_set(m, MX_FAIL, "invalid ForwardTo");
		mx_defer(m);
		return (m);
	}
	if (m->t.literal) {
		mx_address(m, (struct sockaddr *)&m->t.addr);
		mx_defer(m);
		return (m);
	}
	m->state = MX_S_MX;
	if ((m->q = dns_query_mx(r, m->t.domain, m->timeout_ms, mx_on_mx,
	    m)) == NULL) {
		mx_free(m);
		return (NULL);
	}
	tv.tv_sec = conf->rt;
	tv.tv_usec = 0;
	evtimer_add(m->ev, &tv);
	return (m);
}

void
mx_route_cancel(struct mx_route *m)
{
	if (m == NULL)
		return;
	dns_cancel(m->q);
	mx_free(m);
}

static void
mx_free(struct mx_route *m)
{
	event_free(m->ev);
	free(m);
}

/* Report from the event loop (never from inside mx_route_start()). */
static void
mx_defer(struct mx_route *m)
{
	struct timeval	 tv = { 0, 0 };

	m->state = MX_S_REPORT;
	evtimer_add(m->ev, &tv);
}

/* Call done() and free m. */
static void
mx_report(struct mx_route *m)
{
	m->done(m->arg, &m->res);
	mx_free(m);
}

static void
mx_set(struct mx_route *m, enum mx_status status, const char *reason)
{
	m->res.status = status;
	m->res.reason = reason;
	m->res.address[0] = '\0';
}

/* The routing result is sa (port set): clear for 0.0.0.0 or ::. */
static void
mx_address(struct mx_route *m, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY)) {
			mx_set(m, MX_CLEAR, "");
			return;
		}
	} else {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
			mx_set(m, MX_CLEAR, "");
			return;
		}
	}
	if (dns_addr_hostport(sa, m->res.address,
	    sizeof(m->res.address)) == -1) {
		mx_set(m, MX_FAIL, "unusable address");
		return;
	}
	m->res.status = MX_OK;
	m->res.reason = "";
}

static void
mx_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mx_route	*m = arg;

	if (m->state != MX_S_REPORT) {
		dns_cancel(m->q);
		m->q = NULL;
		mx_set(m, MX_TEMP, "DNS timeout");
	}
	mx_report(m);		/* m is gone */
}

static void
mx_on_mx(void *arg, const struct dns_result *res)
{
	struct mx_route	*m = arg;
	size_t		 i;

	m->q = NULL;
	switch (res->status) {
	case DNS_OK:
		for (i = 0; i < res->nmx && i < DNS_MX_MAX; i++)
			m->mx[i] = res->mx[i];
		m->nmx = i;
		if (m->nmx == 1 && m->mx[0].host[0] == '\0') {
			mx_set(m, MX_FAIL, "the domain accepts no mail "
			    "(null MX)");
			break;
		}
		m->state = MX_S_ADDR;
		mx_next(m);
		return;
	case DNS_NODATA:
		/* RFC 5321 5.1: the domain itself is the exchanger. */
		m->state = MX_S_IMPLICIT;
		(void)strlcpy(m->res.exchanger, m->t.domain,
		    sizeof(m->res.exchanger));
		if ((m->q = dns_query_addr(m->r, m->t.domain, m->t.port,
		    m->timeout_ms, mx_on_addr, m)) != NULL)
			return;
		mx_set(m, MX_TEMP, "DNS resolver unavailable");
		break;
	case DNS_NXDOMAIN:
		mx_set(m, MX_FAIL, "no such domain");
		break;
	case DNS_TIMEOUT:
		mx_set(m, MX_TEMP, "DNS timeout");
		break;
	case DNS_CANCELLED:
		mx_set(m, MX_TEMP, "DNS resolver closed");
		break;
	default:
		mx_set(m, MX_TEMP, "DNS server failure");
		break;
	}
	mx_report(m);		/* m is gone */
}

/* Ask for the addresses of the next exchanger, or report. */
static void
mx_next(struct mx_route *m)
{
	const char	*host;

	while (m->next < m->nmx) {
		host = m->mx[m->next++].host;
		if (host[0] == '\0')
			continue;	/* "." among real exchangers */
		(void)strlcpy(m->res.exchanger, host,
		    sizeof(m->res.exchanger));
		if ((m->q = dns_query_addr(m->r, host, m->t.port,
		    m->timeout_ms, mx_on_addr, m)) != NULL)
			return;
		if (errno == EAGAIN) {
			mx_set(m, MX_TEMP, "DNS resolver unavailable");
			mx_report(m);	/* m is gone */
			return;
		}
		m->temp = 1;
	}
	m->res.exchanger[0] = '\0';
	if (m->temp)
		mx_set(m, MX_TEMP, "no mail exchanger address: DNS timeout "
		    "or server failure");
	else
		mx_set(m, MX_FAIL, "no address for any mail exchanger");
	mx_report(m);		/* m is gone */
}

static void
mx_on_addr(void *arg, const struct dns_result *res)
{
	struct mx_route	*m = arg;

	m->q = NULL;
	if (res->status == DNS_OK) {
		mx_address(m, (const struct sockaddr *)&res->addr[0]);
		mx_report(m);	/* m is gone */
		return;
	}
	if (res->status == DNS_CANCELLED) {
		mx_set(m, MX_TEMP, "DNS resolver closed");
		mx_report(m);	/* m is gone */
		return;
	}
	if (m->state == MX_S_ADDR) {
		if (res->status == DNS_TIMEOUT || res->status == DNS_ERROR)
			m->temp = 1;
		mx_next(m);
		return;
	}
	switch (res->status) {
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		mx_set(m, MX_FAIL, "no MX record and no address for the "
		    "domain");
		break;
	case DNS_TIMEOUT:
		mx_set(m, MX_TEMP, "DNS timeout");
		break;
	default:
		mx_set(m, MX_TEMP, "DNS server failure");
		break;
	}
	mx_report(m);		/* m is gone */
}
