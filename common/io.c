/*
 * Buffered non-blocking socket I/O on libevent: see io.h.  One event per
 * io, never persistent: it is added again after every callback with the
 * directions wanted then and a fresh timeout.
 *
 * TLS: libtls reads and writes the socket through io_tls_on_read() and
 * io_tls_on_write() (recv and send with MSG_NOSIGNAL, so a closed peer is
 * EPIPE, never SIGPIPE).  Each TLS call reports what it waits for
 * (TLS_WANT_POLLIN or TLS_WANT_POLLOUT), which becomes the event mask:
 * a read may need the socket writable and a write readable.  libtls may
 * hold decrypted input that no socket event will announce, so reading
 * goes on until libtls wants the socket, and when the input cap stops it
 * earlier (or an EOF or error waits behind data already delivered) the
 * event is activated by hand as soon as reading is wanted again.
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

#include <tls.h>

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
#define IO_S_HANDSHAKE	0x20		/* TLS handshake under way */
#define IO_S_TLS	0x40		/* TLS established */

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

	struct tls	*tls;		/* the connection, owned */
	size_t		 plainleft;	/* cleartext still to send first */
	short		 hwant;		/* EV_* the handshake waits for */
	short		 rwant;		/* EV_* tls_read() waits for */
	short		 wwant;		/* EV_* tls_write() waits for */
	int		 rpend;		/* libtls may hold input: read now */
	int		 rdone;		/* IO_EOF or IO_ERROR held back */
	int		 sockerr;	/* errno seen by the callbacks */
	int		 sockeof;	/* the callbacks read an EOF */
	int		 chain;		/* the peer's certificate is checked */
	int		 verified;	/* see io_tls_peer_verified() */
	char		*verifyname;	/* for io_tls_connect() */
	char		 tlserr[IO_TLS_ERRMAX];
};

static void	 io_on_event(evutil_socket_t, short, void *);
static void	 io_reload(struct io *, int);
static void	 io_call(struct io *, int);
static int	 io_doread(struct io *);
static int	 io_dowrite(struct io *);
static void	 io_destroy(struct io *);
static int	 io_inspace(struct io *, size_t *);
static int	 io_readable(const struct io *);
static int	 io_tls_start(struct io *);
static void	 io_tls_fail(struct io *, const char *);
static int	 io_tls_handshake(struct io *);
static int	 io_tls_doread(struct io *);
static int	 io_tls_dowrite(struct io *);
static ssize_t	 io_tls_on_read(struct tls *, void *, size_t, void *);
static ssize_t	 io_tls_on_write(struct tls *, const void *, size_t, void *);

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
	if (io->tls != NULL) {
		/* One try at close_notify; the socket is non-blocking. */
		if ((io->state & (IO_S_TLS | IO_S_ERROR)) == IO_S_TLS)
			(void)tls_close(io->tls);
		tls_free(io->tls);
	}
	free(io->verifyname);
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
	int		 now = 0;

	if (io->state & (IO_S_HELD | IO_S_FREED))
		return;			/* io_on_event() reloads on return */
	if (io->state & IO_S_CONNECTING)
		want = EV_WRITE;
	else if (io->state & IO_S_ERROR)
		want = 0;
	else if (io->state & IO_S_HANDSHAKE)
		want = io->plainleft > 0 ? EV_WRITE : io->hwant;
	else if (io->state & IO_S_TLS) {
		if (io_readable(io)) {
			if (io->rpend || io->rdone) {
				/* No socket event may ever come for it. */
				want |= EV_READ;
				now = 1;
			} else
				want |= io->rwant;
		}
		if ((io->paused & IO_OUT) == 0 && io->outlen > io->outoff)
			want |= io->wwant;
	} else {
		if (io_readable(io))
			want |= EV_READ;
		if ((io->paused & IO_OUT) == 0 && io->outlen > io->outoff)
			want |= EV_WRITE;
	}
	if (io->added && want == io->evmask && !rearm && !now)
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
	if (event_add(io->ev, io->timeout >= 0 ? &tv : NULL) == 0) {
		io->added = 1;
		if (now)
			event_active(io->ev, EV_READ, 0);
	}
}

/* Whether input is wanted now: not paused, closed, full or backed up. */
static int
io_readable(const struct io *io)
{
	return ((io->paused & IO_IN) == 0 &&
	    (io->state & IO_S_EOF) == 0 &&
	    io->inlen - io->inoff < io->incap &&
	    io->outlen - io->outoff <= IO_OUT_HIWAT);
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
	size_t	 sz;
	ssize_t	 r;

	if (io_inspace(io, &sz) == -1)
		return (-1);
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
 * Make room at io->in + io->inlen: *sz bytes (0 at the cap).  Returns 0,
 * or -1 without memory (io->err set).
 */
static int
io_inspace(struct io *io, size_t *szp)
{
	char	*n;
	size_t	 left, sz;

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
	*szp = sz;
	return (0);
}

/*
 * One write of everything queued.  Returns the bytes written (0 if the
 * socket was full), or -1 on an error (io->err set).
 */
static int
io_dowrite(struct io *io)
{
	ssize_t	 r;
	size_t	 len;

	if (io->state & IO_S_TLS)
		return (io_tls_dowrite(io));
	len = io->outlen - io->outoff;
	if ((io->state & IO_S_HANDSHAKE) && len > io->plainleft)
		len = io->plainleft;	/* the rest waits for TLS */
	do {
		r = send(io->fd, io->out + io->outoff, len, MSG_NOSIGNAL);
	} while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (0);
		if (errno == ENOTSOCK) {
			/* A pipe or a tty in tests. */
			do {
				r = write(io->fd, io->out + io->outoff, len);
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
	if (io->state & IO_S_HANDSHAKE)
		io->plainleft -= (size_t)r;
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
	int		 r, soerr, doread;

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
	if (io->state & IO_S_HANDSHAKE) {
		/* The cleartext queued before the handshake goes first. */
		if (io->plainleft > 0) {
			if (io_dowrite(io) == -1) {
				io->state |= IO_S_ERROR;
				io_call(io, IO_ERROR);
				goto done;
			}
			if (io->plainleft > 0)
				goto done;
		}
		if ((r = io_tls_handshake(io)) == -1) {
			io->state |= IO_S_ERROR;
			io_call(io, IO_ERROR);
			goto done;
		}
		if (r == 0)
			goto done;
		io_call(io, IO_TLSREADY);
		if (io->state & IO_S_FREED)
			goto done;
		/* Input may have come with the handshake: read on. */
	}
	if (io->state & IO_S_TLS)
		doread = io_readable(io) &&
		    (io->rpend || io->rdone || (what & io->rwant));
	else
		doread = (what & EV_READ) != 0;
	if (doread) {
		r = (io->state & IO_S_TLS) ? io_tls_doread(io) :
		    io_doread(io);
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
	 * (A callback may have started a handshake: then only the
	 * cleartext queued before it goes.)
	 */
	if (io->outlen > io->outoff && (io->paused & IO_OUT) == 0 &&
	    (io->state & IO_S_ERROR) == 0 &&
	    ((io->state & IO_S_HANDSHAKE) == 0 || io->plainleft > 0)) {
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

int
io_tls_accept(struct io *io, struct tls *server_ctx)
{
	struct tls	*cctx;

	if (io_tls_start(io) == -1)
		return (-1);
	if (tls_accept_cbs(server_ctx, &cctx, io_tls_on_read,
	    io_tls_on_write, io) == -1) {
		io_tls_fail(io, tls_error(server_ctx));
		errno = EPROTO;
		return (-1);
	}
	io->tls = cctx;
	io->chain = 1;		/* see io_tls_peer_verified() */
	io->state |= IO_S_HANDSHAKE;
	io->hwant = EV_READ;	/* the ClientHello */
	io_reload(io, 1);
	return (0);
}

int
io_tls_connect(struct io *io, struct tls_config *cfg, const char *servername,
    const char *verifyname, int chain)
{
	struct tls	*ctx;
	char		*vn = NULL;

	if (io_tls_start(io) == -1)
		return (-1);
	if (verifyname != NULL && (vn = strdup(verifyname)) == NULL)
		return (-1);
	if ((ctx = tls_client()) == NULL) {
		free(vn);
		errno = ENOMEM;
		return (-1);
	}
	if (tls_configure(ctx, cfg) == -1 ||
	    tls_connect_cbs(ctx, io_tls_on_read, io_tls_on_write, io,
	    servername) == -1) {
		io_tls_fail(io, tls_error(ctx));
		tls_free(ctx);
		free(vn);
		errno = EPROTO;
		return (-1);
	}
	io->tls = ctx;
	io->verifyname = vn;
	io->chain = chain != 0;
	io->state |= IO_S_HANDSHAKE;
	io->hwant = EV_WRITE;	/* the ClientHello, at once */
	io_reload(io, 1);
	return (0);
}

/*
 * What both sides do first: refuse a second start, drop the unread
 * plaintext input (see io.h) and note the cleartext still to send.
 */
static int
io_tls_start(struct io *io)
{
	if (io->tls != NULL ||
	    (io->state & (IO_S_CONNECTING | IO_S_ERROR | IO_S_EOF))) {
		errno = EINVAL;
		return (-1);
	}
	io->inoff = io->inlen = 0;
	io->plainleft = io->outlen - io->outoff;
	io->tlserr[0] = '\0';
	io->sockerr = io->sockeof = 0;
	return (0);
}

/* Record a TLS failure: the text, and an errno for io_error(). */
static void
io_tls_fail(struct io *io, const char *text)
{
	if (io->err == 0 || io->err == EPROTO) {
		if (io->sockerr != 0)
			io->err = io->sockerr;
		else if (io->sockeof)
			io->err = ECONNRESET;	/* the peer went away */
		else
			io->err = EPROTO;
	}
	(void)strlcpy(io->tlserr, text != NULL ? text : "tls failure",
	    sizeof(io->tlserr));
}

/*
 * One step of the handshake.  Returns 1 when done (the io is then in
 * TLS mode), 0 when it waits (io->hwant set), -1 on failure.
 */
static int
io_tls_handshake(struct io *io)
{
	int	 r;

	r = tls_handshake(io->tls);
	if (r == TLS_WANT_POLLIN) {
		io->hwant = EV_READ;
		return (0);
	}
	if (r == TLS_WANT_POLLOUT) {
		io->hwant = EV_WRITE;
		return (0);
	}
	if (r == -1) {
		io_tls_fail(io, tls_error(io->tls));
		return (-1);
	}
	if (io->verifyname != NULL &&
	    tls_peer_cert_contains_name(io->tls, io->verifyname) != 1) {
		io->err = EPROTO;
		if (snprintf(io->tlserr, sizeof(io->tlserr),
		    "name \"%s\" not present in the server certificate",
		    io->verifyname) < 0)
			io->tlserr[0] = '\0';
		return (-1);
	}
	io->state &= ~IO_S_HANDSHAKE;
	io->state |= IO_S_TLS;
	io->rwant = EV_READ;
	io->wwant = EV_WRITE;
	io->rpend = 1;		/* data may have come with the Finished */
	io->verified = io->chain && tls_peer_cert_provided(io->tls) == 1;
	return (1);
}

/*
 * Read through TLS until libtls wants the socket or the input is full.
 * Returns as io_doread().  An EOF or error behind new data is held back
 * (io->rdone) and returned by the next call, so that the data comes
 * first and the end only when reading is wanted again.
 */
static int
io_tls_doread(struct io *io)
{
	size_t	 sz;
	ssize_t	 r;
	int	 got = 0, end = 0;

	if (io->rdone != 0) {
		end = io->rdone;
		io->rdone = 0;
		return (end == IO_EOF ? 0 : -1);
	}
	io->rpend = 0;
	for (;;) {
		if (io_inspace(io, &sz) == -1) {
			end = IO_ERROR;
			break;
		}
		if (sz == 0) {
			io->rpend = 1;	/* libtls may hold more */
			break;
		}
		r = tls_read(io->tls, io->in + io->inlen, sz);
		if (r > 0) {
			io->inlen += (size_t)r;
			got = 1;
			continue;
		}
		if (r == TLS_WANT_POLLIN)
			io->rwant = EV_READ;
		else if (r == TLS_WANT_POLLOUT)
			io->rwant = EV_WRITE;
		else if (r == 0 || (io->sockeof && io->sockerr == 0))
			end = IO_EOF;	/* close_notify, or a plain EOF */
		else {
			io_tls_fail(io, tls_error(io->tls));
			end = IO_ERROR;
		}
		break;
	}
	if (end != 0 && got) {
		io->rdone = end;
		return (1);
	}
	if (end != 0)
		return (end == IO_EOF ? 0 : -1);
	return (got ? 1 : -2);
}

/*
 * Write everything queued through TLS, a record at a time, until libtls
 * wants the socket.  Returns as io_dowrite().
 */
static int
io_tls_dowrite(struct io *io)
{
	ssize_t	 r;
	size_t	 total = 0;

	while (io->outlen > io->outoff) {
		r = tls_write(io->tls, io->out + io->outoff,
		    io->outlen - io->outoff);
		if (r == TLS_WANT_POLLOUT || r == 0) {
			io->wwant = EV_WRITE;
			break;
		}
		if (r == TLS_WANT_POLLIN) {
			io->wwant = EV_READ;
			break;
		}
		if (r < 0) {
			io_tls_fail(io, tls_error(io->tls));
			return (-1);
		}
		io->wwant = EV_WRITE;
		io->outoff += (size_t)r;
		total += (size_t)r;
	}
	if (io->outoff == io->outlen)
		io->outoff = io->outlen = 0;
	return ((int)(total > 0x7fffffff ? 0x7fffffff : total));
}

/* libtls reads the socket through this. */
static ssize_t
io_tls_on_read(struct tls *ctx, void *buf, size_t len, void *arg)
{
	struct io	*io = arg;
	ssize_t		 r;

	do {
		r = read(io->fd, buf, len);
	} while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (TLS_WANT_POLLIN);
		io->sockerr = errno;
		return (-1);
	}
	if (r == 0)
		io->sockeof = 1;
	return (r);
}

/* libtls writes the socket through this: never SIGPIPE. */
static ssize_t
io_tls_on_write(struct tls *ctx, const void *buf, size_t len, void *arg)
{
	struct io	*io = arg;
	ssize_t		 r;

	do {
		r = send(io->fd, buf, len, MSG_NOSIGNAL);
	} while (r == -1 && errno == EINTR);
	if (r == -1 && errno == ENOTSOCK) {
		do {
			r = write(io->fd, buf, len);
		} while (r == -1 && errno == EINTR);
	}
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (TLS_WANT_POLLOUT);
		io->sockerr = errno;
		return (-1);
	}
	return (r);
}

const char *
io_tls_error(const struct io *io)
{
	return (io->tlserr[0] != '\0' ? io->tlserr : NULL);
}

int
io_tls_active(const struct io *io)
{
	return ((io->state & IO_S_TLS) != 0);
}

const char *
io_tls_cipher(const struct io *io)
{
	if ((io->state & IO_S_TLS) == 0)
		return (NULL);
	return (tls_conn_cipher(io->tls));
}

const char *
io_tls_version(const struct io *io)
{
	if ((io->state & IO_S_TLS) == 0)
		return (NULL);
	return (tls_conn_version(io->tls));
}

const char *
io_tls_peer_cert_pem(const struct io *io, size_t *len)
{
	static const char	 endmark[] = "-----END CERTIFICATE-----";
	const uint8_t		*p;
	const char		*end;
	size_t			 n, off;

	*len = 0;
	if ((io->state & IO_S_TLS) == 0 ||
	    (p = tls_peer_cert_chain_pem(io->tls, &n)) == NULL || n == 0)
		return (NULL);
	/* The chain starts with the peer's own certificate. */
	if ((end = memmem(p, n, endmark, sizeof(endmark) - 1)) == NULL)
		return (NULL);
	off = (size_t)(end - (const char *)p) + sizeof(endmark) - 1;
	if (off < n && p[off] == '\r')
		off++;
	if (off < n && p[off] == '\n')
		off++;
	*len = off;
	return ((const char *)p);
}

int
io_tls_peer_verified(const struct io *io)
{
	return ((io->state & IO_S_TLS) != 0 && io->verified);
}
