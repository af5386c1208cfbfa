/*
 * The SMTP server protocol engine (SPEC sections 4 and 14, STYLE section
 * 7): a state machine that knows no sockets, TLS, libevent or channels.
 * The session feeds it received lines, BDAT octets and the results of its
 * requests; the engine acts through a small ops struct.
 *
 * Input: smtp_proto_line() takes one received line INCLUDING its
 * terminator ("\r\n" or a bare "\n"), as the session cut it at each LF.
 * A piece without LF is a fragment of a longer line; the session passes
 * one only when it holds at least BOUNDS_LINE octets without a LF (so
 * memory stays bounded).  In command state a fragment makes the line
 * overlong ("500 line too long" once its LF arrives); in DATA state lines
 * of any length are content.  After a BDAT command the engine wants raw
 * octets instead: while smtp_proto_chunk_left() is non-zero the session
 * feeds them with smtp_proto_chunk().
 *
 * Requests: at most one is outstanding (STYLE section 2).  While
 * smtp_proto_busy() is true the session feeds nothing and keeps pipelined
 * input buffered; it answers with smtp_proto_reply(), after which it goes
 * on feeding.  SMTP_REQ_RSET is one-way.
 *
 * Callbacks must not free the session: ops->close() marks it for closing
 * once the replies already sent are flushed.
 */
#ifndef SMTP_PROTO_H
#define SMTP_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bounds.h"
#include "sasl.h"

#define SMTP_PROTO_MAXERRORS	8	/* protocol errors before closing */

/* What the engine asks of the outside world. */
enum smtp_req {
	SMTP_REQ_NONE = 0,
	SMTP_REQ_MAIL,		/* queue: create the content file */
	SMTP_REQ_RCPT,		/* lookup: address verifier */
	SMTP_REQ_VRFY,		/* lookup: address verifier, no MAIL FROM */
	SMTP_REQ_DATA_END,	/* queue: commit and run the filter chain */
	SMTP_REQ_AUTH,		/* lookup: check SASL credentials */
	SMTP_REQ_RSET		/* queue: discard the message; one-way */
};

/*
 * Request details.  Pointers are valid only during the ops->request()
 * call: the session copies what it sends.  AUTH secrets are wiped by the
 * engine when the call returns.
 */
struct smtp_request {
	enum smtp_req	 kind;
	const char	*addr;		/* MAIL: reverse path without brackets,
					   "" for <>; RCPT: forward path;
					   VRFY: the argument */
	int		 utf8;		/* MAIL, RCPT: address has UTF-8 */
	int		 smtputf8;	/* MAIL: SMTPUTF8 parameter */
	int		 body;		/* MAIL: ADDR_BODY_* */
	uint64_t	 size;		/* MAIL: SIZE= or 0; DATA_END: octets
					   of content (without Received) */
	const char	*auth;		/* MAIL: AUTH= value (xtext) or "" */
	const char	*mech;		/* AUTH: mechanism, upper case */
	const char	*authzid;	/* AUTH PLAIN: authorization id or "" */
	const char	*id;		/* AUTH: authentication id */
	const char	*secret;	/* AUTH: password (PLAIN, LOGIN) or the
					   hex digest (CRAM-*) */
	const char	*challenge;	/* AUTH CRAM-*: the challenge sent */
};

/*
 * Reply statuses: MSG_OK, MSG_TEMPFAIL, MSG_PERMFAIL (common/msg.h) and,
 * for RCPT and VRFY, these two.  MSG_OK there means a valid remote
 * address.
 */
#define SMTP_STATUS_LOCAL	3	/* valid local mailbox */
#define SMTP_STATUS_ABORT	4	/* verifier abort: close */

/* smtp_proto_line() results. */
#define SMTP_PROTO_OK		0	/* taken */
#define SMTP_PROTO_DROP		1	/* taken; discard all buffered input
					   (plaintext behind STARTTLS) */
#define SMTP_PROTO_BUSY		2	/* not taken: busy, closed, or BDAT
					   octets wanted */

/* What a session needs from the configuration; strings are copied. */
struct smtp_proto_conf {
	const char	*domain;	/* --domain */
	const char	*version;	/* "2.6.1" */
	const char	*client_ip;	/* for Received, no port */
	uint64_t	 size_limit;	/* --size, 0 = none */
	int		 anon_vrfy;	/* --anonymous=vrfy */
	int		 anon_server;	/* --anonymous=server */
	int		 anon_content;	/* --anonymous=content */
	int		 pipelining;	/* --server-smtp-config flags */
	int		 chunking;
	int		 smtputf8;
	int		 smtputf8strict;
	int		 nostrictparsing;
	int		 auth;		/* --server-auth given */
	const char	*auth_mechs;	/* advertised before TLS, upper case,
					   space separated; NULL or "" =
					   none */
	const char	*auth_mechs_tls; /* the same once TLS is active;
					   NULL = as auth_mechs */
	int		 tls_available;	/* STARTTLS offered */
	int		 tls_active;	/* implicit TLS
					   (--server-tls-connection) */
	const char	*tls_cipher;	/* with tls_active, or NULL */
	int		 tls_required;	/* --server-tls-required */
};

struct smtp_ops {
	/* One reply line without CRLF ("250-..." continuations too). */
	void	(*send)(void *arg, const char *line);
	/* A request; answer later with smtp_proto_reply() (not RSET). */
	void	(*request)(void *arg, const struct smtp_request *req);
	/* Message content: Received line, unstuffed lines, BDAT octets. */
	void	(*content)(void *arg, const char *data, size_t len);
	/*
	 * The "220" for STARTTLS has been sent: flush it, discard buffered
	 * input, run the handshake, then call smtp_proto_tls_done().
	 */
	void	(*start_tls)(void *arg);
	/* Close once output is flushed; reason is for the log line. */
	void	(*close)(void *arg, const char *reason);
	/* A warning for the log ("very long line detected"); may be NULL. */
	void	(*log)(void *arg, const char *text);
	/* Current time; NULL means time(NULL). */
	time_t	(*now)(void *arg);
};

enum smtp_state {
	SMTP_ST_NEW = 0,	/* before smtp_proto_start() */
	SMTP_ST_CMD,		/* reading commands */
	SMTP_ST_SASL,		/* reading an AUTH response line */
	SMTP_ST_DATA,		/* reading DATA content lines */
	SMTP_ST_CHUNK,		/* reading BDAT octets */
	SMTP_ST_WAIT,		/* a request is outstanding */
	SMTP_ST_TLS,		/* STARTTLS handshake under way */
	SMTP_ST_CLOSED
};

/* Engine state; embed it in the session.  Fields are private. */
struct smtp_proto {
	const struct smtp_ops	*ops;
	void			*arg;
	enum smtp_state		 state;
	enum smtp_req		 wait;
	int			 errors;
	int			 drop;
	int			 overlong;
	int			 longline_logged;

	/* configuration */
	char			 domain[BOUNDS_DOMAIN + 1];
	char			 version[32];
	char			 client_ip[64];
	char			 mechs[128];
	char			 mechs_tls[128];
	uint64_t		 size_limit;
	unsigned int		 conf;		/* SMTP_C_* in smtp_proto.c */

	/* connection */
	char			 helo[BOUNDS_DOMAIN + 1];
	int			 greeted;	/* EHLO or HELO seen */
	int			 tls;
	char			 cipher[64];
	int			 authenticated;
	char			 authid[BOUNDS_DOMAIN + 1];
	char			 authmech[16];
	char			 trusted[64];

	/* transaction */
	int			 mail;		/* MAIL accepted */
	int			 body;
	int			 smtputf8;
	size_t			 nrcpt;		/* accepted recipients */
	char			 addr[BOUNDS_PATH + 1];
	uint64_t		 msgsize;
	int			 toobig;
	int			 midline;
	int			 lastlf;	/* last line ended in bare LF */
	int			 lastcr;	/* last fragment ended in CR */
	char			 dot[2];	/* held back "." or ".\r" */
	size_t			 ndot;
	size_t			 linelen;
	int			 bdat;		/* BDAT transfer started */
	uint64_t		 chunk_left;
	uint64_t		 chunk_size;
	int			 chunk_last;
	const char		*chunk_err;	/* reply after the octets */
	int			 chunk_errcount;

	struct sasl		 sasl;		/* AUTH exchange */
};

/* Set up p; nothing is sent yet.  ops and arg must outlive p. */
void	 smtp_proto_init(struct smtp_proto *p,
	    const struct smtp_proto_conf *conf, const struct smtp_ops *ops,
	    void *arg);

/* Send the greeting; input is taken from now on. */
void	 smtp_proto_start(struct smtp_proto *p);

/*
 * One received line with its terminator, or a fragment (see above).
 * Returns SMTP_PROTO_OK, SMTP_PROTO_DROP or SMTP_PROTO_BUSY.
 */
int	 smtp_proto_line(struct smtp_proto *p, const char *line, size_t len);

/* BDAT octets still wanted through smtp_proto_chunk(), or 0. */
uint64_t smtp_proto_chunk_left(const struct smtp_proto *p);

/*
 * Up to len raw BDAT octets.  Returns how many were taken (at most
 * smtp_proto_chunk_left(); 0 when none is wanted).
 */
size_t	 smtp_proto_chunk(struct smtp_proto *p, const char *data, size_t len);

/*
 * For a session that drops an overlong command line itself instead of
 * passing fragments: replies "500 line too long".  Only in command state
 * (not while smtp_proto_in_content()).
 */
void	 smtp_proto_overlong(struct smtp_proto *p);

/*
 * The answer to the outstanding request of this kind.  status is MSG_OK,
 * MSG_TEMPFAIL, MSG_PERMFAIL or, for RCPT and VRFY, SMTP_STATUS_LOCAL or
 * SMTP_STATUS_ABORT.  text (may be NULL): for a failure the reply text,
 * used as it is when it starts with a 4xx/5xx code, else after the
 * default code; for VRFY the full name (local) or address (remote).
 * Returns 0, or -1 if no such request is outstanding (a bug).
 */
int	 smtp_proto_reply(struct smtp_proto *p, enum smtp_req kind,
	    int status, const char *text);

/* The STARTTLS handshake succeeded; cipher is for Received (copied). */
void	 smtp_proto_tls_done(struct smtp_proto *p, const char *cipher);

/*
 * The client address is trusted (secrets "server none"): MAIL and VRFY
 * need no AUTH.  keyword is copied.
 */
void	 smtp_proto_set_trusted(struct smtp_proto *p, const char *keyword);

/* True while the session must feed no input (request, TLS, closed). */
int	 smtp_proto_busy(const struct smtp_proto *p);

/* True once the engine has called ops->close(). */
int	 smtp_proto_closed(const struct smtp_proto *p);

/* True while message content is being received (not to be logged). */
int	 smtp_proto_in_content(const struct smtp_proto *p);

/* True while a MAIL has been accepted and its message not finished. */
int	 smtp_proto_in_transaction(const struct smtp_proto *p);

/* The SASL id and mechanism once authenticated, else NULL. */
const char *smtp_proto_auth_id(const struct smtp_proto *p);
const char *smtp_proto_auth_mech(const struct smtp_proto *p);

/* The HELO/EHLO name given, or "". */
const char *smtp_proto_helo(const struct smtp_proto *p);

/* Wipe AUTH state; call before freeing the session. */
void	 smtp_proto_clear(struct smtp_proto *p);

/*
 * Build the Received line with CRLF into buf: "Received: from <helo>
 * ([<ip>]) by <domain> with ESMTP[S][A][ tls <cipher>] ; <date>", spaces
 * in helo turned into '-', the date in RFC 5322 form with the day not
 * zero-padded, for time t at UTC offset gmtoff seconds.  tls_cipher NULL
 * means no TLS.  Returns the length, or -1 if it does not fit.
 */
int	 smtp_proto_received(char *buf, size_t size, const char *helo,
	    const char *client_ip, const char *domain, int authenticated,
	    const char *tls_cipher, time_t t, long gmtoff);

#endif /* SMTP_PROTO_H */
