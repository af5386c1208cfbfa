/*
 * libFuzzer target for common/ctl.c, what emailrelayctl parses from the
 * daemon's replies: queue entry lines and counter lines.  Checked with
 * abort(): a line that unpacks has a valid id and state and packs again
 * into a line that unpacks to the same entry; counter names are
 * [a-z0-9_]+ and NUL-terminated, and the walk over counter lines always
 * moves forward and stays inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "spool.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fz_qent(const char *p, size_t len)
{
	struct ctl_qent	 e, again;
	char		 line[CTL_LINEMAX + 2];
	int		 n;

	if (ctl_qent_unpack(p, len, &e) == -1)
		return;
	if (!spool_base_valid(e.id) || e.size < -1 || e.mtime < 0)
		abort();
	if ((n = ctl_qent_pack(&e, line, sizeof(line))) == -1)
		return;
	if ((size_t)n != strlen(line) ||
	    ctl_qent_unpack(line, (size_t)n, &again) == -1 ||
	    memcmp(&e, &again, sizeof(e)) != 0)
		abort();
}

static void
fz_stats(const char *p, size_t len)
{
	const char		*q = p, *end = p + len, *last;
	char			 name[CTL_NAMEMAX];
	unsigned long long	 v;
	size_t			 i;
	int			 r;

	for (;;) {
		last = q;
		if ((r = ctl_stat_next(&q, end, name, sizeof(name), &v)) != 1)
			break;
		if (q <= last || q > end || name[0] == '\0')
			abort();
		for (i = 0; name[i] != '\0'; i++)
			if (!((name[i] >= 'a' && name[i] <= 'z') ||
			    (name[i] >= '0' && name[i] <= '9') ||
			    name[i] == '_') || i >= sizeof(name) - 1)
				abort();
	}
	if (r == 0 && q != end)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data;

	fz_qent(p, size);
	fz_stats(p, size);
	return (0);
}
