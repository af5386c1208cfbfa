/*
 * retry: (SPEC 6.4) in a temporary spool: which failed messages may go
 * back to ready (envelope_retry_due()), the retry count kept in the
 * envelope (spool_retry()), and recovery that leaves alone a content
 * file whose envelopes live in sub-directories (copy:pop, SPEC 8).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "spool.h"
#include "t.h"

#define BASE	"emailrelay.1.1700000000.1"

static int	 rt_dir(char *, size_t);
static void	 rt_rm(int, const char *);
static void	 rt_done(const char *, int);
static int	 rt_write(int, const char *, const char *, size_t);
static int	 rt_bad(int, const char *, const char *, int);
static int	 rt_exists(int, const char *);
static char	*rt_read(int, const char *);
static int	 rt_age(int, const char *);
static int	 rt_env(struct envelope *, const char *, int);

static mode_t	 rt_umask;

/* A temporary directory; returns an O_DIRECTORY fd or -1. */
static int
rt_dir(char *path, size_t size)
{
	const char	*tmp;
	size_t		 i;
	int		 r;

	rt_umask = umask(007);
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	/* mkdtemp() wants the name to end in six 'X'. */
	r = snprintf(path, size, "%s/t_retry.######", tmp);
	if (r < 0 || (size_t)r >= size)
		return (-1);
	for (i = (size_t)r - 6; i < (size_t)r; i++)
		path[i] = 'X';
	if (mkdtemp(path) == NULL)
		return (-1);
	return (open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/* Remove what dirfd holds, one level of sub-directories deep. */
static void
rt_rm(int dirfd, const char *name)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == -1 &&
		    (errno == EISDIR || errno == EPERM))
			rt_rm(fd, de->d_name);
	}
	closedir(d);
	(void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void
rt_done(const char *path, int dirfd)
{
	char	 parent[PATH_MAX], *slash;
	int	 pfd;

	close(dirfd);
	(void)strlcpy(parent, path, sizeof(parent));
	if ((slash = strrchr(parent, '/')) != NULL) {
		*slash = '\0';
		if ((pfd = open(parent[0] ? parent : "/", O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) != -1) {
			rt_rm(pfd, slash + 1);
			close(pfd);
		}
	}
	umask(rt_umask);
}

static int
rt_write(int dirfd, const char *name, const char *data, size_t len)
{
	int	 fd, r;

	if ((fd = openat(dirfd, name, O_CREAT | O_TRUNC | O_WRONLY |
	    O_CLOEXEC, 0660)) == -1)
		return (-1);
	r = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return (r);
}

/* env: one remote recipient; with a reason when text is not NULL. */
static int
rt_env(struct envelope *e, const char *text, int code)
{
	envelope_init(e);
	if (envelope_set_from(e, "a@example.com") == -1 ||
	    envelope_add_rcpt(e, 0, "b@example.com") == -1)
		return (-1);
	if (text != NULL && envelope_add_reason(e, text, code) == -1)
		return (-1);
	return (0);
}

/* A failed message base in dirfd: content and ".bad" envelope. */
static int
rt_bad(int dirfd, const char *base, const char *text, int code)
{
	struct envelope	 e;
	char		 name[SPOOL_NAME_MAX], *buf;
	size_t		 len;
	int		 r = -1;

	if (rt_env(&e, text, code) == -1 || envelope_write(&e, &buf,
	    &len) == -1) {
		envelope_free(&e);
		return (-1);
	}
	if (spool_name(name, sizeof(name), base, SPOOL_KIND_CONTENT) == 0 &&
	    rt_write(dirfd, name, "Subject: x\r\n\r\nbody\r\n", 21) == 0 &&
	    spool_name(name, sizeof(name), base, SPOOL_BAD) == 0 &&
	    rt_write(dirfd, name, buf, len) == 0)
		r = 0;
	free(buf);
	envelope_free(&e);
	return (r);
}

static int
rt_exists(int dirfd, const char *name)
{
	struct stat	 st;

	return (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
}

/* The file as a NUL-terminated malloc'd string, or NULL. */
static char *
rt_read(int dirfd, const char *name)
{
	char	*buf;
	size_t	 len;

	if (spool_file_load(dirfd, name, 1 << 20, &buf, &len) == -1)
		return (NULL);
	return (buf);
}

/* Make name two minutes old, so that recovery may take it. */
static int
rt_age(int dirfd, const char *name)
{
	struct timespec	 ts[2];

	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 120;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	return (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW));
}

TEST(retry_due)
{
	struct envelope	 e;

	/* No reason at all: temporary. */
	T_ASSERT(rt_env(&e, NULL, 0) == 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 1);
	envelope_free(&e);

	T_ASSERT(rt_env(&e, "mailbox full", 452) == 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 1);
	T_EQ_INT(envelope_retry_due(&e, 0), 0);
	T_EQ_INT(envelope_retry_set(&e, 4), 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 1);
	T_EQ_INT(envelope_retry_set(&e, 5), 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 0);
	T_EQ_INT(envelope_retry_due(&e, 6), 1);
	envelope_free(&e);

	/* Permanent: never, whatever the count. */
	T_ASSERT(rt_env(&e, "no such user", 550) == 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 0);
	envelope_free(&e);
	T_ASSERT(rt_env(&e, "no remote recipients", 0) == 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 0);
	envelope_free(&e);

	/* A session failure has an empty ReasonCode: retried. */
	T_ASSERT(rt_env(&e, "connection closed", 0) == 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 1);
	envelope_free(&e);

	/* The last pair is the current failure. */
	T_ASSERT(rt_env(&e, "no such user", 550) == 0);
	T_EQ_INT(envelope_add_reason(&e, "try later", 421), 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 1);
	T_EQ_INT(envelope_add_reason(&e, "rejected", 554), 0);
	T_EQ_INT(envelope_retry_due(&e, 5), 0);
	envelope_free(&e);
}

TEST(retry_spool_counts)
{
	char		 path[PATH_MAX], err[256], *text;
	struct flock	 fl;
	int		 dirfd, fd, count, r;

	T_ASSERT((dirfd = rt_dir(path, sizeof(path))) != -1);
	T_ASSERT(rt_bad(dirfd, BASE, "mailbox full", 452) == 0);

	r = spool_retry(dirfd, BASE, 2, &count, err, sizeof(err));
	T_EQ_INT(r, 1);
	T_EQ_INT(count, 1);
	T_ASSERT(rt_exists(dirfd, BASE ".envelope"));
	T_ASSERT(!rt_exists(dirfd, BASE ".envelope.bad"));
	T_ASSERT(!rt_exists(dirfd, BASE ".envelope.new"));
	T_ASSERT((text = rt_read(dirfd, BASE ".envelope")) != NULL);
	T_ASSERT(strstr(text, "X-MailRelay-End: 1\r\n"
	    "X-MailRelay-Reason: mailbox full\r\n"
	    "X-MailRelay-ReasonCode: 452\r\n"
	    "X-MailRelay-Retry: 1\r\n") != NULL);
	free(text);

	/* Failed again: the count goes on, up to the limit. */
	T_ASSERT(spool_claim(dirfd, BASE, &fd) == 0);
	T_ASSERT(spool_fail(dirfd, BASE, "mailbox full", 452) == 0);
	close(fd);
	T_EQ_INT(spool_retry(dirfd, BASE, 2, &count, err, sizeof(err)), 1);
	T_EQ_INT(count, 2);
	T_ASSERT((text = rt_read(dirfd, BASE ".envelope")) != NULL);
	T_ASSERT(strstr(text, "X-MailRelay-Retry: 2\r\n") != NULL);
	T_ASSERT(strstr(text, "X-MailRelay-Retry: 1") == NULL);
	free(text);
	T_ASSERT(spool_claim(dirfd, BASE, &fd) == 0);
	T_ASSERT(spool_fail(dirfd, BASE, "mailbox full", 452) == 0);
	close(fd);
	T_EQ_INT(spool_retry(dirfd, BASE, 2, &count, err, sizeof(err)), 0);
	T_EQ_INT(count, 2);
	T_ASSERT(rt_exists(dirfd, BASE ".envelope.bad"));
	T_ASSERT(!rt_exists(dirfd, BASE ".envelope"));

	/* Someone holds the content: left alone. */
	T_ASSERT((fd = openat(dirfd, BASE ".content", O_RDWR |
	    O_CLOEXEC)) != -1);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	T_ASSERT(fcntl(fd, F_OFD_SETLK, &fl) == 0);
	errno = 0;
	T_EQ_INT(spool_retry(dirfd, BASE, 5, &count, err, sizeof(err)), -1);
	T_EQ_INT(errno, EAGAIN);
	T_ASSERT(rt_exists(dirfd, BASE ".envelope.bad"));
	close(fd);
	T_EQ_INT(spool_retry(dirfd, BASE, 5, &count, err, sizeof(err)), 1);
	T_EQ_INT(count, 3);

	/* Gone. */
	errno = 0;
	T_EQ_INT(spool_retry(dirfd, "emailrelay.1.1700000000.9", 5, &count,
	    err, sizeof(err)), -1);
	T_EQ_INT(errno, ENOENT);
	rt_done(path, dirfd);
}

TEST(retry_spool_permanent)
{
	char	 path[PATH_MAX], err[256], *text;
	int	 dirfd, count;

	T_ASSERT((dirfd = rt_dir(path, sizeof(path))) != -1);
	T_ASSERT(rt_bad(dirfd, BASE, "no such user", 550) == 0);
	T_ASSERT(rt_bad(dirfd, "emailrelay.1.1700000000.2",
	    "no remote recipients", 0) == 0);
	T_EQ_INT(spool_retry(dirfd, BASE, 5, &count, err, sizeof(err)), 0);
	T_EQ_INT(spool_retry(dirfd, "emailrelay.1.1700000000.2", 5, &count,
	    err, sizeof(err)), 0);
	T_EQ_INT(count, 0);
	T_ASSERT(rt_exists(dirfd, BASE ".envelope.bad"));
	T_ASSERT((text = rt_read(dirfd, BASE ".envelope.bad")) != NULL);
	T_ASSERT(strstr(text, "Retry") == NULL);
	free(text);
	/* An envelope that cannot be read stays, with the reason why. */
	T_ASSERT(rt_write(dirfd, BASE ".envelope.bad", "junk\r\n", 6) == 0);
	T_EQ_INT(spool_retry(dirfd, BASE, 5, &count, err, sizeof(err)), -1);
	T_ASSERT(err[0] != '\0');
	T_ASSERT(rt_exists(dirfd, BASE ".envelope.bad"));
	rt_done(path, dirfd);
}

TEST(retry_recover_keeps_pop_content)
{
	char	 path[PATH_MAX];
	int	 dirfd, sub;

	T_ASSERT((dirfd = rt_dir(path, sizeof(path))) != -1);
	/* copy:pop: the envelope in alice/, the content in the spool. */
	T_ASSERT(rt_bad(dirfd, BASE, NULL, 0) == 0);
	T_ASSERT(mkdirat(dirfd, "alice", 0770) == 0);
	T_ASSERT((sub = openat(dirfd, "alice", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1);
	T_ASSERT(renameat(dirfd, BASE ".envelope.bad", sub,
	    BASE ".envelope") == 0);
	/* A true orphan beside it, and a dot-directory that does not count. */
	T_ASSERT(rt_write(dirfd, "emailrelay.1.1700000000.2.content", "x",
	    1) == 0);
	T_ASSERT(mkdirat(dirfd, ".hidden", 0770) == 0);
	T_ASSERT(rt_write(sub, "x", "", 0) == 0);
	T_ASSERT(rt_age(dirfd, BASE ".content") == 0);
	T_ASSERT(rt_age(dirfd, "emailrelay.1.1700000000.2.content") == 0);

	T_EQ_INT(spool_recover(dirfd, time(NULL), NULL, NULL), 1);
	T_ASSERT(rt_exists(dirfd, BASE ".content"));
	T_ASSERT(!rt_exists(dirfd, "emailrelay.1.1700000000.2.content"));

	/* Its last envelope gone, the content is an orphan too. */
	T_ASSERT(unlinkat(sub, BASE ".envelope", 0) == 0);
	T_EQ_INT(spool_recover(dirfd, time(NULL), NULL, NULL), 1);
	T_ASSERT(!rt_exists(dirfd, BASE ".content"));
	close(sub);
	rt_done(path, dirfd);
}
