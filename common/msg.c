/*
 * Framed messages between processes (STYLE.md section 2): frames built in
 * the channel's output buffer, written with sendmsg() (descriptors ride
 * with the first byte of their frame), read with recvmsg(), parsed and
 * read back field by field.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"

#define MSG_INMAX	(4 * MSG_MAX)	/* unread input, then take frames */
#define MSG_OUTMAX	(64 * 1024 * 1024)	/* unsent: a stuck peer */
#define MSG_RECVFDS	16		/* room for fds in one recvmsg() */

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* The wire header; copied with memcpy(), never accessed in place. */
struct msg_hdr {
	uint32_t	 len;
	uint16_t	 type;
	uint16_t	 flags;
	uint64_t	 id;
};

_Static_assert(sizeof(struct msg_hdr) == MSG_HDRLEN,
    "struct msg_hdr must match MSG_HDRLEN");

struct msg_sig {
	const char	*name;
	const char	*sig;		/* request (or notification) */
	const char	*rsig;		/* reply, NULL for none */
};

enum msg_field {
	MSGF_END,
	MSGF_U32,
	MSGF_U64,
	MSGF_STR,
	MSGF_DATA,
	MSGF_FD,
	MSGF_FDOPT,
	MSGF_BAD
};

static void	 msg_grow(struct msgchan *, size_t, uint16_t);
static void	 msg_field(struct msgchan *, size_t);
static void	 msg_add(struct msgchan *, const void *, size_t);
static uint16_t	 msg_curtype(const struct msgchan *);
static void	 msg_compact_out(struct msgchan *);
static void	 msg_drop(struct msgchan *);
static int	 msg_need(struct msg *, size_t);
static int	 msg_get_lenp(struct msg *, const uint8_t **, size_t *);
static enum msg_field msg_sig_next(const char **);
static void	 msg_begin_flags(struct msgchan *, uint16_t, uint64_t, int,
		    uint16_t);

/*
 * Signatures, one line per enum msg_type value in enum order: the
 * request's, then the reply's (NULL for a _NOTIFY); the count is checked
 * below and the unit test checks that there is no hole.
 */
#define SIG(t, s, r)	[t] = { #t, s, r }
static const struct msg_sig msg_sigs[] = {
	SIG(MSG_NONE,				NULL, NULL),
	SIG(MSG_PARENT_CONF_INSTANCE_NOTIFY,	"u32 str", NULL),
	SIG(MSG_PARENT_CONF_OPTION_NOTIFY,	"u32 u32 u32 str", NULL),
	SIG(MSG_PARENT_CONF_END_NOTIFY,		"u32", NULL),
	SIG(MSG_PARENT_PEER_NOTIFY,		"u32 fd", NULL),
	SIG(MSG_PARENT_LISTENER_NOTIFY,		"u32 u32 str fd", NULL),
	SIG(MSG_PARENT_START_NOTIFY,		"", NULL),
	SIG(MSG_CHILD_READY_NOTIFY,		"u32", NULL),
	SIG(MSG_LOG_NOTIFY,			"u32 str", NULL),
	SIG(MSG_SMTPD_MESSAGE_CREATE,		"u32 u64", "u32 str str fd?"),
	SIG(MSG_SMTPD_MESSAGE_ENVELOPE_NOTIFY,
	    "u32 u32 str str str str str", NULL),
	SIG(MSG_SMTPD_MESSAGE_RCPT_NOTIFY,	"u32 data", NULL),
	SIG(MSG_SMTPD_MESSAGE_COMMIT,		"u64", "u32 str"),
	SIG(MSG_SMTPD_MESSAGE_ROLLBACK_NOTIFY,	"", NULL),
	SIG(MSG_SMTPD_SESSION_END_NOTIFY,	"u32 u32", NULL),
	SIG(MSG_QUEUE_MESSAGE_RCPT_NOTIFY,	"u32 data", NULL),
	SIG(MSG_QUEUE_MESSAGE_FORWARD,
	    "u32 str str str u32 u32 str str fd", "u32 u32 str data"),
	SIG(MSG_QUEUE_CLIENT_DONE_NOTIFY,	"u32", NULL),
	SIG(MSG_QUEUE_FILTER_RUN,		"u32 u32 str str str",
	    "u32 u32 u32 u32 u32 u32 str str str"),
	SIG(MSG_SMTPD_RCPT_VERIFY,		"u32 str str str str str str",
	    "u32 u32 str str str"),
	SIG(MSG_SMTPD_SESSION_CHECK,		"u32 str", "u32 str str"),
	SIG(MSG_SMTPD_AUTH_CHECK,		"u32 str str str str str str",
	    "u32 str"),
	SIG(MSG_POP_SESSION_CHECK,		"u32 str", "u32 str str"),
	SIG(MSG_POP_AUTH_CHECK,			"u32 str str str str str str",
	    "u32 str"),
	SIG(MSG_LOOKUP_PAM_CHECK,		"str str", "u32"),
	SIG(MSG_MTA_CLIENT_SECRET,		"u32 str", "u32 u32 str data"),
	SIG(MSG_LOOKUP_SECRETS_OPEN,		"str", "u32 fd?"),
	SIG(MSG_QUEUE_POLL_RUN,			"u32 str str", "u32 u32"),
	SIG(MSG_CONTROL_QUEUE_FORWARD,		"u32 u32", "u32 str"),
	SIG(MSG_CONTROL_QUEUE_UNFAIL,		"u32", "u32 str"),
	SIG(MSG_CONTROL_QUEUE_LIST,		"u32 u32 str", "u32 u32 str"),
	SIG(MSG_QUEUE_EVENT_NOTIFY,		"u32 str", NULL),
	SIG(MSG_CONTROL_SMTP_ENABLE,		"u32 u32", "u32 str"),
	SIG(MSG_CONTROL_SMTP_STATUS,		"", "u32 u64 u64 str str"),
	SIG(MSG_CONTROL_MTA_STATUS,		"", "u32 u64 u64"),
	SIG(MSG_CONTROL_TERMINATE_NOTIFY,	"", NULL),
	SIG(MSG_MTA_RESOLVE,			"str", "u32 str"),
	SIG(MSG_CONTROL_LOOKUP_DNSBL,		"u32 u32", "u32 str"),
	SIG(MSG_CTL_QUEUE_SHOW,			"u32 u32 str",
	    "u32 str u32 u32 data"),
	SIG(MSG_CTL_MESSAGE_SHOW,		"u32 str", "u32 str str data"),
	SIG(MSG_CTL_QUEUE_FORWARD,		"u32 str", "u32 str"),
	SIG(MSG_CTL_MESSAGE_RETRY,		"u32 str", "u32 str"),
	SIG(MSG_CTL_MESSAGE_REMOVE,		"u32 str", "u32 str"),
	SIG(MSG_CTL_PAUSE,			"u32 u32 u32", "u32 str"),
	SIG(MSG_CTL_STATS,			"u32", "u32 str"),
	SIG(MSG_CTL_LOG,			"u32 u32", "u32 str"),
	SIG(MSG_CTL_RELOAD,			"u32", "u32 str"),
	SIG(MSG_CTL_STOP,			"u32", "u32 str"),
	SIG(MSG_PARENT_TLS_FILE_NOTIFY,		"str fd", NULL),
	SIG(MSG_PARENT_TLS_END_NOTIFY,		"", NULL),
};
#undef SIG

_Static_assert(nitems(msg_sigs) == MSG_TYPE__COUNT,
    "msg_sigs[] in msg.c needs one line per enum msg_type value");

void
msg_init(struct msgchan *ch, int fd, const char *self, const char *peer)
{
	memset(ch, 0, sizeof(*ch));
	ch->fd = fd;
	ch->self = self != NULL ? self : "?";
	ch->peer = peer != NULL ? peer : "?";
	ch->curfd = -1;
}

void
msg_clear(struct msgchan *ch)
{
	size_t	 i;

	for (i = 0; i < ch->noutfds; i++)
		close(ch->outfds[i].fd);
	if (ch->curfd != -1)
		close(ch->curfd);
	for (i = 0; i < ch->ninfds; i++)
		close(ch->infds[i]);
	free(ch->outfds);
	freezero(ch->in, ch->insz);
	freezero(ch->out, ch->outsz);
	if (ch->fd != -1)
		close(ch->fd);
	msg_init(ch, -1, ch->self, ch->peer);
}

/*
 * Make room for n more bytes at the end of the output buffer; type names
 * the frame in the fatal line.
 */
static void
msg_grow(struct msgchan *ch, size_t n, uint16_t type)
{
	uint8_t	*p;
	size_t	 sz;

	if (ch->outsz - ch->outlen >= n)
		return;
	if (ch->outlen - ch->outoff + n > MSG_OUTMAX)
		fatalx("%s: %s to %s: over %d bytes queued", ch->self,
		    msg_type_name(type), ch->peer, MSG_OUTMAX);
	sz = ch->outsz == 0 ? MSG_MAX : ch->outsz;
	while (sz - ch->outlen < n)
		sz *= 2;
	if ((p = recallocarray(ch->out, ch->outsz, sz, 1)) == NULL)
		fatal("%s: %s to %s", ch->self, msg_type_name(type),
		    ch->peer);
	ch->out = p;
	ch->outsz = sz;
}

static uint16_t
msg_curtype(const struct msgchan *ch)
{
	struct msg_hdr	 h;

	memcpy(&h, ch->out + ch->cur, sizeof(h));
	return (h.type);
}

/* Make room for a field of n bytes in the frame being built. */
static void
msg_field(struct msgchan *ch, size_t n)
{
	if (!ch->building)
		fatalx("%s: field for %s outside msg_begin/msg_end", ch->self,
		    ch->peer);
	if (n > MSG_MAX || ch->outlen - ch->cur + n > MSG_MAX)
		fatalx("%s: %s to %s: frame over %d bytes", ch->self,
		    msg_type_name(msg_curtype(ch)), ch->peer, MSG_MAX);
	msg_grow(ch, n, msg_curtype(ch));
}

static void
msg_add(struct msgchan *ch, const void *p, size_t n)
{
	msg_field(ch, n);
	if (n > 0)
		memcpy(ch->out + ch->outlen, p, n);
	ch->outlen += n;
}

/* Move unsent bytes to the front once that costs less than what was sent. */
static void
msg_compact_out(struct msgchan *ch)
{
	size_t	 left, i;

	if (ch->outoff == 0 || ch->building)
		return;
	left = ch->outlen - ch->outoff;
	if (left > ch->outoff)
		return;
	memmove(ch->out, ch->out + ch->outoff, left);
	explicit_bzero(ch->out + left, ch->outoff);
	for (i = 0; i < ch->noutfds; i++)
		ch->outfds[i].off -= ch->outoff;
	ch->outlen = left;
	ch->outoff = 0;
}

void
msg_begin(struct msgchan *ch, uint16_t type, uint64_t id, int fd)
{
	msg_begin_flags(ch, type, id, fd, 0);
}

void
msg_reply_begin(struct msgchan *ch, uint16_t type, uint64_t id, int fd)
{
	msg_begin_flags(ch, type, id, fd, MSG_F_REPLY);
}

static void
msg_begin_flags(struct msgchan *ch, uint16_t type, uint64_t id, int fd,
    uint16_t flags)
{
	struct msg_hdr	 h;
	struct msgfd	*p;
	size_t		 sz;

	if (ch->building)
		fatalx("%s: %s to %s begun inside %s", ch->self,
		    msg_type_name(type), ch->peer,
		    msg_type_name(msg_curtype(ch)));
	if (fd < -1)
		fatalx("%s: %s to %s: bad fd %d", ch->self,
		    msg_type_name(type), ch->peer, fd);
	if (fd != -1 && ch->noutfds == ch->outfdsz) {
		sz = ch->outfdsz == 0 ? 8 : ch->outfdsz * 2;
		if ((p = reallocarray(ch->outfds, sz, sizeof(*p))) == NULL)
			fatal("%s: %s to %s", ch->self, msg_type_name(type),
			    ch->peer);
		ch->outfds = p;
		ch->outfdsz = sz;
	}
	msg_compact_out(ch);
	msg_grow(ch, MSG_HDRLEN, type);
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.flags = flags | (fd != -1 ? MSG_F_FD : 0);
	h.id = id;
	ch->cur = ch->outlen;
	memcpy(ch->out + ch->outlen, &h, sizeof(h));
	ch->outlen += sizeof(h);
	ch->building = 1;
	ch->curfd = fd;
}

void
msg_put_u32(struct msgchan *ch, uint32_t v)
{
	msg_add(ch, &v, sizeof(v));
}

void
msg_put_u64(struct msgchan *ch, uint64_t v)
{
	msg_add(ch, &v, sizeof(v));
}

void
msg_put_str(struct msgchan *ch, const char *s)
{
	if (s == NULL)
		fatalx("%s: NULL string for %s", ch->self, ch->peer);
	msg_put_data(ch, s, strlen(s));
}

void
msg_put_data(struct msgchan *ch, const void *p, size_t len)
{
	uint32_t	 n;

	/* Check before the cast: a huge len must not wrap to a small n. */
	msg_field(ch, len);
	n = (uint32_t)len;
	msg_add(ch, &n, sizeof(n));
	msg_add(ch, p, len);
}

void
msg_end(struct msgchan *ch)
{
	uint32_t	 len;

	if (!ch->building)
		fatalx("%s: msg_end to %s without msg_begin", ch->self,
		    ch->peer);
	len = (uint32_t)(ch->outlen - ch->cur);
	memcpy(ch->out + ch->cur + offsetof(struct msg_hdr, len), &len,
	    sizeof(len));
	if (ch->curfd != -1) {
		/* msg_begin() made room. */
		ch->outfds[ch->noutfds].off = ch->cur;
		ch->outfds[ch->noutfds].fd = ch->curfd;
		ch->noutfds++;
	}
	ch->building = 0;
	ch->curfd = -1;
}

size_t
msg_pending(const struct msgchan *ch)
{
	return ((ch->building ? ch->cur : ch->outlen) - ch->outoff);
}

int
msg_write(struct msgchan *ch)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	size_t		 limit, end, withfd;
	ssize_t		 n;

	limit = ch->building ? ch->cur : ch->outlen;
	while (ch->outoff < limit) {
		/*
		 * An fd goes with the first byte of its frame, and no
		 * sendmsg() reaches into a later frame that has one: fds
		 * then arrive in frame order, never after their frame's
		 * first byte.
		 */
		withfd = ch->noutfds > 0 && ch->outfds[0].off == ch->outoff;
		end = limit;
		if (ch->noutfds > withfd && ch->outfds[withfd].off < end)
			end = ch->outfds[withfd].off;
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = ch->out + ch->outoff;
		iov.iov_len = end - ch->outoff;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (withfd) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			mh.msg_control = cmsgbuf.buf;
			mh.msg_controllen = sizeof(cmsgbuf.buf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cm), &ch->outfds[0].fd, sizeof(int));
		}
		n = sendmsg(ch->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			return (-1);
		}
		if (n == 0)
			return (0);
		if (withfd) {
			/* The peer has its copy now. */
			close(ch->outfds[0].fd);
			ch->noutfds--;
			memmove(ch->outfds, ch->outfds + 1,
			    ch->noutfds * sizeof(*ch->outfds));
		}
		ch->outoff += (size_t)n;
	}
	if (!ch->building && ch->outoff == ch->outlen && ch->outlen > 0) {
		explicit_bzero(ch->out, ch->outlen);
		ch->outoff = ch->outlen = 0;
	}
	return (0);
}

int
msg_flush(struct msgchan *ch, int timeout_ms)
{
	struct pollfd	 pfd;
	struct timespec	 t0, now;
	long long	 elapsed;
	int		 wait;

	if (clock_gettime(CLOCK_MONOTONIC, &t0) == -1)
		return (-1);
	for (;;) {
		if (msg_write(ch) == -1)
			return (-1);
		if (msg_pending(ch) == 0)
			return (0);
		wait = -1;
		if (timeout_ms >= 0) {
			if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
				return (-1);
			elapsed = (now.tv_sec - t0.tv_sec) * 1000LL +
			    (now.tv_nsec - t0.tv_nsec) / 1000000;
			if (elapsed >= timeout_ms) {
				errno = ETIMEDOUT;
				return (-1);
			}
			wait = (int)(timeout_ms - elapsed);
		}
		pfd.fd = ch->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, wait) == -1 && errno != EINTR)
			return (-1);
	}
}

/* Forget the frame handed out by msg_get(), if any. */
static void
msg_drop(struct msgchan *ch)
{
	ch->inoff += ch->consumed;
	ch->consumed = 0;
	if (ch->inoff == ch->inlen && ch->inlen > 0) {
		explicit_bzero(ch->in, ch->inlen);
		ch->inoff = ch->inlen = 0;
	}
}

long
msg_read(struct msgchan *ch)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(MSG_RECVFDS * sizeof(int))];
	} cmsgbuf;
	uint8_t		*p;
	size_t		 unread, sz, nfds, i;
	ssize_t		 n;
	int		 fd;

	msg_drop(ch);
	unread = ch->inlen - ch->inoff;
	if (ch->inoff > 0) {
		memmove(ch->in, ch->in + ch->inoff, unread);
		explicit_bzero(ch->in + unread, ch->inoff);
		ch->inlen = unread;
		ch->inoff = 0;
	}
	if (unread >= MSG_INMAX) {
		errno = ENOBUFS;
		return (-1);
	}
	if (ch->insz - ch->inlen < MSG_MAX && ch->insz < MSG_INMAX) {
		sz = ch->insz == 0 ? MSG_MAX : ch->insz * 2;
		if (sz > MSG_INMAX)
			sz = MSG_INMAX;
		if ((p = recallocarray(ch->in, ch->insz, sz, 1)) == NULL)
			return (-1);
		ch->in = p;
		ch->insz = sz;
	}

	memset(&mh, 0, sizeof(mh));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ch->in + ch->inlen;
	iov.iov_len = ch->insz - ch->inlen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(ch->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);

	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(fd));
			if (ch->ninfds < MSG_MAXFDS)
				ch->infds[ch->ninfds++] = fd;
			else {
				close(fd);
				ch->broken = 1;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		ch->broken = 1;
	ch->inlen += (size_t)n;
	return ((long)n);
}

int
msg_get(struct msgchan *ch, struct msg *m)
{
	long	 n;

	msg_drop(ch);
	if (ch->broken)
		return (-1);
	if (ch->in == NULL)
		return (0);
	n = msg_parse(ch->in + ch->inoff, ch->inlen - ch->inoff, m);
	if (n == 0)
		return (0);
	if (n == -1) {
		ch->broken = 1;
		return (-1);
	}
	if (m->flags & MSG_F_FD) {
		/* Its fd came with its first byte, after earlier frames'. */
		if (ch->ninfds == 0) {
			ch->broken = 1;
			return (-1);
		}
		m->fd = ch->infds[0];
		ch->ninfds--;
		memmove(ch->infds, ch->infds + 1,
		    ch->ninfds * sizeof(ch->infds[0]));
	}
	ch->consumed = (size_t)n;
	return (1);
}

void
msg_done(struct msgchan *ch, struct msg *m)
{
	if (m->fd != -1)
		fatalx("%s: %s from %s: passed fd not taken", ch->self,
		    msg_type_name(m->type), ch->peer);
	msg_drop(ch);
	m->p = NULL;
	m->len = m->pos = 0;
}

long
msg_parse(const uint8_t *buf, size_t len, struct msg *m)
{
	struct msg_hdr	 h;

	if (len < offsetof(struct msg_hdr, type))
		return (0);
	memcpy(&h.len, buf + offsetof(struct msg_hdr, len), sizeof(h.len));
	if (h.len < MSG_HDRLEN || h.len > MSG_MAX)
		return (-1);
	if (len >= offsetof(struct msg_hdr, id)) {
		memcpy(&h.flags, buf + offsetof(struct msg_hdr, flags),
		    sizeof(h.flags));
		if (h.flags & ~(MSG_F_FD | MSG_F_REPLY))
			return (-1);
	}
	if (len < h.len)
		return (0);
	memcpy(&h, buf, sizeof(h));
	m->type = h.type;
	m->flags = h.flags;
	m->id = h.id;
	m->p = buf + MSG_HDRLEN;
	m->len = h.len - MSG_HDRLEN;
	m->pos = 0;
	m->fd = -1;
	m->bad = 0;
	return ((long)h.len);
}

/* Whether n more bytes are there; sets m->bad if not (or already bad). */
static int
msg_need(struct msg *m, size_t n)
{
	if (m->bad || m->pos > m->len || m->len - m->pos < n) {
		m->bad = 1;
		return (-1);
	}
	return (0);
}

int
msg_get_u32(struct msg *m, uint32_t *v)
{
	if (msg_need(m, sizeof(*v)) == -1)
		return (-1);
	memcpy(v, m->p + m->pos, sizeof(*v));
	m->pos += sizeof(*v);
	return (0);
}

int
msg_get_u64(struct msg *m, uint64_t *v)
{
	if (msg_need(m, sizeof(*v)) == -1)
		return (-1);
	memcpy(v, m->p + m->pos, sizeof(*v));
	m->pos += sizeof(*v);
	return (0);
}

/* A u32 length and that many bytes; m->pos stays put on failure. */
static int
msg_get_lenp(struct msg *m, const uint8_t **p, size_t *len)
{
	uint32_t	 n;
	size_t		 save = m->pos;

	if (msg_get_u32(m, &n) == -1)
		return (-1);
	if (msg_need(m, n) == -1) {
		m->pos = save;
		return (-1);
	}
	*p = m->p + m->pos;
	*len = n;
	m->pos += n;
	return (0);
}

int
msg_get_strp(struct msg *m, const char **s, size_t *len)
{
	const uint8_t	*p;
	size_t		 n, save = m->pos;

	if (msg_get_lenp(m, &p, &n) == -1)
		return (-1);
	if (memchr(p, '\0', n) != NULL) {
		m->pos = save;
		m->bad = 1;
		return (-1);
	}
	*s = (const char *)p;
	*len = n;
	return (0);
}

int
msg_get_str(struct msg *m, char *buf, size_t bufsz)
{
	const char	*s;
	size_t		 n, save = m->pos;

	if (msg_get_strp(m, &s, &n) == -1)
		return (-1);
	if (n >= bufsz) {
		m->pos = save;
		m->bad = 1;
		return (-1);
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return (0);
}

char *
msg_get_strdup(struct msg *m)
{
	const char	*s;
	char		*r;
	size_t		 n, save = m->pos;

	if (msg_get_strp(m, &s, &n) == -1)
		return (NULL);
	if ((r = malloc(n + 1)) == NULL) {
		m->pos = save;
		return (NULL);
	}
	memcpy(r, s, n);
	r[n] = '\0';
	return (r);
}

int
msg_get_data(struct msg *m, const void **p, size_t *len)
{
	const uint8_t	*q;

	if (msg_get_lenp(m, &q, len) == -1)
		return (-1);
	*p = q;
	return (0);
}

int
msg_get_end(struct msg *m)
{
	if (m->bad || m->pos != m->len)
		return (-1);
	return (0);
}

int
msg_take_fd(struct msg *m)
{
	int	 fd = m->fd;

	m->fd = -1;
	return (fd);
}

const char *
msg_type_name(uint16_t type)
{
	if (type >= nitems(msg_sigs) || msg_sigs[type].name == NULL)
		return ("MSG_?");
	return (msg_sigs[type].name);
}

const char *
msg_type_sig(uint16_t type)
{
	if (type >= nitems(msg_sigs))
		return (NULL);
	return (msg_sigs[type].sig);
}

const char *
msg_type_reply_sig(uint16_t type)
{
	if (type >= nitems(msg_sigs))
		return (NULL);
	return (msg_sigs[type].rsig);
}

/* The next field of a signature; advances *sp past it. */
static enum msg_field
msg_sig_next(const char **sp)
{
	static const struct {
		const char	*word;
		enum msg_field	 field;
	} words[] = {
		{ "u32",	MSGF_U32 },
		{ "u64",	MSGF_U64 },
		{ "str",	MSGF_STR },
		{ "data",	MSGF_DATA },
		{ "fd",		MSGF_FD },
		{ "fd?",	MSGF_FDOPT },
	};
	const char	*s = *sp;
	size_t		 n, i;

	s += strspn(s, " ");
	if (*s == '\0')
		return (MSGF_END);
	n = strcspn(s, " ");
	*sp = s + n;
	for (i = 0; i < nitems(words); i++)
		if (strlen(words[i].word) == n &&
		    strncmp(words[i].word, s, n) == 0)
			return (words[i].field);
	return (MSGF_BAD);
}

int
msg_check(const struct msg *m)
{
	struct msg	 c;
	const char	*sig, *s;
	const void	*p;
	size_t		 len;
	uint64_t	 u64;
	uint32_t	 u32;
	enum msg_field	 f;
	int		 wantfd = 0;

	sig = (m->flags & MSG_F_REPLY) ? msg_type_reply_sig(m->type) :
	    msg_type_sig(m->type);
	if (sig == NULL)
		return (-1);
	c = *m;
	c.pos = 0;
	c.bad = 0;
	while ((f = msg_sig_next(&sig)) != MSGF_END) {
		switch (f) {
		case MSGF_U32:
			(void)msg_get_u32(&c, &u32);
			break;
		case MSGF_U64:
			(void)msg_get_u64(&c, &u64);
			break;
		case MSGF_STR:
			(void)msg_get_strp(&c, &s, &len);
			break;
		case MSGF_DATA:
			(void)msg_get_data(&c, &p, &len);
			break;
		case MSGF_FD:
			wantfd = 1;
			break;
		case MSGF_FDOPT:
			wantfd = -1;
			break;
		case MSGF_END:
		case MSGF_BAD:
			return (-1);
		}
	}
	if (wantfd != -1 && ((m->flags & MSG_F_FD) != 0) != wantfd)
		return (-1);
	return (msg_get_end(&c));
}
