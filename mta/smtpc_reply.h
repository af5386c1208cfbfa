/*
 * Incremental parser of SMTP server replies for the client side (SPEC
 * section 5, RFC 5321 4.2): the session feeds one received line at a
 * time, without its CRLF, and gets told when the reply is complete.
 * "250-..." continuation lines are collected until the final "250 ..."
 * line.  Transport-free: no sockets, no logging, no allocation.
 *
 * Every line must start with the same three-digit code ([1-5][0-9][0-9])
 * followed by a space, a '-' (more lines follow) or the end of the line.
 * A hostile server is bounded: at most SMTPC_REPLY_MAXLINES lines and
 * SMTPC_REPLY_MAXBYTES octets per reply, lines of at most BOUNDS_LINE
 * octets, no CR, LF or NUL inside a line; anything else is a protocol
 * error.  Only the text of the last line is kept, cut at
 * SMTPC_REPLY_TEXTMAX octets (it is sanitised later for a Reason).
 *
 * The extension keywords of an EHLO reply (every line after the first)
 * are collected on the way: keywords are case-insensitive, "AUTH=<mechs>"
 * (the old form) counts as "AUTH <mechs>".
 */
#ifndef SMTPC_REPLY_H
#define SMTPC_REPLY_H

#include <stddef.h>
#include <stdint.h>

#define SMTPC_REPLY_MAXLINES	100	/* lines in one reply */
#define SMTPC_REPLY_MAXBYTES	65536	/* octets in one reply */
#define SMTPC_REPLY_TEXTMAX	1000	/* text kept of the last line */
#define SMTPC_REPLY_AUTHMAX	256	/* AUTH mechanism list kept */

/* EHLO extensions (smtpc_reply.ext) */
#define SMTPC_EXT_PIPELINING	0x0001
#define SMTPC_EXT_SIZE		0x0002
#define SMTPC_EXT_8BITMIME	0x0004
#define SMTPC_EXT_SMTPUTF8	0x0008
#define SMTPC_EXT_CHUNKING	0x0010
#define SMTPC_EXT_BINARYMIME	0x0020
#define SMTPC_EXT_STARTTLS	0x0040
#define SMTPC_EXT_AUTH		0x0080

/* smtpc_reply_line() results */
#define SMTPC_REPLY_MORE	0	/* a continuation line: feed more */
#define SMTPC_REPLY_DONE	1	/* the reply is complete */
#define SMTPC_REPLY_ERROR	(-1)	/* protocol error, see errstr */

/* One reply; fields are read-only for callers. */
struct smtpc_reply {
	int		 code;		/* 100..599 once a line is taken */
	size_t		 nlines;
	size_t		 nbytes;
	int		 done;		/* final line seen */
	const char	*errstr;	/* static text once an error is seen */
	char		 text[SMTPC_REPLY_TEXTMAX + 1];	/* last line's text
					   after "ddd " or "ddd-" */
	unsigned int	 ext;		/* SMTPC_EXT_* seen */
	uint64_t	 size;		/* SIZE argument, 0 = none or none
					   given */
	char		 auth[SMTPC_REPLY_AUTHMAX];	/* AUTH mechanisms,
					   upper case, space separated */
};

/* Make r empty, ready for the first line of a reply. */
void	 smtpc_reply_init(struct smtpc_reply *r);

/*
 * Take one line of len octets at line (no CRLF; need not be
 * NUL-terminated).  Returns SMTPC_REPLY_MORE, SMTPC_REPLY_DONE, or
 * SMTPC_REPLY_ERROR with r->errstr set; once done or in error every
 * further line is an error ("reply already complete") until
 * smtpc_reply_init().
 */
int	 smtpc_reply_line(struct smtpc_reply *r, const char *line,
	    size_t len);

/*
 * The caller dropped a line longer than BOUNDS_LINE octets: always
 * returns SMTPC_REPLY_ERROR with r->errstr "reply line too long".
 */
int	 smtpc_reply_overlong(struct smtpc_reply *r);

/* The class of the reply: code / 100 (2 for 250), or 0 if none yet. */
int	 smtpc_reply_class(const struct smtpc_reply *r);

#endif /* SMTPC_REPLY_H */
