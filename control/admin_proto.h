/*
 * The admin-port protocol engine (SPEC sections 9 and 14, STYLE section
 * 7): E-MailRelay's line-based admin interface, for telnet and netcat
 * clients and operators' scripts, as a state machine that knows no
 * sockets, libevent or channels.  The control process feeds it received
 * lines and the results of its requests; the engine acts through a small
 * ops struct.
 *
 * Input: admin_proto_line() takes one received line INCLUDING its
 * terminator ("\r\n" or a bare "\n"), as the session cut it at each LF.
 * A piece without LF is a fragment of an overlong line; the session
 * passes one only when it holds at least ADMIN_PROTO_LINEMAX octets
 * without a LF (so memory stays bounded).  The engine drops fragments and
 * answers the whole line as an unrecognised command once its LF arrives.
 *
 * Output: no prompt before the first command; every answer ends with the
 * prompt ADMIN_PROTO_PROMPT, which has no line end after it, as in
 * E-MailRelay.  Reply lines end in CRLF.  An empty (or blank) line
 * only re-prompts.  Commands are case-insensitive words; extra arguments
 * after commands that take none are ignored, as E-MailRelay does.  The
 * answers:
 *
 *	help		"commands: " and the commands, comma-separated, in
 *			alphabetical order ("terminate" only when allowed)
 *	forward		ADMIN_REQ_FORWARD, then "OK"
 *	flush		ADMIN_REQ_FLUSH, then "OK" or "error: <reason>"
 *	unfail-all	ADMIN_REQ_UNFAIL_ALL, then an empty line
 *	list		ADMIN_REQ_LIST, then ids one per line, or "<none>"
 *	failures	ADMIN_REQ_FAILURES, the same for .bad messages
 *	status		ADMIN_REQ_STATUS, then the report's lines, or
 *			"no info" when it is empty
 *	notify		no reply line, only the prompt; then ADMIN_REQ_NOTIFY
 *			(one-way) and from then on admin_proto_event() lines
 *	pid		the pid from the configuration
 *	info <what>	"info version": the bare version number (E-MailRelay
 *			answers its versionNumber(), "2.6.1", so scripts can
 *			compare it); "info copyright": the copyright line when
 *			configured; otherwise "usage: info {copyright|version}"
 *			(only the items configured)
 *	smtp enable|disable
 *			ADMIN_REQ_SMTP, then "OK"; otherwise
 *			"usage: smtp {disable|enable}"
 *	dnsbl start, dnsbl stop [<seconds>]
 *			ADMIN_REQ_DNSBL, then "OK"; otherwise
 *			"usage: dnsbl {start|stop [<seconds>]}"
 *	quit		closes without a word
 *	terminate	with --admin-terminate: ADMIN_REQ_TERMINATE (one-way),
 *			then closes without a word; otherwise unrecognised
 *
 * Without a forwarding address, forward and flush answer "error: no
 * remote server configured: use --forward-to" and request nothing.  A
 * failed request is answered "error: <reason>".  Anything else, an
 * overlong line or a line holding a NUL is answered "error: unrecognised
 * command"; the ADMIN_PROTO_MAXERRORS-th closes the session after its
 * answer.
 *
 * Requests: at most one is outstanding (STYLE section 2).  While
 * admin_proto_busy() is true the session feeds nothing and keeps input
 * buffered; it answers with admin_proto_reply() (a long list may come
 * first in parts through admin_proto_reply_part()), after which it goes
 * on feeding.  ADMIN_REQ_NOTIFY and ADMIN_REQ_TERMINATE are one-way.
 *
 * Events: after notify, admin_proto_event() sends "EVENT: <text>" and a
 * fresh prompt.  While a request is outstanding (or a reply is being
 * written) events are held, up to ADMIN_PROTO_HELDMAX octets, and go out
 * after the reply and its prompt, so they never split a reply.
 *
 * Callbacks must not free the session: ops->close() marks it for closing
 * once the output already sent is flushed.
 */
#ifndef ADMIN_PROTO_H
#define ADMIN_PROTO_H

#include <stddef.h>

#include "bounds.h"

#define ADMIN_PROTO_PROMPT	"E-MailRelay> "
#define ADMIN_PROTO_LINEMAX	BOUNDS_LINE	/* command line, with CRLF */
#define ADMIN_PROTO_MAXERRORS	30	/* unrecognised commands */
#define ADMIN_PROTO_EVENTMAX	512	/* event text, longer is cut */
#define ADMIN_PROTO_HELDMAX	4096	/* events held while busy */
#define ADMIN_PROTO_DNSBLMAX	31536000 /* dnsbl stop: at most a year */

/* What the engine asks of the outside world. */
enum admin_req {
	ADMIN_REQ_NONE = 0,
	ADMIN_REQ_FORWARD,	/* queue: start a forwarding pass */
	ADMIN_REQ_FLUSH,	/* queue: forward now, answer when done */
	ADMIN_REQ_UNFAIL_ALL,	/* queue: strip the .bad suffixes */
	ADMIN_REQ_LIST,		/* queue: ids of ready messages */
	ADMIN_REQ_FAILURES,	/* queue: ids of .bad messages */
	ADMIN_REQ_STATUS,	/* the network report (SPEC 9) */
	ADMIN_REQ_SMTP,		/* smtpd: enable or disable (arg) */
	ADMIN_REQ_DNSBL,	/* lookup: start or stop DNSBL checks */
	ADMIN_REQ_NOTIFY,	/* events wanted from now on; one-way */
	ADMIN_REQ_TERMINATE	/* stop the daemon; one-way */
};

/* Request details; the session copies what it needs during the call. */
struct admin_request {
	enum admin_req	 kind;
	int		 enable;	/* SMTP: 1 enable, 0 disable;
					   DNSBL: 1 start, 0 stop */
	unsigned int	 seconds;	/* DNSBL stop: how long, 0 = until
					   "dnsbl start" */
};

/* admin_proto_line() results. */
#define ADMIN_PROTO_OK		0	/* taken */
#define ADMIN_PROTO_BUSY	1	/* not taken: busy or closed */

/* What a session needs from the configuration; strings are copied. */
struct admin_proto_conf {
	const char	*version;	/* "info version", e.g. "2.6.1" */
	const char	*copyright;	/* "info copyright"; NULL = none */
	long		 pid;		/* "pid": the daemon's */
	int		 forward_to;	/* a forwarding address is set */
	int		 terminate;	/* --admin-terminate */
};

struct admin_ops {
	/* Octets to send as they are (CRLF line ends, prompt included). */
	void	(*send)(void *arg, const char *data, size_t len);
	/* A request; answer later with admin_proto_reply() (not one-way). */
	void	(*request)(void *arg, const struct admin_request *req);
	/* Close once output is flushed; reason is for the log line. */
	void	(*close)(void *arg, const char *reason);
};

enum admin_state {
	ADMIN_ST_CMD = 0,	/* reading commands */
	ADMIN_ST_WAIT,		/* a request is outstanding */
	ADMIN_ST_CLOSED
};

/* Engine state; embed it in the session.  Fields are private. */
struct admin_proto {
	const struct admin_ops	*ops;
	void			*arg;
	enum admin_state	 state;
	enum admin_req		 wait;
	int			 errors;
	int			 overlong;
	int			 notify;
	int			 writing;	/* a reply is being sent */
	size_t			 nlines;	/* lines of the reply so far */

	/* configuration */
	char			 version[32];
	char			 copyright[128];
	long			 pid;
	int			 forward_to;
	int			 terminate;

	/* events held while busy: "EVENT: ...\r\n" and prompts */
	char			 held[ADMIN_PROTO_HELDMAX];
	size_t			 heldlen;
	unsigned long		 dropped;	/* events lost for room */
};

/* Set up p; nothing is sent.  ops and arg must outlive p. */
void	 admin_proto_init(struct admin_proto *p,
	    const struct admin_proto_conf *conf, const struct admin_ops *ops,
	    void *arg);

/*
 * One received line with its terminator, or a fragment (see above).
 * Returns ADMIN_PROTO_OK, or ADMIN_PROTO_BUSY when the line was not taken
 * (the session keeps it and feeds it again after the reply).
 */
int	 admin_proto_line(struct admin_proto *p, const char *line,
	    size_t len);

/*
 * The answer to the outstanding request.  status is MSG_OK, MSG_TEMPFAIL
 * or MSG_PERMFAIL (common/msg.h).  text (may be NULL): for LIST and
 * FAILURES the ids, for STATUS the report, one per line ("\n" or "\r\n"
 * between, a final line end optional); for a failure the reason (a
 * leading "error: " is not doubled).  Control characters become spaces.
 * Returns 0, or -1 if no request is outstanding (a bug).
 */
int	 admin_proto_reply(struct admin_proto *p, int status,
	    const char *text);

/*
 * A leading part of the answer to an outstanding LIST, FAILURES or
 * STATUS request, for output that does not fit one frame: lines as for
 * admin_proto_reply(), sent at once; the request stays outstanding.
 * Returns 0, or -1 if no such request is outstanding.
 */
int	 admin_proto_reply_part(struct admin_proto *p, const char *text);

/*
 * An asynchronous event for a client that gave "notify": sends
 * "EVENT: <text>" (control characters made spaces, cut at
 * ADMIN_PROTO_EVENTMAX) and a prompt, or holds them while busy.
 * Returns 1 if sent or held, 0 if this client wants no events (no notify
 * yet, or closed), -1 if dropped because the held events fill their
 * buffer.
 */
int	 admin_proto_event(struct admin_proto *p, const char *text);

/* True while the session must feed no input (request, closed). */
int	 admin_proto_busy(const struct admin_proto *p);

/* True once the engine has called ops->close(). */
int	 admin_proto_closed(const struct admin_proto *p);

/* True once the client gave "notify". */
int	 admin_proto_notifying(const struct admin_proto *p);

#endif /* ADMIN_PROTO_H */
