/*
 * SMTP paths and ESMTP parameters (RFC 5321 4.1.2, RFC 6531, RFC 1870,
 * RFC 6152, RFC 3030, RFC 4954).  See addr.h.
 */
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "xtext.h"

#define E_BRACKETS	"missing angle brackets in mailbox name"
#define E_PATHLEN	"path too long"
#define E_LOCALLEN	"local part too long"
#define E_DOMAINLEN	"domain too long"
#define E_LOCAL		"invalid local part"
#define E_DOMAIN	"invalid domain"
#define E_LITERAL	"invalid address literal"
#define E_ROUTE		"invalid source route"
#define E_NODOMAIN	"missing domain"
#define E_CHAR		"invalid character in mailbox name"
#define E_EMPTY		"empty mailbox name"

static size_t	 addr_utf8_len(const unsigned char *, size_t);
static int	 addr_is_atext(unsigned char);
static int	 addr_is_letdig(unsigned char);
static int	 addr_local(const char *, size_t, int, int *, const char **);
static size_t	 addr_local_span(const char *, size_t);
static int	 addr_domain(const char *, size_t, int, int *, const char **);
static int	 addr_literal(const char *, size_t, const char **);
static int	 addr_route(const char *, size_t, int, const char **);
static int	 addr_mailbox(const char *, size_t, int, struct mailaddr *,
		    const char **);
static int	 addr_keyword(const char *, size_t, const char *);
static int	 addr_param(const char *, size_t, const char *, size_t, int,
		    struct mailparams *, unsigned int *, const char **);

/*
 * Length of the well-formed UTF-8 sequence of a non-ASCII character at p,
 * or 0 if it is malformed (overlong, surrogate, above U+10FFFF,
 * truncated).
 */
static size_t
addr_utf8_len(const unsigned char *p, size_t len)
{
	unsigned char	 c = p[0];
	size_t		 n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return (0);
	if (len < n)
		return (0);
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return (0);
	if (c == 0xe0 && p[1] < 0xa0)		/* overlong */
		return (0);
	if (c == 0xed && p[1] >= 0xa0)		/* surrogates */
		return (0);
	if (c == 0xf0 && p[1] < 0x90)		/* overlong */
		return (0);
	if (c == 0xf4 && p[1] >= 0x90)		/* above U+10FFFF */
		return (0);
	return (n);
}

static int
addr_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	return (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
addr_is_letdig(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'));
}

/*
 * Length of the local part at the start of p: a quoted string through its
 * closing quote, or a dot-string up to the first character that cannot
 * be in one.
 */
static size_t
addr_local_span(const char *p, size_t len)
{
	size_t	 i;

	if (len > 0 && p[0] == '"') {
		for (i = 1; i < len; i++) {
			if (p[i] == '\\' && i + 1 < len)
				i++;
			else if (p[i] == '"')
				return (i + 1);
		}
		return (len);
	}
	for (i = 0; i < len; i++) {
		if (p[i] == '@')
			break;
	}
	return (i);
}

/* Validate a local part (Dot-string or Quoted-string). */
static int
addr_local(const char *p, size_t len, int flags, int *utf8,
    const char **errstr)
{
	const unsigned char	*u = (const unsigned char *)p;
	size_t			 i, n;
	int			 atom = 0;

	if (len == 0) {
		*errstr = E_LOCAL;
		return (-1);
	}
	if (len > BOUNDS_LOCALPART) {
		*errstr = E_LOCALLEN;
		return (-1);
	}
	if (u[0] == '"') {
		if (len < 2 || u[len - 1] != '"') {
			*errstr = E_LOCAL;
			return (-1);
		}
		for (i = 1; i < len - 1; i++) {
			if (u[i] == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (i + 1 >= len - 1 || u[i + 1] < 32 ||
				    u[i + 1] > 126) {
					*errstr = E_LOCAL;
					return (-1);
				}
				i++;
			} else if (u[i] == '"') {
				*errstr = E_LOCAL;
				return (-1);
			} else if (u[i] >= 0x80) {
				if ((flags & ADDR_F_UTF8) == 0 ||
				    (n = addr_utf8_len(u + i, len - 1 - i)) ==
				    0) {
					*errstr = E_CHAR;
					return (-1);
				}
				*utf8 = 1;
				i += n - 1;
			} else if (u[i] < 32 || u[i] > 126) {
				*errstr = E_CHAR;
				return (-1);
			}
		}
		return (0);
	}
	for (i = 0; i < len; i++) {
		if (u[i] == '.') {
			if (atom == 0 && (flags & ADDR_F_LAX) == 0) {
				*errstr = E_LOCAL;
				return (-1);
			}
			atom = 0;
		} else if (u[i] >= 0x80) {
			if ((flags & ADDR_F_UTF8) == 0 ||
			    (n = addr_utf8_len(u + i, len - i)) == 0) {
				*errstr = E_CHAR;
				return (-1);
			}
			*utf8 = 1;
			i += n - 1;
			atom = 1;
		} else if (addr_is_atext(u[i])) {
			atom = 1;
		} else {
			*errstr = (u[i] < 32 || u[i] == 127) ? E_CHAR : E_LOCAL;
			return (-1);
		}
	}
	if (atom == 0 && (flags & ADDR_F_LAX) == 0) {
		*errstr = E_LOCAL;
		return (-1);
	}
	return (0);
}

/* Validate an address literal "[...]" including the brackets. */
static int
addr_literal(const char *p, size_t len, const char **errstr)
{
	char		 buf[64];
	struct in6_addr	 in6;
	size_t		 i, digits = 0, dots = 0;
	unsigned int	 v = 0;

	if (len < 3 || p[0] != '[' || p[len - 1] != ']')
		goto bad;
	p++;
	len -= 2;
	if (len > 5 && strncasecmp(p, "IPv6:", 5) == 0) {
		if (len - 5 >= sizeof(buf))
			goto bad;
		memcpy(buf, p + 5, len - 5);
		buf[len - 5] = '\0';
		if (inet_pton(AF_INET6, buf, &in6) != 1)
			goto bad;
		return (0);
	}
	/* IPv4-address-literal = Snum 3("." Snum) */
	for (i = 0; i < len; i++) {
		if (p[i] >= '0' && p[i] <= '9') {
			if (++digits > 3)
				goto bad;
			v = v * 10 + (unsigned int)(p[i] - '0');
			if (v > 255)
				goto bad;
		} else if (p[i] == '.') {
			if (digits == 0 || ++dots > 3)
				goto bad;
			digits = 0;
			v = 0;
		} else
			goto bad;
	}
	if (dots != 3 || digits == 0)
		goto bad;
	return (0);
 bad:
	*errstr = E_LITERAL;
	return (-1);
}

/* Validate a domain: dotted labels or an address literal. */
static int
addr_domain(const char *p, size_t len, int flags, int *utf8,
    const char **errstr)
{
	const unsigned char	*u = (const unsigned char *)p;
	size_t			 i, n, label = 0;
	int			 last = 0;	/* previous octet was '-' */

	if (len == 0) {
		*errstr = E_NODOMAIN;
		return (-1);
	}
	if (len > BOUNDS_DOMAIN) {
		*errstr = E_DOMAINLEN;
		return (-1);
	}
	if (u[0] == '[')
		return (addr_literal(p, len, errstr));
	for (i = 0; i < len; i++) {
		if (u[i] == '.') {
			if (label == 0 || last)
				goto bad;
			label = 0;
			continue;
		}
		if (u[i] >= 0x80) {
			if ((flags & ADDR_F_UTF8) == 0 ||
			    (n = addr_utf8_len(u + i, len - i)) == 0) {
				*errstr = E_CHAR;
				return (-1);
			}
			*utf8 = 1;
			i += n - 1;
			label += n;
			last = 0;
		} else if (addr_is_letdig(u[i]) ||
		    (u[i] == '_' && (flags & ADDR_F_LAX) != 0)) {
			label++;
			last = 0;
		} else if (u[i] == '-') {
			if (label == 0)
				goto bad;
			label++;
			last = 1;
		} else {
			if (u[i] < 32 || u[i] == 127) {
				*errstr = E_CHAR;
				return (-1);
			}
			goto bad;
		}
		if (label > 63)
			goto bad;
	}
	if (label == 0 || last)
		goto bad;
	return (0);
 bad:
	*errstr = E_DOMAIN;
	return (-1);
}

/*
 * Validate a source route "@a,@b" (without its ':'); it is dropped.
 */
static int
addr_route(const char *p, size_t len, int flags, const char **errstr)
{
	size_t	 i, start;
	int	 utf8 = 0;

	i = 0;
	for (;;) {
		if (i >= len || p[i] != '@')
			goto bad;
		start = ++i;
		while (i < len && p[i] != ',')
			i++;
		if (addr_domain(p + start, i - start, flags, &utf8,
		    errstr) == -1)
			goto bad;
		if (i == len)
			return (0);
		i++;		/* ',' */
	}
 bad:
	*errstr = E_ROUTE;
	return (-1);
}

/* Parse "local@domain" (no brackets) into *out. */
static int
addr_mailbox(const char *p, size_t len, int flags, struct mailaddr *out,
    const char **errstr)
{
	size_t	 ll;
	int	 utf8 = 0;

	if (len == 0) {
		*errstr = E_EMPTY;
		return (-1);
	}
	ll = addr_local_span(p, len);
	if (addr_local(p, ll, flags, &utf8, errstr) == -1)
		return (-1);
	if (ll == len) {
		/* RFC 5321 4.5.1: "<Postmaster>" needs no domain */
		if ((flags & ADDR_F_LAX) == 0 && ((flags & ADDR_F_RCPT) == 0 ||
		    len != 10 || strncasecmp(p, "postmaster", 10) != 0)) {
			*errstr = E_NODOMAIN;
			return (-1);
		}
		memcpy(out->local, p, ll);
		out->local[ll] = '\0';
		out->domain[0] = '\0';
		out->utf8 = utf8;
		return (0);
	}
	if (p[ll] != '@') {
		*errstr = E_LOCAL;
		return (-1);
	}
	if (addr_domain(p + ll + 1, len - ll - 1, flags, &utf8,
	    errstr) == -1)
		return (-1);
	memcpy(out->local, p, ll);
	out->local[ll] = '\0';
	memcpy(out->domain, p + ll + 1, len - ll - 1);
	out->domain[len - ll - 1] = '\0';
	out->utf8 = utf8;
	return (0);
}

size_t
addr_path_span(const char *p, size_t len)
{
	size_t	 i;
	int	 quoted = 0;

	if (len == 0 || p[0] != '<') {
		for (i = 0; i < len && p[i] != ' '; i++)
			;
		return (i);
	}
	for (i = 1; i < len; i++) {
		if (quoted) {
			if (p[i] == '\\' && i + 1 < len)
				i++;
			else if (p[i] == '"')
				quoted = 0;
		} else if (p[i] == '"')
			quoted = 1;
		else if (p[i] == '>')
			return (i + 1);
	}
	/* no closing bracket: up to the first space */
	for (i = 0; i < len && p[i] != ' '; i++)
		;
	return (i);
}

int
addr_parse_path(const char *p, size_t len, int flags, struct mailaddr *out,
    const char **errstr)
{
	size_t	 i;
	int	 quoted = 0;

	memset(out, 0, sizeof(*out));
	if (len > BOUNDS_PATH) {
		*errstr = E_PATHLEN;
		return (-1);
	}
	if (len == 0) {
		*errstr = (flags & ADDR_F_LAX) ? E_EMPTY : E_BRACKETS;
		return (-1);
	}
	if (p[0] != '<' || p[len - 1] != '>' || len < 2) {
		if ((flags & ADDR_F_LAX) == 0 || p[0] == '<' ||
		    p[len - 1] == '>') {
			*errstr = E_BRACKETS;
			return (-1);
		}
		return (addr_mailbox(p, len, flags, out, errstr));
	}
	p++;
	len -= 2;
	if (len == 0)
		return (0);	/* "<>" */
	if (p[0] == '@') {
		/* A-d-l ":" Mailbox; the ':' is the first outside quotes */
		for (i = 0; i < len && p[i] != ':'; i++)
			if (p[i] == '"')
				quoted = 1;
		if (i == len || quoted) {
			*errstr = E_ROUTE;
			return (-1);
		}
		if (addr_route(p, i, flags, errstr) == -1)
			return (-1);
		p += i + 1;
		len -= i + 1;
	}
	return (addr_mailbox(p, len, flags, out, errstr));
}

int
addr_is_null(const struct mailaddr *a)
{
	return (a->local[0] == '\0' && a->domain[0] == '\0');
}

int
addr_format(const struct mailaddr *a, char *buf, size_t size)
{
	int	 n;

	if (a->domain[0] == '\0')
		n = snprintf(buf, size, "%s", a->local);
	else
		n = snprintf(buf, size, "%s@%s", a->local, a->domain);
	if (n < 0 || (size_t)n >= size)
		return (-1);
	return (0);
}

int
addr_xtext_valid(const char *p, size_t len)
{
	return (xtext_valid(p, len));
}

/* Case-insensitive comparison of (p, len) with the string kw. */
static int
addr_keyword(const char *p, size_t len, const char *kw)
{
	return (strlen(kw) == len && strncasecmp(p, kw, len) == 0);
}

#define SEEN_SIZE	0x01
#define SEEN_BODY	0x02
#define SEEN_UTF8	0x04
#define SEEN_AUTH	0x08

/* One parameter: keyword (k, kl) and value (v, vl; v NULL if none). */
static int
addr_param(const char *k, size_t kl, const char *v, size_t vl, int flags,
    struct mailparams *out, unsigned int *seen, const char **errstr)
{
	uint64_t	 n;
	size_t		 i;
	int		 lax = (flags & ADDR_F_LAX) != 0;

	if ((flags & ADDR_F_RCPT) != 0)
		goto unknown;
	if (addr_keyword(k, kl, "SIZE")) {
		if (*seen & SEEN_SIZE)
			goto dup;
		*seen |= SEEN_SIZE;
		if (v == NULL || vl == 0 || vl > 20)
			goto badsize;
		for (n = 0, i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				goto badsize;
			if (n > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
				goto badsize;
			n = n * 10 + (uint64_t)(v[i] - '0');
		}
		out->has_size = 1;
		out->size = n;
		return (0);
	}
	if (addr_keyword(k, kl, "BODY")) {
		if (*seen & SEEN_BODY)
			goto dup;
		*seen |= SEEN_BODY;
		if (v == NULL)
			goto badbody;
		if (addr_keyword(v, vl, "7BIT"))
			out->body = ADDR_BODY_7BIT;
		else if (addr_keyword(v, vl, "8BITMIME"))
			out->body = ADDR_BODY_8BITMIME;
		else if (addr_keyword(v, vl, "BINARYMIME")) {
			if ((flags & ADDR_F_BINARY) == 0) {
				if (lax)
					return (0);
				goto unknown;
			}
			out->body = ADDR_BODY_BINARYMIME;
		} else
			goto badbody;
		return (0);
	}
	if (addr_keyword(k, kl, "SMTPUTF8")) {
		if ((flags & ADDR_F_SMTPUTF8) == 0) {
			if (lax)
				return (0);
			goto unknown;
		}
		if (*seen & SEEN_UTF8)
			goto dup;
		*seen |= SEEN_UTF8;
		if (v != NULL) {
			*errstr = "SMTPUTF8 takes no value";
			return (ADDR_EPARAM);
		}
		out->smtputf8 = 1;
		return (0);
	}
	if (addr_keyword(k, kl, "AUTH")) {
		if (*seen & SEEN_AUTH)
			goto dup;
		*seen |= SEEN_AUTH;
		if (v == NULL || vl == 0 || vl > 500 ||
		    (!addr_keyword(v, vl, "<>") && !addr_xtext_valid(v, vl))) {
			*errstr = "invalid AUTH value";
			return (ADDR_EPARAM);
		}
		out->auth = v;
		out->authlen = vl;
		return (0);
	}
 unknown:
	if (lax)
		return (0);
	*errstr = "unsupported parameter";
	return (ADDR_EUNKNOWN);
 dup:
	*errstr = "duplicate parameter";
	return (ADDR_EPARAM);
 badsize:
	*errstr = "invalid SIZE value";
	return (ADDR_EPARAM);
 badbody:
	*errstr = "invalid BODY value";
	return (ADDR_EPARAM);
}

int
addr_parse_params(const char *p, size_t len, int flags,
    struct mailparams *out, const char **errstr)
{
	const char	*k, *v;
	size_t		 i, kl, vl;
	unsigned int	 seen = 0;
	int		 r;

	memset(out, 0, sizeof(*out));
	i = 0;
	for (;;) {
		while (i < len && p[i] == ' ')
			i++;
		if (i == len)
			return (0);
		/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
		k = p + i;
		if (!addr_is_letdig((unsigned char)p[i]))
			goto syntax;
		while (i < len && (addr_is_letdig((unsigned char)p[i]) ||
		    p[i] == '-'))
			i++;
		kl = (size_t)(p + i - k);
		v = NULL;
		vl = 0;
		if (i < len && p[i] == '=') {
			/* esmtp-value = 1*(%d33-60 / %d62-126), UTF-8 too */
			v = p + ++i;
			while (i < len && p[i] != ' ') {
				if ((unsigned char)p[i] < 33 || p[i] == '=' ||
				    p[i] == 127)
					goto syntax;
				i++;
			}
			vl = (size_t)(p + i - v);
			if (vl == 0)
				goto syntax;
		}
		if (i < len && p[i] != ' ')
			goto syntax;
		if ((r = addr_param(k, kl, v, vl, flags, out, &seen,
		    errstr)) != 0)
			return (r);
	}
 syntax:
	*errstr = "syntax error in parameters";
	return (ADDR_EPARAM);
}
