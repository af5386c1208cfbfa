/*
 * Asynchronous DNS: c-ares on libevent (dns.h).
 *
 * Each query has one or two c-ares questions ("subs": A and AAAA for an
 * address query) and a deadline timer.  A query is WAITing until every
 * sub has been answered or the deadline has passed; it is then READY,
 * on the resolver's ready list, and a dispatch event calls its callback
 * from the event loop.  After the callback (or dns_cancel()) it is GONE
 * and freed as soon as c-ares has let go of its subs (c-ares goes on
 * with a question we gave up on until its own tries run out).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <ares.h>

#include "netaddr.h"
#include "dns.h"

#define DNS_C_IN	1
#define DNS_T_A		1
#define DNS_T_MX	15
#define DNS_T_AAAA	28

#define DNS_TRIES	3	/* c-ares tries per server */
#define DNS_SOCKS_MAX	64	/* c-ares sockets watched */

enum dns_kind {
	DNS_K_ADDR,		/* A + AAAA, port applied */
	DNS_K_MX,
	DNS_K_A			/* A only (DNSBL) */
};

enum dns_state {
	DNS_S_WAIT,		/* questions out, deadline armed */
	DNS_S_READY,		/* on the ready list, callback due */
	DNS_S_GONE		/* reported or cancelled; waits for c-ares */
};

struct dns_sock {
	TAILQ_ENTRY(dns_sock)	 entry;
	ares_socket_t		 fd;
	short			 what;		/* EV_READ | EV_WRITE */
	struct event		*ev;
};

struct dns_sub {
	struct dns_query	*q;
	int			 type;		/* DNS_T_* */
	enum dns_status		 status;	/* DNS_TIMEOUT until answered */
};

struct dns_query {
	TAILQ_ENTRY(dns_query)	 entry;		/* r->queries */
	TAILQ_ENTRY(dns_query)	 rentry;	/* r->ready */
	struct dns		*r;
	enum dns_kind		 kind;
	enum dns_state		 state;
	int			 pending;	/* subs c-ares still holds */
	struct dns_sub		 sub[2];
	int			 nsub;
	unsigned int		 port;
	struct event		*ev_deadline;
	void			(*cb)(void *, const struct dns_result *);
	void			*arg;
	enum dns_status		 status;	/* set when READY */
	struct in_addr		 a4[DNS_ADDR_MAX];
	size_t			 n4;
	struct in6_addr		 a6[DNS_ADDR_MAX];
	size_t			 n6;
	struct sockaddr_storage	 addr[DNS_ADDR_MAX];
	size_t			 naddr;
	struct dns_mx		*mx;		/* DNS_MX_MAX, MX queries */
	size_t			 nmx;
};

struct dns {
	struct event_base	*base;
	ares_channel		 channel;
	int			 have_channel;
	int			 libinit;
	struct event		*ev_timer;	/* follows ares_timeout() */
	struct event		*ev_ready;	/* calls READY callbacks */
	TAILQ_HEAD(, dns_sock)	 socks;
	size_t			 nsocks;
	TAILQ_HEAD(, dns_query)	 queries;	/* every query not freed */
	TAILQ_HEAD(, dns_query)	 ready;
	size_t			 nqueries;
	int			 in_dispatch;	/* inside dns_on_ready() */
	int			 free_pending;	/* dns_free() from a callback */
	int			 dying;		/* inside dns_destroy() */
};

static void	 dns_on_sock_state(void *, ares_socket_t, int, int);
static void	 dns_on_sock(evutil_socket_t, short, void *);
static void	 dns_on_timer(evutil_socket_t, short, void *);
static void	 dns_on_ready(evutil_socket_t, short, void *);
static void	 dns_on_deadline(evutil_socket_t, short, void *);
static void	 dns_on_answer(void *, int, int, unsigned char *, int);
static void	 dns_timer_update(struct dns *);
static void	 dns_sock_free(struct dns *, struct dns_sock *);
static void	 dns_destroy(struct dns *);
static struct dns_query *dns_query_new(struct dns *, enum dns_kind,
		    int, void (*)(void *, const struct dns_result *), void *);
static void	 dns_query_free(struct dns_query *);
static void	 dns_send(struct dns_query *, const char *, const int *,
		    int);
static void	 dns_set_ready(struct dns_query *);
static void	 dns_deliver(struct dns_query *, enum dns_status);
static enum dns_status dns_parse(struct dns_query *, struct dns_sub *,
		    int, const unsigned char *, int);
static void	 dns_mx_insert(struct dns_query *, unsigned int,
		    const char *);
static int	 dns_name_ok(const char *);
static void	 dns_sockaddr(struct sockaddr_storage *, int, const void *,
		    unsigned int);

/* Fill ss with an address of family af (4 or 16 bytes at a) and port. */
static void
dns_sockaddr(struct sockaddr_storage *ss, int af, const void *a,
    unsigned int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, sizeof(sin->sin_addr));
		sin->sin_port = htons((uint16_t)port);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, sizeof(sin6->sin6_addr));
		sin6->sin6_port = htons((uint16_t)port);
	}
}

int
dns_addr_hostport(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	char		 ip[INET6_ADDRSTRLEN];
	unsigned int	 port;
	int		 r;

	if (bufsz == 0)
		return (-1);
	buf[0] = '\0';
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return (-1);
	if (netaddr_ip(sa, ip, sizeof(ip))[0] == '\0')
		return (-1);
	if (sa->sa_family == AF_INET) {
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		r = snprintf(buf, bufsz, "%s:%u", ip, port);
	} else {
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		r = snprintf(buf, bufsz, "[%s]:%u", ip, port);
	}
	if (r < 0 || (size_t)r >= bufsz) {
		buf[0] = '\0';
		return (-1);
	}
	return (0);
}

const char *
dns_status_str(enum dns_status status)
{
	switch (status) {
	case DNS_OK:
		return ("ok");
	case DNS_NXDOMAIN:
		return ("no such domain");
	case DNS_NODATA:
		return ("no such record");
	case DNS_TIMEOUT:
		return ("timeout");
	case DNS_ERROR:
		return ("server failure");
	case DNS_CANCELLED:
		return ("cancelled");
	}
	return ("unknown");
}

struct dns *
dns_new(struct event_base *base, const char *server, int try_ms,
    const char **errstr)
{
	struct ares_options		 opts;
	struct ares_addr_port_node	 node;
	struct sockaddr_storage		 ss;
	struct sockaddr_in		*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6		*sin6 = (struct sockaddr_in6 *)&ss;
	struct dns			*r;
	char				 lookups[] = "b";
	int				 has_server, rc;

	if (base == NULL || try_ms < 1 || try_ms > DNS_TIMEOUT_MAX) {
		*errstr = "invalid DNS timeout";
		return (NULL);
	}
	has_server = server != NULL && *server != '\0';
	if (has_server && dns_parse_server(server, &ss, errstr) == -1)
		return (NULL);
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		*errstr = "out of memory";
		return (NULL);
	}
	r->base = base;
	TAILQ_INIT(&r->socks);
	TAILQ_INIT(&r->queries);
	TAILQ_INIT(&r->ready);
	if ((r->ev_timer = evtimer_new(base, dns_on_timer, r)) == NULL ||
	    (r->ev_ready = event_new(base, -1, 0, dns_on_ready, r)) ==
	    NULL) {
		*errstr = "out of memory";
		goto fail;
	}
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		*errstr = ares_strerror(rc);
		goto fail;
	}
	r->libinit = 1;
	memset(&opts, 0, sizeof(opts));
	opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	opts.timeout = try_ms;
	opts.tries = DNS_TRIES;
	opts.lookups = lookups;
	opts.sock_state_cb = dns_on_sock_state;
	opts.sock_state_cb_data = r;
	if ((rc = ares_init_options(&r->channel, &opts, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
	    ARES_OPT_SOCK_STATE_CB)) != ARES_SUCCESS) {
		*errstr = ares_strerror(rc);
		goto fail;
	}
	r->have_channel = 1;
	if (has_server) {
		memset(&node, 0, sizeof(node));
		node.family = ss.ss_family;
		if (ss.ss_family == AF_INET) {
			memcpy(&node.addr.addr4, &sin->sin_addr,
			    sizeof(node.addr.addr4));
			node.udp_port = node.tcp_port = ntohs(sin->sin_port);
		} else {
			memcpy(&node.addr.addr6, &sin6->sin6_addr,
			    sizeof(node.addr.addr6));
			node.udp_port = node.tcp_port =
			    ntohs(sin6->sin6_port);
		}
		if ((rc = ares_set_servers_ports(r->channel, &node)) !=
		    ARES_SUCCESS) {
			*errstr = ares_strerror(rc);
			goto fail;
		}
	}
	return (r);
 fail:
	dns_destroy(r);
	return (NULL);
}

struct event_base *
dns_base(const struct dns *r)
{
	return (r->base);
}

void
dns_free(struct dns *r)
{
	if (r == NULL || r->dying)
		return;
	if (r->in_dispatch) {
		r->free_pending = 1;	/* dns_on_ready() finishes it */
		return;
	}
	dns_destroy(r);
}

/*
 * Tear down: c-ares reports its questions as destroyed, every query not
 * yet reported gets DNS_CANCELLED, then everything is freed.
 */
static void
dns_destroy(struct dns *r)
{
	struct dns_query	*q;
	struct dns_sock		*s;

	r->dying = 1;
	if (r->have_channel) {
		ares_destroy(r->channel);
		r->have_channel = 0;
	}
	TAILQ_FOREACH(q, &r->queries, entry) {
		if (q->state == DNS_S_GONE)
			continue;
		if (q->state == DNS_S_READY)
			TAILQ_REMOVE(&r->ready, q, rentry);
		dns_deliver(q, DNS_CANCELLED);
	}
	while ((q = TAILQ_FIRST(&r->queries)) != NULL)
		dns_query_free(q);
	while ((s = TAILQ_FIRST(&r->socks)) != NULL)
		dns_sock_free(r, s);
	if (r->ev_timer != NULL)
		event_free(r->ev_timer);
	if (r->ev_ready != NULL)
		event_free(r->ev_ready);
	if (r->libinit)
		ares_library_cleanup();
	free(r);
}

/* c-ares opens, changes or closes a socket: mirror it in an event. */
static void
dns_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns	*r = data;
	struct dns_sock	*s;
	short		 what;

	what = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	TAILQ_FOREACH(s, &r->socks, entry)
		if (s->fd == fd)
			break;
	if (what == 0 || r->dying) {
		if (s != NULL)
			dns_sock_free(r, s);
		return;
	}
	if (s != NULL && s->what == what)
		return;
	if (s == NULL) {
		/* Without an event the questions on fd time out. */
		if (r->nsocks >= DNS_SOCKS_MAX ||
		    (s = calloc(1, sizeof(*s))) == NULL)
			return;
		s->fd = fd;
		TAILQ_INSERT_TAIL(&r->socks, s, entry);
		r->nsocks++;
	} else if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	s->what = what;
	if ((s->ev = event_new(r->base, fd, what | EV_PERSIST, dns_on_sock,
	    r)) == NULL || event_add(s->ev, NULL) == -1)
		dns_sock_free(r, s);
}

static void
dns_sock_free(struct dns *r, struct dns_sock *s)
{
	TAILQ_REMOVE(&r->socks, s, entry);
	r->nsocks--;
	if (s->ev != NULL)
		event_free(s->ev);
	free(s);
}

static void
dns_on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns	*r = arg;

	/* May close fd and free its event (we are in its callback). */
	ares_process_fd(r->channel,
	    (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	dns_timer_update(r);
}

static void
dns_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns	*r = arg;

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_timer_update(r);
}

/* Re-arm the one timer at c-ares's next timeout, or stop it. */
static void
dns_timer_update(struct dns *r)
{
	struct timeval	 tv, *tvp;

	if (r->dying || !r->have_channel)
		return;
	if ((tvp = ares_timeout(r->channel, NULL, &tv)) != NULL)
		evtimer_add(r->ev_timer, tvp);
	else
		evtimer_del(r->ev_timer);
}

/* Report READY queries; a callback may free the resolver. */
static void
dns_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct dns		*r = arg;
	struct dns_query	*q;

	r->in_dispatch = 1;
	while (!r->free_pending && (q = TAILQ_FIRST(&r->ready)) != NULL) {
		TAILQ_REMOVE(&r->ready, q, rentry);
		dns_deliver(q, q->status);
	}
	r->in_dispatch = 0;
	if (r->free_pending)
		dns_destroy(r);		/* r is gone */
}

/* Call q's callback once with status; q is GONE afterwards. */
static void
dns_deliver(struct dns_query *q, enum dns_status status)
{
	struct dns_result	 res;
	void			(*cb)(void *, const struct dns_result *);
	void			*arg;

	cb = q->cb;
	arg = q->arg;
	q->cb = NULL;
	q->state = DNS_S_GONE;
	evtimer_del(q->ev_deadline);
	memset(&res, 0, sizeof(res));
	res.status = status;
	if (status == DNS_OK) {
		res.naddr = q->naddr;
		res.addr = q->addr;
		res.nmx = q->nmx;
		res.mx = q->mx;
	}
	if (cb != NULL)
		cb(arg, &res);
	if (q->pending == 0 && !q->r->dying)
		dns_query_free(q);
}

void
dns_cancel(struct dns_query *q)
{
	if (q == NULL || q->state == DNS_S_GONE)
		return;
	if (q->state == DNS_S_READY)
		TAILQ_REMOVE(&q->r->ready, q, rentry);
	evtimer_del(q->ev_deadline);
	q->state = DNS_S_GONE;
	q->cb = NULL;
	if (q->pending == 0 && !q->r->dying)
		dns_query_free(q);
}

/* A DNS name we send: a host name of at most 253 octets (+ final dot). */
static int
dns_name_ok(const char *name)
{
	size_t	 len;

	len = strnlen(name, DNS_NAME_MAX);
	if (len > 0 && name[len - 1] == '.')
		len--;
	return (len > 0 && len <= 253 &&
	    netaddr_valid_hostname(name, len));
}

static struct dns_query *
dns_query_new(struct dns *r, enum dns_kind kind, int timeout_ms,
    void (*cb)(void *, const struct dns_result *), void *arg)
{
	struct dns_query	*q;
	struct timeval		 tv;

	if (r == NULL || cb == NULL || timeout_ms < 1 ||
	    timeout_ms > DNS_TIMEOUT_MAX) {
		errno = EINVAL;
		return (NULL);
	}
	if (r->dying || r->free_pending || r->nqueries >= DNS_QUERIES_MAX) {
		errno = EAGAIN;
		return (NULL);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return (NULL);
	q->r = r;
	q->kind = kind;
	q->cb = cb;
	q->arg = arg;
	q->state = DNS_S_WAIT;
	if ((q->ev_deadline = evtimer_new(r->base, dns_on_deadline, q)) ==
	    NULL || (kind == DNS_K_MX && (q->mx = calloc(DNS_MX_MAX,
	    sizeof(*q->mx))) == NULL)) {
		if (q->ev_deadline != NULL)
			event_free(q->ev_deadline);
		free(q);
		errno = ENOMEM;
		return (NULL);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(q->ev_deadline, &tv);
	TAILQ_INSERT_TAIL(&r->queries, q, entry);
	r->nqueries++;
	return (q);
}

static void
dns_query_free(struct dns_query *q)
{
	TAILQ_REMOVE(&q->r->queries, q, entry);
	q->r->nqueries--;
	event_free(q->ev_deadline);
	free(q->mx);
	free(q);
}

/*
 * Ask c-ares the n questions of q.  c-ares may answer at once (no
 * server, no memory): dns_on_answer() then only records it, the
 * callback still comes from the event loop.
 */
static void
dns_send(struct dns_query *q, const char *name, const int *types, int n)
{
	struct dns	*r = q->r;
	int		 i;

	q->nsub = n;
	q->pending = n;
	for (i = 0; i < n; i++) {
		q->sub[i].q = q;
		q->sub[i].type = types[i];
		q->sub[i].status = DNS_TIMEOUT;
	}
	for (i = 0; i < n; i++)
		ares_query(r->channel, name, DNS_C_IN, types[i], dns_on_answer,
		    &q->sub[i]);
	dns_timer_update(r);
}

struct dns_query *
dns_query_addr(struct dns *r, const char *host, unsigned int port,
    int timeout_ms, void (*cb)(void *, const struct dns_result *), void *arg)
{
	static const int	 types[2] = { DNS_T_A, DNS_T_AAAA };
	struct dns_query	*q;
	struct in_addr		 a4;
	struct in6_addr		 a6;
	int			 af = 0;

	if (host == NULL || port > 65535) {
		errno = EINVAL;
		return (NULL);
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, host, &a6) == 1)
		af = AF_INET6;
	else if (!dns_name_ok(host)) {
		errno = EINVAL;
		return (NULL);
	}
	if ((q = dns_query_new(r, DNS_K_ADDR, timeout_ms, cb, arg)) == NULL)
		return (NULL);
	q->port = port;
	if (af != 0) {
		/* An address needs no DNS; reported from the loop. */
		if (af == AF_INET)
			q->a4[q->n4++] = a4;
		else
			q->a6[q->n6++] = a6;
		dns_set_ready(q);
		return (q);
	}
	dns_send(q, host, types, 2);
	return (q);
}

struct dns_query *
dns_query_mx(struct dns *r, const char *domain, int timeout_ms,
    void (*cb)(void *, const struct dns_result *), void *arg)
{
	static const int	 types[1] = { DNS_T_MX };
	struct dns_query	*q;

	if (domain == NULL || !dns_name_ok(domain)) {
		errno = EINVAL;
		return (NULL);
	}
	if ((q = dns_query_new(r, DNS_K_MX, timeout_ms, cb, arg)) == NULL)
		return (NULL);
	dns_send(q, domain, types, 1);
	return (q);
}

struct dns_query *
dns_query_a(struct dns *r, const char *name, int timeout_ms,
    void (*cb)(void *, const struct dns_result *), void *arg)
{
	static const int	 types[1] = { DNS_T_A };
	struct dns_query	*q;

	if (name == NULL || !dns_name_ok(name)) {
		errno = EINVAL;
		return (NULL);
	}
	if ((q = dns_query_new(r, DNS_K_A, timeout_ms, cb, arg)) == NULL)
		return (NULL);
	dns_send(q, name, types, 1);
	return (q);
}

/* c-ares is done with one sub: record its answer. */
static void
dns_on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_sub		*sub = arg;
	struct dns_query	*q = sub->q;

	q->pending--;
	if (q->state == DNS_S_WAIT) {
		sub->status = dns_parse(q, sub, status, abuf, alen);
		if (q->pending == 0 && !q->r->dying)
			dns_set_ready(q);
		return;
	}
	/* Given up on (deadline, cancel): free it once c-ares lets go. */
	if (q->state == DNS_S_GONE && q->pending == 0 && !q->r->dying)
		dns_query_free(q);
}

/* What one answer says, keeping its records in q. */
static enum dns_status
dns_parse(struct dns_query *q, struct dns_sub *sub, int status,
    const unsigned char *abuf, int alen)
{
	struct ares_addrttl	 t4[DNS_ADDR_MAX];
	struct ares_addr6ttl	 t6[DNS_ADDR_MAX];
	struct ares_mx_reply	*mx, *m;
	int			 n, i, rc;

	switch (status) {
	case ARES_SUCCESS:
		break;
	case ARES_ENODATA:
		return (DNS_NODATA);
	case ARES_ENOTFOUND:
		return (DNS_NXDOMAIN);
	case ARES_ETIMEOUT:
		return (DNS_TIMEOUT);
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return (DNS_CANCELLED);
	default:
		return (DNS_ERROR);
	}
	if (abuf == NULL || alen <= 0)
		return (DNS_ERROR);
	switch (sub->type) {
	case DNS_T_A:
		n = DNS_ADDR_MAX;
		rc = ares_parse_a_reply(abuf, alen, NULL, t4, &n);
		if (rc == ARES_ENODATA)
			return (DNS_NODATA);
		if (rc != ARES_SUCCESS || n < 0 || n > DNS_ADDR_MAX)
			return (DNS_ERROR);
		for (i = 0; i < n; i++)
			q->a4[i] = t4[i].ipaddr;
		q->n4 = (size_t)n;
		return (n > 0 ? DNS_OK : DNS_NODATA);
	case DNS_T_AAAA:
		n = DNS_ADDR_MAX;
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, t6, &n);
		if (rc == ARES_ENODATA)
			return (DNS_NODATA);
		if (rc != ARES_SUCCESS || n < 0 || n > DNS_ADDR_MAX)
			return (DNS_ERROR);
		for (i = 0; i < n; i++)
			memcpy(&q->a6[i], &t6[i].ip6addr, sizeof(q->a6[i]));
		q->n6 = (size_t)n;
		return (n > 0 ? DNS_OK : DNS_NODATA);
	case DNS_T_MX:
		mx = NULL;
		rc = ares_parse_mx_reply(abuf, alen, &mx);
		if (rc == ARES_ENODATA)
			return (DNS_NODATA);
		if (rc != ARES_SUCCESS)
			return (DNS_ERROR);
		for (m = mx; m != NULL; m = m->next)
			dns_mx_insert(q, m->priority, m->host);
		ares_free_data(mx);
		return (q->nmx > 0 ? DNS_OK : DNS_NODATA);
	default:
		return (DNS_ERROR);
	}
}

/*
 * Keep an MX record in q->mx, sorted by preference with ties in answer
 * order, keeping the DNS_MX_MAX most preferred.  An exchanger that is
 * not a host name is skipped; "." (null MX, RFC 7505) is kept as "".
 */
static void
dns_mx_insert(struct dns_query *q, unsigned int pref, const char *host)
{
	size_t	 i, n, len;

	if (host == NULL)
		return;
	len = strnlen(host, DNS_NAME_MAX);
	if (len == 1 && host[0] == '.')
		len = 0;
	if (len > 0 && !dns_name_ok(host))
		return;
	for (i = q->nmx; i > 0 && q->mx[i - 1].pref > pref; i--)
		;
	if (i == DNS_MX_MAX)
		return;
	n = q->nmx < DNS_MX_MAX ? q->nmx : DNS_MX_MAX - 1;
	memmove(&q->mx[i + 1], &q->mx[i], (n - i) * sizeof(q->mx[0]));
	q->mx[i].pref = pref;
	memcpy(q->mx[i].host, host, len);
	q->mx[i].host[len] = '\0';
	if (q->nmx < DNS_MX_MAX)
		q->nmx++;
}

/* The deadline passed: what is not answered has timed out. */
static void
dns_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query	*q = arg;

	if (q->state == DNS_S_WAIT)
		dns_set_ready(q);
}

/* Decide q's status, build its addresses and queue its callback. */
static void
dns_set_ready(struct dns_query *q)
{
	struct dns	*r = q->r;
	size_t		 i;
	int		 nx = 0, to = 0, err = 0, can = 0;

	evtimer_del(q->ev_deadline);
	q->naddr = 0;
	for (i = 0; i < q->n4 && q->naddr < DNS_ADDR_MAX; i++)
		dns_sockaddr(&q->addr[q->naddr++], AF_INET, &q->a4[i],
		    q->port);
	for (i = 0; i < q->n6 && q->naddr < DNS_ADDR_MAX; i++)
		dns_sockaddr(&q->addr[q->naddr++], AF_INET6, &q->a6[i],
		    q->port);
	for (i = 0; i < (size_t)q->nsub; i++) {
		switch (q->sub[i].status) {
		case DNS_NXDOMAIN:
			nx = 1;
			break;
		case DNS_TIMEOUT:
			to = 1;
			break;
		case DNS_ERROR:
			err = 1;
			break;
		case DNS_CANCELLED:
			can = 1;
			break;
		default:
			break;
		}
	}
	if (q->naddr > 0 || q->nmx > 0)
		q->status = DNS_OK;
	else if (nx)
		q->status = DNS_NXDOMAIN;
	else if (to)
		q->status = DNS_TIMEOUT;
	else if (err)
		q->status = DNS_ERROR;
	else if (can)
		q->status = DNS_CANCELLED;
	else
		q->status = DNS_NODATA;
	q->state = DNS_S_READY;
	TAILQ_INSERT_TAIL(&r->ready, q, rentry);
	event_active(r->ev_ready, EV_TIMEOUT, 1);
}
