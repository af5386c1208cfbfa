/*
 * SpamAssassin's spamd protocol, client side, for the spam: and
 * spam-edit: filters (SPEC 6.3), without any transport.  Both send
 * "PROCESS SPAMC/1.4": the lookup process connects, writes the request
 * header from spamd_request(), then the content file as it is, and
 * feeds whatever it reads back into spamd_parse() in chunks of any
 * size until end of file (spamd closes the connection after its
 * response), stopping early on SPAMD_ERROR, and then calls spamd_eof(),
 * whose result does not depend on how the input was cut: SPAMD_DONE
 * from spamd_parse() only says that the body is complete, and data
 * after it is still an error.  spamd_outcome() then says what the
 * filter did.
 *
 * The response is hostile: a status line "SPAMD/<major>.<minor> <code>
 * <text>" (a code other than 0, EX_OK, is spamd's error and ends the
 * response), header lines of at most SPAMD_LINE_MAX octets each and at
 * most SPAMD_HEADERS_MAX of them, an empty line, and a body of exactly
 * Content-length octets, which the parser never holds: it goes to the
 * body callback as it arrives (spam-edit: writes it to a new content
 * file) or is dropped (spam:).  "Content-length" is required; "Spam: True
 * ; 1000.0 / 5.0" gives the verdict, other headers are ignored.  Lines
 * end in CRLF or LF; a NUL, a CR inside a line or other control bytes
 * in a line are errors, and so are bytes after the body.
 */
#ifndef SPAMD_H
#define SPAMD_H

#include <stddef.h>
#include <stdint.h>

struct filter_outcome;

#define SPAMD_LINE_MAX		1024	/* status or header line, with CRLF */
#define SPAMD_HEADERS_MAX	32	/* header lines in a response */
#define SPAMD_USER_MAX		64	/* "User:" name in a request */
#define SPAMD_REQUEST_MAX	(128 + SPAMD_USER_MAX)	/* request header */
#define SPAMD_NUM_MAX		16	/* score or threshold, as text */
#define SPAMD_MESSAGE_MAX	256	/* text of the status line kept */

/* Response of the spam: filter for spam, and of a spamd failure. */
#define SPAMD_SPAM_RESPONSE	"550 spam detected"
#define SPAMD_ERROR_RESPONSE	"451 spam filter error"

/* spamd_parse() and spamd_eof() results */
#define SPAMD_MORE		0	/* feed more */
#define SPAMD_DONE		1	/* the response is complete */
#define SPAMD_ERROR		(-1)	/* see errstr, code */

enum spamd_state {
	SPAMD_ST_STATUS = 0,	/* reading the status line */
	SPAMD_ST_HEADER,	/* reading header lines */
	SPAMD_ST_BODY,		/* passing the body on */
	SPAMD_ST_DONE,
	SPAMD_ST_ERROR
};

/*
 * Parser state and what was read; embed it where the connection lives.
 * Fields are read-only for callers.
 */
struct spamd_parser {
	enum spamd_state	 state;
	int			(*body)(void *, const char *, size_t);
	void			*arg;
	char			 line[SPAMD_LINE_MAX];	/* partial line */
	size_t			 linelen;
	size_t			 nheaders;
	int			 code;		/* status code: 0 = EX_OK,
						   -1 before the status line */
	char			 message[SPAMD_MESSAGE_MAX + 1];	/* its
						   text, printable ASCII */
	int			 have_length;
	uint64_t		 length;	/* Content-length */
	uint64_t		 received;	/* body octets so far */
	int			 have_verdict;	/* a Spam: header was read */
	int			 spam;		/* True or Yes */
	double			 score;
	double			 threshold;
	char			 score_text[SPAMD_NUM_MAX + 1];	/* as sent,
						   e.g. "-0.0" */
	char			 threshold_text[SPAMD_NUM_MAX + 1];
	const char		*errstr;	/* static text once in error */
};

/*
 * Write the request header "PROCESS SPAMC/1.4", "Content-length: <n>",
 * "User: <user>" (left out when user is NULL or "") and the empty line,
 * each ending in CRLF, and a NUL into buf (bufsz bytes, at least
 * SPAMD_REQUEST_MAX is enough); content_len is the exact size of the
 * content that follows.  Returns the length without the NUL, or -1
 * with errno EINVAL (user longer than SPAMD_USER_MAX or not printable
 * ASCII without spaces) or EMSGSIZE (buf too small).
 */
int	 spamd_request(char *buf, size_t bufsz, uint64_t content_len,
	    const char *user);

/*
 * Make p ready for one response.  body(arg, data, len) gets the body in
 * order, in pieces of len > 0 octets valid only during the call; it
 * returns 0, or -1 to stop (the response is then an error, "cannot
 * store the rewritten message").  body NULL drops the body.
 */
void	 spamd_init(struct spamd_parser *p,
	    int (*body)(void *arg, const char *data, size_t len), void *arg);

/*
 * Take len octets of the response at data.  Returns SPAMD_MORE,
 * SPAMD_DONE once the whole body is in, or SPAMD_ERROR with p->errstr
 * (and p->code when spamd reported an error); any data after DONE is an
 * error, and once in error every call returns SPAMD_ERROR.
 */
int	 spamd_parse(struct spamd_parser *p, const char *data, size_t len);

/*
 * spamd closed the connection: SPAMD_DONE when the response was
 * complete, else SPAMD_ERROR ("connection closed early" or "response
 * body shorter than Content-length").
 */
int	 spamd_eof(struct spamd_parser *p);

/*
 * What the filter did, from a parser that returned SPAMD_DONE or
 * SPAMD_ERROR (any other state is an incomplete response).  spam-edit
 * (edit set) passes; the caller replaces the content with the body it
 * was given.  spam: passes a message that is not spam and fails spam
 * with SPAMD_SPAM_RESPONSE (code 550) and the reason "spam detected
 * (score <s>/<t>)"; without a Spam: header it fails as below.  Errors
 * (spamd's, a bad or short response, an empty body for spam-edit) fail
 * with SPAMD_ERROR_RESPONSE (code 451) and the reason "spamd: <what>".
 * Fills *o completely; never fails.
 */
void	 spamd_outcome(const struct spamd_parser *p, int edit,
	    struct filter_outcome *o);

/*
 * A spamd that could not answer (no connection, write failure): fails
 * with SPAMD_ERROR_RESPONSE and reason, or with timed_out as a
 * program's timeout.  Fills *o completely.
 */
void	 spamd_fail(const char *reason, int timed_out,
	    struct filter_outcome *o);

#endif /* SPAMD_H */
