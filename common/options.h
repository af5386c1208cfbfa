/*
 * The option table and the parsed configuration (SPEC section 2).
 *
 * One table (common/options.c) drives the command line, emailrelay.conf,
 * --help and the man-page test.  Values are kept per instance in a generic
 * form; each process derives what it needs from them.  Composite values
 * (interface lists, host:port, dnsbl, tls-config, ...) are validated when
 * they are set, so a bad one stops start-up naming the option.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "bounds.h"

/* OPT_ + the long name upper-cased with '-' as '_'.  Table order. */
enum opt_id {
	/* basic */
	OPT_AS_CLIENT, OPT_AS_PROXY, OPT_AS_SERVER, OPT_SPOOL_DIR, OPT_HELP,
	OPT_VERSION,
	/* smtp client */
	OPT_CLIENT_SMTP_CONFIG, OPT_FORWARD, OPT_FORWARD_ON_DISCONNECT,
	OPT_FORWARD_TO, OPT_POLL, OPT_POLL_RUN, OPT_CLIENT_FILTER,
	OPT_CLIENT_INTERFACE, OPT_CONNECTION_TIMEOUT, OPT_IDLE_TIMEOUT,
	OPT_RESPONSE_TIMEOUT, OPT_FORWARD_TO_ALL, OPT_FORWARD_TO_SOME,
	OPT_IMMEDIATE, OPT_PROMPT_TIMEOUT,
	/* smtp server */
	OPT_PORT, OPT_REMOTE_CLIENTS, OPT_ADDRESS_VERIFIER, OPT_ANONYMOUS,
	OPT_DELIVERY_DIR, OPT_DNSBL, OPT_DOMAIN, OPT_FILTER, OPT_FILTER_TIMEOUT,
	OPT_INTERFACE, OPT_SERVER_SMTP_CONFIG, OPT_SIZE, OPT_NO_SMTP,
	/* pop */
	OPT_POP, OPT_POP_PORT, OPT_POP_AUTH, OPT_POP_BY_NAME, OPT_POP_NO_DELETE,
	/* admin */
	OPT_ADMIN, OPT_ADMIN_TERMINATE,
	/* authentication */
	OPT_CLIENT_AUTH, OPT_CLIENT_AUTH_CONFIG, OPT_SERVER_AUTH,
	OPT_SERVER_AUTH_CONFIG,
	/* tls */
	OPT_CLIENT_TLS, OPT_CLIENT_TLS_CONNECTION, OPT_CLIENT_TLS_REQUIRED,
	OPT_CLIENT_TLS_CERTIFICATE, OPT_CLIENT_TLS_SERVER_NAME,
	OPT_CLIENT_TLS_VERIFY, OPT_CLIENT_TLS_VERIFY_NAME, OPT_SERVER_TLS,
	OPT_SERVER_TLS_CONNECTION, OPT_SERVER_TLS_REQUIRED,
	OPT_SERVER_TLS_CERTIFICATE, OPT_SERVER_TLS_VERIFY, OPT_TLS_CONFIG,
	/* process */
	OPT_DONT_SERVE, OPT_NO_DAEMON, OPT_PID_FILE, OPT_USER,
	OPT_CONTROL_SOCKET,
	/* logging */
	OPT_LOG, OPT_VERBOSE, OPT_DEBUG, OPT_LOG_TIME, OPT_LOG_ADDRESS,
	OPT_LOG_FORMAT, OPT_LOG_FILE, OPT_SYSLOG, OPT_NO_SYSLOG,
	OPT_CLOSE_STDERR,
	/* accepted for compatibility */
	OPT_HIDDEN, OPT_SHOW, OPT_LOCALEDIR,
	OPT__COUNT
};

/* Argument kinds. */
#define OPTA_NONE	0	/* boolean */
#define OPTA_STR	1	/* any text (file, program, address, ...) */
#define OPTA_NUM	2	/* non-negative decimal */
#define OPTA_PERIOD	3	/* seconds, or with an s/m/h/d suffix */
#define OPTA_OPTIONAL	4	/* --name or --name=value (anonymous, syslog) */

/* Flags. */
#define OPTF_REPEAT	0x01	/* may be given again; every value kept */
#define OPTF_GLOBAL	0x02	/* process-wide, not per instance */
#define OPTF_PENDING	0x04	/* parsed and validated, feature not built */
#define OPTF_IGNORED	0x08	/* accepted, warned about, ignored */
#define OPTF_FILE	0x10	/* a path: @app expands */
#define OPTF_BASIC	0x20	/* listed by the short --help */

struct option_def {
	const char	*name;		/* long name without dashes */
	int		 letter;	/* short letter, or 0 */
	int		 kind;		/* OPTA_* */
	int		 flags;		/* OPTF_* */
	const char	*argname;	/* "<host:port>", for --help */
	const char	*help;		/* one line, for --help --verbose */
	const char	*dflt;		/* default value text, or NULL */
	/*
	 * Validate a value (never NULL, never empty); returns NULL if good,
	 * else static text for "invalid --<name> value: \"<value>\": <why>".
	 * NULL checker: anything goes.
	 */
	const char	*(*check)(const char *value);
	long long	 min, max;	/* OPTA_NUM range */
};

/* One option's value in one instance. */
struct optval {
	int		 set;		/* given or implied (see conf_str()) */
	char		*str;		/* last value (NULL for a boolean) */
	long long	 num;		/* OPTA_NUM/OPTA_PERIOD: seconds */
	char		**list;		/* OPTF_REPEAT: every value in order */
	size_t		 nlist;
};

struct instconf {
	char		 name[BOUNDS_INSTNAME];	/* "" for the unnamed one */
	struct optval	 opt[OPT__COUNT];
};

struct confrec;

/*
 * Process-wide options live in inst[0].  The unnamed instance, when there
 * is one, is inst[0].  config_argv(), config_file() and config_line()
 * record what they read (validating every value); the end of
 * config_argv() and config_resolve() decide the instances and apply the
 * records in order (SPEC 2.3), so inst[] is usable after config_argv().
 */
struct config {
	struct instconf	 inst[BOUNDS_INSTANCES];
	size_t		 ninst;
	char		*file;		/* configuration file, or NULL */
	char		*appdir;	/* directory of the executable (@app) */
	struct confrec	*rec;		/* recorded input */
	size_t		 nrec;
	char		**warn;		/* for the caller to log; config_free() */
	size_t		 nwarn;
};

/* Error kinds from the parsers; the text goes into err. */
#define CONF_OK		0
#define CONF_EOPTION	1	/* "error: invalid option: \"--x\"" + hint */
#define CONF_EUSAGE	2	/* "usage error: <text>" */
#define CONF_EOTHER	3	/* "error: <text>" */

const struct option_def	*option_def(enum opt_id);
/* Look a long name up (no dashes); NULL if unknown. */
const struct option_def	*option_find(const char *name, enum opt_id *id);
const struct option_def	*option_letter(int letter, enum opt_id *id);

/* Empty configuration; appdir from argv[0] or /proc/self/exe. */
void	 config_init(struct config *, const char *argv0);
void	 config_free(struct config *);

/*
 * Parse a command line (argv[0] is the program).  A lone non-option
 * argument names the configuration file, which is read too; its options
 * count as given before the command line's, so the command line
 * overrides.  Returns CONF_OK or an error kind with the message (without
 * "emailrelay: ") in err, e.g. "invalid option: \"--foo\"" or
 * "invalid --port value: \"abc\"" or "/etc/emailrelay.conf:12: invalid
 * option: \"foo\"".  On success inst[] holds the options as given
 * (and implied); config_finish() does the rest.
 */
int	 config_argv(struct config *, int argc, char **argv, char *err,
	    size_t errsz);

/* Read a configuration file (SPEC 2.2); same returns as config_argv(). */
int	 config_file(struct config *, const char *path, char *err,
	    size_t errsz);

/*
 * One configuration-file line (the fuzzing entry): comment, blank, or
 * "name [value]".  file and lineno are for the message.
 */
int	 config_line(struct config *, const char *line, const char *file,
	    int lineno, char *err, size_t errsz);

/*
 * After all input: config_resolve() then config_pending().  With --help
 * or --version set only the resolution is done.
 */
int	 config_finish(struct config *, char *err, size_t errsz);

/*
 * Decide the instances, apply the recorded options in order (implied
 * options included), merge --log-time/--log-address into --log-format,
 * expand @app, give every instance an explicit spool-dir, and check
 * combinations.  Warnings ("--hidden: ignored on this platform", "option
 * ignored: ...") are added to config->warn for the caller to log.
 */
int	 config_resolve(struct config *, char *err, size_t errsz);

/* CONF_EUSAGE "--<name>: not supported yet" for a set OPTF_PENDING. */
int	 config_pending(const struct config *, char *err, size_t errsz);

/*
 * Set one already-normalised value (a child rebuilding the parent's
 * config): no prefix handling, no implied options.  inst must exist or be
 * the next one (config->ninst).  value NULL for a boolean.
 */
int	 config_set(struct config *, size_t inst, const char *instname,
	    enum opt_id, const char *value, char *err, size_t errsz);

/* Every set value, in instance then table order, lists value by value. */
void	 config_foreach(const struct config *,
	    void (*fn)(void *arg, size_t inst, enum opt_id, const char *value),
	    void *arg);

/*
 * Accessors (never NULL config or instance).  conf_str() and conf_num()
 * return the table default when the option is not set; conf_str() gives
 * NULL for an unset option without default and for a bare optional one
 * (--syslog without a facility).
 */
int		 conf_bool(const struct instconf *, enum opt_id);
const char	*conf_str(const struct instconf *, enum opt_id);
long long	 conf_num(const struct instconf *, enum opt_id);
#define conf_global(c)	(&(c)->inst[0])

/* --help: the common options; with verbose every option with its text. */
void	 options_help(FILE *, int verbose);

#endif /* OPTIONS_H */
