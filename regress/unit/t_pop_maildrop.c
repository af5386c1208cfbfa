/*
 * POP maildrops (pop/maildrop.c) in a temporary spool: user name checks,
 * which envelopes are listed, sizes and unique ids, content shared by
 * --pop-by-name envelopes, maildir mailboxes, and deletion.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pop/maildrop.h"
#include "t.h"

static int	 md_tmp(char *, size_t);
static void	 md_rm(const char *);
static int	 md_put(int, const char *, const char *);
static int	 md_there(int, const char *);
static int	 md_read(int, char *, size_t);

/* A fresh spool directory; returns an O_DIRECTORY fd or -1. */
static int
md_tmp(char *path, size_t size)
{
	const char	*tmp;
	size_t		 i;
	int		 r;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	/* mkdtemp() wants the name to end in six 'X' */
	r = snprintf(path, size, "%s/t_pop_maildrop.######", tmp);
	if (r < 0 || (size_t)r >= size)
		return (-1);
	for (i = (size_t)r - 6; i < (size_t)r; i++)
		path[i] = 'X';
	if (mkdtemp(path) == NULL)
		return (-1);
	return (open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/* Remove a directory tree made by a test (no symlinks followed). */
static void
md_rm(const char *path)
{
	pid_t	 pid;
	int	 st;

	if ((pid = fork()) == 0) {
		execl("/bin/rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		(void)waitpid(pid, &st, 0);
}

/* Write a file below dirfd (directories in name must exist). */
static int
md_put(int dirfd, const char *name, const char *text)
{
	size_t	 len = strlen(text);
	int	 fd;

	if ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) == -1)
		return (-1);
	if (write(fd, text, len) != (ssize_t)len) {
		(void)close(fd);
		return (-1);
	}
	return (close(fd));
}

static int
md_there(int dirfd, const char *name)
{
	struct stat	 st;

	return (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
}

/* Read what fd holds into buf (NUL-terminated); closes fd. */
static int
md_read(int fd, char *buf, size_t size)
{
	ssize_t	 n;

	n = read(fd, buf, size - 1);
	(void)close(fd);
	if (n < 0)
		return (-1);
	buf[n] = '\0';
	return (0);
}

TEST(pop_maildrop_user_names)
{
	char	 long_name[MAILDROP_USERMAX + 2];

	T_ASSERT(maildrop_user_valid("alice"));
	T_ASSERT(maildrop_user_valid("alice@example.com"));
	T_ASSERT(maildrop_user_valid("a.b"));
	T_ASSERT(maildrop_user_valid("J\303\274rgen"));	/* 8-bit is fine */
	T_ASSERT(!maildrop_user_valid(""));
	T_ASSERT(!maildrop_user_valid("."));
	T_ASSERT(!maildrop_user_valid(".."));
	T_ASSERT(!maildrop_user_valid(".hidden"));
	T_ASSERT(!maildrop_user_valid("a/b"));
	T_ASSERT(!maildrop_user_valid("/etc"));
	T_ASSERT(!maildrop_user_valid("a..b"));
	T_ASSERT(!maildrop_user_valid("x/../y"));
	T_ASSERT(!maildrop_user_valid("a\nb"));
	T_ASSERT(!maildrop_user_valid("a\001b"));
	T_ASSERT(!maildrop_user_valid("a\177b"));
	T_ASSERT(!maildrop_user_valid("tab\there"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	T_ASSERT(!maildrop_user_valid(long_name));
	long_name[MAILDROP_USERMAX] = '\0';
	T_ASSERT(maildrop_user_valid(long_name));
}

TEST(pop_maildrop_spool_listing)
{
	struct maildrop	 md;
	char		 path[256], buf[64];
	int		 dfd, fd;

	T_ASSERT((dfd = md_tmp(path, sizeof(path))) != -1);
	/* ready, oldest first by time then sequence */
	T_ASSERT(md_put(dfd, "emailrelay.9.2000.1.content", "second") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.2000.1.envelope", "e") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1000.7.content", "first!") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1000.7.envelope", "e") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.2000.10.content", "third") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.2000.10.envelope", "e") == 0);
	/* never listed */
	T_ASSERT(md_put(dfd, "emailrelay.9.1.1.content", "new") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1.1.envelope.new", "e") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1.2.content", "busy") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1.2.envelope.busy", "e") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1.3.content", "bad") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1.3.envelope.bad", "e") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1.4.envelope", "no content") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1.5.content", "orphan") == 0);
	T_ASSERT(md_put(dfd, "other.envelope", "e") == 0);
	T_ASSERT(symlinkat("emailrelay.9.2000.1.content", dfd,
	    "emailrelay.9.1.6.content") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.9.1.6.envelope", "e") == 0);

	T_EQ_INT(maildrop_open(&md, dfd, NULL), 0);
	T_EQ_INT(maildrop_scan(&md, 100), 0);
	T_EQ_INT(maildrop_count(&md), 3);
	T_EQ_STR(maildrop_uid(&md, 0), "emailrelay.9.1000.7.content");
	T_EQ_STR(maildrop_uid(&md, 1), "emailrelay.9.2000.1.content");
	T_EQ_STR(maildrop_uid(&md, 2), "emailrelay.9.2000.10.content");
	T_EQ_INT(maildrop_size(&md, 0), 6);
	T_EQ_INT(maildrop_size(&md, 1), 6);
	T_EQ_INT(maildrop_size(&md, 2), 5);
	T_ASSERT(maildrop_uid(&md, 3) == NULL);
	T_ASSERT((fd = maildrop_open_msg(&md, 1)) != -1);
	T_EQ_INT(md_read(fd, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "second");

	/* at most max, the oldest */
	T_EQ_INT(maildrop_scan(&md, 2), 0);
	T_EQ_INT(maildrop_count(&md), 2);
	T_EQ_STR(maildrop_uid(&md, 1), "emailrelay.9.2000.1.content");

	/* deletion: envelope and content; a vanished one is no error */
	T_EQ_INT(maildrop_scan(&md, 100), 0);
	T_EQ_INT(maildrop_delete(&md, 0), 0);
	T_ASSERT(!md_there(dfd, "emailrelay.9.1000.7.envelope"));
	T_ASSERT(!md_there(dfd, "emailrelay.9.1000.7.content"));
	T_EQ_INT(maildrop_delete(&md, 0), 0);
	/* claimed by a forwarder meanwhile: its content stays */
	T_ASSERT(renameat(dfd, "emailrelay.9.2000.1.envelope", dfd,
	    "emailrelay.9.2000.1.envelope.busy") == 0);
	T_EQ_INT(maildrop_delete(&md, 1), 0);
	T_ASSERT(md_there(dfd, "emailrelay.9.2000.1.content"));
	T_ASSERT(md_there(dfd, "emailrelay.9.2000.1.envelope.busy"));
	/* gone since the scan */
	T_ASSERT(unlinkat(dfd, "emailrelay.9.2000.10.content", 0) == 0);
	T_ASSERT(maildrop_open_msg(&md, 2) == -1 && errno == ENOENT);
	maildrop_close(&md);
	(void)close(dfd);
	md_rm(path);
}

TEST(pop_maildrop_locked_content_is_skipped)
{
	struct maildrop	 md;
	struct flock	 fl;
	char		 path[256];
	int		 dfd, fd, pfd[2], qfd[2];
	pid_t		 pid;
	char		 c;

	T_ASSERT((dfd = md_tmp(path, sizeof(path))) != -1);
	T_ASSERT(md_put(dfd, "emailrelay.1.1.1.content", "x") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.1.1.1.envelope", "e") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.1.1.2.content", "y") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.1.1.2.envelope", "e") == 0);
	T_ASSERT(pipe(pfd) == 0 && pipe(qfd) == 0);
	if ((pid = fork()) == 0) {
		/* another process, as a forwarder claiming it */
		fd = openat(dfd, "emailrelay.1.1.1.content", O_RDWR);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		(void)close(pfd[0]);
		(void)close(qfd[1]);
		if (fd == -1 || fcntl(fd, F_OFD_SETLK, &fl) == -1)
			_exit(1);
		(void)write(pfd[1], "l", 1);
		(void)read(qfd[0], &c, 1);	/* until the parent is done */
		_exit(0);
	}
	T_ASSERT(pid > 0);
	(void)close(pfd[1]);
	(void)close(qfd[0]);
	T_EQ_INT(read(pfd[0], &c, 1), 1);	/* 0 if the child failed */
	T_EQ_INT(maildrop_open(&md, dfd, NULL), 0);
	T_EQ_INT(maildrop_scan(&md, 100), 0);
	(void)write(qfd[1], "d", 1);
	(void)waitpid(pid, NULL, 0);
	(void)close(pfd[0]);
	(void)close(qfd[1]);
	T_EQ_INT(maildrop_count(&md), 1);
	T_EQ_STR(maildrop_uid(&md, 0), "emailrelay.1.1.2.content");
	maildrop_close(&md);
	(void)close(dfd);
	md_rm(path);
}

TEST(pop_maildrop_by_name_shared_content)
{
	struct maildrop	 a, b;
	char		 path[256], buf[64];
	int		 dfd, sub, fd;

	T_ASSERT((dfd = md_tmp(path, sizeof(path))) != -1);
	T_ASSERT(mkdirat(dfd, "alice", 0755) == 0);
	T_ASSERT(mkdirat(dfd, "bob", 0755) == 0);
	T_ASSERT(mkdirat(dfd, ".hidden", 0755) == 0);
	/* shared: content in the spool, envelopes in both mailboxes */
	T_ASSERT(md_put(dfd, "emailrelay.1.1.1.content", "shared") == 0);
	T_ASSERT(md_put(dfd, "alice/emailrelay.1.1.1.envelope", "e") == 0);
	T_ASSERT(md_put(dfd, "bob/emailrelay.1.1.1.envelope", "e") == 0);
	/* alice's own pair */
	T_ASSERT(md_put(dfd, "alice/emailrelay.1.1.2.content", "own") == 0);
	T_ASSERT(md_put(dfd, "alice/emailrelay.1.1.2.envelope", "e") == 0);
	/* the spool's own messages are nobody's with --pop-by-name */
	T_ASSERT(md_put(dfd, "emailrelay.1.1.3.content", "main") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.1.1.3.envelope", "e") == 0);

	T_EQ_INT(maildrop_open(&a, dfd, "alice"), 0);
	T_EQ_INT(maildrop_scan(&a, 100), 0);
	T_EQ_INT(maildrop_count(&a), 2);
	T_EQ_STR(maildrop_uid(&a, 0), "emailrelay.1.1.1.content");
	T_EQ_STR(maildrop_uid(&a, 1), "emailrelay.1.1.2.content");
	T_ASSERT((fd = maildrop_open_msg(&a, 0)) != -1);
	T_EQ_INT(md_read(fd, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "shared");
	T_ASSERT((fd = maildrop_open_msg(&a, 1)) != -1);
	T_EQ_INT(md_read(fd, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "own");

	T_EQ_INT(maildrop_referenced(dfd, "emailrelay.1.1.1"), 1);
	T_EQ_INT(maildrop_delete(&a, 0), 0);
	T_EQ_INT(maildrop_delete(&a, 1), 0);
	T_ASSERT(md_there(dfd, "emailrelay.1.1.1.content"));
	T_ASSERT(!md_there(dfd, "alice/emailrelay.1.1.1.envelope"));
	T_ASSERT(!md_there(dfd, "alice/emailrelay.1.1.2.content"));
	T_EQ_INT(maildrop_referenced(dfd, "emailrelay.1.1.1"), 1);

	/* a copy in a dot-directory does not count */
	T_ASSERT(md_put(dfd, ".hidden/emailrelay.1.1.1.envelope", "e") == 0);
	T_EQ_INT(maildrop_open(&b, dfd, "bob"), 0);
	T_EQ_INT(maildrop_scan(&b, 100), 0);
	T_EQ_INT(maildrop_count(&b), 1);
	T_EQ_INT(maildrop_size(&b, 0), 6);
	T_EQ_INT(maildrop_delete(&b, 0), 0);
	T_ASSERT(!md_there(dfd, "emailrelay.1.1.1.content"));
	T_ASSERT(md_there(dfd, "emailrelay.1.1.3.content"));

	/* an envelope in the spool itself, in any state, keeps it */
	T_ASSERT(md_put(dfd, "emailrelay.1.1.4.content", "x") == 0);
	T_ASSERT(md_put(dfd, "emailrelay.1.1.4.envelope.bad", "e") == 0);
	T_EQ_INT(maildrop_referenced(dfd, "emailrelay.1.1.4"), 1);
	T_ASSERT(unlinkat(dfd, "emailrelay.1.1.4.envelope.bad", 0) == 0);
	T_EQ_INT(maildrop_referenced(dfd, "emailrelay.1.1.4"), 0);
	T_ASSERT((sub = openat(dfd, "bob", O_RDONLY | O_DIRECTORY)) != -1);
	T_ASSERT(md_put(sub, "emailrelay.1.1.4.envelope.new", "e") == 0);
	T_EQ_INT(maildrop_referenced(dfd, "emailrelay.1.1.4"), 1);
	(void)close(sub);

	maildrop_close(&a);
	maildrop_close(&b);
	(void)close(dfd);
	md_rm(path);
}

TEST(pop_maildrop_by_name_open)
{
	struct maildrop	 md;
	char		 path[256];
	int		 dfd;

	T_ASSERT((dfd = md_tmp(path, sizeof(path))) != -1);
	/* no directory yet: empty */
	T_EQ_INT(maildrop_open(&md, dfd, "nobody"), 0);
	T_EQ_INT(maildrop_scan(&md, 100), 0);
	T_EQ_INT(maildrop_count(&md), 0);
	maildrop_close(&md);
	/* refused names build no path */
	T_EQ_INT(maildrop_open(&md, dfd, ".."), -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_INT(maildrop_open(&md, dfd, "a/b"), -1);
	T_EQ_INT(errno, EINVAL);
	/* a file, or a symlink to a directory, is no mailbox */
	T_ASSERT(md_put(dfd, "file", "x") == 0);
	T_EQ_INT(maildrop_open(&md, dfd, "file"), -1);
	T_EQ_INT(errno, ENOTDIR);
	T_ASSERT(symlinkat("/", dfd, "link") == 0);
	T_EQ_INT(maildrop_open(&md, dfd, "link"), -1);
	T_EQ_INT(errno, ENOTDIR);
	(void)close(dfd);
	md_rm(path);
}

TEST(pop_maildrop_maildir)
{
	struct maildrop	 md;
	char		 path[256], buf[64], longname[128];
	int		 dfd, fd;

	T_ASSERT((dfd = md_tmp(path, sizeof(path))) != -1);
	T_ASSERT(mkdirat(dfd, "carol", 0755) == 0);
	T_ASSERT(mkdirat(dfd, "carol/new", 0755) == 0);
	T_ASSERT(mkdirat(dfd, "carol/cur", 0755) == 0);
	T_ASSERT(mkdirat(dfd, "carol/tmp", 0755) == 0);
	T_ASSERT(md_put(dfd, "carol/new/1700000002.1.h.3", "three") == 0);
	T_ASSERT(md_put(dfd, "carol/new/1700000000.1.h.1", "one") == 0);
	T_ASSERT(md_put(dfd, "carol/cur/1700000001.1.h.2:2,S", "two") == 0);
	T_ASSERT(md_put(dfd, "carol/tmp/1700000003.1.h.4", "partial") == 0);
	T_ASSERT(md_put(dfd, "carol/new/.hidden", "no") == 0);
	T_ASSERT(mkdirat(dfd, "carol/new/subdir", 0755) == 0);
	memset(longname, 'n', 80);
	longname[80] = '\0';
	/* an id that is too long for POP gets a hash */
	T_ASSERT((fd = openat(dfd, "carol/cur", O_RDONLY | O_DIRECTORY)) !=
	    -1);
	T_ASSERT(md_put(fd, longname, "long") == 0);
	(void)close(fd);

	T_EQ_INT(maildrop_open(&md, dfd, "carol"), 0);
	T_EQ_INT(maildrop_scan(&md, 100), 0);
	T_EQ_INT(maildrop_count(&md), 4);
	T_EQ_STR(maildrop_uid(&md, 0), "1700000000.1.h.1");
	T_EQ_STR(maildrop_uid(&md, 1), "1700000001.1.h.2");
	T_EQ_STR(maildrop_uid(&md, 2), "1700000002.1.h.3");
	T_EQ_INT(strlen(maildrop_uid(&md, 3)), 17);
	T_EQ_INT(maildrop_uid(&md, 3)[0], 'x');
	T_EQ_INT(maildrop_size(&md, 1), 3);
	T_ASSERT((fd = maildrop_open_msg(&md, 1)) != -1);
	T_EQ_INT(md_read(fd, buf, sizeof(buf)), 0);
	T_EQ_STR(buf, "two");
	T_EQ_INT(maildrop_delete(&md, 0), 0);
	T_EQ_INT(maildrop_delete(&md, 1), 0);
	T_ASSERT(!md_there(dfd, "carol/new/1700000000.1.h.1"));
	T_ASSERT(!md_there(dfd, "carol/cur/1700000001.1.h.2:2,S"));
	T_ASSERT(md_there(dfd, "carol/new/1700000002.1.h.3"));
	T_ASSERT(md_there(dfd, "carol/tmp/1700000003.1.h.4"));
	/* the hash is stable */
	(void)strlcpy(buf, maildrop_uid(&md, 3), sizeof(buf));
	T_EQ_INT(maildrop_scan(&md, 100), 0);
	T_EQ_INT(maildrop_count(&md), 2);
	T_EQ_STR(maildrop_uid(&md, 1), buf);
	maildrop_close(&md);
	(void)close(dfd);
	md_rm(path);
}
