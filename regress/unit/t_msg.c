/*
 * common/msg.c: framing, fd passing, malformed input, field readers and
 * the signature table, over real socketpairs.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "t.h"

#define T_BIGDATA	(MSG_MAX - MSG_HDRLEN - 4)	/* one data field */

static int	 t_pair(struct msgchan *, struct msgchan *);
static int	 t_recv(struct msgchan *, struct msg *);
static int	 t_nfds(void);
static int	 t_isopen(int);
static void	 t_hdr(uint8_t *, uint32_t, uint16_t, uint16_t, uint64_t);
static ssize_t	 t_sendfds(int, const void *, size_t, const int *, int);
static int	 t_build(struct msgchan *, uint16_t, int, int, int, int);
static int	 t_frame(struct msgchan *, struct msg *, uint16_t, int, int,
		    int, int);
static int	 t_fdword(const char *, size_t);
static int	 t_raw_get(const void *, size_t, const int *, int);
static int	 t_child(void (*)(void), char *, size_t);
static void	 t_child_untaken(void);
static void	 t_child_oversize(void);
static void	 t_child_outside(void);
static void	 t_child_nested(void);
static long long t_ms(void);

/* A connected non-blocking pair: a is "alpha", b is "beta". */
static int
t_pair(struct msgchan *a, struct msgchan *b)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1)
		return (-1);
	msg_init(a, sv[0], "alpha", "beta");
	msg_init(b, sv[1], "beta", "alpha");
	return (0);
}

/*
 * The next frame on ch, reading as needed: msg_get()'s result, or -2 on
 * EOF, -3 on a read error, -4 when nothing came within 2 s.
 */
static int
t_recv(struct msgchan *ch, struct msg *m)
{
	struct pollfd	 pfd;
	long		 n;
	int		 r;

	for (;;) {
		if ((r = msg_get(ch, m)) != 0)
			return (r);
		pfd.fd = ch->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 2000) <= 0)
			return (-4);
		n = msg_read(ch);
		if (n == 0)
			return (-2);
		if (n == -1 && errno != EAGAIN)
			return (-3);
	}
}

/* Open descriptors of this process. */
static int
t_nfds(void)
{
	DIR	*d;
	int	 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return (n);
}

static int
t_isopen(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

static void
t_hdr(uint8_t *p, uint32_t len, uint16_t type, uint16_t flags, uint64_t id)
{
	memcpy(p, &len, 4);
	memcpy(p + 4, &type, 2);
	memcpy(p + 6, &flags, 2);
	memcpy(p + 8, &id, 8);
}

/* sendmsg() len bytes with nfds descriptors (SCM_RIGHTS) on fd. */
static ssize_t
t_sendfds(int fd, const void *p, size_t len, const int *fds, int nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(32 * sizeof(int))];
	} cb;

	memset(&mh, 0, sizeof(mh));
	memset(&cb, 0, sizeof(cb));
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		mh.msg_control = cb.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return (sendmsg(fd, &mh, MSG_NOSIGNAL));
}

/* Whether the signature word s (n bytes) is "fd" or "fd?". */
static int
t_fdword(const char *s, size_t n)
{
	return ((n == 2 && strncmp(s, "fd", 2) == 0) ||
	    (n == 3 && strncmp(s, "fd?", 3) == 0));
}

/*
 * Queue on ch a frame of type (its reply when reply is set) with sample
 * values for its signature; fd (-1 or a descriptor) is passed whatever
 * the signature says.  drop leaves out the last value field, extra adds
 * a u32.  Returns the number of value fields written, or -1 for an
 * unknown signature word or a type without such a signature.
 */
static int
t_build(struct msgchan *ch, uint16_t type, int reply, int fd, int drop,
    int extra)
{
	const char	*sig, *s;
	size_t		 n;
	int		 nf = 0, i = 0;

	sig = reply ? msg_type_reply_sig(type) : msg_type_sig(type);
	if (sig == NULL)
		return (-1);
	for (s = sig; *(s += strspn(s, " ")) != '\0'; s += n) {
		n = strcspn(s, " ");
		if (!t_fdword(s, n))
			nf++;
	}
	if (reply)
		msg_reply_begin(ch, type, 0x0102030405060708ULL + type, fd);
	else
		msg_begin(ch, type, 0x0102030405060708ULL + type, fd);
	for (s = sig; *(s += strspn(s, " ")) != '\0'; s += n) {
		n = strcspn(s, " ");
		if (t_fdword(s, n))
			continue;
		if (drop && i == nf - 1)
			break;
		if (n == 3 && strncmp(s, "u32", 3) == 0)
			msg_put_u32(ch, 1000 + i);
		else if (n == 3 && strncmp(s, "u64", 3) == 0)
			msg_put_u64(ch, (1ULL << 40) + i);
		else if (n == 3 && strncmp(s, "str", 3) == 0)
			msg_put_str(ch, "example");
		else if (n == 4 && strncmp(s, "data", 4) == 0)
			msg_put_data(ch, "\0\1\2", 3);
		else {
			msg_end(ch);
			return (-1);
		}
		i++;
	}
	if (extra)
		msg_put_u32(ch, 7);
	msg_end(ch);
	return (i);
}

/*
 * Build one frame (see t_build) on a fresh unconnected ch and parse it
 * into *m.  Returns t_build()'s count, or -1.  msg_clear(ch) after use.
 */
static int
t_frame(struct msgchan *ch, struct msg *m, uint16_t type, int reply, int fd,
    int drop, int extra)
{
	int	 r;

	msg_init(ch, -1, "t", "t");
	if ((r = t_build(ch, type, reply, fd, drop, extra)) == -1)
		return (-1);
	if (msg_parse(ch->out, ch->outlen, m) != (long)ch->outlen)
		return (-1);
	return (r);
}

/*
 * Send raw bytes (and nfds fds) to a fresh channel; return what msg_get()
 * says after the channel read everything.
 */
static int
t_raw_get(const void *p, size_t len, const int *fds, int nfds)
{
	struct msgchan	 a, b;
	struct msg	 m;
	long		 n;
	int		 r, r2;

	if (t_pair(&a, &b) == -1)
		return (-9);
	if (t_sendfds(a.fd, p, len, fds, nfds) != (ssize_t)len) {
		msg_clear(&a);
		msg_clear(&b);
		return (-9);
	}
	while ((n = msg_read(&b)) > 0)
		;
	r = msg_get(&b, &m);
	r2 = msg_get(&b, &m);
	if (r == 1 && m.fd != -1)
		close(msg_take_fd(&m));
	msg_clear(&a);
	msg_clear(&b);
	/* A malformed channel stays malformed. */
	if (r == -1 && r2 != -1)
		return (-8);
	return (r);
}

/*
 * Run fn in a child with stderr captured into buf; returns the exit
 * status, or -1 if it did not exit normally.
 */
static int
t_child(void (*fn)(void), char *buf, size_t bufsz)
{
	pid_t	 pid;
	int	 p[2], status;
	ssize_t	 n;
	size_t	 got = 0;

	if (pipe(p) == -1)
		return (-1);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		close(p[0]);
		if (dup2(p[1], STDERR_FILENO) == -1)
			_exit(5);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (got + 1 < bufsz &&
	    (n = read(p[0], buf + got, bufsz - got - 1)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(p[0]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return (-1);
	return (WEXITSTATUS(status));
}

static void
t_child_untaken(void)
{
	struct msgchan	 a, b;
	struct msg	 m;
	int		 p[2];

	if (t_pair(&a, &b) == -1 || pipe(p) == -1)
		_exit(3);
	msg_begin(&a, MSG_PARENT_PEER_NOTIFY, 1, p[1]);
	msg_put_u32(&a, 2);
	msg_end(&a);
	if (msg_flush(&a, 2000) == -1)
		_exit(3);
	if (t_recv(&b, &m) != 1 || m.fd == -1)
		_exit(4);
	msg_done(&b, &m);
}

static void
t_child_oversize(void)
{
	struct msgchan	 a;
	static uint8_t	 big[T_BIGDATA + 1];

	msg_init(&a, -1, "alpha", "beta");
	msg_begin(&a, MSG_LOG_NOTIFY, 1, -1);
	msg_put_data(&a, big, sizeof(big));
	msg_end(&a);
}

static void
t_child_outside(void)
{
	struct msgchan	 a;

	msg_init(&a, -1, "alpha", "beta");
	msg_put_u32(&a, 1);
}

static void
t_child_nested(void)
{
	struct msgchan	 a;

	msg_init(&a, -1, "alpha", "beta");
	msg_begin(&a, MSG_LOG_NOTIFY, 1, -1);
	msg_begin(&a, MSG_LOG_NOTIFY, 2, -1);
}

static long long
t_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000LL + ts.tv_nsec / 1000000);
}

TEST(msg_roundtrip_fields)
{
	struct msgchan	 a, b;
	struct msg	 m;
	static uint8_t	 big[T_BIGDATA], seen[T_BIGDATA];
	const void	*p;
	const char	*s;
	char		 buf[32], *d;
	size_t		 i, n;
	uint64_t	 u64;
	uint32_t	 u32;

	T_ASSERT(t_pair(&a, &b) == 0);
	msg_begin(&a, MSG_LOG_NOTIFY, 0x1122334455667788ULL, -1);
	msg_put_u32(&a, 0);
	msg_put_u32(&a, 0xffffffffU);
	msg_put_u64(&a, UINT64_MAX);
	msg_put_u64(&a, 42);
	msg_put_str(&a, "");
	msg_put_str(&a, "hello world");
	msg_put_str(&a, "pointed");
	msg_put_str(&a, "copied");
	msg_put_data(&a, "\0\1\2\0", 4);
	msg_put_data(&a, NULL, 0);
	msg_end(&a);
	T_EQ_INT(msg_pending(&a), MSG_HDRLEN + 4 + 4 + 8 + 8 + 4 + 15 + 11 +
	    10 + 8 + 4);
	T_EQ_INT(msg_flush(&a, 2000), 0);
	T_EQ_INT(msg_pending(&a), 0);

	T_EQ_INT(t_recv(&b, &m), 1);
	T_EQ_INT(m.type, MSG_LOG_NOTIFY);
	T_ASSERT(m.id == 0x1122334455667788ULL);
	T_EQ_INT(m.flags, 0);
	T_EQ_INT(m.fd, -1);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(u32, 0);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_ASSERT(u32 == 0xffffffffU);
	T_EQ_INT(msg_get_u64(&m, &u64), 0);
	T_ASSERT(u64 == UINT64_MAX);
	T_EQ_INT(msg_get_u64(&m, &u64), 0);
	T_ASSERT(u64 == 42);
	T_EQ_INT(msg_get_str(&m, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "");
	T_EQ_INT(msg_get_str(&m, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "hello world");
	T_EQ_INT(msg_get_strp(&m, &s, &n), 0);
	T_EQ_INT(n, 7);
	T_ASSERT(memcmp(s, "pointed", 7) == 0);
	T_ASSERT((d = msg_get_strdup(&m)) != NULL);
	T_EQ_STR(d, "copied");
	free(d);
	T_EQ_INT(msg_get_data(&m, &p, &n), 0);
	T_EQ_INT(n, 4);
	T_ASSERT(memcmp(p, "\0\1\2\0", 4) == 0);
	T_EQ_INT(msg_get_data(&m, &p, &n), 0);
	T_EQ_INT(n, 0);
	T_EQ_INT(msg_get_end(&m), 0);
	T_EQ_INT(m.bad, 0);
	msg_done(&b, &m);

	/* The largest frame there is, MSG_MAX bytes in all. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	msg_begin(&a, MSG_LOG_NOTIFY, 2, -1);
	msg_put_data(&a, big, sizeof(big));
	msg_end(&a);
	T_EQ_INT(msg_pending(&a), MSG_MAX);
	T_EQ_INT(msg_flush(&a, 2000), 0);
	T_EQ_INT(t_recv(&b, &m), 1);
	T_ASSERT(m.id == 2);
	T_EQ_INT(msg_get_data(&m, &p, &n), 0);
	T_EQ_INT(n, sizeof(big));
	memcpy(seen, p, n);
	T_ASSERT(memcmp(seen, big, sizeof(big)) == 0);
	T_EQ_INT(msg_get_end(&m), 0);
	msg_done(&b, &m);
	T_EQ_INT(msg_get(&b, &m), 0);
	msg_clear(&a);
	msg_clear(&b);
	T_EQ_INT(a.fd, -1);
}

TEST(msg_several_frames_one_write)
{
	struct msgchan	 a, b;
	struct msg	 m;
	struct pollfd	 pfd;
	uint32_t	 u32;
	size_t		 total;

	T_ASSERT(t_pair(&a, &b) == 0);
	msg_begin(&a, MSG_CHILD_READY_NOTIFY, 11, -1);
	msg_put_u32(&a, 1);
	msg_end(&a);
	msg_begin(&a, MSG_PARENT_START_NOTIFY, 12, -1);
	msg_end(&a);
	msg_begin(&a, MSG_PARENT_CONF_END_NOTIFY, 13, -1);
	msg_put_u32(&a, 3);
	msg_end(&a);
	total = msg_pending(&a);
	T_EQ_INT(total, 3 * MSG_HDRLEN + 8);
	T_EQ_INT(msg_write(&a), 0);
	T_EQ_INT(msg_pending(&a), 0);

	pfd.fd = b.fd;
	pfd.events = POLLIN;
	T_EQ_INT(poll(&pfd, 1, 2000), 1);
	T_EQ_INT(msg_read(&b), total);
	T_EQ_INT(msg_get(&b, &m), 1);
	T_EQ_INT(m.type, MSG_CHILD_READY_NOTIFY);
	T_ASSERT(m.id == 11);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(u32, 1);
	/* msg_get() without msg_done() moves on as well. */
	T_EQ_INT(msg_get(&b, &m), 1);
	T_EQ_INT(m.type, MSG_PARENT_START_NOTIFY);
	T_ASSERT(m.id == 12);
	T_EQ_INT(m.len, 0);
	T_EQ_INT(msg_get_end(&m), 0);
	msg_done(&b, &m);
	T_EQ_INT(msg_get(&b, &m), 1);
	T_EQ_INT(m.type, MSG_PARENT_CONF_END_NOTIFY);
	T_ASSERT(m.id == 13);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(u32, 3);
	msg_done(&b, &m);
	T_EQ_INT(msg_get(&b, &m), 0);
	T_EQ_INT(msg_read(&b), -1);
	T_EQ_INT(errno, EAGAIN);
	msg_clear(&a);
	msg_clear(&b);
}

TEST(msg_frame_split_across_reads)
{
	struct msgchan	 a, b, w;
	struct msg	 m;
	uint8_t		 bytes[256];
	char		 buf[64];
	size_t		 len, first, i;
	uint32_t	 u32;

	/* Two frames from the real encoder, sent in awkward pieces. */
	msg_init(&w, -1, "w", "w");
	msg_begin(&w, MSG_LOG_NOTIFY, 21, -1);
	msg_put_u32(&w, 3);
	msg_put_str(&w, "split across reads");
	msg_end(&w);
	first = w.outlen;
	msg_begin(&w, MSG_PARENT_CONF_INSTANCE_NOTIFY, 22, -1);
	msg_put_u32(&w, 4);
	msg_put_str(&w, "second");
	msg_end(&w);
	len = w.outlen;
	T_ASSERT(len <= sizeof(bytes));
	memcpy(bytes, w.out, len);
	msg_clear(&w);

	T_ASSERT(t_pair(&a, &b) == 0);
	/* The first frame one byte at a time. */
	for (i = 0; i < first; i++) {
		T_EQ_INT(write(a.fd, bytes + i, 1), 1);
		T_EQ_INT(msg_read(&b), 1);
		if (i + 1 < first)
			T_EQ_INT(msg_get(&b, &m), 0);
	}
	T_EQ_INT(msg_get(&b, &m), 1);
	T_ASSERT(m.id == 21);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(u32, 3);
	T_EQ_INT(msg_get_str(&m, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "split across reads");
	T_EQ_INT(msg_get_end(&m), 0);
	msg_done(&b, &m);
	T_EQ_INT(msg_get(&b, &m), 0);

	/* The second: header split in the middle, then the rest. */
	T_EQ_INT(write(a.fd, bytes + first, 7), 7);
	T_EQ_INT(msg_read(&b), 7);
	T_EQ_INT(msg_get(&b, &m), 0);
	T_EQ_INT(write(a.fd, bytes + first + 7, len - first - 7),
	    len - first - 7);
	T_EQ_INT(t_recv(&b, &m), 1);
	T_ASSERT(m.id == 22);
	T_EQ_INT(m.type, MSG_PARENT_CONF_INSTANCE_NOTIFY);
	T_EQ_INT(msg_check(&m), 0);
	msg_done(&b, &m);
	msg_clear(&a);
	msg_clear(&b);
}

TEST(msg_fd_pass_pipe)
{
	struct msgchan	 a, b;
	struct msg	 m;
	char		 buf[8];
	uint32_t	 u32;
	int		 p[2], fd;

	T_ASSERT(t_pair(&a, &b) == 0);
	T_ASSERT(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	msg_begin(&a, MSG_PARENT_PEER_NOTIFY, 31, p[1]);
	msg_put_u32(&a, 5);
	msg_end(&a);
	T_ASSERT(t_isopen(p[1]));
	T_EQ_INT(msg_flush(&a, 2000), 0);
	/* The sender's copy is closed once written. */
	T_ASSERT(!t_isopen(p[1]));

	T_EQ_INT(t_recv(&b, &m), 1);
	T_EQ_INT(m.type, MSG_PARENT_PEER_NOTIFY);
	T_EQ_INT(m.flags, MSG_F_FD);
	T_EQ_INT(msg_check(&m), 0);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(u32, 5);
	T_EQ_INT(msg_get_end(&m), 0);
	fd = msg_take_fd(&m);
	T_ASSERT(fd >= 0);
	T_EQ_INT(msg_take_fd(&m), -1);
	T_EQ_INT(m.fd, -1);
	msg_done(&b, &m);
	T_ASSERT((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	T_EQ_INT(write(fd, "ping", 4), 4);
	close(fd);
	T_EQ_INT(read(p[0], buf, sizeof(buf)), 4);
	T_ASSERT(memcmp(buf, "ping", 4) == 0);
	/* No write end is left anywhere. */
	T_EQ_INT(read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	msg_clear(&a);
	msg_clear(&b);
}

TEST(msg_fd_consecutive_and_mixed)
{
	struct msgchan	 a, b;
	struct msg	 m;
	static const uint16_t types[5] = {
		MSG_CHILD_READY_NOTIFY, MSG_PARENT_PEER_NOTIFY,
		MSG_PARENT_LISTENER_NOTIFY, MSG_LOG_NOTIFY,
		MSG_PARENT_PEER_NOTIFY
	};
	static const int hasfd[5] = { 0, 1, 1, 0, 1 };
	int		 p[5][2], i, fd, base;
	char		 c;

	base = t_nfds();
	T_ASSERT(t_pair(&a, &b) == 0);
	/* A plain frame, two fd frames in a row, plain, fd. */
	for (i = 0; i < 5; i++) {
		p[i][0] = p[i][1] = -1;
		if (hasfd[i])
			T_ASSERT(pipe2(p[i], O_NONBLOCK | O_CLOEXEC) == 0);
		T_ASSERT(t_build(&a, types[i], 0, p[i][1], 0, 0) >= 0);
	}
	T_EQ_INT(msg_flush(&a, 2000), 0);
	for (i = 0; i < 5; i++) {
		T_EQ_INT(t_recv(&b, &m), 1);
		T_EQ_INT(m.type, types[i]);
		T_EQ_INT(msg_check(&m), 0);
		T_EQ_INT((m.fd != -1), hasfd[i]);
		if (hasfd[i]) {
			fd = msg_take_fd(&m);
			c = (char)('A' + i);
			T_EQ_INT(write(fd, &c, 1), 1);
			close(fd);
		}
		msg_done(&b, &m);
	}
	/* Each fd reached the frame it was queued with. */
	for (i = 0; i < 5; i++) {
		if (!hasfd[i])
			continue;
		T_EQ_INT(read(p[i][0], &c, 1), 1);
		T_EQ_INT(c, 'A' + i);
		T_EQ_INT(read(p[i][0], &c, 1), 0);
		close(p[i][0]);
	}
	msg_clear(&a);
	msg_clear(&b);
	T_EQ_INT(t_nfds(), base);
}

TEST(msg_fd_partial_writes)
{
	struct msgchan	 a, b;
	struct msg	 m;
	static uint8_t	 data[T_BIGDATA - 4];
	const void	*dp;
	size_t		 n, sz;
	uint32_t	 i, idx, v, queued = 0, got = 0, nframes = 300;
	long		 r;
	int		 p[2], fd, rounds = 0, partial = 0, base, res;

	base = t_nfds();
	T_ASSERT(t_pair(&a, &b) == 0);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	/*
	 * Far more than the socket holds; every third frame carries the
	 * read end of a pipe holding the frame's index.
	 */
	while (got < nframes) {
		T_ASSERT(rounds++ < 100000);
		while (queued < nframes && msg_pending(&a) < 256 * 1024) {
			fd = -1;
			if (queued % 3 == 1) {
				T_ASSERT(pipe2(p, O_CLOEXEC) == 0);
				T_EQ_INT(write(p[1], &queued, 4), 4);
				close(p[1]);
				fd = p[0];
			}
			sz = 1 + (queued * 7919) % sizeof(data);
			msg_begin(&a, fd == -1 ? MSG_LOG_NOTIFY :
			    MSG_PARENT_PEER_NOTIFY, queued, fd);
			msg_put_u32(&a, queued);
			if (fd == -1)
				msg_put_data(&a, data, sz);
			msg_end(&a);
			queued++;
		}
		T_EQ_INT(msg_write(&a), 0);
		if (msg_pending(&a) > 0)
			partial = 1;
		r = msg_read(&b);
		T_ASSERT(r != 0);
		T_ASSERT(r > 0 || errno == EAGAIN);
		while ((res = msg_get(&b, &m)) == 1) {
			T_ASSERT(m.id == got);
			T_EQ_INT(msg_get_u32(&m, &idx), 0);
			T_EQ_INT(idx, got);
			if (got % 3 == 1) {
				T_ASSERT(m.fd != -1);
				fd = msg_take_fd(&m);
				T_EQ_INT(read(fd, &v, 4), 4);
				close(fd);
				T_EQ_INT(v, got);
			} else {
				T_EQ_INT(m.fd, -1);
				T_EQ_INT(msg_get_data(&m, &dp, &n), 0);
				T_EQ_INT(n, 1 + (got * 7919) % sizeof(data));
				T_ASSERT(memcmp(dp, data, n) == 0);
			}
			T_EQ_INT(msg_get_end(&m), 0);
			msg_done(&b, &m);
			got++;
		}
		T_EQ_INT(res, 0);
	}
	T_ASSERT(partial);
	T_EQ_INT(msg_pending(&a), 0);
	msg_clear(&a);
	msg_clear(&b);
	T_EQ_INT(t_nfds(), base);
}

TEST(msg_bad_headers)
{
	uint8_t	 f[32];
	int	 fd;

	memset(f, 0, sizeof(f));
	/* Sanity: a good empty frame is taken. */
	t_hdr(f, 16, MSG_PARENT_START_NOTIFY, 0, 1);
	T_EQ_INT(t_raw_get(f, 16, NULL, 0), 1);
	/* Lengths below the header. */
	t_hdr(f, 15, MSG_PARENT_START_NOTIFY, 0, 1);
	T_EQ_INT(t_raw_get(f, 16, NULL, 0), -1);
	t_hdr(f, 0, MSG_PARENT_START_NOTIFY, 0, 1);
	T_EQ_INT(t_raw_get(f, 16, NULL, 0), -1);
	t_hdr(f, 8, MSG_PARENT_START_NOTIFY, 0, 1);
	T_EQ_INT(t_raw_get(f, 8, NULL, 0), -1);
	/* Oversized: known from the first 4 bytes, no body needed. */
	t_hdr(f, MSG_MAX + 1, MSG_LOG_NOTIFY, 0, 1);
	T_EQ_INT(t_raw_get(f, 4, NULL, 0), -1);
	t_hdr(f, 0xffffffffU, MSG_LOG_NOTIFY, 0, 1);
	T_EQ_INT(t_raw_get(f, 16, NULL, 0), -1);
	/* A short but sane header is only incomplete. */
	t_hdr(f, MSG_MAX, MSG_LOG_NOTIFY, 0, 1);
	T_EQ_INT(t_raw_get(f, 16, NULL, 0), 0);
	/* Unknown flags, seen before the frame is complete. */
	t_hdr(f, 32, MSG_LOG_NOTIFY, 0x0004, 1);
	T_EQ_INT(t_raw_get(f, 8, NULL, 0), -1);
	t_hdr(f, 16, MSG_PARENT_START_NOTIFY, 0x8000 | MSG_F_FD, 1);
	T_EQ_INT(t_raw_get(f, 16, NULL, 0), -1);
	/* MSG_F_FD without a descriptor, then with one. */
	t_hdr(f, 20, MSG_PARENT_PEER_NOTIFY, MSG_F_FD, 1);
	T_EQ_INT(t_raw_get(f, 20, NULL, 0), -1);
	T_ASSERT((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1);
	T_EQ_INT(t_raw_get(f, 20, &fd, 1), 1);
	close(fd);
}

TEST(msg_bad_fd_counts)
{
	struct msgchan	 a, b;
	struct msg	 m;
	int		 fds[20], i, base, dn;
	uint8_t		 c = 0, f[16];

	base = t_nfds();
	T_ASSERT((dn = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1);
	for (i = 0; i < 20; i++)
		fds[i] = dn;

	/* More fds in one message than recvmsg() has room for. */
	T_ASSERT(t_pair(&a, &b) == 0);
	T_EQ_INT(t_sendfds(a.fd, &c, 1, fds, 20), 1);
	T_EQ_INT(msg_read(&b), 1);
	T_EQ_INT(msg_get(&b, &m), -1);
	msg_clear(&a);
	msg_clear(&b);
	T_EQ_INT(t_nfds(), base + 1);

	/*
	 * MSG_MAXFDS waiting is fine, one more is not (the bytes are the
	 * start of a long frame, incomplete throughout).
	 */
	T_ASSERT(t_pair(&a, &b) == 0);
	t_hdr(f, MSG_MAX, MSG_LOG_NOTIFY, 0, 1);
	T_EQ_INT(write(a.fd, f, sizeof(f)), sizeof(f));
	for (i = 0; i < MSG_MAXFDS; i++) {
		T_EQ_INT(t_sendfds(a.fd, &c, 1, &dn, 1), 1);
		while (msg_read(&b) > 0)
			;
	}
	T_EQ_INT(b.ninfds, MSG_MAXFDS);
	T_EQ_INT(msg_get(&b, &m), 0);
	T_EQ_INT(t_sendfds(a.fd, &c, 1, &dn, 1), 1);
	while (msg_read(&b) > 0)
		;
	T_EQ_INT(b.ninfds, MSG_MAXFDS);
	T_EQ_INT(msg_get(&b, &m), -1);
	T_EQ_INT(msg_get(&b, &m), -1);
	msg_clear(&a);
	msg_clear(&b);
	close(dn);
	T_EQ_INT(t_nfds(), base);
}

TEST(msg_bad_fields)
{
	struct msg	 m;
	uint8_t		 f[64];
	const char	*s;
	const void	*p;
	char		 buf[8];
	size_t		 n;
	uint64_t	 u64;
	uint32_t	 u32;

	/* A string with a NUL inside. */
	t_hdr(f, 16 + 4 + 4 + 3, MSG_LOG_NOTIFY, 0, 1);
	u32 = 1;
	memcpy(f + 16, &u32, 4);
	u32 = 3;
	memcpy(f + 20, &u32, 4);
	memcpy(f + 24, "a\0b", 3);
	T_EQ_INT(msg_parse(f, 27, &m), 27);
	T_EQ_INT(msg_check(&m), -1);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(msg_get_str(&m, buf, sizeof(buf)), -1);
	T_EQ_INT(m.bad, 1);
	m.bad = 0;
	T_EQ_INT(msg_get_strp(&m, &s, &n), -1);
	T_EQ_INT(m.bad, 1);
	m.bad = 0;
	T_ASSERT(msg_get_strdup(&m) == NULL);
	T_EQ_INT(m.bad, 1);
	/* The same bytes are fine as data. */
	m.bad = 0;
	T_EQ_INT(msg_get_data(&m, &p, &n), 0);
	T_EQ_INT(n, 3);
	T_EQ_INT(msg_get_end(&m), 0);

	/* A string longer than the payload. */
	u32 = 100;
	memcpy(f + 20, &u32, 4);
	memcpy(f + 24, "abc", 3);
	T_EQ_INT(msg_parse(f, 27, &m), 27);
	T_EQ_INT(msg_check(&m), -1);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(msg_get_strp(&m, &s, &n), -1);
	T_EQ_INT(m.bad, 1);
	T_EQ_INT(m.pos, 4);
	T_EQ_INT(msg_get_end(&m), -1);
	/* ... or longer than anything: no wrap-around. */
	u32 = 0xffffffffU;
	memcpy(f + 20, &u32, 4);
	T_EQ_INT(msg_parse(f, 27, &m), 27);
	m.pos = 4;
	T_EQ_INT(msg_get_data(&m, &p, &n), -1);

	/* A string that does not fit the caller's buffer. */
	u32 = 8;
	memcpy(f + 20, &u32, 4);
	t_hdr(f, 16 + 4 + 4 + 8, MSG_LOG_NOTIFY, 0, 1);
	memcpy(f + 24, "12345678", 8);
	T_EQ_INT(msg_parse(f, 32, &m), 32);
	m.pos = 4;
	T_EQ_INT(msg_get_str(&m, buf, sizeof(buf)), -1);
	T_EQ_INT(m.bad, 1);
	T_EQ_INT(msg_check(&m), 0);

	/* Trailing bytes. */
	t_hdr(f, 16 + 5, MSG_CHILD_READY_NOTIFY, 0, 1);
	T_EQ_INT(msg_parse(f, 21, &m), 21);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(m.bad, 0);
	T_EQ_INT(msg_get_end(&m), -1);
	T_EQ_INT(msg_check(&m), -1);

	/* Too short for the field; a failure sticks. */
	t_hdr(f, 16 + 7, MSG_CHILD_READY_NOTIFY, 0, 1);
	T_EQ_INT(msg_parse(f, 23, &m), 23);
	T_EQ_INT(msg_get_u64(&m, &u64), -1);
	T_EQ_INT(m.bad, 1);
	T_EQ_INT(msg_get_u32(&m, &u32), -1);
	T_EQ_INT(msg_get_end(&m), -1);
	t_hdr(f, 16 + 3, MSG_CHILD_READY_NOTIFY, 0, 1);
	T_EQ_INT(msg_parse(f, 19, &m), 19);
	T_EQ_INT(msg_get_u32(&m, &u32), -1);
	T_EQ_INT(msg_check(&m), -1);
}

TEST(msg_str_exact_fit)
{
	struct msgchan	 ch;
	struct msg	 m;
	char		 buf[6];
	uint32_t	 u32;

	msg_init(&ch, -1, "t", "t");
	msg_begin(&ch, MSG_LOG_NOTIFY, 1, -1);
	msg_put_u32(&ch, 1);
	msg_put_str(&ch, "hello");
	msg_end(&ch);
	T_EQ_INT(msg_parse(ch.out, ch.outlen, &m), ch.outlen);
	T_EQ_INT(msg_get_u32(&m, &u32), 0);
	T_EQ_INT(msg_get_str(&m, buf, 5), -1);
	m.bad = 0;
	T_EQ_INT(msg_get_str(&m, buf, 6), 0);
	T_EQ_STR(buf, "hello");
	T_EQ_INT(msg_get_end(&m), 0);
	msg_clear(&ch);
}

TEST(msg_parse_prefixes)
{
	struct msg	 m;
	uint8_t		 f[64];
	size_t		 i;

	memset(f, 0xee, sizeof(f));
	t_hdr(f, 24, MSG_CHILD_READY_NOTIFY, 0, 77);
	for (i = 0; i < 24; i++)
		T_EQ_INT(msg_parse(f, i, &m), 0);
	/* Bytes after the frame are the next frame's business. */
	T_EQ_INT(msg_parse(f, sizeof(f), &m), 24);
	T_EQ_INT(m.len, 8);
	T_EQ_INT(m.pos, 0);
	T_EQ_INT(m.fd, -1);
	T_ASSERT(m.id == 77);
	T_ASSERT(m.p == f + MSG_HDRLEN);
	/* fd frames parse with fd -1 and the flag kept. */
	t_hdr(f, 20, MSG_PARENT_PEER_NOTIFY, MSG_F_FD, 78);
	T_EQ_INT(msg_parse(f, 20, &m), 20);
	T_EQ_INT(m.fd, -1);
	T_EQ_INT(m.flags, MSG_F_FD);
	T_EQ_INT(msg_check(&m), 0);
	/* Bad length from 4 bytes on, bad flags from 8. */
	t_hdr(f, 3, MSG_CHILD_READY_NOTIFY, 4, 77);
	T_EQ_INT(msg_parse(f, 3, &m), 0);
	T_EQ_INT(msg_parse(f, 4, &m), -1);
	t_hdr(f, 24, MSG_CHILD_READY_NOTIFY, 4, 77);
	T_EQ_INT(msg_parse(f, 7, &m), 0);
	T_EQ_INT(msg_parse(f, 8, &m), -1);
}

TEST(msg_check_every_type)
{
	struct msgchan	 ch;
	struct msg	 m;
	const char	*sig;
	uint32_t	 u32;
	uint16_t	 t;
	int		 fd, hasfd, optfd, nf, reply, nsigs = 0;

	for (t = 1; t < MSG_TYPE__COUNT; t++) {
	for (reply = 0; reply < 2; reply++) {
		sig = reply ? msg_type_reply_sig(t) : msg_type_sig(t);
		if (reply && sig == NULL) {
			/* No reply signature: a reply frame is bad. */
			T_ASSERT(t_frame(&ch, &m, t, 1, -1, 0, 0) == -1);
			msg_clear(&ch);
			continue;
		}
		T_ASSERT(sig != NULL);
		nsigs++;
		hasfd = strstr(sig, "fd") != NULL;
		optfd = strstr(sig, "fd?") != NULL;

		/* A valid example. */
		fd = hasfd ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
		T_ASSERT((nf = t_frame(&ch, &m, t, reply, fd, 0, 0)) >= 0);
		T_EQ_INT(msg_check(&m), 0);
		T_EQ_INT(m.pos, 0);
		T_EQ_INT((m.flags & MSG_F_REPLY) != 0, reply);
		if (nf > 0 && strncmp(sig, "u32", 3) == 0) {
			/* Checking does not move the read position. */
			T_EQ_INT(msg_get_u32(&m, &u32), 0);
			T_EQ_INT(msg_check(&m), 0);
			T_EQ_INT(m.pos, 4);
		}
		/* Read the other way round it is checked by the other. */
		m.flags ^= MSG_F_REPLY;
		m.pos = 0;
		if ((reply ? msg_type_sig(t) : msg_type_reply_sig(t)) ==
		    NULL)
			T_EQ_INT(msg_check(&m), -1);
		msg_clear(&ch);

		/* A byte too many. */
		fd = hasfd ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
		T_ASSERT(t_frame(&ch, &m, t, reply, fd, 0, 1) >= 0);
		T_EQ_INT(msg_check(&m), -1);
		msg_clear(&ch);

		/* The last field missing. */
		if (nf > 0) {
			fd = hasfd ?
			    open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
			T_ASSERT(t_frame(&ch, &m, t, reply, fd, 1, 0) >= 0);
			T_EQ_INT(msg_check(&m), -1);
			msg_clear(&ch);
		}

		/*
		 * An fd where none belongs, or none where one does; "fd?"
		 * takes both.
		 */
		fd = hasfd ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
		T_ASSERT(t_frame(&ch, &m, t, reply, fd, 0, 0) >= 0);
		T_EQ_INT(msg_check(&m), optfd ? 0 : -1);
		msg_clear(&ch);
	}
	}
	/* Every type and every reply got its round. */
	T_ASSERT(nsigs >= MSG_TYPE__COUNT - 1 + 2);

	/* A valid frame of one type is not one of another. */
	T_ASSERT(t_frame(&ch, &m, MSG_LOG_NOTIFY, 0, -1, 0, 0) == 2);
	T_EQ_INT(msg_check(&m), 0);
	m.type = MSG_CHILD_READY_NOTIFY;
	T_EQ_INT(msg_check(&m), -1);
	m.type = MSG_PARENT_CONF_OPTION_NOTIFY;
	T_EQ_INT(msg_check(&m), -1);
	m.type = MSG_NONE;
	T_EQ_INT(msg_check(&m), -1);
	m.type = MSG_TYPE__COUNT;
	T_EQ_INT(msg_check(&m), -1);
	m.type = 0xffff;
	T_EQ_INT(msg_check(&m), -1);
	msg_clear(&ch);

	/* The reply to CREATE: with its fd, or without one (failure). */
	msg_init(&ch, -1, "t", "t");
	T_ASSERT((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1);
	msg_reply_begin(&ch, MSG_SMTPD_MESSAGE_CREATE, 9, fd);
	msg_put_u32(&ch, MSG_OK);
	msg_put_str(&ch, "");
	msg_put_str(&ch, "emailrelay.1.2.3");
	msg_end(&ch);
	msg_reply_begin(&ch, MSG_SMTPD_MESSAGE_CREATE, 9, -1);
	msg_put_u32(&ch, MSG_TEMPFAIL);
	msg_put_str(&ch, "452 spool full");
	msg_put_str(&ch, "");
	msg_end(&ch);
	T_ASSERT(msg_parse(ch.out, ch.outlen, &m) > 0);
	T_EQ_INT(m.flags, MSG_F_REPLY | MSG_F_FD);
	T_EQ_INT(msg_check(&m), 0);
	T_ASSERT(msg_parse(ch.out + m.len + MSG_HDRLEN,
	    ch.outlen - m.len - MSG_HDRLEN, &m) > 0);
	T_EQ_INT(m.flags, MSG_F_REPLY);
	T_EQ_INT(msg_check(&m), 0);
	/* The same payload as a request is not a CREATE request. */
	m.flags = 0;
	T_EQ_INT(msg_check(&m), -1);
	msg_clear(&ch);
}

TEST(msg_type_table)
{
	const char	*n, *sig;
	uint16_t	 t, u;

	/* Every enum value has its line in msg.c's table, none twice. */
	for (t = 0; t < MSG_TYPE__COUNT; t++) {
		n = msg_type_name(t);
		T_ASSERT(strncmp(n, "MSG_", 4) == 0);
		T_ASSERT(strcmp(n, "MSG_?") != 0);
		for (u = 0; u < t; u++)
			T_ASSERT(strcmp(n, msg_type_name(u)) != 0);
		sig = msg_type_sig(t);
		T_EQ_INT(sig == NULL, t == MSG_NONE);
		/* Requests have a reply signature, notifications none. */
		n = msg_type_name(t);
		if (t != MSG_NONE)
			T_EQ_INT(msg_type_reply_sig(t) == NULL,
			    strlen(n) > 7 &&
			    strcmp(n + strlen(n) - 7, "_NOTIFY") == 0);
	}
	T_EQ_STR(msg_type_reply_sig(MSG_SMTPD_MESSAGE_CREATE),
	    "u32 str str fd?");
	T_EQ_STR(msg_type_reply_sig(MSG_SMTPD_MESSAGE_COMMIT), "u32 str");
	/* Forwarding: the request carries the content fd, the reply none. */
	T_EQ_STR(msg_type_sig(MSG_QUEUE_MESSAGE_FORWARD),
	    "u32 str str str u32 u32 str str fd");
	T_EQ_STR(msg_type_reply_sig(MSG_QUEUE_MESSAGE_FORWARD),
	    "u32 u32 str data");
	T_EQ_STR(msg_type_sig(MSG_QUEUE_MESSAGE_RCPT_NOTIFY), "u32 data");
	T_EQ_STR(msg_type_sig(MSG_SMTPD_SESSION_END_NOTIFY), "u32 u32");
	T_EQ_STR(msg_type_sig(MSG_QUEUE_CLIENT_DONE_NOTIFY), "u32");
	T_ASSERT(msg_type_reply_sig(MSG_QUEUE_CLIENT_DONE_NOTIFY) == NULL);
	T_ASSERT(msg_type_reply_sig(MSG_NONE) == NULL);
	T_ASSERT(msg_type_reply_sig(MSG_TYPE__COUNT) == NULL);
	T_EQ_STR(msg_type_name(MSG_NONE), "MSG_NONE");
	T_EQ_STR(msg_type_name(MSG_LOG_NOTIFY), "MSG_LOG_NOTIFY");
	T_EQ_STR(msg_type_sig(MSG_LOG_NOTIFY), "u32 str");
	T_EQ_STR(msg_type_name(MSG_PARENT_LISTENER_NOTIFY),
	    "MSG_PARENT_LISTENER_NOTIFY");
	T_EQ_STR(msg_type_sig(MSG_PARENT_LISTENER_NOTIFY), "u32 u32 str fd");
	T_EQ_STR(msg_type_sig(MSG_PARENT_START_NOTIFY), "");
	T_EQ_STR(msg_type_name(MSG_TYPE__COUNT), "MSG_?");
	T_EQ_STR(msg_type_name(0xffff), "MSG_?");
	T_ASSERT(msg_type_sig(MSG_TYPE__COUNT) == NULL);
}

TEST(msg_eof)
{
	struct msgchan	 a, b;
	struct msg	 m;
	uint8_t		 f[16];

	T_ASSERT(t_pair(&a, &b) == 0);
	msg_clear(&a);
	T_EQ_INT(msg_read(&b), 0);
	msg_clear(&b);

	/* EOF after half a frame: the half is there, never a frame. */
	T_ASSERT(t_pair(&a, &b) == 0);
	t_hdr(f, 16, MSG_PARENT_START_NOTIFY, 0, 1);
	T_EQ_INT(write(a.fd, f, 5), 5);
	msg_clear(&a);
	T_EQ_INT(msg_read(&b), 5);
	T_EQ_INT(msg_read(&b), 0);
	T_EQ_INT(msg_get(&b, &m), 0);
	msg_clear(&b);
}

TEST(msg_untaken_fd_is_fatal)
{
	char	 err[1024];

	/* fatalx() exits 1; anything else means msg_done() let it pass. */
	T_EQ_INT(t_child(t_child_untaken, err, sizeof(err)), 1);
	if (err[0] != '\0') {
		T_ASSERT(strstr(err, "MSG_PARENT_PEER_NOTIFY") != NULL);
		T_ASSERT(strstr(err, "alpha") != NULL);
		T_ASSERT(strstr(err, "beta") != NULL);
	}
}

TEST(msg_build_misuse_is_fatal)
{
	char	 err[1024];

	T_EQ_INT(t_child(t_child_oversize, err, sizeof(err)), 1);
	T_EQ_INT(t_child(t_child_outside, err, sizeof(err)), 1);
	T_EQ_INT(t_child(t_child_nested, err, sizeof(err)), 1);
}

TEST(msg_clear_closes_fds)
{
	struct msgchan	 a, b;
	int		 p[2], q[2], base;

	base = t_nfds();
	T_ASSERT(t_pair(&a, &b) == 0);
	T_ASSERT(pipe2(p, O_CLOEXEC) == 0);
	T_ASSERT(pipe2(q, O_CLOEXEC) == 0);
	/* Received but never taken. */
	msg_begin(&a, MSG_PARENT_PEER_NOTIFY, 1, p[0]);
	msg_put_u32(&a, 1);
	msg_end(&a);
	T_EQ_INT(msg_flush(&a, 2000), 0);
	T_ASSERT(msg_read(&b) > 0);
	T_EQ_INT(b.ninfds, 1);
	/* Queued, never written; and one in a frame still being built. */
	msg_begin(&a, MSG_PARENT_PEER_NOTIFY, 2, p[1]);
	msg_put_u32(&a, 2);
	msg_end(&a);
	msg_begin(&a, MSG_PARENT_PEER_NOTIFY, 3, q[0]);
	T_EQ_INT(msg_pending(&a), MSG_HDRLEN + 4);
	msg_clear(&a);
	T_ASSERT(!t_isopen(p[1]));
	T_ASSERT(!t_isopen(q[0]));
	msg_clear(&b);
	close(q[1]);
	T_EQ_INT(t_nfds(), base);
}

TEST(msg_flush_timeout)
{
	struct msgchan	 a, b;
	static uint8_t	 data[T_BIGDATA];
	long long	 t0, dt;
	int		 i;

	T_ASSERT(t_pair(&a, &b) == 0);
	for (i = 0; i < 128; i++) {
		msg_begin(&a, MSG_LOG_NOTIFY, i, -1);
		msg_put_data(&a, data, sizeof(data));
		msg_end(&a);
	}
	T_EQ_INT(msg_pending(&a), 128 * MSG_MAX);
	t0 = t_ms();
	T_EQ_INT(msg_flush(&a, 150), -1);
	T_EQ_INT(errno, ETIMEDOUT);
	dt = t_ms() - t0;
	T_ASSERT(dt >= 140 && dt < 2000);
	T_ASSERT(msg_pending(&a) > 0);
	T_ASSERT(msg_pending(&a) < 128 * MSG_MAX);
	msg_clear(&a);
	msg_clear(&b);
}

TEST(msg_write_peer_gone)
{
	struct msgchan	 a, b;

	T_ASSERT(t_pair(&a, &b) == 0);
	msg_clear(&b);
	msg_begin(&a, MSG_CHILD_READY_NOTIFY, 1, -1);
	msg_put_u32(&a, 1);
	msg_end(&a);
	/* No SIGPIPE: this process would not get past it. */
	T_EQ_INT(msg_write(&a), -1);
	T_EQ_INT(errno, EPIPE);
	T_EQ_INT(msg_flush(&a, 100), -1);
	T_EQ_INT(msg_pending(&a), MSG_HDRLEN + 4);
	msg_clear(&a);
}

TEST(msg_input_cap)
{
	struct msgchan	 a, b;
	struct msg	 m;
	static uint8_t	 data[T_BIGDATA];
	const void	*p;
	size_t		 n;
	long		 r;
	int		 i, got = 0, full = 0, rounds = 0;

	T_ASSERT(t_pair(&a, &b) == 0);
	for (i = 0; i < 10; i++) {
		memset(data, i, sizeof(data));
		msg_begin(&a, MSG_LOG_NOTIFY, i, -1);
		msg_put_data(&a, data, sizeof(data));
		msg_end(&a);
	}
	/* Read without taking frames until the buffer is full. */
	while (!full) {
		T_ASSERT(rounds++ < 10000);
		T_EQ_INT(msg_write(&a), 0);
		r = msg_read(&b);
		T_ASSERT(r != 0);
		if (r == -1 && errno == ENOBUFS)
			full = 1;
		else
			T_ASSERT(r > 0 || errno == EAGAIN);
	}
	T_EQ_INT(b.inlen - b.inoff, 4 * MSG_MAX);
	/* Taking frames makes room again; nothing was lost. */
	while (got < 10) {
		T_ASSERT(rounds++ < 20000);
		while (msg_get(&b, &m) == 1) {
			T_ASSERT(m.id == (uint64_t)got);
			T_EQ_INT(msg_get_data(&m, &p, &n), 0);
			T_EQ_INT(n, sizeof(data));
			T_EQ_INT(((const uint8_t *)p)[0], got);
			T_EQ_INT(((const uint8_t *)p)[n - 1], got);
			msg_done(&b, &m);
			got++;
		}
		T_EQ_INT(msg_write(&a), 0);
		r = msg_read(&b);
		T_ASSERT(r > 0 || (r == -1 && errno == EAGAIN));
	}
	msg_clear(&a);
	msg_clear(&b);
}
