/*
 * The file-only built-in filters (queue/filter.c) on temporary spool
 * directories: option parsing, exit:, copy: into plain sub-directories
 * and maildirs, deliver: to local mailboxes, split: by domain and msgid:
 * on CRLF and LF content larger than the streaming buffer.
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
#include <unistd.h>

#include "envelope.h"
#include "filter_result.h"
#include "spool.h"
#include "queue/filter.h"
#include "t.h"

#define B1	"emailrelay.100.1700000000.1"
#define B2	"emailrelay.100.1700000000.2"
#define BODY	"Subject: hello\r\nFrom: a@b.test\r\n\r\nbody line\r\n"
#define T_PID	4242
#define T_HOST	"host.test"
#define T_BIG	(200 * 1024)	/* well above the filter's buffer */
#define T_DEPTH	6

/* A temporary spool (and delivery directory) for one test. */
struct t_fx {
	char				 path[PATH_MAX];
	char				 dpath[PATH_MAX];
	int				 fd;
	int				 dfd;
	mode_t				 mask;
	unsigned long long		 seq;
	struct filter_builtin_env	 env;
};

static int	 tmp_dir(char *, size_t, const char *);
static void	 rm_tree(int, int);
static void	 rm_dir(const char *, int);
static int	 fx_open(struct t_fx *, int);
static void	 fx_close(struct t_fx *);
static int	 fx_msg(struct t_fx *, const char *, enum spool_state,
		    const char *, size_t, const char *const *,
		    const char *const *);
static int	 fx_mkdirs(int, const char *, int);
static int	 fx_symlink(int, const char *, const char *);
static int	 exists(int, const char *);
static int	 at_fd(int, const char *);
static long	 slurp(int, const char *, char *, size_t);
static int	 same_file(int, const char *, int, const char *);
static int	 file_mode(int, const char *);
static int	 dir_count(int, const char *, char *, size_t);
static int	 env_load(int, const char *, struct envelope *);
static int	 parse(const char *, struct filter_builtin *);
static int	 split_check(int, const char *, const char *, const char *,
		    unsigned int, const char *);
static int	 msgid_run(struct t_fx *, const char *, size_t, char **,
		    size_t *, int *);
static int	 msgid_added(const char *, size_t, const char *, size_t,
		    size_t, const char *, const char *);

#define FX_TEST(name, delivery)						\
	static void name##_body(struct t_fx *);				\
	TEST(name)							\
	{								\
		struct t_fx	 fx;					\
									\
		T_ASSERT(fx_open(&fx, (delivery)) == 0);		\
		name##_body(&fx);					\
		fx_close(&fx);						\
	}								\
	static void name##_body(struct t_fx *fx)

/* mkdtemp() a directory named after tag.  Returns an O_DIRECTORY fd. */
static int
tmp_dir(char *path, size_t size, const char *tag)
{
	const char	*tmp;
	int		 r;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	/* mkdtemp() wants the name to end in six 'X'. */
	r = snprintf(path, size, "%s/t_filter.%s.######", tmp, tag);
	if (r < 0 || (size_t)r >= size)
		return (-1);
	memset(path + r - 6, 'X', 6);
	if (mkdtemp(path) == NULL)
		return (-1);
	return (open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/* Empty the directory dirfd, sub-directories included (not symlinks). */
static void
rm_tree(int dirfd, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd, sub, again = 1;

	while (again) {
		again = 0;
		if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			return;
		if ((d = fdopendir(fd)) == NULL) {
			(void)close(fd);
			return;
		}
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (fstatat(dirfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				continue;
			if (S_ISDIR(st.st_mode) && depth < T_DEPTH) {
				sub = openat(dirfd, de->d_name, O_RDONLY |
				    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub != -1) {
					rm_tree(sub, depth + 1);
					(void)close(sub);
				}
				if (unlinkat(dirfd, de->d_name,
				    AT_REMOVEDIR) == 0)
					again = 1;
			} else if (unlinkat(dirfd, de->d_name, 0) == 0)
				again = 1;
		}
		(void)closedir(d);
	}
}

static void
rm_dir(const char *path, int fd)
{
	if (fd == -1)
		return;
	rm_tree(fd, 0);
	(void)close(fd);
	(void)rmdir(path);
}

/* A spool, and a separate delivery directory if delivery is set. */
static int
fx_open(struct t_fx *fx, int delivery)
{
	memset(fx, 0, sizeof(*fx));
	fx->mask = umask(007);
	fx->dfd = -1;
	if ((fx->fd = tmp_dir(fx->path, sizeof(fx->path), "spool")) == -1)
		return (-1);
	if (delivery && (fx->dfd = tmp_dir(fx->dpath, sizeof(fx->dpath),
	    "mbox")) == -1) {
		rm_dir(fx->path, fx->fd);
		return (-1);
	}
	fx->env.spool_fd = fx->fd;
	fx->env.delivery_fd = fx->dfd;
	fx->env.pid = T_PID;
	fx->env.seq = &fx->seq;
	fx->env.domain = "relay.test";
	fx->env.hostname = T_HOST;
	return (0);
}

static void
fx_close(struct t_fx *fx)
{
	rm_dir(fx->path, fx->fd);
	if (fx->dfd != -1)
		rm_dir(fx->dpath, fx->dfd);
	(void)umask(fx->mask);
}

/*
 * Message base in state (SPOOL_NEW or SPOOL_BUSY) with len bytes of
 * content and the NULL-terminated recipient lists (may be NULL).
 */
static int
fx_msg(struct t_fx *fx, const char *base, enum spool_state state,
    const char *content, size_t len, const char *const *local,
    const char *const *remote)
{
	struct envelope	 env;
	char		 err[256];
	int		 fd, r = 0;

	if ((fd = spool_content_create(fx->fd, base)) == -1)
		return (-1);
	if (write(fd, content, len) != (ssize_t)len)
		r = -1;
	(void)close(fd);
	envelope_init(&env);
	if (envelope_set_from(&env, "sender@example.org") == -1)
		r = -1;
	for (; local != NULL && *local != NULL; local++)
		if (envelope_add_rcpt(&env, 1, *local) == -1)
			r = -1;
	for (; remote != NULL && *remote != NULL; remote++)
		if (envelope_add_rcpt(&env, 0, *remote) == -1)
			r = -1;
	if (r == 0)
		r = spool_envelope_write_new(fx->fd, base, &env, err,
		    sizeof(err));
	envelope_free(&env);
	if (r == 0 && state != SPOOL_NEW)
		r = spool_rename_state(fx->fd, base, SPOOL_NEW, state);
	return (r);
}

/* Make directory name in dirfd, with new, tmp and cur if maildir. */
static int
fx_mkdirs(int dirfd, const char *name, int maildir)
{
	static const char	*sub[] = { "new", "tmp", "cur" };
	int			 fd, i, r = 0;

	if (mkdirat(dirfd, name, 0770) == -1)
		return (-1);
	if (!maildir)
		return (0);
	if ((fd = at_fd(dirfd, name)) == -1)
		return (-1);
	for (i = 0; i < 3; i++)
		if (mkdirat(fd, sub[i], 0770) == -1)
			r = -1;
	(void)close(fd);
	return (r);
}

static int
fx_symlink(int dirfd, const char *target, const char *name)
{
	return (symlinkat(target, dirfd, name));
}

static int
exists(int dirfd, const char *name)
{
	struct stat	 st;

	return (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
}

/* The directory name in dirfd ("a" or "a/new"), or -1. */
static int
at_fd(int dirfd, const char *name)
{
	return (openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/* Read file name (may hold '/') into buf; its length or -1. */
static long
slurp(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t	 n;
	size_t	 have = 0;
	int	 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	while (have < size && (n = read(fd, buf + have, size - have)) > 0)
		have += (size_t)n;
	(void)close(fd);
	return ((long)have);
}

/* 1 if both names are the same inode (a hard link). */
static int
same_file(int d1, const char *n1, int d2, const char *n2)
{
	struct stat	 a, b;

	if (fstatat(d1, n1, &a, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fstatat(d2, n2, &b, AT_SYMLINK_NOFOLLOW) == -1)
		return (0);
	return (a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

static int
file_mode(int dirfd, const char *name)
{
	struct stat	 st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (-1);
	return ((int)(st.st_mode & 0777));
}

/* Entries of directory name; the last one's name into last. */
static int
dir_count(int dirfd, const char *name, char *last, size_t lastsz)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, n = 0;

	if ((fd = at_fd(dirfd, name)) == -1)
		return (-1);
	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (last != NULL)
			(void)snprintf(last, lastsz, "%s", de->d_name);
	}
	(void)closedir(d);
	return (n);
}

static int
env_load(int dirfd, const char *name, struct envelope *env)
{
	char	 err[256];

	envelope_init(env);
	return (spool_envelope_load(dirfd, name, env, err, sizeof(err)));
}

/* filter_builtin_parse() that must succeed on a built-in. */
static int
parse(const char *spec, struct filter_builtin *fb)
{
	const char	*errstr;

	return (filter_builtin_parse(spec, fb, &errstr) == 1 &&
	    errstr == NULL && filter_builtin_check(spec) == NULL);
}

TEST(t_filter_parse_good)
{
	struct filter_builtin	 fb;
	const char		*errstr;
	static const char	*others[] = { "/usr/local/bin/f", "f",
		"file:/x", "net:127.0.0.1:25", "spam:127.0.0.1:783",
		"spam-edit:127.0.0.1:783", "mx:", "exit", "copy",
		"EXIT:1", NULL };
	int			 i;

	T_ASSERT(parse("exit:0", &fb));
	T_EQ_INT(fb.kind, FILTER_BUILTIN_EXIT);
	T_EQ_INT(fb.exit_code, 0);
	T_ASSERT(parse("exit:255", &fb));
	T_EQ_INT(fb.exit_code, 255);
	T_ASSERT(parse("exit:102", &fb));
	T_EQ_INT(fb.exit_code, 102);
	T_ASSERT(parse("copy:", &fb));
	T_EQ_INT(fb.kind, FILTER_BUILTIN_COPY);
	T_EQ_INT(fb.flags, 0);
	T_ASSERT(parse("copy:nodelete;pop;hardlink", &fb));
	T_EQ_INT(fb.flags, FILTER_BUILTIN_NODELETE | FILTER_BUILTIN_POP |
	    FILTER_BUILTIN_HARDLINK);
	T_ASSERT(parse("copy:POP,nodelete;", &fb));
	T_EQ_INT(fb.flags, FILTER_BUILTIN_NODELETE | FILTER_BUILTIN_POP);
	/* Blanks around the options, as the configuration check allows. */
	T_ASSERT(parse("copy: nodelete ;\tpop", &fb));
	T_EQ_INT(fb.flags, FILTER_BUILTIN_NODELETE | FILTER_BUILTIN_POP);
	T_ASSERT(parse("split: raw ", &fb));
	T_EQ_INT(fb.flags, FILTER_BUILTIN_RAW);
	T_ASSERT(parse("deliver:", &fb));
	T_EQ_INT(fb.kind, FILTER_BUILTIN_DELIVER);
	T_EQ_INT(fb.flags, 0);
	T_ASSERT(parse("deliver:hardlink;nodelete", &fb));
	T_EQ_INT(fb.flags, FILTER_BUILTIN_NODELETE | FILTER_BUILTIN_HARDLINK);
	T_ASSERT(parse("split:", &fb));
	T_EQ_INT(fb.kind, FILTER_BUILTIN_SPLIT);
	T_EQ_INT(fb.flags, 0);
	T_ASSERT(parse("split:raw", &fb));
	T_EQ_INT(fb.flags, FILTER_BUILTIN_RAW);
	T_ASSERT(parse("msgid:", &fb));
	T_EQ_INT(fb.kind, FILTER_BUILTIN_MSGID);

	/* Programs and lookup's built-ins are not ours, and not errors. */
	for (i = 0; others[i] != NULL; i++) {
		T_EQ_INT(filter_builtin_parse(others[i], &fb, &errstr), 0);
		T_ASSERT(errstr == NULL);
		T_ASSERT(filter_builtin_check(others[i]) == NULL);
	}
}

TEST(t_filter_parse_bad)
{
	struct filter_builtin	 fb;
	const char		*errstr;
	char			 longspec[400];
	static const char	*bad[] = { "exit:", "exit:256", "exit:-1",
		"exit:+5", "exit: 5", "exit:5 ", "exit:1a", "exit:0x10",
		"exit:1000", "copy:raw", "copy:foo", "copy:nodelete;bogus",
		"deliver:pop", "deliver:raw", "split:nodelete",
		"split:hardlink", "msgid:raw", "msgid:x", NULL };
	int			 i;

	for (i = 0; bad[i] != NULL; i++) {
		errstr = NULL;
		T_EQ_INT(filter_builtin_parse(bad[i], &fb, &errstr), -1);
		T_ASSERT(errstr != NULL && errstr[0] != '\0');
		T_ASSERT(filter_builtin_check(bad[i]) != NULL);
		T_EQ_STR(filter_builtin_check(bad[i]), errstr);
	}
	T_ASSERT(strstr(filter_builtin_check("copy:foo"), "copy:") != NULL);
	T_ASSERT(strstr(filter_builtin_check("exit:999"), "255") != NULL);
	memset(longspec, 0, sizeof(longspec));
	memcpy(longspec, "copy:", 5);
	memset(longspec + 5, ';', sizeof(longspec) - 6);
	T_EQ_INT(filter_builtin_parse(longspec, &fb, &errstr), -1);
	T_ASSERT(errstr != NULL);
}

TEST(t_filter_exit)
{
	struct filter_builtin		 fb;
	struct filter_builtin_env	 env;
	struct filter_outcome		 o;

	memset(&env, 0, sizeof(env));
	env.spool_fd = env.delivery_fd = -1;
	T_ASSERT(parse("exit:0", &fb));
	T_EQ_INT(filter_builtin_exit(&fb, SPOOL_NEW, &o), FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	T_ASSERT(parse("exit:100", &fb));
	(void)filter_builtin_exit(&fb, SPOOL_NEW, &o);
	T_EQ_INT(o.action, FILTER_ABANDON);
	T_EQ_INT(o.rescan, 0);
	T_ASSERT(parse("exit:102", &fb));
	(void)filter_builtin_run(&fb, &env, B1, SPOOL_NEW, &o, NULL);
	T_EQ_INT(o.action, FILTER_ABANDON);
	T_EQ_INT(o.rescan, 1);
	(void)filter_builtin_run(&fb, &env, B1, SPOOL_BUSY, &o, NULL);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_INT(o.endpass, 1);
	T_ASSERT(parse("exit:104", &fb));
	(void)filter_builtin_exit(&fb, SPOOL_BUSY, &o);
	T_EQ_INT(o.action, FILTER_ABANDON);
	T_EQ_INT(o.endpass, 1);
	(void)filter_builtin_exit(&fb, SPOOL_NEW, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.rescan, 1);
	T_ASSERT(parse("exit:1", &fb));
	(void)filter_builtin_exit(&fb, SPOOL_NEW, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_STR(o.response, "rejected");
	T_EQ_STR(o.reply, "452 rejected");
	/* Only the two chain states are accepted. */
	(void)filter_builtin_exit(&fb, SPOOL_READY, &o);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 452);
}

/* copy: into two plain sub-directories, skipping the others. */
FX_TEST(t_filter_copy_plain, 0)
{
	static const char	*remote[] = { "r@remote.test", NULL };
	struct filter_builtin	 fb;
	struct filter_outcome	 o;
	struct envelope		 env;
	char			 buf[256];
	int			 a;

	T_ASSERT(fx_msg(fx, B1, SPOOL_NEW, BODY, strlen(BODY), NULL,
	    remote) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "alice", 0) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "bob", 0) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "postmaster", 0) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, ".hidden", 0) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "outside", 0) == 0);
	T_ASSERT(fx_symlink(fx->fd, "outside", "viasymlink") == 0);
	T_ASSERT(parse("copy:", &fb));
	/* The symlink is no sub-directory: only alice, bob and outside. */
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B1, SPOOL_NEW, &o),
	    FILTER_BUILTIN_REMOVED);
	T_EQ_INT(o.action, FILTER_ABANDON);
	T_EQ_STR(o.reason, "");
	T_ASSERT(!exists(fx->fd, B1 ".envelope.new"));
	T_ASSERT(!exists(fx->fd, B1 ".content"));
	T_ASSERT((a = at_fd(fx->fd, "alice")) != -1);
	T_EQ_INT(slurp(a, B1 ".content", buf, sizeof(buf)),
	    (long)strlen(BODY));
	T_ASSERT(memcmp(buf, BODY, strlen(BODY)) == 0);
	T_EQ_INT(file_mode(a, B1 ".content"), 0660);
	T_EQ_INT(file_mode(a, B1 ".envelope"), 0660);
	T_ASSERT(!exists(a, B1 ".envelope.new"));
	T_EQ_INT(env_load(a, B1 ".envelope", &env), 0);
	(void)close(a);
	T_EQ_STR(env.from, "sender@example.org");
	T_EQ_INT(env.nto_remote, 1);
	T_EQ_STR(env.to_remote[0], "r@remote.test");
	envelope_free(&env);
	T_EQ_INT(dir_count(fx->fd, "bob", NULL, 0), 2);
	T_ASSERT(exists(fx->fd, "bob/" B1 ".envelope"));
	T_EQ_INT(dir_count(fx->fd, "outside", NULL, 0), 2);
	T_EQ_INT(dir_count(fx->fd, "postmaster", NULL, 0), 0);
	T_EQ_INT(dir_count(fx->fd, ".hidden", NULL, 0), 0);
}

/* A copy already there is kept; a failing target undoes the others. */
FX_TEST(t_filter_copy_undo, 0)
{
	static const char	*remote[] = { "r@remote.test", NULL };
	struct filter_builtin	 fb;
	struct filter_outcome	 o;
	char			 buf[64];
	int			 fd;

	T_ASSERT(fx_msg(fx, B1, SPOOL_BUSY, BODY, strlen(BODY), NULL,
	    remote) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "a", 0) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "b", 1) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "c", 0) == 0);
	T_ASSERT((fd = openat(fx->fd, "c/" B1 ".envelope", O_CREAT |
	    O_WRONLY, 0660)) != -1);
	T_EQ_INT(write(fd, "old", 3), 3);
	(void)close(fd);
	/* "z" sorts last; its envelope name is taken by a directory. */
	T_ASSERT(fx_mkdirs(fx->fd, "z", 0) == 0);
	T_ASSERT(mkdirat(fx->fd, "z/" B1 ".envelope.new", 0770) == 0);
	T_ASSERT(parse("copy:", &fb));
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B1, SPOOL_BUSY, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 452);
	T_ASSERT(strncmp(o.reply, "452 ", 4) == 0);
	T_ASSERT(strstr(o.reason, "z") != NULL);
	T_ASSERT(exists(fx->fd, B1 ".envelope.busy"));
	T_ASSERT(exists(fx->fd, B1 ".content"));
	T_EQ_INT(dir_count(fx->fd, "a", NULL, 0), 0);
	T_EQ_INT(dir_count(fx->fd, "b/tmp", NULL, 0), 0);
	T_EQ_INT(dir_count(fx->fd, "b/new", NULL, 0), 0);
	T_EQ_INT(dir_count(fx->fd, "c", NULL, 0), 1);
	T_EQ_INT(slurp(fx->fd, "c/" B1 ".envelope", buf, sizeof(buf)), 3);

	/* Without z: a and b get it, c keeps its own, the original goes. */
	T_ASSERT(unlinkat(fx->fd, "z/" B1 ".envelope.new", AT_REMOVEDIR) ==
	    0);
	T_ASSERT(unlinkat(fx->fd, "z", AT_REMOVEDIR) == 0);
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B1, SPOOL_BUSY, &o),
	    FILTER_BUILTIN_REMOVED);
	T_EQ_INT(o.action, FILTER_ABANDON);
	T_ASSERT(!exists(fx->fd, B1 ".envelope.busy"));
	T_ASSERT(!exists(fx->fd, B1 ".content"));
	T_EQ_INT(dir_count(fx->fd, "a", NULL, 0), 2);
	T_EQ_INT(dir_count(fx->fd, "b/new", NULL, 0), 1);
	T_EQ_INT(dir_count(fx->fd, "c", NULL, 0), 1);
	T_EQ_INT(slurp(fx->fd, "c/" B1 ".envelope", buf, sizeof(buf)), 3);
}

/* copy:nodelete;hardlink into a maildir and a plain directory. */
FX_TEST(t_filter_copy_maildir_hardlink, 0)
{
	static const char	*remote[] = { "r@remote.test", NULL };
	struct filter_builtin	 fb;
	struct filter_outcome	 o;
	char			 name[256], buf[256], want[64];
	int			 m;

	T_ASSERT(fx_msg(fx, B1, SPOOL_NEW, BODY, strlen(BODY), NULL,
	    remote) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "m", 1) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "p", 0) == 0);
	T_ASSERT(parse("copy:nodelete;hardlink", &fb));
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B1, SPOOL_NEW, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	T_ASSERT(exists(fx->fd, B1 ".envelope.new"));
	T_ASSERT(exists(fx->fd, B1 ".content"));
	/* The maildir: content only, in new, nothing left in tmp. */
	T_EQ_INT(dir_count(fx->fd, "m", NULL, 0), 3);
	T_EQ_INT(dir_count(fx->fd, "m/tmp", NULL, 0), 0);
	T_EQ_INT(dir_count(fx->fd, "m/cur", NULL, 0), 0);
	T_EQ_INT(dir_count(fx->fd, "m/new", name, sizeof(name)), 1);
	(void)snprintf(want, sizeof(want), ".%d.%s.", T_PID, T_HOST);
	T_ASSERT(strstr(name, want) != NULL);
	T_ASSERT(name[0] >= '1' && name[0] <= '9');
	T_ASSERT((m = at_fd(fx->fd, "m/new")) != -1);
	T_ASSERT(same_file(m, name, fx->fd, B1 ".content"));
	T_EQ_INT(slurp(m, name, buf, sizeof(buf)), (long)strlen(BODY));
	(void)close(m);
	T_ASSERT(same_file(fx->fd, "p/" B1 ".content", fx->fd,
	    B1 ".content"));
	T_ASSERT(exists(fx->fd, "p/" B1 ".envelope"));

	/* Without hardlink: a copy, a second maildir file. */
	T_ASSERT(parse("copy:nodelete", &fb));
	(void)unlinkat(fx->fd, "p/" B1 ".envelope", 0);
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B1, SPOOL_NEW, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_INT(dir_count(fx->fd, "m/new", NULL, 0), 2);
	T_ASSERT(!same_file(fx->fd, "p/" B1 ".content", fx->fd,
	    B1 ".content"));
	T_EQ_INT(slurp(fx->fd, "p/" B1 ".content", buf, sizeof(buf)),
	    (long)strlen(BODY));
	T_ASSERT(memcmp(buf, BODY, strlen(BODY)) == 0);
}

/* copy:pop: envelopes only; the content stays for them. */
FX_TEST(t_filter_copy_pop, 0)
{
	static const char	*remote[] = { "r@remote.test", NULL };
	struct filter_builtin	 fb;
	struct filter_outcome	 o;

	T_ASSERT(fx_msg(fx, B1, SPOOL_NEW, BODY, strlen(BODY), NULL,
	    remote) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "m", 1) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "p", 0) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "q", 0) == 0);
	T_ASSERT(parse("copy:pop", &fb));
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B1, SPOOL_NEW, &o),
	    FILTER_BUILTIN_REMOVED);
	T_EQ_INT(o.action, FILTER_ABANDON);
	T_ASSERT(!exists(fx->fd, B1 ".envelope.new"));
	T_ASSERT(exists(fx->fd, B1 ".content"));
	T_EQ_INT(dir_count(fx->fd, "p", NULL, 0), 1);
	T_ASSERT(exists(fx->fd, "p/" B1 ".envelope"));
	T_ASSERT(exists(fx->fd, "q/" B1 ".envelope"));
	T_ASSERT(!exists(fx->fd, "q/" B1 ".content"));
	T_EQ_INT(dir_count(fx->fd, "m/new", NULL, 0), 1);

	/* Only maildirs: nothing refers to the content, so it goes. */
	T_ASSERT(fx_msg(fx, B2, SPOOL_NEW, BODY, strlen(BODY), NULL,
	    remote) == 0);
	T_ASSERT(unlinkat(fx->fd, "p/" B1 ".envelope", 0) == 0);
	T_ASSERT(unlinkat(fx->fd, "p", AT_REMOVEDIR) == 0);
	T_ASSERT(unlinkat(fx->fd, "q/" B1 ".envelope", 0) == 0);
	T_ASSERT(unlinkat(fx->fd, "q", AT_REMOVEDIR) == 0);
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B2, SPOOL_NEW, &o),
	    FILTER_BUILTIN_REMOVED);
	T_ASSERT(!exists(fx->fd, B2 ".content"));
	T_EQ_INT(dir_count(fx->fd, "m/new", NULL, 0), 2);
}

/* copy: without sub-directories keeps the message and says so. */
FX_TEST(t_filter_copy_nowhere, 0)
{
	struct filter_builtin	 fb;
	struct filter_outcome	 o;

	T_ASSERT(fx_msg(fx, B1, SPOOL_NEW, BODY, strlen(BODY), NULL,
	    NULL) == 0);
	T_ASSERT(fx_mkdirs(fx->fd, "postmaster", 0) == 0);
	T_ASSERT(parse("copy:", &fb));
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B1, SPOOL_NEW, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	T_ASSERT(strstr(o.reason, "no sub-directories") != NULL);
	T_ASSERT(exists(fx->fd, B1 ".envelope.new"));
	T_ASSERT(exists(fx->fd, B1 ".content"));
	/* A message that is not there fails with its name. */
	T_EQ_INT(filter_builtin_copy(&fb, &fx->env, B2, SPOOL_NEW, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_ASSERT(strstr(o.reason, B2) != NULL);
}

/* deliver: local and remote recipients, a maildir and a new mailbox. */
FX_TEST(t_filter_deliver_mixed, 1)
{
	static const char	*local[] = { "alice", "bob", "alice", NULL };
	static const char	*remote[] = { "carol@remote.test", NULL };
	struct filter_builtin	 fb;
	struct filter_outcome	 o;
	struct envelope		 env;
	char			 name[256], buf[256];
	int			 b;

	T_ASSERT(fx_msg(fx, B1, SPOOL_NEW, BODY, strlen(BODY), local,
	    remote) == 0);
	T_ASSERT(fx_mkdirs(fx->dfd, "alice", 1) == 0);
	T_ASSERT(parse("deliver:", &fb));
	T_EQ_INT(filter_builtin_deliver(&fb, &fx->env, B1, SPOOL_NEW, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	/* alice once, in her maildir. */
	T_EQ_INT(dir_count(fx->dfd, "alice/new", name, sizeof(name)), 1);
	T_EQ_INT(dir_count(fx->dfd, "alice/tmp", NULL, 0), 0);
	T_EQ_INT(dir_count(fx->dfd, "alice", NULL, 0), 3);
	/* bob's mailbox made, with a ready pair for him alone. */
	T_EQ_INT(file_mode(fx->dfd, "bob"), 0770);
	T_ASSERT((b = at_fd(fx->dfd, "bob")) != -1);
	T_EQ_INT(dir_count(fx->dfd, "bob", NULL, 0), 2);
	T_EQ_INT(slurp(b, B1 ".content", buf, sizeof(buf)),
	    (long)strlen(BODY));
	T_EQ_INT(env_load(b, B1 ".envelope", &env), 0);
	(void)close(b);
	T_EQ_INT(env.nto_local, 1);
	T_EQ_STR(env.to_local[0], "bob");
	T_EQ_INT(env.nto_remote, 0);
	envelope_free(&env);
	/* Nothing went to the spool itself. */
	T_EQ_INT(dir_count(fx->fd, ".", NULL, 0), 2);
	/* The original goes on with its remote recipient only. */
	T_EQ_INT(env_load(fx->fd, B1 ".envelope.new", &env), 0);
	T_EQ_INT(env.nto_local, 0);
	T_EQ_INT(env.nto_remote, 1);
	T_EQ_STR(env.to_remote[0], "carol@remote.test");
	envelope_free(&env);
	/* Again: nothing local is left to deliver. */
	T_EQ_INT(filter_builtin_deliver(&fb, &fx->env, B1, SPOOL_NEW, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_INT(dir_count(fx->dfd, "alice/new", NULL, 0), 1);
}

/* deliver: local recipients only, into the spool's own mailboxes. */
FX_TEST(t_filter_deliver_local, 0)
{
	static const char	*local[] = { "dave", NULL };
	struct filter_builtin	 fb;
	struct filter_outcome	 o;
	struct envelope		 env;

	T_ASSERT(fx_msg(fx, B1, SPOOL_BUSY, BODY, strlen(BODY), local,
	    NULL) == 0);
	/* nodelete;hardlink: the original stays as it was. */
	T_ASSERT(parse("deliver:nodelete;hardlink", &fb));
	T_EQ_INT(filter_builtin_deliver(&fb, &fx->env, B1, SPOOL_BUSY, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	T_ASSERT(same_file(fx->fd, "dave/" B1 ".content", fx->fd,
	    B1 ".content"));
	T_ASSERT(exists(fx->fd, "dave/" B1 ".envelope"));
	T_EQ_INT(env_load(fx->fd, B1 ".envelope.busy", &env), 0);
	T_EQ_INT(env.nto_local, 1);
	envelope_free(&env);
	/* Without nodelete the original goes; dave has it already. */
	T_ASSERT(parse("deliver:", &fb));
	T_EQ_INT(filter_builtin_deliver(&fb, &fx->env, B1, SPOOL_BUSY, &o),
	    FILTER_BUILTIN_REMOVED);
	T_EQ_INT(o.action, FILTER_ABANDON);
	T_ASSERT(!exists(fx->fd, B1 ".envelope.busy"));
	T_ASSERT(!exists(fx->fd, B1 ".content"));
	T_EQ_INT(dir_count(fx->fd, "dave", NULL, 0), 2);
	T_EQ_INT(dir_count(fx->fd, ".", NULL, 0), 1);
}

/* deliver: refuses mailbox names that would be paths. */
FX_TEST(t_filter_deliver_hostile, 1)
{
	static const char	*names[] = { "../evil", "a/b", ".hidden", "..",
		".", "x..y", "/etc", NULL };
	const char		*local[3];
	struct filter_builtin	 fb;
	struct filter_outcome	 o;
	char			 base[SPOOL_BASE_MAX];
	int			 i;

	T_ASSERT(parse("deliver:", &fb));
	for (i = 0; names[i] != NULL; i++) {
		(void)snprintf(base, sizeof(base), "emailrelay.7.1.%d", i);
		/* A good name first: nothing at all may be written. */
		local[0] = "good";
		local[1] = names[i];
		local[2] = NULL;
		T_ASSERT(fx_msg(fx, base, SPOOL_NEW, BODY, strlen(BODY),
		    local, NULL) == 0);
		T_EQ_INT(filter_builtin_deliver(&fb, &fx->env, base,
		    SPOOL_NEW, &o), FILTER_BUILTIN_KEPT);
		T_EQ_INT(o.action, FILTER_FAIL);
		T_EQ_INT(o.code, 553);
		T_EQ_STR(o.reply, "553 mailbox name not allowed");
		T_ASSERT(strstr(o.reason, "mailbox name") != NULL);
		T_EQ_INT(dir_count(fx->dfd, ".", NULL, 0), 0);
		(void)spool_remove(fx->fd, base);
	}
	T_EQ_INT(dir_count(fx->fd, ".", NULL, 0), 0);

	/* A mailbox that is a symlink is not followed. */
	T_ASSERT(fx_mkdirs(fx->dfd, "elsewhere", 0) == 0);
	T_ASSERT(fx_symlink(fx->dfd, "elsewhere", "mallory") == 0);
	local[0] = "mallory";
	local[1] = NULL;
	T_ASSERT(fx_msg(fx, B1, SPOOL_NEW, BODY, strlen(BODY), local,
	    NULL) == 0);
	T_EQ_INT(filter_builtin_deliver(&fb, &fx->env, B1, SPOOL_NEW, &o),
	    FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_FAIL);
	T_EQ_INT(o.code, 452);
	T_EQ_INT(dir_count(fx->dfd, "elsewhere", NULL, 0), 0);
	T_ASSERT(exists(fx->fd, B1 ".envelope.new"));
}

/* Check one message of a split: recipients, ForwardTo, group lines. */
static int
split_check(int dirfd, const char *name, const char *rcpts,
    const char *fwd, unsigned int count, const char *group)
{
	struct envelope	 env;
	char		 list[512], g[SPOOL_BASE_MAX];
	unsigned int	 n;
	size_t		 i;
	int		 ok, has;

	if (env_load(dirfd, name, &env) == -1)
		return (0);
	list[0] = '\0';
	for (i = 0; i < env.nto_remote; i++) {
		(void)strlcat(list, i > 0 ? " " : "", sizeof(list));
		(void)strlcat(list, env.to_remote[i], sizeof(list));
	}
	has = envelope_split(&env, &n, g, sizeof(g));
	ok = strcmp(list, rcpts) == 0 && strcmp(env.forward_to, fwd) == 0 &&
	    env.forward_to_address[0] == '\0' &&
	    (count == 0 ? !has : has && n == count && strcmp(g, group) == 0);
	if (!ok)
		printf("split_check %s: [%s] [%s] %u [%s]\n", name, list,
		    env.forward_to, n, g);
	envelope_free(&env);
	return (ok);
}

/* split: three recipients in two domains, case folded. */
FX_TEST(t_filter_split_fold, 0)
{
	static const char		*local[] = { "postmaster", NULL };
	static const char		*remote[] = { "a@Example.COM",
		"b@Other.test", "c@example.com", NULL };
	struct filter_builtin		 fb;
	struct filter_outcome		 o;
	struct filter_builtin_parts	 parts;
	struct envelope			 env;
	char				 name[SPOOL_NAME_MAX];

	T_ASSERT(fx_msg(fx, B1, SPOOL_NEW, BODY, strlen(BODY), local,
	    remote) == 0);
	T_ASSERT(parse("split:", &fb));
	T_EQ_INT(filter_builtin_run(&fb, &fx->env, B1, SPOOL_NEW, &o,
	    &parts), FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_INT(o.rescan, 1);
	T_EQ_INT(parts.n, 1);
	T_ASSERT(split_check(fx->fd, B1 ".envelope.new",
	    "a@Example.COM c@example.com", "example.com", 2, B1));
	T_EQ_INT(env_load(fx->fd, B1 ".envelope.new", &env), 0);
	T_EQ_INT(env.nto_local, 1);
	envelope_free(&env);
	/* The part: same state, its content a hard link. */
	T_ASSERT(spool_name(name, sizeof(name), parts.list[0].base,
	    SPOOL_NEW) == 0);
	T_ASSERT(split_check(fx->fd, name, "b@Other.test", "other.test", 2,
	    B1));
	T_EQ_INT(env_load(fx->fd, name, &env), 0);
	T_EQ_INT(env.nto_local, 0);
	T_EQ_STR(env.from, "sender@example.org");
	envelope_free(&env);
	T_ASSERT(spool_name(name, sizeof(name), parts.list[0].base,
	    SPOOL_KIND_CONTENT) == 0);
	T_ASSERT(same_file(fx->fd, name, fx->fd, B1 ".content"));
	T_ASSERT(strncmp(parts.list[0].base, "emailrelay.4242.", 16) == 0);
	T_EQ_INT(dir_count(fx->fd, ".", NULL, 0), 4);
	filter_builtin_parts_free(&parts);
	T_ASSERT(parts.list == NULL && parts.n == 0);
}

/* split:raw: the same recipients make three groups. */
FX_TEST(t_filter_split_raw, 0)
{
	static const char		*remote[] = { "a@Example.COM",
		"b@Other.test", "c@example.com", NULL };
	struct filter_builtin		 fb;
	struct filter_outcome		 o;
	struct filter_builtin_parts	 parts;
	char				 n1[SPOOL_NAME_MAX], n2[SPOOL_NAME_MAX];

	T_ASSERT(fx_msg(fx, B1, SPOOL_BUSY, BODY, strlen(BODY), NULL,
	    remote) == 0);
	T_ASSERT(parse("split:raw", &fb));
	T_EQ_INT(filter_builtin_split(&fb, &fx->env, B1, SPOOL_BUSY, &o,
	    &parts), FILTER_BUILTIN_KEPT);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_INT(o.rescan, 0);
	T_EQ_INT(parts.n, 2);
	T_ASSERT(split_check(fx->fd, B1 ".envelope.busy", "a@Example.COM",
	    "Example.COM", 3, B1));
	/* Client chain: the parts are claimed like the original. */
	T_ASSERT(spool_name(n1, sizeof(n1), parts.list[0].base,
	    SPOOL_BUSY) == 0);
	T_ASSERT(spool_name(n2, sizeof(n2), parts.list[1].base,
	    SPOOL_BUSY) == 0);
	T_ASSERT(split_check(fx->fd, n1, "b@Other.test", "Other.test", 3,
	    B1));
	T_ASSERT(split_check(fx->fd, n2, "c@example.com", "example.com", 3,
	    B1));
	T_EQ_INT(dir_count(fx->fd, ".", NULL, 0), 6);
	filter_builtin_parts_free(&parts);
}

/* split: one domain sets ForwardTo only; no remote recipient: nothing. */
FX_TEST(t_filter_split_one, 0)
{
	static const char		*remote[] = { "a@One.test",
		"b@one.TEST", NULL };
	static const char		*local[] = { "x", NULL };
	struct filter_builtin		 fb;
	struct filter_outcome		 o;
	struct filter_builtin_parts	 parts;
	struct envelope			 env;

	T_ASSERT(fx_msg(fx, B1, SPOOL_NEW, BODY, strlen(BODY), NULL,
	    remote) == 0);
	T_ASSERT(parse("split:", &fb));
	(void)filter_builtin_split(&fb, &fx->env, B1, SPOOL_NEW, &o, &parts);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_INT(o.rescan, 0);
	T_EQ_INT(parts.n, 0);
	T_ASSERT(split_check(fx->fd, B1 ".envelope.new",
	    "a@One.test b@one.TEST", "one.test", 0, NULL));
	T_EQ_INT(dir_count(fx->fd, ".", NULL, 0), 2);

	T_ASSERT(fx_msg(fx, B2, SPOOL_NEW, BODY, strlen(BODY), local,
	    NULL) == 0);
	(void)filter_builtin_split(&fb, &fx->env, B2, SPOOL_NEW, &o, &parts);
	T_EQ_INT(o.action, FILTER_PASS);
	T_EQ_INT(parts.n, 0);
	T_EQ_INT(env_load(fx->fd, B2 ".envelope.new", &env), 0);
	T_EQ_STR(env.forward_to, "");
	envelope_free(&env);
	T_EQ_INT(dir_count(fx->fd, ".", NULL, 0), 4);
	/* split: through the dispatcher needs somewhere for the parts. */
	(void)filter_builtin_run(&fb, &fx->env, B2, SPOOL_NEW, &o, NULL);
	T_EQ_INT(o.action, FILTER_FAIL);
}

/*
 * Run msgid: on content in (len bytes); *out (malloc'd, the caller
 * frees) gets the result and *outlen its length.  The content is held
 * open and locked meanwhile, as the queue does.
 */
static int
msgid_run(struct t_fx *fx, const char *in, size_t len, char **out,
    size_t *outlen, int *same_inode)
{
	struct filter_outcome	 o;
	struct envelope		 env;
	struct stat		 before, after;
	char			 err[256];
	int			 fd, rfd = -1, r = -1;

	*out = NULL;
	(void)spool_remove(fx->fd, B1);
	if ((fd = spool_content_create(fx->fd, B1)) == -1)
		return (-1);
	envelope_init(&env);
	if (write(fd, in, len) != (ssize_t)len || fstat(fd, &before) == -1 ||
	    spool_envelope_write_new(fx->fd, B1, &env, err, sizeof(err)) == -1)
		goto done;
	if (filter_builtin_msgid(&fx->env, B1, SPOOL_NEW, &o) !=
	    FILTER_BUILTIN_KEPT || o.action != FILTER_PASS)
		goto done;
	if (fstatat(fx->fd, B1 ".content", &after, AT_SYMLINK_NOFOLLOW) == -1)
		goto done;
	*same_inode = before.st_ino == after.st_ino;
	*outlen = (size_t)after.st_size;
	if ((*out = malloc(*outlen + 1)) == NULL)
		goto done;
	if ((rfd = openat(fx->fd, B1 ".content", O_RDONLY | O_CLOEXEC)) ==
	    -1 || pread(rfd, *out, *outlen, 0) != (ssize_t)*outlen)
		goto done;
	(*out)[*outlen] = '\0';
	r = 0;

done:
	envelope_free(&env);
	if (rfd != -1)
		(void)close(rfd);
	(void)close(fd);
	if (r == -1) {
		free(*out);
		*out = NULL;
	}
	return (r);
}

/*
 * out must be in with "Message-ID: <...@relay.test>" + eol inserted at
 * offset at (eol2 is put before it, for a last line without one).
 */
static int
msgid_added(const char *in, size_t len, const char *out, size_t outlen,
    size_t at, const char *eol2, const char *eol)
{
	const char	*p, *q;
	size_t		 k, e2 = strlen(eol2), el = strlen(eol);

	if (outlen <= len || memcmp(out, in, at) != 0)
		return (0);
	k = outlen - len;
	if (memcmp(out + at + k, in + at, len - at) != 0)
		return (0);
	p = out + at;
	if (memcmp(p, eol2, e2) != 0)
		return (0);
	p += e2;
	if (strncmp(p, "Message-ID: <", 13) != 0)
		return (0);
	q = out + at + k - el;
	if (memcmp(q, eol, el) != 0 || q[-1] != '>' ||
	    memcmp(q - 12, "@relay.test>", 12) != 0)
		return (0);
	/* One line: no CR or LF inside. */
	for (p += 13; p < q; p++)
		if (*p == '\r' || *p == '\n')
			return (0);
	return (1);
}

/* msgid: adds the field at the end of the header block, or not at all. */
FX_TEST(t_filter_msgid_small, 0)
{
	static const struct {
		const char	*in;
		long		 at;		/* -1: already has one */
		const char	*eol2, *eol;
	} c[] = {
		{ "Subject: x\r\n\r\nbody\r\n", 12, "", "\r\n" },
		{ "Subject: x\n\nbody\n", 11, "", "\n" },
		{ "Message-ID: <a@b>\r\n\r\nbody\r\n", -1, "", "" },
		{ "Subject: x\r\nmessage-id: <a@b>\r\n\r\n", -1, "", "" },
		{ "MESSAGE-ID : <a@b>\n\nbody\n", -1, "", "" },
		{ "Message-Id:<a@b>\r\n\r\n", -1, "", "" },
		{ "X-Message-ID: <a@b>\r\n\r\n", 21, "", "\r\n" },
		{ "Subject: x\r\n Message-ID: <a@b>\r\n\r\n", 32, "",
		    "\r\n" },
		{ "Subject: x\r\n\r\nMessage-ID: <a@b>\r\n", 12, "", "\r\n" },
		{ "Message-IDs: <a@b>\r\n\r\n", 20, "", "\r\n" },
		{ "Subject: x\r\n", 12, "", "\r\n" },
		{ "Subject: x", 10, "\r\n", "\r\n" },
		{ "Subject: x\n", 11, "", "\n" },
		{ "Subject: x\nFrom: y", 18, "\n", "\n" },
		{ "\r\nbody\r\n", 0, "", "\r\n" },
		{ "", 0, "", "\r\n" },
	};
	char	*out;
	size_t	 i, len, outlen;
	int	 same;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		len = strlen(c[i].in);
		T_EQ_INT(msgid_run(fx, c[i].in, len, &out, &outlen, &same),
		    0);
		T_ASSERT(same);
		if (c[i].at == -1) {
			T_EQ_INT(outlen, len);
			T_ASSERT(memcmp(out, c[i].in, len) == 0);
		} else if (!msgid_added(c[i].in, len, out, outlen,
		    (size_t)c[i].at, c[i].eol2, c[i].eol)) {
			printf("case %zu: [%s]\n", i, out);
			free(out);
			T_ASSERT(0);
		}
		free(out);
	}
}

/* msgid: on content larger than its buffer, headers included. */
FX_TEST(t_filter_msgid_large, 0)
{
	char	*in, *out;
	size_t	 len, hdr, outlen, pad, i;
	int	 same, crlf;

	T_ASSERT((in = malloc(T_BIG * 2)) != NULL);
	for (crlf = 0; crlf < 2; crlf++) {
		/* 40 header lines of 1000 bytes: 40 KB of header block. */
		len = 0;
		for (i = 0; i < 40; i++) {
			len += (size_t)snprintf(in + len, T_BIG * 2 - len,
			    "X-Filler-%02zu: ", i);
			memset(in + len, 'a' + (int)(i % 26), 980);
			len += 980;
			len += (size_t)snprintf(in + len, T_BIG * 2 - len,
			    "%s", crlf ? "\r\n" : "\n");
		}
		hdr = len;
		len += (size_t)snprintf(in + len, T_BIG * 2 - len, "%s",
		    crlf ? "\r\n" : "\n");
		for (i = 0; len < T_BIG; i++)
			len += (size_t)snprintf(in + len, T_BIG * 2 - len,
			    "body line %zu Message-ID: <no@no>%s", i,
			    crlf ? "\r\n" : "\n");
		if (msgid_run(fx, in, len, &out, &outlen, &same) == -1) {
			free(in);
			T_ASSERT(0);
		}
		if (!same || !msgid_added(in, len, out, outlen, hdr, "",
		    crlf ? "\r\n" : "\n")) {
			free(out);
			free(in);
			T_ASSERT(0);
		}
		free(out);
	}

	/* A Message-ID field across the buffer boundary is found. */
	len = 0;
	pad = 16384 - 5 - strlen("X-Pad: ") - 2;
	len += (size_t)snprintf(in, T_BIG * 2, "X-Pad: ");
	memset(in + len, 'p', pad);
	len += pad;
	len += (size_t)snprintf(in + len, T_BIG * 2 - len,
	    "\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n");
	if (msgid_run(fx, in, len, &out, &outlen, &same) == -1) {
		free(in);
		T_ASSERT(0);
	}
	i = outlen == len && memcmp(out, in, len) == 0;
	free(out);
	free(in);
	T_ASSERT(i);
}
