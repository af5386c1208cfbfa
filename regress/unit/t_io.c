/*
 * common/io.c over real socketpairs and TCP sockets: lines and their
 * terminators, overlong fragments, the input cap, one write per event,
 * backpressure, IO_LOWAT, timeouts, EOF, freeing from the callback and
 * connecting.
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
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "io.h"
#include "t.h"

struct t_io {
	struct io	*io;
	int		 events[16];	/* count per IO_* */
	int		 last;
	int		 free_on;	/* io_free() on this event */
	int		 freed;
	size_t		 datain_len;	/* io_datalen() at the last DATAIN */
};

static void	 t_io_cb(struct io *, int, void *);
static int	 t_loop(struct event_base *, struct t_io *, int, int);
static int	 t_sockpair(int *);
static long long t_now_ms(void);

static void
t_io_cb(struct io *io, int event, void *arg)
{
	struct t_io	*t = arg;

	t->events[event]++;
	t->last = event;
	if (event == IO_DATAIN)
		t->datain_len = io_datalen(io);
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
