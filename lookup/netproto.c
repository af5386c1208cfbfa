/*
 * The net: filter and verifier line protocols (netproto.h).  Outcomes are
 * made by filter_result.c from the output a program would have printed,
 * so a net: built-in and a program can never differ.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "filter_result.h"
#include "netproto.h"

/* "<<" text ">>" LF, text at most FILTER_TEXT_MAX octets. */
#define NP_BRACKETED	(FILTER_TEXT_MAX + 5)

static size_t	 np_linelen(const char *, size_t);
static int	 np_field_ok(const char *);
static size_t	 np_readback(const char *, size_t, char);
static size_t	 np_bracket(char *, const char *, size_t);
static void	 np_fail(const char *, size_t, const char *, size_t,
		    struct filter_outcome *);
static int	 np_code(const char *, size_t, size_t *);

int
netproto_filter_request(char *buf, size_t bufsz, const char *path)
{
	size_t	 len, i;

	if (path == NULL || (len = strlen(path)) == 0) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
			errno = EINVAL;
			return (-1);
		}
	}
	if (len > NETPROTO_LINE_MAX || bufsz < len + 2) {
		errno = EMSGSIZE;
		return (-1);
	}
	memcpy(buf, path, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	return ((int)len + 1);
}

void
netproto_filter_response(const char *line, size_t len,
    struct filter_outcome *o)
{
	const char	*tab, *p;
	size_t		 rlen, n;

	len = np_linelen(line, len);
	if (len > NETPROTO_LINE_MAX) {
		netproto_filter_fail(NETPROTO_FILTER_ERROR,
		    "net filter: response line too long", 0, o);
		return;
	}
	tab = len > 0 ? memchr(line, '\t', len) : NULL;
	rlen = tab != NULL ? (size_t)(tab - line) : len;

	/* "ok" with blanks around it passes. */
	p = line;
	n = rlen;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 2 && strncasecmp(p, "ok", 2) == 0) {
		filter_result_server(0, 0, NULL, 0, o);
		return;
	}
	if (tab != NULL)
		np_fail(line, rlen, tab + 1, len - rlen - 1, o);
	else
		np_fail(line, rlen, NULL, 0, o);
}

void
netproto_filter_fail(const char *response, const char *reason,
    int timed_out, struct filter_outcome *o)
{
	if (timed_out) {
		filter_result_server(0, 1, NULL, 0, o);
		return;
	}
	if (response == NULL)
		response = NETPROTO_FILTER_ERROR;
	if (reason == NULL)
		reason = "";
	np_fail(response, strcspn(response, "\r\n"), reason,
	    strcspn(reason, "\r\n"), o);
}

int
netproto_verify_request(char *buf, size_t bufsz,
    const struct netproto_verify_req *r)
{
	const char	*f[6];
	size_t		 i, len, n = 0;

	f[0] = r->to;
	f[1] = r->from;
	f[2] = r->ip;
	f[3] = r->domain;
	f[4] = r->mechanism;
	f[5] = r->name;
	for (i = 0; i < 6; i++) {
		if (f[i] == NULL)
			f[i] = "";
		if (!np_field_ok(f[i])) {
			errno = EINVAL;
			return (-1);
		}
	}
	for (i = 0; i < 6; i++) {
		len = strlen(f[i]);
		/* This field, a '|' or the LF, and the NUL must fit. */
		if (n + len + 1 > NETPROTO_LINE_MAX + 1 ||
		    n + len + 2 > bufsz) {
			errno = EMSGSIZE;
			return (-1);
		}
		memcpy(buf + n, f[i], len);
		n += len;
		buf[n++] = i < 5 ? '|' : '\n';
	}
	buf[n] = '\0';
	return ((int)n);
}

void
netproto_verify_response(const char *line, size_t len,
    struct verify_outcome *o)
{
	char		 out[NETPROTO_LINE_MAX + 2];
	const char	*rest, *bar;
	size_t		 restlen, mlen, n;
	int		 code;

	len = np_linelen(line, len);
	if (len > NETPROTO_LINE_MAX) {
		netproto_verify_fail("net verifier: response line too long",
		    0, o);
		return;
	}
	if ((code = np_code(line, len, &n)) == -1) {
		netproto_verify_fail("net verifier: invalid response", 0, o);
		return;
	}
	rest = n < len ? line + n + 1 : line + len;
	restlen = n < len ? len - n - 1 : 0;

	/* The output a program would print: line 1, LF, line 2. */
	switch (code) {
	case 0:
		bar = restlen > 0 ? memchr(rest, '|', restlen) : NULL;
		mlen = bar != NULL ? (size_t)(bar - rest) : restlen;
		n = restlen - mlen - (bar != NULL);
		if (n > 0)
			memcpy(out, bar + 1, n);
		out[n++] = '\n';
		if (mlen > 0)
			memcpy(out + n, rest, mlen);
		n += mlen;
		break;
	case 1:
		out[0] = '\n';
		if (restlen > 0)
			memcpy(out + 1, rest, restlen);
		n = restlen + 1;
		break;
	default:
		if (restlen > 0)
			memcpy(out, rest, restlen);
		n = restlen;
		break;
	}
	verifier_result(code, 0, out, n, o);
}

void
netproto_verify_fail(const char *text, int timed_out,
    struct verify_outcome *o)
{
	if (text == NULL)
		text = "";
	verifier_result(3, timed_out, text, strcspn(text, "\r\n"), o);
}

/* The length of a line up to its first LF, without a CR before it. */
static size_t
np_linelen(const char *line, size_t len)
{
	const char	*nl;

	if (line == NULL)
		return (0);
	if ((nl = memchr(line, '\n', len)) != NULL)
		len = (size_t)(nl - line);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return (len);
}

/* A verifier request field: no '|' and no control character. */
static int
np_field_ok(const char *s)
{
	unsigned char	 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '|' || c < 0x20 || c == 0x7f)
			return (0);
	}
	return (1);
}

/*
 * How much of len octets at text reads back from "<<text>>" (c is '>')
 * or "[[text]]" (c is ']'): the text up to the first closing pair.
 */
static size_t
np_readback(const char *text, size_t len, char c)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (text[i] == c && (i + 1 == len || text[i + 1] == c))
			return (i);
	return (len);
}

/*
 * Write a line "<<text>>\n", or "[[text]]\n" when only that reads back
 * whole, at out (room for NP_BRACKETED octets); text is len octets with
 * no LF, cut at FILTER_TEXT_MAX and, when neither form reads back whole,
 * where "<<text>>" stops being read.  Returns the octets written.
 */
static size_t
np_bracket(char *out, const char *text, size_t len)
{
	char	 open = '<', close = '>';
	size_t	 n;

	if (len > FILTER_TEXT_MAX)
		len = FILTER_TEXT_MAX;
	if ((n = np_readback(text, len, '>')) < len &&
	    np_readback(text, len, ']') == len) {
		open = '[';
		close = ']';
		n = len;
	}
	out[0] = out[1] = open;
	if (n > 0)
		memcpy(out + 2, text, n);
	out[n + 2] = out[n + 3] = close;
	out[n + 4] = '\n';
	return (n + 5);
}

/*
 * Fail as a program printing the response and the reason as bracketed
 * lines and exiting 1.
 */
static void
np_fail(const char *resp, size_t resplen, const char *reason,
    size_t reasonlen, struct filter_outcome *o)
{
	char	 out[2 * NP_BRACKETED];
	size_t	 n;

	n = np_bracket(out, resp, resplen);
	if (reason != NULL && reasonlen > 0)
		n += np_bracket(out + n, reason, reasonlen);
	filter_result_server(1, 0, out, n, o);
}

/*
 * The leading code of a verifier response: one to three digits followed
 * by '|' or the end; *end gets the offset after the digits.  Returns
 * the code, or -1.
 */
static int
np_code(const char *line, size_t len, size_t *end)
{
	size_t	 i;
	int	 code = 0;

	for (i = 0; i < len && i < 4; i++) {
		if (line[i] < '0' || line[i] > '9')
			break;
		code = code * 10 + (line[i] - '0');
	}
	if (i == 0 || i > 3 || (i < len && line[i] != '|'))
		return (-1);
	*end = i;
	return (code);
}
