/*
 * lookup/dns.c and lookup/mx.c against the fake DNS server of
 * fakedns.h on 127.0.0.1: address and MX queries, ordering and caps,
 * NXDOMAIN, NODATA, timeouts, server failures, broken and truncated
 * replies (TCP fallback), cancellation and freeing the resolver with
 * queries outstanding; the mx: option and ForwardTo parsers and the
 * routing rules of SPEC 6.3.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "netaddr.h"
#include "lookup/dns.h"
#include "lookup/mx.h"
#include "fakedns.h"
#include "t.h"

/* A copy of what a dns callback saw. */
struct t_dres {
	int		 called;
	enum dns_status	 status;
	size_t		 naddr;
	char		 addr[DNS_ADDR_MAX][DNS_ADDRSTR_MAX];
	size_t		 nmx;
	struct dns_mx	 mx[DNS_MX_MAX];
	long		 ms;		/* since t_env's start */
	struct t_env	*env;
	struct dns	*free_r;	/* dns_free() this in the callback */
	struct dns_query *cancel_q;	/* dns_cancel() this in the callback */
};

/* A copy of what an mx callback saw. */
struct t_mres {
	int		 called;
	enum mx_status	 status;
	char		 address[DNS_ADDRSTR_MAX];
	char		 exchanger[DNS_NAME_MAX];
	char		 reason[128];
};

struct t_env {
	struct event_base	*base;
	struct fakedns		*fk;
	struct dns		*r;
	struct timespec		 t0;
};

static int	 t_env_init(struct t_env *, int);
static void	 t_env_free(struct t_env *);
static long	 t_env_ms(const struct t_env *);
static void	 t_on_dns(void *, const struct dns_result *);
static void	 t_on_mx(void *, const struct mx_result *);
static int	 t_route(struct t_env *, const char *, int,
		    struct t_mres *);
static void	 t_mail_zone(struct fakedns *);

static int
t_env_init(struct t_env *e, int try_ms)
{
	const char	*err;

	memset(e, 0, sizeof(*e));
	if ((e->base = event_base_new()) == NULL ||
	    (e->fk = fakedns_new(e->base)) == NULL ||
	    (e->r = dns_new(e->base, fakedns_server(e->fk), try_ms,
	    &err)) == NULL) {
		t_env_free(e);
		return (-1);
	}
	clock_gettime(CLOCK_MONOTONIC, &e->t0);
	return (0);
}

static void
t_env_free(struct t_env *e)
{
	dns_free(e->r);
	fakedns_free(e->fk);
	if (e->base != NULL)
		event_base_free(e->base);
}

static long
t_env_ms(const struct t_env *e)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((t.tv_sec - e->t0.tv_sec) * 1000 +
	    (t.tv_nsec - e->t0.tv_nsec) / 1000000);
}

static void
t_on_dns(void *arg, const struct dns_result *res)
{
	struct t_dres	*d = arg;
	size_t		 i;

	d->called++;
	d->status = res->status;
	d->naddr = res->naddr;
	for (i = 0; i < res->naddr && i < DNS_ADDR_MAX; i++)
		(void)dns_addr_hostport((const struct sockaddr *)&res->addr[i],
		    d->addr[i], sizeof(d->addr[i]));
	d->nmx = res->nmx;
	for (i = 0; i < res->nmx && i < DNS_MX_MAX; i++)
		d->mx[i] = res->mx[i];
	if (d->env != NULL)
		d->ms = t_env_ms(d->env);
	if (d->free_r != NULL)
		dns_free(d->free_r);
	if (d->cancel_q != NULL)
		dns_cancel(d->cancel_q);
}

static void
t_on_mx(void *arg, const struct mx_result *res)
{
	struct t_mres	*m = arg;

	m->called++;
	m->status = res->status;
	(void)snprintf(m->address, sizeof(m->address), "%s", res->address);
	(void)snprintf(m->exchanger, sizeof(m->exchanger), "%s",
	    res->exchanger);
	(void)snprintf(m->reason, sizeof(m->reason), "%s", res->reason);
}

/* Route fwd with rt seconds; 0 when done() was called once. */
static int
t_route(struct t_env *e, const char *fwd, int rt, struct t_mres *m)
{
	struct mx_conf	 conf;
	const char	*err;

	memset(m, 0, sizeof(*m));
	if (mx_parse_options("", &conf, &err) == -1)
		return (-1);
	conf.rt = rt;
	if (mx_route_start(e->r, fwd, &conf, t_on_mx, m) == NULL)
		return (-1);
	if (m->called != 0)
		return (-1);		/* never from inside the start */
	(void)fakedns_run(e->base, &m->called, (long)rt * 1000 + 2000);
	return (m->called == 1 ? 0 : -1);
}

TEST(dns_parse_server_forms)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	const char		*err;
	char			 buf[DNS_ADDRSTR_MAX];

	T_EQ_INT(dns_parse_server("127.0.0.1", &ss, &err), 0);
	T_EQ_INT(ss.ss_family, AF_INET);
	T_EQ_INT(ntohs(sin->sin_port), 53);
	T_EQ_INT(dns_parse_server("192.0.2.53:5353", &ss, &err), 0);
	T_EQ_INT(ntohs(sin->sin_port), 5353);
	T_EQ_INT(dns_addr_hostport((struct sockaddr *)&ss, buf, sizeof(buf)),
	    0);
	T_EQ_STR(buf, "192.0.2.53:5353");
	T_EQ_INT(dns_parse_server("::1", &ss, &err), 0);
	T_EQ_INT(ss.ss_family, AF_INET6);
	T_EQ_INT(ntohs(sin6->sin6_port), 53);
	/* A whole IPv6 address is an address, not host:port. */
	T_EQ_INT(dns_parse_server("2001:db8::53", &ss, &err), 0);
	T_EQ_INT(ntohs(sin6->sin6_port), 53);
	T_EQ_INT(dns_addr_hostport((struct sockaddr *)&ss, buf, sizeof(buf)),
	    0);
	T_EQ_STR(buf, "[2001:db8::53]:53");
	T_EQ_INT(dns_parse_server("[2001:db8::1]:5353", &ss, &err), 0);
	T_EQ_INT(ntohs(sin6->sin6_port), 5353);
	T_EQ_INT(dns_parse_server("ns.example.test:53", &ss, &err), -1);
	T_EQ_STR(err, "the DNS server must be an IP address");
	T_EQ_INT(dns_parse_server("", &ss, &err), -1);
	T_EQ_INT(dns_parse_server("127.0.0.1:0", &ss, &err), -1);
	T_EQ_INT(dns_parse_server("127.0.0.1:65536", &ss, &err), -1);
	T_EQ_INT(dns_parse_server("/run/dns.sock", &ss, &err), -1);
	T_EQ_INT(dns_parse_server("1.2.3", &ss, &err), -1);
	T_EQ_INT(dns_parse_server("[::1]", &ss, &err), -1);
}

TEST(dns_hostport_roundtrip)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct hostport		 hp;
	const char		*err;
	char			 buf[DNS_ADDRSTR_MAX];

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(25);
	T_ASSERT(inet_pton(AF_INET6, "2001:db8::25", &sin6->sin6_addr) == 1);
	T_EQ_INT(dns_addr_hostport((struct sockaddr *)&ss, buf, sizeof(buf)),
	    0);
	T_EQ_STR(buf, "[2001:db8::25]:25");
	/* What the mta's parser reads back. */
	T_EQ_INT(netaddr_parse_hostport(buf, 0, &hp, &err), 0);
	T_EQ_STR(hp.host, "2001:db8::25");
	T_EQ_INT(hp.port, 25);
	T_EQ_INT(dns_addr_hostport((struct sockaddr *)&ss, buf, 10), -1);
	T_EQ_STR(buf, "");
	ss.ss_family = AF_UNIX;
	T_EQ_INT(dns_addr_hostport((struct sockaddr *)&ss, buf, sizeof(buf)),
	    -1);
}

TEST(dns_addr_ipv4_first)
{
	struct t_env	 e;
	struct t_dres	 d;

	T_ASSERT(t_env_init(&e, 500) == 0);
	T_EQ_INT(fakedns_add(e.fk, "host.test", FK_T_AAAA, FK_RECORD,
	    "2001:db8::1"), 0);
	T_EQ_INT(fakedns_add(e.fk, "host.test", FK_T_A, FK_RECORD,
	    "192.0.2.1"), 0);
	T_EQ_INT(fakedns_add(e.fk, "host.test", FK_T_A, FK_RECORD,
	    "192.0.2.2"), 0);
	memset(&d, 0, sizeof(d));
	T_ASSERT(dns_query_addr(e.r, "host.test", 2525, 2000, t_on_dns, &d) !=
	    NULL);
	T_EQ_INT(d.called, 0);
	(void)fakedns_run(e.base, &d.called, 3000);
	T_EQ_INT(d.called, 1);
	T_EQ_INT(d.status, DNS_OK);
	T_EQ_INT(d.naddr, 3);
	T_EQ_STR(d.addr[0], "192.0.2.1:2525");
	T_EQ_STR(d.addr[1], "192.0.2.2:2525");
	T_EQ_STR(d.addr[2], "[2001:db8::1]:2525");
	T_ASSERT(fakedns_asked(e.fk, "host.test"));
	T_EQ_INT(fakedns_count(e.fk), 2);	/* A and AAAA */
	t_env_free(&e);
}

TEST(dns_addr_literal_no_dns)
{
	struct t_env	 e;
	struct t_dres	 d4, d6;

	T_ASSERT(t_env_init(&e, 500) == 0);
	memset(&d4, 0, sizeof(d4));
	memset(&d6, 0, sizeof(d6));
	T_ASSERT(dns_query_addr(e.r, "192.0.2.9", 25, 1000, t_on_dns, &d4) !=
	    NULL);
	T_ASSERT(dns_query_addr(e.r, "2001:db8::9", 26, 1000, t_on_dns,
	    &d6) != NULL);
	T_EQ_INT(d4.called, 0);
	(void)fakedns_run(e.base, &d6.called, 1000);
	T_EQ_INT(d4.called, 1);
	T_EQ_INT(d6.called, 1);
	T_EQ_INT(d4.status, DNS_OK);
	T_EQ_STR(d4.addr[0], "192.0.2.9:25");
	T_EQ_STR(d6.addr[0], "[2001:db8::9]:26");
	T_EQ_INT(fakedns_count(e.fk), 0);
	t_env_free(&e);
}

TEST(dns_nxdomain_nodata)
{
	struct t_env	 e;
	struct t_dres	 nx, nd, ndmx, nda;

	T_ASSERT(t_env_init(&e, 500) == 0);
	T_EQ_INT(fakedns_add(e.fk, "mxonly.test", FK_T_MX, FK_RECORD,
	    "10 mx.mxonly.test"), 0);
	T_EQ_INT(fakedns_add(e.fk, "aonly.test", FK_T_A, FK_RECORD,
	    "192.0.2.3"), 0);
	memset(&nx, 0, sizeof(nx));
	memset(&nd, 0, sizeof(nd));
	memset(&ndmx, 0, sizeof(ndmx));
	memset(&nda, 0, sizeof(nda));
	T_ASSERT(dns_query_addr(e.r, "nope.test", 25, 2000, t_on_dns, &nx) !=
	    NULL);
	T_ASSERT(dns_query_addr(e.r, "mxonly.test", 25, 2000, t_on_dns,
	    &nd) != NULL);
	T_ASSERT(dns_query_mx(e.r, "aonly.test", 2000, t_on_dns, &ndmx) !=
	    NULL);
	T_ASSERT(dns_query_a(e.r, "mxonly.test", 2000, t_on_dns, &nda) !=
	    NULL);
	(void)fakedns_run(e.base, &nx.called, 3000);
	(void)fakedns_run(e.base, &nd.called, 3000);
	(void)fakedns_run(e.base, &ndmx.called, 3000);
	(void)fakedns_run(e.base, &nda.called, 3000);
	T_EQ_INT(nx.called, 1);
	T_EQ_INT(nx.status, DNS_NXDOMAIN);
	T_EQ_INT(nx.naddr, 0);
	T_EQ_INT(nd.called, 1);
	T_EQ_INT(nd.status, DNS_NODATA);
	T_EQ_INT(ndmx.called, 1);
	T_EQ_INT(ndmx.status, DNS_NODATA);
	T_EQ_INT(nda.called, 1);
	T_EQ_INT(nda.status, DNS_NODATA);
	T_EQ_STR(dns_status_str(nx.status), "no such domain");
	t_env_free(&e);
}

TEST(dns_timeout_is_not_nxdomain)
{
	struct t_env	 e;
	struct t_dres	 d;

	T_ASSERT(t_env_init(&e, 100) == 0);
	T_EQ_INT(fakedns_add(e.fk, "slow.test", FK_T_ANY, FK_DROP, NULL), 0);
	memset(&d, 0, sizeof(d));
	d.env = &e;
	T_ASSERT(dns_query_addr(e.r, "slow.test", 25, 300, t_on_dns, &d) !=
	    NULL);
	(void)fakedns_run(e.base, &d.called, 3000);
	T_EQ_INT(d.called, 1);
	T_EQ_INT(d.status, DNS_TIMEOUT);
	T_ASSERT(d.ms >= 250 && d.ms < 1500);
	T_ASSERT(fakedns_count(e.fk) >= 2);	/* A and AAAA, retried */
	t_env_free(&e);
}

TEST(dns_timeouts_per_query)
{
	struct t_env	 e;
	struct t_dres	 d1, d2;

	T_ASSERT(t_env_init(&e, 100) == 0);
	T_EQ_INT(fakedns_add(e.fk, "slow.test", FK_T_ANY, FK_DROP, NULL), 0);
	memset(&d1, 0, sizeof(d1));
	memset(&d2, 0, sizeof(d2));
	d1.env = d2.env = &e;
	T_ASSERT(dns_query_a(e.r, "slow.test", 700, t_on_dns, &d1) != NULL);
	T_ASSERT(dns_query_mx(e.r, "slow.test", 150, t_on_dns, &d2) != NULL);
	(void)fakedns_run(e.base, &d2.called, 3000);
	T_EQ_INT(d2.called, 1);
	T_EQ_INT(d1.called, 0);
	(void)fakedns_run(e.base, &d1.called, 3000);
	T_EQ_INT(d1.called, 1);
	T_EQ_INT(d1.status, DNS_TIMEOUT);
	T_EQ_INT(d2.status, DNS_TIMEOUT);
	T_ASSERT(d2.ms >= 120 && d2.ms < 600);
	T_ASSERT(d1.ms >= 650 && d1.ms < 2000);
	t_env_free(&e);
}

TEST(dns_servfail_and_broken_replies)
{
	struct t_env	 e;
	struct t_dres	 sf, bad, shrt;

	T_ASSERT(t_env_init(&e, 100) == 0);
	T_EQ_INT(fakedns_add(e.fk, "broken.test", FK_T_ANY, FK_SERVFAIL,
	    NULL), 0);
	T_EQ_INT(fakedns_add(e.fk, "bad.test", FK_T_A, FK_BADREC, NULL), 0);
	T_EQ_INT(fakedns_add(e.fk, "short.test", FK_T_ANY, FK_SHORT, NULL),
	    0);
	memset(&sf, 0, sizeof(sf));
	memset(&bad, 0, sizeof(bad));
	memset(&shrt, 0, sizeof(shrt));
	sf.env = bad.env = shrt.env = &e;
	T_ASSERT(dns_query_mx(e.r, "broken.test", 2000, t_on_dns, &sf) !=
	    NULL);
	T_ASSERT(dns_query_a(e.r, "bad.test", 2000, t_on_dns, &bad) != NULL);
	T_ASSERT(dns_query_a(e.r, "short.test", 400, t_on_dns, &shrt) !=
	    NULL);
	(void)fakedns_run(e.base, &sf.called, 3000);
	(void)fakedns_run(e.base, &bad.called, 3000);
	(void)fakedns_run(e.base, &shrt.called, 3000);
	T_EQ_INT(sf.called, 1);
	T_EQ_INT(sf.status, DNS_ERROR);
	T_ASSERT(sf.ms < 1000);			/* no waiting for the timeout */
	T_EQ_INT(bad.called, 1);
	T_EQ_INT(bad.status, DNS_ERROR);
	/* A 3-octet reply is no reply at all. */
	T_EQ_INT(shrt.called, 1);
	T_EQ_INT(shrt.status, DNS_TIMEOUT);
	t_env_free(&e);
}

TEST(dns_mx_sorted_ties_in_answer_order)
{
	struct t_env	 e;
	struct t_dres	 d;

	T_ASSERT(t_env_init(&e, 500) == 0);
	T_EQ_INT(fakedns_add(e.fk, "mx.test", FK_T_MX, FK_RECORD,
	    "20 b1.mx.test"), 0);
	T_EQ_INT(fakedns_add(e.fk, "mx.test", FK_T_MX, FK_RECORD,
	    "10 a1.mx.test"), 0);
	T_EQ_INT(fakedns_add(e.fk, "mx.test", FK_T_MX, FK_RECORD,
	    "30 c.mx.test"), 0);
	T_EQ_INT(fakedns_add(e.fk, "mx.test", FK_T_MX, FK_RECORD,
	    "10 a2.mx.test"), 0);
	T_EQ_INT(fakedns_add(e.fk, "mx.test", FK_T_MX, FK_RECORD,
	    "20 b2.mx.test"), 0);
	memset(&d, 0, sizeof(d));
	T_ASSERT(dns_query_mx(e.r, "mx.test", 2000, t_on_dns, &d) != NULL);
	(void)fakedns_run(e.base, &d.called, 3000);
	T_EQ_INT(d.called, 1);
	T_EQ_INT(d.status, DNS_OK);
	T_EQ_INT(d.nmx, 5);
	T_EQ_STR(d.mx[0].host, "a1.mx.test");
	T_EQ_STR(d.mx[1].host, "a2.mx.test");
	T_EQ_STR(d.mx[2].host, "b1.mx.test");
	T_EQ_STR(d.mx[3].host, "b2.mx.test");
	T_EQ_STR(d.mx[4].host, "c.mx.test");
	T_EQ_INT(d.mx[0].pref, 10);
	T_EQ_INT(d.mx[4].pref, 30);
	t_env_free(&e);
}

TEST(dns_mx_capped_over_tcp)
{
	struct t_env	 e;
	struct t_dres	 d;
	char		 rec[64];
	int		 i;

	T_ASSERT(t_env_init(&e, 500) == 0);
	/* 24 records, most preferred last: too big for UDP. */
	for (i = 24; i >= 1; i--) {
		(void)snprintf(rec, sizeof(rec), "%d exchanger%02d.big.test",
		    100 + i, i);
		T_EQ_INT(fakedns_add(e.fk, "big.test", FK_T_MX, FK_RECORD,
		    rec), 0);
	}
	memset(&d, 0, sizeof(d));
	T_ASSERT(dns_query_mx(e.r, "big.test", 2000, t_on_dns, &d) != NULL);
	(void)fakedns_run(e.base, &d.called, 3000);
	T_EQ_INT(d.called, 1);
	T_EQ_INT(d.status, DNS_OK);
	T_ASSERT(fakedns_tcp_count(e.fk) >= 1);
	T_EQ_INT(d.nmx, DNS_MX_MAX);
	for (i = 0; i < DNS_MX_MAX; i++) {
		(void)snprintf(rec, sizeof(rec), "exchanger%02d.big.test",
		    i + 1);
		T_EQ_INT(d.mx[i].pref, 101 + i);
		T_EQ_STR(d.mx[i].host, rec);
	}
	t_env_free(&e);
}

TEST(dns_addr_capped)
{
	struct t_env	 e;
	struct t_dres	 d;
	char		 a[32];
	int		 i;

	T_ASSERT(t_env_init(&e, 500) == 0);
	for (i = 1; i <= 24; i++) {
		(void)snprintf(a, sizeof(a), "192.0.2.%d", i);
		T_EQ_INT(fakedns_add(e.fk, "many.test", FK_T_A, FK_RECORD, a),
		    0);
	}
	T_EQ_INT(fakedns_add(e.fk, "many.test", FK_T_AAAA, FK_RECORD,
	    "2001:db8::1"), 0);
	memset(&d, 0, sizeof(d));
	T_ASSERT(dns_query_addr(e.r, "many.test", 25, 2000, t_on_dns, &d) !=
	    NULL);
	(void)fakedns_run(e.base, &d.called, 3000);
	T_EQ_INT(d.status, DNS_OK);
	T_EQ_INT(d.naddr, DNS_ADDR_MAX);
	T_EQ_STR(d.addr[0], "192.0.2.1:25");
	T_EQ_STR(d.addr[DNS_ADDR_MAX - 1], "192.0.2.16:25");
	t_env_free(&e);
}

TEST(dns_truncated_udp_retried_over_tcp)
{
	struct t_env	 e;
	struct t_dres	 d;

	T_ASSERT(t_env_init(&e, 500) == 0);
	T_EQ_INT(fakedns_add(e.fk, "tc.test", FK_T_A, FK_TRUNC, NULL), 0);
	T_EQ_INT(fakedns_add(e.fk, "tc.test", FK_T_A, FK_RECORD, "192.0.2.7"),
	    0);
	memset(&d, 0, sizeof(d));
	T_ASSERT(dns_query_a(e.r, "tc.test", 2000, t_on_dns, &d) != NULL);
	(void)fakedns_run(e.base, &d.called, 3000);
	T_EQ_INT(d.called, 1);
	T_EQ_INT(d.status, DNS_OK);
	T_EQ_INT(d.naddr, 1);
	T_EQ_STR(d.addr[0], "192.0.2.7:0");
	T_EQ_INT(fakedns_tcp_count(e.fk), 1);
	t_env_free(&e);
}

TEST(dns_bad_arguments)
{
	struct t_env	 e;
	struct t_dres	 d;
	char		 longname[300];

	T_ASSERT(t_env_init(&e, 500) == 0);
	memset(&d, 0, sizeof(d));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	errno = 0;
	T_ASSERT(dns_query_addr(e.r, "bad name", 25, 1000, t_on_dns, &d) ==
	    NULL);
	T_EQ_INT(errno, EINVAL);
	T_ASSERT(dns_query_mx(e.r, "a..test", 1000, t_on_dns, &d) == NULL);
	T_ASSERT(dns_query_a(e.r, "", 1000, t_on_dns, &d) == NULL);
	T_ASSERT(dns_query_a(e.r, longname, 1000, t_on_dns, &d) == NULL);
	T_ASSERT(dns_query_a(e.r, "ok.test", 0, t_on_dns, &d) == NULL);
	T_ASSERT(dns_query_a(e.r, "ok.test", 1000, NULL, &d) == NULL);
	T_ASSERT(dns_query_addr(e.r, "ok.test", 65536, 1000, t_on_dns, &d) ==
	    NULL);
	(void)fakedns_run(e.base, NULL, 50);
	T_EQ_INT(d.called, 0);
	T_EQ_INT(fakedns_count(e.fk), 0);
	t_env_free(&e);
}

TEST(dns_new_rejects)
{
	struct event_base	*base;
	const char		*err = NULL;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT(dns_new(base, "ns.example.test", 1000, &err) == NULL);
	T_ASSERT(err != NULL);
	T_ASSERT(dns_new(base, "127.0.0.1:53", 0, &err) == NULL);
	T_EQ_STR(err, "invalid DNS timeout");
	event_base_free(base);
}

TEST(dns_cancel_means_no_callback)
{
	struct t_env		 e;
	struct t_dres		 slow, fast, lit;
	struct dns_query	*q1, *q2, *q3;

	T_ASSERT(t_env_init(&e, 100) == 0);
	T_EQ_INT(fakedns_add(e.fk, "slow.test", FK_T_ANY, FK_DROP, NULL), 0);
	T_EQ_INT(fakedns_add(e.fk, "host.test", FK_T_A, FK_RECORD,
	    "192.0.2.1"), 0);
	memset(&slow, 0, sizeof(slow));
	memset(&fast, 0, sizeof(fast));
	memset(&lit, 0, sizeof(lit));
	T_ASSERT((q1 = dns_query_addr(e.r, "slow.test", 25, 200, t_on_dns,
	    &slow)) != NULL);
	T_ASSERT((q2 = dns_query_a(e.r, "host.test", 1000, t_on_dns,
	    &fast)) != NULL);
	T_ASSERT((q3 = dns_query_addr(e.r, "192.0.2.5", 25, 1000, t_on_dns,
	    &lit)) != NULL);
	dns_cancel(q1);
	dns_cancel(q2);
	dns_cancel(q3);
	dns_cancel(NULL);
	(void)fakedns_run(e.base, NULL, 500);
	T_EQ_INT(slow.called, 0);
	T_EQ_INT(fast.called, 0);
	T_EQ_INT(lit.called, 0);
	/* The server did get the questions: they were sent. */
	T_ASSERT(fakedns_asked(e.fk, "host.test"));
	t_env_free(&e);
}

TEST(dns_cancel_from_another_callback)
{
	struct t_env	 e;
	struct t_dres	 a, b;

	T_ASSERT(t_env_init(&e, 500) == 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	/* Both are ready in the same dispatch; a's callback drops b. */
	T_ASSERT(dns_query_addr(e.r, "192.0.2.1", 25, 1000, t_on_dns, &a) !=
	    NULL);
	T_ASSERT((a.cancel_q = dns_query_addr(e.r, "192.0.2.2", 25, 1000,
	    t_on_dns, &b)) != NULL);
	(void)fakedns_run(e.base, NULL, 200);
	T_EQ_INT(a.called, 1);
	T_EQ_INT(b.called, 0);
	t_env_free(&e);
}

TEST(dns_free_with_queries_outstanding)
{
	struct t_env	 e;
	struct t_dres	 d[4];
	int		 i;

	T_ASSERT(t_env_init(&e, 100) == 0);
	T_EQ_INT(fakedns_add(e.fk, "slow.test", FK_T_ANY, FK_DROP, NULL), 0);
	memset(d, 0, sizeof(d));
	T_ASSERT(dns_query_addr(e.r, "slow.test", 25, 5000, t_on_dns,
	    &d[0]) != NULL);
	T_ASSERT(dns_query_mx(e.r, "slow.test", 5000, t_on_dns, &d[1]) !=
	    NULL);
	T_ASSERT(dns_query_a(e.r, "slow.test", 5000, t_on_dns, &d[2]) !=
	    NULL);
	T_ASSERT(dns_query_addr(e.r, "192.0.2.1", 25, 5000, t_on_dns,
	    &d[3]) != NULL);
	(void)fakedns_run(e.base, NULL, 50);	/* the literal is reported */
	T_EQ_INT(d[3].called, 1);
	T_EQ_INT(d[3].status, DNS_OK);
	dns_free(e.r);
	e.r = NULL;
	for (i = 0; i < 3; i++) {
		T_EQ_INT(d[i].called, 1);
		T_EQ_INT(d[i].status, DNS_CANCELLED);
	}
	(void)fakedns_run(e.base, NULL, 300);
	for (i = 0; i < 4; i++)
		T_EQ_INT(d[i].called, 1);
	t_env_free(&e);
}

TEST(dns_free_from_a_callback)
{
	struct t_env	 e;
	struct t_dres	 first, other, lit;

	T_ASSERT(t_env_init(&e, 100) == 0);
	T_EQ_INT(fakedns_add(e.fk, "host.test", FK_T_A, FK_RECORD,
	    "192.0.2.1"), 0);
	T_EQ_INT(fakedns_add(e.fk, "slow.test", FK_T_ANY, FK_DROP, NULL), 0);
	memset(&first, 0, sizeof(first));
	memset(&other, 0, sizeof(other));
	memset(&lit, 0, sizeof(lit));
	first.free_r = e.r;
	T_ASSERT(dns_query_a(e.r, "host.test", 2000, t_on_dns, &first) !=
	    NULL);
	T_ASSERT(dns_query_a(e.r, "slow.test", 2000, t_on_dns, &other) !=
	    NULL);
	(void)fakedns_run(e.base, &first.called, 3000);
	e.r = NULL;
	T_EQ_INT(first.called, 1);
	T_EQ_INT(first.status, DNS_OK);
	T_EQ_INT(other.called, 1);
	T_EQ_INT(other.status, DNS_CANCELLED);
	(void)fakedns_run(e.base, NULL, 300);
	T_EQ_INT(first.called, 1);
	T_EQ_INT(other.called, 1);
	t_env_free(&e);
}

TEST(dns_query_limit)
{
	struct t_env		 e;
	struct t_dres		*d;
	struct dns_query	*q;
	int			 i, n = 0;

	T_ASSERT(t_env_init(&e, 100) == 0);
	T_ASSERT((d = calloc(DNS_QUERIES_MAX + 1, sizeof(*d))) != NULL);
	for (i = 0; i <= DNS_QUERIES_MAX; i++) {
		errno = 0;
		q = dns_query_addr(e.r, "192.0.2.1", 25, 1000, t_on_dns,
		    &d[i]);
		if (q != NULL)
			n++;
		else
			T_EQ_INT(errno, EAGAIN);
	}
	T_EQ_INT(n, DNS_QUERIES_MAX);
	(void)fakedns_run(e.base, &d[DNS_QUERIES_MAX - 1].called, 1000);
	T_EQ_INT(d[0].called, 1);
	T_EQ_INT(d[DNS_QUERIES_MAX].called, 0);
	free(d);
	t_env_free(&e);
}

TEST(mx_options_parse)
{
	struct mx_conf	 c;
	const char	*err;

	T_EQ_INT(mx_parse_options("", &c, &err), 0);
	T_EQ_INT(c.nst, MX_NST_DEFAULT);
	T_EQ_INT(c.rt, MX_RT_DEFAULT);
	T_EQ_STR(c.server, "");
	T_EQ_INT(mx_parse_options(NULL, &c, &err), 0);
	T_EQ_INT(mx_parse_options("nst=3;rt=20;127.0.0.1:5353", &c, &err),
	    0);
	T_EQ_INT(c.nst, 3);
	T_EQ_INT(c.rt, 20);
	T_EQ_STR(c.server, "127.0.0.1:5353");
	T_EQ_INT(mx_parse_options("[::1]:53;rt=1m", &c, &err), 0);
	T_EQ_INT(c.rt, 60);
	T_EQ_INT(c.nst, MX_NST_DEFAULT);
	T_EQ_STR(c.server, "[::1]:53");
	T_EQ_INT(mx_parse_options("192.0.2.53", &c, &err), 0);
	T_EQ_STR(c.server, "192.0.2.53");

	T_EQ_INT(mx_parse_options("nst=0", &c, &err), -1);
	T_ASSERT(strstr(err, "nst=") != NULL);
	T_EQ_INT(mx_parse_options("rt=x", &c, &err), -1);
	T_ASSERT(strstr(err, "rt=") != NULL);
	T_EQ_INT(mx_parse_options("rt=3601", &c, &err), -1);
	T_EQ_INT(mx_parse_options("foo=1", &c, &err), -1);
	T_ASSERT(strstr(err, "unknown") != NULL);
	T_EQ_INT(mx_parse_options("nst=1;nst=2", &c, &err), -1);
	T_EQ_STR(err, "mx: nst= given twice");
	T_EQ_INT(mx_parse_options(";", &c, &err), -1);
	T_EQ_INT(mx_parse_options("nst=1;", &c, &err), -1);
	T_EQ_STR(err, "empty mx: option");
	T_EQ_INT(mx_parse_options("ns.example.test:53", &c, &err), -1);
	T_EQ_INT(mx_parse_options("127.0.0.1;127.0.0.2", &c, &err), -1);
	T_EQ_STR(err, "mx: DNS server given twice");
}

TEST(mx_forward_to_parse)
{
	struct mx_target	 t;
	const char		*err;
	char			 buf[DNS_ADDRSTR_MAX];

	T_EQ_INT(mx_parse_forward_to("example.test", &t, &err), 0);
	T_EQ_STR(t.domain, "example.test");
	T_EQ_INT(t.port, 25);
	T_EQ_INT(t.literal, 0);
	T_EQ_INT(mx_parse_forward_to("Example.TEST.:2525", &t, &err), 0);
	T_EQ_STR(t.domain, "Example.TEST");
	T_EQ_INT(t.port, 2525);
	T_EQ_INT(mx_parse_forward_to("[192.0.2.1]", &t, &err), 0);
	T_EQ_INT(t.literal, 1);
	T_EQ_STR(t.domain, "");
	(void)dns_addr_hostport((struct sockaddr *)&t.addr, buf, sizeof(buf));
	T_EQ_STR(buf, "192.0.2.1:25");
	T_EQ_INT(mx_parse_forward_to("[192.0.2.1]:26", &t, &err), 0);
	(void)dns_addr_hostport((struct sockaddr *)&t.addr, buf, sizeof(buf));
	T_EQ_STR(buf, "192.0.2.1:26");
	T_EQ_INT(mx_parse_forward_to("[IPv6:2001:db8::1]", &t, &err), 0);
	(void)dns_addr_hostport((struct sockaddr *)&t.addr, buf, sizeof(buf));
	T_EQ_STR(buf, "[2001:db8::1]:25");
	T_EQ_INT(mx_parse_forward_to("[2001:db8::2]:2525", &t, &err), 0);
	(void)dns_addr_hostport((struct sockaddr *)&t.addr, buf, sizeof(buf));
	T_EQ_STR(buf, "[2001:db8::2]:2525");
	T_EQ_INT(mx_parse_forward_to("2001:db8::3", &t, &err), 0);
	(void)dns_addr_hostport((struct sockaddr *)&t.addr, buf, sizeof(buf));
	T_EQ_STR(buf, "[2001:db8::3]:25");
	T_EQ_INT(mx_parse_forward_to("192.0.2.4:587", &t, &err), 0);
	(void)dns_addr_hostport((struct sockaddr *)&t.addr, buf, sizeof(buf));
	T_EQ_STR(buf, "192.0.2.4:587");

	T_EQ_INT(mx_parse_forward_to("", &t, &err), -1);
	T_EQ_STR(err, "empty ForwardTo");
	T_EQ_INT(mx_parse_forward_to("[192.0.2.1", &t, &err), -1);
	T_EQ_INT(mx_parse_forward_to("[IPv6:192.0.2.1]", &t, &err), -1);
	T_EQ_STR(err, "invalid address literal");
	T_EQ_INT(mx_parse_forward_to("[x.test]", &t, &err), -1);
	T_EQ_INT(mx_parse_forward_to("[192.0.2.1]x", &t, &err), -1);
	T_EQ_INT(mx_parse_forward_to("example.test:0", &t, &err), -1);
	T_EQ_STR(err, "invalid port number");
	T_EQ_INT(mx_parse_forward_to("example.test:+25", &t, &err), -1);
	T_EQ_INT(mx_parse_forward_to("bad domain.test", &t, &err), -1);
	T_EQ_STR(err, "invalid domain name");
	T_EQ_INT(mx_parse_forward_to("1.2.3", &t, &err), -1);
	T_EQ_INT(mx_parse_forward_to("a..test", &t, &err), -1);
	T_EQ_INT(mx_parse_forward_to("-a.test", &t, &err), -1);
	T_EQ_INT(mx_parse_forward_to("a.test-", &t, &err), -1);
}

/* mail.test and friends: the zone the routing tests share. */
static void
t_mail_zone(struct fakedns *fk)
{
	/* Lowest preference first; answer order says otherwise. */
	(void)fakedns_add(fk, "mail.test", FK_T_MX, FK_RECORD,
	    "20 mx2.mail.test");
	(void)fakedns_add(fk, "mail.test", FK_T_MX, FK_RECORD,
	    "10 mx1.mail.test");
	(void)fakedns_add(fk, "mx1.mail.test", FK_T_A, FK_RECORD,
	    "192.0.2.10");
	(void)fakedns_add(fk, "mx1.mail.test", FK_T_AAAA, FK_RECORD,
	    "2001:db8::10");
	(void)fakedns_add(fk, "mx2.mail.test", FK_T_A, FK_RECORD,
	    "192.0.2.20");
	/* First exchanger does not exist, second has no address. */
	(void)fakedns_add(fk, "skip.test", FK_T_MX, FK_RECORD,
	    "10 gone.skip.test");
	(void)fakedns_add(fk, "skip.test", FK_T_MX, FK_RECORD,
	    "20 noaddr.skip.test");
	(void)fakedns_add(fk, "skip.test", FK_T_MX, FK_RECORD,
	    "30 ok.skip.test");
	(void)fakedns_add(fk, "noaddr.skip.test", FK_T_MX, FK_RECORD,
	    "10 elsewhere.test");
	(void)fakedns_add(fk, "ok.skip.test", FK_T_A, FK_RECORD,
	    "192.0.2.30");
	/* No MX: the domain itself. */
	(void)fakedns_add(fk, "plain.test", FK_T_A, FK_RECORD, "192.0.2.40");
	/* A name with neither MX nor address. */
	(void)fakedns_add(fk, "bare.test", FK_T_AAAA, FK_SERVFAIL, NULL);
	(void)fakedns_add(fk, "bare.test", FK_T_A, FK_NXDOMAIN, NULL);
	/* 0.0.0.0 clears the routing. */
	(void)fakedns_add(fk, "clear.test", FK_T_MX, FK_RECORD,
	    "10 mx.clear.test");
	(void)fakedns_add(fk, "mx.clear.test", FK_T_A, FK_RECORD, "0.0.0.0");
	/* IPv6 only. */
	(void)fakedns_add(fk, "six.test", FK_T_MX, FK_RECORD,
	    "10 mx.six.test");
	(void)fakedns_add(fk, "mx.six.test", FK_T_AAAA, FK_RECORD,
	    "2001:db8::25");
	/* Null MX (RFC 7505). */
	(void)fakedns_add(fk, "nomail.test", FK_T_MX, FK_RECORD, "0 .");
	/* Exchanger server failure, then one that does not exist. */
	(void)fakedns_add(fk, "tmp.test", FK_T_MX, FK_RECORD,
	    "10 sf.tmp.test");
	(void)fakedns_add(fk, "tmp.test", FK_T_MX, FK_RECORD,
	    "20 gone.tmp.test");
	(void)fakedns_add(fk, "sf.tmp.test", FK_T_ANY, FK_SERVFAIL, NULL);
	/* MX query fails. */
	(void)fakedns_add(fk, "sfmx.test", FK_T_MX, FK_SERVFAIL, NULL);
	/* Never answers. */
	(void)fakedns_add(fk, "slow.test", FK_T_ANY, FK_DROP, NULL);
}

TEST(mx_route_lowest_preference_first)
{
	struct t_env	 e;
	struct t_mres	 m;

	T_ASSERT(t_env_init(&e, 200) == 0);
	t_mail_zone(e.fk);
	T_EQ_INT(t_route(&e, "mail.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_OK);
	T_EQ_STR(m.address, "192.0.2.10:25");
	T_EQ_STR(m.exchanger, "mx1.mail.test");
	T_EQ_INT(t_route(&e, "MAIL.test:2525", 5, &m), 0);
	T_EQ_INT(m.status, MX_OK);
	T_EQ_STR(m.address, "192.0.2.10:2525");
	T_ASSERT(!fakedns_asked(e.fk, "mx2.mail.test"));
	t_env_free(&e);
}

TEST(mx_route_next_exchanger)
{
	struct t_env	 e;
	struct t_mres	 m;

	T_ASSERT(t_env_init(&e, 200) == 0);
	t_mail_zone(e.fk);
	T_EQ_INT(t_route(&e, "skip.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_OK);
	T_EQ_STR(m.address, "192.0.2.30:25");
	T_EQ_STR(m.exchanger, "ok.skip.test");
	T_ASSERT(fakedns_asked(e.fk, "gone.skip.test"));
	T_ASSERT(fakedns_asked(e.fk, "noaddr.skip.test"));
	t_env_free(&e);
}

TEST(mx_route_implicit_mx)
{
	struct t_env	 e;
	struct t_mres	 m;

	T_ASSERT(t_env_init(&e, 200) == 0);
	t_mail_zone(e.fk);
	T_EQ_INT(t_route(&e, "plain.test:2526", 5, &m), 0);
	T_EQ_INT(m.status, MX_OK);
	T_EQ_STR(m.address, "192.0.2.40:2526");
	T_EQ_STR(m.exchanger, "plain.test");
	t_env_free(&e);
}

TEST(mx_route_nxdomain_fails_timeout_waits)
{
	struct t_env	 e;
	struct t_mres	 m;
	long		 ms;

	T_ASSERT(t_env_init(&e, 200) == 0);
	t_mail_zone(e.fk);
	T_EQ_INT(t_route(&e, "nosuch.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_FAIL);
	T_EQ_STR(m.reason, "no such domain");
	T_EQ_STR(m.address, "");
	ms = t_env_ms(&e);
	T_EQ_INT(t_route(&e, "slow.test", 1, &m), 0);
	ms = t_env_ms(&e) - ms;
	T_EQ_INT(m.status, MX_TEMP);
	T_EQ_STR(m.reason, "DNS timeout");
	T_ASSERT(ms >= 900 && ms < 2500);
	/* A server failure is temporary too, not "no such domain". */
	T_EQ_INT(t_route(&e, "sfmx.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_TEMP);
	T_EQ_STR(m.reason, "DNS server failure");
	t_env_free(&e);
}

TEST(mx_route_no_address_at_all)
{
	struct t_env	 e;
	struct t_mres	 m;

	T_ASSERT(t_env_init(&e, 200) == 0);
	t_mail_zone(e.fk);
	/* Exchanger with a server failure, then one that is gone. */
	T_EQ_INT(t_route(&e, "tmp.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_TEMP);
	T_ASSERT(fakedns_asked(e.fk, "gone.tmp.test"));
	/* No MX, and the domain's A is NXDOMAIN. */
	T_EQ_INT(t_route(&e, "bare.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_FAIL);
	T_EQ_INT(t_route(&e, "nomail.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_FAIL);
	T_EQ_STR(m.reason, "the domain accepts no mail (null MX)");
	t_env_free(&e);
}

TEST(mx_route_zero_address_clears)
{
	struct t_env	 e;
	struct t_mres	 m;

	T_ASSERT(t_env_init(&e, 200) == 0);
	t_mail_zone(e.fk);
	T_EQ_INT(t_route(&e, "clear.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_CLEAR);
	T_EQ_STR(m.address, "");
	T_EQ_INT(t_route(&e, "[0.0.0.0]", 5, &m), 0);
	T_EQ_INT(m.status, MX_CLEAR);
	t_env_free(&e);
}

TEST(mx_route_ipv6_exchanger)
{
	struct t_env	 e;
	struct t_mres	 m;
	struct hostport	 hp;
	const char	*err;

	T_ASSERT(t_env_init(&e, 200) == 0);
	t_mail_zone(e.fk);
	T_EQ_INT(t_route(&e, "six.test", 5, &m), 0);
	T_EQ_INT(m.status, MX_OK);
	T_EQ_STR(m.address, "[2001:db8::25]:25");
	T_EQ_INT(netaddr_parse_hostport(m.address, 0, &hp, &err), 0);
	T_EQ_STR(hp.host, "2001:db8::25");
	t_env_free(&e);
}

TEST(mx_route_literal_needs_no_dns)
{
	struct t_env	 e;
	struct t_mres	 m;

	T_ASSERT(t_env_init(&e, 200) == 0);
	T_EQ_INT(t_route(&e, "[192.0.2.99]:2526", 5, &m), 0);
	T_EQ_INT(m.status, MX_OK);
	T_EQ_STR(m.address, "192.0.2.99:2526");
	T_EQ_INT(t_route(&e, "[IPv6:2001:db8::99]", 5, &m), 0);
	T_EQ_STR(m.address, "[2001:db8::99]:25");
	T_EQ_INT(t_route(&e, "bad..domain", 5, &m), 0);
	T_EQ_INT(m.status, MX_FAIL);
	T_EQ_STR(m.reason, "invalid ForwardTo");
	T_EQ_INT(fakedns_count(e.fk), 0);
	t_env_free(&e);
}

TEST(mx_route_cancel_and_free)
{
	struct t_env		 e;
	struct t_mres		 a, b, c;
	struct mx_conf		 conf;
	struct mx_route		*m;
	const char		*err;

	T_ASSERT(t_env_init(&e, 200) == 0);
	t_mail_zone(e.fk);
	T_EQ_INT(mx_parse_options("rt=1", &conf, &err), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	T_ASSERT((m = mx_route_start(e.r, "slow.test", &conf, t_on_mx,
	    &a)) != NULL);
	mx_route_cancel(m);
	T_ASSERT((m = mx_route_start(e.r, "[192.0.2.1]", &conf, t_on_mx,
	    &c)) != NULL);
	mx_route_cancel(m);
	mx_route_cancel(NULL);
	(void)fakedns_run(e.base, NULL, 1100);	/* past rt */
	T_EQ_INT(a.called, 0);
	T_EQ_INT(c.called, 0);
	/* Freeing the resolver reports an outstanding routing. */
	T_ASSERT(mx_route_start(e.r, "slow.test", &conf, t_on_mx, &b) !=
	    NULL);
	(void)fakedns_run(e.base, NULL, 50);
	T_EQ_INT(b.called, 0);
	dns_free(e.r);
	e.r = NULL;
	T_EQ_INT(b.called, 1);
	T_EQ_INT(b.status, MX_TEMP);
	(void)fakedns_run(e.base, NULL, 200);
	T_EQ_INT(b.called, 1);
	t_env_free(&e);
}
