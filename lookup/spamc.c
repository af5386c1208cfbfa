/*
 * The spam: and spam-edit: filters' connection to spamd (lookupnet.h,
 * SPEC 6.3): connect, send "PROCESS SPAMC/1.4" and the content file,
 * read the response with spamd.c until spamd closes the connection.
 *
 * spam-edit: keeps spamd's rewritten message in an unnamed temporary
 * file beside the content (bounded), and only once the whole response
 * is in and good copies it over the content file in place: the inode
 * stays the same, so the lock the queue holds on it goes on covering
 * it (SPEC 3, as queue's msgid: does), and a spamd that fails half-way
 * leaves the content untouched.  The file is then fsync'd.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "filter_result.h"
#include "io.h"
#include "log.h"
#include "spool.h"
#include "spamd.h"
#include "lookup.h"
#include "lookupnet.h"

#define SPAMC_CHUNK	(16 * 1024)	/* content read per write */
#define SPAMC_QUEUED	(64 * 1024)	/* output kept queued */
#define SPAMC_EXTRA	(1024 * 1024)	/* growth allowed to spam-edit */

struct spamc {
	struct lookup_ctx	*ctx;
	const char		*unit;		/* instance, for the log */
	int			 edit;
	char			 content[BOUNDS_PATH * 4];
	char			 addr[BOUNDS_PATH * 4];
	int			 cfd;		/* content, read */
	uint64_t		 size;		/* as sent in Content-length */
	uint64_t		 sent;
	int			 tfd;		/* spam-edit's new content */
	uint64_t		 tlen;
	uint64_t		 tcap;
	int			 timeout_ms;
	struct lnet_resolve	*res;
	struct io		*io;
	struct event		*timer;		/* whole-request timeout */
	const char		*fail;		/* deferred failure */
	struct spamd_parser	 p;
	void			(*done)(void *, const struct filter_outcome *);
	void			*arg;
};

static int	 spamc_tmpfile(const char *);
static int	 spamc_on_body(void *, const char *, size_t);
static void	 spamc_on_resolved(void *, const struct sockaddr *, socklen_t,
		    const char *);
static void	 spamc_on_io(struct io *, int, void *);
static void	 spamc_on_timer(evutil_socket_t, short, void *);
static int	 spamc_pump(struct spamc *);
static void	 spamc_finish(struct spamc *, int, const char *);
static int	 spamc_replace(struct spamc *, char *, size_t);
static void	 spamc_free(struct spamc *);

int
lnet_spam_start(struct lookup_ctx *ctx, const char *unit, const char *addr,
    int edit,
    const char *content, int timeout_s,
    void (*done)(void *, const struct filter_outcome *), void *arg)
{
	struct spamc	*s;
	struct stat	 st;
	struct timeval	 tv = { 0, 0 };

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (-1);
	s->ctx = ctx;
	s->unit = unit;
	s->edit = edit;
	s->cfd = -1;
	s->tfd = -1;
	s->done = done;
	s->arg = arg;
	s->timeout_ms = (timeout_s > 0 ? timeout_s : 60) * 1000;
	(void)strlcpy(s->content, content, sizeof(s->content));
	(void)strlcpy(s->addr, addr, sizeof(s->addr));
	if ((s->timer = evtimer_new(ctx->base, spamc_on_timer, s)) == NULL) {
		free(s);
		errno = ENOMEM;
		return (-1);
	}
	spamd_init(&s->p, edit ? spamc_on_body : NULL, s);
	if ((s->cfd = open(content, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1 || fstat(s->cfd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warn("lookup: spam: %s", content);
		s->fail = "spamd: cannot read the content file";
		evtimer_add(s->timer, &tv);
		return (0);
	}
	s->size = (uint64_t)st.st_size;
	s->tcap = s->size * 2 + SPAMC_EXTRA;
	if (edit && (s->tfd = spamc_tmpfile(content)) == -1) {
		log_warn("lookup: spam-edit: temporary file beside %s",
		    content);
		s->fail = "spamd: cannot make a temporary file";
		evtimer_add(s->timer, &tv);
		return (0);
	}
	tv.tv_sec = s->timeout_ms / 1000;
	evtimer_add(s->timer, &tv);
	if ((s->res = lnet_resolve_start(ctx, addr, s->timeout_ms,
	    spamc_on_resolved, s)) == NULL) {
		spamc_free(s);
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

/*
 * An unnamed file in the directory of path (O_TMPFILE, or a name
 * removed at once), mode 0600.  Returns its descriptor or -1.
 */
static int
spamc_tmpfile(const char *path)
{
	char		 dir[BOUNDS_PATH * 4], name[BOUNDS_PATH * 4 + 64];
	const char	*slash;
	int		 fd, n;

	if ((slash = strrchr(path, '/')) == NULL ||
	    (size_t)(slash - path) >= sizeof(dir)) {
		errno = EINVAL;
		return (-1);
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (dir[0] == '\0')
		(void)strlcpy(dir, "/", sizeof(dir));
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL))
		return (fd);
	/* One filter at a time works on a message: its name is unique. */
	n = snprintf(name, sizeof(name), "%s/.spam-edit.%ld.%s", dir,
	    (long)getpid(), slash + 1);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = open(name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return (-1);
	(void)unlink(name);
	return (fd);
}

/* spamd's rewritten message, piece by piece, into the temporary file. */
static int
spamc_on_body(void *arg, const char *data, size_t len)
{
	struct spamc	*s = arg;
	ssize_t		 n;

	if (s->tlen + len > s->tcap)
		return (-1);
	while (len > 0) {
		if ((n = write(s->tfd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		data += n;
		len -= (size_t)n;
		s->tlen += (uint64_t)n;
	}
	return (0);
}

static void
spamc_on_resolved(void *arg, const struct sockaddr *sa, socklen_t salen,
    const char *errstr)
{
	struct spamc	*s = arg;
	char		 why[128];

	s->res = NULL;
	if (sa == NULL) {
		(void)snprintf(why, sizeof(why), "spamd: cannot connect: %s",
		    errstr);
		spamc_finish(s, 0, why);	/* s is gone */
		return;
	}
	if ((s->io = lnet_io_connect(s->ctx, sa, salen, s->timeout_ms,
	    spamc_on_io, s)) == NULL) {
		(void)snprintf(why, sizeof(why), "spamd: cannot connect: %s",
		    strerror(errno));
		spamc_finish(s, 0, why);	/* s is gone */
	}
}

static void
spamc_on_io(struct io *io, int event, void *arg)
{
	struct spamc	*s = arg;
	char		 hdr[SPAMD_REQUEST_MAX], why[128];
	int		 n, r;

	switch (event) {
	case IO_CONNECTED:
		if ((n = spamd_request(hdr, sizeof(hdr), s->size, NULL)) ==
		    -1 || io_write(io, hdr, (size_t)n) == -1) {
			spamc_finish(s, 0, "spamd: cannot send the request");
			return;
		}
		io_set_lowat(io, SPAMC_QUEUED / 2);
		/* FALLTHROUGH */
	case IO_LOWAT:
		if (spamc_pump(s) == -1)
			spamc_finish(s, 0, "spamd: cannot read the content "
			    "file");
		return;
	case IO_DATAIN:
		r = spamd_parse(&s->p, io_data(io), io_datalen(io));
		io_drop(io, io_datalen(io));
		if (r == SPAMD_ERROR)
			spamc_finish(s, 0, NULL);
		return;
	case IO_EOF:
		(void)spamd_eof(&s->p);
		spamc_finish(s, 0, NULL);
		return;
	case IO_TIMEOUT:
		spamc_finish(s, 1, NULL);
		return;
	default:
		(void)snprintf(why, sizeof(why), "spamd: %s%s",
		    s->sent == 0 ? "cannot connect: " : "",
		    strerror(io_error(io)));
		spamc_finish(s, 0, why);
		return;
	}
}

/*
 * Queue more of the content while little is waiting.  Returns 0, or -1
 * when the file cannot be read or is shorter than it was.
 */
static int
spamc_pump(struct spamc *s)
{
	char	 buf[SPAMC_CHUNK];
	size_t	 want;
	ssize_t	 n;

	while (s->sent < s->size && io_queued(s->io) < SPAMC_QUEUED) {
		want = s->size - s->sent < sizeof(buf) ?
		    (size_t)(s->size - s->sent) : sizeof(buf);
		if ((n = read(s->cfd, buf, want)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0 || io_write(s->io, buf, (size_t)n) == -1)
			return (-1);
		s->sent += (uint64_t)n;
	}
	return (0);
}

static void
spamc_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct spamc	*s = arg;

	if (s->fail != NULL)
		spamc_finish(s, 0, s->fail);
	else
		spamc_finish(s, 1, NULL);
}

/*
 * The request is over: a failure (why), a timeout, or else what the
 * parser says; spam-edit's new content replaces the old one now.
 * Reports and frees s.
 */
static void
spamc_finish(struct spamc *s, int timed_out, const char *why)
{
	struct filter_outcome	 o;
	char			 buf[256], err[256], reason[512];

	(void)log_vis(buf, sizeof(buf), s->addr, strlen(s->addr));
	if (timed_out) {
		log_warnx("lookup: spamd %s: timeout", buf);
		spamd_fail(NULL, 1, &o);
	} else if (why != NULL) {
		log_warnx("lookup: spamd %s: %s", buf, why);
		spamd_fail(why, 0, &o);
	} else {
		spamd_outcome(&s->p, s->edit, &o);
		if (o.action == FILTER_FAIL && s->p.state == SPAMD_ST_ERROR)
			log_warnx("lookup: spamd %s: %s", buf, o.reason);
		if (o.action == FILTER_PASS && s->edit &&
		    spamc_replace(s, err, sizeof(err)) == -1) {
			log_warnx("lookup: spam-edit: %s", err);
			(void)snprintf(reason, sizeof(reason), "spam-edit: "
			    "cannot rewrite the content: %s", err);
			spamd_fail(reason, 0, &o);
		}
		if (s->p.have_verdict)
			ulog_verbose(s->unit, "spam%s: [%s]: score %s/%s%s",
			    s->edit ?
			    "-edit" : "", log_vis(buf, sizeof(buf),
			    strrchr(s->content, '/') + 1,
			    strlen(strrchr(s->content, '/') + 1)),
			    s->p.score_text, s->p.threshold_text,
			    s->p.spam ? ": spam" : "");
	}
	s->done(s->arg, &o);
	spamc_free(s);
}

/*
 * Copy the temporary file over the content file (same inode), cut it to
 * the new length and fsync it.  Returns 0, or -1 with err set.
 */
static int
spamc_replace(struct spamc *s, char *err, size_t errsz)
{
	char		 buf[SPAMC_CHUNK];
	uint64_t	 done = 0;
	ssize_t		 n, w;
	size_t		 off;
	int		 fd;

	if (lseek(s->tfd, 0, SEEK_SET) == -1 ||
	    (fd = open(s->content, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		(void)snprintf(err, errsz, "%s", strerror(errno));
		return (-1);
	}
	while (done < s->tlen) {
		if ((n = read(s->tfd, buf, sizeof(buf))) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == 0)
				errno = ENODATA;
			goto fail;
		}
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			if ((w = write(fd, buf + off, (size_t)n - off)) ==
			    -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				goto fail;
			}
		}
		done += (uint64_t)n;
	}
	if (ftruncate(fd, (off_t)s->tlen) == -1 || spool_fsync_fd(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		(void)snprintf(err, errsz, "%s", strerror(errno));
		return (-1);
	}
	return (0);
 fail:
	(void)snprintf(err, errsz, "%s", strerror(errno));
	close(fd);
	return (-1);
}

static void
spamc_free(struct spamc *s)
{
	lnet_resolve_cancel(s->res);
	if (s->io != NULL)
		io_free(s->io);
	event_free(s->timer);
	if (s->cfd != -1)
		close(s->cfd);
	if (s->tfd != -1)
		close(s->tfd);
	free(s);
}
