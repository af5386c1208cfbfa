/*
 * spamd client protocol: request header and response push parser
 * (spamd.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "filter_result.h"
#include "netproto.h"
#include "spamd.h"

#define SPAMD_INT_DIGITS	10	/* integral digits of a score */
#define SPAMD_FRAC_DIGITS	4	/* fraction digits of a score */

static int	 sp_error(struct spamd_parser *, const char *);
static int	 sp_line(struct spamd_parser *, const char *, size_t);
static int	 sp_status(struct spamd_parser *, const char *, size_t);
static int	 sp_header(struct spamd_parser *, const char *, size_t);
static int	 sp_length(struct spamd_parser *, const char *, size_t);
static int	 sp_verdict(struct spamd_parser *, const char *, size_t);
static size_t	 sp_number(const char *, size_t, double *, char *, size_t);
static size_t	 sp_blanks(const char *, size_t);
static int	 sp_body(struct spamd_parser *, const char *, size_t,
		    size_t *);

int
spamd_request(char *buf, size_t bufsz, uint64_t content_len,
    const char *user)
{
	const char	*s;
	int		 n;

	if (user == NULL)
		user = "";
	if (strlen(user) > SPAMD_USER_MAX) {
		errno = EINVAL;
		return (-1);
	}
	for (s = user; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
			errno = EINVAL;
			return (-1);
		}
	}
	n = snprintf(buf, bufsz, "PROCESS SPAMC/1.4\r\n"
	    "Content-length: %" PRIu64 "\r\n%s%s%s\r\n", content_len,
	    *user != '\0' ? "User: " : "", user, *user != '\0' ? "\r\n" : "");
	if (n < 0 || (size_t)n >= bufsz) {
		errno = EMSGSIZE;
		return (-1);
	}
	return (n);
}

void
spamd_init(struct spamd_parser *p,
    int (*body)(void *arg, const char *data, size_t len), void *arg)
{
	memset(p, 0, sizeof(*p));
	p->state = SPAMD_ST_STATUS;
	p->body = body;
	p->arg = arg;
	p->code = -1;
}

int
spamd_parse(struct spamd_parser *p, const char *data, size_t len)
{
	const char	*nl;
	size_t		 i = 0, take;

	if (p->state == SPAMD_ST_ERROR)
		return (SPAMD_ERROR);
	while (i < len) {
		switch (p->state) {
		case SPAMD_ST_STATUS:
		case SPAMD_ST_HEADER:
			nl = memchr(data + i, '\n', len - i);
			take = nl != NULL ? (size_t)(nl - (data + i)) + 1 :
			    len - i;
			if (take > SPAMD_LINE_MAX - p->linelen)
				return (sp_error(p, p->state ==
				    SPAMD_ST_STATUS ? "status line too long" :
				    "header line too long"));
			memcpy(p->line + p->linelen, data + i, take);
			p->linelen += take;
			i += take;
			if (nl == NULL)
				break;
			if (sp_line(p, p->line, p->linelen - 1) == -1)
				return (SPAMD_ERROR);
			p->linelen = 0;
			break;
		case SPAMD_ST_BODY:
			if (sp_body(p, data + i, len - i, &take) == -1)
				return (SPAMD_ERROR);
			i += take;
			break;
		case SPAMD_ST_DONE:
			return (sp_error(p, "data after the response"));
		default:
			return (SPAMD_ERROR);
		}
	}
	return (p->state == SPAMD_ST_DONE ? SPAMD_DONE : SPAMD_MORE);
}

int
spamd_eof(struct spamd_parser *p)
{
	switch (p->state) {
	case SPAMD_ST_DONE:
		return (SPAMD_DONE);
	case SPAMD_ST_ERROR:
		return (SPAMD_ERROR);
	case SPAMD_ST_BODY:
		return (sp_error(p, "response body shorter than "
		    "Content-length"));
	default:
		return (sp_error(p, "connection closed early"));
	}
}

void
spamd_outcome(const struct spamd_parser *p, int edit,
    struct filter_outcome *o)
{
	/* Room for the longest reason: never cut. */
	char	 reason[128 + SPAMD_MESSAGE_MAX];

	switch (p->state) {
	case SPAMD_ST_DONE:
		if (edit && p->length == 0) {
			spamd_fail("spamd: empty response body", 0, o);
			return;
		}
		if (edit || (p->have_verdict && !p->spam)) {
			filter_result_server(0, 0, NULL, 0, o);
			return;
		}
		if (!p->have_verdict) {
			spamd_fail("spamd: no Spam header in the response", 0,
			    o);
			return;
		}
		(void)snprintf(reason, sizeof(reason),
		    "spam detected (score %s/%s)", p->score_text,
		    p->threshold_text);
		netproto_filter_fail(SPAMD_SPAM_RESPONSE, reason, 0, o);
		return;
	case SPAMD_ST_ERROR:
		if (p->code > 0)
			(void)snprintf(reason, sizeof(reason),
			    "spamd: error %d%s%s", p->code,
			    p->message[0] != '\0' ? ": " : "", p->message);
		else
			(void)snprintf(reason, sizeof(reason), "spamd: %s",
			    p->errstr != NULL ? p->errstr : "error");
		spamd_fail(reason, 0, o);
		return;
	default:
		spamd_fail("spamd: incomplete response", 0, o);
		return;
	}
}

void
spamd_fail(const char *reason, int timed_out, struct filter_outcome *o)
{
	netproto_filter_fail(SPAMD_ERROR_RESPONSE, reason, timed_out, o);
}

static int
sp_error(struct spamd_parser *p, const char *errstr)
{
	p->state = SPAMD_ST_ERROR;
	p->errstr = errstr;
	return (SPAMD_ERROR);
}

/*
 * Pass body octets from data (len available) on; *used gets how many
 * were taken.
 */
static int
sp_body(struct spamd_parser *p, const char *data, size_t len, size_t *used)
{
	uint64_t	 left = p->length - p->received;
	size_t		 n;

	n = left < len ? (size_t)left : len;
	*used = n;
	if (n > 0 && p->body != NULL && p->body(p->arg, data, n) == -1) {
		sp_error(p, "cannot store the rewritten message");
		return (-1);
	}
	p->received += n;
	if (p->received == p->length)
		p->state = SPAMD_ST_DONE;
	if (n < len) {
		sp_error(p, "data after the response");
		return (-1);
	}
	return (0);
}

/* One line of len octets without its LF (the CR is still there). */
static int
sp_line(struct spamd_parser *p, const char *line, size_t len)
{
	size_t	 i;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		if (line[i] == '\t')
			continue;
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return (sp_error(p, p->state == SPAMD_ST_STATUS ?
			    "control character in the status line" :
			    "control character in a header line"));
	}
	if (p->state == SPAMD_ST_STATUS)
		return (sp_status(p, line, len));
	if (len > 0)
		return (sp_header(p, line, len));

	/* The empty line: the body follows. */
	if (!p->have_length)
		return (sp_error(p, "no Content-length header"));
	p->state = p->length == 0 ? SPAMD_ST_DONE : SPAMD_ST_BODY;
	return (0);
}

/* "SPAMD/1.1 0 EX_OK": version, code, optional text. */
static int
sp_status(struct spamd_parser *p, const char *line, size_t len)
{
	size_t	 i = 6, d, k;
	int	 code = 0, part;

	if (len < 6 || memcmp(line, "SPAMD/", 6) != 0)
		return (sp_error(p, "malformed status line"));
	for (part = 0; part < 2; part++) {
		for (d = 0; i < len && line[i] >= '0' && line[i] <= '9'; d++)
			i++;
		if (d == 0 || d > 3)
			return (sp_error(p, "malformed status line"));
		if (part == 0) {
			if (i == len || line[i] != '.')
				return (sp_error(p, "malformed status line"));
			i++;
		}
	}
	if (i == len || line[i] != ' ')
		return (sp_error(p, "malformed status line"));
	i += sp_blanks(line + i, len - i);
	for (d = 0; i < len && line[i] >= '0' && line[i] <= '9'; d++) {
		code = code * 10 + (line[i] - '0');
		i++;
		if (d == 3)
			return (sp_error(p, "malformed status line"));
	}
	if (d == 0 || (i < len && line[i] != ' ' && line[i] != '\t'))
		return (sp_error(p, "malformed status line"));
	i += sp_blanks(line + i, len - i);
	while (len > i && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	for (k = 0; i < len; i++) {
		if ((unsigned char)line[i] >= 0x7f)
			return (sp_error(p, "malformed status line"));
		if (k < SPAMD_MESSAGE_MAX)
			p->message[k++] = line[i] == '\t' ? ' ' : line[i];
	}
	p->message[k] = '\0';
	p->code = code;
	if (code != 0)
		return (sp_error(p, "spamd reported an error"));
	p->state = SPAMD_ST_HEADER;
	return (0);
}

/* "Name: value"; Content-length and Spam are read, others skipped. */
static int
sp_header(struct spamd_parser *p, const char *line, size_t len)
{
	const char	*colon, *v;
	size_t		 nlen, i, vlen;

	if (++p->nheaders > SPAMD_HEADERS_MAX)
		return (sp_error(p, "too many header lines"));
	if ((colon = memchr(line, ':', len)) == NULL || colon == line)
		return (sp_error(p, "malformed header line"));
	nlen = (size_t)(colon - line);
	for (i = 0; i < nlen; i++)
		if ((unsigned char)line[i] <= 0x20 ||
		    (unsigned char)line[i] >= 0x7f)
			return (sp_error(p, "malformed header line"));
	v = colon + 1;
	vlen = len - nlen - 1;
	i = sp_blanks(v, vlen);
	v += i;
	vlen -= i;
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (nlen == 14 && strncasecmp(line, "Content-length", 14) == 0)
		return (sp_length(p, v, vlen));
	if (nlen == 4 && strncasecmp(line, "Spam", 4) == 0)
		return (sp_verdict(p, v, vlen));
	return (0);
}

static int
sp_length(struct spamd_parser *p, const char *v, size_t len)
{
	uint64_t	 n = 0;
	size_t		 i;

	if (p->have_length)
		return (sp_error(p, "more than one Content-length header"));
	/* 18 digits cannot overflow. */
	if (len == 0 || len > 18)
		return (sp_error(p, "invalid Content-length"));
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return (sp_error(p, "invalid Content-length"));
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	p->have_length = 1;
	p->length = n;
	return (0);
}

/* "True ; 1000.0 / 5.0" (also Yes, False, No; any case). */
static int
sp_verdict(struct spamd_parser *p, const char *v, size_t len)
{
	size_t	 i, n;

	if (p->have_verdict)
		return (sp_error(p, "more than one Spam header"));
	for (n = 0; n < len && ((v[n] >= 'a' && v[n] <= 'z') ||
	    (v[n] >= 'A' && v[n] <= 'Z')); n++)
		;
	if ((n == 4 && strncasecmp(v, "true", 4) == 0) ||
	    (n == 3 && strncasecmp(v, "yes", 3) == 0))
		p->spam = 1;
	else if ((n == 5 && strncasecmp(v, "false", 5) == 0) ||
	    (n == 2 && strncasecmp(v, "no", 2) == 0))
		p->spam = 0;
	else
		return (sp_error(p, "invalid Spam header"));
	i = n + sp_blanks(v + n, len - n);
	if (i == len || v[i] != ';')
		return (sp_error(p, "invalid Spam header"));
	i++;
	i += sp_blanks(v + i, len - i);
	if ((n = sp_number(v + i, len - i, &p->score, p->score_text,
	    sizeof(p->score_text))) == 0)
		return (sp_error(p, "invalid Spam header"));
	i += n;
	i += sp_blanks(v + i, len - i);
	if (i == len || v[i] != '/')
		return (sp_error(p, "invalid Spam header"));
	i++;
	i += sp_blanks(v + i, len - i);
	if ((n = sp_number(v + i, len - i, &p->threshold, p->threshold_text,
	    sizeof(p->threshold_text))) == 0 || i + n != len)
		return (sp_error(p, "invalid Spam header"));
	p->have_verdict = 1;
	return (0);
}

/*
 * A score at s (len available): an optional '-', one to
 * SPAMD_INT_DIGITS digits, optionally '.' and one to SPAMD_FRAC_DIGITS
 * digits.  Sets *val and text (NUL-terminated, textsz > the longest
 * such number).  Returns the octets taken, or 0 if none is there.
 */
static size_t
sp_number(const char *s, size_t len, double *val, char *text,
    size_t textsz)
{
	size_t	 i = 0, d;
	double	 v = 0.0, scale = 1.0;
	int	 neg = 0;

	if (i < len && s[i] == '-') {
		neg = 1;
		i++;
	}
	for (d = 0; i < len && s[i] >= '0' && s[i] <= '9'; d++, i++)
		v = v * 10.0 + (s[i] - '0');
	if (d == 0 || d > SPAMD_INT_DIGITS)
		return (0);
	if (i < len && s[i] == '.') {
		i++;
		for (d = 0; i < len && s[i] >= '0' && s[i] <= '9'; d++, i++) {
			scale /= 10.0;
			v += (s[i] - '0') * scale;
		}
		if (d == 0 || d > SPAMD_FRAC_DIGITS)
			return (0);
	}
	if (i >= textsz)
		return (0);
	memcpy(text, s, i);
	text[i] = '\0';
	*val = neg ? -v : v;
	return (i);
}

static size_t
sp_blanks(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	return (i);
}
