/*
 * libFuzzer target for lookup/netproto.c, the net: filter and verifier
 * line protocols.  The input is a response line for both parsers, and
 * is also cut at NUL bytes into the six fields of a verifier request
 * and into a filter request path.  Checked with abort(): every kept text
 * is NUL-terminated, bounded and printable ASCII (a mailbox may keep
 * 8-bit bytes but no control character), results and codes agree, "ok"
 * is the only pass, and a request that is made has exactly the fields
 * given, five '|' and one LF at its end.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter_result.h"
#include "lookup/netproto.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 fz_text(const char *, size_t, int);
static void	 fz_filter(const char *, size_t);
static int	 fz_code(const char *, size_t);
static void	 fz_verify(const char *, size_t);
static void	 fz_requests(const char *, size_t);

static void
fz_text(const char *s, size_t sz, int eightbit)
{
	size_t		 n;
	unsigned char	 c;

	if ((n = strnlen(s, sz)) == sz || n > FILTER_TEXT_MAX)
		abort();
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || (c > 0x7f && !eightbit))
			abort();
	}
}

static void
fz_filter(const char *line, size_t len)
{
	struct filter_outcome	 o;

	netproto_filter_response(line, len, &o);
	fz_text(o.response, sizeof(o.response), 0);
	fz_text(o.reason, sizeof(o.reason), 0);
	fz_text(o.reply, sizeof(o.reply), 0);
	if (o.rescan || o.endpass || o.timed_out)
		abort();
	if (o.action == FILTER_PASS) {
		/* Only "ok" with blanks around it, within the first line. */
		const char	*p = line, *e;
		size_t		 n;

		if (len > NETPROTO_LINE_MAX + 2 || o.code != 0 ||
		    o.reply[0] != '\0')
			abort();
		e = memchr(line, '\n', len);
		n = e != NULL ? (size_t)(e - line) : len;
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		if (n < 2 || (p[0] != 'o' && p[0] != 'O') ||
		    (p[1] != 'k' && p[1] != 'K'))
			abort();
		for (p += 2, n -= 2; n > 0 && *p != '\t'; p++, n--)
			if (*p != ' ' && !(*p == '\r' && n == 1))
				abort();
	} else if (o.action == FILTER_FAIL) {
		if (o.response[0] == '\0' || o.reason[0] == '\0' ||
		    strlen(o.reply) < 4 || o.reply[3] != ' ')
			abort();
		if (o.code != 0 && (o.code < 400 || o.code > 599 ||
		    strcmp(o.reply, o.response) != 0))
			abort();
		if (o.code == 0 && strncmp(o.reply, "452 ", 4) != 0)
			abort();
	} else
		abort();
}

/* The leading code of a response line (1-3 digits, then '|' or end). */
static int
fz_code(const char *line, size_t len)
{
	const char	*e;
	size_t		 i;
	int		 code = 0;

	if ((e = memchr(line, '\n', len)) != NULL)
		len = (size_t)(e - line);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > NETPROTO_LINE_MAX)
		return (-1);
	for (i = 0; i < len && line[i] >= '0' && line[i] <= '9'; i++)
		code = code * 10 + (line[i] - '0');
	if (i == 0 || i > 3 || (i < len && line[i] != '|'))
		return (-1);
	return (code);
}

static void
fz_verify(const char *line, size_t len)
{
	struct verify_outcome	 o;
	int			 code;

	netproto_verify_response(line, len, &o);
	fz_text(o.fullname, sizeof(o.fullname), 0);
	fz_text(o.mailbox, sizeof(o.mailbox), 1);
	fz_text(o.text, sizeof(o.text), 0);
	code = fz_code(line, len);
	switch (o.result) {
	case VERIFY_LOCAL:
	case VERIFY_REMOTE:
		if (o.code != 250 || o.mailbox[0] == '\0' ||
		    code != o.result)
			abort();
		break;
	case VERIFY_INVALID:
		if (o.code != 550 || o.text[0] == '\0' || code == -1 ||
		    code == 3 || code == 100)
			abort();
		break;
	case VERIFY_TEMP:
		if (o.code != 450 || o.text[0] == '\0' ||
		    (code != 3 && code != -1))
			abort();
		break;
	case VERIFY_ABORT:
		if (o.code != 0 || code != 100)
			abort();
		break;
	default:
		abort();
	}
}

static void
fz_requests(const char *data, size_t len)
{
	struct netproto_verify_req	 r;
	const char			*f[6];
	char				*copy, *buf, *p;
	size_t				 i, n, bars;
	int				 rv;

	/* Up to six NUL-terminated fields from the input. */
	if ((copy = malloc(len + 1)) == NULL ||
	    (buf = malloc(NETPROTO_LINE_MAX + 2)) == NULL)
		abort();
	memcpy(copy, data, len);
	copy[len] = '\0';
	for (i = 0, p = copy; i < 6; i++) {
		f[i] = p;
		p += strlen(p);
		if (p < copy + len)
			p++;
	}
	r.to = f[0];
	r.from = f[1];
	r.ip = f[2];
	r.domain = f[3];
	r.mechanism = f[4];
	r.name = f[5];
	rv = netproto_verify_request(buf, NETPROTO_LINE_MAX + 2, &r);
	if (rv != -1) {
		if (rv < 6 || rv > NETPROTO_LINE_MAX + 1 ||
		    buf[rv - 1] != '\n' || buf[rv] != '\0')
			abort();
		for (i = 0, n = 0, bars = 0; i < (size_t)rv - 1; i++) {
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				abort();
			if (buf[i] == '|')
				bars++;
		}
		if (bars != 5)
			abort();
		for (i = 0, p = buf; i < 6; i++) {
			n = strlen(f[i]);
			if (strncmp(p, f[i], n) != 0 ||
			    p[n] != (i < 5 ? '|' : '\n'))
				abort();
			p += n + 1;
		}
	}
	rv = netproto_filter_request(buf, NETPROTO_LINE_MAX + 2, copy);
	if (rv != -1 && ((size_t)rv != strlen(copy) + 1 ||
	    buf[rv - 1] != '\n' || strchr(copy, '\r') != NULL))
		abort();
	free(copy);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*line = (const char *)data;

	fz_filter(line, size);
	fz_verify(line, size);
	fz_requests(line, size);
	return (0);
}
