/*
 * lookup/dnsbl.c: the --dnsbl parser (both orders, errors), query
 * names (IPv4, IPv6 nibbles, mapped), exempt local addresses, and whole
 * checks against the fake DNS server of fakedns.h: listed, unlisted,
 * thresholds, timeouts positive and negative, error answers, cancel and
 * freeing the resolver under a check.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "lookup/dns.h"
#include "lookup/dnsbl.h"
#include "fakedns.h"
#include "t.h"

/* A copy of what done() saw. */
struct t_bres {
	int			 called;
	int			 allow;
	int			 skipped;
	int			 listed;
	int			 timed_out;
	int			 failed;
	char			 client[64];
	size_t			 nzones;
	enum dnsbl_zstatus	 status[DNSBL_ZONES_MAX];
	char			 answer[DNSBL_ZONES_MAX][INET_ADDRSTRLEN];
	char			 zones[256];	/* dnsbl_listed_str() */
	long			 ms;
	struct timespec		 t0;
};

struct t_benv {
	struct event_base	*base;
	struct fakedns		*fk;
	struct dns		*r;
	struct dnsbl_conf	 conf;
};

static int	 t_sa(const char *, struct sockaddr_storage *);
static void	 t_on_check(void *, const struct dnsbl_result *);
static int	 t_benv_init(struct t_benv *, const char *);
static void	 t_benv_free(struct t_benv *);
static int	 t_check(struct t_benv *, const char *, struct t_bres *);
static void	 t_bl_zone(struct fakedns *);

static int
t_sa(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
		return (0);
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(40000);
		return (0);
	}
	return (-1);
}

static void
t_on_check(void *arg, const struct dnsbl_result *res)
{
	struct t_bres	*b = arg;
	struct timespec	 t;
	size_t		 i;

	b->called++;
	b->allow = res->allow;
	b->skipped = res->skipped;
	b->listed = res->listed;
	b->timed_out = res->timed_out;
	b->failed = res->failed;
	(void)snprintf(b->client, sizeof(b->client), "%s", res->client);
	b->nzones = res->nzones;
	for (i = 0; i < res->nzones && i < DNSBL_ZONES_MAX; i++) {
		b->status[i] = res->zones[i].status;
		(void)snprintf(b->answer[i], sizeof(b->answer[i]), "%s",
		    res->zones[i].answer);
	}
	(void)dnsbl_listed_str(res, b->zones, sizeof(b->zones));
	clock_gettime(CLOCK_MONOTONIC, &t);
	b->ms = (t.tv_sec - b->t0.tv_sec) * 1000 +
	    (t.tv_nsec - b->t0.tv_nsec) / 1000000;
}

/*
 * A base, the fake server with the test zones and a resolver for the
 * --dnsbl value fmt, where "%s" stands for the fake server's address.
 */
static int
t_benv_init(struct t_benv *e, const char *fmt)
{
	char		 value[512];
	const char	*err;

	memset(e, 0, sizeof(*e));
	if ((e->base = event_base_new()) == NULL ||
	    (e->fk = fakedns_new(e->base)) == NULL)
		goto fail;
	t_bl_zone(e->fk);
	(void)snprintf(value, sizeof(value), fmt, fakedns_server(e->fk));
	if (dnsbl_conf_parse(value, &e->conf, &err) == -1) {
		printf("%s: %s\n", value, err);
		goto fail;
	}
	if ((e->r = dnsbl_resolver_new(e->base, &e->conf, &err)) == NULL)
		goto fail;
	return (0);
 fail:
	t_benv_free(e);
	return (-1);
}

static void
t_benv_free(struct t_benv *e)
{
	dns_free(e->r);
	fakedns_free(e->fk);
	if (e->base != NULL)
		event_base_free(e->base);
}

/* Check client; 0 when done() was called exactly once, later. */
static int
t_check(struct t_benv *e, const char *client, struct t_bres *b)
{
	struct sockaddr_storage	 ss;

	memset(b, 0, sizeof(*b));
	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	if (t_sa(client, &ss) == -1 || dnsbl_start(e->r, &e->conf,
	    (struct sockaddr *)&ss, t_on_check, b) == NULL || b->called)
		return (-1);
	(void)fakedns_run(e->base, &b->called, 5000);
	return (b->called == 1 ? 0 : -1);
}

/*
 * 198.18.0.2 is in bl.test, one.test and two.test; 198.18.0.4 only in
 * one.test; slow.test never answers about 198.18.0.2; err.test answers
 * with an error code, odd.test with an address outside 127/8.
 */
static void
t_bl_zone(struct fakedns *fk)
{
	(void)fakedns_add(fk, "2.0.18.198.bl.test", FK_T_A, FK_RECORD,
	    "127.0.0.2");
	(void)fakedns_add(fk, "2.0.18.198.one.test", FK_T_A, FK_RECORD,
	    "127.0.0.3");
	(void)fakedns_add(fk, "2.0.18.198.two.test", FK_T_A, FK_RECORD,
	    "127.0.0.10");
	(void)fakedns_add(fk, "2.0.18.198.two.test", FK_T_A, FK_RECORD,
	    "127.0.0.11");
	(void)fakedns_add(fk, "4.0.18.198.one.test", FK_T_A, FK_RECORD,
	    "127.0.0.3");
	(void)fakedns_add(fk, "2.0.18.198.slow.test", FK_T_ANY, FK_DROP,
	    NULL);
	(void)fakedns_add(fk, "2.0.18.198.err.test", FK_T_A, FK_RECORD,
	    "127.255.255.254");
	(void)fakedns_add(fk, "2.0.18.198.odd.test", FK_T_A, FK_RECORD,
	    "192.0.2.1");
	(void)fakedns_add(fk,
	    "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".bl.test", FK_T_A, FK_RECORD, "127.0.0.4");
}

TEST(dnsbl_parse_current_order)
{
	struct dnsbl_conf	 c;
	const char		*err;

	T_EQ_INT(dnsbl_conf_parse("zen.spamhaus.org,bl.mailspike.net", &c,
	    &err), 0);
	T_EQ_INT(c.nzones, 2);
	T_EQ_STR(c.zones[0], "zen.spamhaus.org");
	T_EQ_STR(c.zones[1], "bl.mailspike.net");
	T_EQ_INT(c.threshold, 1);
	T_EQ_INT(c.timeout_ms, 5000);
	T_EQ_STR(c.server, "");
	T_EQ_INT(c.legacy, 0);
	T_EQ_INT(dnsbl_conf_parse("a.test,b.test,2", &c, &err), 0);
	T_EQ_INT(c.threshold, 2);
	T_EQ_INT(c.timeout_ms, 5000);
	T_EQ_INT(dnsbl_conf_parse("a.test,2,-3000", &c, &err), 0);
	T_EQ_INT(c.nzones, 1);
	T_EQ_INT(c.timeout_ms, -3000);
	T_EQ_INT(dnsbl_conf_parse("a.test,0,1000,127.0.0.1:5353", &c, &err),
	    0);
	T_EQ_INT(c.threshold, 0);
	T_EQ_INT(c.timeout_ms, 1000);
	T_EQ_STR(c.server, "127.0.0.1:5353");
	T_EQ_INT(dnsbl_conf_parse(" a.test , bl.test. ", &c, &err), 0);
	T_EQ_STR(c.zones[0], "a.test");
	T_EQ_STR(c.zones[1], "bl.test");
	T_EQ_INT(dnsbl_conf_parse("dnsbl.example.com", &c, &err), 0);
	T_ASSERT(dnsbl_conf_check("zen.spamhaus.org,bl.mailspike.net") ==
	    NULL);
}

TEST(dnsbl_parse_legacy_order)
{
	struct dnsbl_conf	 c;
	const char		*err;

	T_EQ_INT(dnsbl_conf_parse("127.0.0.1:53,3000,2,zen.example,"
	    "bl.example", &c, &err), 0);
	T_EQ_INT(c.legacy, 1);
	T_EQ_STR(c.server, "127.0.0.1:53");
	T_EQ_INT(c.timeout_ms, 3000);
	T_EQ_INT(c.threshold, 2);
	T_EQ_INT(c.nzones, 2);
	T_EQ_STR(c.zones[0], "zen.example");
	T_EQ_STR(c.zones[1], "bl.example");
	T_EQ_INT(dnsbl_conf_parse("::1,-1000,1,bl.test", &c, &err), 0);
	T_EQ_INT(c.legacy, 1);
	T_EQ_STR(c.server, "::1");
	T_EQ_INT(c.timeout_ms, -1000);
	T_EQ_INT(dnsbl_conf_parse("192.0.2.53,500,0,bl.test", &c, &err), 0);
	T_EQ_INT(c.threshold, 0);
}

TEST(dnsbl_parse_errors)
{
	static const struct {
		const char	*value;
		const char	*err;		/* a part of the message */
	} bad[] = {
		{ "", "no DNSBL zone" },
		{ "1", "no DNSBL zone" },
		{ "1,a.test", "no DNSBL zone" },
		{ "a.test,,b.test", "empty field" },
		{ "a.test,", "empty field" },
		{ "a.test,1,500,127.0.0.1,x", "too many fields" },
		{ "a.test,1001", "invalid DNSBL threshold" },
		{ "a.test,-1", "invalid DNSBL threshold" },
		{ "a.test,1,0", "invalid DNSBL timeout" },
		{ "a.test,1,3600001", "invalid DNSBL timeout" },
		{ "a.test,1,b.test", "invalid DNSBL timeout" },
		{ "a.test,1,500,ns.example", "DNS server" },
		{ "a.test,1,500,127.0.0.1:0", "DNS server" },
		{ "a.test,127.0.0.1", "invalid DNSBL threshold" },
		{ "a.test,A.TEST", "duplicate DNSBL zone" },
		{ "bad zone.test", "invalid DNSBL zone" },
		{ "a..test", "invalid DNSBL zone" },
		{ "bl.1", "invalid DNSBL zone" },
		{ "-7.", "invalid DNSBL zone" },
		{ "bl-.test", "invalid DNSBL zone" },
		{ "127.0.0.1,1000,1", "no DNSBL zone" },
		{ "127.0.0.1,x,1,a.test", "invalid DNSBL timeout" },
		{ "127.0.0.1,1000,-2,a.test", "invalid DNSBL threshold" },
		{ "127.0.0.1,1000,1,a.test,7", "invalid DNSBL zone" },
	};
	struct dnsbl_conf	 c;
	const char		*err, *chk;
	char			 value[2048], zone[300];
	size_t			 i;
	int			 n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (dnsbl_conf_parse(bad[i].value, &c, &err) != -1 ||
		    err == NULL || strstr(err, bad[i].err) == NULL) {
			printf("value \"%s\": %s\n", bad[i].value,
			    err ? err : "accepted");
			T_ASSERT(0);
		}
		chk = dnsbl_conf_check(bad[i].value);
		T_ASSERT(chk != NULL && strcmp(chk, err) == 0);
	}
	/* 33 zones. */
	value[0] = '\0';
	for (n = 0; n <= DNSBL_ZONES_MAX; n++) {
		(void)snprintf(zone, sizeof(zone), "%sz%d.test",
		    n > 0 ? "," : "", n);
		(void)strlcat(value, zone, sizeof(value));
	}
	T_EQ_INT(dnsbl_conf_parse(value, &c, &err), -1);
	T_EQ_STR(err, "too many DNSBL zones");
	/* A valid name too long to hold a reversed IPv6 address. */
	memset(zone, 'a', sizeof(zone));
	zone[60] = zone[121] = zone[182] = zone[243] = '.';
	(void)strlcpy(zone + 244, "test", sizeof(zone) - 244);
	T_EQ_INT(dnsbl_conf_parse(zone, &c, &err), -1);
	T_EQ_STR(err, "DNSBL zone too long");
	zone[182] = '\0';
	T_EQ_INT(dnsbl_conf_parse(zone, &c, &err), 0);
}

TEST(dnsbl_query_names)
{
	struct sockaddr_storage	 ss;
	char			 buf[DNS_NAME_MAX], zone[200];

	T_EQ_INT(t_sa("192.0.2.7", &ss), 0);
	T_EQ_INT(dnsbl_qname((struct sockaddr *)&ss, "bl.test", buf,
	    sizeof(buf)), 0);
	T_EQ_STR(buf, "7.2.0.192.bl.test");
	/* RFC 5782 section 2.4's example. */
	T_EQ_INT(t_sa("2001:db8:1:2:3:4:567:89ab", &ss), 0);
	T_EQ_INT(dnsbl_qname((struct sockaddr *)&ss, "ugly.example.com", buf,
	    sizeof(buf)), 0);
	T_EQ_STR(buf, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d."
	    "0.1.0.0.2.ugly.example.com");
	T_EQ_INT(t_sa("::ffff:198.51.100.7", &ss), 0);
	T_EQ_INT(dnsbl_qname((struct sockaddr *)&ss, "bl.test", buf,
	    sizeof(buf)), 0);
	T_EQ_STR(buf, "7.100.51.198.bl.test");
	T_EQ_INT(dnsbl_qname((struct sockaddr *)&ss, "bl.test", buf, 10), -1);
	T_EQ_STR(buf, "");
	memset(zone, 'a', sizeof(zone));
	zone[sizeof(zone) - 1] = '\0';
	T_EQ_INT(t_sa("2001:db8::1", &ss), 0);
	T_EQ_INT(dnsbl_qname((struct sockaddr *)&ss, zone, buf, sizeof(buf)),
	    -1);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	T_EQ_INT(dnsbl_qname((struct sockaddr *)&ss, "bl.test", buf,
	    sizeof(buf)), -1);
}

TEST(dnsbl_exempt_addresses)
{
	static const char *const	 local[] = { "127.0.0.1", "10.1.2.3",
		"172.16.9.9", "192.168.1.1", "169.254.1.1", "100.64.0.1",
		"::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1" };
	static const char *const	 remote[] = { "198.18.0.2",
		"192.0.2.1", "8.8.8.8", "2001:db8::1", "::ffff:192.0.2.1" };
	struct sockaddr_storage		 ss;
	size_t				 i;

	for (i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		T_EQ_INT(t_sa(local[i], &ss), 0);
		T_EQ_INT(dnsbl_exempt((struct sockaddr *)&ss), 1);
	}
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
		T_EQ_INT(t_sa(remote[i], &ss), 0);
		T_EQ_INT(dnsbl_exempt((struct sockaddr *)&ss), 0);
	}
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	T_EQ_INT(dnsbl_exempt((struct sockaddr *)&ss), 1);
}

TEST(dnsbl_listed_and_unlisted)
{
	struct t_benv	 e;
	struct t_bres	 b;

	T_ASSERT(t_benv_init(&e, "bl.test,1,2000,%s") == 0);
	T_EQ_INT(t_check(&e, "198.18.0.2", &b), 0);
	T_EQ_INT(b.allow, 0);
	T_EQ_INT(b.skipped, 0);
	T_EQ_INT(b.listed, 1);
	T_EQ_INT(b.nzones, 1);
	T_EQ_INT(b.status[0], DNSBL_Z_LISTED);
	T_EQ_STR(b.answer[0], "127.0.0.2");
	T_EQ_STR(b.zones, "bl.test");
	T_EQ_STR(b.client, "198.18.0.2");
	T_ASSERT(fakedns_asked(e.fk, "2.0.18.198.bl.test"));
	T_EQ_INT(t_check(&e, "198.18.0.3", &b), 0);
	T_EQ_INT(b.allow, 1);
	T_EQ_INT(b.listed, 0);
	T_EQ_INT(b.status[0], DNSBL_Z_CLEAN);
	T_EQ_STR(b.zones, "");
	t_benv_free(&e);
}

TEST(dnsbl_threshold_two_zones)
{
	struct t_benv	 e;
	struct t_bres	 b;

	T_ASSERT(t_benv_init(&e, "one.test,two.test,2,2000,%s") == 0);
	T_EQ_INT(t_check(&e, "198.18.0.2", &b), 0);
	T_EQ_INT(b.allow, 0);
	T_EQ_INT(b.listed, 2);
	T_EQ_STR(b.zones, "one.test,two.test");
	T_EQ_INT(t_check(&e, "198.18.0.4", &b), 0);
	T_EQ_INT(b.allow, 1);
	T_EQ_INT(b.listed, 1);
	T_EQ_INT(b.status[0], DNSBL_Z_LISTED);
	T_EQ_INT(b.status[1], DNSBL_Z_CLEAN);
	T_EQ_STR(b.zones, "one.test");
	t_benv_free(&e);
}

TEST(dnsbl_threshold_zero_logs_only)
{
	struct t_benv	 e;
	struct t_bres	 b;

	T_ASSERT(t_benv_init(&e, "bl.test,0,2000,%s") == 0);
	T_EQ_INT(t_check(&e, "198.18.0.2", &b), 0);
	T_EQ_INT(b.allow, 1);
	T_EQ_INT(b.listed, 1);
	T_EQ_STR(b.zones, "bl.test");
	t_benv_free(&e);
}

TEST(dnsbl_timeout_positive_allows)
{
	struct t_benv	 e;
	struct t_bres	 b;

	T_ASSERT(t_benv_init(&e, "slow.test,1,300,%s") == 0);
	T_EQ_INT(t_check(&e, "198.18.0.2", &b), 0);
	T_EQ_INT(b.allow, 1);
	T_EQ_INT(b.timed_out, 1);
	T_EQ_INT(b.status[0], DNSBL_Z_TIMEOUT);
	T_ASSERT(b.ms >= 250 && b.ms < 2000);
	t_benv_free(&e);
}

TEST(dnsbl_timeout_negative_refuses)
{
	struct t_benv	 e;
	struct t_bres	 b;

	/* The legacy order, for good measure. */
	T_ASSERT(t_benv_init(&e, "%s,-300,1,slow.test") == 0);
	T_EQ_INT(e.conf.legacy, 1);
	T_EQ_INT(t_check(&e, "198.18.0.2", &b), 0);
	T_EQ_INT(b.allow, 0);
	T_EQ_INT(b.listed, 0);
	T_EQ_INT(b.timed_out, 1);
	T_ASSERT(b.ms >= 250 && b.ms < 2000);
	t_benv_free(&e);
	/* Unless the zones that answered settle it. */
	T_ASSERT(t_benv_init(&e, "slow.test,one.test,two.test,2,-300,%s") ==
	    0);
	T_EQ_INT(t_check(&e, "198.18.0.3", &b), 0);
	T_EQ_INT(b.allow, 1);
	T_EQ_INT(b.timed_out, 0);	/* slow.test only drops .2 */
	T_EQ_INT(t_check(&e, "198.18.0.4", &b), 0);
	T_EQ_INT(b.allow, 1);		/* listed 1, nothing unanswered */
	t_benv_free(&e);
	T_ASSERT(t_benv_init(&e, "slow.test,bl.test,err.test,3,-300,%s") ==
	    0);
	/* listed 1 + timed out 1 + failed 1 could reach 3. */
	T_EQ_INT(t_check(&e, "198.18.0.2", &b), 0);
	T_EQ_INT(b.allow, 0);
	T_EQ_INT(b.listed, 1);
	T_EQ_INT(b.timed_out, 1);
	T_EQ_INT(b.failed, 1);
	t_benv_free(&e);
}

TEST(dnsbl_error_answers_are_not_listings)
{
	struct t_benv	 e;
	struct t_bres	 b;

	T_ASSERT(t_benv_init(&e, "err.test,odd.test,1,2000,%s") == 0);
	T_EQ_INT(t_check(&e, "198.18.0.2", &b), 0);
	T_EQ_INT(b.allow, 1);
	T_EQ_INT(b.listed, 0);
	T_EQ_INT(b.failed, 2);
	T_EQ_INT(b.status[0], DNSBL_Z_FAILED);
	T_EQ_STR(b.answer[0], "127.255.255.254");
	T_EQ_INT(b.status[1], DNSBL_Z_FAILED);
	T_EQ_STR(b.answer[1], "192.0.2.1");
	t_benv_free(&e);
}

TEST(dnsbl_local_client_skipped)
{
	struct t_benv	 e;
	struct t_bres	 b;

	T_ASSERT(t_benv_init(&e, "bl.test,1,2000,%s") == 0);
	T_EQ_INT(t_check(&e, "127.0.0.1", &b), 0);
	T_EQ_INT(b.allow, 1);
	T_EQ_INT(b.skipped, 1);
	T_EQ_INT(b.nzones, 0);
	T_EQ_INT(t_check(&e, "192.168.1.5", &b), 0);
	T_EQ_INT(b.skipped, 1);
	T_EQ_INT(t_check(&e, "::1", &b), 0);
	T_EQ_INT(b.skipped, 1);
	T_EQ_INT(fakedns_count(e.fk), 0);
	t_benv_free(&e);
}

TEST(dnsbl_ipv6_client)
{
	struct t_benv	 e;
	struct t_bres	 b;

	T_ASSERT(t_benv_init(&e, "bl.test,1,2000,%s") == 0);
	T_EQ_INT(t_check(&e, "2001:db8::2", &b), 0);
	T_EQ_INT(b.allow, 0);
	T_EQ_INT(b.listed, 1);
	T_EQ_STR(b.answer[0], "127.0.0.4");
	T_EQ_STR(b.client, "2001:db8::2");
	T_EQ_INT(t_check(&e, "2001:db8::3", &b), 0);
	T_EQ_INT(b.allow, 1);
	/* A mapped IPv4 client is asked about in IPv4 form. */
	T_EQ_INT(t_check(&e, "::ffff:198.18.0.2", &b), 0);
	T_EQ_INT(b.allow, 0);
	t_benv_free(&e);
}

TEST(dnsbl_cancel_and_free_resolver)
{
	struct t_benv		 e;
	struct t_bres		 a, b;
	struct sockaddr_storage	 ss;
	struct dnsbl_check	*c;

	T_ASSERT(t_benv_init(&e, "slow.test,bl.test,1,2000,%s") == 0);
	T_EQ_INT(t_sa("198.18.0.2", &ss), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	T_ASSERT((c = dnsbl_start(e.r, &e.conf, (struct sockaddr *)&ss,
	    t_on_check, &a)) != NULL);
	(void)fakedns_run(e.base, NULL, 100);	/* bl.test answered */
	dnsbl_cancel(c);
	dnsbl_cancel(NULL);
	(void)fakedns_run(e.base, NULL, 500);
	T_EQ_INT(a.called, 0);
	/* A skipped check cancelled before its report. */
	T_EQ_INT(t_sa("127.0.0.1", &ss), 0);
	T_ASSERT((c = dnsbl_start(e.r, &e.conf, (struct sockaddr *)&ss,
	    t_on_check, &a)) != NULL);
	dnsbl_cancel(c);
	(void)fakedns_run(e.base, NULL, 50);
	T_EQ_INT(a.called, 0);
	/* The resolver goes away under a check: reported at once. */
	T_EQ_INT(t_sa("198.18.0.2", &ss), 0);
	T_ASSERT(dnsbl_start(e.r, &e.conf, (struct sockaddr *)&ss,
	    t_on_check, &b) != NULL);
	(void)fakedns_run(e.base, NULL, 100);
	T_EQ_INT(b.called, 0);
	dns_free(e.r);
	e.r = NULL;
	T_EQ_INT(b.called, 1);
	T_EQ_INT(b.allow, 0);		/* bl.test had answered */
	T_EQ_INT(b.listed, 1);
	T_EQ_INT(b.failed, 1);
	(void)fakedns_run(e.base, NULL, 300);
	T_EQ_INT(b.called, 1);
	t_benv_free(&e);
}
