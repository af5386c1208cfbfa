/*
 * POP maildrops: see maildrop.h.  Every file operation is relative to a
 * directory descriptor, with O_NOFOLLOW, on names that passed
 * spool_name_valid() or were read from the directory itself.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "maildrop.h"

#define MD_POOLFIRST	4096
#define MD_SCANSLACK	1024	/* envelopes beyond max looked at */

static void	 md_reset(struct maildrop *);
static int	 md_add(struct maildrop *, int, const char *, const char *,
		    uint64_t);
static size_t	 md_pool(struct maildrop *, const char *);
static int	 md_is_dir(int, const char *);
static int	 md_content(int, const char *, uint64_t *);
static int	 md_scan_pairs(struct maildrop *, size_t);
static int	 md_scan_maildir(struct maildrop *, int, int, size_t);
static void	 md_uid(const char *, char *, size_t);
static int	 md_cmp(const void *, const void *, void *);
static int	 md_has_envelope(int, const char *);

int
maildrop_user_valid(const char *user)
{
	size_t	 i;

	if (user[0] == '\0' || user[0] == '.' || strstr(user, "..") != NULL)
		return (0);
	for (i = 0; user[i] != '\0'; i++) {
		if (i == MAILDROP_USERMAX || user[i] == '/' ||
		    (unsigned char)user[i] < 0x20 ||
		    (unsigned char)user[i] == 0x7f)
			return (0);
	}
	return (1);
}

/* 1 if name below dirfd is a directory (not a symlink to one). */
static int
md_is_dir(int dirfd, const char *name)
{
	struct stat	 st;

	return (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode));
}

int
maildrop_open(struct maildrop *md, int spoolfd, const char *user)
{
	int	 fd;

	memset(md, 0, sizeof(*md));
	md->spoolfd = spoolfd;
	md->dirfd = md->newfd = md->curfd = -1;
	if (user == NULL) {
		if ((md->dirfd = fcntl(spoolfd, F_DUPFD_CLOEXEC, 0)) == -1)
			return (-1);
		return (0);
	}
	if (!maildrop_user_valid(user)) {
		errno = EINVAL;
		return (-1);
	}
	md->byname = 1;
	if ((fd = openat(spoolfd, user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return (0);	/* nothing delivered yet */
		if (errno == ELOOP)
			errno = ENOTDIR;
		return (-1);
	}
	md->dirfd = fd;
	if (md_is_dir(fd, "new") && md_is_dir(fd, "cur") &&
	    md_is_dir(fd, "tmp")) {
		md->maildir = 1;
		if ((md->newfd = openat(fd, "new", O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
		    (md->curfd = openat(fd, "cur", O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1) {
			maildrop_close(md);
			return (-1);
		}
	}
	return (0);
}

void
maildrop_close(struct maildrop *md)
{
	int	 saved = errno;

	if (md->dirfd != -1)
		(void)close(md->dirfd);
	if (md->newfd != -1)
		(void)close(md->newfd);
	if (md->curfd != -1)
		(void)close(md->curfd);
	md->dirfd = md->newfd = md->curfd = -1;
	md_reset(md);
	errno = saved;
}

static void
md_reset(struct maildrop *md)
{
	free(md->msgs);
	free(md->pool);
	md->msgs = NULL;
	md->pool = NULL;
	md->n = md->cap = 0;
	md->poollen = md->poolsz = 0;
}

/* Copy s into the pool; returns its offset, or SIZE_MAX without memory. */
static size_t
md_pool(struct maildrop *md, const char *s)
{
	size_t	 len = strlen(s) + 1, sz, off;
	char	*np;

	if (md->poolsz - md->poollen < len) {
		sz = md->poolsz == 0 ? MD_POOLFIRST : md->poolsz;
		while (sz - md->poollen < len)
			sz *= 2;
		if ((np = realloc(md->pool, sz)) == NULL)
			return (SIZE_MAX);
		md->pool = np;
		md->poolsz = sz;
	}
	off = md->poollen;
	memcpy(md->pool + off, s, len);
	md->poollen += len;
	return (off);
}

/*
 * A unique id for a file name: the name up to a ':' if it is a valid POP
 * unique id, else "x" and the 64-bit FNV-1a hash of the name in hex.
 */
static void
md_uid(const char *name, char *uid, size_t size)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i, n;

	n = strcspn(name, ":");
	for (i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			break;
	if (n > 0 && i == n && n <= MAILDROP_UIDMAX && n < size) {
		memcpy(uid, name, n);
		uid[n] = '\0';
		return;
	}
	for (i = 0; name[i] != '\0'; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ULL;
	}
	(void)snprintf(uid, size, "x%016llx", (unsigned long long)h);
}

static int
md_add(struct maildrop *md, int where, const char *name, const char *uid,
    uint64_t size)
{
	struct maildrop_msg	*nm;
	size_t			 cap, noff, uoff;

	if (md->n == md->cap) {
		cap = md->cap == 0 ? 64 : md->cap * 2;
		if ((nm = reallocarray(md->msgs, cap, sizeof(*nm))) == NULL)
			return (-1);
		md->msgs = nm;
		md->cap = cap;
	}
	if ((noff = md_pool(md, name)) == SIZE_MAX ||
	    (uoff = md_pool(md, uid)) == SIZE_MAX)
		return (-1);
	md->msgs[md->n].size = size;
	md->msgs[md->n].name = noff;
	md->msgs[md->n].uid = uoff;
	md->msgs[md->n].where = where;
	md->n++;
	return (0);
}

/*
 * Size of "<base>.content" below dirfd.  Returns 0, 1 when there is no
 * such file (or not a regular one), 2 when another process holds it
 * locked, or -1 on another error.
 */
static int
md_content(int dirfd, const char *base, uint64_t *size)
{
	struct flock	 fl;
	struct stat	 st;
	char		 name[SPOOL_NAME_MAX];
	int		 fd, r = 0;

	if (spool_name(name, sizeof(name), base, SPOOL_KIND_CONTENT) == -1)
		return (1);
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return (errno == ENOENT || errno == ELOOP ? 1 : -1);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	if (fstat(fd, &st) == -1)
		r = -1;
	else if (!S_ISREG(st.st_mode))
		r = 1;
	else if (fcntl(fd, F_OFD_GETLK, &fl) == -1)
		r = -1;
	else if (fl.l_type != F_UNLCK)
		r = 2;			/* received or claimed right now */
	else
		*size = (uint64_t)st.st_size;
	(void)close(fd);
	return (r);
}

/* The envelope+content pairs of md->dirfd. */
static int
md_scan_pairs(struct maildrop *md, size_t max)
{
	struct spool_entry	*list = NULL;
	char			 name[SPOOL_NAME_MAX];
	char			 uid[MAILDROP_UIDMAX + 1];
	uint64_t		 size = 0;
	size_t			 n = 0, i;
	int			 r, where;

	/* room for some envelopes that turn out not to count */
	if (spool_scan(md->dirfd, SPOOL_READY, max + MD_SCANSLACK, &list, &n,
	    NULL) == -1)
		return (-1);
	for (i = 0; i < n && md->n < max; i++) {
		where = MAILDROP_PAIR;
		r = md_content(md->dirfd, list[i].base, &size);
		if (r == 1 && md->byname) {
			where = MAILDROP_SHARED;
			r = md_content(md->spoolfd, list[i].base, &size);
		}
		if (r == 1 || r == 2)
			continue;	/* no content, or busy: not now */
		if (r == -1)
			goto fail;
		if (spool_name(name, sizeof(name), list[i].base,
		    SPOOL_KIND_CONTENT) == -1)
			continue;
		md_uid(name, uid, sizeof(uid));
		if (md_add(md, where, list[i].base, uid, size) == -1)
			goto fail;
	}
	free(list);
	return (0);
fail:
	free(list);
	return (-1);
}

static int
md_cmp(const void *a, const void *b, void *arg)
{
	const struct maildrop_msg	*ma = a, *mb = b;
	const struct maildrop		*md = arg;

	return (strcmp(md->pool + ma->name, md->pool + mb->name));
}

/* The files of a maildir's new (or cur) directory, fd. */
static int
md_scan_maildir(struct maildrop *md, int fd, int where, size_t max)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 uid[MAILDROP_UIDMAX + 1];
	int		 dfd, saved;

	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return (-1);
	if ((d = fdopendir(dfd)) == NULL) {
		saved = errno;
		(void)close(dfd);
		errno = saved;
		return (-1);
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				goto fail;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			goto fail;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (md->n >= max)
			break;
		md_uid(de->d_name, uid, sizeof(uid));
		if (md_add(md, where, de->d_name, uid,
		    (uint64_t)st.st_size) == -1)
			goto fail;
	}
	(void)closedir(d);
	return (0);
fail:
	saved = errno;
	(void)closedir(d);
	errno = saved;
	return (-1);
}

int
maildrop_scan(struct maildrop *md, size_t max)
{
	md_reset(md);
	if (md->dirfd == -1 || max == 0)
		return (0);
	if (!md->maildir)
		return (md_scan_pairs(md, max));
	if (md_scan_maildir(md, md->newfd, MAILDROP_NEW, max) == -1 ||
	    md_scan_maildir(md, md->curfd, MAILDROP_CUR, max) == -1) {
		md_reset(md);
		return (-1);
	}
	if (md->n > 1)
		qsort_r(md->msgs, md->n, sizeof(md->msgs[0]), md_cmp, md);
	return (0);
}

size_t
maildrop_count(const struct maildrop *md)
{
	return (md->n);
}

uint64_t
maildrop_size(const struct maildrop *md, size_t i)
{
	return (i < md->n ? md->msgs[i].size : 0);
}

const char *
maildrop_uid(const struct maildrop *md, size_t i)
{
	return (i < md->n ? md->pool + md->msgs[i].uid : NULL);
}

int
maildrop_open_msg(const struct maildrop *md, size_t i)
{
	const struct maildrop_msg	*m;
	struct stat			 st;
	char				 name[SPOOL_NAME_MAX];
	const char			*path;
	int				 dfd, fd;

	if (i >= md->n) {
		errno = EINVAL;
		return (-1);
	}
	m = &md->msgs[i];
	path = md->pool + m->name;
	switch (m->where) {
	case MAILDROP_NEW:
		dfd = md->newfd;
		break;
	case MAILDROP_CUR:
		dfd = md->curfd;
		break;
	default:
		dfd = m->where == MAILDROP_SHARED ? md->spoolfd : md->dirfd;
		if (spool_name(name, sizeof(name), path,
		    SPOOL_KIND_CONTENT) == -1)
			return (-1);
		path = name;
		break;
	}
	if ((fd = openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		if (errno == ELOOP)
			errno = ENOENT;
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		(void)close(fd);
		errno = ENOENT;
		return (-1);
	}
	return (fd);
}

/* 1 if "<base>.envelope" in any state is below dirfd. */
static int
md_has_envelope(int dirfd, const char *base)
{
	static const enum spool_state	 states[] = { SPOOL_READY, SPOOL_NEW,
	    SPOOL_BUSY, SPOOL_BAD };
	struct stat			 st;
	char				 name[SPOOL_NAME_MAX];
	size_t				 i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		if (spool_name(name, sizeof(name), base, (int)states[i]) == -1)
			return (1);
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != ENOENT)
			return (1);
	}
	return (0);
}

int
maildrop_referenced(int spoolfd, const char *base)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 dfd, sub, found = 0;

	if (md_has_envelope(spoolfd, base))
		return (1);
	if ((dfd = openat(spoolfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return (1);
	if ((d = fdopendir(dfd)) == NULL) {
		(void)close(dfd);
		return (1);
	}
	while (!found) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				found = 1;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && (de->d_type != DT_UNKNOWN ||
		    fstatat(spoolfd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISDIR(st.st_mode)))
			continue;
		if ((sub = openat(spoolfd, de->d_name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			if (errno != ENOENT)
				found = 1;
			continue;
		}
		found = md_has_envelope(sub, base);
		(void)close(sub);
	}
	(void)closedir(d);
	return (found);
}

int
maildrop_delete(struct maildrop *md, size_t i)
{
	const struct maildrop_msg	*m;
	const char			*base;
	char				 name[SPOOL_NAME_MAX];

	if (i >= md->n) {
		errno = EINVAL;
		return (-1);
	}
	m = &md->msgs[i];
	base = md->pool + m->name;
	switch (m->where) {
	case MAILDROP_NEW:
	case MAILDROP_CUR:
		if (unlinkat(m->where == MAILDROP_NEW ? md->newfd : md->curfd,
		    base, 0) == -1 && errno != ENOENT)
			return (-1);
		return (0);
	default:
		break;
	}
	if (spool_name(name, sizeof(name), base, SPOOL_READY) == -1)
		return (-1);
	if (unlinkat(md->dirfd, name, 0) == -1) {
		/* gone, or claimed by a forwarder: not ours to delete */
		return (errno == ENOENT ? 0 : -1);
	}
	if (m->where == MAILDROP_SHARED && maildrop_referenced(md->spoolfd,
	    base))
		return (0);
	if (spool_name(name, sizeof(name), base, SPOOL_KIND_CONTENT) == -1)
		return (-1);
	if (unlinkat(m->where == MAILDROP_SHARED ? md->spoolfd : md->dirfd,
	    name, 0) == -1 && errno != ENOENT)
		return (-1);
	return (0);
}
