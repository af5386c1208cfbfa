/*
 * File-only built-in filters (filter.h, SPEC 6.3): exit:, copy:,
 * deliver:, split: and msgid:, run inside the queue process on one
 * message of a spool directory.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "filter_result.h"
#include "spool.h"
#include "queue/filter.h"

#define FB_BUFSZ	16384		/* content streaming buffer */
#define FB_SPECMAX	256		/* longest option text */
#define FB_TARGETMAX	BOUNDS_RCPT	/* sub-directories, mailboxes */
#define FB_DIRMAX	256		/* a directory entry name, with NUL */
#define FB_FILEMAX	160		/* a maildir file name, with NUL */
#define FB_HOSTMAX	64		/* host name part of a maildir name */
#define FB_MAILBOXMAX	255		/* longest mailbox name */
#define FB_NAMETRIES	64		/* attempts at a free new name */
#define FB_TEXTMAX	512		/* a reason before cleaning */
#define FB_ERRMAX	256

#define FB_TEMPFAIL	452		/* our own failures */
#define FB_BADNAME	553		/* deliver: a mailbox name refused */

#define FB_MSGID	"message-id"
#define FB_MSGIDLEN	(sizeof(FB_MSGID) - 1)

/* fb_target.state */
#define FB_T_NONE	0		/* nothing written */
#define FB_T_SKIP	1		/* already holds the message */
#define FB_T_PREPARED	2		/* written under a temporary name */
#define FB_T_DONE	3		/* renamed into place */

/* One built-in name and the options it takes. */
struct fb_kind {
	const char			*prefix;
	enum filter_builtin_kind	 kind;
	int				 allowed;
	const char			*badopt;
};

struct fb_flag {
	const char	*name;
	int		 flag;
};

/* One sub-directory (copy:) or mailbox (deliver:) to write into. */
struct fb_target {
	char	 dir[FB_DIRMAX];
	char	 file[FB_FILEMAX];	/* maildir: its file in tmp, new */
	int	 maildir;
	int	 state;			/* FB_T_* */
	int	 wrote;			/* pair: "<base>.content" is ours */
};

/* The copies of one copy: or deliver: run. */
struct fb_job {
	const struct filter_builtin_env	*env;
	const char			*base;
	const char			*who;		/* "copy", "deliver" */
	int				 parent;	/* holds the targets */
	int				 content;	/* pairs get content */
	int				 hardlink;
	struct stat			 spool_st;
	struct fb_target		*t;
	size_t				 n, cap;
};

/* Reading the header block for msgid:. */
struct fb_hdr {
	off_t	 off;			/* offset of the next byte */
	off_t	 bol;			/* start of the current line */
	int	 col;			/* bytes of this line, up to 2 */
	int	 match;			/* of FB_MSGID matched, -1 none */
	int	 cr;			/* the last byte was CR */
	int	 eol;			/* first line: 0 none, 1 LF, 2 CRLF */
	int	 found;			/* a Message-ID field */
	int	 end;			/* the empty line was reached */
	int	 last;			/* the last byte read */
};

/* split: one recipient, and one group of them. */
struct fb_rcpt {
	const char	*dom;
	size_t		 i;
};

struct fb_group {
	size_t	 first;			/* index of its first recipient */
	size_t	 start;			/* into the sorted recipients */
	size_t	 len;
};

static const struct fb_kind fb_kinds[] = {
	{ "exit:", FILTER_BUILTIN_EXIT, 0,
	    "exit: needs an exit code from 0 to 255" },
	{ "copy:", FILTER_BUILTIN_COPY, FILTER_BUILTIN_NODELETE |
	    FILTER_BUILTIN_POP | FILTER_BUILTIN_HARDLINK,
	    "copy: options are nodelete, pop and hardlink" },
	{ "deliver:", FILTER_BUILTIN_DELIVER, FILTER_BUILTIN_HARDLINK |
	    FILTER_BUILTIN_NODELETE,
	    "deliver: options are hardlink and nodelete" },
	{ "split:", FILTER_BUILTIN_SPLIT, FILTER_BUILTIN_RAW,
	    "split: the only option is raw" },
	{ "msgid:", FILTER_BUILTIN_MSGID, 0, "msgid: takes no options" },
};

static const struct fb_flag fb_flags[] = {
	{ "nodelete", FILTER_BUILTIN_NODELETE },
	{ "pop", FILTER_BUILTIN_POP },
	{ "hardlink", FILTER_BUILTIN_HARDLINK },
	{ "raw", FILTER_BUILTIN_RAW },
};

static void	 fb_clean(char *, size_t, const char *);
static void	 fb_fail(struct filter_outcome *, int, const char *,
		    const char *, ...)
		    __attribute__((__format__(__printf__, 4, 5)));
static void	 fb_note(struct filter_outcome *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static int	 fb_args(const struct filter_builtin_env *, const char *,
		    enum spool_state, const char *, struct filter_outcome *);
static int	 fb_load(const struct filter_builtin_env *, const char *,
		    enum spool_state, struct envelope *, const char *,
		    struct filter_outcome *);
static int	 fb_save(int, const char *, enum spool_state,
		    const struct envelope *, char *, size_t);
static int	 fb_remove(const struct filter_builtin_env *, const char *,
		    enum spool_state, int, const char *,
		    struct filter_outcome *);
static ssize_t	 fb_read(int, char *, size_t);
static int	 fb_write_all(int, const char *, size_t);
static int	 fb_stream(int, int);
static int	 fb_open_file(int, const char *, int);
static int	 fb_open_dir(int, const char *);
static int	 fb_is_dir(int, const char *);
static int	 fb_clone(int, const char *, int, const char *, int);
static int	 fb_rename_noreplace(int, const char *, int, const char *);
static void	 fb_hostname(const struct filter_builtin_env *, char *,
		    size_t);
static int	 fb_maildir_name(const struct filter_builtin_env *, char *,
		    size_t);
static void	 fb_job_init(struct fb_job *, const struct filter_builtin_env *,
		    const char *, const char *, int, int, int);
static int	 fb_job_add(struct fb_job *, const char *);
static int	 fb_target_prepare(struct fb_job *, struct fb_target *,
		    const struct envelope *, struct filter_outcome *);
static int	 fb_target_commit(struct fb_job *, struct fb_target *,
		    struct filter_outcome *);
static void	 fb_target_undo(struct fb_job *, struct fb_target *);
static int	 fb_job_commit(struct fb_job *, struct filter_outcome *);
static void	 fb_job_undo(struct fb_job *);
static void	 fb_job_free(struct fb_job *);
static int	 fb_target_cmp(const void *, const void *);
static int	 fb_subdirs(struct fb_job *, struct filter_outcome *);
static int	 fb_mailbox_ok(const char *);
static int	 fb_strp_cmp(const void *, const void *);
static const char *fb_domain(const char *);
static int	 fb_rcpt_cmp(const void *, const void *);
static int	 fb_rcpt_cmp_raw(const void *, const void *);
static int	 fb_group_cmp(const void *, const void *);
static int	 fb_forward_to(struct envelope *, const char *, int);
static int	 fb_split_part(const struct filter_builtin_env *, const char *,
		    struct envelope *, struct spool_entry *,
		    struct filter_outcome *);
static void	 fb_hdr_byte(struct fb_hdr *, int);
static int	 fb_hdr_scan(int, struct fb_hdr *);
static void	 fb_msgid_make(const struct filter_builtin_env *, char *,
		    size_t);
static int	 fb_tmpfile(const struct filter_builtin_env *);

int
filter_builtin_parse(const char *spec, struct filter_builtin *fb,
    const char **errstr)
{
	const struct fb_kind	*k = NULL;
	const char		*p, *err;
	char			 buf[FB_SPECMAX], *s, *item;
	size_t			 i, len;

	*errstr = NULL;
	for (i = 0; i < sizeof(fb_kinds) / sizeof(fb_kinds[0]); i++) {
		len = strlen(fb_kinds[i].prefix);
		if (strncmp(spec, fb_kinds[i].prefix, len) == 0) {
			k = &fb_kinds[i];
			break;
		}
	}
	if (k == NULL)
		return (0);
	memset(fb, 0, sizeof(*fb));
	fb->kind = k->kind;
	p = spec + len;
	if (k->kind == FILTER_BUILTIN_EXIT) {
		/* Digits only: strtonum() would take a sign or spaces. */
		for (i = 0; p[i] >= '0' && p[i] <= '9'; i++)
			;
		if (i == 0 || p[i] != '\0' || i > 3) {
			*errstr = k->badopt;
			return (-1);
		}
		fb->exit_code = (int)strtonum(p, 0, 255, &err);
		if (err != NULL) {
			*errstr = k->badopt;
			return (-1);
		}
		return (1);
	}
	if (strlcpy(buf, p, sizeof(buf)) >= sizeof(buf)) {
		*errstr = "filter options too long";
		return (-1);
	}
	s = buf;
	while ((item = strsep(&s, ";,")) != NULL) {
		/* Blanks around an option, as the configuration allows. */
		item += strspn(item, " \t");
		for (len = strlen(item); len > 0 && (item[len - 1] == ' ' ||
		    item[len - 1] == '\t'); len--)
			item[len - 1] = '\0';
		if (*item == '\0')
			continue;
		for (i = 0; i < sizeof(fb_flags) / sizeof(fb_flags[0]); i++)
			if (strcasecmp(item, fb_flags[i].name) == 0)
				break;
		if (i == sizeof(fb_flags) / sizeof(fb_flags[0]) ||
		    (k->allowed & fb_flags[i].flag) == 0) {
			*errstr = k->badopt;
			return (-1);
		}
		fb->flags |= fb_flags[i].flag;
	}
	return (1);
}

const char *
filter_builtin_check(const char *spec)
{
	struct filter_builtin	 fb;
	const char		*errstr;

	if (filter_builtin_parse(spec, &fb, &errstr) == -1)
		return (errstr);
	return (NULL);
}

int
filter_builtin_run(const struct filter_builtin *fb,
    const struct filter_builtin_env *env, const char *base,
    enum spool_state state, struct filter_outcome *o,
    struct filter_builtin_parts *parts)
{
	if (parts != NULL) {
		parts->list = NULL;
		parts->n = 0;
	}
	switch (fb->kind) {
	case FILTER_BUILTIN_EXIT:
		return (filter_builtin_exit(fb, state, o));
	case FILTER_BUILTIN_COPY:
		return (filter_builtin_copy(fb, env, base, state, o));
	case FILTER_BUILTIN_DELIVER:
		return (filter_builtin_deliver(fb, env, base, state, o));
	case FILTER_BUILTIN_SPLIT:
		if (parts == NULL) {
			fb_fail(o, FB_TEMPFAIL, "split failed",
			    "split: no list for the new messages");
			return (FILTER_BUILTIN_KEPT);
		}
		return (filter_builtin_split(fb, env, base, state, o, parts));
	case FILTER_BUILTIN_MSGID:
		return (filter_builtin_msgid(env, base, state, o));
	}
	fb_fail(o, FB_TEMPFAIL, "filter failed", "unknown built-in filter");
	return (FILTER_BUILTIN_KEPT);
}

void
filter_builtin_parts_free(struct filter_builtin_parts *parts)
{
	free(parts->list);
	parts->list = NULL;
	parts->n = 0;
}

int
filter_builtin_exit(const struct filter_builtin *fb, enum spool_state state,
    struct filter_outcome *o)
{
	if (state == SPOOL_NEW)
		filter_result_server(fb->exit_code, 0, NULL, 0, o);
	else if (state == SPOOL_BUSY)
		filter_result_client(fb->exit_code, 0, NULL, 0, o);
	else
		fb_fail(o, FB_TEMPFAIL, "exit failed",
		    "exit: invalid envelope state");
	return (FILTER_BUILTIN_KEPT);
}

/*
 * Copy src to dst (dstsz bytes, NUL-terminated) as printable ASCII: a tab
 * becomes a space, other bytes '?'; cut at FILTER_TEXT_MAX characters.
 */
static void
fb_clean(char *dst, size_t dstsz, const char *src)
{
	size_t		 i;
	unsigned char	 c;

	if (dstsz == 0)
		return;
	for (i = 0; src[i] != '\0' && i + 1 < dstsz && i < FILTER_TEXT_MAX;
	    i++) {
		c = (unsigned char)src[i];
		if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c > 0x7e)
			c = '?';
		dst[i] = (char)c;
	}
	dst[i] = '\0';
}

/* A failure: "<code> <text>" for the client, the formatted reason. */
static void
fb_fail(struct filter_outcome *o, int code, const char *text,
    const char *fmt, ...)
{
	char	 buf[FB_TEXTMAX];
	va_list	 ap;

	memset(o, 0, sizeof(*o));
	o->action = FILTER_FAIL;
	o->code = code;
	(void)snprintf(buf, sizeof(buf), "%d %s", code, text);
	fb_clean(o->response, sizeof(o->response), buf);
	(void)strlcpy(o->reply, o->response, sizeof(o->reply));
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fb_clean(o->reason, sizeof(o->reason), buf);
}

/* A note for the log on success; the first one stays. */
static void
fb_note(struct filter_outcome *o, const char *fmt, ...)
{
	char	 buf[FB_TEXTMAX];
	va_list	 ap;

	if (o->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fb_clean(o->reason, sizeof(o->reason), buf);
}

/* Common checks; clears *o to a pass.  Returns 0, or -1 with *o failed. */
static int
fb_args(const struct filter_builtin_env *env, const char *base,
    enum spool_state state, const char *who, struct filter_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->action = FILTER_PASS;
	if (state != SPOOL_NEW && state != SPOOL_BUSY) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "%s: invalid envelope state", who);
		return (-1);
	}
	if (!spool_base_valid(base)) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "%s: invalid message name", who);
		return (-1);
	}
	if (env->spool_fd == -1 || env->seq == NULL) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "%s: no spool directory", who);
		return (-1);
	}
	return (0);
}

/* Read the original's envelope.  Returns 0, or -1 with *o failed. */
static int
fb_load(const struct filter_builtin_env *env, const char *base,
    enum spool_state state, struct envelope *e, const char *who,
    struct filter_outcome *o)
{
	char	 name[SPOOL_NAME_MAX], err[FB_ERRMAX];

	(void)strlcpy(err, "invalid message name", sizeof(err));
	if (spool_name(name, sizeof(name), base, state) == -1 ||
	    spool_envelope_load(env->spool_fd, name, e, err,
	    sizeof(err)) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed", "%s: %s: %s", who,
		    base, err);
		return (-1);
	}
	return (0);
}

/*
 * Write the original's envelope back in its state: ".new" is rewritten
 * where it is (a crash there loses nothing that was acknowledged), any
 * other state through ".new" and an atomic rename.
 */
static int
fb_save(int dirfd, const char *base, enum spool_state state,
    const struct envelope *e, char *err, size_t errsz)
{
	if (state == SPOOL_NEW)
		return (spool_envelope_write_new(dirfd, base, e, err, errsz));
	return (spool_envelope_rewrite(dirfd, base, state, e, err, errsz));
}

/*
 * Delete the original: its envelope, then (unless keep_content) its
 * content, then fsync the spool.  Returns -1 with *o failed only when
 * the envelope is still there; later failures leave a note.
 */
static int
fb_remove(const struct filter_builtin_env *env, const char *base,
    enum spool_state state, int keep_content, const char *who,
    struct filter_outcome *o)
{
	char	 name[SPOOL_NAME_MAX];

	if (spool_name(name, sizeof(name), base, state) == -1 ||
	    (unlinkat(env->spool_fd, name, 0) == -1 && errno != ENOENT)) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "%s: cannot remove %s: %s", who, base, strerror(errno));
		return (-1);
	}
	if (!keep_content && (spool_name(name, sizeof(name), base,
	    SPOOL_KIND_CONTENT) == -1 || (unlinkat(env->spool_fd, name,
	    0) == -1 && errno != ENOENT)))
		fb_note(o, "%s: cannot remove %s: %s", who, name,
		    strerror(errno));
	if (spool_dir_sync(env->spool_fd) == -1)
		fb_note(o, "%s: spool directory: fsync: %s", who,
		    strerror(errno));
	return (0);
}

static ssize_t
fb_read(int fd, char *p, size_t len)
{
	ssize_t	 n;

	while ((n = read(fd, p, len)) == -1 && errno == EINTR)
		;
	return (n);
}

static int
fb_write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Copy in (from its offset) to out (at its offset) up to the end of in. */
static int
fb_stream(int in, int out)
{
	char	 buf[FB_BUFSZ];
	ssize_t	 n;

	for (;;) {
		if ((n = fb_read(in, buf, sizeof(buf))) == -1)
			return (-1);
		if (n == 0)
			return (0);
		if (fb_write_all(out, buf, (size_t)n) == -1)
			return (-1);
	}
}

/*
 * Open the regular file name in dirfd (flags O_RDONLY or O_RDWR), never
 * through a symlink and without hanging on a FIFO.  Returns the
 * descriptor (blocking) or -1 (EINVAL: not a regular file).
 */
static int
fb_open_file(int dirfd, const char *name, int flags)
{
	struct stat	 st;
	int		 fd, fl, saved;

	if ((fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		goto fail;
	return (fd);

fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return (-1);
}

/* Open the directory name in dirfd, never through a symlink. */
static int
fb_open_dir(int dirfd, const char *name)
{
	return (openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC));
}

/* 1 if name in dirfd is a directory (not a symlink to one), else 0. */
static int
fb_is_dir(int dirfd, const char *name)
{
	struct stat	 st;

	return (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode));
}

/*
 * Make dst in ddir hold the regular file src of sdir: a hard link when
 * link is set and the file system allows one, else a copy written mode
 * 0660 (under the umask) and fsync'd.  dst must not exist (EEXIST).  On
 * failure dst is not left behind.  Returns 0 or -1.
 */
static int
fb_clone(int sdir, const char *src, int ddir, const char *dst, int link)
{
	struct stat	 st;
	int		 in, out, saved;

	if (fstatat(sdir, src, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (-1);
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return (-1);
	}
	if (link) {
		if (linkat(sdir, src, ddir, dst, 0) == 0)
			return (0);
		if (errno != EXDEV && errno != EMLINK && errno != EPERM &&
		    errno != EOPNOTSUPP && errno != ENOSYS)
			return (-1);
	}
	if ((in = fb_open_file(sdir, src, O_RDONLY)) == -1)
		return (-1);
	if ((out = openat(ddir, dst, O_CREAT | O_EXCL | O_WRONLY |
	    O_NOFOLLOW | O_CLOEXEC, SPOOL_MODE)) == -1) {
		saved = errno;
		(void)close(in);
		errno = saved;
		return (-1);
	}
	if (fb_stream(in, out) == -1 || spool_fsync_fd(out) == -1) {
		saved = errno;
		(void)close(in);
		(void)close(out);
		(void)unlinkat(ddir, dst, 0);
		errno = saved;
		return (-1);
	}
	(void)close(in);
	if (close(out) == -1) {
		saved = errno;
		(void)unlinkat(ddir, dst, 0);
		errno = saved;
		return (-1);
	}
	return (0);
}

/*
 * Rename without replacing an existing file; where the file system
 * cannot promise that, a plain rename (maildir names are unique).
 */
static int
fb_rename_noreplace(int odir, const char *old, int ndir, const char *new)
{
	if (renameat2(odir, old, ndir, new, RENAME_NOREPLACE) == 0)
		return (0);
	if (errno != EINVAL && errno != ENOSYS)
		return (-1);
	return (renameat(odir, old, ndir, new));
}

/*
 * The host name for maildir file names: '/' and ':' escaped as octal
 * ("\057", "\072") as maildir readers expect, other bytes that are not
 * printable ASCII made '_', cut at FB_HOSTMAX; "localhost" if none.
 */
static void
fb_hostname(const struct filter_builtin_env *env, char *out, size_t outsz)
{
	char		 host[BOUNDS_DOMAIN + 1];
	const char	*h = env->hostname;
	size_t		 i, n = 0;
	unsigned char	 c;

	if (h == NULL) {
		if (gethostname(host, sizeof(host) - 1) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		h = host;
	}
	for (i = 0; h[i] != '\0' && n + 5 < outsz && n < FB_HOSTMAX; i++) {
		c = (unsigned char)h[i];
		if (c == '/' || c == ':') {
			(void)snprintf(out + n, outsz - n, "\\%03o", c);
			n += 4;
		} else
			out[n++] = c <= 0x20 || c >= 0x7f ? '_' : (char)c;
	}
	out[n] = '\0';
	if (n == 0)
		(void)strlcpy(out, "localhost", outsz);
}

/* "<unix-seconds>.<pid>.<hostname>.<seq>" (SPEC 3) into out. */
static int
fb_maildir_name(const struct filter_builtin_env *env, char *out,
    size_t outsz)
{
	char	 host[FB_HOSTMAX + 8];
	int	 n;

	fb_hostname(env, host, sizeof(host));
	n = snprintf(out, outsz, "%lld.%ld.%s.%llu", (long long)time(NULL),
	    (long)env->pid, host, ++*env->seq);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

static void
fb_job_init(struct fb_job *job, const struct filter_builtin_env *env,
    const char *base, const char *who, int parent, int content,
    int hardlink)
{
	memset(job, 0, sizeof(*job));
	job->env = env;
	job->base = base;
	job->who = who;
	job->parent = parent;
	job->content = content;
	job->hardlink = hardlink;
}

/* Add a target directory.  Returns 0, or -1 (E2BIG, ENOMEM). */
static int
fb_job_add(struct fb_job *job, const char *dir)
{
	struct fb_target	*t;
	size_t			 cap;

	if (job->n == FB_TARGETMAX) {
		errno = E2BIG;
		return (-1);
	}
	if (job->n == job->cap) {
		cap = job->cap == 0 ? 16 : job->cap * 2;
		if (cap > FB_TARGETMAX)
			cap = FB_TARGETMAX;
		if ((t = reallocarray(job->t, cap, sizeof(*t))) == NULL)
			return (-1);
		job->t = t;
		job->cap = cap;
	}
	t = &job->t[job->n];
	memset(t, 0, sizeof(*t));
	if (strlcpy(t->dir, dir, sizeof(t->dir)) >= sizeof(t->dir)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	job->n++;
	return (0);
}

/*
 * Write one copy under its temporary name: a maildir gets the content in
 * tmp; another directory "<base>.content" (if job->content) and e as
 * "<base>.envelope.new", unless it already has "<base>.envelope".
 * Returns 0, or -1 with *o failed and nothing of this target left.
 */
static int
fb_target_prepare(struct fb_job *job, struct fb_target *t,
    const struct envelope *e, struct filter_outcome *o)
{
	const struct filter_builtin_env	*env = job->env;
	struct stat			 st;
	char				 cname[SPOOL_NAME_MAX];
	char				 ename[SPOOL_NAME_MAX], err[FB_ERRMAX];
	int				 fd, tmp = -1;

	if (spool_name(cname, sizeof(cname), job->base,
	    SPOOL_KIND_CONTENT) == -1 || spool_name(ename, sizeof(ename),
	    job->base, SPOOL_READY) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "%s: invalid message name", job->who);
		return (-1);
	}
	if ((fd = fb_open_dir(job->parent, t->dir)) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed", "%s: %s: %s",
		    job->who, t->dir, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1 || (st.st_dev == job->spool_st.st_dev &&
	    st.st_ino == job->spool_st.st_ino)) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "%s: %s: is the spool directory", job->who, t->dir);
		goto fail;
	}
	t->maildir = fb_is_dir(fd, "new") && fb_is_dir(fd, "tmp") &&
	    fb_is_dir(fd, "cur");
	if (t->maildir) {
		if ((tmp = fb_open_dir(fd, "tmp")) == -1 ||
		    fb_maildir_name(env, t->file, sizeof(t->file)) == -1 ||
		    fb_clone(env->spool_fd, cname, tmp, t->file,
		    job->hardlink) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "%s: %s/tmp: %s", job->who, t->dir,
			    strerror(errno));
			goto fail;
		}
		(void)close(tmp);
		(void)close(fd);
		t->state = FB_T_PREPARED;
		return (0);
	}
	if (fstatat(fd, ename, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* Copied before (the same message id): leave it. */
		(void)close(fd);
		t->state = FB_T_SKIP;
		return (0);
	}
	if (errno != ENOENT) {
		fb_fail(o, FB_TEMPFAIL, "filter failed", "%s: %s/%s: %s",
		    job->who, t->dir, ename, strerror(errno));
		goto fail;
	}
	if (job->content) {
		/* A leftover of an interrupted copy goes first. */
		if ((unlinkat(fd, cname, 0) == -1 && errno != ENOENT) ||
		    fb_clone(env->spool_fd, cname, fd, cname,
		    job->hardlink) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "%s: %s/%s: %s", job->who, t->dir, cname,
			    strerror(errno));
			goto fail;
		}
		t->wrote = 1;
	}
	if (spool_envelope_write_new(fd, job->base, e, err,
	    sizeof(err)) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed", "%s: %s: %s",
		    job->who, t->dir, err);
		if (t->wrote)
			(void)unlinkat(fd, cname, 0);
		t->wrote = 0;
		goto fail;
	}
	(void)close(fd);
	t->state = FB_T_PREPARED;
	return (0);

fail:
	if (tmp != -1)
		(void)close(tmp);
	(void)close(fd);
	return (-1);
}

/*
 * Rename a prepared copy into place (tmp to new, ".envelope.new" to
 * ".envelope") and fsync that directory.  Returns 0, or -1 with *o
 * failed.
 */
static int
fb_target_commit(struct fb_job *job, struct fb_target *t,
    struct filter_outcome *o)
{
	int	 fd, tmp = -1, new = -1, r = -1;

	if ((fd = fb_open_dir(job->parent, t->dir)) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed", "%s: %s: %s",
		    job->who, t->dir, strerror(errno));
		return (-1);
	}
	if (t->maildir) {
		if ((tmp = fb_open_dir(fd, "tmp")) == -1 ||
		    (new = fb_open_dir(fd, "new")) == -1 ||
		    fb_rename_noreplace(tmp, t->file, new, t->file) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "%s: %s/new/%s: %s", job->who, t->dir, t->file,
			    strerror(errno));
			goto done;
		}
		t->state = FB_T_DONE;
		if (spool_dir_sync(new) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "%s: %s/new: fsync: %s", job->who, t->dir,
			    strerror(errno));
			goto done;
		}
	} else {
		if (spool_rename_state(fd, job->base, SPOOL_NEW,
		    SPOOL_READY) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "%s: %s/%s: rename: %s", job->who, t->dir,
			    job->base, strerror(errno));
			goto done;
		}
		t->state = FB_T_DONE;
		if (spool_dir_sync(fd) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "%s: %s: fsync: %s", job->who, t->dir,
			    strerror(errno));
			goto done;
		}
	}
	r = 0;

done:
	if (tmp != -1)
		(void)close(tmp);
	if (new != -1)
		(void)close(new);
	(void)close(fd);
	return (r);
}

/* Remove what a target got, whether prepared or already committed. */
static void
fb_target_undo(struct fb_job *job, struct fb_target *t)
{
	char	 name[SPOOL_NAME_MAX];
	int	 fd, sub;

	if (t->state != FB_T_PREPARED && t->state != FB_T_DONE)
		return;
	if ((fd = fb_open_dir(job->parent, t->dir)) == -1)
		return;
	if (t->maildir) {
		if ((sub = fb_open_dir(fd, t->state == FB_T_DONE ? "new" :
		    "tmp")) != -1) {
			(void)unlinkat(sub, t->file, 0);
			(void)close(sub);
		}
	} else {
		if (spool_name(name, sizeof(name), job->base,
		    t->state == FB_T_DONE ? SPOOL_READY : SPOOL_NEW) == 0)
			(void)unlinkat(fd, name, 0);
		if (t->wrote && spool_name(name, sizeof(name), job->base,
		    SPOOL_KIND_CONTENT) == 0)
			(void)unlinkat(fd, name, 0);
	}
	(void)spool_dir_sync(fd);
	(void)close(fd);
	t->state = FB_T_NONE;
}

/*
 * Commit every prepared target.  Returns 0, or -1 with *o failed and
 * every copy of the job removed again.
 */
static int
fb_job_commit(struct fb_job *job, struct filter_outcome *o)
{
	size_t	 i;

	for (i = 0; i < job->n; i++) {
		if (job->t[i].state != FB_T_PREPARED)
			continue;
		if (fb_target_commit(job, &job->t[i], o) == -1) {
			fb_job_undo(job);
			return (-1);
		}
	}
	return (0);
}

static void
fb_job_undo(struct fb_job *job)
{
	size_t	 i;

	for (i = 0; i < job->n; i++)
		fb_target_undo(job, &job->t[i]);
}

static void
fb_job_free(struct fb_job *job)
{
	free(job->t);
	job->t = NULL;
	job->n = job->cap = 0;
}

static int
fb_target_cmp(const void *a, const void *b)
{
	const struct fb_target	*ta = a, *tb = b;

	return (strcmp(ta->dir, tb->dir));
}

/*
 * copy:'s targets: the real sub-directories of the spool but
 * "postmaster" and dot-names, in name order.  Returns 0, or -1 with *o
 * failed.
 */
static int
fb_subdirs(struct fb_job *job, struct filter_outcome *o)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if ((fd = openat(job->env->spool_fd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "copy: cannot read the spool directory: %s",
		    strerror(errno));
		if (fd != -1)
			(void)close(fd);
		return (-1);
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno == 0)
				break;
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "copy: cannot read the spool directory: %s",
			    strerror(errno));
			(void)closedir(d);
			return (-1);
		}
		if (de->d_name[0] == '.' ||
		    strcmp(de->d_name, "postmaster") == 0)
			continue;
		if (de->d_type != DT_DIR && (de->d_type != DT_UNKNOWN ||
		    !fb_is_dir(job->env->spool_fd, de->d_name)))
			continue;
		if (fb_job_add(job, de->d_name) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "copy: sub-directories: %s", strerror(errno));
			(void)closedir(d);
			return (-1);
		}
	}
	(void)closedir(d);
	if (job->n > 1)
		qsort(job->t, job->n, sizeof(job->t[0]), fb_target_cmp);
	return (0);
}

int
filter_builtin_copy(const struct filter_builtin *fb,
    const struct filter_builtin_env *env, const char *base,
    enum spool_state state, struct filter_outcome *o)
{
	struct envelope	 e;
	struct fb_job	 job;
	mode_t		 mask;
	size_t		 i, refs;
	int		 r = FILTER_BUILTIN_KEPT;

	if (fb_args(env, base, state, "copy", o) == -1)
		return (r);
	mask = umask(007);
	envelope_init(&e);
	fb_job_init(&job, env, base, "copy", env->spool_fd,
	    (fb->flags & FILTER_BUILTIN_POP) == 0,
	    (fb->flags & FILTER_BUILTIN_HARDLINK) != 0);
	if (fstat(env->spool_fd, &job.spool_st) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "copy: spool directory: %s", strerror(errno));
		goto done;
	}
	if (fb_load(env, base, state, &e, "copy", o) == -1 ||
	    fb_subdirs(&job, o) == -1)
		goto done;
	if (job.n == 0) {
		/* Nowhere to copy to: deleting would lose the message. */
		fb_note(o, "copy: no sub-directories to copy into");
		goto done;
	}
	for (i = 0; i < job.n; i++) {
		if (fb_target_prepare(&job, &job.t[i], &e, o) == -1) {
			fb_job_undo(&job);
			goto done;
		}
	}
	if (fb_job_commit(&job, o) == -1 ||
	    (fb->flags & FILTER_BUILTIN_NODELETE))
		goto done;
	/* With pop the content stays while an envelope copy refers to it. */
	for (i = 0, refs = 0; i < job.n; i++)
		if (!job.t[i].maildir && (job.t[i].state == FB_T_DONE ||
		    job.t[i].state == FB_T_SKIP))
			refs++;
	if (fb_remove(env, base, state, (fb->flags & FILTER_BUILTIN_POP) &&
	    refs > 0, "copy", o) == -1) {
		fb_job_undo(&job);
		goto done;
	}
	o->action = FILTER_ABANDON;
	r = FILTER_BUILTIN_REMOVED;

done:
	fb_job_free(&job);
	envelope_free(&e);
	(void)umask(mask);
	return (r);
}

/*
 * 1 if a To-Local mailbox name may become a directory name: 1 to
 * FB_MAILBOXMAX bytes, no leading dot, no '/', no "..", no control
 * characters (8-bit bytes are allowed: SMTPUTF8 local parts).
 */
static int
fb_mailbox_ok(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || s[0] == '.' || strstr(s, "..") != NULL)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (i == FB_MAILBOXMAX || s[i] == '/' ||
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (0);
	}
	return (1);
}

static int
fb_strp_cmp(const void *a, const void *b)
{
	const char *const	*sa = a, *const *sb = b;

	return (strcmp(*sa, *sb));
}

int
filter_builtin_deliver(const struct filter_builtin *fb,
    const struct filter_builtin_env *env, const char *base,
    enum spool_state state, struct filter_outcome *o)
{
	struct envelope	 e, one;
	struct fb_job	 job;
	char		 err[FB_ERRMAX];
	char		**names = NULL;
	mode_t		 mask;
	size_t		 i;
	int		 parent, created = 0, r = FILTER_BUILTIN_KEPT;

	if (fb_args(env, base, state, "deliver", o) == -1)
		return (r);
	mask = umask(007);
	envelope_init(&e);
	envelope_init(&one);
	parent = env->delivery_fd == -1 ? env->spool_fd : env->delivery_fd;
	fb_job_init(&job, env, base, "deliver", parent, 1,
	    (fb->flags & FILTER_BUILTIN_HARDLINK) != 0);
	if (fstat(env->spool_fd, &job.spool_st) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "deliver: spool directory: %s", strerror(errno));
		goto done;
	}
	if (fb_load(env, base, state, &e, "deliver", o) == -1 ||
	    e.nto_local == 0)
		goto done;
	/* Every name is checked before anything is written. */
	for (i = 0; i < e.nto_local; i++) {
		if (!fb_mailbox_ok(e.to_local[i])) {
			fb_fail(o, FB_BADNAME, "mailbox name not allowed",
			    "deliver: mailbox name not allowed: [%.300s]",
			    e.to_local[i]);
			goto done;
		}
	}
	/* Each mailbox once, in name order. */
	if ((names = reallocarray(NULL, e.nto_local, sizeof(*names))) ==
	    NULL || envelope_copy(&one, &e) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed", "deliver: %s",
		    strerror(errno));
		goto done;
	}
	memcpy(names, e.to_local, e.nto_local * sizeof(*names));
	qsort(names, e.nto_local, sizeof(*names), fb_strp_cmp);
	for (i = 0; i < e.nto_local; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if (fb_job_add(&job, names[i]) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "deliver: %s", strerror(errno));
			goto done;
		}
	}
	envelope_clear_rcpts(&one, 1);
	envelope_clear_rcpts(&one, 0);
	for (i = 0; i < job.n; i++) {
		if (mkdirat(parent, job.t[i].dir, 0770) == 0)
			created = 1;
		else if (errno != EEXIST) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "deliver: cannot create mailbox %s: %s",
			    job.t[i].dir, strerror(errno));
			fb_job_undo(&job);
			goto done;
		}
		if (envelope_add_rcpt(&one, 1, job.t[i].dir) == -1) {
			fb_fail(o, FB_TEMPFAIL, "filter failed",
			    "deliver: %s: %s", job.t[i].dir, strerror(errno));
			fb_job_undo(&job);
			goto done;
		}
		if (fb_target_prepare(&job, &job.t[i], &one, o) == -1) {
			fb_job_undo(&job);
			goto done;
		}
		envelope_clear_rcpts(&one, 1);
	}
	if (created && spool_dir_sync(parent) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed",
		    "deliver: delivery directory: fsync: %s",
		    strerror(errno));
		fb_job_undo(&job);
		goto done;
	}
	if (fb_job_commit(&job, o) == -1)
		goto done;
	if (e.nto_remote == 0) {
		if (fb->flags & FILTER_BUILTIN_NODELETE)
			goto done;
		if (fb_remove(env, base, state, 0, "deliver", o) == -1) {
			fb_job_undo(&job);
			goto done;
		}
		o->action = FILTER_ABANDON;
		r = FILTER_BUILTIN_REMOVED;
		goto done;
	}
	envelope_clear_rcpts(&e, 1);
	if (fb_save(env->spool_fd, base, state, &e, err, sizeof(err)) == -1) {
		fb_fail(o, FB_TEMPFAIL, "filter failed", "deliver: %s", err);
		fb_job_undo(&job);
		goto done;
	}
	if (state != SPOOL_NEW && spool_dir_sync(env->spool_fd) == -1)
		fb_note(o, "deliver: spool directory: fsync: %s",
		    strerror(errno));

done:
	free(names);
	fb_job_free(&job);
	envelope_free(&one);
	envelope_free(&e);
	(void)umask(mask);
	return (r);
}

/* The domain of an address: after its last '@', "" without one. */
static const char *
fb_domain(const char *addr)
{
	const char	*at;

	if ((at = strrchr(addr, '@')) == NULL)
		return ("");
	return (at + 1);
}

/* By domain ignoring ASCII case, then by position. */
static int
fb_rcpt_cmp(const void *a, const void *b)
{
	const struct fb_rcpt	*ra = a, *rb = b;
	int			 c;

	if ((c = strcasecmp(ra->dom, rb->dom)) != 0)
		return (c);
	return (ra->i < rb->i ? -1 : ra->i > rb->i);
}

/* By domain as written, then by position. */
static int
fb_rcpt_cmp_raw(const void *a, const void *b)
{
	const struct fb_rcpt	*ra = a, *rb = b;
	int			 c;

	if ((c = strcmp(ra->dom, rb->dom)) != 0)
		return (c);
	return (ra->i < rb->i ? -1 : ra->i > rb->i);
}

static int
fb_group_cmp(const void *a, const void *b)
{
	const struct fb_group	*ga = a, *gb = b;

	return (ga->first < gb->first ? -1 : ga->first > gb->first);
}

/*
 * Set ForwardTo to dom (ASCII lower case unless raw).  Returns 1 if it
 * changed, 0 if not, -1 with errno set.
 */
static int
fb_forward_to(struct envelope *e, const char *dom, int raw)
{
	char	 buf[ENVELOPE_FIELD_MAX];
	size_t	 i;

	if (strlcpy(buf, dom, sizeof(buf)) >= sizeof(buf)) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; !raw && buf[i] != '\0'; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] += 'a' - 'A';
	if (strcmp(e->forward_to, buf) == 0)
		return (0);
	if (envelope_set_forward_to(e, buf) == -1)
		return (-1);
	return (1);
}

/*
 * One new message of split: a new name, its content a link of the
 * original's (a copy if linking fails), e written as its ".envelope.new".
 * Returns 0 with part set, or -1 with *o failed and nothing left.
 */
static int
fb_split_part(const struct filter_builtin_env *env, const char *base,
    struct envelope *e, struct spool_entry *part, struct filter_outcome *o)
{
	char	 cname[SPOOL_NAME_MAX], pname[SPOOL_NAME_MAX];
	char	 err[FB_ERRMAX];
	int	 tries;

	if (spool_name(cname, sizeof(cname), base, SPOOL_KIND_CONTENT) == -1)
		goto fail;
	for (tries = 0; tries < FB_NAMETRIES; tries++) {
		if (spool_name_new(part->base, sizeof(part->base), env->pid,
		    time(NULL), ++*env->seq) == -1 ||
		    spool_name(pname, sizeof(pname), part->base,
		    SPOOL_KIND_CONTENT) == -1)
			goto fail;
		if (fb_clone(env->spool_fd, cname, env->spool_fd, pname,
		    1) == 0)
			break;
		if (errno != EEXIST)
			goto fail;
	}
	if (tries == FB_NAMETRIES)
		goto fail;
	if (spool_envelope_write_new(env->spool_fd, part->base, e, err,
	    sizeof(err)) == -1) {
		fb_fail(o, FB_TEMPFAIL, "split failed", "split: %s", err);
		(void)unlinkat(env->spool_fd, pname, 0);
		return (-1);
	}
	return (0);

fail:
	fb_fail(o, FB_TEMPFAIL, "split failed",
	    "split: cannot make a new message: %s", strerror(errno));
	return (-1);
}

int
filter_builtin_split(const struct filter_builtin *fb,
    const struct filter_builtin_env *env, const char *base,
    enum spool_state state, struct filter_outcome *o,
    struct filter_builtin_parts *parts)
{
	struct envelope		 e, part, first;
	struct fb_rcpt		*rc = NULL;
	struct fb_group		*g = NULL;
	struct spool_entry	*list = NULL;
	char			 err[FB_ERRMAX];
	const char		*dom;
	mode_t			 mask;
	size_t			 i, j, n, ng = 0, made = 0;
	int			 raw, r;

	parts->list = NULL;
	parts->n = 0;
	if (fb_args(env, base, state, "split", o) == -1)
		return (FILTER_BUILTIN_KEPT);
	mask = umask(007);
	raw = (fb->flags & FILTER_BUILTIN_RAW) != 0;
	envelope_init(&e);
	envelope_init(&part);
	envelope_init(&first);
	if (fb_load(env, base, state, &e, "split", o) == -1 ||
	    (n = e.nto_remote) == 0)
		goto done;

	/* Group by domain; groups in the order of their first recipient. */
	if ((rc = reallocarray(NULL, n, sizeof(*rc))) == NULL ||
	    (g = reallocarray(NULL, n, sizeof(*g))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		rc[i].dom = fb_domain(e.to_remote[i]);
		rc[i].i = i;
	}
	qsort(rc, n, sizeof(*rc), raw ? fb_rcpt_cmp_raw : fb_rcpt_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && (raw ? strcmp(rc[i].dom,
		    rc[j].dom) : strcasecmp(rc[i].dom, rc[j].dom)) == 0; j++)
			;
		g[ng].first = rc[i].i;
		g[ng].start = i;
		g[ng].len = j - i;
		ng++;
	}
	qsort(g, ng, sizeof(*g), fb_group_cmp);
	dom = rc[g[0].start].dom;

	if (ng == 1) {
		if ((r = fb_forward_to(&e, dom, raw)) == -1) {
			fb_fail(o, FB_TEMPFAIL, "split failed",
			    "split: bad domain: %s", strerror(errno));
			goto done;
		}
		if (r == 0)
			goto done;
		/* An address found for another ForwardTo is stale. */
		(void)envelope_set_forward_to_address(&e, "");
		if (fb_save(env->spool_fd, base, state, &e, err,
		    sizeof(err)) == -1) {
			fb_fail(o, FB_TEMPFAIL, "split failed", "split: %s",
			    err);
			goto done;
		}
		if (state != SPOOL_NEW && spool_dir_sync(env->spool_fd) == -1)
			fb_note(o, "split: spool directory: fsync: %s",
			    strerror(errno));
		goto done;
	}

	/* The template of the new messages: no recipients yet. */
	if (envelope_copy(&part, &e) == -1 || envelope_copy(&first, &e) == -1)
		goto nomem;
	envelope_clear_rcpts(&part, 1);
	envelope_clear_rcpts(&part, 0);
	envelope_clear_rcpts(&first, 0);
	if (envelope_set_forward_to_address(&part, "") == -1 ||
	    envelope_set_forward_to_address(&first, "") == -1 ||
	    envelope_set_split(&part, (unsigned int)ng, base) == -1 ||
	    envelope_set_split(&first, (unsigned int)ng, base) == -1)
		goto nomem;
	if ((list = reallocarray(NULL, ng - 1, sizeof(*list))) == NULL)
		goto nomem;
	for (i = 1; i < ng; i++) {
		for (j = 0; j < g[i].len; j++) {
			if (envelope_add_rcpt(&part, 0,
			    e.to_remote[rc[g[i].start + j].i]) == -1)
				goto nomem;
		}
		if (fb_forward_to(&part, rc[g[i].start].dom, raw) == -1) {
			fb_fail(o, FB_TEMPFAIL, "split failed",
			    "split: bad domain: %s", strerror(errno));
			goto undo;
		}
		if (fb_split_part(env, base, &part, &list[made], o) == -1)
			goto undo;
		made++;
		envelope_clear_rcpts(&part, 0);
	}
	for (j = 0; j < g[0].len; j++) {
		if (envelope_add_rcpt(&first, 0,
		    e.to_remote[rc[g[0].start + j].i]) == -1)
			goto nomem;
	}
	if (fb_forward_to(&first, dom, raw) == -1) {
		fb_fail(o, FB_TEMPFAIL, "split failed",
		    "split: bad domain: %s", strerror(errno));
		goto undo;
	}

	if (state == SPOOL_BUSY) {
		/* The parts are claimed like the original before it shrinks. */
		for (i = 0; i < made; i++) {
			if (spool_rename_state(env->spool_fd, list[i].base,
			    SPOOL_NEW, SPOOL_BUSY) == -1) {
				fb_fail(o, FB_TEMPFAIL, "split failed",
				    "split: %s: rename: %s", list[i].base,
				    strerror(errno));
				goto undo;
			}
		}
		if (spool_dir_sync(env->spool_fd) == -1) {
			fb_fail(o, FB_TEMPFAIL, "split failed",
			    "split: spool directory: fsync: %s",
			    strerror(errno));
			goto undo;
		}
	}
	if (fb_save(env->spool_fd, base, state, &first, err,
	    sizeof(err)) == -1) {
		fb_fail(o, FB_TEMPFAIL, "split failed", "split: %s", err);
		goto undo;
	}
	if (state == SPOOL_BUSY && spool_dir_sync(env->spool_fd) == -1)
		fb_note(o, "split: spool directory: fsync: %s",
		    strerror(errno));
	if (state == SPOOL_NEW)
		o->rescan = 1;
	parts->list = list;
	parts->n = made;
	list = NULL;
	goto done;

nomem:
	fb_fail(o, FB_TEMPFAIL, "split failed", "split: %s",
	    strerror(errno));
undo:
	for (i = 0; i < made; i++)
		(void)spool_remove(env->spool_fd, list[i].base);
	if (made > 0)
		(void)spool_dir_sync(env->spool_fd);
done:
	free(list);
	free(g);
	free(rc);
	envelope_free(&first);
	envelope_free(&part);
	envelope_free(&e);
	(void)umask(mask);
	return (FILTER_BUILTIN_KEPT);
}

/*
 * One byte of the content for the header-block reader: looks for a
 * Message-ID field name at the start of a line and for the empty line.
 */
static void
fb_hdr_byte(struct fb_hdr *h, int c)
{
	int	 lc;

	h->last = c;
	if (c == '\n') {
		if (h->eol == 0)
			h->eol = h->cr ? 2 : 1;
		if (h->col == 0 || (h->col == 1 && h->cr)) {
			h->end = 1;
			return;
		}
		h->off++;
		h->bol = h->off;
		h->col = 0;
		h->match = 0;
		h->cr = 0;
		return;
	}
	/* A continuation line starts with white space: no match. */
	if (h->col < 2)
		h->col++;
	h->cr = c == '\r';
	h->off++;
	if (h->match < 0)
		return;
	if ((size_t)h->match < FB_MSGIDLEN) {
		lc = c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c;
		h->match = lc == FB_MSGID[h->match] ? h->match + 1 : -1;
	} else if (c == ':')
		h->found = 1;
	else if (c != ' ' && c != '\t')
		h->match = -1;
}

/*
 * Read the header block of the content at fd from its start.  Returns 0
 * with h->found, or h->bol the offset where the new field goes (the
 * empty line, or the end of the content), or -1.
 */
static int
fb_hdr_scan(int fd, struct fb_hdr *h)
{
	char	 buf[FB_BUFSZ];
	ssize_t	 n, i;

	memset(h, 0, sizeof(*h));
	h->last = -1;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return (-1);
	for (;;) {
		if ((n = fb_read(fd, buf, sizeof(buf))) == -1)
			return (-1);
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			fb_hdr_byte(h, (unsigned char)buf[i]);
			if (h->found || h->end)
				return (0);
		}
	}
	/* No empty line: the field goes at the end. */
	h->bol = h->off;
	return (0);
}

/*
 * "<seconds>.<pid>.<seq>.<random>@<domain>": env->domain if it is a
 * plain domain or address literal, else the host name, else
 * "localhost".
 */
static void
fb_msgid_make(const struct filter_builtin_env *env, char *out,
    size_t outsz)
{
	char		 host[BOUNDS_DOMAIN + 1];
	const char	*d;
	size_t		 i;
	int		 k;

	for (k = 0; k < 2; k++) {
		if (k == 0)
			d = env->domain;
		else {
			d = env->hostname;
			if (d == NULL) {
				if (gethostname(host, sizeof(host) - 1) == -1)
					host[0] = '\0';
				host[sizeof(host) - 1] = '\0';
				d = host;
			}
		}
		if (d == NULL || d[0] == '\0' || strlen(d) > BOUNDS_DOMAIN)
			continue;
		for (i = 0; d[i] != '\0'; i++)
			if (d[i] <= ' ' || d[i] >= 0x7f ||
			    strchr("<>()@,;\"\\", d[i]) != NULL)
				break;
		if (d[i] == '\0')
			break;
	}
	if (k == 2)
		d = "localhost";
	(void)snprintf(out, outsz, "%lld.%ld.%llu.%08x@%s",
	    (long long)time(NULL), (long)env->pid, ++*env->seq,
	    (unsigned int)arc4random(), d);
}

/*
 * An unnamed temporary file in the spool (O_TMPFILE; where the file
 * system has none, a dot-name removed at once).  Returns it or -1.
 */
static int
fb_tmpfile(const struct filter_builtin_env *env)
{
	char	 name[64];
	int	 fd, n;

	fd = openat(env->spool_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
	    0600);
	if (fd != -1 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL))
		return (fd);
	n = snprintf(name, sizeof(name), ".msgid.%ld.%llu", (long)env->pid,
	    ++*env->seq);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = openat(env->spool_fd, name, O_CREAT | O_EXCL | O_RDWR |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return (-1);
	(void)unlinkat(env->spool_fd, name, 0);
	return (fd);
}

int
filter_builtin_msgid(const struct filter_builtin_env *env, const char *base,
    enum spool_state state, struct filter_outcome *o)
{
	struct fb_hdr	 h;
	char		 cname[SPOOL_NAME_MAX], id[BOUNDS_DOMAIN + 96];
	char		 field[BOUNDS_DOMAIN + 128];
	const char	*eol;
	mode_t		 mask;
	int		 fd = -1, tfd = -1, n;

	if (fb_args(env, base, state, "msgid", o) == -1)
		return (FILTER_BUILTIN_KEPT);
	mask = umask(007);
	if (spool_name(cname, sizeof(cname), base, SPOOL_KIND_CONTENT) == -1 ||
	    (fd = fb_open_file(env->spool_fd, cname, O_RDWR)) == -1 ||
	    fb_hdr_scan(fd, &h) == -1) {
		fb_fail(o, FB_TEMPFAIL, "msgid failed", "msgid: %s: %s", base,
		    strerror(errno));
		goto done;
	}
	if (h.found)
		goto done;
	eol = h.eol == 1 ? "\n" : "\r\n";
	fb_msgid_make(env, id, sizeof(id));
	/* A last line without terminator is finished first. */
	n = snprintf(field, sizeof(field), "%sMessage-ID: <%s>%s",
	    h.end || h.last == -1 || h.last == '\n' ? "" : eol, id, eol);
	if (n < 0 || (size_t)n >= sizeof(field)) {
		fb_fail(o, FB_TEMPFAIL, "msgid failed",
		    "msgid: message id too long");
		goto done;
	}
	/* The new tail, then written back over the old one. */
	if ((tfd = fb_tmpfile(env)) == -1 ||
	    fb_write_all(tfd, field, (size_t)n) == -1 ||
	    lseek(fd, h.bol, SEEK_SET) == -1 || fb_stream(fd, tfd) == -1 ||
	    lseek(tfd, 0, SEEK_SET) == -1 || lseek(fd, h.bol, SEEK_SET) == -1 ||
	    fb_stream(tfd, fd) == -1 || spool_fsync_fd(fd) == -1) {
		fb_fail(o, FB_TEMPFAIL, "msgid failed", "msgid: %s: %s", cname,
		    strerror(errno));
		goto done;
	}

done:
	if (tfd != -1)
		(void)close(tfd);
	if (fd != -1)
		(void)close(fd);
	(void)umask(mask);
	return (FILTER_BUILTIN_KEPT);
}
