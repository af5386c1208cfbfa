/*
 * The fake DNS server of the DNS unit tests (fakedns.h), and a test of
 * its own wire format against hand-made queries.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "fakedns.h"
#include "t.h"

#define FK_RULES_MAX	256
#define FK_ASKED_MAX	256
#define FK_CONNS_MAX	16
#define FK_MSG_MAX	4096
#define FK_UDP_MAX	512

struct fk_rule {
	char		 name[256];
	int		 type;
	enum fk_action	 action;
	uint8_t		 rdata[272];
	size_t		 rdlen;
};

struct fk_conn {
	int		 fd;
	struct event	*ev;
	uint8_t		 buf[FK_MSG_MAX + 2];
	size_t		 len;
};

struct fakedns {
	struct event_base	*base;
	int			 ufd;
	int			 tfd;
	struct event		*uev;
	struct event		*tev;
	char			 server[32];
	struct fk_rule		 rules[FK_RULES_MAX];
	size_t			 nrules;
	struct fk_conn		*conns[FK_CONNS_MAX];
	size_t			 count;
	size_t			 tcp_count;
	char			 asked[FK_ASKED_MAX][256];
	size_t			 nasked;
};

static int	 fk_encode_name(const char *, uint8_t *, size_t);
static int	 fk_answer(struct fakedns *, const uint8_t *, size_t, int,
		    uint8_t *, size_t *);
static void	 fk_on_udp(evutil_socket_t, short, void *);
static void	 fk_on_accept(evutil_socket_t, short, void *);
static void	 fk_on_tcp(evutil_socket_t, short, void *);
static void	 fk_conn_free(struct fakedns *, struct fk_conn *);
static void	 fk_on_guard(evutil_socket_t, short, void *);
static long	 fk_ms(const struct timespec *);

/* Wire-format labels of name ("." = root) into buf.  Returns length. */
static int
fk_encode_name(const char *name, uint8_t *buf, size_t bufsz)
{
	const char	*p = name, *dot;
	size_t		 n = 0, len;

	if (strcmp(name, ".") == 0 || *name == '\0') {
		if (bufsz < 1)
			return (-1);
		buf[0] = 0;
		return (1);
	}
	while (*p != '\0') {
		dot = strchr(p, '.');
		len = dot == NULL ? strlen(p) : (size_t)(dot - p);
		if (len == 0 || len > 63 || n + len + 2 > bufsz)
			return (-1);
		buf[n++] = (uint8_t)len;
		memcpy(buf + n, p, len);
		n += len;
		p += len;
		if (*p == '.')
			p++;
	}
	buf[n++] = 0;
	return ((int)n);
}

struct fakedns *
fakedns_new(struct event_base *base)
{
	struct fakedns		*fk;
	struct sockaddr_in	 sin;
	socklen_t		 len;
	int			 on = 1, tries;

	if ((fk = calloc(1, sizeof(*fk))) == NULL)
		return (NULL);
	fk->base = base;
	fk->ufd = fk->tfd = -1;
	for (tries = 0; tries < 20; tries++) {
		if (fk->ufd != -1)
			close(fk->ufd);
		if (fk->tfd != -1)
			close(fk->tfd);
		fk->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		fk->tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fk->ufd == -1 || fk->tfd == -1)
			goto fail;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fk->ufd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			goto fail;
		len = sizeof(sin);
		if (getsockname(fk->ufd, (struct sockaddr *)&sin, &len) == -1)
			goto fail;
		(void)setsockopt(fk->tfd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on));
		if (bind(fk->tfd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			break;
	}
	if (tries == 20 || listen(fk->tfd, 8) == -1)
		goto fail;
	(void)snprintf(fk->server, sizeof(fk->server), "127.0.0.1:%u",
	    ntohs(sin.sin_port));
	if ((fk->uev = event_new(base, fk->ufd, EV_READ | EV_PERSIST,
	    fk_on_udp, fk)) == NULL || event_add(fk->uev, NULL) == -1 ||
	    (fk->tev = event_new(base, fk->tfd, EV_READ | EV_PERSIST,
	    fk_on_accept, fk)) == NULL || event_add(fk->tev, NULL) == -1)
		goto fail;
	return (fk);
 fail:
	fakedns_free(fk);
	return (NULL);
}

void
fakedns_free(struct fakedns *fk)
{
	size_t	 i;

	if (fk == NULL)
		return;
	for (i = 0; i < FK_CONNS_MAX; i++)
		if (fk->conns[i] != NULL)
			fk_conn_free(fk, fk->conns[i]);
	if (fk->uev != NULL)
		event_free(fk->uev);
	if (fk->tev != NULL)
		event_free(fk->tev);
	if (fk->ufd != -1)
		close(fk->ufd);
	if (fk->tfd != -1)
		close(fk->tfd);
	free(fk);
}

const char *
fakedns_server(const struct fakedns *fk)
{
	return (fk->server);
}

size_t
fakedns_count(const struct fakedns *fk)
{
	return (fk->count);
}

size_t
fakedns_tcp_count(const struct fakedns *fk)
{
	return (fk->tcp_count);
}

int
fakedns_asked(const struct fakedns *fk, const char *name)
{
	size_t	 i;

	for (i = 0; i < fk->nasked; i++)
		if (strcasecmp(fk->asked[i], name) == 0)
			return (1);
	return (0);
}

int
fakedns_add(struct fakedns *fk, const char *name, int type,
    enum fk_action action, const char *data)
{
	struct fk_rule	*r;
	const char	*sp;
	long		 pref;
	int		 n;

	if (fk->nrules == FK_RULES_MAX || strlen(name) >= sizeof(r->name))
		return (-1);
	r = &fk->rules[fk->nrules];
	memset(r, 0, sizeof(*r));
	(void)snprintf(r->name, sizeof(r->name), "%s", name);
	r->type = type;
	r->action = action;
	if (action == FK_RECORD) {
		if (data == NULL)
			return (-1);
		switch (type) {
		case FK_T_A:
			if (inet_pton(AF_INET, data, r->rdata) != 1)
				return (-1);
			r->rdlen = 4;
			break;
		case FK_T_AAAA:
			if (inet_pton(AF_INET6, data, r->rdata) != 1)
				return (-1);
			r->rdlen = 16;
			break;
		case FK_T_MX:
			if ((sp = strchr(data, ' ')) == NULL)
				return (-1);
			pref = strtol(data, NULL, 10);
			r->rdata[0] = (uint8_t)(pref >> 8);
			r->rdata[1] = (uint8_t)pref;
			if ((n = fk_encode_name(sp + 1, r->rdata + 2,
			    sizeof(r->rdata) - 2)) == -1)
				return (-1);
			r->rdlen = 2 + (size_t)n;
			break;
		default:
			return (-1);
		}
	}
	fk->nrules++;
	return (0);
}

/*
 * Build the reply to query q (qlen octets) into out.  Returns 1 with
 * *outlen set, or 0 to send nothing.
 */
static int
fk_answer(struct fakedns *fk, const uint8_t *q, size_t qlen, int tcp,
    uint8_t *out, size_t *outlen)
{
	char			 qname[256];
	const struct fk_rule	*r;
	size_t			 p, n = 0, i, qend, an = 0;
	int			 qtype, known = 0, rcode = 0, trunc = 0;

	if (qlen < 12 + 5 || q[4] != 0 || q[5] != 1)
		return (0);
	/* The question: labels, no compression in queries. */
	p = 12;
	while (p < qlen && q[p] != 0) {
		if (q[p] > 63 || p + 1 + q[p] >= qlen ||
		    n + q[p] + 2 > sizeof(qname))
			return (0);
		if (n > 0)
			qname[n++] = '.';
		memcpy(qname + n, q + p + 1, q[p]);
		n += q[p];
		p += 1 + q[p];
	}
	qname[n] = '\0';
	if (p + 5 > qlen)
		return (0);
	qtype = q[p + 1] << 8 | q[p + 2];
	qend = p + 5;
	fk->count++;
	if (tcp)
		fk->tcp_count++;
	if (fk->nasked < FK_ASKED_MAX)
		memcpy(fk->asked[fk->nasked++], qname, n + 1);

	for (i = 0; i < fk->nrules; i++) {
		r = &fk->rules[i];
		if (strcasecmp(r->name, qname) != 0)
			continue;
		known = 1;
		if (r->action == FK_RECORD || (r->type != FK_T_ANY &&
		    r->type != qtype))
			continue;
		switch (r->action) {
		case FK_DROP:
			return (0);
		case FK_SHORT:
			memcpy(out, q, 3);
			*outlen = 3;
			return (1);
		case FK_NXDOMAIN:
			rcode = 3;
			break;
		case FK_SERVFAIL:
			rcode = 2;
			break;
		case FK_TRUNC:
			if (!tcp)
				trunc = 1;
			break;
		default:
			break;
		}
	}
	if (!known)
		rcode = 3;

	memcpy(out, q, qend);		/* id, flags, counts, question */
	out[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD copied */
	out[3] = 0x80 | (uint8_t)rcode;	/* RA */
	out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
	n = qend;
	for (i = 0; rcode == 0 && !trunc && i < fk->nrules; i++) {
		r = &fk->rules[i];
		if (r->action != FK_RECORD || r->type != qtype ||
		    strcasecmp(r->name, qname) != 0)
			continue;
		if (n + 12 + r->rdlen > FK_MSG_MAX)
			break;
		out[n++] = 0xc0;		/* pointer to the question */
		out[n++] = 12;
		out[n++] = (uint8_t)(qtype >> 8);
		out[n++] = (uint8_t)qtype;
		out[n++] = 0;
		out[n++] = 1;			/* IN */
		out[n++] = 0;
		out[n++] = 0;
		out[n++] = 0;
		out[n++] = 60;			/* TTL */
		out[n++] = (uint8_t)(r->rdlen >> 8);
		out[n++] = (uint8_t)r->rdlen;
		memcpy(out + n, r->rdata, r->rdlen);
		n += r->rdlen;
		an++;
	}
	for (i = 0; rcode == 0 && !trunc && i < fk->nrules; i++) {
		r = &fk->rules[i];
		if (r->action != FK_BADREC || strcasecmp(r->name, qname) ||
		    (r->type != FK_T_ANY && r->type != qtype))
			continue;
		/* A record that claims 4 octets of data and has 1. */
		out[n++] = 0xc0;
		out[n++] = 12;
		out[n++] = (uint8_t)(qtype >> 8);
		out[n++] = (uint8_t)qtype;
		out[n++] = 0;
		out[n++] = 1;
		out[n++] = 0;
		out[n++] = 0;
		out[n++] = 0;
		out[n++] = 60;
		out[n++] = 0;
		out[n++] = 4;
		out[n++] = 127;
		an = 1;
		break;
	}
	if (!tcp && n > FK_UDP_MAX)
		trunc = 1;
	if (trunc) {
		n = qend;
		an = 0;
		out[2] |= 0x02;			/* TC */
	}
	out[6] = (uint8_t)(an >> 8);
	out[7] = (uint8_t)an;
	*outlen = n;
	return (1);
}

static void
fk_on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct fakedns		*fk = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	uint8_t			 q[FK_MSG_MAX], out[FK_MSG_MAX];
	size_t			 outlen;
	ssize_t			 n;

	for (;;) {
		sslen = sizeof(ss);
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&ss,
		    &sslen);
		if (n <= 0)
			return;
		if (fk_answer(fk, q, (size_t)n, 0, out, &outlen))
			(void)sendto(fd, out, outlen, 0,
			    (struct sockaddr *)&ss, sslen);
	}
}

static void
fk_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct fakedns	*fk = arg;
	struct fk_conn	*c;
	size_t		 i;
	int		 s;

	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) == -1)
		return;
	for (i = 0; i < FK_CONNS_MAX && fk->conns[i] != NULL; i++)
		;
	if (i == FK_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		close(s);
		return;
	}
	c->fd = s;
	if ((c->ev = event_new(fk->base, s, EV_READ | EV_PERSIST, fk_on_tcp,
	    fk)) == NULL) {
		close(s);
		free(c);
		return;
	}
	fk->conns[i] = c;
	(void)event_add(c->ev, NULL);
}

static void
fk_on_tcp(evutil_socket_t fd, short what, void *arg)
{
	struct fakedns	*fk = arg;
	struct fk_conn	*c = NULL;
	uint8_t		 out[FK_MSG_MAX + 2];
	size_t		 i, mlen, outlen;
	ssize_t		 n;

	for (i = 0; i < FK_CONNS_MAX; i++)
		if (fk->conns[i] != NULL && fk->conns[i]->fd == fd)
			c = fk->conns[i];
	if (c == NULL)
		return;
	n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		if (n == -1 && errno == EAGAIN)
			return;
		fk_conn_free(fk, c);
		return;
	}
	c->len += (size_t)n;
	while (c->len >= 2) {
		mlen = (size_t)c->buf[0] << 8 | c->buf[1];
		if (c->len < mlen + 2)
			break;
		if (fk_answer(fk, c->buf + 2, mlen, 1, out + 2, &outlen)) {
			out[0] = (uint8_t)(outlen >> 8);
			out[1] = (uint8_t)outlen;
			(void)write(fd, out, outlen + 2);
		}
		memmove(c->buf, c->buf + 2 + mlen, c->len - 2 - mlen);
		c->len -= 2 + mlen;
	}
	if (c->len == sizeof(c->buf))
		fk_conn_free(fk, c);
}

static void
fk_conn_free(struct fakedns *fk, struct fk_conn *c)
{
	size_t	 i;

	for (i = 0; i < FK_CONNS_MAX; i++)
		if (fk->conns[i] == c)
			fk->conns[i] = NULL;
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void
fk_on_guard(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

static long
fk_ms(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000);
}

long
fakedns_run(struct event_base *base, const int *flag, long ms)
{
	struct event	*guard;
	struct timeval	 tv;
	struct timespec	 t0;
	int		 expired = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((guard = evtimer_new(base, fk_on_guard, &expired)) == NULL)
		return (-1);
	evtimer_add(guard, &tv);
	while (!expired && (flag == NULL || *flag == 0))
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			break;
	event_free(guard);
	return (fk_ms(&t0));
}

/* One UDP exchange with the fake server, by hand. */
TEST(fakedns_wire)
{
	static const uint8_t	 query[] = {
		0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,
		2, 'm', 'x', 4, 't', 'e', 's', 't', 0,
		0x00, 0x0f, 0x00, 0x01
	};
	struct event_base	*base;
	struct fakedns		*fk;
	struct sockaddr_in	 sin;
	uint8_t			 buf[512];
	ssize_t			 n;
	int			 s;
	unsigned int		 port;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((fk = fakedns_new(base)) != NULL);
	T_EQ_INT(fakedns_add(fk, "mx.test", FK_T_MX, FK_RECORD,
	    "10 a.mx.test"), 0);
	T_ASSERT(sscanf(fakedns_server(fk), "127.0.0.1:%u", &port) == 1);
	T_ASSERT((s = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	T_ASSERT(sendto(s, query, sizeof(query), 0, (struct sockaddr *)&sin,
	    sizeof(sin)) == (ssize_t)sizeof(query));
	(void)fakedns_run(base, NULL, 50);
	n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	close(s);
	/* Header, question echoed, one MX: 10 "a.mx.test". */
	T_EQ_INT(n, (ssize_t)sizeof(query) + 12 + 2 + 11);
	T_EQ_INT(buf[0], 0x12);
	T_EQ_INT(buf[2] & 0x80, 0x80);
	T_EQ_INT(buf[3] & 0x0f, 0);
	T_EQ_INT(buf[7], 1);
	T_ASSERT(memcmp(buf + 12, query + 12, sizeof(query) - 12) == 0);
	T_EQ_INT(buf[sizeof(query) + 11], 2 + 11);
	T_EQ_INT(buf[sizeof(query) + 13], 10);
	T_ASSERT(memcmp(buf + sizeof(query) + 14, "\001a\002mx\004test", 11)
	    == 0);
	T_EQ_INT(fakedns_count(fk), 1);
	T_ASSERT(fakedns_asked(fk, "MX.test"));
	fakedns_free(fk);
	event_base_free(base);
}
