/*
 * Buffered non-blocking socket I/O on libevent (STYLE.md section 6), in
 * the shape of OpenSMTPD's ioev.c: one io object per connection, one
 * callback that gets IO_* events, an input buffer with a cap, an output
 * buffer flushed once per event with a single write, a timeout re-armed
 * whenever the io waits, and backpressure (no reading while more than
 * IO_OUT_HIWAT bytes wait to be sent).  TLS will slot in below the same
 * interface (IO_TLSREADY).
 *
 * The callback may call anything here, io_free() included: inside the
 * callback the object is held and really freed when the callback
 * returns.  Outside a callback (say after a reply on a channel) every
 * call that changes what the io waits for updates its event at once.
 */
#ifndef IO_H
#define IO_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

struct event_base;
struct io;

/* Events passed to the callback. */
#define IO_CONNECTED	1	/* io_connect() completed */
#define IO_TLSREADY	2	/* TLS handshake done (reserved) */
#define IO_DATAIN	3	/* new bytes in the input buffer */
#define IO_LOWAT	4	/* a write brought the output down to lowat */
#define IO_TIMEOUT	5	/* nothing happened for the timeout */
#define IO_EOF		6	/* the peer closed its side */
#define IO_ERROR	7	/* a socket error: io_error() has errno */

/* Reading stops while more than this waits to be sent. */
#define IO_OUT_HIWAT	(64 * 1024)
/* Default and largest input buffer. */
#define IO_IN_DEFAULT	(64 * 1024)
/* Output beyond this is refused by io_write() (a peer that never reads). */
#define IO_OUT_MAX	(4 * 1024 * 1024)

/* Directions for io_pause() and io_resume(). */
#define IO_IN		0x01
#define IO_OUT		0x02

/* How a line from io_getline() ended. */
#define IO_LINE_CRLF	1	/* "\r\n" */
#define IO_LINE_LF	2	/* a bare "\n" */
#define IO_LINE_NONE	3	/* no LF within max: an overlong fragment */

struct io_line {
	const char	*p;		/* into the input buffer, no NUL */
	size_t		 len;		/* without the terminator */
	size_t		 size;		/* with it: what to io_drop() */
	int		 term;		/* IO_LINE_* */
	int		 overlong;	/* term is IO_LINE_NONE */
};

/*
 * A new io on the connected (or connecting) socket fd, which it makes
 * non-blocking and owns from now on.  cb gets every event with arg.
 * Reading starts at once.  Returns NULL on allocation failure (fd is
 * then left open for the caller).
 */
struct io	*io_new(struct event_base *base, int fd,
		    void (*cb)(struct io *, int event, void *arg), void *arg);

/*
 * Close the socket and free io (held until the callback returns when
 * called from inside it; no more events are delivered either way).
 */
void	 io_free(struct io *io);

/* The socket. */
int	 io_fileno(const struct io *io);

/* errno of the last IO_ERROR, else 0. */
int	 io_error(const struct io *io);

/*
 * Timeout in milliseconds for every wait of this io (reading, writing,
 * connecting); -1 for none.  Re-armed whenever the io waits again.
 */
void	 io_set_timeout(struct io *io, int ms);

/* IO_LOWAT comes when a write leaves at most lowat bytes (default 0). */
void	 io_set_lowat(struct io *io, size_t lowat);

/* Cap the input buffer (at most IO_IN_DEFAULT, at least 64 bytes). */
void	 io_set_incap(struct io *io, size_t cap);

/* Stop or restart reading (IO_IN) and/or writing (IO_OUT). */
void	 io_pause(struct io *io, int dirs);
void	 io_resume(struct io *io, int dirs);

/*
 * Queue len bytes for sending.  Returns 0, or -1 with errno ENOMEM (no
 * memory, or more than IO_OUT_MAX waiting).
 */
int	 io_write(struct io *io, const void *p, size_t len);

/* Queue a string, or a formatted one; 0 or -1 as io_write(). */
int	 io_print(struct io *io, const char *s);
int	 io_printf(struct io *io, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));

/* Bytes waiting to be sent. */
size_t	 io_queued(const struct io *io);

/* The unread input: io_datalen() bytes at io_data(). */
const char *io_data(const struct io *io);
size_t	 io_datalen(const struct io *io);

/* Consume n bytes of input (at most io_datalen()). */
void	 io_drop(struct io *io, size_t n);

/*
 * The next line of input, at most max bytes (terminator included, max at
 * least 2): returns 1 with *line set when a line ending in LF is there,
 * or when max bytes hold no LF (an overlong fragment of max bytes, term
 * IO_LINE_NONE, overlong 1); returns 0 when more input is needed.
 * Nothing is consumed: io_drop(io, line->size) when done with it.
 */
int	 io_getline(struct io *io, size_t max, struct io_line *line);

/*
 * Start a non-blocking connect of the io's socket to sa; IO_CONNECTED or
 * IO_ERROR (or IO_TIMEOUT) follows.  Returns 0, or -1 with errno set
 * when the connect failed at once.
 */
int	 io_connect(struct io *io, const struct sockaddr *sa, socklen_t len);

#endif /* IO_H */
