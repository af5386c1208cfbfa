/*
 * Writes the seed corpus of fuzz_msg: one valid frame of every message
 * type and, for requests, of its reply (from the signature tables, so new
 * types get seeds when this is run again), all of them in one stream, and
 * a frame of MSG_MAX bytes.
 *
 * Build and run from the top of the tree:
 *	cc -std=c11 -D_GNU_SOURCE -Icommon \
 *	    $(pkg-config --cflags libbsd-overlay) -o mkcorpus_msg \
 *	    regress/unit/mkcorpus_msg.c common/msg.c common/log.c \
 *	    $(pkg-config --libs libbsd-overlay)
 *	./mkcorpus_msg regress/unit/corpus/msg
 */
#include <ctype.h>
#include <err.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

static void	 build(struct msgchan *, uint16_t, int);
static void	 save(const char *, const char *, const uint8_t *, size_t);

/*
 * One frame of type (its reply if reply is set) with sample values; a
 * real fd where one belongs or may go.
 */
static void
build(struct msgchan *ch, uint16_t type, int reply)
{
	const char	*sig;
	size_t		 n;
	int		 fd = -1, i = 0;

	sig = reply ? msg_type_reply_sig(type) : msg_type_sig(type);
	if (strstr(sig, "fd") != NULL &&
	    (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "/dev/null");
	if (reply)
		msg_reply_begin(ch, type, 0x1000 + type, fd);
	else
		msg_begin(ch, type, 0x1000 + type, fd);
	for (; *(sig += strspn(sig, " ")) != '\0'; sig += n, i++) {
		n = strcspn(sig, " ");
		if (n == 3 && strncmp(sig, "u32", 3) == 0)
			msg_put_u32(ch, i);
		else if (n == 3 && strncmp(sig, "u64", 3) == 0)
			msg_put_u64(ch, 0x0123456789abcdefULL + i);
		else if (n == 3 && strncmp(sig, "str", 3) == 0)
			msg_put_str(ch, "127.0.0.1:25 example");
		else if (n == 4 && strncmp(sig, "data", 4) == 0)
			msg_put_data(ch, "\0\1\2\3", 4);
		else if ((n != 2 || strncmp(sig, "fd", 2) != 0) &&
		    (n != 3 || strncmp(sig, "fd?", 3) != 0))
			errx(1, "%s: unknown signature word",
			    msg_type_name(type));
	}
	msg_end(ch);
}

static void
save(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char	 path[1024];
	FILE	*f;
	int	 r;

	r = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (r < 0 || (size_t)r >= sizeof(path))
		errx(1, "%s: path too long", dir);
	if ((f = fopen(path, "wb")) == NULL)
		err(1, "%s", path);
	if (fwrite(p, 1, len, f) != len || fclose(f) == EOF)
		err(1, "%s", path);
}

int
main(int argc, char *argv[])
{
	struct msgchan	 one, all;
	static uint8_t	 big[MSG_MAX - MSG_HDRLEN - 8];
	char		 name[64];
	const char	*tn;
	size_t		 i;
	uint16_t	 t;
	int		 reply;

	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus_msg dir\n");
		return (2);
	}
	msg_init(&all, -1, "mkcorpus", "corpus");
	for (t = 1; t < MSG_TYPE__COUNT; t++) {
		for (reply = 0; reply < 2; reply++) {
			if (reply && msg_type_reply_sig(t) == NULL)
				continue;
			msg_init(&one, -1, "mkcorpus", "corpus");
			build(&one, t, reply);
			build(&all, t, reply);
			tn = msg_type_name(t) + strlen("MSG_");
			for (i = 0; tn[i] != '\0' && i + 7 < sizeof(name); i++)
				name[i] = (char)tolower((unsigned char)tn[i]);
			name[i] = '\0';
			if (reply)
				(void)strlcat(name, "_reply", sizeof(name));
			save(argv[1], name, one.out, one.outlen);
			msg_clear(&one);
		}
	}
	save(argv[1], "all_types", all.out, all.outlen);
	msg_clear(&all);

	msg_init(&one, -1, "mkcorpus", "corpus");
	memset(big, 'x', sizeof(big));
	msg_begin(&one, MSG_LOG_NOTIFY, 1, -1);
	msg_put_u32(&one, 2);
	msg_put_data(&one, big, sizeof(big));
	msg_end(&one);
	save(argv[1], "max_frame", one.out, one.outlen);
	msg_clear(&one);
	return (0);
}
