/*
 * Logging (STYLE.md section 5, SPEC section 14).
 *
 * Line shape: "emailrelay: [<time>: ]<level>: [[<unit>] ][<addr>; ]<text>".
 * Children format the body ("[unit] addr; text") and hand it to a sink that
 * sends it to the parent (MSG_LOG_NOTIFY); the parent is the only writer of
 * stderr, syslog and --log-file and adds the prefix and the time.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdint.h>

#ifndef __dead2
#define __dead2		__attribute__((__noreturn__))
#endif
#ifndef __printflike
#define __printflike(a, b) __attribute__((__format__(__printf__, a, b)))
#endif

/* Levels, in the order of increasing importance. */
#define LOGL_DEBUG	0	/* --debug: "debug:" */
#define LOGL_VERBOSE	1	/* --verbose: printed as "info:" */
#define LOGL_INFO	2	/* --log: "info:" */
#define LOGL_WARN	3	/* always: "warning:" */
#define LOGL_ERROR	4	/* always: "error:" */

/* --log-format fields. */
#define LOGF_TIME	0x01
#define LOGF_UNIT	0x02
#define LOGF_ADDRESS	0x04
#define LOGF_PORT	0x08
#define LOGF_MSGID	0x10
#define LOGF_NETWORK	0x20

/* What a session adds to its lines; every member may be empty. */
struct slog {
	const char	*unit;		/* instance name, "" for the unnamed */
	char		 addr[64];	/* client IP */
	char		 port[8];	/* client port */
	char		 msgid[64];	/* message id once known */
	char		 net[72];	/* local listening address */
	uint64_t	 sid;		/* session id, shown with --debug */
};

/*
 * Where finished lines go in a child: level and the body without prefix
 * and time.  The sink must not log.
 */
typedef void	 (*log_sink)(int level, const char *body, void *arg);

/* Start-up: lines go to stderr until log_configure() or log_procinit(). */
void	 log_init(const char *progname);

/*
 * What is logged and how: verbose and debug flags, --log (info lines),
 * the LOGF_* format flags.  Called in every process once the config is
 * known.
 */
void	 log_setlevel(int info, int verbose, int debug, int fmt);

/*
 * Parent only: the destinations.  stderr_on 0 after --close-stderr;
 * facility is a syslog facility or -1 for none; file is a --log-file
 * pattern (%d expands to YYYYMMDD, reopened when the day changes) or NULL.
 * Returns 0, or -1 with errno set when the file cannot be opened.
 */
int	 log_configure(int stderr_on, int facility, const char *file);

/* Child: every line goes to sink from now on. */
void	 log_procinit(const char *procname, log_sink sink, void *arg);

/* Parent: write one finished body at level to every destination. */
void	 log_write(int level, const char *body);

/* Parse a --syslog facility name ("mail", "local0", ...); -1 if unknown. */
int	 log_facility(const char *name);

/* Parse a --log-format list into LOGF_* flags; -1 on an unknown word. */
int	 log_parse_format(const char *list, const char **badword);

/* Whether a line of this level would be written at all. */
int	 log_enabled(int level);

void	 log_debug(const char *, ...) __printflike(1, 2);
void	 log_verbose(const char *, ...) __printflike(1, 2);
void	 log_info(const char *, ...) __printflike(1, 2);
void	 log_warn(const char *, ...) __printflike(1, 2);	/* + strerror */
void	 log_warnx(const char *, ...) __printflike(1, 2);
void	 log_error(const char *, ...) __printflike(1, 2);
void	 vlog(int level, const char *, va_list) __printflike(2, 0);
void	 fatal(const char *, ...) __dead2 __printflike(1, 2);	/* + strerror */
void	 fatalx(const char *, ...) __dead2 __printflike(1, 2);

/* Session forms: add [unit], address and the other --log-format fields. */
void	 slog_verbose(const struct slog *, const char *, ...)
	    __printflike(2, 3);
void	 slog_info(const struct slog *, const char *, ...) __printflike(2, 3);
void	 slog_warnx(const struct slog *, const char *, ...) __printflike(2, 3);

/* Instance-tagged form for lines with no client: "[unit] text". */
void	 ulog_info(const char *unit, const char *, ...) __printflike(2, 3);

/*
 * Copy untrusted text into dst (size dstsz) made safe for a log line:
 * stravis(VIS_SAFE|VIS_CSTYLE), truncated with "..." when too long.
 * Returns dst.
 */
char	*log_vis(char *dst, size_t dstsz, const char *src, size_t len);

/*
 * Called by fatal()/fatalx() after the line is logged and before exit(1):
 * a child flushes its parent channel there so the line is not lost.
 */
void	 log_atfatal(void (*fn)(void));

#endif /* LOG_H */
