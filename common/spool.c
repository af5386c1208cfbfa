/*
 * Spool directory operations (SPEC 3): names, creation, the durable commit
 * order, claims with OFD locks, failure, removal, scanning and recovery.
 * All I/O is relative to a directory descriptor, O_NOFOLLOW, on validated
 * names.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "spool.h"

#define SPOOL_PREFIX	"emailrelay."
#define SPOOL_DIGITS	20	/* most digits in one name number */
#define SPOOL_SCAN_LIMIT	(1 << 24)	/* most entries of one scan */
#define SPOOL_SUBDIR_MAX	4096	/* mailboxes recovery looks into */

static const char *spool_suffixes[] = {
	[SPOOL_NEW] = ".envelope.new",
	[SPOOL_READY] = ".envelope",
	[SPOOL_BUSY] = ".envelope.busy",
	[SPOOL_BAD] = ".envelope.bad",
};

static size_t	 base_len(const char *);
static int	 name_of(char *, const char *, int);
static int	 lock_fd(int);
static int	 open_locked(int, const char *, int *);
static int	 write_all(int, const char *, size_t);
static int	 write_temp(int, const char *, const char *, size_t);
static int	 numcmp(const char *, size_t, const char *, size_t);
static void	 base_fields(const char *, const char **, size_t *);
static int	 entry_cmp(const void *, const void *);
static DIR	*dir_open(int);
static int	 envelope_exists(int, const char *);
static int	 envelope_in_subdir(int, const char *);
static int	 stale(int, const char *, time_t);

/*
 * Length of a valid base at the start of s ("emailrelay.<d>.<d>.<d>"), or
 * 0 if s does not start with one.
 */
static size_t
base_len(const char *s)
{
	size_t	 i, n;
	int	 field;

	if (strncmp(s, SPOOL_PREFIX, sizeof(SPOOL_PREFIX) - 1) != 0)
		return (0);
	i = sizeof(SPOOL_PREFIX) - 1;
	for (field = 0; field < 3; field++) {
		if (field > 0) {
			if (s[i] != '.')
				return (0);
			i++;
		}
		for (n = 0; s[i] >= '0' && s[i] <= '9'; n++, i++)
			;
		if (n == 0 || n > SPOOL_DIGITS)
			return (0);
	}
	return (i);
}

int
spool_name_new(char *base, size_t size, pid_t pid, time_t t,
    unsigned long long seq)
{
	int	 n;

	n = snprintf(base, size, SPOOL_PREFIX "%lld.%lld.%llu",
	    (long long)pid, (long long)t, seq);
	if (n < 0 || (size_t)n >= size || pid < 0 || t < 0) {
		if (size > 0)
			base[0] = '\0';
		errno = n >= 0 && (size_t)n >= size ? ENAMETOOLONG : EINVAL;
		return (-1);
	}
	return (0);
}

int
spool_base_valid(const char *base)
{
	size_t	 n;

	n = base_len(base);
	return (n > 0 && base[n] == '\0');
}

int
spool_name_parse(const char *name, char *base, size_t basesz, int *kind)
{
	size_t	 n;
	int	 i;

	if ((n = base_len(name)) == 0)
		return (-1);
	if (strcmp(name + n, ".content") == 0)
		*kind = SPOOL_KIND_CONTENT;
	else {
		for (i = SPOOL_NEW; i <= SPOOL_BAD; i++)
			if (strcmp(name + n, spool_suffixes[i]) == 0)
				break;
		if (i > SPOOL_BAD)
			return (-1);
		*kind = i;
	}
	if (base != NULL) {
		if (n >= basesz)
			return (-1);
		memcpy(base, name, n);
		base[n] = '\0';
	}
	return (0);
}

int
spool_name_valid(const char *name)
{
	int	 kind;

	return (spool_name_parse(name, NULL, 0, &kind) == 0);
}

const char *
spool_state_suffix(enum spool_state state)
{
	if ((int)state < SPOOL_NEW || state > SPOOL_BAD)
		return ("");
	return (spool_suffixes[state]);
}

int
spool_name(char *name, size_t namesz, const char *base, int kind)
{
	int	 n;

	if (!spool_base_valid(base) || kind < SPOOL_KIND_CONTENT ||
	    kind > SPOOL_BAD) {
		errno = EINVAL;
		return (-1);
	}
	n = snprintf(name, namesz, "%s%s", base, kind == SPOOL_KIND_CONTENT ?
	    ".content" : spool_suffixes[kind]);
	if (n < 0 || (size_t)n >= namesz) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

/* spool_name() into a SPOOL_NAME_MAX buffer. */
static int
name_of(char *name, const char *base, int kind)
{
	return (spool_name(name, SPOOL_NAME_MAX, base, kind));
}

/* OFD write lock on the whole file, without waiting (EAGAIN if held). */
static int
lock_fd(int fd)
{
	struct flock	 fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		if (errno == EACCES)
			errno = EAGAIN;
		return (-1);
	}
	return (0);
}

/*
 * Open the content of base O_RDWR (a regular file only) and lock it; *fd
 * gets the descriptor, in blocking mode.
 */
static int
open_locked(int dirfd, const char *base, int *fd)
{
	struct stat	 st;
	char		 name[SPOOL_NAME_MAX];
	int		 saved, fl;

	*fd = -1;
	if (name_of(name, base, SPOOL_KIND_CONTENT) == -1)
		return (-1);
	/* O_NONBLOCK: a planted FIFO must not hang the open. */
	if ((*fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return (-1);
	if (fstat(*fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((fl = fcntl(*fd, F_GETFL)) == -1 ||
	    fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK) == -1 || lock_fd(*fd) == -1)
		goto fail;
	return (0);

fail:
	saved = errno;
	(void)close(*fd);
	*fd = -1;
	errno = saved;
	return (-1);
}

static int
write_all(int fd, const char *p, size_t len)
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

/*
 * Write len bytes as "<base>.envelope.new": any old file of that name is
 * unlinked first and the new one created O_EXCL (so a planted hard link is
 * never truncated), written and fsync'd.  On failure nothing is left.
 */
static int
write_temp(int dirfd, const char *base, const char *buf, size_t len)
{
	char	 name[SPOOL_NAME_MAX];
	int	 fd, saved;

	if (name_of(name, base, SPOOL_NEW) == -1)
		return (-1);
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
		return (-1);
	if ((fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY |
	    O_NOFOLLOW | O_CLOEXEC, SPOOL_MODE)) == -1)
		return (-1);
	if (write_all(fd, buf, len) == -1 || spool_fsync_fd(fd) == -1) {
		saved = errno;
		(void)close(fd);
		(void)unlinkat(dirfd, name, 0);
		errno = saved;
		return (-1);
	}
	if (close(fd) == -1) {
		saved = errno;
		(void)unlinkat(dirfd, name, 0);
		errno = saved;
		return (-1);
	}
	return (0);
}

int
spool_content_create(int dirfd, const char *base)
{
	char	 name[SPOOL_NAME_MAX];
	int	 fd, saved;

	if (name_of(name, base, SPOOL_KIND_CONTENT) == -1)
		return (-1);
	if ((fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY |
	    O_NOFOLLOW | O_CLOEXEC, SPOOL_MODE)) == -1)
		return (-1);
	if (lock_fd(fd) == -1) {
		saved = errno;
		(void)unlinkat(dirfd, name, 0);
		(void)close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

int
spool_envelope_write_new(int dirfd, const char *base,
    const struct envelope *env, char *err, size_t errsz)
{
	char	*buf;
	size_t	 len;
	int	 saved;

	if (!spool_base_valid(base)) {
		(void)snprintf(err, errsz, "invalid spool name");
		errno = EINVAL;
		return (-1);
	}
	if (envelope_write(env, &buf, &len) == -1) {
		saved = errno;
		(void)snprintf(err, errsz, "cannot format envelope: %s",
		    strerror(saved));
		errno = saved;
		return (-1);
	}
	if (write_temp(dirfd, base, buf, len) == -1) {
		saved = errno;
		(void)snprintf(err, errsz, "cannot write %s%s: %s", base,
		    spool_suffixes[SPOOL_NEW], strerror(saved));
		free(buf);
		errno = saved;
		return (-1);
	}
	free(buf);
	return (0);
}

int
spool_envelope_rewrite(int dirfd, const char *base, enum spool_state state,
    const struct envelope *env, char *err, size_t errsz)
{
	char	 name[SPOOL_NAME_MAX];
	int	 saved;

	if (state == SPOOL_NEW || (int)state < SPOOL_NEW || state > SPOOL_BAD) {
		(void)snprintf(err, errsz, "invalid envelope state");
		errno = EINVAL;
		return (-1);
	}
	if (spool_envelope_write_new(dirfd, base, env, err, errsz) == -1)
		return (-1);
	if (spool_rename_state(dirfd, base, SPOOL_NEW, state) == -1) {
		saved = errno;
		(void)snprintf(err, errsz, "cannot rename %s%s: %s", base,
		    spool_suffixes[SPOOL_NEW], strerror(saved));
		if (name_of(name, base, SPOOL_NEW) == 0)
			(void)unlinkat(dirfd, name, 0);
		errno = saved;
		return (-1);
	}
	return (0);
}

int
spool_fsync_fd(int fd)
{
	while (fsync(fd) == -1) {
		if (errno != EINTR)
			return (-1);
	}
	return (0);
}

int
spool_fsync_file(int dirfd, const char *name)
{
	int	 fd, saved;

	if (!spool_name_valid(name)) {
		errno = EINVAL;
		return (-1);
	}
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return (-1);
	if (spool_fsync_fd(fd) == -1) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return (-1);
	}
	return (close(fd));
}

int
spool_dir_sync(int dirfd)
{
	return (spool_fsync_fd(dirfd));
}

int
spool_rename_state(int dirfd, const char *base, enum spool_state from,
    enum spool_state to)
{
	char	 a[SPOOL_NAME_MAX], b[SPOOL_NAME_MAX];

	if (name_of(a, base, from) == -1 || name_of(b, base, to) == -1)
		return (-1);
	return (renameat(dirfd, a, dirfd, b));
}

int
spool_commit(int dirfd, const char *base, int content_fd)
{
	char	 name[SPOOL_NAME_MAX];

	if (name_of(name, base, SPOOL_NEW) == -1)
		return (-1);
	if (content_fd != -1 && spool_fsync_fd(content_fd) == -1)
		return (-1);
	if (spool_fsync_file(dirfd, name) == -1)
		return (-1);
	if (spool_rename_state(dirfd, base, SPOOL_NEW, SPOOL_READY) == -1)
		return (-1);
	return (spool_dir_sync(dirfd));
}

int
spool_claim(int dirfd, const char *base, int *content_fd)
{
	int	 fd, saved;

	*content_fd = -1;
	if (open_locked(dirfd, base, &fd) == -1)
		return (-1);
	if (spool_rename_state(dirfd, base, SPOOL_READY, SPOOL_BUSY) == -1) {
		/* ENOENT: claimed or removed by someone else first. */
		saved = errno;
		(void)close(fd);
		errno = saved;
		return (-1);
	}
	*content_fd = fd;
	return (0);
}

int
spool_release(int dirfd, const char *base)
{
	return (spool_rename_state(dirfd, base, SPOOL_BUSY, SPOOL_READY));
}

int
spool_fail(int dirfd, const char *base, const char *reason, int code)
{
	char		 name[SPOOL_NAME_MAX], text[ENVELOPE_REASON_MAX + 1];
	char		*buf, *nbuf, *nl;
	const char	*eol;
	size_t		 len, nlen, tlen;
	int		 n, saved;

	if (name_of(name, base, SPOOL_BUSY) == -1)
		return (-1);
	if (spool_file_load(dirfd, name, ENVELOPE_MAX_SIZE, &buf, &len) == -1)
		return (-1);
	/* Keep the file's own line ending. */
	eol = "\r\n";
	if ((nl = memchr(buf, '\n', len)) != NULL && (nl == buf ||
	    nl[-1] != '\r'))
		eol = "\n";
	if (reason == NULL)
		reason = "";
	tlen = envelope_reason_sanitize(reason, strlen(reason), text,
	    sizeof(text));
	nlen = len + tlen + 128;
	if ((nbuf = malloc(nlen)) == NULL) {
		free(buf);
		return (-1);
	}
	memcpy(nbuf, buf, len);
	free(buf);
	/* Finish a last line that has no terminator. */
	if (len > 0 && nbuf[len - 1] == '\r')
		nbuf[len++] = '\n';
	else if (len > 0 && nbuf[len - 1] != '\n')
		len += (size_t)snprintf(nbuf + len, nlen - len, "%s", eol);
	if (code >= 1 && code <= 999)
		n = snprintf(nbuf + len, nlen - len, "X-MailRelay-Reason: %s%s"
		    "X-MailRelay-ReasonCode: %d%s", text, eol, code, eol);
	else
		n = snprintf(nbuf + len, nlen - len, "X-MailRelay-Reason: %s%s"
		    "X-MailRelay-ReasonCode: %s", text, eol, eol);
	if (n < 0 || (size_t)n >= nlen - len) {
		free(nbuf);
		errno = ENOMEM;
		return (-1);
	}
	len += (size_t)n;
	if (write_temp(dirfd, base, nbuf, len) == -1) {
		saved = errno;
		free(nbuf);
		errno = saved;
		return (-1);
	}
	free(nbuf);
	if (spool_rename_state(dirfd, base, SPOOL_NEW, SPOOL_BUSY) == -1) {
		saved = errno;
		if (name_of(name, base, SPOOL_NEW) == 0)
			(void)unlinkat(dirfd, name, 0);
		errno = saved;
		return (-1);
	}
	return (spool_rename_state(dirfd, base, SPOOL_BUSY, SPOOL_BAD));
}

int
spool_retry(int dirfd, const char *base, int limit, int *count, char *err,
    size_t errsz)
{
	struct envelope	 env;
	char		 name[SPOOL_NAME_MAX];
	int		 fd, r = -1, saved;

	*count = 0;
	if (errsz > 0)
		err[0] = '\0';
	if (name_of(name, base, SPOOL_BAD) == -1) {
		(void)snprintf(err, errsz, "invalid spool name");
		return (-1);
	}
	/* The lock keeps a second retry or a forwarder off meanwhile. */
	if (open_locked(dirfd, base, &fd) == -1) {
		saved = errno;
		(void)snprintf(err, errsz, "cannot lock the content: %s",
		    strerror(saved));
		errno = saved;
		return (-1);
	}
	envelope_init(&env);
	if (spool_envelope_load(dirfd, name, &env, err, errsz) == -1)
		goto done;
	*count = envelope_retry_get(&env);
	if (!envelope_retry_due(&env, limit)) {
		r = 0;
		goto done;
	}
	if (envelope_retry_set(&env, *count + 1) == -1) {
		saved = errno;
		(void)snprintf(err, errsz, "cannot count the retry: %s",
		    strerror(saved));
		errno = saved;
		goto done;
	}
	if (spool_envelope_rewrite(dirfd, base, SPOOL_BAD, &env, err,
	    errsz) == -1)
		goto done;
	(*count)++;
	if (spool_rename_state(dirfd, base, SPOOL_BAD, SPOOL_READY) == -1) {
		saved = errno;
		(void)snprintf(err, errsz, "cannot rename %s%s: %s", base,
		    spool_suffixes[SPOOL_BAD], strerror(saved));
		errno = saved;
		goto done;
	}
	r = 1;

done:
	saved = errno;
	envelope_free(&env);
	(void)close(fd);
	errno = saved;
	return (r);
}

int
spool_remove(int dirfd, const char *base)
{
	char	 name[SPOOL_NAME_MAX];
	int	 state, err = 0;

	if (!spool_base_valid(base)) {
		errno = EINVAL;
		return (-1);
	}
	for (state = SPOOL_NEW; state <= SPOOL_BAD; state++) {
		if (name_of(name, base, state) == -1)
			return (-1);
		if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT &&
		    err == 0)
			err = errno;
	}
	if (name_of(name, base, SPOOL_KIND_CONTENT) == -1)
		return (-1);
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT && err == 0)
		err = errno;
	if (err != 0) {
		errno = err;
		return (-1);
	}
	return (0);
}

int
spool_file_load(int dirfd, const char *name, size_t max, char **buf,
    size_t *len)
{
	struct stat	 st;
	char		*p;
	size_t		 have, want;
	ssize_t		 n;
	int		 fd, saved;

	*buf = NULL;
	*len = 0;
	if (!spool_name_valid(name)) {
		errno = EINVAL;
		return (-1);
	}
	/* O_NONBLOCK: a planted FIFO must not hang the open. */
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	/* One byte more than the size, to see a file that grew. */
	want = (size_t)st.st_size + 1;
	if ((p = malloc(want + 1)) == NULL)
		goto fail;
	have = 0;
	while (have < want) {
		if ((n = read(fd, p + have, want - have)) == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			free(p);
			errno = saved;
			goto fail;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	if (have > max) {
		free(p);
		errno = EFBIG;
		goto fail;
	}
	p[have] = '\0';
	(void)close(fd);
	*buf = p;
	*len = have;
	return (0);

fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return (-1);
}

int
spool_envelope_load(int dirfd, const char *name, struct envelope *env,
    char *err, size_t errsz)
{
	char	*buf;
	size_t	 len;
	int	 r, saved;

	if (spool_file_load(dirfd, name, ENVELOPE_MAX_SIZE, &buf,
	    &len) == -1) {
		saved = errno;
		(void)snprintf(err, errsz, "cannot read envelope: %s",
		    saved == EFBIG ? "too large" : strerror(saved));
		errno = saved;
		return (-1);
	}
	r = envelope_read(buf, len, env, err, errsz);
	free(buf);
	if (r == -1)
		errno = EINVAL;
	return (r);
}

/* Pointers to the three numbers of a valid base: pid, seconds, seq. */
static void
base_fields(const char *base, const char **f, size_t *flen)
{
	const char	*p;
	int		 i;

	p = base + sizeof(SPOOL_PREFIX) - 1;
	for (i = 0; i < 3; i++) {
		f[i] = p;
		for (flen[i] = 0; p[flen[i]] >= '0' && p[flen[i]] <= '9';
		    flen[i]++)
			;
		p += flen[i] + 1;
	}
}

/* Compare two decimal digit strings by value. */
static int
numcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 c;

	while (alen > 1 && *a == '0') {
		a++;
		alen--;
	}
	while (blen > 1 && *b == '0') {
		b++;
		blen--;
	}
	if (alen != blen)
		return (alen < blen ? -1 : 1);
	c = memcmp(a, b, alen);
	return (c < 0 ? -1 : c > 0);
}

int
spool_base_cmp(const char *a, const char *b)
{
	const char	*fa[3], *fb[3];
	size_t		 la[3], lb[3];
	int		 c;

	base_fields(a, fa, la);
	base_fields(b, fb, lb);
	if ((c = numcmp(fa[1], la[1], fb[1], lb[1])) != 0)
		return (c);
	if ((c = numcmp(fa[2], la[2], fb[2], lb[2])) != 0)
		return (c);
	if ((c = numcmp(fa[0], la[0], fb[0], lb[0])) != 0)
		return (c);
	return (strcmp(a, b));
}

static int
entry_cmp(const void *va, const void *vb)
{
	return (spool_base_cmp(((const struct spool_entry *)va)->base,
	    ((const struct spool_entry *)vb)->base));
}

/*
 * A DIR on a fresh descriptor of the spool directory (a dup() would share
 * and move the caller's directory offset).
 */
static DIR *
dir_open(int dirfd)
{
	DIR	*d;
	int	 fd, saved;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return (NULL);
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return (NULL);
	}
	rewinddir(d);
	return (d);
}

int
spool_scan(int dirfd, enum spool_state state, size_t max,
    struct spool_entry **list, size_t *n, int *truncated)
{
	struct spool_entry	*a = NULL, *na;
	struct dirent		*de;
	struct stat		 st;
	DIR			*d;
	size_t			 na_cap = 0, cnt = 0, cap;
	int			 kind, trunc = 0, saved;

	*list = NULL;
	*n = 0;
	if (truncated != NULL)
		*truncated = 0;
	if ((d = dir_open(dirfd)) == NULL)
		return (-1);
	/* Keep at most 2 * max entries, cutting back to the oldest max. */
	if (max > SPOOL_SCAN_LIMIT)
		max = SPOOL_SCAN_LIMIT;
	cap = 2 * max;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				goto fail;
			break;
		}
		if (spool_name_parse(de->d_name, NULL, 0, &kind) == -1 ||
		    kind != (int)state)
			continue;
		if (de->d_type != DT_REG) {
			if (de->d_type != DT_UNKNOWN)
				continue;
			if (fstatat(dirfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
				continue;
		}
		if (max == 0) {
			trunc = 1;
			continue;
		}
		if (cnt == cap && a != NULL) {
			qsort(a, cnt, sizeof(*a), entry_cmp);
			cnt = max;
			trunc = 1;
		}
		if (cnt == na_cap) {
			na_cap = na_cap == 0 ? 64 : na_cap * 2;
			if (na_cap > cap)
				na_cap = cap;
			if ((na = reallocarray(a, na_cap, sizeof(*a))) == NULL)
				goto fail;
			a = na;
		}
		if (spool_name_parse(de->d_name, a[cnt].base,
		    sizeof(a[cnt].base), &kind) == -1)
			continue;
		cnt++;
	}
	(void)closedir(d);
	if (cnt > 0)
		qsort(a, cnt, sizeof(*a), entry_cmp);
	if (cnt > max) {
		cnt = max;
		trunc = 1;
	}
	if (cnt == 0) {
		free(a);
		a = NULL;
	}
	*list = a;
	*n = cnt;
	if (truncated != NULL)
		*truncated = trunc;
	return (0);

fail:
	saved = errno;
	(void)closedir(d);
	free(a);
	errno = saved;
	return (-1);
}

/* 1 if any envelope of base exists (or cannot be checked), else 0. */
static int
envelope_exists(int dirfd, const char *base)
{
	char		 name[SPOOL_NAME_MAX];
	struct stat	 st;
	int		 state;

	for (state = SPOOL_NEW; state <= SPOOL_BAD; state++) {
		if (name_of(name, base, state) == -1)
			return (1);
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != ENOENT)
			return (1);
	}
	return (0);
}

/*
 * 1 if a sub-directory of the spool (a mailbox, SPEC 3) holds an envelope
 * of base, or when that cannot be told (unreadable, too many); else 0.
 */
static int
envelope_in_subdir(int dirfd, const char *base)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 n = 0;
	int		 fd, found = 0;

	if ((d = dir_open(dirfd)) == NULL)
		return (1);
	while (!found) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			found = errno != 0;
			break;
		}
		if (de->d_name[0] == '.' || spool_name_valid(de->d_name))
			continue;
		if (de->d_type != DT_DIR && (de->d_type != DT_UNKNOWN ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISDIR(st.st_mode)))
			continue;
		if (++n > SPOOL_SUBDIR_MAX) {
			found = 1;
			break;
		}
		if ((fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1) {
			found = errno != ENOENT;
			continue;
		}
		found = envelope_exists(fd, base);
		(void)close(fd);
	}
	(void)closedir(d);
	return (found);
}

/* 1 if name is a regular file last modified SPOOL_STALE_SECS before now. */
static int
stale(int dirfd, const char *name, time_t now)
{
	struct stat	 st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return (0);
	return (st.st_mtime <= now - SPOOL_STALE_SECS);
}

int
spool_recover(int dirfd, time_t now,
    void (*cb)(void *, enum spool_recover_action, const char *, int),
    void *arg)
{
	char		 base[SPOOL_BASE_MAX];
	struct dirent	*de;
	DIR		*d;
	int		 pass, kind, fd, done = 0, r;

	if ((d = dir_open(dirfd)) == NULL)
		return (-1);
	/* Envelopes first, so contents they leave orphaned go this pass. */
	for (pass = 0; pass < 2; pass++) {
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (spool_name_parse(de->d_name, base, sizeof(base),
			    &kind) == -1)
				continue;
			if (pass == 0 && kind == SPOOL_BUSY) {
				/* Locked or without content: leave it. */
				if (open_locked(dirfd, base, &fd) == -1)
					continue;
				r = spool_rename_state(dirfd, base, SPOOL_BUSY,
				    SPOOL_READY);
				if (r == 0 || errno != ENOENT) {
					if (cb != NULL)
						cb(arg, SPOOL_RECOVER_UNBUSY,
						    de->d_name,
						    r == 0 ? 0 : errno);
					done += r == 0;
				}
				(void)close(fd);
			} else if (pass == 0 && kind == SPOOL_NEW) {
				if (!stale(dirfd, de->d_name, now))
					continue;
				if (open_locked(dirfd, base, &fd) == -1 &&
				    errno != ENOENT)
					continue;
				r = unlinkat(dirfd, de->d_name, 0);
				if (r == 0 || errno != ENOENT) {
					if (cb != NULL)
						cb(arg,
						    SPOOL_RECOVER_REMOVE_NEW,
						    de->d_name,
						    r == 0 ? 0 : errno);
					done += r == 0;
				}
				if (fd != -1)
					(void)close(fd);
			} else if (pass == 1 && kind == SPOOL_KIND_CONTENT) {
				if (!stale(dirfd, de->d_name, now))
					continue;
				if (open_locked(dirfd, base, &fd) == -1)
					continue;
				if (!envelope_exists(dirfd, base) &&
				    !envelope_in_subdir(dirfd, base)) {
					r = unlinkat(dirfd, de->d_name, 0);
					if (r == 0 || errno != ENOENT) {
						if (cb != NULL)
							cb(arg,
						SPOOL_RECOVER_REMOVE_CONTENT,
							    de->d_name,
							    r == 0 ? 0 : errno);
						done += r == 0;
					}
				}
				(void)close(fd);
			}
		}
	}
	(void)closedir(d);
	return (done);
}

int
spool_free_space(int dirfd, unsigned long long needed)
{
	struct statvfs	 sv;

	if (fstatvfs(dirfd, &sv) == -1)
		return (-1);
	if (sv.f_frsize != 0 &&
	    (unsigned long long)sv.f_bavail > needed / sv.f_frsize)
		return (1);
	return ((unsigned long long)sv.f_bavail * sv.f_frsize >= needed);
}
