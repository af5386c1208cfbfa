/*
 * The lookup process's resolvers and connections (lookupnet.h): one
 * c-ares channel per distinct DNS server setting, the socket address of
 * a built-in's server, and non-blocking connects under an io.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "io.h"
#include "log.h"
#include "lookupconf.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "dns.h"
#include "dnsbl.h"
#include "mx.h"
#include "lookup.h"
#include "lookupnet.h"

#define LNET_RESOLVERS_MAX	64	/* distinct DNS settings kept */
#define LNET_TRY_MS		2000	/* try timeout for host names */
#define LNET_DNSBL_TRY_MIN	50	/* shortest DNSBL try, ms */

/* One c-ares channel: a DNS server setting and its try timeout. */
struct lnet_res {
	char		 server[DNS_ADDRSTR_MAX];	/* "" = resolv.conf */
	int		 try_ms;
	struct dns	*r;
};

struct lnet_resolve {
	struct lookup_ctx	*ctx;
	struct event		*ev;	/* deferred report */
	struct dns_query	*q;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*errstr;
	void			(*done)(void *, const struct sockaddr *,
				    socklen_t, const char *);
	void			*arg;
};

static struct lnet_res	 lnet_res[LNET_RESOLVERS_MAX];
static size_t		 lnet_nres;

static void	 lnet_init_value(struct lookup_ctx *, const char *);
static void	 lnet_resolve_defer(struct lnet_resolve *);
static void	 lnet_on_resolve_timer(evutil_socket_t, short, void *);
static void	 lnet_on_resolve_dns(void *, const struct dns_result *);
static int	 lnet_is_localhost(const char *);

void
lnet_init(struct lookup_ctx *ctx)
{
	const struct config	*c = &ctx->boot->conf;
	const struct instconf	*ic;
	const struct optval	*ov;
	struct dnsbl_conf	 bl;
	const char		*e;
	size_t			 k, i;

	for (k = 0; k < c->ninst; k++) {
		ic = &c->inst[k];
		if (conf_bool(ic, OPT_DNSBL) && dnsbl_conf_parse(conf_str(ic,
		    OPT_DNSBL), &bl, &e) == 0 &&
		    lnet_dnsbl_resolver(ctx, &bl, &e) == NULL)
			log_warnx("lookup: dnsbl resolver: %s", e);
		ov = &ic->opt[OPT_FILTER];
		for (i = 0; ov->set && i < ov->nlist; i++)
			lnet_init_value(ctx, ov->list[i]);
		ov = &ic->opt[OPT_CLIENT_FILTER];
		for (i = 0; ov->set && i < ov->nlist; i++)
			lnet_init_value(ctx, ov->list[i]);
		if (conf_bool(ic, OPT_ADDRESS_VERIFIER))
			lnet_init_value(ctx, conf_str(ic,
			    OPT_ADDRESS_VERIFIER));
	}
}

/* The resolver a filter or verifier value needs, if any. */
static void
lnet_init_value(struct lookup_ctx *ctx, const char *v)
{
	struct mx_conf	 mc;
	struct hostport	 hp;
	const char	*e, *addr = NULL;

	if (v == NULL)
		return;
	if (strncmp(v, "mx:", 3) == 0) {
		if (mx_parse_options(v + 3, &mc, &e) == 0 &&
		    lnet_resolver(ctx, mc.server, mc.nst * 1000, &e) == NULL)
			log_warnx("lookup: mx: resolver: %s", e);
		return;
	}
	if (strncmp(v, "net:", 4) == 0)
		addr = v + 4;
	else if (strncmp(v, "spam:", 5) == 0)
		addr = v + 5;
	else if (strncmp(v, "spam-edit:", 10) == 0)
		addr = v + 10;
	if (addr == NULL || netaddr_parse_hostport(addr, 0, &hp, &e) == -1 ||
	    hp.is_unix || netaddr_is_ip(hp.host) ||
	    lnet_is_localhost(hp.host))
		return;
	if (lnet_resolver(ctx, "", LNET_TRY_MS, &e) == NULL)
		log_warnx("lookup: resolver: %s", e);
}

struct dns *
lnet_resolver(struct lookup_ctx *ctx, const char *server, int try_ms,
    const char **errstr)
{
	struct lnet_res	*lr;
	size_t		 i;

	if (server == NULL)
		server = "";
	for (i = 0; i < lnet_nres; i++) {
		lr = &lnet_res[i];
		if (lr->try_ms == try_ms && strcmp(lr->server, server) == 0)
			return (lr->r);
	}
	if (lnet_nres == LNET_RESOLVERS_MAX) {
		*errstr = "too many DNS server settings";
		return (NULL);
	}
	lr = &lnet_res[lnet_nres];
	if (strlcpy(lr->server, server, sizeof(lr->server)) >=
	    sizeof(lr->server)) {
		*errstr = "DNS server address too long";
		return (NULL);
	}
	if ((lr->r = dns_new(ctx->base, server, try_ms, errstr)) == NULL)
		return (NULL);
	lr->try_ms = try_ms;
	lnet_nres++;
	return (lr->r);
}

void
lnet_shutdown(void)
{
	size_t	 i;

	for (i = 0; i < lnet_nres; i++)
		dns_free(lnet_res[i].r);
	lnet_nres = 0;
}

struct dns *
lnet_dnsbl_resolver(struct lookup_ctx *ctx, const struct dnsbl_conf *bl,
    const char **errstr)
{
	int	 t;

	/* As dnsbl_resolver_new(): tries of half the check's timeout. */
	t = bl->timeout_ms < 0 ? -bl->timeout_ms : bl->timeout_ms;
	t /= 2;
	if (t < LNET_DNSBL_TRY_MIN)
		t = LNET_DNSBL_TRY_MIN;
	return (lnet_resolver(ctx, bl->server, t, errstr));
}

/* RFC 6761: "localhost" and names below it are the loopback host. */
static int
lnet_is_localhost(const char *host)
{
	size_t	 len = strlen(host);

	if (len > 0 && host[len - 1] == '.')
		len--;
	return ((len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (len > 10 && strncasecmp(host + len - 10, ".localhost", 10) ==
	    0));
}

struct lnet_resolve *
lnet_resolve_start(struct lookup_ctx *ctx, const char *addr, int timeout_ms,
    void (*done)(void *, const struct sockaddr *, socklen_t, const char *),
    void *arg)
{
	struct lnet_resolve	*r;
	struct hostport		 hp;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct sockaddr_un	*sun;
	struct dns		*d;
	const char		*e;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	r->ctx = ctx;
	r->done = done;
	r->arg = arg;
	if ((r->ev = evtimer_new(ctx->base, lnet_on_resolve_timer, r)) ==
	    NULL) {
		free(r);
		return (NULL);
	}
	if (netaddr_parse_hostport(addr, 0, &hp, &e) == -1) {
		r->errstr = e;
		lnet_resolve_defer(r);
		return (r);
	}
	sin = (struct sockaddr_in *)&r->ss;
	sin6 = (struct sockaddr_in6 *)&r->ss;
	sun = (struct sockaddr_un *)&r->ss;
	if (hp.is_unix) {
		sun->sun_family = AF_UNIX;
		if (strlcpy(sun->sun_path, hp.host, sizeof(sun->sun_path)) >=
		    sizeof(sun->sun_path))
			r->errstr = "unix socket path too long";
		r->sslen = sizeof(*sun);
	} else if (inet_pton(AF_INET, hp.host, &sin->sin_addr) == 1 ||
	    lnet_is_localhost(hp.host)) {
		if (lnet_is_localhost(hp.host))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)hp.port);
		r->sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, hp.host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)hp.port);
		r->sslen = sizeof(*sin6);
	} else {
		/* A host name. */
		if ((d = lnet_resolver(ctx, "", LNET_TRY_MS, &e)) == NULL)
			r->errstr = e;
		else if ((r->q = dns_query_addr(d, hp.host, hp.port,
		    timeout_ms > 0 ? timeout_ms : LNET_TRY_MS * 3,
		    lnet_on_resolve_dns, r)) == NULL)
			r->errstr = errno == EINVAL ? "invalid host name" :
			    "DNS resolver busy";
		else
			return (r);
	}
	lnet_resolve_defer(r);
	return (r);
}

void
lnet_resolve_cancel(struct lnet_resolve *r)
{
	if (r == NULL)
		return;
	dns_cancel(r->q);
	event_free(r->ev);
	free(r);
}

/* Report from the event loop. */
static void
lnet_resolve_defer(struct lnet_resolve *r)
{
	struct timeval	 tv = { 0, 0 };

	evtimer_add(r->ev, &tv);
}

static void
lnet_on_resolve_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lnet_resolve	*r = arg;

	if (r->errstr != NULL)
		r->done(r->arg, NULL, 0, r->errstr);
	else
		r->done(r->arg, (struct sockaddr *)&r->ss, r->sslen, NULL);
	event_free(r->ev);
	free(r);
}

static void
lnet_on_resolve_dns(void *arg, const struct dns_result *res)
{
	struct lnet_resolve	*r = arg;

	r->q = NULL;
	if (res->status == DNS_OK && res->naddr > 0) {
		memcpy(&r->ss, &res->addr[0], sizeof(r->ss));
		r->sslen = r->ss.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	} else
		r->errstr = dns_status_str(res->status);
	lnet_on_resolve_timer(-1, 0, r);	/* r is gone */
}

struct io *
lnet_io_connect(struct lookup_ctx *ctx, const struct sockaddr *sa,
    socklen_t salen, int timeout_ms, void (*cb)(struct io *, int, void *),
    void *arg)
{
	struct io	*io;
	int		 fd, saved;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (NULL);
	if ((io = io_new(ctx->base, fd, cb, arg)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved != 0 ? saved : ENOMEM;
		return (NULL);
	}
	io_set_timeout(io, timeout_ms);
	if (io_connect(io, sa, salen) == -1) {
		saved = errno;
		io_free(io);
		errno = saved;
		return (NULL);
	}
	return (io);
}

/* An MSG_MTA_RESOLVE being answered. */
struct lnet_mta_req {
	struct lookup_ctx	*ctx;
	uint64_t		 id;
};

static void
lnet_mta_reply(struct lookup_ctx *ctx, uint64_t id, uint32_t status,
    const char *text)
{
	struct msgchan	*out = &ctx->peer[PROC_MTA].m;

	msg_reply_begin(out, MSG_MTA_RESOLVE, id, -1);
	msg_put_u32(out, status);
	msg_put_str(out, text);
	msg_end(out);
	chan_flush(&ctx->peer[PROC_MTA]);
}

static void
lnet_on_mta_resolved(void *arg, const struct sockaddr *sa, socklen_t salen,
    const char *errstr)
{
	struct lnet_mta_req	*q = arg;
	char			 ip[INET6_ADDRSTRLEN];
	const void		*a;

	if (sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6)) {
		a = sa->sa_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (inet_ntop(sa->sa_family, a, ip, sizeof(ip)) != NULL) {
			lnet_mta_reply(q->ctx, q->id, MSG_OK, ip);
			free(q);
			return;
		}
		errstr = "bad address";
	}
	lnet_mta_reply(q->ctx, q->id, MSG_TEMPFAIL,
	    errstr != NULL ? errstr : "no address");
	free(q);
}

void
lnet_mta_resolve(struct lookup_ctx *ctx, struct msg *m)
{
	struct lnet_mta_req	*q;
	char			 host[DNS_NAME_MAX + 1], addr[DNS_NAME_MAX + 8];

	if (msg_get_str(m, host, sizeof(host)) == -1 ||
	    msg_get_end(m) == -1 || m->id == 0)
		fatalx("lookup: bad %s from mta", msg_type_name(m->type));
	if (host[0] == '\0' || host[0] == '/' || strchr(host, ':') != NULL) {
		lnet_mta_reply(ctx, m->id, MSG_TEMPFAIL, "invalid host name");
		return;
	}
	(void)snprintf(addr, sizeof(addr), "%s:25", host);
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		lnet_mta_reply(ctx, m->id, MSG_TEMPFAIL, "out of memory");
		return;
	}
	q->ctx = ctx;
	q->id = m->id;
	if (lnet_resolve_start(ctx, addr, 0, lnet_on_mta_resolved, q) ==
	    NULL) {
		free(q);
		lnet_mta_reply(ctx, m->id, MSG_TEMPFAIL, "out of memory");
	}
}
