/*
 * Running external programs: fork, execve, capture stdout, reap, kill
 * at the timeout (exec.h).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "exec.h"

/* Reads per stdout event, so one chatty program cannot starve others. */
#define EXEC_READS_PER_EVENT	16
/* Reads when draining a reaped child's pipe (a grandchild may write on). */
#define EXEC_READS_DRAIN	256

struct exec_proc {
	TAILQ_ENTRY(exec_proc)	 entry;
	struct event_base	*base;
	pid_t			 pid;		/* -1: not forked */
	int			 outfd;		/* stdout read end, or -1 */
	int			 errfd;		/* exec error pipe, or -1 */
	struct event		*ev_out;
	struct event		*ev_timer;	/* timeout, or failure report */
	char			*path;
	char			*buf;		/* EXEC_OUT_MAX + 1 */
	size_t			 len;
	size_t			 discarded;
	int			 reaped;
	int			 wstatus;
	int			 timed_out;
	int			 error;
	const char		*errwhat;	/* what failed at the start */
	void			(*done)(void *, const struct exec_result *);
	void			*arg;
};

TAILQ_HEAD(exec_list, exec_proc);

static void	 exec_child(const char *, char *const [], int, int, int)
		    __dead2;
static int	 exec_sigchld_setup(struct event_base *);
static void	 exec_sigchld_release(void);
static void	 exec_on_sigchld(evutil_socket_t, short, void *);
static void	 exec_on_read(evutil_socket_t, short, void *);
static void	 exec_on_timer(evutil_socket_t, short, void *);
static void	 exec_read(struct exec_proc *, int);
static void	 exec_finish(struct exec_proc *);
static void	 exec_free(struct exec_proc *);
static void	 exec_fail(struct exec_proc *, const char *, int);

/* Programs started and not yet reported, and their SIGCHLD event. */
static struct exec_list	 exec_list = TAILQ_HEAD_INITIALIZER(exec_list);
static struct event	*exec_sigchld;
static struct event_base *exec_sigbase;
static size_t		 exec_count;

static char	 exec_env_path[] = "PATH=/usr/bin:/bin";
static char	 exec_env_ifs[] = "IFS= \t\n";
static char	*const exec_env[] = { exec_env_path, exec_env_ifs, NULL };

int
exec_start(struct event_base *base, const char *path, char *const argv[],
    int timeout_s, void (*done)(void *, const struct exec_result *),
    void *arg)
{
	struct exec_proc	*p;
	struct timeval		 tv;
	sigset_t		 all, old;
	int			 outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int			 nullfd = -1, flags;
	pid_t			 pid;

	if (base == NULL || path == NULL || argv == NULL || argv[0] == NULL ||
	    done == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (!TAILQ_EMPTY(&exec_list) && exec_sigbase != base) {
		errno = EBUSY;
		return (-1);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (-1);
	p->base = base;
	p->pid = -1;
	p->outfd = p->errfd = -1;
	p->done = done;
	p->arg = arg;
	if ((p->path = strdup(path)) == NULL ||
	    (p->buf = malloc(EXEC_OUT_MAX + 1)) == NULL ||
	    (p->ev_timer = evtimer_new(base, exec_on_timer, p)) == NULL) {
		exec_free(p);
		errno = ENOMEM;
		return (-1);
	}
	TAILQ_INSERT_TAIL(&exec_list, p, entry);
	exec_count++;

	/* From here on every failure is reported through done(). */
	if (exec_sigchld_setup(base) == -1) {
		exec_fail(p, "cannot watch children", errno);
		return (0);
	}
	if ((nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		exec_fail(p, "cannot open /dev/null", errno);
		return (0);
	}
	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1) {
		exec_fail(p, "cannot create a pipe", errno);
		goto fail;
	}
	if ((flags = fcntl(outp[0], F_GETFL)) == -1 ||
	    fcntl(outp[0], F_SETFL, flags | O_NONBLOCK) == -1 ||
	    (flags = fcntl(errp[0], F_GETFL)) == -1 ||
	    fcntl(errp[0], F_SETFL, flags | O_NONBLOCK) == -1) {
		exec_fail(p, "cannot set up a pipe", errno);
		goto fail;
	}
	if ((p->ev_out = event_new(base, outp[0], EV_READ | EV_PERSIST,
	    exec_on_read, p)) == NULL) {
		exec_fail(p, "cannot create an event", ENOMEM);
		goto fail;
	}

	/* No signal handler may run in the child before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		exec_fail(p, "cannot fork", errno);
		goto fail;
	}
	if (pid == 0)
		exec_child(path, argv, nullfd, outp[1], errp[1]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Also here, so that a kill at once reaches the group (the child
	 * may have exec'd already: then it did this itself). */
	(void)setpgid(pid, pid);

	close(nullfd);
	close(outp[1]);
	close(errp[1]);
	p->pid = pid;
	p->outfd = outp[0];
	p->errfd = errp[0];
	event_add(p->ev_out, NULL);
	if (timeout_s > 0) {
		tv.tv_sec = timeout_s;
		tv.tv_usec = 0;
		evtimer_add(p->ev_timer, &tv);
	}
	return (0);

fail:
	if (nullfd != -1)
		close(nullfd);
	if (outp[0] != -1) {
		close(outp[0]);
		close(outp[1]);
	}
	if (errp[0] != -1) {
		close(errp[0]);
		close(errp[1]);
	}
	return (0);
}

int
exec_exit_code(const struct exec_result *r)
{
	if (r->error != 0 || r->timed_out || !r->exited)
		return (-1);
	return (r->status);
}

size_t
exec_running(void)
{
	return (exec_count);
}

void
exec_kill_all(void)
{
	struct exec_proc	*p;

	while ((p = TAILQ_FIRST(&exec_list)) != NULL) {
		TAILQ_REMOVE(&exec_list, p, entry);
		exec_count--;
		if (p->pid > 0 && !p->reaped) {
			(void)kill(-p->pid, SIGKILL);
			(void)kill(p->pid, SIGKILL);
			while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
				;
		}
		exec_free(p);
	}
	exec_sigchld_release();
}

/*
 * In the child: never returns.  Only async-signal-safe calls; any failure
 * is sent to the parent as an errno on the close-on-exec pipe.
 */
static void
exec_child(const char *path, char *const argv[], int nullfd, int outfd,
    int errfd)
{
	struct sigaction	 sa;
	sigset_t		 none;
	int			 i, e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (i = 1; i < NSIG; i++) {
		if (i == SIGKILL || i == SIGSTOP)
			continue;
		(void)sigaction(i, &sa, NULL);	/* EINVAL for libc's own */
	}
	if (setpgid(0, 0) == -1)
		goto fail;
	umask(077);

	/* Above 3 first, so that no dup2() below overwrites a source. */
	if ((nullfd = fcntl(nullfd, F_DUPFD_CLOEXEC, 4)) == -1 ||
	    (outfd = fcntl(outfd, F_DUPFD_CLOEXEC, 4)) == -1 ||
	    (e = fcntl(errfd, F_DUPFD_CLOEXEC, 4)) == -1)
		goto fail;
	errfd = e;
	if (dup2(nullfd, STDIN_FILENO) == -1 ||
	    dup2(outfd, STDOUT_FILENO) == -1 ||
	    dup2(nullfd, STDERR_FILENO) == -1 ||
	    dup3(errfd, 3, O_CLOEXEC) == -1)
		goto fail;
	errfd = 3;
	closefrom(4);

	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		goto fail;
	execve(path, argv, exec_env);
fail:
	e = errno;
	(void)write(errfd, &e, sizeof(e));
	_exit(127);
}

/* The SIGCHLD event on base, made when the first program starts. */
static int
exec_sigchld_setup(struct event_base *base)
{
	if (exec_sigchld != NULL && exec_sigbase == base)
		return (0);
	exec_sigchld_release();
	if ((exec_sigchld = evsignal_new(base, SIGCHLD, exec_on_sigchld,
	    NULL)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	/* evsignal_new() gives EV_SIGNAL|EV_PERSIST. */
	if (event_add(exec_sigchld, NULL) == -1) {
		event_free(exec_sigchld);
		exec_sigchld = NULL;
		errno = EAGAIN;
		return (-1);
	}
	exec_sigbase = base;
	return (0);
}

static void
exec_sigchld_release(void)
{
	if (exec_sigchld != NULL)
		event_free(exec_sigchld);
	exec_sigchld = NULL;
	exec_sigbase = NULL;
}

static void
exec_on_sigchld(evutil_socket_t sig, short ev, void *arg)
{
	struct exec_list	 reaped = TAILQ_HEAD_INITIALIZER(reaped);
	struct exec_proc	*p, *next;
	pid_t			 r;
	int			 st;

	for (p = TAILQ_FIRST(&exec_list); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->pid <= 0 || p->reaped)
			continue;
		while ((r = waitpid(p->pid, &st, WNOHANG)) == -1 &&
		    errno == EINTR)
			;
		if (r == 0)
			continue;
		p->reaped = 1;
		if (r == -1) {
			/* Reaped elsewhere: nothing is known of its end. */
			p->wstatus = -1;
		} else
			p->wstatus = st;
		TAILQ_REMOVE(&exec_list, p, entry);
		TAILQ_INSERT_TAIL(&reaped, p, entry);
	}
	/* done() may start or kill programs: the list above is settled. */
	while ((p = TAILQ_FIRST(&reaped)) != NULL) {
		TAILQ_REMOVE(&reaped, p, entry);
		TAILQ_INSERT_TAIL(&exec_list, p, entry);
		exec_finish(p);
	}
}

static void
exec_on_read(evutil_socket_t fd, short ev, void *arg)
{
	struct exec_proc	*p = arg;

	exec_read(p, EXEC_READS_PER_EVENT);
}

/*
 * Read stdout until it would block, at EOF (closes it), or after max
 * reads.  Keeps up to EXEC_OUT_MAX bytes and counts the rest.
 */
static void
exec_read(struct exec_proc *p, int max)
{
	char	 scratch[8192];
	ssize_t	 n;
	int	 i;

	for (i = 0; i < max && p->outfd != -1; i++) {
		if (p->len < EXEC_OUT_MAX)
			n = read(p->outfd, p->buf + p->len,
			    EXEC_OUT_MAX - p->len);
		else
			n = read(p->outfd, scratch, sizeof(scratch));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			event_del(p->ev_out);
			close(p->outfd);
			p->outfd = -1;
			return;
		}
		if (p->len < EXEC_OUT_MAX)
			p->len += n;
		else
			p->discarded += n;
	}
}

static void
exec_on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct exec_proc	*p = arg;

	if (p->pid == -1) {
		/* A start failure being reported. */
		exec_finish(p);
		return;
	}
	if (p->reaped)
		return;
	p->timed_out = 1;
	(void)kill(-p->pid, SIGKILL);
	(void)kill(p->pid, SIGKILL);
	/* SIGCHLD follows and reports it. */
}

/* Start failure: report it from the event loop. */
static void
exec_fail(struct exec_proc *p, const char *what, int error)
{
	struct timeval	 tv = { 0, 0 };

	p->errwhat = what;
	p->error = error;
	evtimer_add(p->ev_timer, &tv);
}

/* Report p (on the list) to its owner and free it. */
static void
exec_finish(struct exec_proc *p)
{
	struct exec_result	 r;
	ssize_t			 n;
	int			 e;

	memset(&r, 0, sizeof(r));
	r.pid = p->pid;
	if (p->pid > 0) {
		/* Whatever the child wrote before it ended is in the pipe. */
		if (p->outfd != -1)
			exec_read(p, EXEC_READS_DRAIN);
		while ((n = read(p->errfd, &e, sizeof(e))) == -1 &&
		    errno == EINTR)
			;
		if (n == (ssize_t)sizeof(e)) {
			p->error = e;
			p->errwhat = NULL;
		}
		if (p->wstatus != -1 && WIFEXITED(p->wstatus)) {
			r.exited = 1;
			r.status = WEXITSTATUS(p->wstatus);
		} else if (p->wstatus != -1 && WIFSIGNALED(p->wstatus))
			r.signo = WTERMSIG(p->wstatus);
	}
	r.error = p->error;
	if (p->error != 0 && p->errwhat != NULL)
		(void)snprintf(r.errstr, sizeof(r.errstr), "%s: %s",
		    p->errwhat, strerror(p->error));
	else if (p->error != 0)
		(void)snprintf(r.errstr, sizeof(r.errstr),
		    "cannot execute %s: %s", p->path, strerror(p->error));
	r.timed_out = p->timed_out;
	p->buf[p->len] = '\0';
	r.out = p->buf;
	r.outlen = p->len;
	r.discarded = p->discarded;

	TAILQ_REMOVE(&exec_list, p, entry);
	exec_count--;
	p->done(p->arg, &r);
	exec_free(p);
	if (TAILQ_EMPTY(&exec_list))
		exec_sigchld_release();
}

/* Free p, which is on no list. */
static void
exec_free(struct exec_proc *p)
{
	if (p->ev_out != NULL)
		event_free(p->ev_out);
	if (p->ev_timer != NULL)
		event_free(p->ev_timer);
	if (p->outfd != -1)
		close(p->outfd);
	if (p->errfd != -1)
		close(p->errfd);
	free(p->buf);
	free(p->path);
	free(p);
}
