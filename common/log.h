/*
 * Logging (STYLE.md section 5, SPEC section 14).
 *
 * Line shape: "emailrelay: [<time>: ]<level>: [[<unit>] ][<addr>; ]<text>".
 * Children format the body ("[unit] addr; text") and hand it to a sink that
 * sends it to the parent (MSG_LOG_NOTIFY); the parent is the only writer of
 * stderr, syslog and --log-file and adds the prefix and the time.
 *
 * The full body, each part only when its flag is set and its field known:
 *	[<unit>] <net>; <addr>; <text>[ [<msgid>]][ sid=<16 hex>]
 * LOGF_PORT turns "<addr>; " into "<addr>;<port>: " (and implies
 * LOGF_ADDRESS); LOGF_MSGID appends " [<msgid>]" so that the start of the
 * line keeps E-MailRelay's shape; " sid=" comes with --debug only.  A long
 * text is cut so that the whole line fits in BOUNDS_LOGLINE.
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

/*
 * Start-up: lines go to stderr until log_configure() or log_procinit().
 * progname (copied, at most 63 characters) starts every line.  Also
 * resets all logging state (levels, format, destinations, sink, atfatal
 * hook), which is how tests start from scratch.
 */
void	 log_init(const char *progname);

/*
 * What is logged and how: verbose and debug flags, --log (info lines),
 * the LOGF_* format flags (a negative fmt counts as 0).  Called in every
 * process once the config is known.
 */
void	 log_setlevel(int info, int verbose, int debug, int fmt);

/*
 * Parent only: the destinations.  stderr_on 0 after --close-stderr;
 * facility is a syslog facility or -1 for none; file is a --log-file
 * pattern (%d expands to YYYYMMDD, reopened when the day changes) or NULL.
 * Replaces any earlier configuration (reload).  The file is opened
 * O_APPEND|O_CREAT|O_CLOEXEC, mode 0640, and gets the same lines as
 * stderr.  Returns 0, or -1 with errno set when the file cannot be opened
 * (then there is no file destination; stderr and syslog stay as asked).
 */
int	 log_configure(int stderr_on, int facility, const char *file);

/*
 * Child: every line goes to sink from now on.  Closes the destinations
 * inherited from the parent (log file, syslog).  If the sink logs, that
 * line goes to stderr instead of recursing.
 */
void	 log_procinit(const char *procname, log_sink sink, void *arg);

/*
 * Parent: write one finished body at level to every destination, as is
 * (no level filter: the sender filtered).  One write(2) per line on
 * stderr and in the file; syslog gets the body only.  Levels out of range
 * are clamped.  Preserves errno.
 */
void	 log_write(int level, const char *body);

/* Parse a --syslog facility name ("mail", "local0", ...); -1 if unknown. */
int	 log_facility(const char *name);

/*
 * Parse a comma-separated --log-format list into LOGF_* flags (blanks
 * around words and empty words are ignored; "" gives 0).  Returns -1 on an
 * unknown word and, if badword is not NULL, points it to a static copy of
 * that word, valid until the next call.
 */
int	 log_parse_format(const char *list, const char **badword);

/* Whether a line of this level would be written at all. */
int	 log_enabled(int level);

/* The logging calls preserve errno. */
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
void	 ulog_verbose(const char *unit, const char *, ...)
	    __printflike(2, 3);
void	 ulog_info(const char *unit, const char *, ...) __printflike(2, 3);
void	 ulog_warnx(const char *unit, const char *, ...) __printflike(2, 3);

/*
 * Copy len bytes of untrusted text (NULs allowed) into dst (size dstsz,
 * always NUL-terminated) made safe for a log line: vis(3) C style, and
 * unlike VIS_SAFE also CR, LF, tab, BS and BEL ("\r", "\n", ...); other
 * control and 8-bit bytes in octal ("\303").  Escapes are never split;
 * when it does not fit the end is "..." (as much of it as fits).
 * Returns dst.
 */
char	*log_vis(char *dst, size_t dstsz, const char *src, size_t len);

/*
 * Called by fatal()/fatalx() after the line is logged and before exit(1):
 * a child flushes its parent channel there so the line is not lost.
 * Runs at most once: a fatal() inside it just exits.  NULL removes it.
 */
void	 log_atfatal(void (*fn)(void *), void *arg);

#endif /* LOG_H */
