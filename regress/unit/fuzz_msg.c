/*
 * libFuzzer target for common/msg.c: parse frames one after another, check
 * each against its type's signature (the reply signature for a frame with
 * MSG_F_REPLY), then read its fields the way a
 * dispatcher would.  msg_check() accepting a frame and the readers
 * accepting it must agree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 fuzz_fields(struct msg *, const char *);
static int	 fuzz_field(struct msg *, int);
static void	 fuzz_any(struct msg *);

/* Read one field of kind 0 u32, 1 u64, 2 str, 3 data; 0 or -1. */
static int
fuzz_field(struct msg *m, int kind)
{
	struct msg	 c;
	const char	*s;
	const void	*p;
	char		 buf[16], *d;
	size_t		 len;
	uint64_t	 u64;
	uint32_t	 u32;

	switch (kind) {
	case 0:
		return (msg_get_u32(m, &u32));
	case 1:
		return (msg_get_u64(m, &u64));
	case 2:
		/* The other string readers on a copy, for their bounds. */
		c = *m;
		(void)msg_get_str(&c, buf, sizeof(buf));
		c = *m;
		if ((d = msg_get_strdup(&c)) != NULL) {
			if (strlen(d) != c.pos - m->pos - 4)
				abort();
			free(d);
		}
		if (msg_get_strp(m, &s, &len) == -1)
			return (-1);
		if (memchr(s, '\0', len) != NULL ||
		    (const uint8_t *)s + len > m->p + m->len)
			abort();
		return (0);
	default:
		if (msg_get_data(m, &p, &len) == -1)
			return (-1);
		if ((const uint8_t *)p + len > m->p + m->len)
			abort();
		return (0);
	}
}

/* Read fields by signature; 0 when all read and nothing is left. */
static int
fuzz_fields(struct msg *m, const char *sig)
{
	size_t	 n;
	int	 wantfd = 0;

	for (; *(sig += strspn(sig, " ")) != '\0'; sig += n) {
		n = strcspn(sig, " ");
		if (n == 3 && strncmp(sig, "u32", 3) == 0)
			(void)fuzz_field(m, 0);
		else if (n == 3 && strncmp(sig, "u64", 3) == 0)
			(void)fuzz_field(m, 1);
		else if (n == 3 && strncmp(sig, "str", 3) == 0)
			(void)fuzz_field(m, 2);
		else if (n == 4 && strncmp(sig, "data", 4) == 0)
			(void)fuzz_field(m, 3);
		else if (n == 2 && strncmp(sig, "fd", 2) == 0)
			wantfd = 1;
		else if (n == 3 && strncmp(sig, "fd?", 3) == 0)
			wantfd = -1;
		else
			abort();	/* a signature word msg.c lacks */
	}
	if (wantfd != -1 && ((m->flags & MSG_F_FD) != 0) != wantfd)
		return (-1);
	return (msg_get_end(m));
}

/* Unknown types: a field pattern taken from the id. */
static void
fuzz_any(struct msg *m)
{
	uint64_t	 id = m->id;
	int		 i;

	for (i = 0; i < 32 && !m->bad; i++, id >>= 2)
		(void)fuzz_field(m, (int)(id & 3));
	(void)msg_get_end(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg	 m;
	const char	*sig;
	long		 n;
	int		 check;

	while ((n = msg_parse(data, size, &m)) > 0) {
		if ((size_t)n > size || m.len != (size_t)n - MSG_HDRLEN ||
		    m.fd != -1 || (m.flags & ~(MSG_F_FD | MSG_F_REPLY)) != 0)
			abort();
		(void)msg_type_name(m.type);
		check = msg_check(&m);
		if (m.pos != 0)
			abort();
		sig = (m.flags & MSG_F_REPLY) ? msg_type_reply_sig(m.type) :
		    msg_type_sig(m.type);
		if (sig != NULL) {
			/* Both ways: check and readers agree. */
			if ((fuzz_fields(&m, sig) == 0) != (check == 0))
				abort();
		} else {
			if (check != -1)
				abort();
			fuzz_any(&m);
		}
		data += n;
		size -= (size_t)n;
	}
	return (0);
}
