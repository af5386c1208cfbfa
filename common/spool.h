/*
 * File-level operations on an E-MailRelay spool directory (SPEC 3), shared
 * by queue, pop, emailrelayctl and emailrelay-submit.  Every call works on a
 * directory descriptor (open it O_RDONLY | O_DIRECTORY) with openat,
 * renameat and unlinkat, O_NOFOLLOW, and only on names that pass
 * spool_name_valid(); a symlink in the spool is never followed.
 *
 * A message is "<base>.content" plus "<base>.envelope<state>", base being
 * "emailrelay.<pid>.<unix-seconds>.<seq>".  Files are created mode 0660:
 * the caller runs under umask 007 while it creates spool files (the library
 * never changes the umask).  A process working on a message holds an OFD
 * write lock (F_OFD_SETLK) on its content file: the lock lives as long as
 * any descriptor of that open file, including copies passed to another
 * process, so close every copy to release it.
 *
 * Acceptance order (SPEC 3 durability), each step a call here:
 *	fd = spool_content_create()		content locked
 *	write the content; spool_fsync_fd(fd)
 *	spool_envelope_write_new()		.envelope.new, fsync'd
 *	filters; if one ran: spool_fsync_fd(fd) and
 *	    spool_fsync_file(<base>.envelope.new)
 *	spool_rename_state(SPOOL_NEW, SPOOL_READY)
 *	spool_dir_sync()			may be shared by a batch
 *	only now the 250, then close(fd)
 * spool_commit() does the last four steps in one call.
 *
 * Functions return 0 (or a count) on success and -1 with errno set on
 * failure; ENOENT means the file vanished, which is normal when several
 * processes share a spool.  Nothing here logs.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

struct envelope;

#define SPOOL_BASE_MAX	96	/* a base name with its NUL, room to spare */
#define SPOOL_NAME_MAX	128	/* a file name with suffix and NUL */
#define SPOOL_STALE_SECS	60	/* age before recovery removes a file */
#define SPOOL_MODE	0660

/* Envelope states: the suffix after "<base>.envelope". */
enum spool_state {
	SPOOL_NEW,	/* ".new": being written and filtered */
	SPOOL_READY,	/* "": ready to forward */
	SPOOL_BUSY,	/* ".busy": claimed by a forwarder */
	SPOOL_BAD	/* ".bad": forwarding failed */
};

/* The kind of "<base>.content" in spool_name_parse() and spool_name(). */
#define SPOOL_KIND_CONTENT	(-1)

/*
 * Write "emailrelay.<pid>.<t>.<seq>" into base (size bytes; SPOOL_BASE_MAX
 * is enough).  Returns 0, or -1 with errno ENAMETOOLONG.
 */
int	 spool_name_new(char *base, size_t size, pid_t pid, time_t t,
	    unsigned long long seq);

/*
 * Returns 1 if name is a spool file name, "emailrelay.<digits>.<digits>.
 * <digits>." followed by "content", "envelope", "envelope.new",
 * "envelope.busy" or "envelope.bad" (each number 1 to 20 digits), else 0.
 * Anything with '/', "..", control characters or another shape is invalid.
 */
int	 spool_name_valid(const char *name);

/* Returns 1 if base is a valid base name "emailrelay.<d>.<d>.<d>", else 0. */
int	 spool_base_valid(const char *base);

/*
 * The order of spool_scan(), oldest first, for two valid base names:
 * seconds, then sequence number, then pid (by value), then the name.
 */
int	 spool_base_cmp(const char *a, const char *b);

/*
 * Split a valid file name: base (basesz bytes) and *kind, which is
 * SPOOL_KIND_CONTENT or an enum spool_state.  Returns 0, or -1 if name is
 * not valid.
 */
int	 spool_name_parse(const char *name, char *base, size_t basesz,
	    int *kind);

/*
 * Write the file name of base with kind (SPOOL_KIND_CONTENT or a state)
 * into name (namesz bytes).  Returns 0, or -1 with errno EINVAL (invalid
 * base) or ENAMETOOLONG.
 */
int	 spool_name(char *name, size_t namesz, const char *base, int kind);

/* The suffix of an envelope state: ".envelope", ".envelope.busy" ... */
const char *spool_state_suffix(enum spool_state state);

/*
 * Create "<base>.content" (O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
 * O_CLOEXEC, mode 0660) and take an OFD write lock on it.  Returns the
 * descriptor, which the caller closes (that releases the lock once no copy
 * is left), or -1 (EEXIST: the name is taken, pick another seq; the file is
 * not left behind on a lock failure).
 */
int	 spool_content_create(int dirfd, const char *base);

/*
 * Write env as "<base>.envelope.new" (created or truncated, mode 0660) and
 * fsync it.  Returns 0, or -1 with errno set and a message in err.
 */
int	 spool_envelope_write_new(int dirfd, const char *base,
	    const struct envelope *env, char *err, size_t errsz);

/*
 * Replace the envelope "<base>.envelope<state>" by env: written to
 * "<base>.envelope.new", fsync'd, renamed over the old one (state must not
 * be SPOOL_NEW; use spool_envelope_write_new() for that).  The directory is
 * not fsync'd.  Returns 0, or -1 with errno set and a message in err.
 */
int	 spool_envelope_rewrite(int dirfd, const char *base,
	    enum spool_state state, const struct envelope *env, char *err,
	    size_t errsz);

/* fsync(fd), retried on EINTR.  Returns 0 or -1. */
int	 spool_fsync_fd(int fd);

/*
 * Open the spool file name (O_RDONLY | O_NOFOLLOW) and fsync it, for files a
 * filter may have replaced.  Returns 0 or -1.
 */
int	 spool_fsync_file(int dirfd, const char *name);

/* fsync the spool directory itself.  Returns 0 or -1. */
int	 spool_dir_sync(int dirfd);

/*
 * Rename "<base>.envelope<from>" to "<base>.envelope<to>" (no fsync).
 * Returns 0, or -1 (ENOENT: no such envelope in state from).
 */
int	 spool_rename_state(int dirfd, const char *base, enum spool_state from,
	    enum spool_state to);

/*
 * The final steps of accepting a message: fsync content_fd (if not -1) and
 * "<base>.envelope.new", rename it to "<base>.envelope", fsync the
 * directory.  Does not close content_fd.  Returns 0 or -1.
 */
int	 spool_commit(int dirfd, const char *base, int content_fd);

/*
 * Claim a ready message for forwarding: open "<base>.content" O_RDWR, take
 * an OFD write lock without waiting, rename "<base>.envelope" to
 * "<base>.envelope.busy".  Returns 0 with *content_fd set (the caller keeps
 * it open until it has released, failed or removed the message, then
 * closes it), or -1: EAGAIN (another process holds the lock), ENOENT (no
 * content, or someone else claimed or removed the envelope first; the lock
 * is dropped again), or another error.
 */
int	 spool_claim(int dirfd, const char *base, int *content_fd);

/*
 * Return a claimed message to ready (".busy" to none).  Close the content
 * descriptor only after this returns.  Returns 0 or -1.
 */
int	 spool_release(int dirfd, const char *base);

/*
 * Fail a claimed message: read "<base>.envelope.busy", append
 * "X-MailRelay-Reason: <reason>" and "X-MailRelay-ReasonCode: <code>"
 * (sanitised as by envelope_add_reason(); code 0 for none), keeping every
 * other byte and the file's line ending; write it to a temporary name,
 * fsync, rename it over the ".busy" file and that to ".bad".  A crash in
 * between leaves either the old or the new ".busy" file.  Close the content
 * descriptor only after this returns.  Returns 0 or -1.
 */
int	 spool_fail(int dirfd, const char *base, const char *reason, int code);

/*
 * retry: (SPEC 6.4): return the failed message base to ready, unless
 * envelope_retry_due() says no for limit.  Under the content lock,
 * "<base>.envelope.bad" is read, its X-MailRelay-Retry count raised by
 * one, written as ".new", fsync'd, renamed over ".bad" and that renamed
 * to ready (so a crash in between leaves a ".bad" envelope that counts
 * the retry).  The directory is not fsync'd.  *count is the retry count
 * after the call.  Returns 1 when the message went back to ready, 0 when
 * it was left as it is, or -1 with errno set (EAGAIN: locked by someone,
 * ENOENT: gone; an unreadable envelope gives EINVAL) and a message in
 * err.
 */
int	 spool_retry(int dirfd, const char *base, int limit, int *count,
	    char *err, size_t errsz);

/*
 * Remove a message: the envelope in whatever state it is, then the content
 * (so a crash leaves at most an orphan content file for recovery).
 * Missing files are not errors.  Returns 0 or -1.
 */
int	 spool_remove(int dirfd, const char *base);

/*
 * Read the spool file name into a malloc'd NUL-terminated buffer (*buf,
 * length *len; the caller frees it).  Fails with EFBIG above max bytes,
 * EINVAL for a name that is not valid or a file that is not regular, ELOOP
 * for a symlink.  Returns 0 or -1.
 */
int	 spool_file_load(int dirfd, const char *name, size_t max, char **buf,
	    size_t *len);

/*
 * Read and parse the envelope file name (at most ENVELOPE_MAX_SIZE bytes)
 * into env (initialised by the caller, who frees it).  Returns 0, or -1
 * with a message in err (an I/O error or the parse error).
 */
int	 spool_envelope_load(int dirfd, const char *name, struct envelope *env,
	    char *err, size_t errsz);

/* One message found by spool_scan(). */
struct spool_entry {
	char	base[SPOOL_BASE_MAX];
};

/*
 * List the messages whose envelope is in state, oldest first: ordered by
 * the <unix-seconds> in the name, then <seq>, then <pid>, which is the
 * order they were received in (mtimes are not used: a rewrite such as a
 * failure changes them).  At most max entries (capped at 2^24) are
 * returned, the oldest ones; *truncated (may be NULL) tells whether more
 * exist.  *list is malloc'd (the caller frees it, NULL when *n is 0).  Only
 * regular files with valid names count.  Returns 0 or -1.
 */
int	 spool_scan(int dirfd, enum spool_state state, size_t max,
	    struct spool_entry **list, size_t *n, int *truncated);

/* Actions reported by spool_recover(). */
enum spool_recover_action {
	SPOOL_RECOVER_UNBUSY,		/* ".busy" returned to ready */
	SPOOL_RECOVER_REMOVE_NEW,	/* stale ".new" envelope removed */
	SPOOL_RECOVER_REMOVE_CONTENT	/* stale orphan content removed */
};

/*
 * Crash recovery (SPEC 3), at start-up and on each pass: a ".busy" envelope
 * whose content nobody holds locked goes back to ready; a ".new" envelope
 * or a content file without any envelope is removed when its content is
 * unlocked and the file is at least SPOOL_STALE_SECS older than now.  A
 * content file whose envelopes live in sub-directories (mailboxes filled
 * by copy:pop, SPEC 8) is not an orphan and stays; so does one when the
 * sub-directories cannot be read.
 * While acting on a message the content lock is held, so a live process's
 * work is never touched.  cb (may be NULL) is called once per action taken
 * or tried, with the file name and 0 or the errno of the failure, so the
 * caller can log it.  Returns the number of actions taken, or -1 if the
 * directory cannot be read.
 */
int	 spool_recover(int dirfd, time_t now,
	    void (*cb)(void *arg, enum spool_recover_action action,
	    const char *name, int error), void *arg);

/*
 * Free-space check before accepting a message: returns 1 if at least needed
 * bytes are available to unprivileged users on the spool's filesystem
 * (fstatvfs f_bavail), 0 if not, -1 on error.
 */
int	 spool_free_space(int dirfd, unsigned long long needed);

#endif /* SPOOL_H */
