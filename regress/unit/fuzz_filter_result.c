/*
 * libFuzzer target for common/filter_result.c.  The first byte is the
 * exit code (255 stands for -1, a program that did not exit), the
 * second's low bit the timeout flag; the rest is the program's stdout.
 * Each input goes through the server, client and verifier parsers, and
 * the invariants are checked with abort(): every text NUL-terminated,
 * at most FILTER_TEXT_MAX long, printable ASCII (the verifier's
 * mailbox may keep 8-bit bytes but no control characters), and the
 * actions and codes within their ranges.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter_result.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 fz_text(const char *, size_t, int);
static void	 fz_filter(const struct filter_outcome *, int, int);

/* A NUL within sz, at most FILTER_TEXT_MAX before it, allowed bytes. */
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
fz_filter(const struct filter_outcome *o, int server, int timed_out)
{
	fz_text(o->response, sizeof(o->response), 0);
	fz_text(o->reason, sizeof(o->reason), 0);
	fz_text(o->reply, sizeof(o->reply), 0);
	if (o->action != FILTER_PASS && o->action != FILTER_ABANDON &&
	    o->action != FILTER_FAIL)
		abort();
	if (o->timed_out != timed_out || (timed_out &&
	    strcmp(o->reply, "452 error") != 0))
		abort();
	if ((!server && o->rescan) || (server && o->endpass))
		abort();
	if (o->action == FILTER_FAIL) {
		if (o->response[0] == '\0' || o->reason[0] == '\0' ||
		    strlen(o->reply) < 4 || o->reply[3] != ' ')
			abort();
		if (o->code != 0 && (o->code < 400 || o->code > 599 ||
		    strncmp(o->reply, o->response, 4) != 0))
			abort();
		if (o->code == 0 && strncmp(o->reply, "452 ", 4) != 0)
			abort();
	} else if (o->response[0] != '\0' || o->reply[0] != '\0' ||
	    o->code != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct filter_outcome	 o;
	struct verify_outcome	 v;
	const char		*out;
	size_t			 len;
	int			 ex, to;

	if (size < 2)
		return (0);
	ex = data[0] == 255 ? -1 : data[0];
	to = data[1] & 1;
	out = (const char *)data + 2;
	len = size - 2;

	filter_result_server(ex, to, out, len, &o);
	fz_filter(&o, 1, to);
	filter_result_client(ex, to, out, len, &o);
	fz_filter(&o, 0, to);

	verifier_result(ex, to, out, len, &v);
	fz_text(v.fullname, sizeof(v.fullname), 0);
	fz_text(v.mailbox, sizeof(v.mailbox), 1);
	fz_text(v.text, sizeof(v.text), 0);
	switch (v.result) {
	case VERIFY_LOCAL:
	case VERIFY_REMOTE:
		if (v.code != 250 || v.mailbox[0] == '\0' || to)
			abort();
		break;
	case VERIFY_INVALID:
		if (v.code != 550 || v.text[0] == '\0')
			abort();
		break;
	case VERIFY_TEMP:
		if (v.code != 450 || v.text[0] == '\0')
			abort();
		break;
	case VERIFY_ABORT:
		if (v.code != 0 || ex != 100)
			abort();
		break;
	default:
		abort();
	}
	return (0);
}
