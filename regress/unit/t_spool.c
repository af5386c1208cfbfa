/*
 * Spool directory operations in a temporary directory: names, the commit
 * sequence and modes, claims and OFD locks across processes, failure,
 * recovery, symlinks and scan order.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

#define MAX_SEEN	16

struct seen {
	int	 n;
	int	 action[MAX_SEEN];
	int	 error[MAX_SEEN];
	char	 name[MAX_SEEN][SPOOL_NAME_MAX];
};

static int	 tmp_spool(char *, size_t);
static void	 tmp_remove(const char *, int);
static int	 exists(int, const char *);
static int	 file_mode(int, const char *);
static int	 make_msg(int, const char *, const char *);
static int	 age(int, const char *, time_t);
static int	 seen_has(const struct seen *, int, const char *);
static void	 on_recover(void *, enum spool_recover_action, const char *,
		    int);
static int	 child_lock(int, const char *, pid_t *, int *);
static void	 child_done(pid_t, int);

static mode_t	 saved_umask;

/*
 * Make a temporary spool directory; returns an O_DIRECTORY fd or -1.  Sets
 * umask 007 as the spool's users do (tmp_remove() restores it).
 */
static int
tmp_spool(char *path, size_t size)
{
	const char	*tmp;
	size_t		 n, i;
	int		 r;

	saved_umask = umask(007);
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	/* mkdtemp() wants the name to end in six 'X'. */
	r = snprintf(path, size, "%s/t_spool.######", tmp);
	if (r < 0 || (size_t)r >= size)
		return (-1);
	n = (size_t)r;
	for (i = n - 6; i < n; i++)
		path[i] = 'X';
	if (mkdtemp(path) == NULL)
		return (-1);
	return (open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/* Remove everything in the flat directory path, then the directory. */
static void
tmp_remove(const char *path, int dirfd)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY)) != -1 &&
	    (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd, de->d_name, 0) == -1)
				(void)unlinkat(dirfd, de->d_name,
				    AT_REMOVEDIR);
		}
		(void)closedir(d);
	}
	(void)close(dirfd);
	(void)rmdir(path);
	(void)umask(saved_umask);
}

static int
exists(int dirfd, const char *name)
{
	struct stat	 st;

	return (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
}

static int
file_mode(int dirfd, const char *name)
{
	struct stat	 st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (-1);
	return ((int)(st.st_mode & 07777));
}

/* A ready message base with one remote recipient rcpt. */
static int
make_msg(int dirfd, const char *base, const char *rcpt)
{
	struct envelope	 env;
	char		 err[256];
	int		 fd, r;

	if ((fd = spool_content_create(dirfd, base)) == -1)
		return (-1);
	if (write(fd, "Subject: t\r\n\r\nbody\r\n", 20) != 20) {
		(void)close(fd);
		return (-1);
	}
	envelope_init(&env);
	(void)envelope_set_from(&env, "sender@example.com");
	(void)envelope_add_rcpt(&env, 0, rcpt);
	r = spool_envelope_write_new(dirfd, base, &env, err, sizeof(err));
	envelope_free(&env);
	if (r == 0)
		r = spool_commit(dirfd, base, fd);
	(void)close(fd);
	return (r);
}

/* Set a file's mtime to secs seconds ago. */
static int
age(int dirfd, const char *name, time_t secs)
{
	struct timespec	 ts[2];

	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - secs;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	return (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW));
}

static void
on_recover(void *arg, enum spool_recover_action action, const char *name,
    int error)
{
	struct seen	*s = arg;

	if (s->n == MAX_SEEN)
		return;
	s->action[s->n] = action;
	s->error[s->n] = error;
	(void)strlcpy(s->name[s->n], name, sizeof(s->name[s->n]));
	s->n++;
}

static int
seen_has(const struct seen *s, int action, const char *name)
{
	int	 i;

	for (i = 0; i < s->n; i++)
		if (s->action[i] == action && s->error[i] == 0 &&
		    strcmp(s->name[i], name) == 0)
			return (1);
	return (0);
}

/*
 * Fork a child that opens and OFD-locks the content of base, then waits
 * until *release is written to.  Returns 0 once the lock is held.
 */
static int
child_lock(int dirfd, const char *base, pid_t *pid, int *release)
{
	struct flock	 fl;
	char		 name[SPOOL_NAME_MAX], c;
	int		 up[2], down[2], fd;

	if (spool_name(name, sizeof(name), base, SPOOL_KIND_CONTENT) == -1 ||
	    pipe(up) == -1)
		return (-1);
	if (pipe(down) == -1)
		return (-1);
	if ((*pid = fork()) == -1)
		return (-1);
	if (*pid == 0) {
		(void)close(up[0]);
		(void)close(down[1]);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if ((fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW)) == -1 ||
		    fcntl(fd, F_OFD_SETLK, &fl) == -1)
			_exit(1);
		(void)write(up[1], "L", 1);
		(void)read(down[0], &c, 1);
		_exit(0);
	}
	(void)close(up[1]);
	(void)close(down[0]);
	*release = down[1];
	if (read(up[0], &c, 1) != 1) {
		(void)close(up[0]);
		return (-1);
	}
	(void)close(up[0]);
	return (0);
}

static void
child_done(pid_t pid, int release)
{
	int	 status;

	(void)write(release, "x", 1);
	(void)close(release);
	(void)waitpid(pid, &status, 0);
}

TEST(spool_names)
{
	static const char *valid[] = {
		"emailrelay.1.2.3.content",
		"emailrelay.123.1700000000.7.envelope",
		"emailrelay.123.1700000000.7.envelope.new",
		"emailrelay.123.1700000000.7.envelope.busy",
		"emailrelay.123.1700000000.7.envelope.bad",
		"emailrelay.12345678901234567890.1.1.content",
	};
	static const char *invalid[] = {
		"",
		"../x",
		"emailrelay.1.2.3.envelope/../x",
		"../emailrelay.1.2.3.envelope",
		"emailrelay.1.2.3.envelope/",
		"emailrelay.1.2.3",
		"emailrelay.1.2.3.",
		"emailrelay.1.2.envelope",
		"emailrelay.1.2.3.4.content",
		"emailrelay.1..3.content",
		"emailrelay.a.2.3.content",
		"emailrelay.-1.2.3.content",
		"emailrelay.1.2.3.content.bak",
		"emailrelay.1.2.3.envelope.",
		"emailrelay.1.2.3.envelope.busy2",
		"emailrelay.1.2.3.envelope.tmp",
		"emailrelay.1.2.3.envelope\n",
		"emailrelay.1.2.3.env\x01lope",
		"Emailrelay.1.2.3.content",
		" emailrelay.1.2.3.content",
		"emailrelay.123456789012345678901.1.1.content",
		"/tmp/emailrelay.1.2.3.content",
	};
	char	 base[SPOOL_BASE_MAX], name[SPOOL_NAME_MAX];
	size_t	 i;
	int	 kind;

	T_EQ_INT(spool_name_new(base, sizeof(base), 123, 1700000000, 7), 0);
	T_EQ_STR(base, "emailrelay.123.1700000000.7");
	T_ASSERT(spool_base_valid(base));
	T_EQ_INT(spool_name_new(base, 10, 123, 1700000000, 7), -1);
	T_EQ_INT(errno, ENAMETOOLONG);
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		T_ASSERT(spool_name_valid(valid[i]));
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		if (spool_name_valid(invalid[i])) {
			printf("accepted \"%s\"\n", invalid[i]);
			T_ASSERT(0);
		}
	}
	T_ASSERT(!spool_base_valid("emailrelay.1.2.3.content"));
	T_ASSERT(!spool_base_valid("../emailrelay.1.2.3"));
	T_EQ_INT(spool_name_parse("emailrelay.9.8.7.envelope.busy", base,
	    sizeof(base), &kind), 0);
	T_EQ_STR(base, "emailrelay.9.8.7");
	T_EQ_INT(kind, SPOOL_BUSY);
	T_EQ_INT(spool_name_parse("emailrelay.9.8.7.content", base,
	    sizeof(base), &kind), 0);
	T_EQ_INT(kind, SPOOL_KIND_CONTENT);
	T_EQ_INT(spool_name(name, sizeof(name), "emailrelay.9.8.7",
	    SPOOL_BAD), 0);
	T_EQ_STR(name, "emailrelay.9.8.7.envelope.bad");
	T_EQ_INT(spool_name(name, sizeof(name), "../x", SPOOL_READY), -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_STR(spool_state_suffix(SPOOL_NEW), ".envelope.new");
}

TEST(spool_create_commit)
{
	struct envelope	 env, back;
	struct stat	 st;
	char		 path[PATH_MAX], err[256];
	const char	*base = "emailrelay.4242.1700000000.1";
	int		 dirfd, fd, ok;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	fd = spool_content_create(dirfd, base);
	ok = fd != -1;
	if (ok) {
		ok = write(fd, "Subject: x\r\n\r\nhello\r\n", 21) == 21 &&
		    spool_fsync_fd(fd) == 0;
		/* The name is taken now. */
		ok = ok && spool_content_create(dirfd, base) == -1 &&
		    errno == EEXIST;
	}
	envelope_init(&env);
	(void)envelope_set_from(&env, "a@example.com");
	(void)envelope_add_rcpt(&env, 0, "b@example.net");
	ok = ok && spool_envelope_write_new(dirfd, base, &env, err,
	    sizeof(err)) == 0;
	ok = ok &&
	    exists(dirfd, "emailrelay.4242.1700000000.1.envelope.new") &&
	    !exists(dirfd, "emailrelay.4242.1700000000.1.envelope");
	ok = ok && file_mode(dirfd,
	    "emailrelay.4242.1700000000.1.envelope.new") == 0660;
	/* A filter ran: fsync both again, then commit. */
	ok = ok && spool_fsync_file(dirfd,
	    "emailrelay.4242.1700000000.1.envelope.new") == 0;
	ok = ok && spool_commit(dirfd, base, fd) == 0;
	ok = ok &&
	    !exists(dirfd, "emailrelay.4242.1700000000.1.envelope.new") &&
	    exists(dirfd, "emailrelay.4242.1700000000.1.envelope") &&
	    file_mode(dirfd, "emailrelay.4242.1700000000.1.envelope") ==
	    0660 && file_mode(dirfd, "emailrelay.4242.1700000000.1.content") ==
	    0660;
	ok = ok && fstatat(dirfd, "emailrelay.4242.1700000000.1.content", &st,
	    0) == 0 && st.st_size == 21;
	envelope_init(&back);
	ok = ok && spool_envelope_load(dirfd,
	    "emailrelay.4242.1700000000.1.envelope", &back, err,
	    sizeof(err)) == 0 && back.nto_remote == 1 &&
	    strcmp(back.to_remote[0], "b@example.net") == 0 &&
	    strcmp(back.from, "a@example.com") == 0;
	envelope_free(&back);
	envelope_free(&env);
	if (fd != -1)
		(void)close(fd);
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}

TEST(spool_claim_locks)
{
	char		 path[PATH_MAX];
	const char	*a = "emailrelay.10.1700000000.1";
	const char	*b = "emailrelay.10.1700000000.2";
	struct seen	 seen;
	pid_t		 pid;
	int		 dirfd, release, fd, fd2, ok, r, e;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	ok = make_msg(dirfd, a, "x@a.example") == 0 &&
	    make_msg(dirfd, b, "y@b.example") == 0;
	/* Another process holds a's content: the claim fails, nothing moves. */
	ok = ok && child_lock(dirfd, a, &pid, &release) == 0;
	if (ok) {
		r = spool_claim(dirfd, a, &fd);
		e = errno;
		ok = r == -1 && e == EAGAIN && fd == -1 &&
		    exists(dirfd, "emailrelay.10.1700000000.1.envelope") &&
		    !exists(dirfd, "emailrelay.10.1700000000.1.envelope.busy");
		/* Both busy (as after a crash); only b is unlocked. */
		ok = ok && spool_rename_state(dirfd, a, SPOOL_READY,
		    SPOOL_BUSY) == 0 && spool_rename_state(dirfd, b,
		    SPOOL_READY, SPOOL_BUSY) == 0;
		memset(&seen, 0, sizeof(seen));
		ok = ok && spool_recover(dirfd, time(NULL), on_recover,
		    &seen) == 1 && seen.n == 1 && seen_has(&seen,
		    SPOOL_RECOVER_UNBUSY,
		    "emailrelay.10.1700000000.2.envelope.busy");
		ok = ok && exists(dirfd,
		    "emailrelay.10.1700000000.1.envelope.busy") &&
		    exists(dirfd, "emailrelay.10.1700000000.2.envelope");
		child_done(pid, release);
	}
	/* The child is gone: a is returned too. */
	memset(&seen, 0, sizeof(seen));
	ok = ok && spool_recover(dirfd, time(NULL), on_recover, &seen) == 1 &&
	    seen_has(&seen, SPOOL_RECOVER_UNBUSY,
	    "emailrelay.10.1700000000.1.envelope.busy");
	/* Claim a; a second claim (another open file) fails on the lock. */
	ok = ok && spool_claim(dirfd, a, &fd) == 0 && fd != -1 &&
	    exists(dirfd, "emailrelay.10.1700000000.1.envelope.busy");
	if (ok) {
		r = spool_claim(dirfd, a, &fd2);
		ok = r == -1 && errno == EAGAIN;
		/* Recovery leaves our live claim alone. */
		ok = ok && spool_recover(dirfd, time(NULL), NULL, NULL) == 0 &&
		    exists(dirfd, "emailrelay.10.1700000000.1.envelope.busy");
		ok = ok && spool_release(dirfd, a) == 0 &&
		    exists(dirfd, "emailrelay.10.1700000000.1.envelope");
		(void)close(fd);
	}
	/* Someone else renamed the envelope first: ENOENT, lock dropped. */
	ok = ok && spool_rename_state(dirfd, a, SPOOL_READY, SPOOL_BAD) == 0;
	if (ok) {
		r = spool_claim(dirfd, a, &fd);
		ok = r == -1 && errno == ENOENT && fd == -1;
		ok = ok && spool_rename_state(dirfd, a, SPOOL_BAD,
		    SPOOL_READY) == 0 && spool_claim(dirfd, a, &fd) == 0;
		if (fd != -1)
			(void)close(fd);
	}
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}

TEST(spool_fail_appends_reason)
{
	static const char tail[] =
	    "X-MailRelay-Reason: connection refused\r\n"
	    "X-MailRelay-ReasonCode: \r\n";
	struct envelope	 env;
	char		 path[PATH_MAX], err[256], reason[256], *buf;
	const char	*a = "emailrelay.11.1700000000.1";
	size_t		 len;
	int		 dirfd, fd = -1, ok, code;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	ok = make_msg(dirfd, a, "x@a.example") == 0 &&
	    spool_claim(dirfd, a, &fd) == 0;
	ok = ok && spool_fail(dirfd, a, "mailbox unavailable\r\n"
	    "X-MailRelay-To-Remote: evil@x", 550) == 0;
	ok = ok && exists(dirfd, "emailrelay.11.1700000000.1.envelope.bad") &&
	    !exists(dirfd, "emailrelay.11.1700000000.1.envelope.busy") &&
	    !exists(dirfd, "emailrelay.11.1700000000.1.envelope.new") &&
	    file_mode(dirfd, "emailrelay.11.1700000000.1.envelope.bad") ==
	    0660;
	envelope_init(&env);
	ok = ok && spool_envelope_load(dirfd,
	    "emailrelay.11.1700000000.1.envelope.bad", &env, err,
	    sizeof(err)) == 0 && env.nto_remote == 1 &&
	    envelope_reason(&env, reason, sizeof(reason), &code) == 1 &&
	    code == 550 && strcmp(reason, "mailbox unavailable "
	    "X-MailRelay-To-Remote: evil@x") == 0;
	envelope_free(&env);
	/* A second failure appends one more pair after the first. */
	ok = ok && spool_rename_state(dirfd, a, SPOOL_BAD, SPOOL_BUSY) == 0 &&
	    spool_fail(dirfd, a, "connection refused", 0) == 0;
	ok = ok && spool_file_load(dirfd,
	    "emailrelay.11.1700000000.1.envelope.bad", 1 << 20, &buf,
	    &len) == 0;
	if (ok) {
		ok = len > strlen(tail) && strcmp(buf + len - strlen(tail),
		    tail) == 0 &&
		    strstr(buf, "X-MailRelay-ReasonCode: 550\r\n"
		    "X-MailRelay-Reason: connection") != NULL;
		free(buf);
	}
	if (fd != -1)
		(void)close(fd);
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}

TEST(spool_fail_keeps_lf_file)
{
	static const char old[] =
	    "X-MailRelay-Format: #2821.3\n"
	    "X-MailRelay-Content: 7bit\n"
	    "X-MailRelay-From: a@b\n"
	    "X-MailRelay-ToCount: 1\n"
	    "X-MailRelay-To-Remote: c@d\n"
	    "X-MailRelay-Authentication: \n"
	    "X-MailRelay-Client: 192.0.2.1:25\n"
	    "X-MailRelay-End: 1";
	static const char full[] =
	    "X-MailRelay-Format: #2821.3\r\n"
	    "X-MailRelay-Content: 7bit\r\n"
	    "X-MailRelay-From: a@b\r\n"
	    "X-MailRelay-ToCount: 0\r\n"
	    "X-MailRelay-Authentication: \r\n"
	    "X-MailRelay-Client: \r\n"
	    "X-MailRelay-End: 1\r";
	struct envelope	 env;
	char		 path[PATH_MAX], err[256], *buf;
	const char	*a = "emailrelay.12.1700000000.1";
	size_t		 len;
	int		 dirfd, fd, ok, code;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	fd = openat(dirfd, "emailrelay.12.1700000000.1.envelope.busy",
	    O_CREAT | O_WRONLY, 0660);
	ok = fd != -1 && write(fd, old, strlen(old)) == (ssize_t)strlen(old);
	if (fd != -1)
		(void)close(fd);
	ok = ok && spool_fail(dirfd, a, "451 try later", 451) == 0;
	ok = ok && spool_file_load(dirfd,
	    "emailrelay.12.1700000000.1.envelope.bad", 1 << 20, &buf,
	    &len) == 0;
	if (ok) {
		/* The old bytes stay as they were; LF endings are kept. */
		ok = strncmp(buf, old, strlen(old)) == 0 &&
		    strcmp(buf + strlen(old), "\n"
		    "X-MailRelay-Reason: 451 try later\n"
		    "X-MailRelay-ReasonCode: 451\n") == 0;
		free(buf);
	}
	/* A file cut after its last CR is finished with the LF. */
	fd = openat(dirfd, "emailrelay.12.1700000000.2.envelope.busy",
	    O_CREAT | O_WRONLY, 0660);
	ok = ok && fd != -1 && write(fd, full, strlen(full)) ==
	    (ssize_t)strlen(full);
	if (fd != -1)
		(void)close(fd);
	ok = ok && spool_fail(dirfd, "emailrelay.12.1700000000.2", "x", 0) ==
	    0;
	envelope_init(&env);
	ok = ok && spool_envelope_load(dirfd,
	    "emailrelay.12.1700000000.2.envelope.bad", &env, err,
	    sizeof(err)) == 0 && envelope_reason(&env, err, sizeof(err),
	    &code) == 1 && strcmp(err, "x") == 0 && code == 0;
	envelope_free(&env);
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}

TEST(spool_recover_stale)
{
	char		 path[PATH_MAX], err[256];
	const char	*oldnew = "emailrelay.20.1700000000.1";
	const char	*youngnew = "emailrelay.20.1700000000.2";
	const char	*orphan = "emailrelay.20.1700000000.3";
	const char	*youngorphan = "emailrelay.20.1700000000.4";
	const char	*locked = "emailrelay.20.1700000000.5";
	const char	*ready = "emailrelay.20.1700000000.6";
	struct envelope	 env;
	struct seen	 seen;
	int		 dirfd, fd, lockfd = -1, ok = 1, n;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	envelope_init(&env);
	/* A .new and its content, both old and unlocked. */
	if ((fd = spool_content_create(dirfd, oldnew)) == -1)
		ok = 0;
	else
		(void)close(fd);
	ok = ok && spool_envelope_write_new(dirfd, oldnew, &env, err,
	    sizeof(err)) == 0;
	ok = ok && age(dirfd, "emailrelay.20.1700000000.1.envelope.new",
	    120) == 0 && age(dirfd, "emailrelay.20.1700000000.1.content",
	    120) == 0;
	/* A young .new. */
	if ((fd = spool_content_create(dirfd, youngnew)) == -1)
		ok = 0;
	else
		(void)close(fd);
	ok = ok && spool_envelope_write_new(dirfd, youngnew, &env, err,
	    sizeof(err)) == 0;
	/* Orphan content, old and young. */
	if ((fd = spool_content_create(dirfd, orphan)) == -1)
		ok = 0;
	else
		(void)close(fd);
	ok = ok && age(dirfd, "emailrelay.20.1700000000.3.content", 61) == 0;
	if ((fd = spool_content_create(dirfd, youngorphan)) == -1)
		ok = 0;
	else
		(void)close(fd);
	/* An old .new whose content is still locked by a live receiver. */
	if ((lockfd = spool_content_create(dirfd, locked)) == -1)
		ok = 0;
	ok = ok && spool_envelope_write_new(dirfd, locked, &env, err,
	    sizeof(err)) == 0;
	ok = ok && age(dirfd, "emailrelay.20.1700000000.5.envelope.new",
	    300) == 0 && age(dirfd, "emailrelay.20.1700000000.5.content",
	    300) == 0;
	/* An old ready message. */
	ok = ok && make_msg(dirfd, ready, "r@x") == 0 &&
	    age(dirfd, "emailrelay.20.1700000000.6.content", 300) == 0 &&
	    age(dirfd, "emailrelay.20.1700000000.6.envelope", 300) == 0;
	envelope_free(&env);

	memset(&seen, 0, sizeof(seen));
	n = spool_recover(dirfd, time(NULL), on_recover, &seen);
	ok = ok && n == 3 && seen.n == 3;
	ok = ok && seen_has(&seen, SPOOL_RECOVER_REMOVE_NEW,
	    "emailrelay.20.1700000000.1.envelope.new") &&
	    seen_has(&seen, SPOOL_RECOVER_REMOVE_CONTENT,
	    "emailrelay.20.1700000000.1.content") &&
	    seen_has(&seen, SPOOL_RECOVER_REMOVE_CONTENT,
	    "emailrelay.20.1700000000.3.content");
	ok = ok && !exists(dirfd, "emailrelay.20.1700000000.1.envelope.new") &&
	    !exists(dirfd, "emailrelay.20.1700000000.1.content") &&
	    !exists(dirfd, "emailrelay.20.1700000000.3.content");
	ok = ok && exists(dirfd, "emailrelay.20.1700000000.2.envelope.new") &&
	    exists(dirfd, "emailrelay.20.1700000000.2.content") &&
	    exists(dirfd, "emailrelay.20.1700000000.4.content") &&
	    exists(dirfd, "emailrelay.20.1700000000.5.envelope.new") &&
	    exists(dirfd, "emailrelay.20.1700000000.5.content") &&
	    exists(dirfd, "emailrelay.20.1700000000.6.envelope") &&
	    exists(dirfd, "emailrelay.20.1700000000.6.content");
	/* Once the receiver is gone its stale files go too. */
	if (lockfd != -1)
		(void)close(lockfd);
	ok = ok && spool_recover(dirfd, time(NULL), NULL, NULL) == 2 &&
	    !exists(dirfd, "emailrelay.20.1700000000.5.envelope.new") &&
	    !exists(dirfd, "emailrelay.20.1700000000.5.content");
	/* Later, the young ones are old. */
	ok = ok && spool_recover(dirfd, time(NULL) + 120, NULL, NULL) == 3 &&
	    exists(dirfd, "emailrelay.20.1700000000.6.envelope");
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}

TEST(spool_symlinks_not_followed)
{
	struct envelope	 env;
	char		 path[PATH_MAX], target[PATH_MAX + 16], err[256], *buf;
	char		 check[16];
	const char	*a = "emailrelay.30.1700000000.1";
	size_t		 len;
	ssize_t		 n;
	int		 dirfd, fd, ok, r;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	(void)snprintf(target, sizeof(target), "%s/target", path);
	fd = open(target, O_CREAT | O_WRONLY, 0600);
	ok = fd != -1 && write(fd, "precious", 8) == 8;
	if (fd != -1)
		(void)close(fd);
	ok = ok && symlinkat(target, dirfd,
	    "emailrelay.30.1700000000.1.envelope") == 0 &&
	    symlinkat(target, dirfd, "emailrelay.30.1700000000.1.content") ==
	    0 && symlinkat(target, dirfd,
	    "emailrelay.30.1700000000.1.envelope.new") == 0;
	envelope_init(&env);
	if (ok) {
		r = spool_envelope_load(dirfd,
		    "emailrelay.30.1700000000.1.envelope", &env, err,
		    sizeof(err));
		ok = r == -1 && errno == ELOOP;
		r = spool_file_load(dirfd,
		    "emailrelay.30.1700000000.1.envelope",
		    1024, &buf, &len);
		ok = ok && r == -1 && errno == ELOOP && buf == NULL;
		r = spool_claim(dirfd, a, &fd);
		ok = ok && r == -1 && errno == ELOOP;
		r = spool_content_create(dirfd, a);
		ok = ok && r == -1 && errno == EEXIST;
		ok = ok && spool_fsync_file(dirfd,
		    "emailrelay.30.1700000000.1.content") == -1 &&
		    errno == ELOOP;
		/* Writing .new replaces the link, never writes through it. */
		ok = ok && spool_envelope_write_new(dirfd, a, &env, err,
		    sizeof(err)) == 0 && file_mode(dirfd,
		    "emailrelay.30.1700000000.1.envelope.new") == 0660;
	}
	/* Names that are not spool names are refused before any I/O. */
	ok = ok && spool_file_load(dirfd, "../target", 1024, &buf, &len) ==
	    -1 && errno == EINVAL;
	ok = ok && spool_claim(dirfd, "../emailrelay.1.2.3", &fd) == -1 &&
	    errno == EINVAL;
	ok = ok && spool_remove(dirfd, "emailrelay.1.2.3/../x") == -1 &&
	    errno == EINVAL;
	fd = open(target, O_RDONLY);
	n = fd == -1 ? -1 : read(fd, check, sizeof(check));
	if (fd != -1)
		(void)close(fd);
	ok = ok && n == 8 && memcmp(check, "precious", 8) == 0;
	envelope_free(&env);
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}

TEST(spool_scan_order)
{
	static const char *ready[] = {
		"emailrelay.5.1700000002.1",
		"emailrelay.9.1700000001.10",
		"emailrelay.9.1700000001.2",
		"emailrelay.3.1700000001.2",
		"emailrelay.7.999999999.50",
	};
	struct spool_entry	*list;
	char			 path[PATH_MAX];
	size_t			 i, n;
	int			 dirfd, fd, ok = 1, trunc;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	for (i = 0; i < sizeof(ready) / sizeof(ready[0]); i++)
		ok = ok && make_msg(dirfd, ready[i], "r@x") == 0;
	/* Other states and shapes that a scan for ready must skip. */
	ok = ok && make_msg(dirfd, "emailrelay.1.1000000000.1", "r@x") == 0 &&
	    spool_rename_state(dirfd, "emailrelay.1.1000000000.1",
	    SPOOL_READY, SPOOL_BAD) == 0;
	fd = openat(dirfd, "emailrelay.1.1000000000.2.content", O_CREAT |
	    O_WRONLY, 0660);
	if (fd != -1)
		(void)close(fd);
	fd = openat(dirfd, "emailrelay.1.1000000000.3.envelope.x", O_CREAT |
	    O_WRONLY, 0660);
	if (fd != -1)
		(void)close(fd);
	ok = ok && mkdirat(dirfd, "emailrelay.1.1000000000.4.envelope",
	    0700) == 0;
	/* A relative link resolves inside the spool. */
	ok = ok && symlinkat("emailrelay.5.1700000002.1.envelope", dirfd,
	    "emailrelay.1.1000000000.5.envelope") == 0;

	ok = ok && spool_scan(dirfd, SPOOL_READY, 100, &list, &n,
	    &trunc) == 0;
	if (ok) {
		ok = n == 5 && !trunc &&
		    strcmp(list[0].base, "emailrelay.7.999999999.50") == 0 &&
		    strcmp(list[1].base, "emailrelay.3.1700000001.2") == 0 &&
		    strcmp(list[2].base, "emailrelay.9.1700000001.2") == 0 &&
		    strcmp(list[3].base, "emailrelay.9.1700000001.10") == 0 &&
		    strcmp(list[4].base, "emailrelay.5.1700000002.1") == 0;
		free(list);
	}
	/* Bounded: the oldest max, and a flag. */
	ok = ok && spool_scan(dirfd, SPOOL_READY, 2, &list, &n, &trunc) == 0;
	if (ok) {
		ok = n == 2 && trunc &&
		    strcmp(list[0].base, "emailrelay.7.999999999.50") == 0 &&
		    strcmp(list[1].base, "emailrelay.3.1700000001.2") == 0;
		free(list);
	}
	ok = ok && spool_scan(dirfd, SPOOL_READY, 1, &list, &n, &trunc) == 0;
	if (ok) {
		ok = n == 1 && trunc &&
		    strcmp(list[0].base, "emailrelay.7.999999999.50") == 0;
		free(list);
	}
	ok = ok && spool_scan(dirfd, SPOOL_BAD, 100, &list, &n, NULL) == 0;
	if (ok) {
		ok = n == 1 &&
		    strcmp(list[0].base, "emailrelay.1.1000000000.1") == 0;
		free(list);
	}
	ok = ok && spool_scan(dirfd, SPOOL_BUSY, 100, &list, &n, &trunc) ==
	    0 && n == 0 && list == NULL && !trunc;
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}

TEST(spool_remove_rewrite)
{
	struct envelope	 env;
	char		 path[PATH_MAX], err[256];
	const char	*a = "emailrelay.40.1700000000.1";
	int		 dirfd, ok;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	envelope_init(&env);
	ok = make_msg(dirfd, a, "x@a.example") == 0;
	/* Rewrite the ready envelope in place (forward-to-some, retry:). */
	ok = ok && spool_envelope_load(dirfd,
	    "emailrelay.40.1700000000.1.envelope", &env, err,
	    sizeof(err)) == 0;
	ok = ok && envelope_retry_set(&env, 1) == 0 &&
	    spool_envelope_rewrite(dirfd, a, SPOOL_READY, &env, err,
	    sizeof(err)) == 0;
	ok = ok && !exists(dirfd, "emailrelay.40.1700000000.1.envelope.new") &&
	    spool_envelope_load(dirfd, "emailrelay.40.1700000000.1.envelope",
	    &env, err, sizeof(err)) == 0 && envelope_retry_get(&env) == 1;
	ok = ok && spool_envelope_rewrite(dirfd, a, SPOOL_NEW, &env, err,
	    sizeof(err)) == -1;
	/* Remove in any state; a second remove finds nothing, no error. */
	ok = ok && spool_rename_state(dirfd, a, SPOOL_READY, SPOOL_BAD) == 0 &&
	    spool_remove(dirfd, a) == 0 &&
	    !exists(dirfd, "emailrelay.40.1700000000.1.envelope.bad") &&
	    !exists(dirfd, "emailrelay.40.1700000000.1.content") &&
	    spool_remove(dirfd, a) == 0;
	ok = ok && spool_rename_state(dirfd, a, SPOOL_READY, SPOOL_BUSY) ==
	    -1 && errno == ENOENT;
	envelope_free(&env);
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}

TEST(spool_load_limits)
{
	struct envelope	 env;
	char		 path[PATH_MAX], err[256], *buf;
	size_t		 len;
	int		 dirfd, fd, ok;

	T_ASSERT((dirfd = tmp_spool(path, sizeof(path))) != -1);
	fd = openat(dirfd, "emailrelay.1.2.3.envelope", O_CREAT | O_WRONLY,
	    0660);
	ok = fd != -1 && write(fd, "X-MailRelay-Format: #2821.8\r\n", 29) ==
	    29;
	if (fd != -1)
		(void)close(fd);
	ok = ok && spool_file_load(dirfd, "emailrelay.1.2.3.envelope", 28,
	    &buf, &len) == -1 && errno == EFBIG;
	ok = ok && spool_file_load(dirfd, "emailrelay.1.2.3.envelope", 29,
	    &buf, &len) == 0 && len == 29 && buf[29] == '\0';
	if (ok)
		free(buf);
	/* Unreadable envelope: -1 and a message naming the problem. */
	envelope_init(&env);
	ok = ok && spool_envelope_load(dirfd, "emailrelay.1.2.3.envelope",
	    &env, err, sizeof(err)) == -1 && strstr(err, "End") != NULL;
	envelope_free(&env);
	ok = ok && mkfifoat(dirfd, "emailrelay.1.2.4.envelope", 0660) == 0 &&
	    spool_file_load(dirfd, "emailrelay.1.2.4.envelope", 1024, &buf,
	    &len) == -1 && errno == EINVAL;
	ok = ok && spool_free_space(dirfd, 1) == 1 &&
	    spool_free_space(dirfd, ~0ULL) == 0;
	ok = ok && spool_fsync_file(dirfd, "x") == -1 && errno == EINVAL &&
	    spool_dir_sync(dirfd) == 0;
	tmp_remove(path, dirfd);
	T_ASSERT(ok);
}
