/*
 * The line protocols of the net: built-ins (SPEC 6.3, 6.5), without any
 * transport: the lookup process connects, writes the request line made
 * here, reads one response line of at most NETPROTO_LINE_MAX octets and
 * hands it to the parser here, which gives the same outcome a program
 * would (lookup/filter_result.h).  Pure functions: no allocation, no
 * logging, no libevent.
 *
 * Filter: the request is the content path and LF; the response is "ok"
 * (pass) or an error line whose text before the first TAB is the
 * response (a leading 4xx/5xx and a space set the SMTP code) and whose
 * text after it is the reason, logged and written into the envelope.
 *
 * Verifier: the request is "to|from|ip|domain|mechanism|name" and LF
 * with the arguments a verifier program gets; the response is
 * "0|mailbox|full name", "1|address", "2|text", "3|text" or "100", read
 * as a program's exit code and two output lines.  A field is never
 * escaped: a field that contains '|' or a control character (CR, LF,
 * ...) cannot be sent, so no field can add a field or a line.
 *
 * Responses are hostile: a line ends at its first LF (a CR before it is
 * dropped), a longer line than NETPROTO_LINE_MAX is a protocol error,
 * and every text kept is made safe as filter_result.h says.
 */
#ifndef NETPROTO_H
#define NETPROTO_H

#include <stddef.h>

struct filter_outcome;
struct verify_outcome;

/* Longest request or response line, without its LF. */
#define NETPROTO_LINE_MAX	4096

/* Response of a filter that failed to answer (SPEC 6.2 codes). */
#define NETPROTO_FILTER_ERROR	"451 filter error"

/* What a verifier request carries (SPEC 6.5 program arguments). */
struct netproto_verify_req {
	const char	*to;		/* recipient as given */
	const char	*from;		/* MAIL FROM, "" for VRFY */
	const char	*ip;		/* client ip:port */
	const char	*domain;	/* --domain */
	const char	*mechanism;	/* AUTH mechanism, lower case, or
					   "none" */
	const char	*name;		/* SASL id, trust keyword, or "" */
};

/*
 * Write the filter request "<path>\n" and a NUL into buf (bufsz bytes).
 * Returns its length without the NUL, or -1 with errno EINVAL (path
 * empty or with a control character) or EMSGSIZE (longer than
 * NETPROTO_LINE_MAX or than buf).
 */
int	 netproto_filter_request(char *buf, size_t bufsz, const char *path);

/*
 * Interpret a filter's response line (len octets at line; need not be
 * NUL-terminated; the LF may be there or not).  "ok" (any case, blanks
 * around it ignored) passes; anything else fails as a program would
 * that printed <<response>> and <<reason>> and exited 1 (so "rejected"
 * when the response is empty, reply "452 <response>" without a code).
 * A line longer than NETPROTO_LINE_MAX fails as netproto_filter_fail()
 * with NETPROTO_FILTER_ERROR.  Fills *o completely; never fails.
 */
void	 netproto_filter_response(const char *line, size_t len,
	    struct filter_outcome *o);

/*
 * A built-in filter that could not give an answer (no connection, bad
 * or missing response).  timed_out: exactly a program's timeout
 * (reply "452 error", reason "timeout"); else a failure with response
 * (NETPROTO_FILTER_ERROR, or the built-in's own, with or without a
 * 4xx/5xx code) and reason (for the log and envelope; NULL or "" means
 * the response) made safe like a program's texts; a reason is cut at a
 * CR or LF and before a ">>" or "]]" it cannot carry.  Fills *o
 * completely; never fails.
 */
void	 netproto_filter_fail(const char *response, const char *reason,
	    int timed_out, struct filter_outcome *o);

/*
 * Write the verifier request line, LF and a NUL into buf (bufsz bytes);
 * NULL fields are sent empty.  Returns its length without the NUL, or
 * -1 with errno EINVAL (a field holds '|' or a control character: do
 * not send; the recipient is invalid, verifier_result(2, 0, NULL, 0, o))
 * or EMSGSIZE (longer than NETPROTO_LINE_MAX or than buf).
 */
int	 netproto_verify_request(char *buf, size_t bufsz,
	    const struct netproto_verify_req *r);

/*
 * Interpret a verifier's response line (as for filters).  A leading
 * code of one to three digits and then '|' or the end is taken as the
 * program's exit code: for 0 the mailbox is the next field and the full
 * name the rest of the line, for 1 the address is the rest of the line,
 * for others the text is the rest of the line; *o is then exactly what
 * verifier_result() gives for that code and output.  A line without
 * such a code, or one too long, is a temporary failure as
 * netproto_verify_fail().  Fills *o completely; never fails.
 */
void	 netproto_verify_response(const char *line, size_t len,
	    struct verify_outcome *o);

/*
 * A verifier that could not give an answer: temporary (450) with text
 * (made safe; NULL or "" gives "mailbox unavailable"), or with
 * timed_out a program's timeout (450 "timeout").  Fills *o completely.
 */
void	 netproto_verify_fail(const char *text, int timed_out,
	    struct verify_outcome *o);

#endif /* NETPROTO_H */
