/*
 * Unit tests for common/log.c: body formatting for every --log-format
 * combination, level filtering, the writer's line shape on stderr and in
 * a --log-file, log_vis(), the option parsers and the fatal paths.
 *
 * Every test starts with log_init(), which resets all logging state.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "t.h"

struct cap {
	int	 n;
	int	 level;
	char	 body[BOUNDS_LOGLINE + 16];
};

static void	 cap_sink(int, const char *, void *);
static void	 loud_sink(int, const char *, void *);
static void	 cap_reset(int, int, int, int);
static int	 tmpdir_make(char *, size_t);
static void	 tmpdir_remove(const char *);
static int	 file_read(const char *, char *, size_t);
static void	 today(char *, size_t);
static int	 stderr_begin(char *, size_t);
static int	 stderr_end(int, const char *, char *, size_t);
static void	 hook_write(void *arg);
static void	 hook_fatal(void *arg);
static int	 run_child(void (*)(void), char *, size_t);
static void	 child_fatalx(void);
static void	 child_fatal(void);
static void	 child_recursive(void);
static void	 child_nohook(void);
static void	 child_sink(void);
static void	 write_file_in(const char *);
static void	 pipe_sink(int, const char *, void *);

/*
 * t.h's T_EQ_STR formats both strings into a fixed buffer, which gcc's
 * -Wformat-truncation rejects for our line-sized arrays; this form
 * formats through pointers of unknown length instead.
 */
#define T_EQ_S(a, b) do {						\
	if (str_differs(__FILE__, __LINE__, #a, (a), (b)))		\
		return;							\
} while (0)

static int	 str_differs(const char *, int, const char *, const char *,
		    const char *);

static struct cap	 cap;
static int		 hook_fd = -1;

static int
str_differs(const char *file, int line, const char *what, const char *a,
    const char *b)
{
	char	 m[1024];

	if (a != NULL && b != NULL && strcmp(a, b) == 0)
		return (0);
	/* A long message is cut, which is fine here. */
	if (snprintf(m, sizeof(m), "%s (\"%s\" != \"%s\")", what,
	    a != NULL ? a : "(null)", b != NULL ? b : "(null)") < 0)
		m[0] = '\0';
	t_fail(file, line, m);
	return (1);
}

static void
cap_sink(int level, const char *body, void *arg)
{
	struct cap	*c = arg;

	c->n++;
	c->level = level;
	(void)strlcpy(c->body, body, sizeof(c->body));
}

/* A sink that breaks its contract and logs: must not recurse. */
static void
loud_sink(int level, const char *body, void *arg)
{
	struct cap	*c = arg;

	c->n++;
	c->level = level;
	(void)strlcpy(c->body, body, sizeof(c->body));
	log_warnx("sink trouble");
}

/* A child with a capturing sink and the given levels and format. */
static void
cap_reset(int info, int verbose, int debug, int fmt)
{
	log_init("emailrelay");
	log_setlevel(info, verbose, debug, fmt);
	memset(&cap, 0, sizeof(cap));
	log_procinit("test", cap_sink, &cap);
}

static int
tmpdir_make(char *dir, size_t sz)
{
	const char	*t;
	char		 tmpl[7];
	int		 r;

	if ((t = getenv("TMPDIR")) == NULL || t[0] == '\0')
		t = "/tmp";
	/* mkdtemp(3)'s six template letters, spelled out. */
	memset(tmpl, 'X', 6);
	tmpl[6] = '\0';
	r = snprintf(dir, sz, "%s/t_log.%s", t, tmpl);
	if (r < 0 || (size_t)r >= sz)
		return (-1);
	return (mkdtemp(dir) == NULL ? -1 : 0);
}

/* Remove the few plain files a test made, then the directory. */
static void
tmpdir_remove(const char *dir)
{
	char	 cmd[PATH_MAX + 32];
	int	 r;

	r = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (r > 0 && (size_t)r < sizeof(cmd))
		(void)system(cmd);
}

static int
file_read(const char *path, char *buf, size_t sz)
{
	ssize_t	 n;
	size_t	 o = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	while (o < sz - 1 && (n = read(fd, buf + o, sz - 1 - o)) > 0)
		o += (size_t)n;
	buf[o] = '\0';
	(void)close(fd);
	return ((int)o);
}

static void
today(char *buf, size_t sz)
{
	time_t		 now = time(NULL);
	struct tm	 tm;

	(void)localtime_r(&now, &tm);
	(void)strftime(buf, sz, "%Y%m%d", &tm);
}

/* Send fd 2 to a temp file; returns the saved fd 2. */
static int
stderr_begin(char *path, size_t sz)
{
	int	 fd, saved;

	if (tmpdir_make(path, sz) == -1)
		return (-1);
	if (strlcat(path, "/stderr", sz) >= sz)
		return (-1);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return (-1);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	(void)close(fd);
	return (saved);
}

static int
stderr_end(int saved, const char *path, char *buf, size_t sz)
{
	char	 dir[PATH_MAX], *p;
	int	 n;

	fflush(stderr);
	(void)dup2(saved, STDERR_FILENO);
	(void)close(saved);
	n = file_read(path, buf, sz);
	(void)strlcpy(dir, path, sizeof(dir));
	if ((p = strrchr(dir, '/')) != NULL)
		*p = '\0';
	tmpdir_remove(dir);
	return (n);
}

static void
hook_write(void *arg)
{
	(void)write(hook_fd, "H", 1);
}

/* A hook that itself fails fatally must not loop. */
static void
hook_fatal(void *arg)
{
	(void)write(hook_fd, "R", 1);
	fatalx("again");
}

static void
child_fatalx(void)
{
	log_atfatal(hook_write, NULL);
	fatalx("boom %d", 42);
}

static void
child_fatal(void)
{
	log_atfatal(hook_write, NULL);
	errno = EACCES;
	fatal("cannot bind %s", "x");
}

static void
child_recursive(void)
{
	log_atfatal(hook_fatal, NULL);
	fatalx("first");
}

static void
child_nohook(void)
{
	fatalx("plain");
}

/* A child's sink gets the fatal line before the hook runs. */
static void
pipe_sink(int level, const char *body, void *arg)
{
	char	 line[256];
	int	 r;

	r = snprintf(line, sizeof(line), "%d:%s;", level, body);
	if (r > 0 && (size_t)r < sizeof(line))
		(void)write(hook_fd, line, (size_t)r);
}

static void
child_sink(void)
{
	log_procinit("smtpd", pipe_sink, NULL);
	log_atfatal(hook_write, NULL);
	log_setlevel(1, 0, 0, LOGF_TIME);
	fatalx("bad frame %u", 7u);
}

/*
 * Fork; the child logs to stderr (a temp file) and runs fn, which must
 * not return.  Returns the exit status (or -1); the child's stderr and
 * what its hooks wrote are put into out as "<stderr>|<hook bytes>".
 */
static int
run_child(void (*fn)(void), char *out, size_t outsz)
{
	char	 path[PATH_MAX], err[4096], hook[16];
	pid_t	 pid;
	int	 fds[2], saved, status;
	ssize_t	 n;

	if (pipe(fds) == -1)
		return (-1);
	if ((saved = stderr_begin(path, sizeof(path))) == -1)
		return (-1);
	fflush(stdout);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		(void)close(fds[0]);
		hook_fd = fds[1];
		log_init("emailrelay");
		fn();
		_exit(99);
	}
	(void)close(fds[1]);
	if (waitpid(pid, &status, 0) == -1)
		return (-1);
	n = read(fds[0], hook, sizeof(hook) - 1);
	hook[n > 0 ? n : 0] = '\0';
	(void)close(fds[0]);
	(void)stderr_end(saved, path, err, sizeof(err));
	if (snprintf(out, outsz, "%s|%s", err, hook) < 0)
		return (-1);
	if (!WIFEXITED(status))
		return (-1);
	return (WEXITSTATUS(status));
}

TEST(log_body_every_format)
{
	struct slog	 s;
	char		 want[BOUNDS_LOGLINE];
	int		 fmt, debug;

	memset(&s, 0, sizeof(s));
	s.unit = "in";
	(void)strlcpy(s.addr, "127.0.0.1", sizeof(s.addr));
	(void)strlcpy(s.port, "56454", sizeof(s.port));
	(void)strlcpy(s.msgid, "emailrelay.123.1700000000", sizeof(s.msgid));
	(void)strlcpy(s.net, "0.0.0.0:25", sizeof(s.net));
	s.sid = 0x1234abcdULL;

	for (debug = 0; debug <= 1; debug++) {
		for (fmt = 0; fmt < 0x40; fmt++) {
			cap_reset(1, 0, debug, fmt);
			slog_info(&s, "smtp connection from %s", "x");
			T_EQ_INT(cap.n, 1);
			T_EQ_INT(cap.level, LOGL_INFO);
			want[0] = '\0';
			if (fmt & LOGF_UNIT)
				(void)strlcat(want, "[in] ", sizeof(want));
			if (fmt & LOGF_NETWORK)
				(void)strlcat(want, "0.0.0.0:25; ",
				    sizeof(want));
			if (fmt & LOGF_PORT)
				(void)strlcat(want, "127.0.0.1;56454: ",
				    sizeof(want));
			else if (fmt & LOGF_ADDRESS)
				(void)strlcat(want, "127.0.0.1; ",
				    sizeof(want));
			(void)strlcat(want, "smtp connection from x",
			    sizeof(want));
			if (fmt & LOGF_MSGID)
				(void)strlcat(want,
				    " [emailrelay.123.1700000000]",
				    sizeof(want));
			if (debug)
				(void)strlcat(want, " sid=000000001234abcd",
				    sizeof(want));
			T_EQ_S(cap.body, want);
		}
	}
}

TEST(log_body_spec_examples)
{
	struct slog	 s;

	memset(&s, 0, sizeof(s));
	s.unit = "in";
	(void)strlcpy(s.addr, "192.0.2.7", sizeof(s.addr));
	(void)strlcpy(s.port, "56454", sizeof(s.port));

	cap_reset(0, 0, 0, LOGF_ADDRESS | LOGF_TIME);
	slog_warnx(&s, "failed authentication of remote client");
	T_EQ_INT(cap.level, LOGL_WARN);
	T_EQ_S(cap.body, "192.0.2.7; failed authentication of remote client");

	cap_reset(0, 0, 0, LOGF_ADDRESS | LOGF_PORT);
	slog_warnx(&s, "x");
	T_EQ_S(cap.body, "192.0.2.7;56454: x");

	/* Empty fields add nothing. */
	memset(&s, 0, sizeof(s));
	s.unit = "";
	s.sid = 0;
	cap_reset(1, 0, 1, 0x3f);
	slog_info(&s, "y");
	T_EQ_S(cap.body, "y");
	slog_info(NULL, "z");
	T_EQ_S(cap.body, "z");

	/* ulog_info: "[unit] text" only with LOGF_UNIT and a name. */
	cap_reset(1, 0, 0, LOGF_UNIT);
	ulog_info("in", "smtp server on %s", "0.0.0.0:10037");
	T_EQ_S(cap.body, "[in] smtp server on 0.0.0.0:10037");
	ulog_info("", "smtp server on ::.25");
	T_EQ_S(cap.body, "smtp server on ::.25");
	ulog_info(NULL, "n");
	T_EQ_S(cap.body, "n");
	cap_reset(1, 0, 0, 0);
	ulog_info("in", "smtp server on ::.25");
	T_EQ_S(cap.body, "smtp server on ::.25");

	/* A failed log_parse_format() (-1) selects no fields. */
	memset(&s, 0, sizeof(s));
	s.unit = "in";
	(void)strlcpy(s.addr, "192.0.2.7", sizeof(s.addr));
	cap_reset(1, 0, 0, log_parse_format("bogus", NULL));
	slog_info(&s, "q");
	T_EQ_S(cap.body, "q");

	/* Plain forms have no session fields even with every flag. */
	cap_reset(1, 0, 1, 0x3f);
	log_info("plain %d", 7);
	T_EQ_S(cap.body, "plain 7");
	T_EQ_INT(cap.level, LOGL_INFO);
}

TEST(log_levels)
{
	int	 i, v, d;

	for (i = 0; i <= 1; i++)
		for (v = 0; v <= 1; v++)
			for (d = 0; d <= 1; d++) {
				cap_reset(i, v, d, 0);
				T_EQ_INT(log_enabled(LOGL_ERROR), 1);
				T_EQ_INT(log_enabled(LOGL_WARN), 1);
				T_EQ_INT(log_enabled(LOGL_INFO), i || v);
				T_EQ_INT(log_enabled(LOGL_VERBOSE), v);
				T_EQ_INT(log_enabled(LOGL_DEBUG), d);

				log_debug("d");
				log_verbose("v");
				log_info("i");
				T_EQ_INT(cap.n, d + v + (i || v));
				log_warnx("w");
				T_EQ_INT(cap.level, LOGL_WARN);
				T_EQ_S(cap.body, "w");
				log_error("e");
				T_EQ_INT(cap.level, LOGL_ERROR);
				T_EQ_INT(cap.n, d + v + (i || v) + 2);
			}

	cap_reset(0, 1, 0, 0);
	log_verbose("tx>>: \"%s\"", "EHLO x");
	T_EQ_INT(cap.level, LOGL_VERBOSE);
	T_EQ_S(cap.body, "tx>>: \"EHLO x\"");
	cap_reset(0, 0, 1, 0);
	log_debug("dbg");
	T_EQ_INT(cap.level, LOGL_DEBUG);

	/* Nothing logged by default after log_init, except problems. */
	cap_reset(0, 0, 0, 0);
	log_info("i");
	log_verbose("v");
	log_debug("d");
	T_EQ_INT(cap.n, 0);
}

TEST(log_warn_strerror)
{
	char	 want[256];

	cap_reset(0, 0, 0, 0);
	errno = ENOENT;
	log_warn("cannot open %s", "/x");
	(void)snprintf(want, sizeof(want), "cannot open /x: %s",
	    strerror(ENOENT));
	T_EQ_S(cap.body, want);
	T_EQ_INT(cap.level, LOGL_WARN);
	T_EQ_INT(errno, ENOENT);
	log_warnx("no errno");
	T_EQ_S(cap.body, "no errno");
	T_EQ_INT(errno, ENOENT);
}

TEST(log_truncation)
{
	static char	 big[10000];
	struct slog	 s;
	size_t		 len;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	cap_reset(0, 0, 0, 0);
	log_warnx("%s", big);
	len = strlen(cap.body);
	T_ASSERT(len > 1000);
	T_ASSERT(len < BOUNDS_LOGLINE);
	T_ASSERT(strspn(cap.body, "a") == len);

	/* The fields after the text survive a cut. */
	memset(&s, 0, sizeof(s));
	s.sid = 1;
	(void)strlcpy(s.addr, "10.0.0.1", sizeof(s.addr));
	cap_reset(1, 0, 1, LOGF_ADDRESS);
	errno = EPIPE;
	slog_warnx(&s, "%s", big);
	len = strlen(cap.body);
	T_ASSERT(len < BOUNDS_LOGLINE);
	T_ASSERT(strncmp(cap.body, "10.0.0.1; aaa", 13) == 0);
	T_EQ_S(cap.body + len - 21, " sid=0000000000000001");
}

TEST(log_sink_recursion)
{
	char	 path[PATH_MAX], out[1024];
	int	 saved;

	log_init("emailrelay");
	memset(&cap, 0, sizeof(cap));
	log_procinit("test", loud_sink, &cap);
	saved = stderr_begin(path, sizeof(path));
	T_ASSERT(saved != -1);
	log_warnx("outer");
	(void)stderr_end(saved, path, out, sizeof(out));
	T_EQ_INT(cap.n, 1);
	T_EQ_S(cap.body, "outer");
	T_EQ_S(out, "emailrelay: warning: sink trouble\n");
	log_init("emailrelay");
}

TEST(log_vis_escaping)
{
	char	 buf[64], small[12];

	T_EQ_S(log_vis(buf, sizeof(buf), "EHLO x\r\nMAIL", 12),
	    "EHLO x\\r\\nMAIL");
	T_EQ_S(log_vis(buf, sizeof(buf), "a\0b", 3), "a\\0b");
	T_EQ_S(log_vis(buf, sizeof(buf), "a\0" "1", 3), "a\\0001");
	T_EQ_S(log_vis(buf, sizeof(buf), "\xc3\xa9\x7f\x01\t", 5),
	    "\\303\\251\\177\\001\\t");
	T_EQ_S(log_vis(buf, sizeof(buf), "back\\slash \"q\"", 14),
	    "back\\\\slash \"q\"");
	T_EQ_S(log_vis(buf, sizeof(buf), "\a\b", 2), "\\a\\b");
	T_EQ_S(log_vis(buf, sizeof(buf), "", 0), "");
	T_EQ_S(log_vis(buf, sizeof(buf), NULL, 5), "");
	/* Only len bytes are read. */
	T_EQ_S(log_vis(buf, sizeof(buf), "abcdef", 3), "abc");

	/* Exactly fits: no marker. */
	T_EQ_S(log_vis(small, sizeof(small), "abcdefghijk", 11),
	    "abcdefghijk");
	/* One more: cut with "..." and never beyond the buffer. */
	T_EQ_S(log_vis(small, sizeof(small), "abcdefghijkl", 12),
	    "abcdefgh...");
	/* Escapes are never split. */
	T_EQ_S(log_vis(small, sizeof(small), "abcdef\r\r\r\r", 10),
	    "abcdef\\r...");
	T_EQ_S(log_vis(small, sizeof(small), "abcde\r\r\r\r\r", 10),
	    "abcde\\r...");
	T_EQ_S(log_vis(small, sizeof(small), "abcd\r\r\r\r\r\r", 10),
	    "abcd\\r\\r...");
	/* Tiny buffers. */
	T_EQ_S(log_vis(small, 1, "abc", 3), "");
	T_EQ_S(log_vis(small, 3, "abc", 3), "..");
	T_EQ_S(log_vis(small, 4, "abc", 3), "abc");
	T_EQ_S(log_vis(small, 4, "abcd", 4), "...");
	T_ASSERT(log_vis(small, 0, "abc", 3) == small);
}

TEST(log_facility_names)
{
	T_EQ_INT(log_facility("mail"), LOG_MAIL);
	T_EQ_INT(log_facility("auth"), LOG_AUTH);
	T_EQ_INT(log_facility("authpriv"), LOG_AUTHPRIV);
	T_EQ_INT(log_facility("cron"), LOG_CRON);
	T_EQ_INT(log_facility("daemon"), LOG_DAEMON);
	T_EQ_INT(log_facility("ftp"), LOG_FTP);
	T_EQ_INT(log_facility("kern"), LOG_KERN);
	T_EQ_INT(log_facility("lpr"), LOG_LPR);
	T_EQ_INT(log_facility("news"), LOG_NEWS);
	T_EQ_INT(log_facility("syslog"), LOG_SYSLOG);
	T_EQ_INT(log_facility("user"), LOG_USER);
	T_EQ_INT(log_facility("uucp"), LOG_UUCP);
	T_EQ_INT(log_facility("local0"), LOG_LOCAL0);
	T_EQ_INT(log_facility("local5"), LOG_LOCAL5);
	T_EQ_INT(log_facility("local7"), LOG_LOCAL7);
	T_EQ_INT(log_facility("local8"), -1);
	T_EQ_INT(log_facility("Mail"), -1);
	T_EQ_INT(log_facility(""), -1);
	T_EQ_INT(log_facility("mail "), -1);
	T_EQ_INT(log_facility(NULL), -1);
}

TEST(log_format_words)
{
	const char	*bad;

	T_EQ_INT(log_parse_format("", &bad), 0);
	T_ASSERT(bad == NULL);
	T_EQ_INT(log_parse_format("time", &bad), LOGF_TIME);
	T_EQ_INT(log_parse_format("unit,address,port", &bad),
	    LOGF_UNIT | LOGF_ADDRESS | LOGF_PORT);
	T_EQ_INT(log_parse_format("msgid,network,time,time", &bad),
	    LOGF_MSGID | LOGF_NETWORK | LOGF_TIME);
	T_EQ_INT(log_parse_format("time, unit ,,", &bad),
	    LOGF_TIME | LOGF_UNIT);
	T_EQ_INT(log_parse_format("time,unit,address,port,msgid,network",
	    &bad), 0x3f);
	T_EQ_INT(log_parse_format(NULL, &bad), 0);

	T_EQ_INT(log_parse_format("time,bogus,unit", &bad), -1);
	T_EQ_S(bad, "bogus");
	T_EQ_INT(log_parse_format("Time", &bad), -1);
	T_EQ_S(bad, "Time");
	T_EQ_INT(log_parse_format("timex", &bad), -1);
	T_EQ_S(bad, "timex");
	T_EQ_INT(log_parse_format("tim", &bad), -1);
	T_EQ_S(bad, "tim");
	T_EQ_INT(log_parse_format("unit,port:x", NULL), -1);
}

/* The --log-file checks, in dir; the caller removes it whatever happens. */
static void
write_file_in(const char *dir)
{
	char		 pat[PATH_MAX], path[PATH_MAX];
	char		 buf[8192], date[16], *nl;
	struct stat	 st;
	regex_t		 re;
	struct slog	 s;
	mode_t		 um;
	int		 ok;

	T_ASSERT(snprintf(pat, sizeof(pat), "%s/emailrelay-%%d.log", dir) <
	    (int)sizeof(pat));
	today(date, sizeof(date));
	T_ASSERT(snprintf(path, sizeof(path), "%s/emailrelay-%s.log", dir,
	    date) < (int)sizeof(path));

	log_init("emailrelay");
	T_EQ_INT(log_configure(0, -1, pat), 0);
	log_write(LOGL_INFO, "hello");
	T_EQ_INT(file_read(path, buf, sizeof(buf)), 24);
	T_EQ_S(buf, "emailrelay: info: hello\n");
	T_ASSERT(stat(path, &st) == 0);
	um = umask(0);
	(void)umask(um);
	T_EQ_INT(st.st_mode & 0777, 0640 & ~um);

	(void)unlink(path);
	log_write(LOGL_VERBOSE, "v");
	log_write(LOGL_WARN, "w");
	log_write(LOGL_ERROR, "e");
	log_write(LOGL_DEBUG, "d");
	log_write(99, "high");
	log_write(-3, "low");
	/* Same day: the unlinked file is not re-opened. */
	T_EQ_INT(file_read(path, buf, sizeof(buf)), -1);

	log_init("emailrelay");
	T_EQ_INT(log_configure(0, -1, pat), 0);
	log_write(LOGL_VERBOSE, "v");
	log_write(LOGL_WARN, "w");
	log_write(LOGL_ERROR, "e");
	log_write(LOGL_DEBUG, "d");
	log_write(99, "high");
	log_write(-3, "low");
	(void)file_read(path, buf, sizeof(buf));
	T_EQ_S(buf, "emailrelay: info: v\nemailrelay: warning: w\n"
	    "emailrelay: error: e\nemailrelay: debug: d\n"
	    "emailrelay: error: high\nemailrelay: debug: low\n");

	/* With LOGF_TIME. */
	(void)unlink(path);
	log_init("emailrelay");
	log_setlevel(1, 0, 0, LOGF_TIME);
	T_EQ_INT(log_configure(0, -1, pat), 0);
	log_write(LOGL_INFO, "hello");
	T_ASSERT(file_read(path, buf, sizeof(buf)) > 0);
	T_ASSERT(regcomp(&re, "^emailrelay: [0-9]{8}\\.[0-9]{6}\\.[0-9]{3}: "
	    "info: hello$", REG_EXTENDED | REG_NOSUB) == 0);
	nl = strchr(buf, '\n');
	T_ASSERT(nl != NULL && nl[1] == '\0');
	*nl = '\0';
	ok = regexec(&re, buf, 0, NULL, 0) == 0;
	regfree(&re);
	T_ASSERT(ok);
	/* The stamp's date is the file's date. */
	T_ASSERT(strncmp(buf + 12, date, 8) == 0);

	/* The parent formats the body and writes it (no sink). */
	(void)unlink(path);
	log_init("emailrelay");
	log_setlevel(1, 0, 0, LOGF_ADDRESS | LOGF_UNIT);
	T_EQ_INT(log_configure(0, -1, pat), 0);
	memset(&s, 0, sizeof(s));
	s.unit = "in";
	(void)strlcpy(s.addr, "127.0.0.1", sizeof(s.addr));
	slog_info(&s, "smtp connection from %s", "127.0.0.1:5");
	log_verbose("not shown");
	log_debug("not shown");
	(void)file_read(path, buf, sizeof(buf));
	T_EQ_S(buf, "emailrelay: info: [in] 127.0.0.1; "
	    "smtp connection from 127.0.0.1:5\n");

	/* A huge body is cut to one bounded line that ends in "\n". */
	(void)unlink(path);
	log_init("emailrelay");
	log_setlevel(0, 0, 0, LOGF_TIME);
	T_EQ_INT(log_configure(0, -1, pat), 0);
	{
		static char	 big[20000];

		memset(big, 'b', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		log_write(LOGL_WARN, big);
	}
	T_EQ_INT(file_read(path, buf, sizeof(buf)), BOUNDS_LOGLINE - 1);
	T_ASSERT(strncmp(buf + 31, ": warning: bbb", 14) == 0);
	T_EQ_INT(buf[BOUNDS_LOGLINE - 2], '\n');

	/* A file that cannot be opened. */
	log_init("emailrelay");
	T_ASSERT(snprintf(pat, sizeof(pat), "%s/no/such/dir/%%d.log", dir) <
	    (int)sizeof(pat));
	errno = 0;
	T_EQ_INT(log_configure(0, -1, pat), -1);
	T_EQ_INT(errno, ENOENT);
}

TEST(log_write_file)
{
	char	 dir[PATH_MAX];

	T_ASSERT(tmpdir_make(dir, sizeof(dir)) == 0);
	write_file_in(dir);
	log_init("emailrelay");
	tmpdir_remove(dir);
}

TEST(log_write_stderr)
{
	char	 path[PATH_MAX], out[1024];
	int	 saved;

	/* Before log_configure: stderr. */
	log_init("emailrelay");
	saved = stderr_begin(path, sizeof(path));
	T_ASSERT(saved != -1);
	log_warnx("early %s", "warning");
	log_info("not logged");
	(void)stderr_end(saved, path, out, sizeof(out));
	T_EQ_S(out, "emailrelay: warning: early warning\n");

	/* --close-stderr: nothing there. */
	log_init("emailrelay");
	T_EQ_INT(log_configure(0, -1, NULL), 0);
	saved = stderr_begin(path, sizeof(path));
	T_ASSERT(saved != -1);
	log_error("quiet");
	(void)stderr_end(saved, path, out, sizeof(out));
	T_EQ_S(out, "");

	/* Configured with stderr, another progname, syslog on. */
	log_init("relay2");
	log_setlevel(0, 1, 0, 0);
	T_EQ_INT(log_configure(1, LOG_LOCAL7, NULL), 0);
	saved = stderr_begin(path, sizeof(path));
	T_ASSERT(saved != -1);
	log_verbose("rx<<: \"%s\"", "QUIT");
	log_error("e");
	(void)stderr_end(saved, path, out, sizeof(out));
	T_EQ_S(out, "relay2: info: rx<<: \"QUIT\"\nrelay2: error: e\n");

	/* log_init resets the destinations. */
	log_init("emailrelay");
	saved = stderr_begin(path, sizeof(path));
	T_ASSERT(saved != -1);
	log_error("back");
	(void)stderr_end(saved, path, out, sizeof(out));
	T_EQ_S(out, "emailrelay: error: back\n");
}

TEST(log_fatal_paths)
{
	char	 out[4096], want[512];

	T_EQ_INT(run_child(child_fatalx, out, sizeof(out)), 1);
	T_EQ_S(out, "emailrelay: error: boom 42\n|H");

	T_EQ_INT(run_child(child_fatal, out, sizeof(out)), 1);
	(void)snprintf(want, sizeof(want),
	    "emailrelay: error: cannot bind x: %s\n|H", strerror(EACCES));
	T_EQ_S(out, want);

	/* The hook runs once even when it fails fatally itself. */
	T_EQ_INT(run_child(child_recursive, out, sizeof(out)), 1);
	T_EQ_S(out, "emailrelay: error: first\nemailrelay: error: again\n|R");

	T_EQ_INT(run_child(child_nohook, out, sizeof(out)), 1);
	T_EQ_S(out, "emailrelay: error: plain\n|");

	T_EQ_INT(run_child(child_sink, out, sizeof(out)), 1);
	T_EQ_S(out, "|4:bad frame 7;H");
}
