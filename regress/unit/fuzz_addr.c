/*
 * libFuzzer target for common/addr.c.  The first byte selects the flags,
 * the rest is a MAIL/RCPT argument after "FROM:"/"TO:": the path is cut
 * with addr_path_span() and parsed, the remainder parsed as parameters.
 * Results must respect the bounds of struct mailaddr and the contract of
 * the error codes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailaddr		 a;
	struct mailparams	 mp;
	const char		*p, *err;
	char			 buf[BOUNDS_PATH + 8];
	size_t			 len, span;
	int			 flags, r;

	if (size < 1)
		return (0);
	flags = data[0] & (ADDR_F_UTF8 | ADDR_F_LAX | ADDR_F_RCPT |
	    ADDR_F_BINARY | ADDR_F_SMTPUTF8);
	p = (const char *)data + 1;
	len = size - 1;

	span = addr_path_span(p, len);
	if (span > len)
		abort();
	err = NULL;
	r = addr_parse_path(p, span, flags, &a, &err);
	if (r == 0) {
		if (strlen(a.local) > BOUNDS_LOCALPART ||
		    strlen(a.domain) > BOUNDS_DOMAIN)
			abort();
		if (addr_format(&a, buf, sizeof(buf)) != 0)
			abort();
		if (strlen(buf) > BOUNDS_PATH || memchr(buf, '\r', strlen(buf))
		    != NULL || memchr(buf, '\n', strlen(buf)) != NULL)
			abort();
		if (a.utf8 && (flags & ADDR_F_UTF8) == 0)
			abort();
		if ((flags & ADDR_F_LAX) == 0 && !addr_is_null(&a) &&
		    a.domain[0] == '\0' && (flags & ADDR_F_RCPT) == 0)
			abort();
	} else if (r != -1 || err == NULL)
		abort();

	err = NULL;
	r = addr_parse_params(p + span, len - span, flags, &mp, &err);
	if (r == 0) {
		if (mp.auth != NULL && (mp.auth < p + span ||
		    mp.auth + mp.authlen > p + len))
			abort();
		if (mp.body < ADDR_BODY_NONE || mp.body > ADDR_BODY_BINARYMIME)
			abort();
		if (mp.body == ADDR_BODY_BINARYMIME &&
		    (flags & ADDR_F_BINARY) == 0)
			abort();
		if (mp.smtputf8 && (flags & ADDR_F_SMTPUTF8) == 0)
			abort();
	} else if ((r != ADDR_EPARAM && r != ADDR_EUNKNOWN) || err == NULL)
		abort();
	if (r == ADDR_EUNKNOWN && (flags & ADDR_F_LAX) != 0)
		abort();

	(void)addr_xtext_valid(p, len);
	return (0);
}
