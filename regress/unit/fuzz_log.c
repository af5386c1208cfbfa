#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define LIBBSD_OPENBSD_VIS
#include <vis.h>
#include "log.h"

static size_t nlines;
static void sink(int level, const char *body, void *arg) { if (strlen(body) >= 2048) abort(); nlines++; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	char out[300], back[300], *s;
	const char *bad;
	size_t dstsz, i, olen;
	int f;
	struct slog sl;

	if (!init) { log_init("emailrelay"); log_setlevel(1,1,1,0x3f); log_procinit("f", sink, NULL); init = 1; }
	if (size < 1) return 0;
	dstsz = data[0];
	data++; size--;
	log_vis(out, dstsz, (const char *)data, size);
	if (dstsz > 0) {
		olen = strnlen(out, dstsz);
		if (olen >= dstsz) abort();
		for (i = 0; i < olen; i++)
			if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e) abort();
		if (dstsz >= 4 && (olen < 3 || strcmp(out + olen - 3, "...") != 0)) {
			/* not truncated: must decode back to the input */
			int n = strunvis(back, out);
			if (n < 0 || (size_t)n != size || memcmp(back, data, size) != 0) abort();
		}
	}
	s = malloc(size + 1);
	memcpy(s, data, size); s[size] = '\0';
	f = log_parse_format(s, &bad);
	if (f == -1 && (bad == NULL || strstr(s, bad) == NULL)) abort();
	if (f != -1 && (f & ~0x3f)) abort();
	(void)log_facility(s);
	memset(&sl, 0, sizeof(sl));
	sl.unit = s;
	strlcpy(sl.addr, s, sizeof(sl.addr));
	strlcpy(sl.port, s, sizeof(sl.port));
	strlcpy(sl.msgid, s, sizeof(sl.msgid));
	strlcpy(sl.net, s, sizeof(sl.net));
	sl.sid = size;
	slog_info(&sl, "%s", s);
	free(s);
	return 0;
}
