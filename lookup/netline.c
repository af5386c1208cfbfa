/*
 * One-line requests over kept connections, for the net: filter and
 * verifier (lookupnet.h, SPEC 6.3, 6.5).
 *
 * Per address (and kind) up to LINE_CONNS connections are kept; each
 * serves one request at a time.  A request waits on its address's list
 * until a connection is free; when none is and fewer than LINE_CONNS
 * exist, one more is made.  A connection that fails to connect fails
 * every request waiting for that address; one that breaks while a
 * request is out fails that request, unless it had already answered
 * before (the server may have closed it while idle) and the request
 * has not been retried: then the request goes back to the front of the
 * list.  Each request has its own timer for the whole wait; at the
 * timeout the connection it was using is closed, since its answer can
 * no longer be told from the next one's.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "io.h"
#include "log.h"
#include "lookup.h"
#include "lookupnet.h"

#define LINE_CONNS	8	/* connections per address */
#define LINE_WAIT_MAX	4096	/* requests waiting per address */
#define LINE_ADDRS_MAX	256	/* addresses kept */
#define LINE_ADDR_MAX	300	/* an address value and its NUL */

enum line_state {
	LINE_RESOLVING,
	LINE_CONNECTING,
	LINE_IDLE,
	LINE_BUSY
};

struct line_req;

struct line_conn {
	TAILQ_ENTRY(line_conn)	 entry;
	struct line_addr	*a;
	enum line_state		 state;
	struct lnet_resolve	*res;
	struct io		*io;
	struct line_req		*req;	/* LINE_BUSY */
	int			 answered;	/* has answered a request */
};

struct line_req {
	TAILQ_ENTRY(line_req)	 entry;	/* a->wait while waiting */
	struct line_addr	*a;
	struct line_conn	*conn;	/* serving it, or NULL */
	struct event		*timer;
	char			*line;
	size_t			 len;
	size_t			 max;
	int			 retried;
	void			(*done)(void *, const char *, size_t, int,
				    const char *);
	void			*arg;
};

struct line_addr {
	TAILQ_ENTRY(line_addr)	 entry;
	struct lookup_ctx	*ctx;
	int			 kind;
	char			 addr[LINE_ADDR_MAX];
	int			 timeout_ms;	/* connect timeout */
	TAILQ_HEAD(, line_conn)	 conns;
	size_t			 nconns;
	TAILQ_HEAD(, line_req)	 wait;
	size_t			 nwait;
};

static TAILQ_HEAD(, line_addr)	 line_addrs =
    TAILQ_HEAD_INITIALIZER(line_addrs);
static size_t			 line_naddrs;

static struct line_addr *line_addr_get(struct lookup_ctx *, int,
		    const char *);
static void	 line_kick(struct line_addr *);
static void	 line_conn_new(struct line_addr *);
static void	 line_conn_free(struct line_conn *);
static void	 line_conn_send(struct line_conn *, struct line_req *);
static void	 line_conn_failed(struct line_conn *, const char *);
static void	 line_on_resolved(void *, const struct sockaddr *, socklen_t,
		    const char *);
static void	 line_on_io(struct io *, int, void *);
static void	 line_on_timeout(evutil_socket_t, short, void *);
static void	 line_req_done(struct line_req *, const char *, size_t, int,
		    const char *);

int
lnet_line_request(struct lookup_ctx *ctx, int kind, const char *addr,
    const char *line, size_t len, size_t max, int timeout_ms,
    void (*done)(void *, const char *, size_t, int, const char *),
    void *arg)
{
	struct line_addr	*a;
	struct line_req		*r;
	struct timeval		 tv;

	if ((a = line_addr_get(ctx, kind, addr)) == NULL)
		return (-1);
	if (a->nwait >= LINE_WAIT_MAX) {
		errno = EAGAIN;
		return (-1);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (-1);
	if ((r->line = malloc(len)) == NULL ||
	    (r->timer = evtimer_new(ctx->base, line_on_timeout, r)) == NULL) {
		free(r->line);
		free(r);
		errno = ENOMEM;
		return (-1);
	}
	memcpy(r->line, line, len);
	r->len = len;
	r->max = max;
	r->a = a;
	r->done = done;
	r->arg = arg;
	if (timeout_ms < 1)
		timeout_ms = 1;
	a->timeout_ms = timeout_ms;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(r->timer, &tv);
	TAILQ_INSERT_TAIL(&a->wait, r, entry);
	a->nwait++;
	line_kick(a);
	return (0);
}

/* The address entry for kind and addr, made if new. */
static struct line_addr *
line_addr_get(struct lookup_ctx *ctx, int kind, const char *addr)
{
	struct line_addr	*a;

	TAILQ_FOREACH(a, &line_addrs, entry)
		if (a->kind == kind && strcmp(a->addr, addr) == 0)
			return (a);
	if (line_naddrs >= LINE_ADDRS_MAX || strlen(addr) >= LINE_ADDR_MAX) {
		errno = EINVAL;
		return (NULL);
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return (NULL);
	a->ctx = ctx;
	a->kind = kind;
	(void)strlcpy(a->addr, addr, sizeof(a->addr));
	TAILQ_INIT(&a->conns);
	TAILQ_INIT(&a->wait);
	TAILQ_INSERT_TAIL(&line_addrs, a, entry);
	line_naddrs++;
	return (a);
}

/*
 * Give waiting requests to idle connections, and make connections
 * while more requests wait than connections are being made.
 */
static void
line_kick(struct line_addr *a)
{
	struct line_conn	*c, *next;
	struct line_req		*r;
	size_t			 opening = 0;

	TAILQ_FOREACH_SAFE(c, &a->conns, entry, next) {
		if (c->state == LINE_IDLE && (r = TAILQ_FIRST(&a->wait)) !=
		    NULL) {
			TAILQ_REMOVE(&a->wait, r, entry);
			a->nwait--;
			line_conn_send(c, r);	/* may free c */
			continue;
		}
		if (c->state == LINE_RESOLVING || c->state == LINE_CONNECTING)
			opening++;
	}
	while (a->nwait > opening && a->nconns < LINE_CONNS) {
		line_conn_new(a);
		opening++;
	}
}

static void
line_conn_new(struct line_addr *a)
{
	struct line_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("lookup: net connection");
		return;
	}
	c->a = a;
	c->state = LINE_RESOLVING;
	TAILQ_INSERT_TAIL(&a->conns, c, entry);
	a->nconns++;
	if ((c->res = lnet_resolve_start(a->ctx, a->addr, a->timeout_ms,
	    line_on_resolved, c)) == NULL) {
		log_warn("lookup: net connection");
		line_conn_free(c);
	}
}

static void
line_conn_free(struct line_conn *c)
{
	struct line_addr	*a = c->a;

	TAILQ_REMOVE(&a->conns, c, entry);
	a->nconns--;
	lnet_resolve_cancel(c->res);
	if (c->io != NULL)
		io_free(c->io);
	if (c->req != NULL)
		c->req->conn = NULL;
	free(c);
}

static void
line_on_resolved(void *arg, const struct sockaddr *sa, socklen_t salen,
    const char *errstr)
{
	struct line_conn	*c = arg;
	char			 buf[64];

	c->res = NULL;
	if (sa == NULL) {
		line_conn_failed(c, errstr);	/* c is gone */
		return;
	}
	c->state = LINE_CONNECTING;
	if ((c->io = lnet_io_connect(c->a->ctx, sa, salen, c->a->timeout_ms,
	    line_on_io, c)) == NULL) {
		(void)strlcpy(buf, strerror(errno), sizeof(buf));
		line_conn_failed(c, buf);	/* c is gone */
	}
}

/*
 * c could not connect (or broke): every waiting request of the address
 * fails when no other connection is up, then c goes.
 */
static void
line_conn_failed(struct line_conn *c, const char *why)
{
	struct line_addr	*a = c->a;
	struct line_conn	*o;
	struct line_req		*r;
	char			 buf[LINE_ADDR_MAX + 2], text[160];
	int			 up = 0;

	(void)snprintf(text, sizeof(text), "cannot connect to %s: %s",
	    log_vis(buf, sizeof(buf), a->addr, strlen(a->addr)), why);
	log_warnx("lookup: net: %s", text);
	TAILQ_FOREACH(o, &a->conns, entry)
		if (o != c && (o->state == LINE_IDLE || o->state == LINE_BUSY))
			up = 1;
	if ((r = c->req) != NULL) {
		c->req = NULL;
		r->conn = NULL;
		line_req_done(r, NULL, 0, 0, "cannot connect");
	}
	line_conn_free(c);
	while (!up && (r = TAILQ_FIRST(&a->wait)) != NULL) {
		TAILQ_REMOVE(&a->wait, r, entry);
		a->nwait--;
		line_req_done(r, NULL, 0, 0, "cannot connect");
	}
}

static void
line_conn_send(struct line_conn *c, struct line_req *r)
{
	c->state = LINE_BUSY;
	c->req = r;
	r->conn = c;
	if (io_write(c->io, r->line, r->len) == -1) {
		/* Back to the front of the list; its timer still runs. */
		log_warn("lookup: net: %s", c->a->addr);
		c->req = NULL;
		r->conn = NULL;
		TAILQ_INSERT_HEAD(&c->a->wait, r, entry);
		c->a->nwait++;
		line_conn_free(c);
	}
}

static void
line_on_io(struct io *io, int event, void *arg)
{
	struct line_conn	*c = arg;
	struct line_addr	*a = c->a;
	struct line_req		*r;
	struct io_line		 l;
	size_t			 len;

	switch (event) {
	case IO_CONNECTED:
		c->state = LINE_IDLE;
		line_kick(a);
		return;
	case IO_LOWAT:
		return;
	case IO_DATAIN:
		if ((r = c->req) == NULL) {
			/* Nothing was asked: the server is out of step. */
			line_conn_free(c);
			return;
		}
		if (io_getline(io, r->max + 2, &l) == 0)
			return;
		len = l.overlong ? r->max + 1 : l.len;
		c->req = NULL;
		r->conn = NULL;
		c->answered = 1;
		line_req_done(r, l.p, len, 0, NULL);
		if (l.overlong || io_datalen(io) > l.size) {
			line_conn_free(c);
			line_kick(a);
			return;
		}
		io_drop(io, l.size);
		c->state = LINE_IDLE;
		line_kick(a);
		return;
	default:
		break;
	}
	/* IO_TIMEOUT, IO_EOF, IO_ERROR */
	if (c->state == LINE_CONNECTING) {
		line_conn_failed(c, event == IO_TIMEOUT ? "timeout" :
		    event == IO_EOF ? "connection closed" :
		    strerror(io_error(io)));	/* c is gone */
		return;
	}
	if ((r = c->req) != NULL) {
		c->req = NULL;
		r->conn = NULL;
		if (c->answered && !r->retried && event != IO_TIMEOUT &&
		    io_datalen(io) == 0) {
			/* A kept connection had died: once more. */
			r->retried = 1;
			TAILQ_INSERT_HEAD(&a->wait, r, entry);
			a->nwait++;
		} else
			line_req_done(r, NULL, 0, 0, event == IO_TIMEOUT ?
			    "timeout" : "connection closed without an answer");
	}
	line_conn_free(c);
	line_kick(a);
}

static void
line_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct line_req		*r = arg;
	struct line_addr	*a = r->a;

	if (r->conn != NULL) {
		r->conn->req = NULL;
		line_conn_free(r->conn);
	} else {
		TAILQ_REMOVE(&a->wait, r, entry);
		a->nwait--;
	}
	line_req_done(r, NULL, 0, 1, "timeout");
	line_kick(a);
}

/* Report r and free it. */
static void
line_req_done(struct line_req *r, const char *line, size_t len,
    int timed_out, const char *errstr)
{
	r->done(r->arg, line, len, timed_out, errstr);
	event_free(r->timer);
	free(r->line);
	free(r);
}
