/*
 * Logging (STYLE.md section 5, SPEC sections 2.1 and 14).
 *
 * A line is "<progname>: [<time>: ]<level>: <body>"; the body is built by
 * the process that logs ("[unit] net; addr; text [msgid] sid=..."), the
 * prefix and the time by the writer.  In a child every body goes to the
 * sink given to log_procinit() (which sends it to the parent); in the
 * parent, or before log_procinit(), vlog() hands it to log_write().
 *
 * All mutable state of the logging layer lives in this file (STYLE.md
 * section 4); log_init() resets it, which the unit tests rely on.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LIBBSD_OPENBSD_VIS	/* OpenBSD strnvis() prototype, no warning */
#include <vis.h>

#include "bounds.h"
#include "log.h"

/*
 * Room kept for "<progname>: <time>: warning: " and the newline, so that a
 * body built here always fits in one BOUNDS_LOGLINE line.
 */
#define LOG_PROGMAX	64
#define LOG_PREFIXMAX	128
#define LOG_BODYMAX	(BOUNDS_LOGLINE - LOG_PREFIXMAX)

/*
 * vis(3) flags for untrusted text.  VIS_SAFE alone lets CR, LF, BS and
 * BEL through unencoded, which would let a client forge or split log
 * lines, so we encode every control character, tab, CR and LF in C style
 * and bytes above 0x7e in octal, whatever the locale.
 */
#define LOG_VISFLAGS	(VIS_CSTYLE | VIS_NL | VIS_TAB | VIS_OCTAL | \
			    VIS_NOLOCALE)

static int	 log_clamp(int);
static void	 log_emit(int, const struct slog *, const char *,
		    const char *, const char *, va_list) __printflike(5, 0);
static void	 log_fatal_exit(void) __dead2;
static void	 log_stamp(char *, size_t, char *, size_t);
static int	 log_file_expand(const char *, const char *, char *, size_t);
static int	 log_file_open(const char *, const char *);
static void	 log_file_check(const char *);
static void	 log_write_all(int, const char *, size_t);
static size_t	 log_vis_char(char *, size_t, const char *, size_t,
		    size_t);

static char		 log_progname[LOG_PROGMAX] = "emailrelay";
static int		 log_info_on;
static int		 log_verbose_on;
static int		 log_debug_on;
static int		 log_fmt;
static int		 log_configured;	/* log_configure() called */
static int		 log_stderr_on = 1;
static int		 log_syslog_facility = -1;
static char		 log_file_pattern[PATH_MAX];	/* "" for none */
static char		 log_file_date[9];	/* YYYYMMDD of the file */
static int		 log_file_fd = -1;
static log_sink		 log_sink_fn;
static void		*log_sink_arg;
static int		 log_in_sink;
static int		 log_in_fatal;
static void		(*log_atfatal_fn)(void *);
static void		*log_atfatal_arg;

static const char	*log_levelname[] = {
	"debug",		/* LOGL_DEBUG */
	"info",			/* LOGL_VERBOSE */
	"info",			/* LOGL_INFO */
	"warning",		/* LOGL_WARN */
	"error",		/* LOGL_ERROR */
};

static const int	 log_priority[] = {
	LOG_DEBUG,
	LOG_INFO,
	LOG_INFO,
	LOG_WARNING,
	LOG_ERR,
};

static const struct {
	const char	*name;
	int		 value;
} log_facilities[] = {
	{ "auth",	LOG_AUTH },
	{ "authpriv",	LOG_AUTHPRIV },
	{ "cron",	LOG_CRON },
	{ "daemon",	LOG_DAEMON },
	{ "ftp",	LOG_FTP },
	{ "kern",	LOG_KERN },
	{ "lpr",	LOG_LPR },
	{ "mail",	LOG_MAIL },
	{ "news",	LOG_NEWS },
	{ "syslog",	LOG_SYSLOG },
	{ "user",	LOG_USER },
	{ "uucp",	LOG_UUCP },
	{ "local0",	LOG_LOCAL0 },
	{ "local1",	LOG_LOCAL1 },
	{ "local2",	LOG_LOCAL2 },
	{ "local3",	LOG_LOCAL3 },
	{ "local4",	LOG_LOCAL4 },
	{ "local5",	LOG_LOCAL5 },
	{ "local6",	LOG_LOCAL6 },
	{ "local7",	LOG_LOCAL7 },
};

static const struct {
	const char	*name;
	int		 flag;
} log_formats[] = {
	{ "time",	LOGF_TIME },
	{ "unit",	LOGF_UNIT },
	{ "address",	LOGF_ADDRESS },
	{ "port",	LOGF_PORT },
	{ "msgid",	LOGF_MSGID },
	{ "network",	LOGF_NETWORK },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

void
log_init(const char *progname)
{
	if (progname == NULL || progname[0] == '\0')
		progname = "emailrelay";
	/* A longer name is cut: the prefix must stay small. */
	(void)strlcpy(log_progname, progname, sizeof(log_progname));
	log_info_on = 0;
	log_verbose_on = 0;
	log_debug_on = 0;
	log_fmt = 0;
	log_configured = 0;
	log_stderr_on = 1;
	if (log_syslog_facility != -1)
		closelog();
	log_syslog_facility = -1;
	if (log_file_fd != -1)
		(void)close(log_file_fd);
	log_file_fd = -1;
	log_file_pattern[0] = '\0';
	log_file_date[0] = '\0';
	log_sink_fn = NULL;
	log_sink_arg = NULL;
	log_in_sink = 0;
	log_in_fatal = 0;
	log_atfatal_fn = NULL;
	log_atfatal_arg = NULL;
}

void
log_setlevel(int info, int verbose, int debug, int fmt)
{
	log_info_on = info != 0;
	log_verbose_on = verbose != 0;
	log_debug_on = debug != 0;
	/* -1 (a failed log_parse_format()) means no fields, not all. */
	log_fmt = fmt < 0 ? 0 : fmt & (LOGF_TIME | LOGF_UNIT | LOGF_ADDRESS |
	    LOGF_PORT | LOGF_MSGID | LOGF_NETWORK);
}

int
log_configure(int stderr_on, int facility, const char *file)
{
	char	 stamp[32], date[16];
	int	 saved;

	log_configured = 1;
	log_stderr_on = stderr_on != 0;

	if (log_syslog_facility != -1)
		closelog();
	log_syslog_facility = facility < 0 ? -1 : facility;
	if (log_syslog_facility != -1)
		openlog(log_progname, LOG_PID | LOG_NDELAY,
		    log_syslog_facility);

	if (log_file_fd != -1)
		(void)close(log_file_fd);
	log_file_fd = -1;
	log_file_pattern[0] = '\0';
	log_file_date[0] = '\0';
	if (file == NULL || file[0] == '\0')
		return (0);
	if (strlcpy(log_file_pattern, file, sizeof(log_file_pattern)) >=
	    sizeof(log_file_pattern)) {
		log_file_pattern[0] = '\0';
		errno = ENAMETOOLONG;
		return (-1);
	}
	log_stamp(date, sizeof(date), stamp, sizeof(stamp));
	if ((log_file_fd = log_file_open(log_file_pattern, date)) == -1) {
		saved = errno;
		log_file_pattern[0] = '\0';
		errno = saved;
		return (-1);
	}
	(void)strlcpy(log_file_date, date, sizeof(log_file_date));
	return (0);
}

void
log_procinit(const char *procname, log_sink sink, void *arg)
{
	/*
	 * procname is not part of the line: the parent writes every line
	 * with its own prefix.  A child never writes the parent's
	 * destinations itself.
	 */
	if (log_file_fd != -1)
		(void)close(log_file_fd);
	log_file_fd = -1;
	log_file_pattern[0] = '\0';
	log_file_date[0] = '\0';
	if (log_syslog_facility != -1)
		closelog();
	log_syslog_facility = -1;
	log_configured = 0;
	log_stderr_on = 1;
	log_sink_fn = sink;
	log_sink_arg = arg;
}

void
log_write(int level, const char *body)
{
	char	 line[BOUNDS_LOGLINE], stamp[32], date[16];
	size_t	 n, blen;
	int	 r, saved;

	saved = errno;
	level = log_clamp(level);
	if (body == NULL)
		body = "";
	log_stamp(date, sizeof(date), stamp, sizeof(stamp));
	if (log_fmt & LOGF_TIME)
		r = snprintf(line, sizeof(line), "%s: %s: %s: ", log_progname,
		    stamp, log_levelname[level]);
	else
		r = snprintf(line, sizeof(line), "%s: %s: ", log_progname,
		    log_levelname[level]);
	if (r < 0 || (size_t)r >= sizeof(line) - 1)
		r = 0;		/* cannot happen: the prefix is bounded */
	n = (size_t)r;
	/* The body is cut so that the newline and the NUL always fit. */
	blen = strnlen(body, sizeof(line) - n - 2);
	memcpy(line + n, body, blen);
	n += blen;
	line[n++] = '\n';
	line[n] = '\0';

	if (!log_configured || log_stderr_on)
		log_write_all(STDERR_FILENO, line, n);
	if (log_syslog_facility != -1)
		syslog(log_priority[level], "%.*s", (int)blen, body);
	if (log_file_pattern[0] != '\0') {
		log_file_check(date);
		if (log_file_fd != -1)
			log_write_all(log_file_fd, line, n);
	}
	errno = saved;
}

int
log_facility(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return (-1);
	for (i = 0; i < NITEMS(log_facilities); i++)
		if (strcmp(name, log_facilities[i].name) == 0)
			return (log_facilities[i].value);
	return (-1);
}

/*
 * Words are separated by commas; blanks around a word and empty words are
 * ignored.  On an unknown word *badword points to a NUL-terminated static
 * copy of it (at most 63 characters), valid until the next call.
 */
int
log_parse_format(const char *list, const char **badword)
{
	static char	 bad[64];
	const char	*p, *e, *w;
	size_t		 i, n;
	int		 flags = 0, found;

	if (badword != NULL)
		*badword = NULL;
	if (list == NULL)
		return (0);
	for (p = list; *p != '\0'; p = (*e == ',') ? e + 1 : e) {
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		w = p;
		while (w < e && (*w == ' ' || *w == '\t'))
			w++;
		n = (size_t)(e - w);
		while (n > 0 && (w[n - 1] == ' ' || w[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		found = 0;
		for (i = 0; i < NITEMS(log_formats); i++) {
			if (strlen(log_formats[i].name) == n &&
			    strncmp(w, log_formats[i].name, n) == 0) {
				flags |= log_formats[i].flag;
				found = 1;
				break;
			}
		}
		if (!found) {
			if (n >= sizeof(bad))
				n = sizeof(bad) - 1;
			memcpy(bad, w, n);
			bad[n] = '\0';
			if (badword != NULL)
				*badword = bad;
			return (-1);
		}
	}
	return (flags);
}

int
log_enabled(int level)
{
	switch (level) {
	case LOGL_DEBUG:
		return (log_debug_on);
	case LOGL_VERBOSE:
		return (log_verbose_on);
	case LOGL_INFO:
		return (log_info_on || log_verbose_on);
	default:
		return (level > LOGL_INFO);
	}
}

void
vlog(int level, const char *fmt, va_list ap)
{
	log_emit(level, NULL, NULL, NULL, fmt, ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_DEBUG, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_verbose(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_VERBOSE, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_INFO, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_emit(LOGL_WARN, NULL, NULL, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_WARN, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_ERROR, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_emit(LOGL_ERROR, NULL, NULL, strerror(saved), fmt, ap);
	va_end(ap);
	log_fatal_exit();
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_ERROR, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
	log_fatal_exit();
}

void
slog_verbose(const struct slog *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_VERBOSE, s, s != NULL ? s->unit : NULL, NULL, fmt, ap);
	va_end(ap);
}

void
slog_info(const struct slog *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_INFO, s, s != NULL ? s->unit : NULL, NULL, fmt, ap);
	va_end(ap);
}

void
slog_warnx(const struct slog *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_WARN, s, s != NULL ? s->unit : NULL, NULL, fmt, ap);
	va_end(ap);
}

void
ulog_verbose(const char *unit, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_VERBOSE, NULL, unit, NULL, fmt, ap);
	va_end(ap);
}

void
ulog_info(const char *unit, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_INFO, NULL, unit, NULL, fmt, ap);
	va_end(ap);
}

void
ulog_warnx(const char *unit, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOGL_WARN, NULL, unit, NULL, fmt, ap);
	va_end(ap);
}

char *
log_vis(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char	 marker[] = "...";
	char			 enc[16];
	size_t			 i, o, n, rest, j, mlen, room;

	if (dst == NULL || dstsz == 0)
		return (dst);
	if (src == NULL)
		len = 0;
	room = dstsz - 1;
	mlen = sizeof(marker) - 1;
	if (mlen > room)
		mlen = room;
	for (i = 0, o = 0; i < len; i++) {
		n = log_vis_char(enc, sizeof(enc), src, len, i);
		if (o + n > room - mlen) {
			/* Does everything that is left still fit? */
			for (rest = 0, j = i; j < len; j++)
				rest += log_vis_char(enc, sizeof(enc), src,
				    len, j);
			if (o + rest <= room) {
				for (; i < len; i++) {
					n = log_vis_char(enc, sizeof(enc),
					    src, len, i);
					memcpy(dst + o, enc, n);
					o += n;
				}
			} else {
				memcpy(dst + o, marker, mlen);
				o += mlen;
			}
			break;
		}
		memcpy(dst + o, enc, n);
		o += n;
	}
	dst[o] = '\0';
	return (dst);
}

void
log_atfatal(void (*fn)(void *), void *arg)
{
	log_atfatal_fn = fn;
	log_atfatal_arg = arg;
}

/* Out-of-range levels (e.g. from a bad frame) are written as errors. */
static int
log_clamp(int level)
{
	if (level < LOGL_DEBUG)
		return (LOGL_DEBUG);
	if (level > LOGL_ERROR)
		return (LOGL_ERROR);
	return (level);
}

/*
 * Build the body and pass it on.  The body is
 *
 *	[<unit>] <net>; <addr>; <text>[: <errstr>][ [<msgid>]][ sid=<hex>]
 *
 * with "[<unit>] " only with LOGF_UNIT and a non-empty unit, "<net>; "
 * only with LOGF_NETWORK and a known listening address, "<addr>; " only
 * with LOGF_ADDRESS (or LOGF_PORT, which implies it) and a known client
 * address, written "<addr>;<port>: " with LOGF_PORT as E-MailRelay does.
 * The message id is not part of E-MailRelay's line shape, so with
 * LOGF_MSGID it is appended as " [<msgid>]" once known, leaving the
 * start of the line as scripts expect.  With --debug a session line ends
 * in " sid=<16 hex digits>" (omitted while the id is 0).  When the text
 * is too long it is cut, never the fields after it.  errno is preserved.
 */
static void
log_emit(int level, const struct slog *s, const char *unit,
    const char *errstr, const char *fmt, va_list ap)
{
	char	 body[LOG_BODYMAX], head[256], tail[192];
	size_t	 hlen, tlen, avail;
	int	 r, saved;

	if (!log_enabled(level))
		return;
	saved = errno;

	head[0] = '\0';
	if ((log_fmt & LOGF_UNIT) && unit != NULL && unit[0] != '\0') {
		(void)strlcat(head, "[", sizeof(head));
		(void)strlcat(head, unit, sizeof(head));
		(void)strlcat(head, "] ", sizeof(head));
	}
	if (s != NULL && (log_fmt & LOGF_NETWORK) && s->net[0] != '\0') {
		(void)strlcat(head, s->net, sizeof(head));
		(void)strlcat(head, "; ", sizeof(head));
	}
	if (s != NULL && (log_fmt & (LOGF_ADDRESS | LOGF_PORT)) &&
	    s->addr[0] != '\0') {
		(void)strlcat(head, s->addr, sizeof(head));
		if ((log_fmt & LOGF_PORT) && s->port[0] != '\0') {
			(void)strlcat(head, ";", sizeof(head));
			(void)strlcat(head, s->port, sizeof(head));
			(void)strlcat(head, ": ", sizeof(head));
		} else
			(void)strlcat(head, "; ", sizeof(head));
	}

	tail[0] = '\0';
	if (errstr != NULL) {
		(void)strlcat(tail, ": ", sizeof(tail));
		(void)strlcat(tail, errstr, sizeof(tail));
	}
	if (s != NULL && (log_fmt & LOGF_MSGID) && s->msgid[0] != '\0') {
		(void)strlcat(tail, " [", sizeof(tail));
		(void)strlcat(tail, s->msgid, sizeof(tail));
		(void)strlcat(tail, "]", sizeof(tail));
	}
	if (s != NULL && log_debug_on && s->sid != 0) {
		hlen = strlen(tail);
		(void)snprintf(tail + hlen, sizeof(tail) - hlen,
		    " sid=%016llx", (unsigned long long)s->sid);
	}

	hlen = strlen(head);
	tlen = strlen(tail);
	/* head + tail < sizeof(body): both are far below LOG_BODYMAX. */
	memcpy(body, head, hlen);
	avail = sizeof(body) - hlen - tlen;
	r = vsnprintf(body + hlen, avail, fmt, ap);
	if (r < 0)
		body[hlen] = '\0';
	memcpy(body + strlen(body), tail, tlen + 1);

	if (log_sink_fn != NULL && !log_in_sink) {
		log_in_sink = 1;
		log_sink_fn(level, body, log_sink_arg);
		log_in_sink = 0;
	} else {
		/* Parent, or the sink logged: write it here, to stderr. */
		log_write(level, body);
	}
	errno = saved;
}

/* After fatal's line: the hook once (not if it fails fatally), exit. */
static void
log_fatal_exit(void)
{
	void	(*fn)(void *);

	if (!log_in_fatal && log_atfatal_fn != NULL) {
		log_in_fatal = 1;
		fn = log_atfatal_fn;
		fn(log_atfatal_arg);
	}
	exit(1);
}

/* Local date "YYYYMMDD" and time stamp "YYYYMMDD.HHMMSS.mmm". */
static void
log_stamp(char *date, size_t dsz, char *stamp, size_t ssz)
{
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n;
	long		 ms;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1) {
		ts.tv_sec = time(NULL);
		ts.tv_nsec = 0;
	}
	if (localtime_r(&ts.tv_sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	if (strftime(date, dsz, "%Y%m%d", &tm) == 0)
		date[0] = '\0';
	n = strftime(stamp, ssz, "%Y%m%d.%H%M%S", &tm);
	ms = (long)(ts.tv_nsec / 1000000) % 1000;
	if (n == 0 || n + 5 > ssz) {
		stamp[0] = '\0';
		return;
	}
	stamp[n++] = '.';
	stamp[n++] = (char)('0' + ms / 100);
	stamp[n++] = (char)('0' + ms / 10 % 10);
	stamp[n++] = (char)('0' + ms % 10);
	stamp[n] = '\0';
}

/* The pattern with every "%d" replaced by date; -1 if too long. */
static int
log_file_expand(const char *pattern, const char *date, char *path,
    size_t sz)
{
	const char	*p;
	size_t		 o = 0, dlen = strlen(date);

	for (p = pattern; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			if (o + dlen >= sz)
				return (-1);
			memcpy(path + o, date, dlen);
			o += dlen;
			p++;
			continue;
		}
		if (o + 1 >= sz)
			return (-1);
		path[o++] = *p;
	}
	path[o] = '\0';
	return (0);
}

static int
log_file_open(const char *pattern, const char *date)
{
	char	 path[PATH_MAX];

	if (log_file_expand(pattern, date, path, sizeof(path)) == -1) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
}

/*
 * Re-open the file when the day has changed and the pattern names the
 * day.  If the new file cannot be opened the old one is kept until the
 * next day change.
 */
static void
log_file_check(const char *date)
{
	int	 fd;

	if (strcmp(date, log_file_date) == 0)
		return;
	(void)strlcpy(log_file_date, date, sizeof(log_file_date));
	if (strstr(log_file_pattern, "%d") == NULL && log_file_fd != -1)
		return;
	if ((fd = log_file_open(log_file_pattern, date)) == -1)
		return;
	if (log_file_fd != -1)
		(void)close(log_file_fd);
	log_file_fd = fd;
}

/* One write() for the line; more only if the kernel takes part of it. */
static void
log_write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Encode src[i] (the next byte decides "\0" or "\000") into enc. */
static size_t
log_vis_char(char *enc, size_t sz, const char *src, size_t len, size_t i)
{
	int	 c, next;

	c = (unsigned char)src[i];
	next = i + 1 < len ? (unsigned char)src[i + 1] : '\0';
	(void)nvis(enc, sz, c, LOG_VISFLAGS, next);
	return (strlen(enc));
}
