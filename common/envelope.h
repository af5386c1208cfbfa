/*
 * The E-MailRelay envelope file (SPEC 3): "X-MailRelay-" fields in a fixed
 * order, an End line, then free lines (Reason/ReasonCode pairs, split: and
 * retry: lines, and anything else, kept verbatim).  envelope_write() always
 * produces format #2821.8 with CRLF; envelope_read() accepts #2821.3 to
 * #2821.8, CRLF or LF-only.  Parsing and formatting only: no file I/O (see
 * spool.h) and no logging.
 *
 * Fields hold the text as it is in the file: Authentication, MailFromAuthIn
 * and MailFromAuthOut are xtext (use envelope_set_auth() to encode a SASL id
 * and xtext_decode() to read one back), ClientCertificate is PEM with lines
 * separated by a single '\n'.  Every string field is always NUL-terminated.
 */
#ifndef ENVELOPE_H
#define ENVELOPE_H

#include <stddef.h>

#include "bounds.h"

#define ENVELOPE_FORMAT		8	/* "#2821.8", the format we write */
#define ENVELOPE_FORMAT_MIN	3	/* oldest format read, "#2821.3" */

#define ENVELOPE_FIELD_MAX	1024	/* one field value, with its NUL */
#define ENVELOPE_CERT_MAX	(128 * 1024)	/* ClientCertificate */
#define ENVELOPE_REASON_MAX	1000	/* sanitised Reason text */
#define ENVELOPE_FREE_MAX	4096	/* free lines after End */
/* Largest envelope file read: 1 MiB plus a full line per recipient. */
#define ENVELOPE_MAX_SIZE	(1024 * 1024 + BOUNDS_RCPT * BOUNDS_LINE)

enum envelope_body {
	ENVELOPE_BODY_7BIT,
	ENVELOPE_BODY_8BIT,
	ENVELOPE_BODY_BINARYMIME,
	ENVELOPE_BODY_UNKNOWN
};

/* What a free line after End is; ENVELOPE_LINE_OTHER is kept verbatim. */
enum envelope_line_kind {
	ENVELOPE_LINE_REASON,		/* X-MailRelay-Reason: */
	ENVELOPE_LINE_REASONCODE,	/* X-MailRelay-ReasonCode: */
	ENVELOPE_LINE_SPLITGROUPCOUNT,	/* X-MailRelay-SplitGroupCount: */
	ENVELOPE_LINE_SPLITGROUP,	/* X-MailRelay-SplitGroup: */
	ENVELOPE_LINE_RETRY,		/* X-MailRelay-Retry: */
	ENVELOPE_LINE_OTHER
};

struct envelope_line {
	enum envelope_line_kind	 kind;
	char			*text;	/* the whole line, no terminator */
};

struct envelope {
	int			 format;	/* version read, 3..8 */
	enum envelope_body	 body;
	char			 from[ENVELOPE_FIELD_MAX];	/* "" for <> */
	char			**to_local;	/* nto_local mailboxes */
	size_t			 nto_local;
	char			**to_remote;	/* nto_remote addresses */
	size_t			 nto_remote;
	char			 auth[ENVELOPE_FIELD_MAX];	/* xtext */
	char			 client[ENVELOPE_FIELD_MAX];	/* IP only */
	char			*client_cert;	/* PEM or NULL for empty */
	char			 auth_in[ENVELOPE_FIELD_MAX];	/* xtext */
	char			 auth_out[ENVELOPE_FIELD_MAX];	/* xtext, <> */
	char			 forward_to[ENVELOPE_FIELD_MAX];
	char			 forward_to_address[ENVELOPE_FIELD_MAX];
	char			 selector[ENVELOPE_FIELD_MAX];
	int			 utf8;		/* Utf8MailboxNames */
	struct envelope_line	*lines;		/* free lines after End */
	size_t			 nlines;
};

/*
 * Make env an empty #2821.8 envelope (body unknown, no recipients, empty
 * fields).  Never fails, never allocates.
 */
void	 envelope_init(struct envelope *env);

/*
 * Free everything env owns and leave it as after envelope_init().  Safe on
 * an envelope that was only initialised.
 */
void	 envelope_free(struct envelope *env);

/*
 * Deep copy of src into dst (dst must be initialised; its old content is
 * freed).  Returns 0, or -1 on allocation failure (dst then empty).
 */
int	 envelope_copy(struct envelope *dst, const struct envelope *src);

/*
 * Format env as a #2821.8 envelope (SPEC 3, CRLF, fixed field order, free
 * lines after End).  On success *buf is a NUL-terminated malloc'd text that
 * the caller frees and *len its length; returns 0.  Returns -1 with errno
 * EINVAL if a field holds CR or LF (or the certificate CR), EFBIG if the
 * text would exceed ENVELOPE_MAX_SIZE, or ENOMEM.
 */
int	 envelope_write(const struct envelope *env, char **buf, size_t *len);

/*
 * Parse len bytes at buf (need not be NUL-terminated) into env, which must
 * be initialised (its old content is freed).  Accepts formats #2821.3 to
 * #2821.8, CRLF or LF-only lines, and any lines after End.  Returns 0, or
 * -1 with a one-line message in err (missing or out-of-order field, no End,
 * unknown format, too large, NUL byte) and env left empty.  Never reads
 * past buf + len; allocation is bounded by ENVELOPE_MAX_SIZE.
 */
int	 envelope_read(const char *buf, size_t len, struct envelope *env,
	    char *err, size_t errsz);

/* Name of a body type as written in the Content field ("7bit" ...). */
const char *envelope_body_name(enum envelope_body body);

/*
 * Append a recipient (To-Local if local is non-zero, else To-Remote); addr
 * is copied.  Returns 0, or -1 with errno E2BIG (BOUNDS_RCPT reached),
 * EINVAL (control characters, or too long) or ENOMEM.
 */
int	 envelope_add_rcpt(struct envelope *env, int local, const char *addr);

/*
 * Remove recipient i of the To-Local (local != 0) or To-Remote list,
 * keeping the order of the others.  Returns 0, or -1 if i is out of range.
 */
int	 envelope_remove_rcpt(struct envelope *env, int local, size_t i);

/* Remove every To-Local (local != 0) or To-Remote recipient. */
void	 envelope_clear_rcpts(struct envelope *env, int local);

/*
 * Field setters: copy value into env.  Each returns 0, or -1 with errno
 * EINVAL if value is too long or holds a control character (it is then
 * left unchanged).
 */
int	 envelope_set_from(struct envelope *env, const char *value);
int	 envelope_set_client(struct envelope *env, const char *value);
int	 envelope_set_auth_in(struct envelope *env, const char *xtext);
int	 envelope_set_auth_out(struct envelope *env, const char *xtext);
int	 envelope_set_forward_to(struct envelope *env, const char *value);
int	 envelope_set_forward_to_address(struct envelope *env,
	    const char *value);
int	 envelope_set_selector(struct envelope *env, const char *value);

/*
 * Set the Authentication field to the xtext encoding of id (a SASL id or
 * the trust keyword of a trusted client; "" for none).  Returns 0, or -1
 * with errno EINVAL if the encoding does not fit.
 */
int	 envelope_set_auth(struct envelope *env, const char *id);

/*
 * Set the ClientCertificate from PEM text (NULL or "" for none): CRs are
 * dropped and surrounding white space trimmed.  Returns 0, or -1 with errno
 * EINVAL (too large, control characters) or ENOMEM.
 */
int	 envelope_set_client_cert(struct envelope *env, const char *pem);

/*
 * Reduce len bytes of failure text at text to a single line of printable
 * ASCII in out (outsz bytes, NUL-terminated): CR, LF, TAB and other
 * controls become one space, runs of spaces collapse, bytes from 0x7f up
 * become '?', leading and trailing space go, and the result is cut at
 * ENVELOPE_REASON_MAX characters (or outsz - 1).  Returns the length.
 */
size_t	 envelope_reason_sanitize(const char *text, size_t len, char *out,
	    size_t outsz);

/*
 * Append an "X-MailRelay-Reason: <text>" line (text sanitised as above) and
 * an "X-MailRelay-ReasonCode: <code>" line (empty when code is outside
 * 1..999).  When ENVELOPE_FREE_MAX lines are reached the oldest pair is
 * dropped.  Returns 0, or -1 with errno ENOMEM or ENOSPC (no room and no
 * old pair to drop).
 */
int	 envelope_add_reason(struct envelope *env, const char *text, int code);

/*
 * The current (last) reason: copies its text into text (textsz bytes,
 * may be NULL) and sets *code (may be NULL) to the ReasonCode that follows
 * it, 0 when empty or absent.  Returns 1 if there is a reason, 0 if not.
 */
int	 envelope_reason(const struct envelope *env, char *text,
	    size_t textsz, int *code);

/* The retry count of the last X-MailRelay-Retry line, 0 if none. */
int	 envelope_retry_get(const struct envelope *env);

/*
 * Set the retry count: rewrites the last X-MailRelay-Retry line or appends
 * one.  Returns 0, or -1 with errno EINVAL (k < 0), ENOMEM or ENOSPC.
 */
int	 envelope_retry_set(struct envelope *env, int k);

/*
 * retry: (SPEC 6.4): 1 if a failed message may go back to ready, that is
 * it was retried fewer than limit times (envelope_retry_get()) and its
 * current failure (envelope_reason()) is neither permanent (ReasonCode
 * 5xx) nor "no remote recipients"; else 0.  A failed message without a
 * reason counts as temporary.
 */
int	 envelope_retry_due(const struct envelope *env, int limit);

/*
 * Set the split: lines (X-MailRelay-SplitGroupCount: <count> and
 * X-MailRelay-SplitGroup: <group>), replacing earlier ones.  Returns 0, or
 * -1 with errno EINVAL (control characters in group), ENOMEM or ENOSPC.
 */
int	 envelope_set_split(struct envelope *env, unsigned int count,
	    const char *group);

/*
 * The split: lines: *count (0 if absent) and the group id copied into
 * group (groupsz bytes, "" if absent).  Returns 1 if a SplitGroup line
 * exists, else 0.
 */
int	 envelope_split(const struct envelope *env, unsigned int *count,
	    char *group, size_t groupsz);

/*
 * Value part of a free line (after the colon and leading spaces), or the
 * whole text for ENVELOPE_LINE_OTHER.  Points into line->text.
 */
const char *envelope_line_value(const struct envelope_line *line);

#endif /* ENVELOPE_H */
