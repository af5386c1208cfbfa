/*
 * Mail addresses: SMTP paths and the ESMTP parameters after them
 * (RFC 5321 4.1.2, RFC 6531 SMTPUTF8, RFC 1870 SIZE, RFC 6152 8BITMIME,
 * RFC 3030 BINARYMIME, RFC 4954 AUTH=).  Pure functions: no allocation,
 * no global state, input as (pointer, length).
 */
#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

/*
 * A parsed path.  The local part is kept as given (a quoted local part
 * keeps its quotes); the domain is empty for the null path "<>" and for
 * a domainless "<Postmaster>".  A source route is accepted and dropped.
 */
struct mailaddr {
	char	 local[BOUNDS_LOCALPART + 1];
	char	 domain[BOUNDS_DOMAIN + 1];
	int	 utf8;		/* holds non-ASCII (UTF-8) octets */
};

/* Flags for addr_parse_path() and addr_parse_params(). */
#define ADDR_F_UTF8	0x01	/* SMTPUTF8 in effect: UTF-8 allowed */
#define ADDR_F_LAX	0x02	/* nostrictparsing */
#define ADDR_F_RCPT	0x04	/* forward path / RCPT parameters */
#define ADDR_F_BINARY	0x08	/* params: BODY=BINARYMIME advertised */
#define ADDR_F_SMTPUTF8	0x10	/* params: SMTPUTF8 advertised */

/* BODY= values. */
#define ADDR_BODY_NONE		0
#define ADDR_BODY_7BIT		1
#define ADDR_BODY_8BITMIME	2
#define ADDR_BODY_BINARYMIME	3

/* addr_parse_params() results. */
#define ADDR_EPARAM	-1	/* bad syntax or value: 501 */
#define ADDR_EUNKNOWN	-2	/* unknown or unadvertised parameter: 555 */

/*
 * ESMTP parameters of MAIL (RCPT has none we know).  auth points into the
 * caller's input (authlen octets, still xtext-encoded), or is NULL.
 */
struct mailparams {
	int		 body;		/* ADDR_BODY_* */
	int		 smtputf8;
	int		 has_size;
	uint64_t	 size;
	const char	*auth;
	size_t		 authlen;
};

/*
 * Length of the path at the start of p (len bytes): through the closing
 * '>' (outside a quoted local part) when p starts with '<', otherwise up
 * to the first space or the end.  The rest are parameters.
 */
size_t	 addr_path_span(const char *p, size_t len);

/*
 * Parse an SMTP path ("<a@b.example>" or "<>") from len bytes at p (need
 * not be NUL-terminated) into *out. flags: ADDR_F_UTF8 allows UTF-8,
 * ADDR_F_LAX accepts what E-MailRelay's nostrictparsing accepts (no angle
 * brackets, no domain, empty dot-atoms, '_' in domains), ADDR_F_RCPT
 * accepts "<Postmaster>" without a domain.  Returns 0, or -1 with *errstr
 * set to static text usable after "553 mailbox name not allowed: ".
 * Never allocates.
 */
int	 addr_parse_path(const char *p, size_t len, int flags,
	    struct mailaddr *out, const char **errstr);

/* True for the null path "<>". */
int	 addr_is_null(const struct mailaddr *a);

/*
 * Write "local@domain" (or "local" without a domain, "" for "<>") into
 * buf.  Returns 0, or -1 if it does not fit.
 */
int	 addr_format(const struct mailaddr *a, char *buf, size_t size);

/*
 * Parse the ESMTP parameters after a MAIL or RCPT path: len bytes at p,
 * space separated, keywords case-insensitive.  With ADDR_F_RCPT none is
 * known.  BODY=BINARYMIME needs ADDR_F_BINARY and SMTPUTF8 needs
 * ADDR_F_SMTPUTF8, otherwise they count as unknown.  Unknown parameters
 * give ADDR_EUNKNOWN (RFC 5321 4.1.1.11: 555), or are ignored with
 * ADDR_F_LAX; a bad value or a repeated parameter gives ADDR_EPARAM (501).
 * Returns 0 or one of those with *errstr set to static text.
 */
int	 addr_parse_params(const char *p, size_t len, int flags,
	    struct mailparams *out, const char **errstr);

/*
 * Validate an xtext string (RFC 3461: printable ASCII except '+' and '=',
 * and "+XX" with upper-case hex).  Returns 1 if valid.
 */
int	 addr_xtext_valid(const char *p, size_t len);

#endif /* ADDR_H */
