/*
 * The POP3 server protocol engine (SPEC section 8; RFC 1939, RFC 2449
 * CAPA, RFC 2595 STLS, RFC 5034 AUTH; STYLE section 7): a state machine
 * that knows no sockets, TLS, libevent, channels or files.  The session
 * feeds it received lines, the results of its requests and message
 * content; the engine acts through a small ops struct.
 *
 * Input: pop_proto_line() takes one received line INCLUDING its
 * terminator ("\r\n" or a bare "\n"), as the session cut it at each LF.
 * A piece without LF is a fragment of a longer line; the session passes
 * one only when it holds at least BOUNDS_LINE octets without a LF, so
 * memory stays bounded.  The line it belongs to gets "-ERR line too
 * long" once its LF arrives.
 *
 * Requests: at most one is outstanding (STYLE section 2).  While
 * pop_proto_busy() is true the session feeds no lines and keeps
 * pipelined input buffered; it answers with pop_proto_reply().  A
 * successful AUTH (or USER/PASS) is followed at once by POP_REQ_LIST:
 * the session describes the maildrop with pop_proto_maildrop() and
 * pop_proto_maildrop_entry(), then replies.  QUIT in the TRANSACTION
 * state issues POP_REQ_UPDATE with the deleted message numbers; the
 * outside deletes them (or, with --pop-no-delete, does not) and replies.
 * A session cut before that issues no UPDATE: nothing is deleted.
 *
 * Output and backpressure: reply lines go through ops->send(); message
 * content, dot-stuffed and with CRLF line ends, through ops->write().
 * After a successful POP_REQ_RETR reply, pop_proto_in_content() is true:
 * the session reads the message in chunks, each only once its output has
 * drained, and passes them to pop_proto_content() until that returns
 * POP_CONTENT_DONE (TOP has all it needs) or the file ends, then calls
 * pop_proto_content_end().  A long LIST or UIDL listing is sent in
 * batches: the session calls pop_proto_drained() whenever its output has
 * drained (IO_LOWAT); that is harmless when nothing is pending.
 *
 * Protocol errors are counted: unknown or misplaced commands, bad or
 * missing arguments, overlong lines, a NUL in a line, malformed SASL
 * exchanges and rejected credentials.  The POP_PROTO_MAXERRORS-th gets
 * its reply, then the session is closed.  "-ERR no such message" and
 * temporary failures do not count.
 *
 * After pop_proto_reply(), pop_proto_drained(), pop_proto_content_end()
 * and pop_proto_tls_done() the session goes on feeding buffered lines
 * while pop_proto_busy() is false.
 *
 * Callbacks must not free the session: ops->close() marks it for closing
 * once the replies already sent are flushed.
 */
#ifndef POP_PROTO_H
#define POP_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bounds.h"
#include "sasl.h"

#define POP_PROTO_MAXERRORS	8	/* protocol errors before closing */
#define POP_PROTO_MAXMSGS	100000	/* messages in one maildrop */
#define POP_PROTO_UIDMAX	70	/* unique-id octets (RFC 1939) */
#define POP_PROTO_LISTBATCH	256	/* listing lines per batch */

/* What the engine asks of the outside world. */
enum pop_req {
	POP_REQ_NONE = 0,
	POP_REQ_AUTH,		/* lookup: check credentials */
	POP_REQ_LIST,		/* open (lock) and describe the maildrop */
	POP_REQ_RETR,		/* open a message for RETR or TOP */
	POP_REQ_UPDATE		/* delete messages, release the maildrop */
};

/*
 * Request details.  Pointers are valid only during the ops->request()
 * call: the session copies what it sends.  AUTH secrets are wiped by the
 * engine when the call returns.
 */
struct pop_request {
	enum pop_req	 kind;
	const char	*mech;		/* AUTH: mechanism, upper case;
					   "PLAIN" for USER/PASS */
	const char	*authzid;	/* AUTH PLAIN: authorization id or "" */
	const char	*id;		/* AUTH: authentication id; LIST: the
					   authenticated user */
	const char	*secret;	/* AUTH: password (PLAIN, LOGIN) or the
					   hex digest (CRAM-*) */
	const char	*challenge;	/* AUTH CRAM-*: the challenge sent,
					   else "" */
	size_t		 msgno;		/* RETR: message number, 1..n */
	const char	*uid;		/* RETR: its unique id */
	int		 top;		/* RETR: for TOP, not RETR */
	uint64_t	 lines;		/* RETR with top: body lines wanted */
	const size_t	*deleted;	/* UPDATE: message numbers, ascending */
	size_t		 ndeleted;
};

/* pop_proto_line() results. */
#define POP_PROTO_OK		0	/* taken */
#define POP_PROTO_DROP		1	/* taken; discard all buffered input
					   (plaintext behind STLS) */
#define POP_PROTO_BUSY		2	/* not taken: busy or closed */

/* pop_proto_content() results. */
#define POP_CONTENT_MORE	0	/* feed the next chunk */
#define POP_CONTENT_DONE	1	/* stop reading: call
					   pop_proto_content_end() */

/* What a session needs from the configuration; strings are copied. */
struct pop_proto_conf {
	const char	*host;		/* greeting timestamp, CRAM
					   challenges */
	unsigned long long pid;		/* greeting timestamp */
	const char	*implementation; /* CAPA IMPLEMENTATION, or NULL */
	const char	*auth_mechs;	/* allowed before TLS, upper case,
					   space separated; NULL or "" =
					   none; USER/PASS needs PLAIN */
	const char	*auth_mechs_tls; /* the same once TLS is active;
					   NULL = as auth_mechs */
	int		 tls_available;	/* STLS offered (--server-tls) */
	int		 tls_active;	/* implicit TLS */
	int		 tls_required;	/* --server-tls-required */
};

struct pop_ops {
	/* One reply line without CRLF (the lines of a listing too). */
	void	(*send)(void *arg, const char *line);
	/* Raw octets of a RETR/TOP response, CRLF and terminator included. */
	void	(*write)(void *arg, const char *data, size_t len);
	/* A request; answer later with pop_proto_reply(). */
	void	(*request)(void *arg, const struct pop_request *req);
	/*
	 * The "+OK" for STLS has been sent: flush it, discard buffered
	 * input, run the handshake, then call pop_proto_tls_done().
	 */
	void	(*start_tls)(void *arg);
	/* Close once output is flushed; reason is for the log line. */
	void	(*close)(void *arg, const char *reason);
	/*
	 * An authentication failed, for the warning with the client address:
	 * mech upper case, id as the client sent it ("" if unknown; make it
	 * safe before logging), why a short text.  May be NULL.
	 */
	void	(*auth_failed)(void *arg, const char *mech, const char *id,
		    const char *why);
	/* Current time; NULL means time(NULL). */
	time_t	(*now)(void *arg);
};

enum pop_state {
	POP_ST_NEW = 0,		/* before pop_proto_start() */
	POP_ST_AUTHORIZATION,	/* reading commands, not logged in */
	POP_ST_SASL,		/* reading an AUTH response line */
	POP_ST_TRANSACTION,	/* reading commands, maildrop open */
	POP_ST_WAIT,		/* an AUTH, LIST or RETR is outstanding */
	POP_ST_LISTING,		/* a listing waits for pop_proto_drained() */
	POP_ST_CONTENT,		/* a message is being sent */
	POP_ST_UPDATE,		/* QUIT: the UPDATE is outstanding */
	POP_ST_TLS,		/* STLS handshake under way */
	POP_ST_CLOSED
};

struct pop_msg;

/* Engine state; embed it in the session.  Fields are private. */
struct pop_proto {
	const struct pop_ops	*ops;
	void			*arg;
	enum pop_state		 state;
	enum pop_req		 wait;
	int			 errors;
	int			 drop;
	int			 overlong;

	/* configuration */
	char			 host[BOUNDS_DOMAIN + 1];
	char			 impl[128];
	char			 mechs[128];
	char			 mechs_tls[128];
	unsigned int		 conf;		/* POP_C_* in pop_proto.c */
	unsigned long long	 pid;

	/* authorization */
	int			 tls;
	int			 authenticated;
	char			 user[BOUNDS_DOMAIN + 1];	/* USER */
	int			 have_user;
	char			 authid[BOUNDS_DOMAIN + 1];
	char			 authmech[SASL_MECHMAX];
	struct sasl		 sasl;

	/* maildrop */
	struct pop_msg		*msgs;
	size_t			 nmsgs;		/* as in pop_proto_maildrop() */
	size_t			 nset;		/* entries supplied */
	char			*uids;		/* NUL-terminated, pooled */
	size_t			 uidlen, uidsize;
	size_t			*deleted;	/* for the UPDATE request */
	size_t			 count;		/* not deleted */
	uint64_t		 octets;	/* their sizes */

	/* listing */
	int			 listuid;	/* UIDL rather than LIST */
	size_t			 listnext;	/* next message number */

	/* content */
	size_t			 msgno;
	int			 top;
	uint64_t		 toplines;	/* body lines wanted */
	uint64_t		 bodylines;	/* body lines sent */
	int			 inbody;
	int			 bol;		/* at the start of a line */
	int			 crpend;	/* CR sent, LF may follow */
	int			 cdone;		/* TOP is complete */
};

/* Set up p; nothing is sent yet.  ops and arg must outlive p. */
void	 pop_proto_init(struct pop_proto *p,
	    const struct pop_proto_conf *conf, const struct pop_ops *ops,
	    void *arg);

/*
 * Send the greeting "+OK POP3 server ready <pid.time@host>"; input is
 * taken from now on.
 */
void	 pop_proto_start(struct pop_proto *p);

/*
 * One received line with its terminator, or a fragment (see above).
 * Returns POP_PROTO_OK, POP_PROTO_DROP or POP_PROTO_BUSY.
 */
int	 pop_proto_line(struct pop_proto *p, const char *line, size_t len);

/*
 * The answer to the outstanding request of this kind: status MSG_OK,
 * MSG_TEMPFAIL or MSG_PERMFAIL.  text (may be NULL) is the reason: for
 * LIST and RETR failures it is sent after "-ERR "; for AUTH it goes only
 * to ops->auth_failed() (the client learns nothing about the user).
 * Returns 0, or -1 if no such request is outstanding or, for LIST with
 * MSG_OK, not every entry was supplied (both bugs; the latter is
 * answered as a failure).
 */
int	 pop_proto_reply(struct pop_proto *p, enum pop_req kind, int status,
	    const char *text);

/*
 * While POP_REQ_LIST is outstanding: the maildrop holds n messages,
 * numbered 1..n; replaces any earlier call.  Returns 0, or -1 if n is
 * over POP_PROTO_MAXMSGS, memory is short, or no LIST is outstanding.
 */
int	 pop_proto_maildrop(struct pop_proto *p, size_t n);

/*
 * Message msgno (1..n) has size octets and the unique id uid (1 to
 * POP_PROTO_UIDMAX characters from 0x21 to 0x7e, distinct per message;
 * copied).  Returns 0, or -1 if msgno is out of range or already set,
 * uid is invalid, or memory is short.
 */
int	 pop_proto_maildrop_entry(struct pop_proto *p, size_t msgno,
	    uint64_t size, const char *uid);

/*
 * The unique id of message msgno while the maildrop is open (for the
 * UPDATE), or NULL if there is no such message.
 */
const char *pop_proto_uid(const struct pop_proto *p, size_t msgno);

/* True while content is wanted through pop_proto_content(). */
int	 pop_proto_in_content(const struct pop_proto *p);

/*
 * len more octets of the message being sent (any chunking); nothing is
 * kept, every byte goes to ops->write() before the call returns.
 * Returns POP_CONTENT_MORE, or POP_CONTENT_DONE once TOP has its lines
 * (later chunks are ignored) and when no content is wanted.
 */
int	 pop_proto_content(struct pop_proto *p, const char *data, size_t len);

/*
 * The message has ended (or TOP is done, or reading failed and the
 * session closes anyway): ends its last line and sends ".".
 */
void	 pop_proto_content_end(struct pop_proto *p);

/* The session's output has drained: send the next batch of a listing. */
void	 pop_proto_drained(struct pop_proto *p);

/* The STLS handshake succeeded. */
void	 pop_proto_tls_done(struct pop_proto *p);

/*
 * True if line (len octets, as about to be passed to pop_proto_line())
 * holds a secret and must not be traced: PASS, AUTH with an initial
 * response, or a SASL response.
 */
int	 pop_proto_sensitive(const struct pop_proto *p, const char *line,
	    size_t len);

/* The state, for the session's decisions and the tests. */
enum pop_state pop_proto_state(const struct pop_proto *p);

/* True while the session must feed no lines (request, listing, TLS...). */
int	 pop_proto_busy(const struct pop_proto *p);

/* True once the engine has called ops->close(). */
int	 pop_proto_closed(const struct pop_proto *p);

/* The authenticated user and mechanism, else NULL. */
const char *pop_proto_auth_id(const struct pop_proto *p);
const char *pop_proto_auth_mech(const struct pop_proto *p);

/* Wipe AUTH state and free the maildrop; call before freeing p. */
void	 pop_proto_clear(struct pop_proto *p);

#endif /* POP_PROTO_H */
