/*
 * The SMTP client protocol engine (SPEC sections 5 and 14, STYLE section
 * 7): one outgoing SMTP session that knows no sockets, TLS, libevent or
 * channels.  The mta session feeds it the server's reply lines, content
 * chunks and events (prompt timeout, response timeout, TLS handshake
 * done, disconnect); the engine acts through a small ops struct.  Several
 * messages may be sent in sequence over one connection.
 *
 * Input: smtpc_proto_line() takes one received line WITHOUT its CRLF (or
 * bare LF); the session cuts lines with a BOUNDS_LINE bound and, for a
 * longer one, calls smtpc_proto_overlong() instead.
 *
 * Flow: greeting (or smtpc_proto_prompt_timeout()), EHLO <domain> or
 * EHLO [<local ip>] when the domain has no dot, HELO after a 5xx to EHLO,
 * STARTTLS when configured and offered (mandatory with tls_required),
 * EHLO again after the handshake, AUTH when configured and offered (see
 * below), then ops->ready() once.  Each message given with
 * smtpc_proto_message() (also allowed before ready: it waits) goes MAIL,
 * RCPT per recipient, DATA and content, or BDAT for binarymime; with
 * pipelining (configured AND offered) MAIL, the RCPTs and DATA go in one
 * batch and the replies are matched in order.  Every message gets
 * exactly one ops->done(); the connection ends with exactly one
 * ops->close().
 *
 * Content (SPEC 5): in DATA mode the engine rewrites line ends: CRLF, a
 * bare LF and a lone CR (one not followed by LF) each end a line and are
 * sent as CRLF, so "a\rb" goes as two lines "a" and "b", and "\r\r\n" as
 * a line end plus an empty line.  Lines starting with '.' are
 * dot-stuffed, a missing final line end is added, and the "." line ends
 * the data.  In BDAT mode the octets go unchanged.
 *
 * AUTH (SPEC 5, 7): with conf->auth, once the (last) EHLO reply offers
 * AUTH, the engine asks for the client account with
 * ops->request(SMTPC_REQ_AUTH_SECRET) and waits for
 * smtpc_proto_auth_secret() (or smtpc_proto_fail() with the reason when
 * there is no account).  A SECRET_NONE account means no AUTH.  The
 * mechanism is the first one, in the order CRAM-MD5, PLAIN, LOGIN (a
 * plain password), CRAM-MD5 (an md5 state) or XOAUTH2 (an oauth initial
 * response), that the server offers and that conf->auth_config allows
 * ("m:"/"x:" lists, "a:"/"d:" instead once TLS is active when given; an
 * "m:" or "a:" list also sets the order, see sasl_mech_filter()).  235
 * goes on; any other final reply is a session failure naming the reply,
 * and so is an account without a usable mechanism.  A server that does
 * not offer AUTH gets none (no request is made).  The -v trace never
 * shows a credential.  The engine keeps the account only while the
 * exchange lasts and clears it with explicit_bzero.
 *
 * Callbacks may call smtpc_proto_message() and smtpc_proto_quit() (from
 * done() and ready()) but must not free the engine; after ops->close()
 * the engine ignores all input and the session may free it on return.
 */
#ifndef SMTPC_PROTO_H
#define SMTPC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "smtpc_reply.h"

/* Session failure texts (Reason, ReasonCode empty). */
#define SMTPC_E_TIMEOUT		"response timeout"
#define SMTPC_E_TLSREQ		"tls required but not offered by the server"
#define SMTPC_E_OVERLONG	"protocol error: reply line too long"
#define SMTPC_E_AUTHMECH	\
    "cannot authenticate: no usable mechanism offered by the server"
#define SMTPC_E_AUTHLONG	"cannot authenticate: client account too long"
#define SMTPC_E_AUTHCONF	\
    "cannot authenticate: --client-auth-config too long"
#define SMTPC_E_AUTHFAIL	"authentication failed"	/* ": <reply>" */
/* For the session when the account cannot be had (it may add more). */
#define SMTPC_E_NOACCOUNT	"cannot authenticate: no client account"
#define SMTPC_E_NOSECRETS	\
    "cannot authenticate: client secrets not available"
/* Message failure texts. */
#define SMTPC_R_RCPT		"one or more recipients rejected"
#define SMTPC_R_ALLRCPT		"all recipients rejected"
#define SMTPC_R_NORCPT		"no remote recipients"
#define SMTPC_R_8BIT		"cannot send 8-bit message to 7-bit server"
#define SMTPC_R_BINARY		\
    "cannot send binarymime message to a server without binarymime"
#define SMTPC_R_UTF8		\
    "cannot send smtputf8 message to a server without smtputf8"
#define SMTPC_R_NOMEM		"out of memory"

/* Body types (the values of enum envelope_body in common/envelope.h). */
#define SMTPC_BODY_7BIT		0
#define SMTPC_BODY_8BIT		1
#define SMTPC_BODY_BINARYMIME	2
#define SMTPC_BODY_UNKNOWN	3

/*
 * What the engine may ask of the mta process.  SMTPC_REQ_AUTH_SECRET:
 * the client account for --client-auth (only with conf->auth), answered
 * with smtpc_proto_auth_secret() or smtpc_proto_fail().
 */
enum smtpc_req {
	SMTPC_REQ_NONE = 0,
	SMTPC_REQ_AUTH_SECRET
};

/* What the engine needs from the configuration; strings are copied. */
struct smtpc_conf {
	const char	*domain;	/* --domain */
	const char	*local_ip;	/* our address on the connection, no
					   port, for "EHLO [<ip>]" */
	int		 pipelining;	/* --client-smtp-config=pipelining */
	int		 tls;		/* --client-tls: STARTTLS if offered */
	int		 tls_required;	/* --client-tls-required */
	int		 tls_active;	/* implicit TLS: no STARTTLS */
	int		 forward_to_some; /* --forward-to-some */
	int		 binarymimestrict; /* --client-smtp-config flags */
	int		 eightbitstrict;
	int		 smtputf8strict;
	int		 auth;		/* --client-auth: AUTH when offered */
	const char	*auth_config;	/* --client-auth-config, or NULL */
};

/* Limits of a client account (longer: SMTPC_E_AUTHLONG). */
#define SMTPC_AUTH_IDMAX	BOUNDS_LINE	/* id octets */
#define SMTPC_AUTH_SECRETMAX	4096	/* secret octets */
#define SMTPC_AUTH_CONFMAX	1024	/* --client-auth-config */

/*
 * One message.  The structure and everything it points to must stay
 * valid until its ops->done() returns.
 */
struct smtpc_msg {
	const char		*from;	/* reverse path without brackets,
					   "" for <> */
	const char *const	*rcpt;	/* nrcpt To-Remote addresses */
	size_t			 nrcpt;
	int			 body;	/* SMTPC_BODY_* */
	int			 smtputf8; /* Utf8MailboxNames: SMTPUTF8 */
	uint64_t		 size;	/* content octets for SIZE=, 0 = none */
	const char		*auth;	/* AUTH= value as sent (xtext or
					   "<>"), NULL = none; sent when
					   the server offers AUTH */
};

/* Message outcomes (smtpc_result.status). */
#define SMTPC_DELIVERED		0	/* all accepted, 250 after the data:
					   delete both files */
#define SMTPC_PARTIAL		1	/* forward-to-some: the accepted got
					   it; .bad keeps the rejected */
#define SMTPC_FAILED		2	/* .bad with reason and code; the
					   connection goes on */
#define SMTPC_SESSION_FAILED	3	/* .bad with reason, code 0; the
					   connection ends (ops->close
					   follows) */

/* A message outcome; pointers are valid only during ops->done(). */
struct smtpc_result {
	int			 status;	/* SMTPC_DELIVERED ... */
	int			 code;		/* ReasonCode, 0 = empty */
	const char		*reason;	/* "" when delivered */
	const unsigned char	*rejected;	/* per recipient: 1 if the
						   server rejected it; NULL
						   when none was rejected */
	size_t			 nrejected;
};

struct smtpc_ops {
	/* One command line without CRLF ("MAIL FROM:<a@b>"). */
	void	(*send)(void *arg, const char *line);
	/* Raw octets: transformed content lines, BDAT chunks. */
	void	(*data)(void *arg, const char *data, size_t len);
	/*
	 * The server said 220 to STARTTLS: run the handshake, then call
	 * smtpc_proto_tls_done() (or smtpc_proto_fail()).
	 */
	void	(*start_tls)(void *arg);
	/* A request (see enum smtpc_req); may be NULL while none is used. */
	void	(*request)(void *arg, enum smtpc_req kind);
	/*
	 * Wanted: the next content chunk of the current message, to be
	 * given with smtpc_proto_content(), at once or later.
	 */
	void	(*content_next)(void *arg);
	/* The session is established and idle; called once.  May be NULL. */
	void	(*ready)(void *arg);
	/* The outcome of the message in hand. */
	void	(*done)(void *arg, const struct smtpc_result *res);
	/*
	 * End the connection once output is flushed; failed is non-zero
	 * for a session failure, reason is for the log line.
	 */
	void	(*close)(void *arg, int failed, const char *reason);
	/* A -v trace line ("tx>>: \"EHLO a.example\""); may be NULL. */
	void	(*log)(void *arg, const char *text);
};

enum smtpc_state {
	SMTPC_ST_NEW = 0,	/* before smtpc_proto_start() */
	SMTPC_ST_GREETING,	/* waiting for the 220 */
	SMTPC_ST_EHLO,
	SMTPC_ST_HELO,
	SMTPC_ST_STARTTLS,	/* waiting for the 220 to STARTTLS */
	SMTPC_ST_TLS,		/* handshake under way */
	SMTPC_ST_SECRET,	/* waiting for the client account */
	SMTPC_ST_AUTH,		/* AUTH sent, in the exchange */
	SMTPC_ST_READY,		/* idle, no message in hand */
	SMTPC_ST_MAIL,		/* waiting for MAIL/RCPT/DATA replies */
	SMTPC_ST_CONTENT,	/* sending DATA content */
	SMTPC_ST_DATAEND,	/* waiting for the reply after "." */
	SMTPC_ST_BDAT,		/* BDAT chunk sent, waiting for its reply */
	SMTPC_ST_RSET,
	SMTPC_ST_QUIT,
	SMTPC_ST_CLOSED
};

#define SMTPC_OBUF	8192

/* Engine state; embed it in the session.  Fields are private. */
struct smtpc_proto {
	const struct smtpc_ops	*ops;
	void			*arg;
	enum smtpc_state	 state;
	char			 domain[BOUNDS_DOMAIN + 1];
	char			 local_ip[64];
	unsigned int		 conf;		/* SMTPC_C_* in smtpc_proto.c */
	struct smtpc_reply	 reply;		/* the reply being read */

	/* connection */
	unsigned int		 ext;		/* SMTPC_EXT_* from EHLO */
	int			 tls;
	int			 greeted;	/* 220 greeting seen */
	/* EHLO sent on prompt timeout */
	int			 late_greeting;
	int			 ready_told;
	int			 quit;		/* QUIT wanted when idle */

	/* AUTH */
	int			 auth;		/* conf->auth */
	int			 auth_done;	/* tried, or not to be */
	char			 auth_config[SMTPC_AUTH_CONFMAX];
	int			 auth_config_long;
	char			 auth_offered[SMTPC_REPLY_AUTHMAX];
	char			 auth_mech[16];	/* chosen, or "" */
	int			 auth_ok;	/* 235 to it */
	int			 auth_step;	/* challenges answered */
	int			 auth_kind;	/* SECRET_* */
	char			 auth_id[SMTPC_AUTH_IDMAX + 1];
	size_t			 auth_idlen;
	unsigned char		 auth_secret[SMTPC_AUTH_SECRETMAX];
	size_t			 auth_secretlen;

	/* message in hand */
	const struct smtpc_msg	*msg;
	int			 started;	/* MAIL sent */
	int			 bdat;		/* BDAT transfer */
	int			 pipelined;	/* DATA went with the batch */
	size_t			 nsent;		/* batch steps sent: MAIL,
						   RCPTs, DATA */
	size_t			 nreplied;	/* batch replies matched */
	unsigned char		*rejected;	/* per recipient */
	size_t			 naccepted;
	size_t			 nrejected;
	int			 rcpt_code;	/* ReasonCode by the rule */
	int			 decided;	/* result below is final */
	int			 res_status;
	int			 res_code;
	char			 res_reason[SMTPC_REPLY_TEXTMAX + 1];

	/* content */
	int			 in_next;	/* inside ops->content_next() */
	int			 in_next_wanted; /* a chunk was asked for */
	int			 next_again;
	/* bytes sent since the last CRLF */
	int			 midline;
	int			 cr;		/* a CR is held back */
	uint64_t		 nlines;
	int			 bdat_last;
	char			 obuf[SMTPC_OBUF];
	size_t			 olen;
};

/* Set up p; nothing is sent yet.  ops and arg must outlive p. */
void	 smtpc_proto_init(struct smtpc_proto *p,
	    const struct smtpc_conf *conf, const struct smtpc_ops *ops,
	    void *arg);

/* The TCP (or implicit TLS) connection is up: wait for the greeting. */
void	 smtpc_proto_start(struct smtpc_proto *p);

/* One reply line without its line end; len at most BOUNDS_LINE. */
void	 smtpc_proto_line(struct smtpc_proto *p, const char *line,
	    size_t len);

/* The session dropped a reply line over BOUNDS_LINE: session failure. */
void	 smtpc_proto_overlong(struct smtpc_proto *p);

/* --prompt-timeout passed without a greeting: go ahead with EHLO. */
void	 smtpc_proto_prompt_timeout(struct smtpc_proto *p);

/* --response-timeout passed: session failure "response timeout". */
void	 smtpc_proto_timeout(struct smtpc_proto *p);

/*
 * The connection failed (disconnect, TLS handshake, I/O error): reason
 * is the error text.  A session failure, except after QUIT was sent.
 */
void	 smtpc_proto_fail(struct smtpc_proto *p, const char *reason);

/* The STARTTLS handshake succeeded: EHLO again. */
void	 smtpc_proto_tls_done(struct smtpc_proto *p);

/*
 * The answer to SMTPC_REQ_AUTH_SECRET: the account's kind (SECRET_* of
 * common/secrets.h), id (NUL-terminated) and secret (len octets: the
 * password, the 32-byte md5 state or the XOAUTH2 initial response).  The
 * engine copies them; the caller clears its own copies.  Ignored unless
 * the engine waits for it.  For no account call smtpc_proto_fail() with
 * SMTPC_E_NOACCOUNT or SMTPC_E_NOSECRETS (and whatever more it knows).
 */
void	 smtpc_proto_auth_secret(struct smtpc_proto *p, int kind,
	    const char *id, const unsigned char *secret, size_t len);

/*
 * The mechanism the session authenticated with ("PLAIN"), "" when it
 * did not (yet).
 */
const char *smtpc_proto_auth_mech(const struct smtpc_proto *p);

/*
 * Send msg (see struct smtpc_msg for its lifetime) once the session is
 * ready.  Returns 0, or -1 if a message is already in hand or the
 * session is closed or quitting (msg is then not taken: no done()).
 */
int	 smtpc_proto_message(struct smtpc_proto *p,
	    const struct smtpc_msg *msg);

/*
 * The next content chunk of the message in hand, asked for by
 * ops->content_next(); eof non-zero with the last one (len may be 0).
 * Ignored when no content is wanted.
 */
void	 smtpc_proto_content(struct smtpc_proto *p, const char *data,
	    size_t len, int eof);

/* Send QUIT once no message is in hand; ops->close() follows. */
void	 smtpc_proto_quit(struct smtpc_proto *p);

/* True while the engine waits for content (do not log it). */
int	 smtpc_proto_in_content(const struct smtpc_proto *p);

/* True once ops->close() has been called. */
int	 smtpc_proto_closed(const struct smtpc_proto *p);

/* The EHLO extensions (SMTPC_EXT_*) of the server, 0 after HELO. */
unsigned int smtpc_proto_ext(const struct smtpc_proto *p);

/* Free what the engine holds; call before freeing the session. */
void	 smtpc_proto_clear(struct smtpc_proto *p);

#endif /* SMTPC_PROTO_H */
