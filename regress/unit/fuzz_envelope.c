/*
 * libFuzzer target for envelope_read().  Arbitrary bytes must never crash
 * the reader; whatever it accepts must write out, read back, and write out
 * again to the very same bytes (the round-trip property a rewrite of a
 * spool file relies on).  The free-line helpers and the reason sanitiser
 * are exercised on the accepted envelope too.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope	 a, b;
	char		 err[256], reason[ENVELOPE_REASON_MAX + 1];
	char		 group[64], *w1, *w2, *text;
	size_t		 l1, l2, i, n;
	unsigned int	 count;
	int		 code, k;

	/* The sanitiser alone: one line of printable ASCII, bounded. */
	n = envelope_reason_sanitize((const char *)data, size, reason,
	    sizeof(reason));
	if (n > ENVELOPE_REASON_MAX || strlen(reason) != n)
		abort();
	for (i = 0; i < n; i++)
		if (reason[i] < 0x20 || reason[i] > 0x7e)
			abort();

	envelope_init(&a);
	envelope_init(&b);
	if (envelope_read((const char *)data, size, &a, err,
	    sizeof(err)) == -1) {
		/* A failed read leaves nothing behind. */
		if (a.nlines != 0 || a.nto_local != 0 || a.nto_remote != 0 ||
		    a.client_cert != NULL || err[0] == '\0')
			abort();
		return (0);
	}
	if (envelope_write(&a, &w1, &l1) == -1)
		abort();
	if (envelope_read(w1, l1, &b, err, sizeof(err)) == -1)
		abort();
	if (envelope_write(&b, &w2, &l2) == -1)
		abort();
	if (l1 != l2 || memcmp(w1, w2, l1) != 0)
		abort();
	free(w2);

	(void)envelope_reason(&b, reason, sizeof(reason), &code);
	(void)envelope_retry_get(&b);
	(void)envelope_split(&b, &count, group, sizeof(group));
	/* Appending a failure (the input as reply text) stays readable. */
	if ((text = strndup((const char *)data, size)) == NULL)
		abort();
	k = envelope_retry_get(&b);
	if (envelope_add_reason(&b, text, 550) == 0 && k < INT_MAX &&
	    envelope_retry_set(&b, k + 1) == 0) {
		if (envelope_write(&b, &w2, &l2) == -1)
			abort();
		if (envelope_read(w2, l2, &a, err, sizeof(err)) == -1)
			abort();
		if (envelope_reason(&a, reason, sizeof(reason), &code) != 1 ||
		    code != 550)
			abort();
		if (envelope_retry_get(&a) != k + 1)
			abort();
		free(w2);
	}
	free(text);
	free(w1);
	envelope_free(&a);
	envelope_free(&b);
	return (0);
}
