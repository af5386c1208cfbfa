/*
 * Buffered non-blocking socket I/O on libevent: see io.h.  One event per
 * io, never persistent: it is added again after every callback with the
 * directions wanted then and a fresh timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "io.h"

#define IO_IN_MIN	64
#define IO_IN_FIRST	4096		/* first input allocation */
#define IO_OUT_FIRST	4096

/* io->state bits */
#define IO_S_HELD	0x01		/* inside the callback */
#define IO_S_FREED	0x02		/* io_free() while held */
#define IO_S_EOF	0x04		/* read side closed */
#define IO_S_ERROR	0x08		/* socket error seen */
#define IO_S_CONNECTING	0x10		/* io_connect() under way */

struct io {
	int		 fd;
	struct event	*ev;
	short		 evmask;	/* directions of the added event */
	int		 added;
	int		 state;
	int		 paused;	/* IO_IN, IO_OUT */
	int		 err;
	int		 timeout;	/* ms, -1 for none */
	size_t		 lowat;
	void		(*cb)(struct io *, int, void *);
	void		*arg;

	char		*in;		/* input: [inoff, inlen) unread */
	size_t		 inoff, inlen, insz, incap;
	char		*out;		/* output: [outoff, outlen) unsent */
	size_t		 outoff, outlen, outsz;
};

static void	 io_on_event(evutil_socket_t, short, void *);
static void	 io_reload(struct io *, int);
static void	 io_call(struct io *, int);
static int	 io_doread(struct io *);
static int	 io_dowrite(struct io *);
static void	 io_destroy(struct io *);

struct io *
io_new(struct event_base *base, int fd,
    void (*cb)(struct io *, int, void *), void *arg)
{
	struct io	*io;
	int		 fl;

	if ((io = calloc(1, sizeof(*io))) == NULL)
		return (NULL);
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		free(io);
		return (NULL);
	}
	if ((io->ev = event_new(base, fd, EV_READ, io_on_event, io)) ==
	    NULL) {
		free(io);
		return (NULL);
	}
	io->fd = fd;
	io->timeout = -1;
	io->incap = IO_IN_DEFAULT;
	io->cb = cb;
	io->arg = arg;
	io_reload(io, 1);
	return (io);
}

static void
io_destroy(struct io *io)
{
	event_free(io->ev);
	if (io->fd != -1)
		close(io->fd);
	freezero(io->in, io->insz);
	freezero(io->out, io->outsz);
	free(io);
}

void
io_free(struct io *io)
{
	if (io == NULL)
		return;
	if (io->state & IO_S_HELD) {
		/* io_on_event() finishes the job. */
		io->state |= IO_S_FREED;
		event_del(io->ev);
		io->added = 0;
		return;
	}
	io_destroy(io);
}

int
io_fileno(const struct io *io)
{
	return (io->fd);
}

int
io_error(const struct io *io)
{
	return (io->err);
}

void
io_set_timeout(struct io *io, int ms)
{
	io->timeout = ms < 0 ? -1 : ms;
	io_reload(io, 1);
}

void
io_set_lowat(struct io *io, size_t lowat)
{
	io->lowat = lowat;
}

void
io_set_incap(struct io *io, size_t cap)
{
	if (cap < IO_IN_MIN)
		cap = IO_IN_MIN;
	if (cap > IO_IN_DEFAULT)
		cap = IO_IN_DEFAULT;
	io->incap = cap;
	io_reload(io, 0);
}

void
io_pause(struct io *io, int dirs)
{
	io->paused |= dirs & (IO_IN | IO_OUT);
	io_reload(io, 0);
}

void
io_resume(struct io *io, int dirs)
{
	io->paused &= ~(dirs & (IO_IN | IO_OUT));
	/* Waiting for input again: a fresh timeout. */
	io_reload(io, 1);
}

int
io_write(struct io *io, const void *p, size_t len)
{
	char	*n;
	size_t	 sz, left;

	if (len == 0)
		return (0);
	left = io->outlen - io->outoff;
	if (left + len > IO_OUT_MAX) {
		errno = ENOMEM;
		return (-1);
	}
	if (io->outsz - io->outlen < len) {
		/* Slide the unsent bytes down first, then grow. */
		if (io->outoff > 0) {
			memmove(io->out, io->out + io->outoff, left);
			io->outlen = left;
			io->outoff = 0;
		}
		if (io->outsz - io->outlen < len) {
			sz = io->outsz == 0 ? IO_OUT_FIRST : io->outsz;
			while (sz - io->outlen < len)
				sz *= 2;
			if ((n = recallocarray(io->out, io->outsz, sz, 1)) ==
			    NULL)
				return (-1);
			io->out = n;
			io->outsz = sz;
		}
	}
	memcpy(io->out + io->outlen, p, len);
	io->outlen += len;
	io_reload(io, 0);
	return (0);
}

int
io_print(struct io *io, const char *s)
{
	return (io_write(io, s, strlen(s)));
}

int
io_printf(struct io *io, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return (-1);
	r = io_write(io, s, (size_t)n);
	free(s);
	return (r);
}

size_t
io_queued(const struct io *io)
{
	return (io->outlen - io->outoff);
}

const char *
io_data(const struct io *io)
{
	return (io->in != NULL ? io->in + io->inoff : "");
}

size_t
io_datalen(const struct io *io)
{
	return (io->inlen - io->inoff);
}

void
io_drop(struct io *io, size_t n)
{
	if (n > io->inlen - io->inoff)
		n = io->inlen - io->inoff;
	io->inoff += n;
	if (io->inoff == io->inlen)
		io->inoff = io->inlen = 0;
	io_reload(io, 0);
}

int
io_getline(struct io *io, size_t max, struct io_line *line)
{
	const char	*p, *lf;
	size_t		 have, look;

	if (max < 2)
		max = 2;
	if (max > io->incap)
		max = io->incap;
	have = io->inlen - io->inoff;
	if (have == 0)
		return (0);
	p = io->in + io->inoff;
	look = have < max ? have : max;
	memset(line, 0, sizeof(*line));
	line->p = p;
	if ((lf = memchr(p, '\n', look)) != NULL) {
		line->size = (size_t)(lf - p) + 1;
		if (lf > p && lf[-1] == '\r') {
			line->len = line->size - 2;
			line->term = IO_LINE_CRLF;
		} else {
			line->len = line->size - 1;
			line->term = IO_LINE_LF;
		}
		return (1);
	}
	if (have < max)
		return (0);
	line->size = line->len = max;
	line->term = IO_LINE_NONE;
	line->overlong = 1;
	return (1);
}

int
io_connect(struct io *io, const struct sockaddr *sa, socklen_t len)
{
	if (connect(io->fd, sa, len) == -1 && errno != EINPROGRESS)
		return (-1);
	io->state |= IO_S_CONNECTING;
	io_reload(io, 1);
	return (0);
}

/*
 * Add the event again with the directions wanted now.  rearm: restart
 * the timeout even when the directions are what they were.
 */
static void
io_reload(struct io *io, int rearm)
{
	struct timeval	 tv;
	short		 want = 0;

	if (io->state & (IO_S_HELD | IO_S_FREED))
		return;			/* io_on_event() reloads on return */
	if (io->state & IO_S_CONNECTING)
		want = EV_WRITE;
	else if ((io->state & IO_S_ERROR) == 0) {
		if ((io->paused & IO_IN) == 0 &&
		    (io->state & IO_S_EOF) == 0 &&
		    io->inlen - io->inoff < io->incap &&
		    io->outlen - io->outoff <= IO_OUT_HIWAT)
			want |= EV_READ;
		if ((io->paused & IO_OUT) == 0 && io->outlen > io->outoff)
			want |= EV_WRITE;
	}
	if (io->added && want == io->evmask && !rearm)
		return;
	if (io->added) {
		event_del(io->ev);
		io->added = 0;
	}
	io->evmask = want;
	if (want == 0)
		return;
	event_assign(io->ev, event_get_base(io->ev), io->fd, want,
	    io_on_event, io);
	tv.tv_sec = io->timeout / 1000;
	tv.tv_usec = (io->timeout % 1000) * 1000;
	if (event_add(io->ev, io->timeout >= 0 ? &tv : NULL) == 0)
		io->added = 1;
}

/* Deliver one event to the callback. */
static void
io_call(struct io *io, int event)
{
	io->cb(io, event, io->arg);
}

/*
 * Read what fits.  Returns 1 with new data, 0 on EOF, -1 on an error
 * (io->err set), -2 when nothing was there.
 */
static int
io_doread(struct io *io)
{
	char	*n;
	size_t	 left, sz;
	ssize_t	 r;

	left = io->inlen - io->inoff;
	if (io->inoff > 0 && (io->insz - io->inlen < IO_IN_FIRST ||
	    left == 0)) {
		memmove(io->in, io->in + io->inoff, left);
		io->inlen = left;
		io->inoff = 0;
	}
	if (io->insz - io->inlen < IO_IN_FIRST && io->insz < io->incap) {
		sz = io->insz == 0 ? IO_IN_FIRST : io->insz * 2;
		if (sz > io->incap)
			sz = io->incap;
		if ((n = recallocarray(io->in, io->insz, sz, 1)) == NULL) {
			io->err = ENOMEM;
			return (-1);
		}
		io->in = n;
		io->insz = sz;
	}
	sz = io->insz - io->inlen;
	if (io->inlen - io->inoff + sz > io->incap)
		sz = io->incap - (io->inlen - io->inoff);
	if (sz == 0)
		return (-2);
	do {
		r = read(io->fd, io->in + io->inlen, sz);
	} while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (-2);
		io->err = errno;
		return (-1);
	}
	if (r == 0)
		return (0);
	io->inlen += (size_t)r;
	return (1);
}

/*
 * One write of everything queued.  Returns the bytes written (0 if the
 * socket was full), or -1 on an error (io->err set).
 */
static int
io_dowrite(struct io *io)
{
	ssize_t	 r;

	do {
		r = send(io->fd, io->out + io->outoff, io->outlen - io->outoff,
		    MSG_NOSIGNAL);
	} while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (0);
		if (errno == ENOTSOCK) {
			/* A pipe or a tty in tests. */
			do {
				r = write(io->fd, io->out + io->outoff,
				    io->outlen - io->outoff);
			} while (r == -1 && errno == EINTR);
			if (r == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				return (0);
		}
		if (r == -1) {
			io->err = errno;
			return (-1);
		}
	}
	io->outoff += (size_t)r;
	if (io->outoff == io->outlen)
		io->outoff = io->outlen = 0;
	return ((int)(r > 0x7fffffff ? 0x7fffffff : r));
}

static void
io_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct io	*io = arg;
	socklen_t	 sl;
	size_t		 before;
	int		 r, soerr;

	io->added = 0;
	io->state |= IO_S_HELD;

	if (what & EV_TIMEOUT) {
		io_call(io, IO_TIMEOUT);
		goto done;
	}
	if (io->state & IO_S_CONNECTING) {
		io->state &= ~IO_S_CONNECTING;
		soerr = 0;
		sl = sizeof(soerr);
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			io->err = soerr;
			io->state |= IO_S_ERROR;
			io_call(io, IO_ERROR);
		} else
			io_call(io, IO_CONNECTED);
		goto done;
	}
	if (what & EV_READ) {
		r = io_doread(io);
		if (r == 1)
			io_call(io, IO_DATAIN);
		else if (r == 0) {
			io->state |= IO_S_EOF;
			io_call(io, IO_EOF);
			goto done;
		} else if (r == -1) {
			io->state |= IO_S_ERROR;
			io_call(io, IO_ERROR);
			goto done;
		}
		if (io->state & IO_S_FREED)
			goto done;
	}
	/*
	 * One write per event, of everything the callback queued too: the
	 * replies to a burst of pipelined commands leave in one segment.
	 */
	if (io->outlen > io->outoff && (io->paused & IO_OUT) == 0 &&
	    (io->state & IO_S_ERROR) == 0) {
		before = io->outlen - io->outoff;
		if (io_dowrite(io) == -1) {
			io->state |= IO_S_ERROR;
			io_call(io, IO_ERROR);
			goto done;
		}
		if (before > io->lowat && io->outlen - io->outoff <= io->lowat)
			io_call(io, IO_LOWAT);
	}
done:
	io->state &= ~IO_S_HELD;
	if (io->state & IO_S_FREED) {
		io_destroy(io);
		return;
	}
	io_reload(io, 1);
}
