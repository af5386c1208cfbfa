/*
 * emailrelay-submit: local submission straight into a spool directory
 * (SPEC 1 and 3), E-MailRelay's tool of the same name; invoked as
 * "sendmail" or "emailrelay-sendmail" it takes sendmail(8)'s flags so that
 * cron, mail(1) and MUAs can submit.
 *
 * The message is streamed from the input into a new locked content file
 * (a Received line first, LF line ends turned into CRLF), then the content
 * is fsync'd, the envelope written as ".envelope.new" and fsync'd, renamed
 * to ready and the directory fsync'd, all through common/spool.c.  On any
 * failure or interrupting signal what was created is removed, so no half
 * message ever becomes ready.
 *
 * Installed setgid to the spool's group, the group is used only for the
 * spool: the program drops its effective gid to the real gid at once and
 * raises it again only once the input is open.
 */

#include <sys/types.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bounds.h"
#include "envelope.h"
#include "log.h"
#include "spool.h"
#include "xtext.h"

#ifndef EMAILRELAY_VERSION
#define EMAILRELAY_VERSION	"0.0"
#endif

#define DEFAULT_SPOOL	"/var/spool/emailrelay"
#define SPOOL_ENV	"EMAILRELAY_SPOOL_DIR"
#define CHUNK		65536		/* input and output buffers */
#define LINE_HOLD	1024		/* line start held to decide */
#define HDRS_MAX	(1024 * 1024)	/* collected To/Cc/Bcc text (-t) */
#define FREE_MARGIN	(64 * 1024)	/* free space beyond the input */
#define SEQ_TRIES	1000		/* content names tried */
#define ITEM_MAX	(BOUNDS_PATH + 2)	/* one address in a header */
#define LOGIN_MAX	256

/* What happens to the bytes of the current line. */
#define LM_EMIT		0x01		/* written to the content */
#define LM_COLLECT	0x02		/* added to the -t text */

/* line_decide() results. */
#define D_UNDECIDED	0
#define D_DONE		1
#define D_END		2		/* a "." line: end of the input */

enum phase {
	PH_HEADERS,		/* in the header section (sendmail mode) */
	PH_BODY
};

struct submit {
	const char	*prog;		/* basename of argv[0] */
	int		 sendmail;	/* sendmail personality */
	int		 verbose;	/* -v: print the content path */
	int		 extract;	/* -t: recipients from the header */
	int		 dots;		/* a "." line ends the input */
	const char	*spool_dir;
	const char	*input_file;	/* -x, NULL for stdin */
	const char	*from_arg;	/* -f, NULL for the default */
	const char	*fullname;	/* -F in sendmail mode */
	const char	*auth_in;	/* --from-auth-in, not yet xtext */
	const char	*auth_out;	/* --from-auth-out */
	char		**argrcpt;	/* command-line recipients */
	size_t		 nargrcpt;

	uid_t		 uid;		/* real ids */
	gid_t		 rgid;
	gid_t		 egid;		/* the setgid group */
	int		 setgid;	/* egid != rgid at start */
	int		 raised;	/* egid currently the setgid group */
	char		 host[BOUNDS_DOMAIN + 1];
	char		 login[LOGIN_MAX];
	char		 hdrfrom[ENVELOPE_FIELD_MAX]; /* an added From */
	struct envelope	 env;

	int		 infd;
	off_t		 insize;	/* size of a regular input file */
	int		 sigfd;
	int		 dirfd;
	int		 fd;		/* content, OFD-locked */
	char		 base[SPOOL_BASE_MAX];
	int		 created;	/* content (and maybe .new) exist */
	int		 committed;	/* the envelope is ready */

	char		 obuf[CHUNK];	/* content output */
	size_t		 olen;
	int		 eightbit;
	char		 ibuf[CHUNK];	/* input */

	char		 lbuf[LINE_HOLD]; /* undecided line start */
	size_t		 llen;
	int		 decided;	/* the line's mode is known */
	int		 mode;		/* LM_* of the current line */
	int		 cr;		/* a CR read, LF may follow */
	enum phase	 phase;
	int		 in_field;	/* a header field is open */
	int		 fieldmode;	/* LM_* of its continuations */
	int		 seen_from;
	int		 seen_date;
	int		 seen_msgid;
	char		*hdrs;		/* collected To/Cc/Bcc */
	size_t		 hlen;
	size_t		 hcap;
};

/* Address-list parser state for -t. */
struct alist {
	char	 cur[ITEM_MAX];	/* the item outside <> and () */
	size_t	 clen;
	char	 ang[ITEM_MAX];	/* the last <...> of the item */
	size_t	 alen;
	int	 angle;		/* inside <> */
	int	 have_angle;
	int	 space;		/* white space since the last byte */
	int	 inner;		/* space between words outside <> */
	int	 toolong;
};

static void	 fds_sane(void);
static void	 priv_init(struct submit *);
static void	 priv_raise(struct submit *);
static void	 args_submit(struct submit *, int, char **);
static void	 args_sendmail(struct submit *, int, char **);
static void	 sendmail_option(struct submit *, int, const char *);
static void	 usage_submit(void);
static void	 usage_sendmail(void);
static void	 version(void);
static void	 usage_error(struct submit *, const char *, ...)
		    __dead2 __printflike(2, 3);
static void	 die(struct submit *, int, const char *, ...)
		    __dead2 __printflike(3, 4);
static void	 cleanup(struct submit *);
static int	 err_code(int, int);
static void	 identity_init(struct submit *);
static void	 spool_choose(struct submit *);
static void	 sender_init(struct submit *);
static void	 auth_init(struct submit *);
static int	 parse_address(struct submit *, const char *, size_t, int,
		    char *, size_t, const char **);
static int	 add_rcpt(struct submit *, const char *, size_t,
		    const char **);
static void	 input_open(struct submit *);
static void	 signals_block(struct submit *);
static void	 signals_check(struct submit *, int);
static void	 spool_start(struct submit *);
static void	 input_copy(struct submit *);
static int	 feed(struct submit *, unsigned char);
static void	 line_char(struct submit *, char);
static int	 line_end(struct submit *);
static int	 line_decide(struct submit *, int);
static void	 line_start(struct submit *, int, size_t);
static void	 header_field(struct submit *, const char *, size_t);
static void	 headers_end(struct submit *, int);
static int	 field_char(unsigned char);
static int	 name_is(const char *, size_t, const char *);
static void	 out(struct submit *, const char *, size_t);
static void	 outf(struct submit *, const char *, ...) __printflike(2, 3);
static void	 out_flush(struct submit *);
static void	 collect(struct submit *, const char *, size_t);
static void	 rcpts_from_headers(struct submit *);
static void	 alist_put(struct alist *, char);
static void	 alist_item(struct submit *, struct alist *);
static int	 date_822(char *, size_t, time_t);
static void	 quote_name(const char *, char *, size_t);
static void	 commit(struct submit *);

static const struct option submit_longopts[] = {
	{ "from",		required_argument,	NULL, 'f' },
	{ "spool-dir",		required_argument,	NULL, 's' },
	{ "input-file",		required_argument,	NULL, 'x' },
	{ "from-auth-in",	required_argument,	NULL, 'F' },
	{ "from-auth-out",	required_argument,	NULL, 'a' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

/* sendmail flags without a value, accepted and ignored but t and i. */
static const char sendmail_flags[] = "tivUmnG";
/* sendmail options that take a value (attached or the next argument). */
static const char sendmail_valued[] = "frFobNRVBLhCOXAd";

int
main(int argc, char *argv[])
{
	struct submit	*s;
	const char	*p;
	size_t		 i;
	const char	*errstr;

	fds_sane();
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		(void)fprintf(stderr, "emailrelay-submit: error: out of "
		    "memory\n");
		return (EX_OSERR);
	}
	s->infd = s->sigfd = s->dirfd = s->fd = -1;
	envelope_init(&s->env);
	s->phase = PH_BODY;
	s->prog = "emailrelay-submit";
	if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0') {
		p = strrchr(argv[0], '/');
		p = p != NULL ? p + 1 : argv[0];
		if (*p != '\0')
			s->prog = p;
	}
	s->sendmail = strcmp(s->prog, "sendmail") == 0 ||
	    strcmp(s->prog, "emailrelay-sendmail") == 0;
	log_init(s->prog);
	priv_init(s);
	(void)signal(SIGPIPE, SIG_IGN);

	if (s->sendmail)
		args_sendmail(s, argc, argv);
	else
		args_submit(s, argc, argv);

	identity_init(s);
	spool_choose(s);
	sender_init(s);
	auth_init(s);
	for (i = 0; i < s->nargrcpt; i++)
		if (add_rcpt(s, s->argrcpt[i], strlen(s->argrcpt[i]),
		    &errstr) == -1)
			usage_error(s, "invalid recipient address \"%s\": %s",
			    s->argrcpt[i], errstr);
	if (!s->extract && s->env.nto_remote == 0)
		usage_error(s, "no recipients");

	input_open(s);
	signals_block(s);
	spool_start(s);
	input_copy(s);
	if (s->extract)
		rcpts_from_headers(s);
	if (s->env.nto_remote == 0)
		die(s, EX_USAGE, "no recipients");
	commit(s);

	if (s->verbose) {
		p = s->spool_dir[0] != '\0' &&
		    s->spool_dir[strlen(s->spool_dir) - 1] == '/' ? "" : "/";
		if (printf("%s%s%s.content\n", s->spool_dir, p, s->base) < 0 ||
		    fflush(stdout) == EOF)
			log_warn("message submitted, but cannot print its "
			    "path");
	}
	(void)close(s->dirfd);
	envelope_free(&s->env);
	free(s->hdrs);
	free(s);
	return (EX_OK);
}

/*
 * A setgid program must not open the spool or a content file as
 * descriptor 0, 1 or 2: make sure they are open.
 */
static void
fds_sane(void)
{
	int	 fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			_exit(EX_OSERR);
	}
}

/*
 * Record the real ids and, when setgid, run with the real gid until the
 * spool is opened.  A setuid installation is refused: only the group is
 * meant to be privileged.
 */
static void
priv_init(struct submit *s)
{
	s->uid = getuid();
	s->rgid = getgid();
	s->egid = getegid();
	if (geteuid() != s->uid) {
		log_error("refusing to run setuid: install setgid to the "
		    "spool's group instead");
		exit(EX_SOFTWARE);
	}
	s->setgid = s->egid != s->rgid;
	if (s->setgid && setegid(s->rgid) == -1) {
		log_warn("setegid");
		exit(EX_SOFTWARE);
	}
}

/* Take the setgid group back for the spool work (no-op when not setgid). */
static void
priv_raise(struct submit *s)
{
	if (!s->setgid || s->raised)
		return;
	if (setegid(s->egid) == -1)
		die(s, EX_SOFTWARE, "setegid: %s", strerror(errno));
	s->raised = 1;
}

static void
args_submit(struct submit *s, int argc, char **argv)
{
	int	 ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:s:x:F:a:vhV",
	    submit_longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			s->from_arg = optarg;
			break;
		case 's':
			s->spool_dir = optarg;
			break;
		case 'x':
			s->input_file = optarg;
			break;
		case 'F':
			s->auth_in = optarg;
			break;
		case 'a':
			s->auth_out = optarg;
			break;
		case 'v':
			s->verbose = 1;
			break;
		case 'h':
			usage_submit();
			exit(EX_OK);
		case 'V':
			version();
			exit(EX_OK);
		case ':':
			usage_error(s, "option requires a value: \"%s\"",
			    argv[optind - 1]);
		default:
			(void)fprintf(stderr, "%s: error: invalid option: ",
			    s->prog);
			if (optopt != 0)
				(void)fprintf(stderr, "\"-%c\"\n", optopt);
			else
				(void)fprintf(stderr, "\"%s\"\n",
				    argv[optind - 1]);
			(void)fprintf(stderr, "%s: try \"%s --help\" for more "
			    "information\n", s->prog, s->prog);
			exit(EX_USAGE);
		}
	}
	s->argrcpt = argv + optind;
	s->nargrcpt = (size_t)(argc - optind);
}

/*
 * sendmail(8) command line: single-letter options, clustered as getopt(3)
 * does ("-ti", "-oi", "-fuser@host"), options and recipients in any
 * order until "--".  Recipients are collected in place in argv.
 */
static void
args_sendmail(struct submit *s, int argc, char **argv)
{
	const char	*a, *p, *val;
	int		 i, done = 0;
	size_t		 n = 0;

	s->dots = 1;
	s->phase = PH_HEADERS;
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (done || a[0] != '-' || a[1] == '\0') {
			argv[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			done = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0) {
			usage_sendmail();
			exit(EX_OK);
		}
		if (strcmp(a, "--version") == 0) {
			version();
			exit(EX_OK);
		}
		for (p = a + 1; *p != '\0'; p++) {
			if (strchr(sendmail_flags, *p) != NULL) {
				if (*p == 't')
					s->extract = 1;
				else if (*p == 'i')
					s->dots = 0;
				continue;
			}
			if (*p == 'q' || *p == 'I')
				usage_error(s, "\"-%c\" is not supported: the "
				    "emailrelay daemon runs the queue (see "
				    "emailrelayctl)", *p);
			if (strchr(sendmail_valued, *p) == NULL)
				usage_error(s, "invalid option: \"-%c\"", *p);
			if (p[1] != '\0')
				val = p + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				usage_error(s, "option requires a value: "
				    "\"-%c\"", *p);
			sendmail_option(s, *p, val);
			break;
		}
	}
	s->argrcpt = argv;
	s->nargrcpt = n;
}

/* One sendmail option with its value. */
static void
sendmail_option(struct submit *s, int opt, const char *val)
{
	const char	*c;

	switch (opt) {
	case 'f':
	case 'r':
		s->from_arg = val;
		break;
	case 'F':
		for (c = val; *c != '\0'; c++)
			if ((unsigned char)*c < 32 || *c == 127)
				usage_error(s, "invalid full name: control "
				    "character");
		s->fullname = val;
		break;
	case 'o':
		/* -oi; every other -o option (-odb, -oem, -oQ...) ignored */
		if (strcmp(val, "i") == 0)
			s->dots = 0;
		break;
	case 'b':
		if (strcmp(val, "m") == 0)
			break;
		if (strcmp(val, "s") == 0)
			usage_error(s, "\"-bs\" is not supported: SMTP on "
			    "standard input is not available, submit the "
			    "message on standard input (-bm) or use SMTP");
		usage_error(s, "\"-b%s\" is not supported: only -bm",
		    val);
	default:
		/* -N -R -V -B -L -h -C -O -X -A -d: accepted, ignored */
		break;
	}
}

static void
usage_submit(void)
{
	(void)printf(
"usage: emailrelay-submit [options] <to-address> [<to-address> ...]\n"
"\n"
"Writes a message straight into an E-MailRelay spool directory (a content\n"
"file and a ready envelope) for the emailrelay daemon to forward.  The\n"
"message is read from the standard input, or from --input-file, to its\n"
"end.  Every recipient is remote: the daemon's address verifier is not\n"
"consulted.\n"
"\n"
"options:\n"
"  -f, --from <address>        envelope sender; \"\" or \"<>\" for the null\n"
"                              sender; default <login>@<hostname>: the\n"
"                              invoking user's login name at this host\n"
"  -s, --spool-dir <dir>       spool directory (default " DEFAULT_SPOOL ",\n"
"                              or $" SPOOL_ENV " when not setgid)\n"
"  -x, --input-file <file>     read the message from <file>\n"
"  -F, --from-auth-in <name>   envelope MailFromAuthIn (stored as xtext)\n"
"  -a, --from-auth-out <name>  envelope MailFromAuthOut (stored as xtext)\n"
"  -v, --verbose               print the path of the new content file\n"
"  -h, --help                  print this text\n"
"  -V, --version               print the version\n"
"\n"
"The content is the message as given, with LF line ends turned into CRLF\n"
"and a missing final line end added, after a first line\n"
"  Received: by <hostname> with local (from userid <uid>) ; <date>\n"
"An address without a domain gets \"@<hostname>\".  The envelope has format\n"
"#2821.8, Content 8bit when any byte of the content is 8-bit (else 7bit),\n"
"Client 127.0.0.1 and an empty Authentication.  The content is fsync'd,\n"
"then the envelope is written and fsync'd, renamed to ready and the\n"
"directory fsync'd; a failed or interrupted run leaves nothing behind.\n"
"Spool files are created mode 0660 under umask 007.\n"
"\n"
"Invoked as \"sendmail\" or \"emailrelay-sendmail\" (a link), it takes\n"
"sendmail(8)'s flags: see \"sendmail --help\".\n"
"\n"
"Install setgid <group> for local users, <group> being the group of the\n"
"spool directory (chgrp daemon emailrelay-submit; chmod 2755\n"
"emailrelay-submit).  When setgid, the group is used for the spool only:\n"
"the input file is opened with the real group, $" SPOOL_ENV " is\n"
"ignored, and users other than root may not choose a spool directory\n"
"other than " DEFAULT_SPOOL ".  A setuid installation is refused.\n"
"\n"
"exit status (sysexits.h): 0 submitted; 64 usage (bad option or address,\n"
"no recipients); 65 bad recipient headers (sendmail -t); 66 input file\n"
"unreadable; 67 unknown user (give --from); 70 internal error; 73 spool\n"
"directory cannot be written; 74 read, write or fsync error; 75 spool\n"
"filesystem full (try again later).\n");
}

static void
usage_sendmail(void)
{
	(void)printf(
"usage: sendmail [options] [--] [<to-address> ...]\n"
"\n"
"The sendmail(8) personality of emailrelay-submit (see \"emailrelay-submit\n"
"--help\"): the message on the standard input goes into the spool\n"
"directory " DEFAULT_SPOOL " ($" SPOOL_ENV " when not setgid)\n"
"for the emailrelay daemon to forward.\n"
"\n"
"options:\n"
"  -t                  take recipients from the To, Cc and Bcc headers too\n"
"                      (command-line recipients are added to them)\n"
"  -f <address>, -f<address>, -r <address>\n"
"                      envelope sender (default <login>@<hostname>)\n"
"  -F <full name>      name in the From header added when there is none\n"
"  -i, -oi             a line with a single \".\" does not end the input\n"
"  -bm                 read the message from the standard input (default)\n"
"  --                  end of the options\n"
"\n"
"Accepted and ignored: -v -U -m -n -G; every -o<x> but -oi (-odb -odi\n"
"-odq -oem -oep -oeq -oQ<dir> -oX...); and -N <dsn>, -R <ret>,\n"
"-V <envid>, -B <type>, -L <tag>, -h <hops>, -C <file>, -O <opt=val>,\n"
"-X <file>, -A<c|m>, -d<flags>.  Refused with exit 64: -bs (SMTP on the\n"
"standard input is not supported), every other -b mode, -q and -I.\n"
"\n"
"Without -i/-oi a line consisting of a single \".\" ends the input, as in\n"
"sendmail.  Bcc and Resent-Bcc header fields are removed; From (\"Full\n"
"Name <sender>\" with -F), Date and Message-ID fields are added when the\n"
"message has none; a first line that is not a header field starts the\n"
"body (an empty line is put before it).  Everything else is as for\n"
"emailrelay-submit, including the exit status.\n");
}

static void
version(void)
{
	(void)printf("E-MailRelay V%s\n", EMAILRELAY_VERSION);
}

static void
usage_error(struct submit *s, const char *fmt, ...)
{
	char	 text[512], safe[1024];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	(void)log_vis(safe, sizeof(safe), text, strlen(text));
	(void)fprintf(stderr, "%s: usage error: %s\n", s->prog, safe);
	(void)fprintf(stderr, "%s: try \"%s --help\" for more information\n",
	    s->prog, s->prog);
	cleanup(s);
	exit(EX_USAGE);
}

/* Log "<prog>: error: <text>", remove what was created, exit code. */
static void
die(struct submit *s, int code, const char *fmt, ...)
{
	char	 text[768], safe[1536];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	(void)log_vis(safe, sizeof(safe), text, strlen(text));
	log_error("%s", safe);
	cleanup(s);
	exit(code);
}

/* Remove an uncommitted message: envelope first, then the content. */
static void
cleanup(struct submit *s)
{
	if (s->created && !s->committed) {
		(void)spool_remove(s->dirfd, s->base);
		s->created = 0;
	}
	if (s->fd != -1) {
		(void)close(s->fd);
		s->fd = -1;
	}
}

/* A full filesystem is temporary (75); everything else gives dflt. */
static int
err_code(int error, int dflt)
{
	if (error == ENOSPC || error == EDQUOT)
		return (EX_TEMPFAIL);
	return (dflt);
}

/* The host name (for Received, Message-ID, bare addresses) and login. */
static void
identity_init(struct submit *s)
{
	struct passwd	*pw;
	size_t		 i;
	unsigned char	 c;

	if (gethostname(s->host, sizeof(s->host) - 1) == -1)
		s->host[0] = '\0';
	s->host[sizeof(s->host) - 1] = '\0';
	for (i = 0; s->host[i] != '\0'; i++) {
		c = (unsigned char)s->host[i];
		if (c <= 32 || c >= 127)
			s->host[i] = '-';
	}
	if (s->host[0] == '\0')
		(void)strlcpy(s->host, "localhost", sizeof(s->host));

	if ((pw = getpwuid(s->uid)) != NULL && pw->pw_name != NULL &&
	    strlcpy(s->login, pw->pw_name, sizeof(s->login)) >=
	    sizeof(s->login))
		s->login[0] = '\0';
}

/*
 * -s, else $EMAILRELAY_SPOOL_DIR (secure_getenv: never when setgid),
 * else the default.  Setgid and not root: the default only.
 */
static void
spool_choose(struct submit *s)
{
	const char	*e;

	if (s->spool_dir == NULL && !s->setgid &&
	    (e = secure_getenv(SPOOL_ENV)) != NULL && *e != '\0')
		s->spool_dir = e;
	if (s->spool_dir == NULL)
		s->spool_dir = DEFAULT_SPOOL;
	if (s->spool_dir[0] == '\0')
		usage_error(s, "empty spool directory");
	if (s->setgid && s->uid != 0 && strcmp(s->spool_dir,
	    DEFAULT_SPOOL) != 0)
		usage_error(s, "only root may choose a spool directory other "
		    "than %s when the program is setgid", DEFAULT_SPOOL);
}

/* The envelope sender, and the address for an added From header. */
static void
sender_init(struct submit *s)
{
	char		 buf[ENVELOPE_FIELD_MAX];
	const char	*errstr;
	int		 n;

	if (s->login[0] != '\0') {
		n = snprintf(buf, sizeof(buf), "%s@%s", s->login, s->host);
		if (n < 0 || (size_t)n >= sizeof(buf) || parse_address(s, buf,
		    strlen(buf), 0, s->hdrfrom, sizeof(s->hdrfrom),
		    &errstr) == -1)
			s->hdrfrom[0] = '\0';
	}
	if (s->from_arg == NULL) {
		if (s->login[0] == '\0')
			die(s, EX_NOUSER, "cannot find the login name of user "
			    "%lu: give the sender with -f",
			    (unsigned long)s->uid);
		if (s->hdrfrom[0] == '\0')
			die(s, EX_NOUSER, "cannot make a sender address from "
			    "\"%s@%s\": give it with -f", s->login, s->host);
		(void)strlcpy(buf, s->hdrfrom, sizeof(buf));
	} else if (s->from_arg[0] == '\0' || strcmp(s->from_arg, "<>") == 0)
		buf[0] = '\0';
	else if (parse_address(s, s->from_arg, strlen(s->from_arg), 0, buf,
	    sizeof(buf), &errstr) == -1)
		usage_error(s, "invalid sender address \"%s\": %s",
		    s->from_arg, errstr);
	else
		(void)strlcpy(s->hdrfrom, buf, sizeof(s->hdrfrom));
	if (envelope_set_from(&s->env, buf) == -1)
		usage_error(s, "invalid sender address \"%s\"", buf);
}

/* --from-auth-in/-out into the envelope as xtext. */
static void
auth_init(struct submit *s)
{
	char	 x[ENVELOPE_FIELD_MAX];

	if (s->auth_in != NULL) {
		if (xtext_encode(s->auth_in, strlen(s->auth_in), x,
		    sizeof(x)) == -1 || envelope_set_auth_in(&s->env, x) == -1)
			usage_error(s, "--from-auth-in value too long");
	}
	if (s->auth_out != NULL) {
		if (xtext_encode(s->auth_out, strlen(s->auth_out), x,
		    sizeof(x)) == -1 ||
		    envelope_set_auth_out(&s->env, x) == -1)
			usage_error(s, "--from-auth-out value too long");
	}
	if (envelope_set_client(&s->env, "127.0.0.1") == -1)
		die(s, EX_SOFTWARE, "cannot set the envelope client");
}

/*
 * Parse an address given as "a@b", "<a@b>" or "a" (which gets
 * "@<hostname>") with addr_parse_path(), UTF-8 allowed; write it as
 * "local@domain" into out.  The null path is refused.  rcpt: parse as a
 * forward path.  Returns 0, or -1 with *errstr set; the envelope's
 * Utf8MailboxNames is set for an address with UTF-8.
 */
static int
parse_address(struct submit *s, const char *p, size_t len, int rcpt,
    char *out, size_t outsz, const char **errstr)
{
	char		 buf[BOUNDS_PATH + BOUNDS_DOMAIN + 8];
	struct mailaddr	 ma;
	size_t		 i, n, inner;
	int		 quoted = 0, at = 0;

	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0) {
		*errstr = "empty address";
		return (-1);
	}
	if (len > BOUNDS_PATH) {
		*errstr = "address too long";
		return (-1);
	}
	n = 0;
	if (p[0] != '<')
		buf[n++] = '<';
	memcpy(buf + n, p, len);
	n += len;
	if (p[0] != '<')
		buf[n++] = '>';
	/* buf is "<...>" unless the input lacks its '>' (parse refuses) */
	inner = n >= 2 && buf[n - 1] == '>' ? n - 1 : n;
	for (i = 1; i < inner; i++) {
		if (quoted && buf[i] == '\\' && i + 1 < inner)
			i++;
		else if (buf[i] == '"')
			quoted = !quoted;
		else if (!quoted && buf[i] == '@')
			at = 1;
	}
	if (!at && inner == n - 1 && inner > 1) {
		/* bare local part: qualify with the host name */
		i = strlen(s->host);
		if (n + i + 1 > sizeof(buf)) {
			*errstr = "address too long";
			return (-1);
		}
		buf[inner] = '@';
		memcpy(buf + inner + 1, s->host, i);
		n = inner + 1 + i;
		buf[n++] = '>';
	}
	if (addr_parse_path(buf, n, ADDR_F_UTF8 | (rcpt ? ADDR_F_RCPT : 0),
	    &ma, errstr) == -1)
		return (-1);
	if (addr_is_null(&ma)) {
		*errstr = "empty address";
		return (-1);
	}
	if (addr_format(&ma, out, outsz) == -1) {
		*errstr = "address too long";
		return (-1);
	}
	if (ma.utf8)
		s->env.utf8 = 1;
	return (0);
}

/* Add a recipient unless already there.  Returns 0, or -1 with *errstr. */
static int
add_rcpt(struct submit *s, const char *p, size_t len, const char **errstr)
{
	char	 addr[ENVELOPE_FIELD_MAX];
	size_t	 i;

	if (parse_address(s, p, len, 1, addr, sizeof(addr), errstr) == -1)
		return (-1);
	for (i = 0; i < s->env.nto_remote; i++)
		if (strcmp(s->env.to_remote[i], addr) == 0)
			return (0);
	if (envelope_add_rcpt(&s->env, 0, addr) == -1) {
		if (errno == E2BIG)
			*errstr = "too many recipients";
		else if (errno == ENOMEM)
			*errstr = "out of memory";
		else
			*errstr = "invalid address";
		return (-1);
	}
	return (0);
}

/*
 * Open -x with the real gid (the effective gid is still the real one
 * here), or use the standard input.  A directory is refused.
 */
static void
input_open(struct submit *s)
{
	struct stat	 st;

	if (s->input_file == NULL)
		s->infd = STDIN_FILENO;
	else if ((s->infd = open(s->input_file, O_RDONLY | O_NOCTTY |
	    O_CLOEXEC)) == -1)
		die(s, EX_NOINPUT, "cannot open input file \"%s\": %s",
		    s->input_file, strerror(errno));
	if (fstat(s->infd, &st) == -1)
		die(s, EX_NOINPUT, "cannot read %s: %s", s->input_file != NULL ?
		    s->input_file : "the standard input", strerror(errno));
	if (S_ISDIR(st.st_mode))
		die(s, EX_NOINPUT, "cannot read %s: %s", s->input_file != NULL ?
		    s->input_file : "the standard input", strerror(EISDIR));
	if (S_ISREG(st.st_mode))
		s->insize = st.st_size;
}

/*
 * From here on SIGINT, SIGTERM, SIGHUP and SIGQUIT arrive on a signalfd
 * polled with the input, so an interrupted run can remove its files.  A
 * signal ignored at start (nohup) stays ignored.
 */
static void
signals_block(struct submit *s)
{
	sigset_t	 set;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGINT);
	(void)sigaddset(&set, SIGTERM);
	(void)sigaddset(&set, SIGHUP);
	(void)sigaddset(&set, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		die(s, EX_SOFTWARE, "sigprocmask: %s", strerror(errno));
	if ((s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		die(s, EX_SOFTWARE, "signalfd: %s", strerror(errno));
}

/*
 * Wait for input (wait != 0) or just look for a signal: on one, remove
 * what was created and die of the same signal.
 */
static void
signals_check(struct submit *s, int wait)
{
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	sigset_t		 set;
	int			 sig, n;

	pfd[0].fd = s->sigfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = wait ? s->infd : -1;
	pfd[1].events = POLLIN;
	for (;;) {
		pfd[0].revents = pfd[1].revents = 0;
		if ((n = poll(pfd, 2, wait ? -1 : 0)) == -1) {
			if (errno == EINTR)
				continue;
			die(s, EX_SOFTWARE, "poll: %s", strerror(errno));
		}
		if (pfd[0].revents != 0)
			break;
		if (!wait || pfd[1].revents != 0)
			return;
	}
	if (read(s->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	sig = (int)si.ssi_signo;
	log_error("interrupted by signal %d: message not submitted", sig);
	cleanup(s);
	(void)signal(sig, SIG_DFL);
	(void)sigemptyset(&set);
	(void)sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(sig);
	exit(EX_TEMPFAIL);
}

/*
 * Open the spool with the setgid group, check the free space and create
 * the locked content file under umask 007, then write the Received line.
 */
static void
spool_start(struct submit *s)
{
	char			 date[64];
	time_t			 now;
	unsigned long long	 seq, need;

	priv_raise(s);
	(void)umask(007);
	if ((s->dirfd = open(s->spool_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		die(s, EX_CANTCREAT, "cannot open spool directory \"%s\": %s",
		    s->spool_dir, strerror(errno));
	need = FREE_MARGIN + (unsigned long long)(s->insize > 0 ?
	    s->insize : 0);
	if (spool_free_space(s->dirfd, need) == 0)
		die(s, EX_TEMPFAIL, "spool directory \"%s\" is full: fewer "
		    "than %llu bytes available", s->spool_dir, need);

	now = time(NULL);
	for (seq = 1; seq <= SEQ_TRIES; seq++) {
		if (spool_name_new(s->base, sizeof(s->base), getpid(), now,
		    seq) == -1)
			die(s, EX_SOFTWARE, "cannot make a spool file name");
		if ((s->fd = spool_content_create(s->dirfd, s->base)) != -1)
			break;
		if (errno != EEXIST)
			die(s, err_code(errno, EX_CANTCREAT), "cannot create "
			    "a content file in \"%s\": %s", s->spool_dir,
			    strerror(errno));
	}
	if (s->fd == -1)
		die(s, EX_CANTCREAT, "cannot create a content file in \"%s\": "
		    "no free name", s->spool_dir);
	s->created = 1;

	if (date_822(date, sizeof(date), now) == -1)
		die(s, EX_SOFTWARE, "cannot format the date");
	outf(s, "Received: by %s with local (from userid %lu) ; %s\r\n",
	    s->host, (unsigned long)s->uid, date);
}

/* Stream the input into the content, chunk by chunk. */
static void
input_copy(struct submit *s)
{
	ssize_t	 n, i;
	int	 end = 0;

	while (!end) {
		signals_check(s, 1);
		if ((n = read(s->infd, s->ibuf, sizeof(s->ibuf))) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die(s, EX_IOERR, "cannot read %s: %s",
			    s->input_file != NULL ? s->input_file :
			    "the standard input", strerror(errno));
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			if (feed(s, (unsigned char)s->ibuf[i]) == D_END) {
				end = 1;
				break;
			}
		}
	}
	/* a last line without its line end */
	if (!end && (s->cr || s->llen > 0 || s->decided)) {
		s->cr = 0;
		(void)line_end(s);
	}
	headers_end(s, 0);
	if (s->input_file != NULL)
		(void)close(s->infd);
	s->infd = -1;
}

/* One input byte: CRLF and LF end a line, a lone CR is content. */
static int
feed(struct submit *s, unsigned char c)
{
	if (s->cr) {
		s->cr = 0;
		if (c == '\n')
			return (line_end(s));
		line_char(s, '\r');
	}
	if (c == '\r') {
		s->cr = 1;
		return (0);
	}
	if (c == '\n')
		return (line_end(s));
	line_char(s, (char)c);
	return (0);
}

/* A content byte of the current line. */
static void
line_char(struct submit *s, char c)
{
	if (s->decided) {
		if (s->mode & LM_EMIT) {
			if (s->olen == sizeof(s->obuf))
				out_flush(s);
			if ((unsigned char)c >= 0x80)
				s->eightbit = 1;
			s->obuf[s->olen++] = c;
		}
		if (s->mode & LM_COLLECT)
			collect(s, &c, 1);
		return;
	}
	s->lbuf[s->llen++] = c;
	(void)line_decide(s, 0);
}

/* The end of a line.  Returns D_END for a "." line that ends the input. */
static int
line_end(struct submit *s)
{
	if (!s->decided && line_decide(s, 1) == D_END) {
		s->llen = 0;
		return (D_END);
	}
	if (s->mode & LM_EMIT)
		out(s, "\r\n", 2);
	s->decided = 0;
	s->llen = 0;
	return (0);
}

/*
 * Decide what the held start of a line is: a "." line that ends the
 * input, a header field, a continuation, the empty line after the header,
 * or body.  complete: the whole line is held.  Once held bytes fill
 * lbuf the line is taken as it is (body, or a field's continuation).
 */
static int
line_decide(struct submit *s, int complete)
{
	const char	*lb = s->lbuf;
	size_t		 n = s->llen, i, j;
	int		 forced = !complete && n == sizeof(s->lbuf);

	if (s->dots && n == 1 && lb[0] == '.') {
		if (complete)
			return (D_END);
		return (D_UNDECIDED);
	}
	if (s->phase == PH_HEADERS) {
		if (n == 0) {
			/* the empty line after the header */
			headers_end(s, 0);
			line_start(s, LM_EMIT, 0);
			return (D_DONE);
		}
		if (lb[0] == ' ' || lb[0] == '\t') {
			if (s->in_field) {
				line_start(s, s->fieldmode, 0);
				return (D_DONE);
			}
			headers_end(s, 1);
			line_start(s, LM_EMIT, 0);
			return (D_DONE);
		}
		for (i = 0; i < n && field_char((unsigned char)lb[i]); i++)
			;
		for (j = i; j < n && (lb[j] == ' ' || lb[j] == '\t'); j++)
			;
		if (i > 0 && j < n && lb[j] == ':') {
			header_field(s, lb, i);
			line_start(s, s->fieldmode, j + 1);
			return (D_DONE);
		}
		if (i > 0 && j == n && !complete && !forced)
			return (D_UNDECIDED);
		/* not a header field: the body starts with this line */
		headers_end(s, 1);
	}
	line_start(s, LM_EMIT, 0);
	return (D_DONE);
}

/*
 * The current line's mode is known: pass on the held bytes, collecting
 * those from offset from on.
 */
static void
line_start(struct submit *s, int mode, size_t from)
{
	s->decided = 1;
	s->mode = mode;
	if (mode & LM_EMIT)
		out(s, s->lbuf, s->llen);
	if ((mode & LM_COLLECT) && from < s->llen)
		collect(s, s->lbuf + from, s->llen - from);
	s->llen = 0;
}

/* A new header field named by len bytes at name. */
static void
header_field(struct submit *s, const char *name, size_t len)
{
	int	 mode = LM_EMIT;

	if (name_is(name, len, "bcc") || name_is(name, len, "resent-bcc"))
		mode = 0;
	if (s->extract && (name_is(name, len, "to") ||
	    name_is(name, len, "cc") || name_is(name, len, "bcc")))
		mode |= LM_COLLECT;
	if (name_is(name, len, "from"))
		s->seen_from = 1;
	else if (name_is(name, len, "date"))
		s->seen_date = 1;
	else if (name_is(name, len, "message-id"))
		s->seen_msgid = 1;
	s->in_field = 1;
	s->fieldmode = mode;
	if (mode & LM_COLLECT)
		collect(s, ",", 1);
}

/*
 * The header section ends (sendmail mode): add From, Date and Message-ID
 * when missing, and an empty line if blank (the body starts with a line
 * that is not a header field).  Called again, it does nothing.
 */
static void
headers_end(struct submit *s, int blank)
{
	char	 date[64], name[1024];

	if (s->phase != PH_HEADERS)
		return;
	s->phase = PH_BODY;
	s->in_field = 0;
	if (!s->seen_from && s->hdrfrom[0] != '\0') {
		if (s->fullname != NULL && s->fullname[0] != '\0') {
			quote_name(s->fullname, name, sizeof(name));
			outf(s, "From: %s <%s>\r\n", name, s->hdrfrom);
		} else
			outf(s, "From: %s\r\n", s->hdrfrom);
	}
	if (!s->seen_date && date_822(date, sizeof(date), time(NULL)) == 0)
		outf(s, "Date: %s\r\n", date);
	if (!s->seen_msgid)
		outf(s, "Message-ID: <%lld.%ld.%08x%08x@%s>\r\n",
		    (long long)time(NULL), (long)getpid(), arc4random(),
		    arc4random(), s->host);
	if (blank)
		out(s, "\r\n", 2);
}

/* RFC 5322 ftext: printable ASCII but ':'. */
static int
field_char(unsigned char c)
{
	return (c >= 33 && c <= 126 && c != ':');
}

static int
name_is(const char *name, size_t len, const char *want)
{
	return (strlen(want) == len && strncasecmp(name, want, len) == 0);
}

static void
out(struct submit *s, const char *p, size_t n)
{
	size_t	 i, k;

	for (i = 0; i < n && !s->eightbit; i++)
		if ((unsigned char)p[i] >= 0x80)
			s->eightbit = 1;
	while (n > 0) {
		if (s->olen == sizeof(s->obuf))
			out_flush(s);
		k = sizeof(s->obuf) - s->olen;
		if (k > n)
			k = n;
		memcpy(s->obuf + s->olen, p, k);
		s->olen += k;
		p += k;
		n -= k;
	}
}

static void
outf(struct submit *s, const char *fmt, ...)
{
	char	 line[2048];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		die(s, EX_SOFTWARE, "header line too long");
	out(s, line, (size_t)n);
}

static void
out_flush(struct submit *s)
{
	const char	*p = s->obuf;
	size_t		 len = s->olen;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(s->fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			die(s, err_code(errno, EX_IOERR), "cannot write the "
			    "content file %s.content: %s", s->base,
			    strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	s->olen = 0;
}

/* Add to the To/Cc/Bcc text of -t, bounded by HDRS_MAX. */
static void
collect(struct submit *s, const char *p, size_t n)
{
	char	*nb;
	size_t	 cap;

	if (n > HDRS_MAX - s->hlen)
		die(s, EX_DATAERR, "recipient header fields longer than %d "
		    "bytes", HDRS_MAX);
	if (s->hlen + n > s->hcap) {
		cap = s->hcap == 0 ? 1024 : s->hcap;
		while (cap < s->hlen + n)
			cap *= 2;
		if ((nb = realloc(s->hdrs, cap)) == NULL)
			die(s, EX_OSERR, "out of memory");
		s->hdrs = nb;
		s->hcap = cap;
	}
	memcpy(s->hdrs + s->hlen, p, n);
	s->hlen += n;
}

/*
 * -t: the addresses of the collected To, Cc and Bcc fields (RFC 5322
 * address lists: display names, <angle-addr>, comments, quoted strings,
 * groups), each added as a recipient.
 */
static void
rcpts_from_headers(struct submit *s)
{
	struct alist	 al;
	size_t		 i;
	int		 depth = 0, quote = 0;
	char		 c;

	memset(&al, 0, sizeof(al));
	for (i = 0; i < s->hlen; i++) {
		c = s->hdrs[i];
		if (depth > 0) {
			if (c == '\\' && i + 1 < s->hlen)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (quote) {
			if (c == '\\' && i + 1 < s->hlen) {
				alist_put(&al, c);
				c = s->hdrs[++i];
			} else if (c == '"')
				quote = 0;
			alist_put(&al, c);
			continue;
		}
		switch (c) {
		case '"':
			quote = 1;
			alist_put(&al, c);
			break;
		case '(':
			depth = 1;
			al.space = 1;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			al.space = 1;
			break;
		case '<':
			if (al.angle)
				alist_put(&al, c);
			else {
				al.angle = 1;
				al.alen = 0;
			}
			break;
		case '>':
			if (al.angle) {
				al.angle = 0;
				al.have_angle = 1;
			} else
				alist_put(&al, c);
			break;
		case ',':
		case ';':
			if (al.angle)
				alist_put(&al, c);
			else
				alist_item(s, &al);
			break;
		case ':':
			if (al.angle)
				alist_put(&al, c);
			else {
				/* "group-name:": drop the name */
				al.clen = 0;
				al.inner = 0;
				al.space = 0;
			}
			break;
		default:
			alist_put(&al, c);
			break;
		}
	}
	if (depth > 0 || quote || al.angle)
		die(s, EX_DATAERR, "unterminated comment, quoted string or "
		    "<address> in the recipient header fields");
	alist_item(s, &al);
}

static void
alist_put(struct alist *al, char c)
{
	if (al->angle) {
		if (al->alen < sizeof(al->ang))
			al->ang[al->alen++] = c;
		else
			al->toolong = 1;
		return;
	}
	if (al->space && al->clen > 0)
		al->inner = 1;
	al->space = 0;
	if (al->clen < sizeof(al->cur))
		al->cur[al->clen++] = c;
	else
		al->toolong = 1;
}

/* The end of one list item: its address becomes a recipient. */
static void
alist_item(struct submit *s, struct alist *al)
{
	const char	*p, *errstr;
	size_t		 len;

	p = al->have_angle ? al->ang : al->cur;
	len = al->have_angle ? al->alen : al->clen;
	if (al->toolong)
		die(s, EX_DATAERR, "address too long in the recipient header "
		    "fields: \"%.*s...\"", (int)(len < 64 ? len : 64), p);
	if (!al->have_angle && al->inner)
		die(s, EX_DATAERR, "invalid address in the recipient header "
		    "fields: \"%.*s\" (a display name needs <address>)",
		    (int)len, p);
	if (len > 0 && add_rcpt(s, p, len, &errstr) == -1)
		die(s, EX_DATAERR, "invalid address in the recipient header "
		    "fields: \"%.*s\": %s", (int)len, p, errstr);
	memset(al, 0, sizeof(*al));
}

/* RFC 5322 date-time in local time, day not zero-padded. */
static int
date_822(char *buf, size_t size, time_t t)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm	 tm;
	long		 off;
	int		 n;

	if (localtime_r(&t, &tm) == NULL || tm.tm_wday < 0 ||
	    tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
		return (-1);
	off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
	n = snprintf(buf, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tm.tm_gmtoff < 0 ? '-' : '+', off / 3600, (off % 3600) / 60);
	if (n < 0 || (size_t)n >= size)
		return (-1);
	return (0);
}

/*
 * A display name for From: as it is when made of atext words (8-bit
 * bytes count as atext, RFC 6532), else a quoted string.  Cut to fit.
 */
static void
quote_name(const char *name, char *out, size_t outsz)
{
	static const char	 atext[] = "!#$%&'*+-/=?^_`{|}~";
	const unsigned char	*p;
	size_t			 n = 0, len = strlen(name);
	int			 plain = 1;

	if (name[0] == ' ' || (len > 0 && name[len - 1] == ' '))
		plain = 0;
	for (p = (const unsigned char *)name; *p != '\0' && plain; p++)
		if (!(*p >= 0x80 || *p == ' ' || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr(atext, *p) != NULL))
			plain = 0;
	if (plain) {
		(void)strlcpy(out, name, outsz);
		return;
	}
	out[n++] = '"';
	for (p = (const unsigned char *)name; *p != '\0' && n + 4 < outsz;
	    p++) {
		if (*p == '"' || *p == '\\')
			out[n++] = '\\';
		out[n++] = (char)*p;
	}
	out[n++] = '"';
	out[n] = '\0';
}

/*
 * SPEC 3 commit order: fsync the content, write and fsync the ".new"
 * envelope, rename it to ready, fsync the directory.  A signal that
 * arrived meanwhile aborts before the rename.
 */
static void
commit(struct submit *s)
{
	char	 err[512];
	int	 saved;

	s->env.body = s->eightbit ? ENVELOPE_BODY_8BIT : ENVELOPE_BODY_7BIT;
	out_flush(s);
	if (spool_fsync_fd(s->fd) == -1)
		die(s, err_code(errno, EX_IOERR), "cannot fsync the content "
		    "file %s.content: %s", s->base, strerror(errno));
	signals_check(s, 0);
	if (spool_envelope_write_new(s->dirfd, s->base, &s->env, err,
	    sizeof(err)) == -1) {
		saved = errno;
		die(s, err_code(saved, saved == EACCES || saved == EPERM ||
		    saved == EROFS ? EX_CANTCREAT : EX_IOERR), "%s", err);
	}
	signals_check(s, 0);
	if (spool_rename_state(s->dirfd, s->base, SPOOL_NEW,
	    SPOOL_READY) == -1)
		die(s, err_code(errno, EX_IOERR), "cannot rename %s.envelope"
		    ".new: %s", s->base, strerror(errno));
	s->committed = 1;
	if (spool_dir_sync(s->dirfd) == -1) {
		saved = errno;
		/* take it back unless a forwarder has claimed it already */
		if (spool_rename_state(s->dirfd, s->base, SPOOL_READY,
		    SPOOL_NEW) == 0) {
			s->committed = 0;
			die(s, EX_IOERR, "cannot fsync the spool directory: %s",
			    strerror(saved));
		}
		log_warnx("cannot fsync the spool directory: %s (the message "
		    "is being forwarded already)", strerror(saved));
	}
	(void)close(s->fd);		/* releases the lock */
	s->fd = -1;
}
