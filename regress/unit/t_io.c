/*
 * common/io.c over real socketpairs and TCP sockets: lines and their
 * terminators, overlong fragments, the input cap, one write per event,
 * backpressure, IO_LOWAT, timeouts, EOF, freeing from the callback and
 * connecting.  Then TLS with both ends in one event loop (certificates
 * from regress/unit/data): handshakes, data both ways, backpressure and
 * input held inside libtls, STARTTLS discarding plaintext, verification,
 * client certificates, protocol bounds, close_notify and plain EOF.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <tls.h>

#include "io.h"
#include "tlsconf.h"
#include "t.h"
#include "t_tls.h"

struct t_io {
	struct io	*io;
	int		 events[16];	/* count per IO_* */
	int		 last;
	int		 free_on;	/* io_free() on this event */
	int		 freed;
	size_t		 datain_len;	/* io_datalen() at the last DATAIN */
	int		 drain;		/* keep and drop all input */
	char		*got;		/* what drain kept */
	size_t		 gotlen, gotsz;
};

static void	 t_io_cb(struct io *, int, void *);
static int	 t_loop(struct event_base *, struct t_io *, int, int);
static int	 t_sockpair(int *);
static long long t_now_ms(void);
static int	 t_loop2(struct event_base *, struct t_io *, int,
		    struct t_io *, int, int);
static int	 t_ended(const struct t_io *);
static int	 t_loop_ended(struct event_base *, struct t_io *,
		    struct t_io *, int);
static int	 t_tls_pair(struct event_base *, struct t_io *,
		    struct t_io *, struct tls *, struct tls_config *,
		    const char *, const char *, int);
static void	 t_tls_done(struct t_io *, struct t_io *);
static int	 t_got(struct t_io *, const char *);

static void
t_io_cb(struct io *io, int event, void *arg)
{
	struct t_io	*t = arg;

	t->events[event]++;
	t->last = event;
	if (event == IO_DATAIN)
		t->datain_len = io_datalen(io);
	if (event == IO_DATAIN && t->drain) {
		if (t->gotsz - t->gotlen < io_datalen(io)) {
			t->gotsz = t->gotlen + io_datalen(io) + 65536;
			if ((t->got = realloc(t->got, t->gotsz)) == NULL)
				abort();
		}
		memcpy(t->got + t->gotlen, io_data(io), io_datalen(io));
		t->gotlen += io_datalen(io);
		io_drop(io, io_datalen(io));
	}
	if (event == t->free_on) {
		io_free(io);
		t->io = NULL;
		t->freed = 1;
	}
}

/*
 * Run the loop until event has been seen count times in all, or ms
 * passed.  Returns 1 if it was seen.
 */
static int
t_loop(struct event_base *base, struct t_io *t, int event, int ms)
{
	long long	 end = t_now_ms() + ms;
	struct timeval	 tv = { 0, 20000 };

	while (t->events[event] == 0 && t_now_ms() < end) {
		event_base_loopexit(base, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	return (t->events[event] > 0);
}

static int
t_sockpair(int *sv)
{
	return (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
}

static long long
t_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000LL + ts.tv_nsec / 1000000);
}

TEST(io_lines_and_terminators)
{
	struct event_base	*base;
	struct t_io		 t;
	struct io_line		 l;
	int			 sv[2];
	static const char	 in[] = "HELO a\r\nNOOP\nRSET\r";

	memset(&t, 0, sizeof(t));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((t.io = io_new(base, sv[0], t_io_cb, &t)) != NULL);
	T_EQ_INT(write(sv[1], in, sizeof(in) - 1), sizeof(in) - 1);
	T_ASSERT(t_loop(base, &t, IO_DATAIN, 2000));
	T_EQ_INT(io_datalen(t.io), sizeof(in) - 1);

	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.len, 6);
	T_EQ_INT(l.size, 8);
	T_EQ_INT(l.term, IO_LINE_CRLF);
	T_EQ_INT(l.overlong, 0);
	T_ASSERT(memcmp(l.p, "HELO a", 6) == 0);
	/* Nothing is consumed until io_drop(). */
	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.size, 8);
	io_drop(t.io, l.size);

	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.len, 4);
	T_EQ_INT(l.size, 5);
	T_EQ_INT(l.term, IO_LINE_LF);
	io_drop(t.io, l.size);

	/* "RSET\r" has no LF yet: more input needed. */
	T_EQ_INT(io_getline(t.io, 1000, &l), 0);
	T_EQ_INT(io_datalen(t.io), 5);
	T_EQ_INT(write(sv[1], "\n", 1), 1);
	t.events[IO_DATAIN] = 0;
	T_ASSERT(t_loop(base, &t, IO_DATAIN, 2000));
	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.len, 4);
	T_EQ_INT(l.term, IO_LINE_CRLF);
	io_drop(t.io, l.size);
	T_EQ_INT(io_datalen(t.io), 0);
	T_EQ_INT(io_getline(t.io, 1000, &l), 0);

	io_free(t.io);
	close(sv[1]);
	event_base_free(base);
}

TEST(io_overlong_fragments)
{
	struct event_base	*base;
	struct t_io		 t;
	struct io_line		 l;
	char			 buf[2600];
	int			 sv[2];

	memset(&t, 0, sizeof(t));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((t.io = io_new(base, sv[0], t_io_cb, &t)) != NULL);
	/* 2500 octets and CRLF: two fragments of 1000, then the rest. */
	memset(buf, 'x', 2500);
	memcpy(buf + 2500, "\r\nQUIT\r\n", 8);
	T_EQ_INT(write(sv[1], buf, 2508), 2508);
	while (io_datalen(t.io) < 2508) {
		t.events[IO_DATAIN] = 0;
		T_ASSERT(t_loop(base, &t, IO_DATAIN, 2000));
	}
	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.overlong, 1);
	T_EQ_INT(l.term, IO_LINE_NONE);
	T_EQ_INT(l.size, 1000);
	io_drop(t.io, l.size);
	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.overlong, 1);
	io_drop(t.io, l.size);
	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.overlong, 0);
	T_EQ_INT(l.len, 500);
	T_EQ_INT(l.term, IO_LINE_CRLF);
	io_drop(t.io, l.size);
	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.len, 4);
	T_ASSERT(memcmp(l.p, "QUIT", 4) == 0);
	io_drop(t.io, l.size);
	/* A line of exactly max octets with its LF is not overlong. */
	memset(buf, 'y', 998);
	memcpy(buf + 998, "\r\n", 2);
	T_EQ_INT(write(sv[1], buf, 1000), 1000);
	while (io_datalen(t.io) < 1000) {
		t.events[IO_DATAIN] = 0;
		T_ASSERT(t_loop(base, &t, IO_DATAIN, 2000));
	}
	T_EQ_INT(io_getline(t.io, 1000, &l), 1);
	T_EQ_INT(l.overlong, 0);
	T_EQ_INT(l.len, 998);
	io_drop(t.io, l.size);
	io_free(t.io);
	close(sv[1]);
	event_base_free(base);
}

TEST(io_input_cap_stops_reading)
{
	struct event_base	*base;
	struct t_io		 t;
	char			 buf[4096];
	int			 sv[2];

	memset(&t, 0, sizeof(t));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((t.io = io_new(base, sv[0], t_io_cb, &t)) != NULL);
	io_set_incap(t.io, 1024);
	memset(buf, 'z', sizeof(buf));
	T_EQ_INT(write(sv[1], buf, sizeof(buf)), sizeof(buf));
	T_ASSERT(t_loop(base, &t, IO_DATAIN, 2000));
	/* Never more than the cap, however long the loop runs. */
	t.events[IO_DATAIN] = 0;
	(void)t_loop(base, &t, IO_DATAIN, 200);
	T_EQ_INT(io_datalen(t.io), 1024);
	/* Consuming makes room: the rest comes. */
	io_drop(t.io, 1024);
	t.events[IO_DATAIN] = 0;
	T_ASSERT(t_loop(base, &t, IO_DATAIN, 2000));
	T_EQ_INT(io_datalen(t.io), 1024);
	io_free(t.io);
	close(sv[1]);
	event_base_free(base);
}

TEST(io_backpressure_and_lowat)
{
	struct event_base	*base;
	struct t_io		 t;
	static char		 big[2 * IO_OUT_HIWAT], sink[65536];
	int			 sv[2], sz = 4096;
	ssize_t			 n;
	size_t			 got = 0;

	memset(&t, 0, sizeof(t));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT(t_sockpair(sv) == 0);
	/* Small socket buffers so that the output really waits. */
	T_ASSERT(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)) == 0);
	T_ASSERT(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz,
	    sizeof(sz)) == 0);
	T_ASSERT((t.io = io_new(base, sv[0], t_io_cb, &t)) != NULL);
	memset(big, 'o', sizeof(big));
	T_EQ_INT(io_write(t.io, big, sizeof(big)), 0);
	T_EQ_INT(io_queued(t.io), sizeof(big));
	/* The peer sends, but over the high-water mark nothing is read. */
	T_EQ_INT(write(sv[1], "NOOP\r\n", 6), 6);
	(void)t_loop(base, &t, IO_DATAIN, 300);
	T_EQ_INT(t.events[IO_DATAIN], 0);
	T_ASSERT(io_queued(t.io) > IO_OUT_HIWAT);
	T_EQ_INT(t.events[IO_LOWAT], 0);
	/* The peer drains it all: LOWAT, then the input is read. */
	T_ASSERT(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	while (got < sizeof(big)) {
		while ((n = read(sv[1], sink, sizeof(sink))) > 0)
			got += (size_t)n;
		t.events[IO_LOWAT] = 0;
		(void)t_loop(base, &t, IO_LOWAT, 50);
	}
	T_EQ_INT(got, sizeof(big));
	T_EQ_INT(io_queued(t.io), 0);
	T_ASSERT(t_loop(base, &t, IO_DATAIN, 2000));
	T_EQ_INT(io_datalen(t.io), 6);
	io_free(t.io);
	close(sv[1]);
	event_base_free(base);
}

TEST(io_one_write_per_event)
{
	struct event_base	*base;
	struct t_io		 t;
	char			 buf[64];
	int			 sv[2];
	ssize_t			 n;

	memset(&t, 0, sizeof(t));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((t.io = io_new(base, sv[0], t_io_cb, &t)) != NULL);
	/* Queued piecewise outside a callback: one segment arrives. */
	T_EQ_INT(io_print(t.io, "250-a\r\n"), 0);
	T_EQ_INT(io_printf(t.io, "250 %s\r\n", "b"), 0);
	T_ASSERT(t_loop(base, &t, IO_LOWAT, 2000));
	n = read(sv[1], buf, sizeof(buf));
	T_EQ_INT(n, 14);
	T_ASSERT(memcmp(buf, "250-a\r\n250 b\r\n", 14) == 0);
	io_free(t.io);
	close(sv[1]);
	event_base_free(base);
}

TEST(io_timeout_eof_and_free_in_callback)
{
	struct event_base	*base;
	struct t_io		 t;
	long long		 t0;
	int			 sv[2];

	memset(&t, 0, sizeof(t));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((t.io = io_new(base, sv[0], t_io_cb, &t)) != NULL);
	io_set_timeout(t.io, 150);
	t0 = t_now_ms();
	T_ASSERT(t_loop(base, &t, IO_TIMEOUT, 3000));
	T_ASSERT(t_now_ms() - t0 >= 140);
	/* Paused both ways nothing is awaited: no timeout. */
	io_pause(t.io, IO_IN);
	t.events[IO_TIMEOUT] = 0;
	(void)t_loop(base, &t, IO_TIMEOUT, 400);
	T_EQ_INT(t.events[IO_TIMEOUT], 0);
	io_resume(t.io, IO_IN);

	/* EOF, freed from inside the callback. */
	t.free_on = IO_EOF;
	close(sv[1]);
	T_ASSERT(t_loop(base, &t, IO_EOF, 2000));
	T_EQ_INT(t.freed, 1);
	/* No more events once freed. */
	t.events[IO_TIMEOUT] = 0;
	(void)t_loop(base, &t, IO_TIMEOUT, 300);
	T_EQ_INT(t.events[IO_TIMEOUT], 0);
	/* The socket was closed. */
	T_ASSERT(fcntl(sv[0], F_GETFD) == -1 && errno == EBADF);
	event_base_free(base);
}

TEST(io_connect_done_and_refused)
{
	struct event_base	*base;
	struct t_io		 t;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 l, c, a;

	memset(&t, 0, sizeof(t));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	T_ASSERT(bind(l, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	T_ASSERT(listen(l, 4) == 0);
	T_ASSERT(getsockname(l, (struct sockaddr *)&sin, &len) == 0);

	T_ASSERT((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	T_ASSERT((t.io = io_new(base, c, t_io_cb, &t)) != NULL);
	T_EQ_INT(io_connect(t.io, (struct sockaddr *)&sin, sizeof(sin)), 0);
	T_ASSERT(t_loop(base, &t, IO_CONNECTED, 2000));
	T_ASSERT((a = accept(l, NULL, NULL)) != -1);
	T_EQ_INT(write(a, "220 x\r\n", 7), 7);
	T_ASSERT(t_loop(base, &t, IO_DATAIN, 2000));
	T_EQ_INT(io_datalen(t.io), 7);
	io_free(t.io);
	close(a);

	/* Nobody listening any more: refused. */
	close(l);
	memset(&t, 0, sizeof(t));
	T_ASSERT((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	T_ASSERT((t.io = io_new(base, c, t_io_cb, &t)) != NULL);
	if (io_connect(t.io, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
		T_ASSERT(t_loop(base, &t, IO_ERROR, 2000));
		T_EQ_INT(io_error(t.io), ECONNREFUSED);
	} else
		T_EQ_INT(errno, ECONNREFUSED);
	io_free(t.io);
	event_base_free(base);
}

/* Run the loop until a has seen ea and b has seen eb, or ms passed. */
static int
t_loop2(struct event_base *base, struct t_io *a, int ea, struct t_io *b,
    int eb, int ms)
{
	long long	 end = t_now_ms() + ms;
	struct timeval	 tv = { 0, 20000 };

	while ((a->events[ea] == 0 || b->events[eb] == 0) &&
	    t_now_ms() < end) {
		event_base_loopexit(base, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	return (a->events[ea] > 0 && b->events[eb] > 0);
}

/* Whether t saw the end of its connection. */
static int
t_ended(const struct t_io *t)
{
	return (t->events[IO_ERROR] + t->events[IO_EOF] +
	    t->events[IO_TIMEOUT] > 0);
}

/* Run the loop until both a and b saw their connection end. */
static int
t_loop_ended(struct event_base *base, struct t_io *a, struct t_io *b,
    int ms)
{
	long long	 end = t_now_ms() + ms;
	struct timeval	 tv = { 0, 20000 };

	while ((!t_ended(a) || !t_ended(b)) && t_now_ms() < end) {
		event_base_loopexit(base, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	return (t_ended(a) && t_ended(b));
}

/*
 * A socketpair with a TLS server io in s and a client io in c, both
 * handshakes started.  Returns 0, or -1 when something failed at once.
 */
static int
t_tls_pair(struct event_base *base, struct t_io *s, struct t_io *c,
    struct tls *sctx, struct tls_config *ccfg, const char *servername,
    const char *verifyname, int chain)
{
	int	 sv[2];

	memset(s, 0, sizeof(*s));
	memset(c, 0, sizeof(*c));
	if (sctx == NULL || ccfg == NULL || t_sockpair(sv) == -1)
		return (-1);
	if ((s->io = io_new(base, sv[0], t_io_cb, s)) == NULL ||
	    (c->io = io_new(base, sv[1], t_io_cb, c)) == NULL)
		return (-1);
	io_set_timeout(s->io, 5000);
	io_set_timeout(c->io, 5000);
	if (io_tls_accept(s->io, sctx) == -1 ||
	    io_tls_connect(c->io, ccfg, servername, verifyname, chain) == -1)
		return (-1);
	return (0);
}

static void
t_tls_done(struct t_io *s, struct t_io *c)
{
	io_free(s->io);
	io_free(c->io);
	free(s->got);
	free(c->got);
	s->io = c->io = NULL;
	s->got = c->got = NULL;
}

/* Whether the unread input of t is exactly str. */
static int
t_got(struct t_io *t, const char *str)
{
	return (io_datalen(t->io) == strlen(str) &&
	    memcmp(io_data(t->io), str, strlen(str)) == 0);
}

TEST(io_tls_handshake_lines_both_ways)
{
	struct event_base	*base;
	struct tls		*sctx;
	struct tls_config	*ccfg;
	struct t_io		 s, c;
	struct io_line		 l;
	const char		*pem;
	char			*want;
	size_t			 len, wantlen;
	int			 chain = 0;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((sctx = t_tls_server("server", NULL, TLS_PROTOCOLS_DEFAULT,
	    0)) != NULL);
	T_ASSERT((ccfg = t_tls_client(NULL, "ca.pem", TLS_PROTOCOLS_DEFAULT,
	    &chain)) != NULL);
	T_EQ_INT(chain, 1);
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, "localhost",
	    "localhost", chain), 0);
	/* Nothing to tell before the handshake. */
	T_EQ_INT(io_tls_active(s.io), 0);
	T_ASSERT(io_tls_cipher(c.io) == NULL);
	T_ASSERT(io_tls_version(c.io) == NULL);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	T_EQ_INT(io_tls_active(s.io), 1);
	T_EQ_INT(io_tls_active(c.io), 1);
	T_ASSERT(io_tls_error(s.io) == NULL && io_tls_error(c.io) == NULL);
	T_EQ_STR(io_tls_version(s.io), "TLSv1.3");
	T_EQ_STR(io_tls_version(c.io), "TLSv1.3");
	T_ASSERT(io_tls_cipher(s.io) != NULL);
	T_EQ_STR(io_tls_cipher(s.io), io_tls_cipher(c.io));
	/* The client verified the server; the server asked for nothing. */
	T_EQ_INT(io_tls_peer_verified(c.io), 1);
	T_EQ_INT(io_tls_peer_verified(s.io), 0);
	T_ASSERT(io_tls_peer_cert_pem(s.io, &len) == NULL);
	T_EQ_INT(len, 0);
	T_ASSERT((pem = io_tls_peer_cert_pem(c.io, &len)) != NULL);
	T_ASSERT((want = t_tls_slurp("server.pem", &wantlen)) != NULL);
	T_EQ_INT(len, wantlen);
	T_ASSERT(memcmp(pem, want, len) == 0);
	free(want);

	/* Client to server, as lines. */
	T_EQ_INT(io_print(c.io, "EHLO a\r\nNOOP\nRSET"), 0);
	T_ASSERT(t_loop(base, &s, IO_DATAIN, 3000));
	T_EQ_INT(io_getline(s.io, 1000, &l), 1);
	T_EQ_INT(l.len, 6);
	T_EQ_INT(l.term, IO_LINE_CRLF);
	T_ASSERT(memcmp(l.p, "EHLO a", 6) == 0);
	io_drop(s.io, l.size);
	T_EQ_INT(io_getline(s.io, 1000, &l), 1);
	T_EQ_INT(l.term, IO_LINE_LF);
	T_ASSERT(memcmp(l.p, "NOOP", 4) == 0);
	io_drop(s.io, l.size);
	T_EQ_INT(io_getline(s.io, 1000, &l), 0);
	T_EQ_INT(io_print(c.io, "\r\n"), 0);
	s.events[IO_DATAIN] = 0;
	T_ASSERT(t_loop(base, &s, IO_DATAIN, 3000));
	T_EQ_INT(io_getline(s.io, 1000, &l), 1);
	T_EQ_INT(l.len, 4);
	T_EQ_INT(l.term, IO_LINE_CRLF);
	io_drop(s.io, l.size);
	/* Server to client: queued piecewise, one flush. */
	T_EQ_INT(io_print(s.io, "250-a\r\n"), 0);
	T_EQ_INT(io_printf(s.io, "250 %s\r\n", "b"), 0);
	T_ASSERT(t_loop(base, &s, IO_LOWAT, 3000));
	T_ASSERT(t_loop(base, &c, IO_DATAIN, 3000));
	T_ASSERT(t_got(&c, "250-a\r\n250 b\r\n"));
	T_EQ_INT(s.events[IO_ERROR] + c.events[IO_ERROR], 0);
	/* Waiting for input over TLS has the io's timeout too. */
	io_set_timeout(s.io, 150);
	T_ASSERT(t_loop(base, &s, IO_TIMEOUT, 3000));
	T_EQ_INT(c.events[IO_TIMEOUT], 0);
	t_tls_done(&s, &c);
	tls_free(sctx);
	tls_config_free(ccfg);
	event_base_free(base);
}

TEST(io_tls_large_transfer_backpressure)
{
	struct event_base	*base;
	struct tls		*sctx;
	struct tls_config	*ccfg;
	struct t_io		 s, c;
	char			*big;
	size_t			 i, total = 3 * IO_OUT_HIWAT + 12345;
	long long		 end;
	int			 chain, sz = 4096;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((sctx = t_tls_server("server", NULL, TLS_PROTOCOLS_DEFAULT,
	    0)) != NULL);
	T_ASSERT((ccfg = t_tls_client(NULL, NULL, TLS_PROTOCOLS_DEFAULT,
	    &chain)) != NULL);
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	/* Small socket buffers so that the output really waits. */
	T_ASSERT(setsockopt(io_fileno(s.io), SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)) == 0);
	T_ASSERT(setsockopt(io_fileno(c.io), SOL_SOCKET, SO_RCVBUF, &sz,
	    sizeof(sz)) == 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	/* A client that takes its input in small bites. */
	io_set_incap(c.io, 100);
	io_pause(c.io, IO_IN);
	T_ASSERT((big = malloc(total)) != NULL);
	for (i = 0; i < total; i++)
		big[i] = (char)('a' + (i * 7) % 26);
	T_EQ_INT(io_write(s.io, big, total), 0);
	/* The client sends, but over the high-water mark nothing is read. */
	T_EQ_INT(io_print(c.io, "NOOP\r\n"), 0);
	(void)t_loop(base, &s, IO_DATAIN, 300);
	T_EQ_INT(s.events[IO_DATAIN], 0);
	T_ASSERT(io_queued(s.io) > IO_OUT_HIWAT);
	T_EQ_INT(s.events[IO_LOWAT], 0);
	/* The client reads it all: LOWAT, then the server reads. */
	c.drain = 1;
	io_resume(c.io, IO_IN);
	end = t_now_ms() + 10000;
	while (c.gotlen < total && t_now_ms() < end) {
		c.events[IO_DATAIN] = 0;
		(void)t_loop(base, &c, IO_DATAIN, 100);
	}
	T_EQ_INT(c.gotlen, total);
	T_ASSERT(memcmp(c.got, big, total) == 0);
	/* Never more than the cap at once. */
	T_ASSERT(c.datain_len <= 100);
	T_ASSERT(t_loop(base, &s, IO_LOWAT, 3000));
	T_EQ_INT(io_queued(s.io), 0);
	T_ASSERT(t_loop(base, &s, IO_DATAIN, 3000));
	T_ASSERT(t_got(&s, "NOOP\r\n"));
	T_EQ_INT(s.events[IO_ERROR] + c.events[IO_ERROR], 0);
	free(big);
	t_tls_done(&s, &c);
	tls_free(sctx);
	tls_config_free(ccfg);
	event_base_free(base);
}

TEST(io_tls_input_held_by_libtls_comes_later)
{
	struct event_base	*base;
	struct tls		*sctx;
	struct tls_config	*ccfg;
	struct t_io		 s, c;
	char			 msg[1000], got[1000];
	size_t			 have = 0, n;
	int			 chain, rounds = 0;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((sctx = t_tls_server("server", NULL, TLS_PROTOCOLS_DEFAULT,
	    0)) != NULL);
	T_ASSERT((ccfg = t_tls_client(NULL, NULL, TLS_PROTOCOLS_DEFAULT,
	    &chain)) != NULL);
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	io_set_incap(c.io, 64);
	memset(msg, 'm', sizeof(msg));
	msg[999] = '!';
	/* One record of 1000 bytes: the socket is readable only once. */
	T_EQ_INT(io_write(s.io, msg, sizeof(msg)), 0);
	while (have < sizeof(msg) && rounds++ < 100) {
		c.events[IO_DATAIN] = 0;
		T_ASSERT(t_loop(base, &c, IO_DATAIN, 2000));
		n = io_datalen(c.io);
		T_ASSERT(n <= 64 && n <= sizeof(msg) - have);
		if (rounds == 1) {
			/* Full: nothing more until there is room. */
			c.events[IO_DATAIN] = 0;
			(void)t_loop(base, &c, IO_DATAIN, 50);
			T_EQ_INT(c.events[IO_DATAIN], 0);
		}
		memcpy(got + have, io_data(c.io), n);
		have += n;
		io_drop(c.io, n);
	}
	T_EQ_INT(have, sizeof(msg));
	T_ASSERT(memcmp(got, msg, sizeof(msg)) == 0);
	t_tls_done(&s, &c);
	tls_free(sctx);
	tls_config_free(ccfg);
	event_base_free(base);
}

TEST(io_tls_starttls_discards_plaintext)
{
	struct event_base	*base;
	struct tls		*sctx;
	struct tls_config	*ccfg;
	struct t_io		 s, c;
	struct io_line		 l;
	int			 sv[2], chain;

	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((sctx = t_tls_server("server", NULL, TLS_PROTOCOLS_DEFAULT,
	    0)) != NULL);
	T_ASSERT((ccfg = t_tls_client(NULL, "ca.pem", TLS_PROTOCOLS_DEFAULT,
	    &chain)) != NULL);
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((s.io = io_new(base, sv[0], t_io_cb, &s)) != NULL);
	T_ASSERT((c.io = io_new(base, sv[1], t_io_cb, &c)) != NULL);

	/* A client pipelines a command behind STARTTLS. */
	T_EQ_INT(io_print(c.io, "STARTTLS\r\nMAIL FROM:<evil@x>\r\n"), 0);
	T_ASSERT(t_loop(base, &s, IO_DATAIN, 3000));
	T_EQ_INT(io_getline(s.io, 1000, &l), 1);
	T_ASSERT(l.len == 8 && memcmp(l.p, "STARTTLS", 8) == 0);
	io_drop(s.io, l.size);
	T_ASSERT(io_datalen(s.io) > 0);		/* the injected command */
	/* And the server injects a reply behind its 220. */
	T_EQ_INT(io_print(s.io, "220 ready\r\n250 injected\r\n"), 0);
	T_EQ_INT(io_tls_accept(s.io, sctx), 0);
	T_EQ_INT(io_datalen(s.io), 0);
	/* Queued now: goes out encrypted, after the handshake. */
	T_EQ_INT(io_print(s.io, "250 after\r\n"), 0);
	/* A second start is refused. */
	T_EQ_INT(io_tls_accept(s.io, sctx), -1);
	T_EQ_INT(errno, EINVAL);

	/* The 220 arrives in the clear, with the injected line. */
	T_ASSERT(t_loop(base, &c, IO_DATAIN, 3000));
	T_ASSERT(t_got(&c, "220 ready\r\n250 injected\r\n"));
	T_EQ_INT(io_getline(c.io, 1000, &l), 1);
	io_drop(c.io, l.size);
	T_EQ_INT(io_tls_connect(c.io, ccfg, "localhost", NULL, chain), 0);
	T_EQ_INT(io_datalen(c.io), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));

	/* What each side gets over TLS is only what the other sent so. */
	c.events[IO_DATAIN] = 0;
	T_ASSERT(t_loop(base, &c, IO_DATAIN, 3000));
	T_ASSERT(t_got(&c, "250 after\r\n"));
	s.events[IO_DATAIN] = 0;
	T_EQ_INT(io_print(c.io, "NOOP\r\n"), 0);
	T_ASSERT(t_loop(base, &s, IO_DATAIN, 3000));
	T_ASSERT(t_got(&s, "NOOP\r\n"));
	T_EQ_INT(s.events[IO_ERROR] + c.events[IO_ERROR], 0);
	t_tls_done(&s, &c);
	tls_free(sctx);
	tls_config_free(ccfg);
	event_base_free(base);
}

TEST(io_tls_server_verification)
{
	struct event_base	*base;
	struct tls		*good, *self;
	struct tls_config	*verify, *noverify;
	struct t_io		 s, c;
	int			 chain, nochain;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((good = t_tls_server("server", NULL, TLS_PROTOCOLS_DEFAULT,
	    0)) != NULL);
	T_ASSERT((self = t_tls_server("selfsigned", NULL,
	    TLS_PROTOCOLS_DEFAULT, 0)) != NULL);
	T_ASSERT((verify = t_tls_client(NULL, "ca.pem",
	    TLS_PROTOCOLS_DEFAULT, &chain)) != NULL);
	T_ASSERT((noverify = t_tls_client(NULL, NULL, TLS_PROTOCOLS_DEFAULT,
	    &nochain)) != NULL);
	T_EQ_INT(chain, 1);
	T_EQ_INT(nochain, 0);

	/* A self-signed server fails verification with the test CA. */
	T_EQ_INT(t_tls_pair(base, &s, &c, self, verify, "localhost", NULL,
	    chain), 0);
	T_ASSERT(t_loop_ended(base, &s, &c, 5000));
	T_EQ_INT(c.events[IO_ERROR], 1);
	T_EQ_INT(c.events[IO_TLSREADY] + s.events[IO_TLSREADY], 0);
	T_EQ_INT(io_error(c.io), EPROTO);
	T_ASSERT(io_tls_error(c.io) != NULL);
	T_ASSERT(strstr(io_tls_error(c.io), "verif") != NULL);
	T_EQ_INT(io_tls_active(c.io), 0);
	t_tls_done(&s, &c);

	/* Without verification it is accepted, and not called verified. */
	T_EQ_INT(t_tls_pair(base, &s, &c, self, noverify, "localhost", NULL,
	    nochain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	T_EQ_INT(io_tls_peer_verified(c.io), 0);
	t_tls_done(&s, &c);

	/* The right chain but the wrong name. */
	T_EQ_INT(t_tls_pair(base, &s, &c, good, verify, "localhost",
	    "mail.example", chain), 0);
	T_ASSERT(t_loop(base, &c, IO_ERROR, 5000));
	T_EQ_INT(c.events[IO_TLSREADY], 0);
	T_ASSERT(io_tls_error(c.io) != NULL);
	T_ASSERT(strstr(io_tls_error(c.io), "mail.example") != NULL);
	t_tls_done(&s, &c);

	/* SNI and the verified name may differ: the IP name matches. */
	T_EQ_INT(t_tls_pair(base, &s, &c, good, verify, "relay.example",
	    "127.0.0.1", chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	T_EQ_INT(io_tls_peer_verified(c.io), 1);
	t_tls_done(&s, &c);

	/* No verification but a name: the name is still checked. */
	T_EQ_INT(t_tls_pair(base, &s, &c, self, noverify, NULL,
	    "mail.example", nochain), 0);
	T_ASSERT(t_loop(base, &c, IO_ERROR, 5000));
	T_EQ_INT(c.events[IO_TLSREADY], 0);
	t_tls_done(&s, &c);

	tls_free(good);
	tls_free(self);
	tls_config_free(verify);
	tls_config_free(noverify);
	event_base_free(base);
}

TEST(io_tls_client_certificates)
{
	struct event_base	*base;
	struct tls		*opt, *req;
	struct tls_config	*withcert, *nocert, *selfcert;
	struct t_io		 s, c;
	const char		*pem;
	char			*want;
	size_t			 len, wantlen;
	int			 chain;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((opt = t_tls_server("server", "ca.pem",
	    TLS_PROTOCOLS_DEFAULT, 0)) != NULL);
	T_ASSERT((req = t_tls_server("server", "ca.pem",
	    TLS_PROTOCOLS_DEFAULT, TLSCONF_CLIENT_CERT_REQUIRED)) != NULL);
	T_ASSERT((withcert = t_tls_client("client", "ca.pem",
	    TLS_PROTOCOLS_DEFAULT, &chain)) != NULL);
	T_ASSERT((nocert = t_tls_client(NULL, "ca.pem",
	    TLS_PROTOCOLS_DEFAULT, &chain)) != NULL);
	T_ASSERT((selfcert = t_tls_client("selfsigned", "ca.pem",
	    TLS_PROTOCOLS_DEFAULT, &chain)) != NULL);

	/* A client certificate signed by the CA: seen and verified. */
	T_EQ_INT(t_tls_pair(base, &s, &c, opt, withcert, "localhost", NULL,
	    chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	T_EQ_INT(io_tls_peer_verified(s.io), 1);
	T_ASSERT((pem = io_tls_peer_cert_pem(s.io, &len)) != NULL);
	T_ASSERT((want = t_tls_slurp("client.pem", &wantlen)) != NULL);
	T_EQ_INT(len, wantlen);
	T_ASSERT(memcmp(pem, want, len) == 0);
	free(want);
	t_tls_done(&s, &c);

	/* None: accepted when optional, nothing recorded. */
	T_EQ_INT(t_tls_pair(base, &s, &c, opt, nocert, "localhost", NULL,
	    chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	T_EQ_INT(io_tls_peer_verified(s.io), 0);
	T_ASSERT(io_tls_peer_cert_pem(s.io, &len) == NULL && len == 0);
	t_tls_done(&s, &c);

	/* A certificate that does not verify fails the handshake. */
	T_EQ_INT(t_tls_pair(base, &s, &c, opt, selfcert, "localhost", NULL,
	    chain), 0);
	T_ASSERT(t_loop(base, &s, IO_ERROR, 5000));
	T_EQ_INT(s.events[IO_TLSREADY], 0);
	T_ASSERT(io_tls_error(s.io) != NULL);
	t_tls_done(&s, &c);

	/* None when required: refused. */
	T_EQ_INT(t_tls_pair(base, &s, &c, req, nocert, "localhost", NULL,
	    chain), 0);
	T_ASSERT(t_loop(base, &s, IO_ERROR, 5000));
	T_EQ_INT(s.events[IO_TLSREADY], 0);
	t_tls_done(&s, &c);

	tls_free(opt);
	tls_free(req);
	tls_config_free(withcert);
	tls_config_free(nocert);
	tls_config_free(selfcert);
	event_base_free(base);
}

TEST(io_tls_protocol_bounds)
{
	struct event_base	*base;
	struct tls		*sctx;
	struct tls_config	*ccfg;
	struct t_io		 s, c;
	uint32_t		 sp, cp;
	const char		*e;
	int			 chain;

	T_ASSERT((base = event_base_new()) != NULL);
	/* A server of TLS 1.3 only and a client of at most TLS 1.2. */
	T_EQ_INT(tlsconf_protocols("tlsv1.3", &sp, &e), 0);
	T_EQ_INT(tlsconf_protocols("-tlsv1.2", &cp, &e), 0);
	T_ASSERT((sctx = t_tls_server("server", NULL, sp, 0)) != NULL);
	T_ASSERT((ccfg = t_tls_client(NULL, NULL, cp, &chain)) != NULL);
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	T_ASSERT(t_loop_ended(base, &s, &c, 5000));
	T_EQ_INT(s.events[IO_TLSREADY] + c.events[IO_TLSREADY], 0);
	T_ASSERT(s.events[IO_ERROR] == 1 || c.events[IO_ERROR] == 1);
	T_ASSERT(io_tls_error(s.io) != NULL || io_tls_error(c.io) != NULL);
	t_tls_done(&s, &c);
	tls_free(sctx);

	/* Both willing to speak TLS 1.2: that is what they speak. */
	T_EQ_INT(tlsconf_protocols("tlsv1.2", &sp, &e), 0);
	T_ASSERT((sctx = t_tls_server("server", NULL, sp, 0)) != NULL);
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	T_EQ_STR(io_tls_version(s.io), "TLSv1.2");
	T_EQ_STR(io_tls_version(c.io), "TLSv1.2");
	/* Data flows over TLS 1.2 too. */
	T_EQ_INT(io_print(c.io, "QUIT\r\n"), 0);
	T_ASSERT(t_loop(base, &s, IO_DATAIN, 3000));
	T_ASSERT(t_got(&s, "QUIT\r\n"));
	t_tls_done(&s, &c);
	tls_free(sctx);
	tls_config_free(ccfg);
	event_base_free(base);
}

TEST(io_tls_eof_and_close_notify)
{
	struct event_base	*base;
	struct tls		*sctx;
	struct tls_config	*ccfg;
	struct t_io		 s, c;
	int			 chain;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((sctx = t_tls_server("server", NULL, TLS_PROTOCOLS_DEFAULT,
	    0)) != NULL);
	T_ASSERT((ccfg = t_tls_client(NULL, NULL, TLS_PROTOCOLS_DEFAULT,
	    &chain)) != NULL);

	/* Data, then close_notify from io_free(): the data comes first. */
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	T_EQ_INT(io_print(c.io, "QUIT\r\n"), 0);
	T_ASSERT(t_loop(base, &c, IO_LOWAT, 3000));
	io_free(c.io);
	c.io = NULL;
	T_ASSERT(t_loop(base, &s, IO_EOF, 3000));
	T_EQ_INT(s.events[IO_DATAIN], 1);
	T_EQ_INT(s.datain_len, 6);
	T_ASSERT(t_got(&s, "QUIT\r\n"));
	T_EQ_INT(s.events[IO_ERROR], 0);
	t_tls_done(&s, &c);

	/* Paused with data and close_notify waiting: nothing until resumed. */
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	io_pause(s.io, IO_IN);
	T_EQ_INT(io_print(c.io, "DATA\r\n"), 0);
	T_ASSERT(t_loop(base, &c, IO_LOWAT, 3000));
	io_free(c.io);
	c.io = NULL;
	(void)t_loop(base, &s, IO_DATAIN, 200);
	T_EQ_INT(s.events[IO_DATAIN] + s.events[IO_EOF], 0);
	io_resume(s.io, IO_IN);
	T_ASSERT(t_loop(base, &s, IO_EOF, 3000));
	T_EQ_INT(s.events[IO_DATAIN], 1);
	T_ASSERT(t_got(&s, "DATA\r\n"));
	t_tls_done(&s, &c);

	/* A plain EOF, without close_notify, is an EOF too. */
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	T_ASSERT(shutdown(io_fileno(c.io), SHUT_WR) == 0);
	T_ASSERT(t_loop(base, &s, IO_EOF, 3000));
	T_EQ_INT(s.events[IO_ERROR], 0);
	t_tls_done(&s, &c);

	/* Freed in its IO_TLSREADY: the peer sees the end. */
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	s.free_on = IO_TLSREADY;
	T_ASSERT(t_loop(base, &c, IO_TLSREADY, 5000));
	T_ASSERT(t_loop(base, &c, IO_EOF, 3000));
	T_EQ_INT(c.events[IO_ERROR], 0);
	T_EQ_INT(s.freed, 1);
	t_tls_done(&s, &c);

	tls_free(sctx);
	tls_config_free(ccfg);
	event_base_free(base);
}

TEST(io_tls_write_to_a_closed_peer)
{
	struct event_base	*base;
	struct tls		*sctx;
	struct tls_config	*ccfg;
	struct t_io		 s, c;
	static char		 big[256 * 1024];
	int			 chain, e;

	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((sctx = t_tls_server("server", NULL, TLS_PROTOCOLS_DEFAULT,
	    0)) != NULL);
	T_ASSERT((ccfg = t_tls_client(NULL, NULL, TLS_PROTOCOLS_DEFAULT,
	    &chain)) != NULL);
	T_EQ_INT(t_tls_pair(base, &s, &c, sctx, ccfg, NULL, NULL, chain), 0);
	T_ASSERT(t_loop2(base, &s, IO_TLSREADY, &c, IO_TLSREADY, 5000));
	/* The socket goes away under the client: EPIPE, never SIGPIPE. */
	T_ASSERT(shutdown(io_fileno(s.io), SHUT_RDWR) == 0);
	io_free(s.io);
	s.io = NULL;
	memset(big, 'x', sizeof(big));
	T_EQ_INT(io_write(c.io, big, sizeof(big)), 0);
	T_ASSERT(t_loop(base, &c, IO_ERROR, 3000));
	e = io_error(c.io);
	T_ASSERT(e == EPIPE || e == ECONNRESET);
	t_tls_done(&s, &c);
	tls_free(sctx);
	tls_config_free(ccfg);
	event_base_free(base);
}

TEST(io_tls_handshake_timeout_and_garbage)
{
	struct event_base	*base;
	struct tls		*sctx;
	struct t_io		 s;
	char			 buf[64];
	int			 sv[2];

	memset(&s, 0, sizeof(s));
	T_ASSERT((base = event_base_new()) != NULL);
	T_ASSERT((sctx = t_tls_server("server", NULL, TLS_PROTOCOLS_DEFAULT,
	    0)) != NULL);
	/* A client that never speaks: the io's timeout. */
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((s.io = io_new(base, sv[0], t_io_cb, &s)) != NULL);
	io_set_timeout(s.io, 150);
	T_EQ_INT(io_tls_accept(s.io, sctx), 0);
	T_ASSERT(t_loop(base, &s, IO_TIMEOUT, 3000));
	T_EQ_INT(s.events[IO_TLSREADY], 0);
	io_free(s.io);
	close(sv[1]);

	/* A client that speaks SMTP instead. */
	memset(&s, 0, sizeof(s));
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((s.io = io_new(base, sv[0], t_io_cb, &s)) != NULL);
	io_set_timeout(s.io, 3000);
	T_EQ_INT(io_tls_accept(s.io, sctx), 0);
	memset(buf, 0, sizeof(buf));
	(void)strlcpy(buf, "EHLO client.example with no TLS at all\r\n",
	    sizeof(buf));
	T_EQ_INT(write(sv[1], buf, sizeof(buf)), sizeof(buf));
	T_ASSERT(t_loop(base, &s, IO_ERROR, 3000));
	T_EQ_INT(s.events[IO_TLSREADY], 0);
	T_EQ_INT(io_error(s.io), EPROTO);
	T_ASSERT(io_tls_error(s.io) != NULL);
	T_ASSERT(strlen(io_tls_error(s.io)) < IO_TLS_ERRMAX);
	io_free(s.io);
	close(sv[1]);

	/* A client that goes away in the middle. */
	memset(&s, 0, sizeof(s));
	T_ASSERT(t_sockpair(sv) == 0);
	T_ASSERT((s.io = io_new(base, sv[0], t_io_cb, &s)) != NULL);
	io_set_timeout(s.io, 3000);
	T_EQ_INT(io_tls_accept(s.io, sctx), 0);
	close(sv[1]);
	T_ASSERT(t_loop(base, &s, IO_ERROR, 3000));
	T_ASSERT(io_error(s.io) == ECONNRESET || io_error(s.io) == EPIPE);
	io_free(s.io);

	tls_free(sctx);
	event_base_free(base);
}
