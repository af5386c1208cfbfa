/*
 * The parent process: options, listeners, children, supervision.
 */
#ifndef PARENT_H
#define PARENT_H

/* Runs the daemon (or prints help/version); returns the exit status. */
int	 parent_main(int argc, char *argv[]);

struct chan;
struct config;
struct event_base;
struct msg;

/*
 * parent_auth.c.  Start-up checks of secrets files and TLS files for
 * every instance: returns 0, or -1 after an error line on stderr.
 */
int	 parent_auth_check(const struct config *);

/*
 * Requests from lookup: secrets files to reopen, PAM checks.  Returns 1
 * when m was one of them (answered now or later), else 0.
 */
int	 parent_auth_dispatch(struct chan *, struct msg *, struct event_base *,
	    const struct config *);

#endif /* PARENT_H */
