/*
 * DNSBL checks (dnsbl.h): the parallel A queries of one client against
 * every zone (the --dnsbl parser is in common/lookupconf.c).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "netaddr.h"
#include "dns.h"
#include "dnsbl.h"

#define DNSBL_TRY_MIN		50	/* shortest try timeout, ms */

struct dnsbl_zq {
	struct dnsbl_check	*c;
	size_t			 i;
	struct dns_query	*q;	/* outstanding, or NULL */
};

struct dnsbl_check {
	struct dns		*r;
	struct event		*ev;	/* report without queries */
	int			 threshold;
	int			 timeout_ms;
	int			 skipped;
	size_t			 nzones;
	size_t			 npending;
	struct dnsbl_zq		*zq;
	struct dnsbl_zone	*zr;
	char			(*names)[DNSBL_ZONE_MAX];
	char			 client[INET6_ADDRSTRLEN];
	void			(*done)(void *, const struct dnsbl_result *);
	void			*arg;
};

static void	 dnsbl_on_answer(void *, const struct dns_result *);
static void	 dnsbl_on_timer(evutil_socket_t, short, void *);
static void	 dnsbl_finish(struct dnsbl_check *);
static void	 dnsbl_free(struct dnsbl_check *);

int
dnsbl_exempt(const struct sockaddr *sa)
{
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return (1);
	return (netaddr_is_local(sa));
}

int
dnsbl_qname(const struct sockaddr *sa, const char *zone, char *buf,
    size_t bufsz)
{
	static const char	 hex[] = "0123456789abcdef";
	static const uint8_t	 mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t		*b;
	char			 rev[80];
	size_t			 n = 0;
	int			 i, r;

	if (bufsz == 0)
		return (-1);
	buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
		r = snprintf(rev, sizeof(rev), "%u.%u.%u.%u", b[3], b[2],
		    b[1], b[0]);
	} else if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(b, mapped, sizeof(mapped)) == 0)
			r = snprintf(rev, sizeof(rev), "%u.%u.%u.%u", b[15],
			    b[14], b[13], b[12]);
		else {
			for (i = 15; i >= 0; i--) {
				rev[n++] = hex[b[i] & 0x0f];
				rev[n++] = '.';
				rev[n++] = hex[b[i] >> 4];
				rev[n++] = '.';
			}
			rev[n - 1] = '\0';
			r = (int)(n - 1);
		}
	} else
		return (-1);
	if (r < 0 || (size_t)r >= sizeof(rev))
		return (-1);
	r = snprintf(buf, bufsz, "%s.%s", rev, zone);
	if (r < 0 || (size_t)r >= bufsz || r > 253) {
		buf[0] = '\0';
		return (-1);
	}
	return (0);
}

struct dns *
dnsbl_resolver_new(struct event_base *base, const struct dnsbl_conf *conf,
    const char **errstr)
{
	int	 t;

	t = conf->timeout_ms < 0 ? -conf->timeout_ms : conf->timeout_ms;
	t /= 2;
	if (t < DNSBL_TRY_MIN)
		t = DNSBL_TRY_MIN;
	return (dns_new(base, conf->server, t, errstr));
}

struct dnsbl_check *
dnsbl_start(struct dns *r, const struct dnsbl_conf *conf,
    const struct sockaddr *client,
    void (*done)(void *, const struct dnsbl_result *), void *arg)
{
	struct dnsbl_check	*c;
	struct timeval		 tv = { 0, 0 };
	char			 name[DNS_NAME_MAX];
	size_t			 i;
	int			 t;

	if (r == NULL || conf == NULL || client == NULL || done == NULL ||
	    conf->nzones == 0 || conf->nzones > DNSBL_ZONES_MAX ||
	    conf->timeout_ms == 0 || conf->timeout_ms < -DNS_TIMEOUT_MAX ||
	    conf->timeout_ms > DNS_TIMEOUT_MAX) {
		errno = EINVAL;
		return (NULL);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->r = r;
	c->done = done;
	c->arg = arg;
	c->threshold = conf->threshold;
	c->timeout_ms = conf->timeout_ms;
	c->nzones = conf->nzones;
	netaddr_ip(client, c->client, sizeof(c->client));
	if ((c->ev = evtimer_new(dns_base(r), dnsbl_on_timer, c)) == NULL ||
	    (c->zq = calloc(c->nzones, sizeof(*c->zq))) == NULL ||
	    (c->zr = calloc(c->nzones, sizeof(*c->zr))) == NULL ||
	    (c->names = calloc(c->nzones, sizeof(*c->names))) == NULL) {
		dnsbl_free(c);
		errno = ENOMEM;
		return (NULL);
	}
	for (i = 0; i < c->nzones; i++) {
		(void)strlcpy(c->names[i], conf->zones[i],
		    sizeof(c->names[i]));
		c->zr[i].zone = c->names[i];
		c->zr[i].status = DNSBL_Z_CLEAN;
		c->zq[i].c = c;
		c->zq[i].i = i;
	}
	if (dnsbl_exempt(client)) {
		c->skipped = 1;
		evtimer_add(c->ev, &tv);
		return (c);
	}
	t = c->timeout_ms < 0 ? -c->timeout_ms : c->timeout_ms;
	for (i = 0; i < c->nzones; i++) {
		if (dnsbl_qname(client, c->names[i], name,
		    sizeof(name)) == -1 || (c->zq[i].q = dns_query_a(r, name,
		    t, dnsbl_on_answer, &c->zq[i])) == NULL) {
			c->zr[i].status = DNSBL_Z_FAILED;
			continue;
		}
		c->npending++;
	}
	if (c->npending == 0)
		evtimer_add(c->ev, &tv);
	return (c);
}

void
dnsbl_cancel(struct dnsbl_check *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nzones; i++)
		dns_cancel(c->zq[i].q);
	dnsbl_free(c);
}

static void
dnsbl_free(struct dnsbl_check *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	free(c->zq);
	free(c->zr);
	free(c->names);
	free(c);
}

static void
dnsbl_on_answer(void *arg, const struct dns_result *res)
{
	struct dnsbl_zq			*zq = arg;
	struct dnsbl_check		*c = zq->c;
	struct dnsbl_zone		*z = &c->zr[zq->i];
	const struct sockaddr_in	*sin;
	uint32_t			 a;
	size_t				 i;
	int				 listed;

	zq->q = NULL;
	switch (res->status) {
	case DNS_OK:
		z->status = DNSBL_Z_FAILED;
		for (i = 0; i < res->naddr; i++) {
			if (res->addr[i].ss_family != AF_INET)
				continue;
			sin = (const struct sockaddr_in *)&res->addr[i];
			a = ntohl(sin->sin_addr.s_addr);
			listed = (a >> 24) == 127 && (a >> 8) != 0x7fffff;
			if (listed || z->answer[0] == '\0')
				(void)inet_ntop(AF_INET, &sin->sin_addr,
				    z->answer, sizeof(z->answer));
			if (listed) {
				z->status = DNSBL_Z_LISTED;
				break;
			}
		}
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		z->status = DNSBL_Z_CLEAN;
		break;
	case DNS_TIMEOUT:
		z->status = DNSBL_Z_TIMEOUT;
		break;
	default:
		z->status = DNSBL_Z_FAILED;
		break;
	}
	if (--c->npending == 0)
		dnsbl_finish(c);	/* c is gone */
}

static void
dnsbl_on_timer(evutil_socket_t fd, short what, void *arg)
{
	dnsbl_finish(arg);		/* the check is gone */
}

/* Count, decide, report and free c. */
static void
dnsbl_finish(struct dnsbl_check *c)
{
	struct dnsbl_result	 res;
	size_t			 i;

	memset(&res, 0, sizeof(res));
	res.allow = 1;
	res.skipped = c->skipped;
	res.threshold = c->threshold;
	res.client = c->client;
	if (!c->skipped) {
		res.nzones = c->nzones;
		res.zones = c->zr;
		for (i = 0; i < c->nzones; i++) {
			switch (c->zr[i].status) {
			case DNSBL_Z_LISTED:
				res.listed++;
				break;
			case DNSBL_Z_TIMEOUT:
				res.timed_out++;
				break;
			case DNSBL_Z_FAILED:
				res.failed++;
				break;
			default:
				break;
			}
		}
		if (c->threshold > 0 && (res.listed >= c->threshold ||
		    (c->timeout_ms < 0 && res.listed + res.timed_out +
		    res.failed >= c->threshold)))
			res.allow = 0;
	}
	c->done(c->arg, &res);
	dnsbl_free(c);
}

char *
dnsbl_listed_str(const struct dnsbl_result *res, char *buf, size_t bufsz)
{
	size_t	 i, len = 0, zl;

	if (bufsz == 0)
		return (buf);
	buf[0] = '\0';
	for (i = 0; i < res->nzones; i++) {
		if (res->zones[i].status != DNSBL_Z_LISTED)
			continue;
		zl = strlen(res->zones[i].zone);
		if (len + (len > 0) + zl >= bufsz) {
			if (bufsz >= 4) {
				if (len > bufsz - 4)
					len = bufsz - 4;
				memcpy(buf + len, "...", 4);
			}
			break;
		}
		if (len > 0)
			buf[len++] = ',';
		memcpy(buf + len, res->zones[i].zone, zl);
		len += zl;
		buf[len] = '\0';
	}
	return (buf);
}
