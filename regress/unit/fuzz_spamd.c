/*
 * libFuzzer target for lookup/spamd.c, the spamd response parser.  The
 * first byte's low bit is the spam-edit: flag and the rest of it the
 * piece size the response is fed in (0: all at once); the second byte
 * makes the body callback fail at that call (0: never).  The rest is
 * what spamd sent.  Checked with abort(): the result does not depend on
 * how the input was cut, the body handed on is exactly the octets after
 * the headers and never more than Content-length, the state, errstr and
 * return values agree, kept texts are bounded printable ASCII, and the
 * outcome is one of pass, spam (550) or error (451).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter_result.h"
#include "lookup/spamd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz_sink {
	size_t		 calls;
	size_t		 len;
	size_t		 fail_at;
	uint64_t	 hash;
};

static int	 fz_body(void *, const char *, size_t);
static int	 fz_run(struct spamd_parser *, struct fz_sink *, const char *,
		    size_t, size_t, size_t);
static void	 fz_text(const char *, size_t);

static int
fz_body(void *arg, const char *data, size_t len)
{
	struct fz_sink	*k = arg;
	size_t		 i;

	if (len == 0)
		abort();
	k->calls++;
	if (k->fail_at != 0 && k->calls == k->fail_at)
		return (-1);
	for (i = 0; i < len; i++)
		k->hash = k->hash * 31 + (unsigned char)data[i];
	k->len += len;
	return (0);
}

/*
 * Feed in pieces of step octets (0: at once) until an error, then end
 * of file; returns the result.
 */
static int
fz_run(struct spamd_parser *p, struct fz_sink *k, const char *data,
    size_t len, size_t step, size_t fail_at)
{
	size_t	 i, n;
	int	 rv = SPAMD_MORE;

	memset(k, 0, sizeof(*k));
	k->fail_at = fail_at;
	spamd_init(p, fz_body, k);
	if (step == 0)
		step = len;
	/* As lookup does: everything up to end of file, then EOF. */
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		if ((rv = spamd_parse(p, data + i, n)) == SPAMD_ERROR)
			break;
	}
	if (rv != SPAMD_ERROR)
		rv = spamd_eof(p);
	return (rv);
}

/* NUL-terminated within sz, printable ASCII. */
static void
fz_text(const char *s, size_t sz)
{
	size_t	 n;

	if ((n = strnlen(s, sz)) == sz)
		abort();
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spamd_parser	 p, whole;
	struct fz_sink		 k, kw;
	struct filter_outcome	 o;
	const char		*r;
	size_t			 len, step, fail_at;
	int			 edit, rv, rvw;

	if (size < 2)
		return (0);
	edit = data[0] & 1;
	step = data[0] >> 1;
	fail_at = data[1];
	r = (const char *)data + 2;
	len = size - 2;

	rv = fz_run(&p, &k, r, len, step, fail_at);
	rvw = fz_run(&whole, &kw, r, len, 0, fail_at);

	/* The cut does not matter, unless the callback stopped it. */
	if (fail_at == 0 || (k.calls < fail_at && kw.calls < fail_at)) {
		if (rv != rvw || p.state != whole.state ||
		    p.code != whole.code || p.length != whole.length ||
		    p.received != whole.received || p.spam != whole.spam ||
		    p.have_verdict != whole.have_verdict ||
		    strcmp(p.message, whole.message) != 0 ||
		    strcmp(p.score_text, whole.score_text) != 0 ||
		    k.len != kw.len || k.hash != kw.hash)
			abort();
		if (k.len != p.received)
			abort();
	}

	if ((rv == SPAMD_DONE) != (p.state == SPAMD_ST_DONE) ||
	    (rv == SPAMD_ERROR) != (p.state == SPAMD_ST_ERROR) ||
	    rv == SPAMD_MORE || (rv == SPAMD_ERROR) != (p.errstr != NULL))
		abort();
	if (p.received > p.length || p.linelen > SPAMD_LINE_MAX ||
	    p.nheaders > SPAMD_HEADERS_MAX + 1 || p.code < -1 ||
	    p.code > 999)
		abort();
	if (rv == SPAMD_DONE && (!p.have_length || p.received != p.length ||
	    p.code != 0))
		abort();
	if (p.code > 0 && rv != SPAMD_ERROR)
		abort();
	fz_text(p.message, sizeof(p.message));
	fz_text(p.score_text, sizeof(p.score_text));
	fz_text(p.threshold_text, sizeof(p.threshold_text));
	if (strlen(p.message) > SPAMD_MESSAGE_MAX)
		abort();

	spamd_outcome(&p, edit, &o);
	fz_text(o.response, sizeof(o.response));
	fz_text(o.reason, sizeof(o.reason));
	fz_text(o.reply, sizeof(o.reply));
	if (o.rescan || o.endpass || o.timed_out)
		abort();
	switch (o.action) {
	case FILTER_PASS:
		if (rv != SPAMD_DONE || (!edit && (!p.have_verdict ||
		    p.spam)) || (edit && p.length == 0) || o.code != 0)
			abort();
		break;
	case FILTER_FAIL:
		if (o.code == 550) {
			if (edit || rv != SPAMD_DONE || !p.spam ||
			    strcmp(o.reply, SPAMD_SPAM_RESPONSE) != 0)
				abort();
		} else if (o.code != 451 ||
		    strcmp(o.reply, SPAMD_ERROR_RESPONSE) != 0 ||
		    strncmp(o.reason, "spamd: ", 7) != 0)
			abort();
		break;
	default:
		abort();
	}
	return (0);
}
