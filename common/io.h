/*
 * Buffered non-blocking socket I/O on libevent (STYLE.md section 6), in
 * the shape of OpenSMTPD's ioev.c: one io object per connection, one
 * callback that gets IO_* events, an input buffer with a cap, an output
 * buffer flushed once per event with a single write, a timeout re-armed
 * whenever the io waits, and backpressure (no reading while more than
 * IO_OUT_HIWAT bytes wait to be sent).
 *
 * TLS (libtls) slots in below the same interface: io_tls_accept() or
 * io_tls_connect() start a handshake on the io's socket, IO_TLSREADY (or
 * IO_ERROR, IO_TIMEOUT) ends it, and from then on every read and write
 * goes through the TLS connection with the same buffers, caps, timeouts,
 * backpressure and events; the peer's close_notify and a plain EOF both
 * give IO_EOF (SMTP and POP mark their own ends, so a missing
 * close_notify hides no truncation).  Starting TLS discards every unread plaintext byte of
 * input, so that nothing a peer pipelined behind STARTTLS or behind the
 * "220" reply can be taken for data of the TLS session (the STARTTLS
 * injection class, Postfix CVE-2011-0411): consume the STARTTLS line (or
 * the 220 reply) first; what follows it is dropped, never delivered.
 * Plaintext output queued before the call (the "220 ready to start tls"
 * reply) is sent, in the clear, before the handshake begins; output
 * queued after the call is encrypted.
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
struct tls;
struct tls_config;

/* Events passed to the callback. */
#define IO_CONNECTED	1	/* io_connect() completed */
#define IO_TLSREADY	2	/* io_tls_accept/connect() handshake done */
#define IO_DATAIN	3	/* new bytes in the input buffer */
#define IO_LOWAT	4	/* a write brought the output down to lowat */
#define IO_TIMEOUT	5	/* nothing happened for the timeout */
#define IO_EOF		6	/* the peer closed its side */
#define IO_ERROR	7	/* io_error() has errno, io_tls_error() text */

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
 * called from inside it; no more events are delivered either way).  A
 * TLS connection gets a best-effort close_notify first (never waited
 * for) and its libtls context is freed.
 */
void	 io_free(struct io *io);

/* The socket. */
int	 io_fileno(const struct io *io);

/*
 * errno of the last IO_ERROR, else 0.  A TLS failure that is no socket
 * error (handshake refused, bad certificate, protocol error) is EPROTO;
 * io_tls_error() then says more.
 */
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

/* Largest text kept for io_tls_error(), NUL included. */
#define IO_TLS_ERRMAX	256

/*
 * Start the server side of a TLS handshake on the io's socket with
 * server_ctx (a configured tls_server(), see tlsconf_server(); the io
 * does not own it, and it must outlive the io).  Unread input is
 * discarded (see above).  IO_TLSREADY, IO_ERROR or IO_TIMEOUT follows;
 * the handshake runs whatever io_pause() says, each wait under the io's
 * timeout.  Returns 0, or -1 with errno set: EINVAL when TLS is already
 * under way or the io is connecting or failed, EPROTO when libtls refused
 * (io_tls_error() has its text).
 */
int	 io_tls_accept(struct io *io, struct tls *server_ctx);

/*
 * Start the client side of a TLS handshake with cfg (see tlsconf_client();
 * not owned, it must outlive the io).  servername goes out as SNI unless
 * it is NULL or an address literal (libtls's rule); libtls checks it
 * against the certificate only when cfg verifies names (tlsconf_client()
 * configurations never do).  verifyname, when not NULL, is the name the
 * server's certificate must hold (a subjectAltName, or the common name
 * when there is none), checked once the handshake is done: a mismatch
 * is IO_ERROR with io_tls_error() naming it.  chain: non-zero when cfg
 * verifies the certificate chain, so that io_tls_peer_verified() can say
 * so.  Unread input is discarded (see above).  Events and return value
 * as io_tls_accept(); the io owns the libtls context it makes.
 */
int	 io_tls_connect(struct io *io, struct tls_config *cfg,
	    const char *servername, const char *verifyname, int chain);

/*
 * Why the last TLS handshake, read or write failed: libtls's text (or the
 * verify name mismatch), at most IO_TLS_ERRMAX - 1 bytes; NULL when no
 * TLS error happened.  Owned by the io.
 */
const char *io_tls_error(const struct io *io);

/* Non-zero from IO_TLSREADY on (the handshake is done). */
int	 io_tls_active(const struct io *io);

/*
 * After IO_TLSREADY: the cipher ("TLS_AES_256_GCM_SHA384") and protocol
 * version ("TLSv1.3") in use, owned by the io; NULL before.
 */
const char *io_tls_cipher(const struct io *io);
const char *io_tls_version(const struct io *io);

/*
 * After IO_TLSREADY: the first certificate the peer presented (its own,
 * without the rest of the chain) in PEM form, *len bytes ending in a
 * newline, not NUL-terminated, owned by the io (what the envelope's
 * ClientCertificate field records).  NULL with *len 0 when the peer
 * presented none.
 */
const char *io_tls_peer_cert_pem(const struct io *io, size_t *len);

/*
 * After IO_TLSREADY: non-zero when the peer presented a certificate and
 * it was verified.  Server side: a tlsconf_server() context asks for a
 * client certificate only when it has a CA to check it with, and a
 * certificate that does not verify fails the handshake, so any
 * certificate presented was verified.  Client side: the certificate
 * chain was checked (io_tls_connect()'s chain).
 */
int	 io_tls_peer_verified(const struct io *io);

#endif /* IO_H */
