/*
 * Running external programs (filters, verifiers) safely, SPEC 6.1 and
 * STYLE.md section 1: fork and execve (no shell) with an environment of
 * only PATH=/usr/bin:/bin and IFS, umask 077, stdin and stderr on
 * /dev/null, stdout on a pipe, no other descriptors, its own process
 * group, default signal dispositions and an empty signal mask.  The
 * parent reads stdout on libevent with a cap, reaps from a SIGCHLD event
 * and kills the whole process group when the timeout expires.
 *
 * Every running program is on one list (one event base at a time); the
 * SIGCHLD event exists while that list is not empty.
 */
#ifndef EXEC_H
#define EXEC_H

#include <sys/types.h>

#include <stddef.h>

struct event_base;

/* Bytes of stdout kept; the rest is read and discarded. */
#define EXEC_OUT_MAX	(64 * 1024)

/* Size of exec_result.errstr. */
#define EXEC_ERRSTR	512

/* What became of a program; valid only inside the done callback. */
struct exec_result {
	pid_t		 pid;		/* the child, -1 when none was forked */
	int		 error;		/* errno of a failed start or exec */
	char		 errstr[EXEC_ERRSTR]; /* "cannot execute <path>: ..." */
	int		 exited;	/* exited normally: status is valid */
	int		 status;	/* exit code */
	int		 signo;		/* killing signal when not exited */
	int		 timed_out;	/* killed at the timeout */
	const char	*out;		/* stdout + NUL (may hold NULs too) */
	size_t		 outlen;	/* bytes at out, at most EXEC_OUT_MAX */
	size_t		 discarded;	/* bytes read beyond EXEC_OUT_MAX */
};

/*
 * Start path (absolute; no PATH search, no shell) with argv (argv[0]
 * first, NULL-terminated; copied by the kernel, the caller keeps it) and
 * a timeout of timeout_s seconds (0 or less: none).  done(arg, result) is
 * called exactly once from the event loop when the child has been reaped,
 * or when it could not be started (result->error and errstr set: fork,
 * pipe, /dev/null or exec failure; exec failure also leaves exit code
 * 127).  Everything allocated here is freed after done() returns; done()
 * may start or kill programs.  Returns 0, or -1 with errno set (ENOMEM,
 * EINVAL for a bad argv, EBUSY while programs of another event base run)
 * and then done() is never called.
 */
int	 exec_start(struct event_base *base, const char *path,
	    char *const argv[], int timeout_s,
	    void (*done)(void *arg, const struct exec_result *), void *arg);

/*
 * The program's exit code, or -1 when it did not exit normally (start or
 * exec failure, timeout, killed by a signal).
 */
int	 exec_exit_code(const struct exec_result *r);

/* Number of programs started and not yet reported. */
size_t	 exec_running(void);

/*
 * Shutdown: SIGKILL every running program's process group, reap them
 * (waiting) and free everything; their done callbacks are not called.
 */
void	 exec_kill_all(void);

#endif /* EXEC_H */
