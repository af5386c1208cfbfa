/*
 * The option table, the command line and the configuration file (SPEC 2).
 *
 * Reading (config_argv(), config_file(), config_line()) records
 * (prefix, option, value) triples, checking every name and value as it
 * goes so that an error names the option and, for the file, the line.
 * Only once all input is read are the instances decided (at the end of
 * config_argv() and again in config_resolve()), because E-MailRelay's
 * rule for unprefixed per-instance options depends on whether an
 * unprefixed spool-dir appears anywhere (SPEC 2.3):
 *
 *  - A word is first matched against the real option names; otherwise
 *    "<name>-<option>" applies <option> to instance <name>, which must be
 *    defined by a "<name>-spool-dir" somewhere in the input (command line
 *    or file).  Instance names are [A-Za-z0-9_]; a name that is the first
 *    word of an option name ("pop", "client", ...) is refused.
 *  - With an unprefixed spool-dir the unprefixed options form the unnamed
 *    instance inst[0]; otherwise they go to the first named instance.
 *    Named instances follow in the order of their spool-dir.
 *  - Process-wide (OPTF_GLOBAL) options live in inst[0]; with a prefix
 *    other than inst[0]'s name they are ignored with a warning.
 *  - The configuration file's options come before the command line's, so
 *    a command-line value overrides the file's; the last value of a
 *    single-valued option wins, repeatable ones keep every value in order.
 *  - --as-client, --as-proxy and --as-server set the options they imply
 *    when applied, with the same instance (implied process-wide options
 *    only for the first instance); --log-time and --log-address add their
 *    field to --log-format (which is then rewritten in canonical order).
 *
 * In the file a line whose first non-blank is '#' is a comment (a '#'
 * later in a line is part of the value, as in "fd#3"), a value is the
 * rest of the line with blanks trimmed, and a value in double quotes
 * loses them.
 *
 * This file does not log (fatal() aside, when out of memory): warnings
 * are left in config->warn.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "lookupconf.h"
#include "netaddr.h"
#include "options.h"

#define CONF_LINEMAX	4096	/* configuration-file line */
#define CONF_VALUEMAX	4096	/* one option value */
#define CONF_MAXREC	10000	/* options read in all */
#define CONF_MAXLIST	1000	/* values of one repeatable option */
#define CONF_TIMEMAX	31536000LL	/* a year, for timeouts */

struct confrec {
	char		 prefix[BOUNDS_INSTNAME];	/* "" for none */
	enum opt_id	 id;
	char		*value;		/* NULL when none was given */
	char		*word;		/* the option as written */
	char		*where;		/* "<file>:<line>: " or "" */
};

static const char	*check_path(const char *);
static const char	*check_hostport(const char *);
static const char	*check_client_smtp(const char *);
static const char	*check_server_smtp(const char *);
static const char	*check_poll_run(const char *);
static const char	*check_filter(const char *);
static const char	*check_ip(const char *);
static const char	*check_verifier(const char *);
static const char	*check_anonymous(const char *);
static const char	*check_dnsbl(const char *);
static const char	*check_domain(const char *);
static const char	*check_iface(const char *);
static const char	*check_secrets(const char *);
static const char	*check_client_auth(const char *);
static const char	*check_auth_config(const char *);
static const char	*check_name(const char *);
static const char	*check_verify(const char *);
static const char	*check_tls_config(const char *);
static const char	*check_user(const char *);
static const char	*check_log_format(const char *);
static const char	*check_facility(const char *);

static int	 list_next(const char **, const char *, const char **,
		    size_t *);
static int	 word_in(const char *, size_t, const char *const *);
static const char *check_words(const char *, const char *const *, int,
		    const char *);
static int	 is_decimal(const char *, size_t);
static long long decimal(const char *, size_t, long long, long long, int *);
static const char *check_flags(const char *, const char *const *);
static int	 hostport_numeric(const char *, size_t);
static int	 is_base64(const char *, size_t);
static int	 builtin_prefix(const char *, size_t *);

static int	 seterr(char *, size_t, int, const char *, const char *, ...)
		    __attribute__((__format__(__printf__, 5, 6)));
static void	 vis_value(char *, size_t, const char *);
static void	*xreallocarray(void *, size_t, size_t);
static char	*xstrdup(const char *);
static int	 conf_validate(enum opt_id, const char *, const char *,
		    long long *, char *, size_t);
static int	 instname_valid(const char *, size_t);
static int	 instname_reserved(const char *);
static int	 conf_lookup(const char *, enum opt_id *, char *, size_t);
static int	 conf_record(struct config *, const char *, enum opt_id,
		    const char *, const char *, const char *, char *, size_t);
static int	 argv_long(struct config *, int, char **, int *, char *,
		    size_t);
static int	 argv_short(struct config *, int, char **, int *, char *,
		    size_t);
static void	 optval_clear(struct optval *);
static void	 instconf_clear(struct instconf *);
static int	 conf_store(struct config *, size_t, enum opt_id,
		    const char *, char *, size_t);
static int	 conf_apply(struct config *, size_t, enum opt_id,
		    const char *, char *, size_t);
static int	 conf_imply(struct config *, size_t, enum opt_id,
		    const char *, char *, size_t);
static void	 conf_warn(struct config *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static void	 conf_free_records(struct config *);
static int	 conf_build(struct config *, char *, size_t);
static void	 conf_merge_format(struct config *, int);
static char	*conf_expand(const struct config *, char *);
static void	 conf_expand_all(struct config *);
static void	 optdisplay(const struct config *, size_t, enum opt_id, char *,
		    size_t);
static int	 pending_bad(const struct config *, size_t, enum opt_id,
		    const char *, const char *, char *, size_t);
static int	 conf_combinations(const struct config *, size_t, char *,
		    size_t);
static void	 help_entry(FILE *, enum opt_id);

/*
 * The option table, in enum opt_id order (SPEC 2.1).
 */
static const struct option_def options[OPT__COUNT] = {
	/* basic */
	[OPT_AS_CLIENT] = { "as-client", 'q', OPTA_STR,
	    OPTF_BASIC,
	    "<host:port>", "runs as a client, forwarding all spooled mail "
	    "to <host:port> and then stopping",
	    NULL, check_hostport, 0, 0 },
	[OPT_AS_PROXY] = { "as-proxy", 'y', OPTA_STR,
	    OPTF_BASIC,
	    "<host:port>", "runs as a proxy server, forwarding each message "
	    "to <host:port> once its client disconnects",
	    NULL, check_hostport, 0, 0 },
	[OPT_AS_SERVER] = { "as-server", 'd', OPTA_NONE, OPTF_BASIC,
	    NULL, "runs as a server, storing mail in the spool directory",
	    NULL, NULL, 0, 0 },
	[OPT_SPOOL_DIR] = { "spool-dir", 's', OPTA_STR,
	    OPTF_FILE | OPTF_BASIC, "<dir>", "specifies the spool directory "
	    "(default /var/spool/emailrelay)",
	    "/var/spool/emailrelay", check_path, 0, 0 },
	[OPT_HELP] = { "help", 'h', OPTA_NONE, OPTF_GLOBAL | OPTF_BASIC,
	    NULL, "displays help text and exits (all options with "
	    "--verbose)", NULL, NULL, 0, 0 },
	[OPT_VERSION] = { "version", 'V', OPTA_NONE,
	    OPTF_GLOBAL | OPTF_BASIC, NULL, "displays version information "
	    "and exits (built-in features with --verbose)",
	    NULL, NULL, 0, 0 },
	/* smtp client */
	[OPT_CLIENT_SMTP_CONFIG] = { "client-smtp-config", 'c', OPTA_STR,
	    0, "<config>", "configures the SMTP client: "
	    "pipelining, smtputf8strict, eightbitstrict, binarymimestrict "
	    "(+ or - to add or remove)", NULL, check_client_smtp, 0, 0 },
	[OPT_FORWARD] = { "forward", 'f', OPTA_NONE, 0,
	    NULL, "forwards stored mail on start-up",
	    NULL, NULL, 0, 0 },
	[OPT_FORWARD_ON_DISCONNECT] = { "forward-on-disconnect", '1',
	    OPTA_NONE, 0, NULL, "forwards stored mail once the "
	    "submitting client disconnects", NULL, NULL, 0, 0 },
	[OPT_FORWARD_TO] = { "forward-to", 'o', OPTA_STR,
	    OPTF_BASIC, "<host:port>", "the remote SMTP "
	    "server to forward to (host:port, [ipv6]:port or a unix path, "
	    "optionally @socks-host:port)", NULL, check_hostport, 0, 0 },
	[OPT_POLL] = { "poll", 'O', OPTA_PERIOD,
	    OPTF_BASIC, "<period>", "forwards stored mail "
	    "every <period> (seconds, or with an s, m, h or d suffix)",
	    NULL, NULL, 0, 0 },
	[OPT_POLL_RUN] = { "poll-run", 0, OPTA_STR,
	    OPTF_FILE, "<program>", "runs <program> or "
	    "retry:[<n>] once per poll cycle before the spool is scanned",
	    NULL, check_poll_run, 0, 0 },
	[OPT_CLIENT_FILTER] = { "client-filter", 'Y', OPTA_STR,
	    OPTF_REPEAT | OPTF_FILE, "<program>", "runs "
	    "<program> or a built-in filter before each message is "
	    "forwarded", NULL, check_filter, 0, 0 },
	[OPT_CLIENT_INTERFACE] = { "client-interface", '6', OPTA_STR,
	    0, "<ip-address>", "the local address for outgoing "
	    "connections (0.0.0.0 for IPv4 only, :: for IPv6 only)",
	    NULL, check_ip, 0, 0 },
	[OPT_CONNECTION_TIMEOUT] = { "connection-timeout", 'U', OPTA_NUM,
	    0, "<time>", "timeout in seconds for connecting to "
	    "the remote server (default 40)", "40", NULL, 0, CONF_TIMEMAX },
	[OPT_IDLE_TIMEOUT] = { "idle-timeout", 0, OPTA_NUM, 0,
	    "<time>", "timeout in seconds for an idle client connection "
	    "(default 60)", "60", NULL, 0, CONF_TIMEMAX },
	[OPT_RESPONSE_TIMEOUT] = { "response-timeout", 'T', OPTA_NUM,
	    0, "<time>", "timeout in seconds for each reply of "
	    "the remote server (default 60)", "60", NULL, 0, CONF_TIMEMAX },
	[OPT_FORWARD_TO_ALL] = { "forward-to-all", 0, OPTA_NONE,
	    0, NULL, "fails a message unless every recipient "
	    "is accepted (the default)", NULL, NULL, 0, 0 },
	[OPT_FORWARD_TO_SOME] = { "forward-to-some", 0, OPTA_NONE,
	    0, NULL, "forwards a message to the recipients that "
	    "the remote server accepts", NULL, NULL, 0, 0 },
	[OPT_IMMEDIATE] = { "immediate", 'm', OPTA_NONE, 0,
	    NULL, "forwards each message as it is received, before "
	    "acknowledging it", NULL, NULL, 0, 0 },
	[OPT_PROMPT_TIMEOUT] = { "prompt-timeout", 'w', OPTA_NUM,
	    0, "<time>", "timeout in seconds for the remote "
	    "server's greeting (default 20)", "20", NULL, 0, CONF_TIMEMAX },
	/* smtp server */
	[OPT_PORT] = { "port", 'p', OPTA_NUM, OPTF_BASIC, "<port>",
	    "listens for SMTP on <port> (default 25)",
	    "25", NULL, 1, 65535 },
	[OPT_REMOTE_CLIENTS] = { "remote-clients", 'r', OPTA_NONE,
	    OPTF_BASIC, NULL, "allows connections from "
	    "non-local addresses", NULL, NULL, 0, 0 },
	[OPT_ADDRESS_VERIFIER] = { "address-verifier", 0, OPTA_STR,
	    OPTF_FILE, "<program>", "verifies recipient "
	    "addresses with <program>, net:<host:port> or account:",
	    NULL, check_verifier, 0, 0 },
	[OPT_ANONYMOUS] = { "anonymous", 'A', OPTA_OPTIONAL, 0,
	    "<scope>", "reveals less about the server: vrfy, server, "
	    "content, client", NULL, check_anonymous, 0, 0 },
	[OPT_DELIVERY_DIR] = { "delivery-dir", 0, OPTA_STR,
	    OPTF_FILE, "<dir>", "the base directory for "
	    "local delivery (default the spool directory)",
	    NULL, check_path, 0, 0 },
	[OPT_DNSBL] = { "dnsbl", 0, OPTA_STR, 0, "<config>",
	    "checks clients with DNSBL zones: "
	    "<list>[,<threshold>[,<timeout-ms>[,<dns-server>]]]",
	    NULL, check_dnsbl, 0, 0 },
	[OPT_DOMAIN] = { "domain", 'D', OPTA_STR, 0, "<fqdn>",
	    "the domain name used in the greeting, Received lines and "
	    "message ids", NULL, check_domain, 0, 0 },
	[OPT_FILTER] = { "filter", 'z', OPTA_STR,
	    OPTF_REPEAT | OPTF_FILE | OPTF_BASIC,
	    "<program>", "runs <program> or a built-in filter on each "
	    "message as it is stored", NULL, check_filter, 0, 0 },
	[OPT_FILTER_TIMEOUT] = { "filter-timeout", 'W', OPTA_NUM,
	    0, "<time>", "timeout in seconds for filters and "
	    "verifiers (default 60)", "60", NULL, 0, CONF_TIMEMAX },
	[OPT_INTERFACE] = { "interface", 'I', OPTA_STR,
	    OPTF_REPEAT | OPTF_BASIC, "<addresses>", "listens on the given "
	    "addresses: a comma list of [smtp=|pop=|admin=]<address>",
	    NULL, check_iface, 0, 0 },
	[OPT_SERVER_SMTP_CONFIG] = { "server-smtp-config", 'Z', OPTA_STR,
	    0, "<config>", "configures the SMTP server: "
	    "pipelining, chunking, smtputf8, smtputf8strict, "
	    "nostrictparsing, noalabels, proxy (+ or - to add or remove)",
	    NULL, check_server_smtp, 0, 0 },
	[OPT_SIZE] = { "size", 'M', OPTA_NUM, 0, "<bytes>",
	    "the largest message accepted, 0 for no limit (default 0)",
	    "0", NULL, 0, LLONG_MAX },
	[OPT_NO_SMTP] = { "no-smtp", 'X', OPTA_NONE, 0, NULL,
	    "does not listen for SMTP connections", NULL, NULL, 0, 0 },
	/* pop */
	[OPT_POP] = { "pop", 'B', OPTA_NONE, 0, NULL,
	    "enables the POP server", NULL, NULL, 0, 0 },
	[OPT_POP_PORT] = { "pop-port", 'E', OPTA_NUM, 0, "<port>",
	    "listens for POP on <port> (default 110)",
	    "110", NULL, 1, 65535 },
	[OPT_POP_AUTH] = { "pop-auth", 'F', OPTA_STR,
	    OPTF_FILE, "<file>", "the secrets file for POP "
	    "accounts, or pam:", NULL, check_secrets, 0, 0 },
	[OPT_POP_BY_NAME] = { "pop-by-name", 'J', OPTA_NONE, 0,
	    NULL, "serves each POP user from the spool sub-directory named "
	    "after the user", NULL, NULL, 0, 0 },
	[OPT_POP_NO_DELETE] = { "pop-no-delete", 'G', OPTA_NONE,
	    0, NULL, "ignores POP DELE commands",
	    NULL, NULL, 0, 0 },
	/* admin */
	[OPT_ADMIN] = { "admin", 'a', OPTA_NUM, 0, "<port>",
	    "enables the admin interface on <port>", NULL, NULL, 1, 65535 },
	[OPT_ADMIN_TERMINATE] = { "admin-terminate", 'Q', OPTA_NONE,
	    0, NULL, "enables the admin terminate command",
	    NULL, NULL, 0, 0 },
	/* authentication */
	[OPT_CLIENT_AUTH] = { "client-auth", 'C', OPTA_STR,
	    OPTF_FILE, "<file>", "the secrets file for "
	    "authenticating with the remote server, or "
	    "plain:<base64-user>:<base64-password>",
	    NULL, check_client_auth, 0, 0 },
	[OPT_CLIENT_AUTH_CONFIG] = { "client-auth-config", 0, OPTA_STR,
	    0, "<config>", "client AUTH mechanisms: "
	    "m:<list>;x:<list> (and a:, d: once TLS is active)",
	    NULL, check_auth_config, 0, 0 },
	[OPT_SERVER_AUTH] = { "server-auth", 'S', OPTA_STR,
	    OPTF_FILE, "<file>", "the secrets file for "
	    "authenticating SMTP clients, or pam:",
	    NULL, check_secrets, 0, 0 },
	[OPT_SERVER_AUTH_CONFIG] = { "server-auth-config", 0, OPTA_STR,
	    0, "<config>", "server AUTH mechanisms: "
	    "m:<list>;x:<list> (and a:, d: once TLS is active)",
	    NULL, check_auth_config, 0, 0 },
	/* tls */
	[OPT_CLIENT_TLS] = { "client-tls", 'j', OPTA_NONE, 0,
	    NULL, "uses STARTTLS when the remote server offers it",
	    NULL, NULL, 0, 0 },
	[OPT_CLIENT_TLS_CONNECTION] = { "client-tls-connection", 'b',
	    OPTA_NONE, 0, NULL, "uses implicit TLS for "
	    "outgoing connections (port 465 style)", NULL, NULL, 0, 0 },
	[OPT_CLIENT_TLS_REQUIRED] = { "client-tls-required", 0, OPTA_NONE,
	    0, NULL, "does not forward without TLS",
	    NULL, NULL, 0, 0 },
	[OPT_CLIENT_TLS_CERTIFICATE] = { "client-tls-certificate", 0,
	    OPTA_STR, OPTF_REPEAT | OPTF_FILE, "<pem-file>",
	    "the client key and certificate (twice: key file, then "
	    "certificate file)", NULL, check_path, 0, 0 },
	[OPT_CLIENT_TLS_SERVER_NAME] = { "client-tls-server-name", 0,
	    OPTA_STR, 0, "<name>", "the server name sent with "
	    "TLS (SNI)", NULL, check_name, 0, 0 },
	[OPT_CLIENT_TLS_VERIFY] = { "client-tls-verify", 0, OPTA_STR,
	    OPTF_FILE, "<ca-list>", "verifies the remote "
	    "server's certificate with a CA file, a CA directory or "
	    "<default>", NULL, check_verify, 0, 0 },
	[OPT_CLIENT_TLS_VERIFY_NAME] = { "client-tls-verify-name", 0,
	    OPTA_STR, 0, "<cname>", "the name required in the "
	    "remote server's certificate", NULL, check_name, 0, 0 },
	[OPT_SERVER_TLS] = { "server-tls", 'K', OPTA_NONE, 0,
	    NULL, "offers STARTTLS for SMTP and STLS for POP",
	    NULL, NULL, 0, 0 },
	[OPT_SERVER_TLS_CONNECTION] = { "server-tls-connection", 0,
	    OPTA_NONE, 0, NULL, "uses implicit TLS for incoming "
	    "connections (port 465 style)", NULL, NULL, 0, 0 },
	[OPT_SERVER_TLS_REQUIRED] = { "server-tls-required", 0, OPTA_NONE,
	    0, NULL, "requires TLS before mail or "
	    "authentication", NULL, NULL, 0, 0 },
	[OPT_SERVER_TLS_CERTIFICATE] = { "server-tls-certificate", 0,
	    OPTA_STR, OPTF_REPEAT | OPTF_FILE, "<pem-file>",
	    "the server key and certificate (twice: key file, then "
	    "certificate file)", NULL, check_path, 0, 0 },
	[OPT_SERVER_TLS_VERIFY] = { "server-tls-verify", 0, OPTA_STR,
	    OPTF_FILE, "<ca-list>", "requires client "
	    "certificates signed by a CA in the file, directory or "
	    "<default>", NULL, check_verify, 0, 0 },
	[OPT_TLS_CONFIG] = { "tls-config", '9', OPTA_STR, 0,
	    "<options>", "TLS options: tlsv1.2 for a minimum version, "
	    "-tlsv1.3 for a maximum version", NULL, check_tls_config, 0, 0 },
	/* process */
	[OPT_DONT_SERVE] = { "dont-serve", 'x', OPTA_NONE, 0, NULL,
	    "does not listen for connections (forwarding only)",
	    NULL, NULL, 0, 0 },
	[OPT_NO_DAEMON] = { "no-daemon", 't', OPTA_NONE,
	    OPTF_GLOBAL | OPTF_BASIC, NULL, "does not detach from the "
	    "terminal", NULL, NULL, 0, 0 },
	[OPT_PID_FILE] = { "pid-file", 'i', OPTA_STR,
	    OPTF_GLOBAL | OPTF_FILE, "<path>", "writes the process id to "
	    "<path>", NULL, check_path, 0, 0 },
	[OPT_USER] = { "user", 'u', OPTA_STR, OPTF_GLOBAL, "<username>",
	    "the account to run as (default daemon, root for no switch)",
	    "daemon", check_user, 0, 0 },
	[OPT_CONTROL_SOCKET] = { "control-socket", 0, OPTA_STR,
	    OPTF_GLOBAL | OPTF_FILE, "<path>", "the "
	    "emailrelayctl socket (default /run/emailrelay/control.sock)",
	    "/run/emailrelay/control.sock", check_path, 0, 0 },
	/* logging */
	[OPT_LOG] = { "log", 'l', OPTA_NONE, OPTF_GLOBAL | OPTF_BASIC,
	    NULL, "writes log lines to stderr and syslog",
	    NULL, NULL, 0, 0 },
	[OPT_VERBOSE] = { "verbose", 'v', OPTA_NONE,
	    OPTF_GLOBAL | OPTF_BASIC, NULL, "more log lines, and the "
	    "protocol trace", NULL, NULL, 0, 0 },
	[OPT_DEBUG] = { "debug", 'g', OPTA_NONE, OPTF_GLOBAL, NULL,
	    "debug log lines", NULL, NULL, 0, 0 },
	[OPT_LOG_TIME] = { "log-time", 'L', OPTA_NONE, OPTF_GLOBAL, NULL,
	    "adds the time to log lines (log-format time)",
	    NULL, NULL, 0, 0 },
	[OPT_LOG_ADDRESS] = { "log-address", 0, OPTA_NONE, OPTF_GLOBAL,
	    NULL, "adds the client address to log lines (log-format "
	    "address)", NULL, NULL, 0, 0 },
	[OPT_LOG_FORMAT] = { "log-format", 0, OPTA_STR, OPTF_GLOBAL,
	    "<fields>", "log line fields: time, unit, address, port, "
	    "msgid, network", NULL, check_log_format, 0, 0 },
	[OPT_LOG_FILE] = { "log-file", 'N', OPTA_STR,
	    OPTF_GLOBAL | OPTF_FILE, "<file>", "writes log lines to <file> "
	    "instead of stderr (%d is the date)", NULL, check_path, 0, 0 },
	[OPT_SYSLOG] = { "syslog", 'k', OPTA_OPTIONAL, OPTF_GLOBAL,
	    "<facility>", "logs to syslog, with the given facility (default "
	    "mail)", NULL, check_facility, 0, 0 },
	[OPT_NO_SYSLOG] = { "no-syslog", 'n', OPTA_NONE, OPTF_GLOBAL, NULL,
	    "does not log to syslog", NULL, NULL, 0, 0 },
	[OPT_CLOSE_STDERR] = { "close-stderr", 'e', OPTA_NONE, OPTF_GLOBAL,
	    NULL, "closes stderr once started", NULL, NULL, 0, 0 },
	/* accepted for compatibility */
	[OPT_HIDDEN] = { "hidden", 'H', OPTA_NONE,
	    OPTF_GLOBAL | OPTF_IGNORED, NULL, "Windows only, ignored",
	    NULL, NULL, 0, 0 },
	[OPT_SHOW] = { "show", 0, OPTA_STR, OPTF_GLOBAL | OPTF_IGNORED,
	    "<style>", "Windows only, ignored", NULL, NULL, 0, 0 },
	[OPT_LOCALEDIR] = { "localedir", 0, OPTA_STR, OPTF_GLOBAL, "<dir>",
	    "accepted for compatibility, no effect", NULL, NULL, 0, 0 },
};

static const struct {
	enum opt_id	 first;
	const char	*title;
} groups[] = {
	{ OPT_AS_CLIENT,		"Basic options" },
	{ OPT_CLIENT_SMTP_CONFIG,	"SMTP client options" },
	{ OPT_PORT,			"SMTP server options" },
	{ OPT_POP,			"POP server options" },
	{ OPT_ADMIN,			"Admin server options" },
	{ OPT_CLIENT_AUTH,		"Authentication options" },
	{ OPT_CLIENT_TLS,		"TLS options" },
	{ OPT_DONT_SERVE,		"Process options" },
	{ OPT_LOG,			"Logging options" },
	{ OPT_HIDDEN,			"Compatibility options" },
};

static const char *const client_smtp_words[] = {
	"pipelining", "smtputf8strict", "eightbitstrict", "binarymimestrict",
	NULL
};
static const char *const server_smtp_words[] = {
	"pipelining", "chunking", "smtputf8", "smtputf8strict",
	"nostrictparsing", "noalabels", "proxy", NULL
};
static const char *const anonymous_words[] = {
	"vrfy", "server", "content", "client", NULL
};
/* Versions with an optional '-'; the library names select nothing here. */
static const char *const tls_words[] = {
	"tlsv1.0", "tlsv1.1", "tlsv1.2", "tlsv1.3", NULL
};
static const char *const tls_library_words[] = {
	"openssl", "mbedtls", NULL
};
static const char *const copy_words[] = {
	"nodelete", "pop", "hardlink", NULL
};
static const char *const deliver_words[] = {
	"hardlink", "nodelete", NULL
};
static const char *const split_words[] = { "raw", NULL };


/*
 * Small parsing helpers.
 */

/*
 * Next item of a list separated by any of seps, blanks around it removed.
 * Returns 0 at the end; items may be empty.
 */
static int
list_next(const char **pp, const char *seps, const char **item, size_t *len)
{
	const char	*p = *pp, *e;

	if (p == NULL)
		return (0);
	e = p + strcspn(p, seps);
	*pp = *e == '\0' ? NULL : e + 1;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*item = p;
	*len = (size_t)(e - p);
	return (1);
}

static int
word_in(const char *w, size_t len, const char *const *words)
{
	size_t	 i;

	for (i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == len && strncmp(w, words[i], len) == 0)
			return (1);
	return (0);
}

/* A comma list of known words, each with an optional + or - (signs). */
static const char *
check_words(const char *v, const char *const *words, int signs,
    const char *why)
{
	const char	*w;
	size_t		 len;

	while (list_next(&v, ",", &w, &len)) {
		if (signs && len > 0 && (*w == '+' || *w == '-')) {
			w++;
			len--;
		}
		if (!word_in(w, len, words))
			return (why);
	}
	return (NULL);
}

/* Options like "nodelete;pop" (';' or ',' separated, empty ones too). */
static const char *
check_flags(const char *v, const char *const *words)
{
	const char	*w;
	size_t		 len;

	while (list_next(&v, ";,", &w, &len))
		if (len > 0 && !word_in(w, len, words))
			return ("unknown built-in option");
	return (NULL);
}

static int
is_decimal(const char *p, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 18)
		return (0);
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)p[i]))
			return (0);
	return (1);
}

/* A decimal in [min, max]; *ok 0 when not. */
static long long
decimal(const char *p, size_t len, long long min, long long max, int *ok)
{
	long long	 v = 0;
	size_t		 i;
	int		 neg = 0;

	*ok = 0;
	if (len > 0 && *p == '-') {
		neg = 1;
		p++;
		len--;
	}
	if (!is_decimal(p, len))
		return (0);
	for (i = 0; i < len; i++)
		v = v * 10 + (p[i] - '0');
	if (neg)
		v = -v;
	if (v < min || v > max)
		return (0);
	*ok = 1;
	return (v);
}

/* An IP address, or an IP address with a port (a DNS server). */
static int
hostport_numeric(const char *p, size_t len)
{
	char		 buf[128];
	struct hostport	 hp;
	const char	*e;

	if (len == 0 || len >= sizeof(buf))
		return (0);
	memcpy(buf, p, len);
	buf[len] = '\0';
	if (netaddr_is_ip(buf))
		return (1);
	if (netaddr_parse_hostport(buf, 0, &hp, &e) == -1 || hp.is_unix)
		return (0);
	return (netaddr_is_ip(hp.host));
}

/* Base64, padded or not. */
static int
is_base64(const char *p, size_t len)
{
	size_t	 i, pad = 0;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++) {
		if (p[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			return (0);
		if (!isalnum((unsigned char)p[i]) && p[i] != '+' &&
		    p[i] != '/')
			return (0);
	}
	if (pad > 2)
		return (0);
	if (pad > 0)
		return (len % 4 == 0);
	return (len % 4 != 1);
}

/*
 * Whether v starts with a built-in prefix; *plen gets its length.  A
 * value is a built-in when it has a colon before any slash.
 */
static int
builtin_prefix(const char *v, size_t *plen)
{
	size_t	 n;

	n = strcspn(v, ":/");
	if (v[n] != ':')
		return (0);
	*plen = n + 1;
	return (1);
}

/*
 * Value checkers: NULL if good, else static text for the message.
 */

static const char *
check_path(const char *v)
{
	if (*v == '\0')
		return ("empty path");
	return (NULL);
}

static const char *
check_hostport(const char *v)
{
	struct hostport	 hp;
	const char	*e;

	if (netaddr_parse_hostport(v, 1, &hp, &e) == -1)
		return (e);
	return (NULL);
}

static const char *
check_client_smtp(const char *v)
{
	return (check_words(v, client_smtp_words, 1, "unknown keyword "
	    "(pipelining, smtputf8strict, eightbitstrict, binarymimestrict)"));
}

static const char *
check_server_smtp(const char *v)
{
	return (check_words(v, server_smtp_words, 1, "unknown keyword "
	    "(pipelining, chunking, smtputf8, smtputf8strict, "
	    "nostrictparsing, noalabels, proxy)"));
}

static const char *
check_poll_run(const char *v)
{
	size_t	 n;
	int	 ok;

	if (*v == '\0')
		return ("empty value");
	if (!builtin_prefix(v, &n))
		return (NULL);
	if (strncmp(v, "retry:", n) == 0 && n == 6) {
		if (v[n] == '\0')
			return (NULL);
		(void)decimal(v + n, strlen(v + n), 1, 1000000, &ok);
		return (ok ? NULL : "retry:<n> needs a count from 1");
	}
	if (strncmp(v, "file:", n) == 0 && n == 5)
		return (v[n] == '\0' ? "empty path" : NULL);
	return ("unknown built-in (retry: or a program)");
}

static const char *
check_filter(const char *v)
{
	const char	*r, *w;
	size_t		 n, len;
	int		 ok;

	if (*v == '\0')
		return ("empty value");
	if (!builtin_prefix(v, &n))
		return (NULL);
	r = v + n;
	if (n == 5 && strncmp(v, "exit:", 5) == 0) {
		(void)decimal(r, strlen(r), 0, 255, &ok);
		return (ok ? NULL : "exit:<n> needs a number from 0 to 255");
	}
	if ((n == 4 && strncmp(v, "net:", 4) == 0) ||
	    (n == 5 && strncmp(v, "spam:", 5) == 0) ||
	    (n == 10 && strncmp(v, "spam-edit:", 10) == 0)) {
		struct hostport	 hp;
		const char	*e;

		if (netaddr_parse_hostport(r, 0, &hp, &e) == -1)
			return (e);
		return (NULL);
	}
	if (n == 5 && strncmp(v, "copy:", 5) == 0)
		return (check_flags(r, copy_words));
	if (n == 8 && strncmp(v, "deliver:", 8) == 0)
		return (check_flags(r, deliver_words));
	if (n == 6 && strncmp(v, "split:", 6) == 0)
		return (check_flags(r, split_words));
	if (n == 6 && strncmp(v, "msgid:", 6) == 0)
		return (*r == '\0' ? NULL : "msgid: takes no options");
	if (n == 5 && strncmp(v, "file:", 5) == 0)
		return (*r == '\0' ? "empty path" : NULL);
	if (n == 3 && strncmp(v, "mx:", 3) == 0) {
		while (list_next(&r, ";,", &w, &len)) {
			if (len == 0)
				continue;
			if (len > 4 && strncmp(w, "nst=", 4) == 0) {
				(void)decimal(w + 4, len - 4, 0, CONF_TIMEMAX,
				    &ok);
				if (!ok)
					return ("invalid mx: nst= seconds");
			} else if (len > 3 && strncmp(w, "rt=", 3) == 0) {
				(void)decimal(w + 3, len - 3, 0, CONF_TIMEMAX,
				    &ok);
				if (!ok)
					return ("invalid mx: rt= seconds");
			} else if (!hostport_numeric(w, len))
				return ("invalid mx: option (nst=<s>, rt=<s> "
				    "or a DNS server address)");
		}
		return (NULL);
	}
	return ("unknown built-in filter");
}

static const char *
check_ip(const char *v)
{
	return (netaddr_is_ip(v) ? NULL : "not an IP address");
}

static const char *
check_verifier(const char *v)
{
	const char	*r, *w, *dash;
	size_t		 n, len;
	int		 ok;
	long long	 lo, hi;

	if (*v == '\0')
		return ("empty value");
	if (!builtin_prefix(v, &n))
		return (NULL);
	r = v + n;
	if (n == 4 && strncmp(v, "net:", 4) == 0) {
		struct hostport	 hp;
		const char	*e;

		if (netaddr_parse_hostport(r, 0, &hp, &e) == -1)
			return (e);
		return (NULL);
	}
	if (n == 5 && strncmp(v, "file:", 5) == 0)
		return (*r == '\0' ? "empty path" : NULL);
	if (n == 8 && strncmp(v, "account:", 8) == 0) {
		while (list_next(&r, ";,", &w, &len)) {
			if (len == 0 || word_in(w, len,
			    (const char *const []){ "lowercase", "check",
			    "remote", NULL }))
				continue;
			dash = memchr(w, '-', len);
			if (dash == NULL)
				return ("unknown account: option");
			lo = decimal(w, (size_t)(dash - w), 0, UINT32_MAX, &ok);
			if (!ok)
				return ("invalid account: uid range");
			hi = decimal(dash + 1, len - (size_t)(dash - w) - 1, 0,
			    UINT32_MAX, &ok);
			if (!ok || hi < lo)
				return ("invalid account: uid range");
		}
		return (NULL);
	}
	return ("unknown built-in verifier");
}

static const char *
check_anonymous(const char *v)
{
	return (check_words(v, anonymous_words, 0,
	    "unknown scope (vrfy, server, content, client)"));
}

/*
 * list[,threshold[,timeout-ms[,dns-server]]], or the legacy order
 * dns-server,timeout-ms,threshold,list (SPEC 6.6).
 */
static const char *
check_dnsbl(const char *v)
{
	const char	*f[64], *p = v;
	size_t		 fl[64], nf = 0, i, zones;
	int		 ok;

	while (list_next(&p, ",", &f[nf], &fl[nf])) {
		if (fl[nf] == 0)
			return ("empty field");
		if (++nf == 64)
			return ("too many fields");
	}
	if (nf >= 4 && hostport_numeric(f[0], fl[0]) &&
	    is_decimal(f[2], fl[2])) {
		(void)decimal(f[1], fl[1], -3600000, 3600000, &ok);
		if (!ok)
			return ("invalid timeout");
		(void)decimal(f[2], fl[2], 0, 1000, &ok);
		if (!ok)
			return ("invalid threshold");
		for (i = 3; i < nf; i++)
			if (!netaddr_valid_hostname(f[i], fl[i]))
				return ("invalid DNSBL zone");
		return (NULL);
	}
	for (zones = 0; zones < nf; zones++) {
		if (!netaddr_valid_hostname(f[zones], fl[zones]) ||
		    is_decimal(f[zones], fl[zones]) ||
		    hostport_numeric(f[zones], fl[zones]))
			break;
	}
	if (zones == 0)
		return ("no DNSBL zone");
	i = zones;
	if (i < nf) {
		(void)decimal(f[i], fl[i], 0, 1000, &ok);
		if (!ok)
			return ("invalid threshold");
		i++;
	}
	if (i < nf) {
		(void)decimal(f[i], fl[i], -3600000, 3600000, &ok);
		if (!ok)
			return ("invalid timeout");
		i++;
	}
	if (i < nf) {
		if (!hostport_numeric(f[i], fl[i]))
			return ("invalid DNS server address");
		i++;
	}
	if (i < nf)
		return ("too many fields");
	return (NULL);
}

static const char *
check_domain(const char *v)
{
	return (netaddr_valid_hostname(v, strlen(v)) ? NULL :
	    "not a domain name");
}

static const char *
check_iface(const char *v)
{
	struct iface_item	 items[BOUNDS_LISTENERS];
	size_t			 n;
	const char		*e;

	if (netaddr_parse_iface_list(v, items, BOUNDS_LISTENERS, &n,
	    &e) == -1)
		return (e);
	return (NULL);
}

static const char *
check_secrets(const char *v)
{
	if (*v == '\0')
		return ("empty path");
	if (strncmp(v, "pam:", 4) == 0 && v[4] != '\0')
		return ("pam: takes no service name");
	return (NULL);
}

static const char *
check_client_auth(const char *v)
{
	const char	*u, *c;

	if (*v == '\0')
		return ("empty path");
	if (strncmp(v, "plain:", 6) != 0)
		return (NULL);
	u = v + 6;
	if ((c = strchr(u, ':')) == NULL)
		return ("plain:<base64-user>:<base64-password> expected");
	if (!is_base64(u, (size_t)(c - u)) || !is_base64(c + 1, strlen(c + 1)))
		return ("plain: user and password must be base64");
	return (NULL);
}

static const char *
check_auth_config(const char *v)
{
	const char	*item, *w;
	size_t		 len, wl, i;
	const char	*p = v;

	while (list_next(&p, ";", &item, &len)) {
		if (len == 0)
			continue;
		if (len < 2 || item[1] != ':' ||
		    strchr("mxadMXAD", item[0]) == NULL)
			return ("items must be m:, x:, a: or d: lists");
		w = item + 2;
		len -= 2;
		/* Mechanism names separated by commas or blanks. */
		while (len > 0) {
			wl = 0;
			while (wl < len && w[wl] != ',' && w[wl] != ' ' &&
			    w[wl] != '\t')
				wl++;
			for (i = 0; i < wl; i++)
				if (!isalnum((unsigned char)w[i]) &&
				    w[i] != '-' && w[i] != '_')
					return ("invalid mechanism name");
			w += wl;
			len -= wl;
			if (len > 0) {
				w++;
				len--;
			}
		}
	}
	return (NULL);
}

static const char *
check_name(const char *v)
{
	for (; *v != '\0'; v++)
		if (isspace((unsigned char)*v))
			return ("white space in name");
	return (NULL);
}

static const char *
check_verify(const char *v)
{
	if (*v == '\0')
		return ("empty path");
	if (*v == '<' && strcmp(v, "<default>") != 0)
		return ("a CA file, a CA directory or <default> expected");
	return (NULL);
}

static const char *
check_tls_config(const char *v)
{
	const char	*w;
	size_t		 len;

	while (list_next(&v, ",", &w, &len)) {
		if (len == 0 || word_in(w, len, tls_library_words))
			continue;
		if (*w == '-') {
			w++;
			len--;
		}
		if (!word_in(w, len, tls_words))
			return ("unknown keyword (tlsv1.2, -tlsv1.3, ...)");
	}
	return (NULL);
}

static const char *
check_user(const char *v)
{
	size_t	 len = strlen(v);

	if (len == 0)
		return ("empty name");
	if (len > 255)
		return ("name too long");
	for (; *v != '\0'; v++)
		if (!isgraph((unsigned char)*v) || *v == ':' || *v == '/')
			return ("invalid character in name");
	return (NULL);
}

static const char *
check_log_format(const char *v)
{
	const char	*bad;

	if (strlen(v) > 256)
		return ("too long");
	if (log_parse_format(v, &bad) == -1)
		return ("unknown field (time, unit, address, port, msgid, "
		    "network)");
	return (NULL);
}

static const char *
check_facility(const char *v)
{
	return (log_facility(v) == -1 ? "unknown syslog facility" : NULL);
}

/*
 * Errors, memory.
 */

static int
seterr(char *err, size_t errsz, int kind, const char *where,
    const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (errsz > 0)
		(void)snprintf(err, errsz, "%s%s", where != NULL ? where : "",
		    msg);
	return (kind);
}

/* A value made safe and short for a message. */
static void
vis_value(char *dst, size_t dstsz, const char *v)
{
	size_t		 o = 0;
	unsigned char	 ch;
	int		 r;

	for (; *v != '\0' && o + 8 < dstsz; v++) {
		ch = (unsigned char)*v;
		if (o >= 120) {
			(void)strlcpy(dst + o, "...", dstsz - o);
			return;
		}
		if (ch == '"' || ch == '\\')
			r = snprintf(dst + o, dstsz - o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			r = snprintf(dst + o, dstsz - o, "\\x%02x", ch);
		else
			r = snprintf(dst + o, dstsz - o, "%c", ch);
		if (r < 0)
			break;
		o += (size_t)r;
	}
	dst[o] = '\0';
}

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	if ((p = reallocarray(p, n, size)) == NULL)
		fatal("options");
	return (p);
}

static char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("options");
	return (p);
}

/*
 * The table.
 */

const struct option_def *
option_def(enum opt_id id)
{
	if ((unsigned int)id >= OPT__COUNT)
		return (NULL);
	return (&options[id]);
}

const struct option_def *
option_find(const char *name, enum opt_id *id)
{
	int	 i;

	for (i = 0; i < OPT__COUNT; i++) {
		if (strcmp(options[i].name, name) == 0) {
			if (id != NULL)
				*id = (enum opt_id)i;
			return (&options[i]);
		}
	}
	return (NULL);
}

const struct option_def *
option_letter(int letter, enum opt_id *id)
{
	int	 i;

	if (letter == 0)
		return (NULL);
	for (i = 0; i < OPT__COUNT; i++) {
		if (options[i].letter == letter) {
			if (id != NULL)
				*id = (enum opt_id)i;
			return (&options[i]);
		}
	}
	return (NULL);
}

/*
 * Check one value for option id; display is the option as shown in the
 * message ("--in-port").  Returns CONF_OK (with *num for numbers and
 * periods) or CONF_EUSAGE with the text in msg.
 */
static int
conf_validate(enum opt_id id, const char *display, const char *value,
    long long *num, char *msg, size_t msgsz)
{
	const struct option_def	*d = &options[id];
	char			 vis[160];
	const char		*why, *p;
	long long		 v;
	int			 ok;

	*num = 0;
	if (d->kind == OPTA_NONE) {
		if (value != NULL)
			return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
			    "%s does not take a value", display));
		return (CONF_OK);
	}
	if (value == NULL) {
		if (d->kind == OPTA_OPTIONAL)
			return (CONF_OK);
		return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
		    "%s requires a value", display));
	}
	vis_value(vis, sizeof(vis), value);
	if (strlen(value) > CONF_VALUEMAX)
		return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
		    "invalid %s value: \"%s\": too long", display, vis));
	for (p = value; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
			    "invalid %s value: \"%s\": control character",
			    display, vis));
	switch (d->kind) {
	case OPTA_NUM:
		v = decimal(value, strlen(value), d->min, d->max, &ok);
		if (!ok && is_decimal(value, strlen(value)))
			return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
			    "invalid %s value: \"%s\": out of range "
			    "(%lld to %lld)", display, vis, d->min, d->max));
		if (!ok || *value == '-')
			return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
			    "invalid %s value: \"%s\"", display, vis));
		*num = v;
		return (CONF_OK);
	case OPTA_PERIOD:
		if ((v = netaddr_parse_period(value)) == -1)
			return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
			    "invalid %s period: \"%s\"", display, vis));
		*num = v;
		return (CONF_OK);
	default:
		if (*value == '\0')
			return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
			    "invalid %s value: \"\": empty value", display));
		if (d->check != NULL && (why = d->check(value)) != NULL)
			return (seterr(msg, msgsz, CONF_EUSAGE, NULL,
			    "invalid %s value: \"%s\": %s", display, vis,
			    why));
		return (CONF_OK);
	}
}

/* An instance name: [A-Za-z0-9_], shorter than BOUNDS_INSTNAME. */
static int
instname_valid(const char *p, size_t len)
{
	size_t	 i;

	if (len == 0 || len >= BOUNDS_INSTNAME)
		return (0);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_')
			return (0);
	return (1);
}

/* Whether name is the first word of an option name ("pop", "client"). */
static int
instname_reserved(const char *name)
{
	size_t	 i, n;

	for (i = 0; i < OPT__COUNT; i++) {
		n = strcspn(options[i].name, "-");
		if (strlen(name) == n &&
		    strncmp(options[i].name, name, n) == 0)
			return (1);
	}
	return (0);
}

/*
 * Find word (without dashes): a real option first, else
 * "<prefix>-<option>".  Returns 0 with *id and prefix set ("" for none),
 * 1 when the prefix is not a possible instance name (prefix holds as much
 * of it as fits), or -1 for an unknown option.
 */
static int
conf_lookup(const char *word, enum opt_id *id, char *prefix,
    size_t prefixsz)
{
	const char	*dash;
	size_t		 n;

	prefix[0] = '\0';
	if (option_find(word, id) != NULL)
		return (0);
	if ((dash = strchr(word, '-')) == NULL ||
	    option_find(dash + 1, id) == NULL)
		return (-1);
	n = (size_t)(dash - word);
	if (n >= prefixsz)
		n = prefixsz - 1;
	memcpy(prefix, word, n);
	prefix[n] = '\0';
	if (!instname_valid(word, (size_t)(dash - word)))
		return (1);
	return (0);
}

/*
 * Record one option occurrence.  word is the option as written (for a
 * later "invalid option" message), where the file and line or "".
 */
static int
conf_record(struct config *c, const char *prefix, enum opt_id id,
    const char *value, const char *word, const char *where, char *err,
    size_t errsz)
{
	struct confrec	*r;
	char		 display[128], msg[1024];
	long long	 num;

	(void)snprintf(display, sizeof(display), "--%s%s%s", prefix,
	    *prefix != '\0' ? "-" : "", options[id].name);
	if (conf_validate(id, display, value, &num, msg,
	    sizeof(msg)) != CONF_OK)
		return (seterr(err, errsz, CONF_EUSAGE, where, "%s", msg));
	if (*prefix != '\0' && id == OPT_SPOOL_DIR && instname_reserved(prefix))
		return (seterr(err, errsz, CONF_EUSAGE, where,
		    "invalid instance name \"%s\" in %s: it is the first word "
		    "of an option name", prefix, display));
	if (c->nrec >= CONF_MAXREC)
		return (seterr(err, errsz, CONF_EUSAGE, where,
		    "too many options"));
	c->rec = xreallocarray(c->rec, c->nrec + 1, sizeof(*c->rec));
	r = &c->rec[c->nrec++];
	memset(r, 0, sizeof(*r));
	(void)strlcpy(r->prefix, prefix, sizeof(r->prefix));
	r->id = id;
	r->value = value != NULL ? xstrdup(value) : NULL;
	r->word = xstrdup(word);
	r->where = xstrdup(where);
	return (CONF_OK);
}

/*
 * Configuration.
 */

void
config_init(struct config *c, const char *argv0)
{
	char		 buf[PATH_MAX], cwd[PATH_MAX], *slash;
	ssize_t		 n;

	memset(c, 0, sizeof(*c));
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
	} else if (argv0 != NULL && strchr(argv0, '/') != NULL) {
		if (argv0[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
			cwd[0] = '\0';
		if (snprintf(buf, sizeof(buf), "%s%s%s", cwd,
		    cwd[0] != '\0' ? "/" : "", argv0) >= (int)sizeof(buf))
			return;
	} else
		return;
	if ((slash = strrchr(buf, '/')) == NULL)
		return;
	if (slash == buf)
		slash++;
	*slash = '\0';
	c->appdir = xstrdup(buf);
}

static void
optval_clear(struct optval *ov)
{
	size_t	 i;

	free(ov->str);
	for (i = 0; i < ov->nlist; i++)
		free(ov->list[i]);
	free(ov->list);
	memset(ov, 0, sizeof(*ov));
}

static void
instconf_clear(struct instconf *ic)
{
	int	 i;

	for (i = 0; i < OPT__COUNT; i++)
		optval_clear(&ic->opt[i]);
	ic->name[0] = '\0';
}

static void
conf_free_records(struct config *c)
{
	size_t	 i;

	for (i = 0; i < c->nrec; i++) {
		free(c->rec[i].value);
		free(c->rec[i].word);
		free(c->rec[i].where);
	}
	free(c->rec);
	c->rec = NULL;
	c->nrec = 0;
}

void
config_free(struct config *c)
{
	size_t	 i;

	for (i = 0; i < BOUNDS_INSTANCES; i++)
		instconf_clear(&c->inst[i]);
	conf_free_records(c);
	for (i = 0; i < c->nwarn; i++)
		free(c->warn[i]);
	free(c->warn);
	free(c->file);
	free(c->appdir);
	memset(c, 0, sizeof(*c));
}

static int
argv_long(struct config *c, int argc, char **argv, int *i, char *err,
    size_t errsz)
{
	const struct option_def	*d;
	const char		*a = argv[*i] + 2, *eq, *value = NULL;
	char			 word[256], display[300], vis[160];
	char			 prefix[BOUNDS_INSTNAME];
	enum opt_id		 id;
	size_t			 n;
	int			 r;

	eq = strchr(a, '=');
	n = eq != NULL ? (size_t)(eq - a) : strlen(a);
	if (n >= sizeof(word))
		n = sizeof(word) - 1;
	memcpy(word, a, n);
	word[n] = '\0';
	(void)snprintf(display, sizeof(display), "--%s", word);
	if ((r = conf_lookup(word, &id, prefix, sizeof(prefix))) == -1 ||
	    (r == 1 && id != OPT_SPOOL_DIR)) {
		vis_value(vis, sizeof(vis), display);
		return (seterr(err, errsz, CONF_EOPTION, NULL,
		    "invalid option: \"%s\"", vis));
	}
	if (r == 1) {
		vis_value(vis, sizeof(vis), prefix);
		return (seterr(err, errsz, CONF_EUSAGE, NULL,
		    "invalid instance name \"%s\" in %s", vis, display));
	}
	d = &options[id];
	if (eq != NULL)
		value = eq + 1;
	else if (d->kind != OPTA_NONE && d->kind != OPTA_OPTIONAL) {
		if (*i + 1 >= argc)
			return (seterr(err, errsz, CONF_EUSAGE, NULL,
			    "%s requires a value", display));
		value = argv[++*i];
	}
	return (conf_record(c, prefix, id, value, display, "", err, errsz));
}

static int
argv_short(struct config *c, int argc, char **argv, int *i, char *err,
    size_t errsz)
{
	const struct option_def	*d;
	const char		*p, *value;
	char			 display[64], vis[16];
	enum opt_id		 id;
	int			 r;

	for (p = argv[*i] + 1; *p != '\0'; p++) {
		if ((d = option_letter((unsigned char)*p, &id)) == NULL) {
			(void)snprintf(display, sizeof(display), "-%c", *p);
			vis_value(vis, sizeof(vis), display);
			return (seterr(err, errsz, CONF_EOPTION, NULL,
			    "invalid option: \"%s\"", vis));
		}
		(void)snprintf(display, sizeof(display), "--%s", d->name);
		value = NULL;
		if (d->kind == OPTA_OPTIONAL) {
			if (p[1] != '\0')
				value = p + 1;
		} else if (d->kind != OPTA_NONE) {
			if (p[1] != '\0')
				value = p + 1;
			else if (*i + 1 < argc)
				value = argv[++*i];
			else
				return (seterr(err, errsz, CONF_EUSAGE, NULL,
				    "%s requires a value", display));
		}
		if ((r = conf_record(c, "", id, value, display, "", err,
		    errsz)) != CONF_OK)
			return (r);
		if (value != NULL)
			break;
	}
	return (CONF_OK);
}

int
config_argv(struct config *c, int argc, char **argv, char *err,
    size_t errsz)
{
	struct confrec	*tmp;
	const char	*a, *file = NULL;
	size_t		 first = c->nrec, nargv, nfile;
	int		 i, endopts = 0, r;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (!endopts && strcmp(a, "--") == 0) {
			endopts = 1;
			continue;
		}
		if (endopts || a[0] != '-' || a[1] == '\0') {
			if (file != NULL)
				return (seterr(err, errsz, CONF_EUSAGE, NULL,
				    "too many non-option arguments"));
			file = a;
			continue;
		}
		if (a[1] == '-')
			r = argv_long(c, argc, argv, &i, err, errsz);
		else
			r = argv_short(c, argc, argv, &i, err, errsz);
		if (r != CONF_OK)
			return (r);
	}
	if (file == NULL)
		return (conf_build(c, err, errsz));
	nargv = c->nrec - first;
	if ((r = config_file(c, file, err, errsz)) != CONF_OK)
		return (r);
	/* The file's options go first: the command line overrides. */
	nfile = c->nrec - first - nargv;
	if (nargv > 0 && nfile > 0) {
		tmp = xreallocarray(NULL, nargv, sizeof(*tmp));
		memcpy(tmp, c->rec + first, nargv * sizeof(*tmp));
		memmove(c->rec + first, c->rec + first + nargv,
		    nfile * sizeof(*tmp));
		memcpy(c->rec + first + nfile, tmp, nargv * sizeof(*tmp));
		free(tmp);
	}
	return (conf_build(c, err, errsz));
}

int
config_file(struct config *c, const char *path, char *err, size_t errsz)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 linesz = 0;
	ssize_t	 len;
	int	 lineno = 0, r = CONF_OK;

	if ((fp = fopen(path, "r")) == NULL)
		return (seterr(err, errsz, CONF_EOTHER, NULL,
		    "cannot open configuration file: %s: %s", path,
		    strerror(errno)));
	while ((len = getline(&line, &linesz, fp)) != -1) {
		lineno++;
		if ((size_t)len != strlen(line)) {
			r = seterr(err, errsz, CONF_EUSAGE, NULL,
			    "%s:%d: invalid character", path, lineno);
			break;
		}
		/* A UTF-8 byte-order mark on the first line. */
		if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
			memmove(line, line + 3, (size_t)len - 2);
		if ((r = config_line(c, line, path, lineno, err,
		    errsz)) != CONF_OK)
			break;
	}
	if (r == CONF_OK && ferror(fp))
		r = seterr(err, errsz, CONF_EOTHER, NULL,
		    "cannot read configuration file: %s: %s", path,
		    strerror(errno));
	free(line);
	fclose(fp);
	if (r == CONF_OK && c->file == NULL)
		c->file = xstrdup(path);
	return (r);
}

int
config_line(struct config *c, const char *line, const char *file,
    int lineno, char *err, size_t errsz)
{
	char			 where[300], name[256], value[CONF_LINEMAX + 1];
	char			 prefix[BOUNDS_INSTNAME], vis[160];
	const char		*p, *e, *v;
	enum opt_id		 id;
	size_t			 len, n;
	int			 r;

	(void)snprintf(where, sizeof(where), "%s:%d: ",
	    file != NULL ? file : "-", lineno);
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > CONF_LINEMAX)
		return (seterr(err, errsz, CONF_EUSAGE, where,
		    "line too long"));
	for (n = 0; n < len; n++)
		if (((unsigned char)line[n] < 0x20 && line[n] != '\t') ||
		    line[n] == 0x7f)
			return (seterr(err, errsz, CONF_EUSAGE, where,
			    "invalid character"));
	p = line;
	e = line + len;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p == e || *p == '#')
		return (CONF_OK);
	n = strcspn(p, " \t");
	if (p + n > e)
		n = (size_t)(e - p);
	if (n >= sizeof(name)) {
		vis_value(vis, sizeof(vis), p);
		return (seterr(err, errsz, CONF_EOPTION, where,
		    "invalid option: \"%s\"", vis));
	}
	memcpy(name, p, n);
	name[n] = '\0';
	p += n;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	v = p < e ? value : NULL;
	/* A value in double quotes loses them. */
	if (e - p >= 2 && *p == '"' && e[-1] == '"') {
		p++;
		e--;
	}
	memcpy(value, p, (size_t)(e - p));
	value[e - p] = '\0';
	if ((r = conf_lookup(name, &id, prefix, sizeof(prefix))) == -1 ||
	    (r == 1 && id != OPT_SPOOL_DIR)) {
		vis_value(vis, sizeof(vis), name);
		return (seterr(err, errsz, CONF_EOPTION, where,
		    "invalid option: \"%s\"", vis));
	}
	if (r == 1) {
		vis_value(vis, sizeof(vis), prefix);
		return (seterr(err, errsz, CONF_EUSAGE, where,
		    "invalid instance name \"%s\" in --%s", vis, name));
	}
	return (conf_record(c, prefix, id, v, name, where, err, errsz));
}

/*
 * Store value (already checked or to be checked here) in instance k.
 */
static int
conf_store(struct config *c, size_t k, enum opt_id id, const char *value,
    char *err, size_t errsz)
{
	const struct option_def	*d = &options[id];
	struct optval		*ov = &c->inst[k].opt[id];
	char			 display[64], numbuf[32], msg[1024];
	const char		*w, *p;
	long long		 num;
	size_t			 len;
	char			*item;

	(void)snprintf(display, sizeof(display), "--%s", d->name);
	if (conf_validate(id, display, value, &num, msg,
	    sizeof(msg)) != CONF_OK)
		return (seterr(err, errsz, CONF_EUSAGE, NULL, "%s", msg));
	if (d->kind == OPTA_NUM) {
		(void)snprintf(numbuf, sizeof(numbuf), "%lld", num);
		value = numbuf;
	}
	ov->set = 1;
	ov->num = num;
	free(ov->str);
	ov->str = value != NULL ? xstrdup(value) : NULL;
	if ((d->flags & OPTF_REPEAT) == 0)
		return (CONF_OK);
	/* --interface lists are kept item by item. */
	p = value;
	for (;;) {
		if (id == OPT_INTERFACE) {
			if (!list_next(&p, ",", &w, &len))
				break;
		} else {
			if (p == NULL)
				break;
			w = p;
			len = strlen(p);
			p = NULL;
		}
		if (ov->nlist >= CONF_MAXLIST)
			return (seterr(err, errsz, CONF_EUSAGE, NULL,
			    "too many %s values", display));
		if ((item = strndup(w, len)) == NULL)
			fatal("options");
		ov->list = xreallocarray(ov->list, ov->nlist + 1,
		    sizeof(*ov->list));
		ov->list[ov->nlist++] = item;
	}
	return (CONF_OK);
}

static void
conf_warn(struct config *c, const char *fmt, ...)
{
	char	*s;
	size_t	 i;
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r == -1)
		fatal("options");
	for (i = 0; i < c->nwarn; i++) {
		if (strcmp(c->warn[i], s) == 0) {
			free(s);
			return;
		}
	}
	c->warn = xreallocarray(c->warn, c->nwarn + 1, sizeof(*c->warn));
	c->warn[c->nwarn++] = s;
}

/* An option implied by another: process-wide ones only for inst[0]. */
static int
conf_imply(struct config *c, size_t k, enum opt_id id, const char *value,
    char *err, size_t errsz)
{
	if ((options[id].flags & OPTF_GLOBAL) && k != 0)
		return (CONF_OK);
	return (conf_store(c, k, id, value, err, errsz));
}

/* Store one recorded option and what it implies. */
static int
conf_apply(struct config *c, size_t k, enum opt_id id, const char *value,
    char *err, size_t errsz)
{
	int	 r;

	if ((r = conf_store(c, k, id, value, err, errsz)) != CONF_OK)
		return (r);
	if (options[id].flags & OPTF_IGNORED)
		conf_warn(c, "--%s: ignored on this platform",
		    options[id].name);
	switch (id) {
	case OPT_AS_CLIENT:
		if ((r = conf_imply(c, k, OPT_LOG, NULL, err, errsz)) ||
		    (r = conf_imply(c, k, OPT_NO_SYSLOG, NULL, err, errsz)) ||
		    (r = conf_imply(c, k, OPT_NO_DAEMON, NULL, err, errsz)) ||
		    (r = conf_imply(c, k, OPT_DONT_SERVE, NULL, err, errsz)) ||
		    (r = conf_imply(c, k, OPT_FORWARD, NULL, err, errsz)))
			return (r);
		return (conf_imply(c, k, OPT_FORWARD_TO, value, err, errsz));
	case OPT_AS_PROXY:
		if ((r = conf_imply(c, k, OPT_LOG, NULL, err, errsz)) ||
		    (r = conf_imply(c, k, OPT_CLOSE_STDERR, NULL, err,
		    errsz)) ||
		    (r = conf_imply(c, k, OPT_FORWARD_ON_DISCONNECT, NULL,
		    err, errsz)))
			return (r);
		return (conf_imply(c, k, OPT_FORWARD_TO, value, err, errsz));
	case OPT_AS_SERVER:
		if ((r = conf_imply(c, k, OPT_LOG, NULL, err, errsz)))
			return (r);
		return (conf_imply(c, k, OPT_CLOSE_STDERR, NULL, err, errsz));
	default:
		return (CONF_OK);
	}
}

/*
 * Decide the instances and apply all the records in order, from scratch
 * (the records stay, so this may run again after more input).
 */
static int
conf_build(struct config *c, char *err, size_t errsz)
{
	struct confrec	*r;
	size_t		 i, j, k;
	int		 unnamed = 0, ret;

	for (i = 0; i < BOUNDS_INSTANCES; i++)
		instconf_clear(&c->inst[i]);
	c->ninst = 0;
	for (i = 0; i < c->nwarn; i++)
		free(c->warn[i]);
	c->nwarn = 0;
	for (i = 0; i < c->nrec; i++)
		if (c->rec[i].id == OPT_SPOOL_DIR &&
		    c->rec[i].prefix[0] == '\0')
			unnamed = 1;
	if (unnamed)
		c->ninst = 1;
	for (i = 0; i < c->nrec; i++) {
		r = &c->rec[i];
		if (r->id != OPT_SPOOL_DIR || r->prefix[0] == '\0')
			continue;
		for (j = 0; j < c->ninst; j++)
			if (strcmp(c->inst[j].name, r->prefix) == 0)
				break;
		if (j < c->ninst)
			continue;
		if (c->ninst == BOUNDS_INSTANCES)
			return (seterr(err, errsz, CONF_EUSAGE, r->where,
			    "too many instances (at most %d)",
			    BOUNDS_INSTANCES));
		(void)strlcpy(c->inst[c->ninst].name, r->prefix,
		    sizeof(c->inst[c->ninst].name));
		c->ninst++;
	}
	if (c->ninst == 0)
		c->ninst = 1;
	for (i = 0; i < c->nrec; i++) {
		r = &c->rec[i];
		k = 0;
		if (r->prefix[0] != '\0') {
			for (k = 0; k < c->ninst; k++)
				if (strcmp(c->inst[k].name, r->prefix) == 0)
					break;
			if (k == c->ninst)
				return (seterr(err, errsz, CONF_EOPTION,
				    r->where, "invalid option: \"%s\"",
				    r->word));
		}
		if ((options[r->id].flags & OPTF_GLOBAL) && k != 0) {
			conf_warn(c, "option ignored: \"--%s-%s\": "
			    "process-wide options apply to the first "
			    "instance only", r->prefix, options[r->id].name);
			continue;
		}
		if ((ret = conf_apply(c, k, r->id, r->value, err,
		    errsz)) != CONF_OK) {
			/* Already checked when recorded: add the place. */
			char	 msg[1024];

			(void)strlcpy(msg, err, sizeof(msg));
			return (seterr(err, errsz, ret, r->where, "%s", msg));
		}
	}
	return (CONF_OK);
}

/*
 * --log-time and --log-address add their field to inst[0]'s --log-format,
 * which is then rewritten in the canonical order.
 */
static void
conf_merge_format(struct config *c, int add)
{
	static const struct {
		const char	*name;
		int		 flag;
	} fields[] = {
		{ "time", LOGF_TIME }, { "unit", LOGF_UNIT },
		{ "address", LOGF_ADDRESS }, { "port", LOGF_PORT },
		{ "msgid", LOGF_MSGID }, { "network", LOGF_NETWORK },
	};
	struct optval	*ov = &c->inst[0].opt[OPT_LOG_FORMAT];
	char		 buf[128];
	size_t		 i;
	int		 flags;

	if ((flags = log_parse_format(ov->str, NULL)) == -1)
		return;
	flags |= add;
	buf[0] = '\0';
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if ((flags & fields[i].flag) == 0)
			continue;
		if (buf[0] != '\0')
			(void)strlcat(buf, ",", sizeof(buf));
		(void)strlcat(buf, fields[i].name, sizeof(buf));
	}
	free(ov->str);
	ov->str = xstrdup(buf);
	ov->set = 1;
}

/* "@app" at the start of a path becomes the executable's directory. */
static char *
conf_expand(const struct config *c, char *s)
{
	char	*n;

	if (s == NULL || c->appdir == NULL || strncmp(s, "@app", 4) != 0 ||
	    (s[4] != '\0' && s[4] != '/'))
		return (s);
	if (asprintf(&n, "%s%s", c->appdir, s + 4) == -1)
		fatal("options");
	free(s);
	return (n);
}

static void
conf_expand_all(struct config *c)
{
	struct optval	*ov;
	size_t		 k, j;
	int		 id;

	for (k = 0; k < c->ninst; k++) {
		for (id = 0; id < OPT__COUNT; id++) {
			if ((options[id].flags & OPTF_FILE) == 0)
				continue;
			ov = &c->inst[k].opt[id];
			ov->str = conf_expand(c, ov->str);
			for (j = 0; j < ov->nlist; j++)
				ov->list[j] = conf_expand(c, ov->list[j]);
		}
	}
}

/* "--out-forward-to" for instance k. */
static void
optdisplay(const struct config *c, size_t k, enum opt_id id, char *buf,
    size_t bufsz)
{
	const char	*name = c->inst[k].name;

	(void)snprintf(buf, bufsz, "--%s%s%s", name, *name != '\0' ? "-" : "",
	    options[id].name);
}

/* Options that cannot be combined, within instance k. */
static int
conf_combinations(const struct config *c, size_t k, char *err, size_t errsz)
{
	static const enum opt_id	 conflicts[][2] = {
		{ OPT_AS_CLIENT, OPT_AS_PROXY },
		{ OPT_AS_CLIENT, OPT_AS_SERVER },
		{ OPT_AS_PROXY, OPT_AS_SERVER },
		{ OPT_FORWARD_TO_ALL, OPT_FORWARD_TO_SOME },
		{ OPT_CLIENT_TLS, OPT_CLIENT_TLS_CONNECTION },
		{ OPT_SERVER_TLS, OPT_SERVER_TLS_CONNECTION },
	};
	const struct instconf	*ic = &c->inst[k];
	char			 a[128], b[128];
	size_t			 i;

	for (i = 0; i < sizeof(conflicts) / sizeof(conflicts[0]); i++) {
		if (!conf_bool(ic, conflicts[i][0]) ||
		    !conf_bool(ic, conflicts[i][1]))
			continue;
		optdisplay(c, k, conflicts[i][0], a, sizeof(a));
		optdisplay(c, k, conflicts[i][1], b, sizeof(b));
		return (seterr(err, errsz, CONF_EUSAGE, NULL,
		    "conflicting options: %s and %s", a, b));
	}
	if (conf_bool(ic, OPT_SERVER_TLS_REQUIRED) &&
	    !conf_bool(ic, OPT_SERVER_TLS) &&
	    !conf_bool(ic, OPT_SERVER_TLS_CONNECTION)) {
		optdisplay(c, k, OPT_SERVER_TLS_REQUIRED, a, sizeof(a));
		return (seterr(err, errsz, CONF_EUSAGE, NULL,
		    "%s needs --server-tls or --server-tls-connection", a));
	}
	if ((conf_bool(ic, OPT_SERVER_TLS) ||
	    conf_bool(ic, OPT_SERVER_TLS_CONNECTION)) &&
	    !conf_bool(ic, OPT_SERVER_TLS_CERTIFICATE)) {
		optdisplay(c, k, conf_bool(ic, OPT_SERVER_TLS) ?
		    OPT_SERVER_TLS : OPT_SERVER_TLS_CONNECTION, a, sizeof(a));
		return (seterr(err, errsz, CONF_EUSAGE, NULL,
		    "%s needs --server-tls-certificate", a));
	}
	if (ic->opt[OPT_SERVER_TLS_CERTIFICATE].nlist > 2 ||
	    ic->opt[OPT_CLIENT_TLS_CERTIFICATE].nlist > 2) {
		optdisplay(c, k,
		    ic->opt[OPT_SERVER_TLS_CERTIFICATE].nlist > 2 ?
		    OPT_SERVER_TLS_CERTIFICATE : OPT_CLIENT_TLS_CERTIFICATE,
		    a, sizeof(a));
		return (seterr(err, errsz, CONF_EUSAGE, NULL,
		    "%s given more than twice (key file, certificate file)",
		    a));
	}
	if (conf_bool(ic, OPT_POLL_RUN) && !conf_bool(ic, OPT_POLL)) {
		optdisplay(c, k, OPT_POLL_RUN, a, sizeof(a));
		optdisplay(c, k, OPT_POLL, b, sizeof(b));
		return (seterr(err, errsz, CONF_EUSAGE, NULL,
		    "%s needs %s", a, b));
	}
	return (CONF_OK);
}

int
config_resolve(struct config *c, char *err, size_t errsz)
{
	const struct instconf	*g;
	const struct optval	*ov;
	const char		*s;
	char			 a[128];
	size_t			 k, j;
	int			 id, r;

	if (c->nrec > 0 || c->ninst == 0) {
		if ((r = conf_build(c, err, errsz)) != CONF_OK)
			return (r);
	}
	g = conf_global(c);
	if (conf_bool(g, OPT_LOG_TIME) || conf_bool(g, OPT_LOG_ADDRESS))
		conf_merge_format(c, (conf_bool(g, OPT_LOG_TIME) ? LOGF_TIME :
		    0) | (conf_bool(g, OPT_LOG_ADDRESS) ? LOGF_ADDRESS : 0));
	conf_expand_all(c);
	for (k = 0; k < c->ninst; k++) {
		if (!conf_bool(&c->inst[k], OPT_SPOOL_DIR) &&
		    (r = conf_store(c, k, OPT_SPOOL_DIR,
		    options[OPT_SPOOL_DIR].dflt, err, errsz)) != CONF_OK)
			return (r);
	}
	if (conf_bool(g, OPT_HELP) || conf_bool(g, OPT_VERSION))
		return (CONF_OK);
	for (k = 0; k < c->ninst; k++) {
		if ((r = conf_combinations(c, k, err, errsz)) != CONF_OK)
			return (r);
		for (id = 0; id < OPT__COUNT; id++) {
			if ((options[id].flags & OPTF_FILE) == 0)
				continue;
			ov = &c->inst[k].opt[id];
			for (j = 0; j <= ov->nlist; j++) {
				s = j < ov->nlist ? ov->list[j] : ov->str;
				if (s == NULL || strlen(s) < PATH_MAX)
					continue;
				optdisplay(c, k, id, a, sizeof(a));
				return (seterr(err, errsz, CONF_EUSAGE, NULL,
				    "invalid %s value: path too long", a));
			}
		}
	}
	s = conf_str(g, OPT_CONTROL_SOCKET);
	if (strlen(s) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return (seterr(err, errsz, CONF_EUSAGE, NULL,
		    "invalid --control-socket value: path too long"));
	return (CONF_OK);
}

/* A value config_pending() refuses: "invalid --x value: "v": why". */
static int
pending_bad(const struct config *c, size_t k, enum opt_id id,
    const char *v, const char *why, char *err, size_t errsz)
{
	char	 display[64], vis[256];

	optdisplay(c, k, id, display, sizeof(display));
	vis_value(vis, sizeof(vis), v);
	return (seterr(err, errsz, CONF_EUSAGE, NULL,
	    "invalid %s value: \"%s\": %s", display, vis, why));
}

int
config_pending(const struct config *c, char *err, size_t errsz)
{
	const char			*e;
	size_t				 k, i;
	int				 id;

	if (conf_bool(conf_global(c), OPT_HELP) ||
	    conf_bool(conf_global(c), OPT_VERSION))
		return (CONF_OK);
	for (id = 0; id < OPT__COUNT; id++) {
		if ((options[id].flags & OPTF_PENDING) == 0)
			continue;
		for (k = 0; k < c->ninst; k++)
			if (conf_bool(&c->inst[k], id))
				return (seterr(err, errsz, CONF_EUSAGE, NULL,
				    "--%s: not supported yet",
				    options[id].name));
	}
	/*
	 * Every built-in filter runs: exit:, copy:, deliver:, split: and
	 * msgid: in queue, net:, spam:, spam-edit: and mx: in lookup.  The
	 * values lookup parses again are checked with its own parsers
	 * (common/lookupconf.c), so that it never meets one it refuses.
	 */
	for (k = 0; k < c->ninst * 2; k++) {
		const struct optval	*ov;
		struct mx_conf		 mc;

		id = k % 2 ? OPT_CLIENT_FILTER : OPT_FILTER;
		ov = &c->inst[k / 2].opt[id];
		for (i = 0; ov->set && i < ov->nlist; i++) {
			if (strncmp(ov->list[i], "mx:", 3) != 0 ||
			    mx_parse_options(ov->list[i] + 3, &mc, &e) == 0)
				continue;
			return (pending_bad(c, k / 2, id, ov->list[i], e, err,
			    errsz));
		}
	}
	/* Verifier programs, net: and account: run (lookup). */
	for (k = 0; k < c->ninst; k++) {
		struct account_conf	 ac;
		const char		*v;
		char			 why[256];

		if (!conf_bool(&c->inst[k], OPT_ADDRESS_VERIFIER) ||
		    (v = conf_str(&c->inst[k], OPT_ADDRESS_VERIFIER)) == NULL ||
		    strncmp(v, "account:", 8) != 0 ||
		    account_parse(v + 8, &ac, why, sizeof(why)) == 0)
			continue;
		return (pending_bad(c, k, OPT_ADDRESS_VERIFIER, v, why, err,
		    errsz));
	}
	/* --dnsbl, with the parser of the lookup process. */
	for (k = 0; k < c->ninst; k++) {
		struct dnsbl_conf	*bl;
		const char		*v;
		int			 r;

		if (!conf_bool(&c->inst[k], OPT_DNSBL) ||
		    (v = conf_str(&c->inst[k], OPT_DNSBL)) == NULL)
			continue;
		if ((bl = malloc(sizeof(*bl))) == NULL)
			return (seterr(err, errsz, CONF_EUSAGE, NULL,
			    "out of memory"));
		r = dnsbl_conf_parse(v, bl, &e);
		free(bl);
		if (r == -1)
			return (pending_bad(c, k, OPT_DNSBL, v, e, err,
			    errsz));
	}
	/* The PROXY protocol is a word of a list, not an option. */
	for (k = 0; k < c->ninst; k++) {
		const char	*v, *w;
		size_t		 n;

		if ((v = conf_str(&c->inst[k], OPT_SERVER_SMTP_CONFIG)) == NULL)
			continue;
		for (w = v; *w != '\0'; w += n) {
			w += strspn(w, ", ");
			n = strcspn(w, ",");
			if ((n == 5 && strncmp(w, "proxy", 5) == 0) ||
			    (n == 6 && strncmp(w, "+proxy", 6) == 0))
				return (seterr(err, errsz, CONF_EUSAGE, NULL,
				    "--server-smtp-config: proxy: not "
				    "supported yet"));
		}
	}
	return (CONF_OK);
}

int
config_finish(struct config *c, char *err, size_t errsz)
{
	int	 r;

	if ((r = config_resolve(c, err, errsz)) != CONF_OK)
		return (r);
	return (config_pending(c, err, errsz));
}

int
config_set(struct config *c, size_t inst, const char *instname,
    enum opt_id id, const char *value, char *err, size_t errsz)
{
	char		 display[64], msg[1024];
	long long	 num;

	if ((unsigned int)id >= OPT__COUNT)
		return (seterr(err, errsz, CONF_EOTHER, NULL,
		    "unknown option %d", (int)id));
	if (inst > c->ninst || inst >= BOUNDS_INSTANCES)
		return (seterr(err, errsz, CONF_EOTHER, NULL,
		    "no such instance: %zu", inst));
	(void)snprintf(display, sizeof(display), "--%s", options[id].name);
	if (conf_validate(id, display, value, &num, msg,
	    sizeof(msg)) != CONF_OK)
		return (seterr(err, errsz, CONF_EUSAGE, NULL, "%s", msg));
	if (inst == c->ninst) {
		if (instname == NULL)
			instname = "";
		if (strlcpy(c->inst[inst].name, instname,
		    sizeof(c->inst[inst].name)) >= sizeof(c->inst[inst].name))
			return (seterr(err, errsz, CONF_EOTHER, NULL,
			    "instance name too long"));
		c->ninst++;
	}
	return (conf_store(c, inst, id, value, err, errsz));
}

void
config_foreach(const struct config *c,
    void (*fn)(void *, size_t, enum opt_id, const char *), void *arg)
{
	const struct optval	*ov;
	size_t			 k, j;
	int			 id;

	for (k = 0; k < c->ninst; k++) {
		for (id = 0; id < OPT__COUNT; id++) {
			ov = &c->inst[k].opt[id];
			if (!ov->set)
				continue;
			if (options[id].flags & OPTF_REPEAT) {
				for (j = 0; j < ov->nlist; j++)
					fn(arg, k, id, ov->list[j]);
			} else
				fn(arg, k, id, ov->str);
		}
	}
}

/*
 * Accessors.
 */

int
conf_bool(const struct instconf *ic, enum opt_id id)
{
	return (ic->opt[id].set != 0);
}

const char *
conf_str(const struct instconf *ic, enum opt_id id)
{
	if (ic->opt[id].set)
		return (ic->opt[id].str);
	return (options[id].dflt);
}

long long
conf_num(const struct instconf *ic, enum opt_id id)
{
	const char	*d;
	int		 ok;

	if (ic->opt[id].set)
		return (ic->opt[id].num);
	if ((d = options[id].dflt) == NULL)
		return (0);
	if (options[id].kind == OPTA_PERIOD)
		return (netaddr_parse_period(d));
	return (decimal(d, strlen(d), LLONG_MIN, LLONG_MAX, &ok));
}

/*
 * --help.
 */

static void
help_entry(FILE *fp, enum opt_id id)
{
	const struct option_def	*d = &options[id];
	char			 left[128];

	if (d->kind == OPTA_OPTIONAL)
		(void)snprintf(left, sizeof(left), "%c%c%s--%s[=%s]",
		    d->letter != 0 ? '-' : ' ', d->letter != 0 ? d->letter :
		    ' ', d->letter != 0 ? ", " : "  ", d->name, d->argname);
	else
		(void)snprintf(left, sizeof(left), "%c%c%s--%s%s%s",
		    d->letter != 0 ? '-' : ' ', d->letter != 0 ? d->letter :
		    ' ', d->letter != 0 ? ", " : "  ", d->name,
		    d->argname != NULL ? " " : "",
		    d->argname != NULL ? d->argname : "");
	if (strlen(left) < 36)
		fprintf(fp, "  %-36s %s\n", left, d->help);
	else
		fprintf(fp, "  %s\n  %-36s %s\n", left, "", d->help);
}

void
options_help(FILE *fp, int verbose)
{
	size_t	 g;
	int	 id;

	fprintf(fp, "usage: emailrelay [<option> [<option> ...]] "
	    "[<config-file>]\n");
	if (!verbose) {
		fprintf(fp, "\n");
		for (id = 0; id < OPT__COUNT; id++)
			if (options[id].flags & OPTF_BASIC)
				help_entry(fp, id);
		fprintf(fp, "\nFor complete usage information run "
		    "\"emailrelay --help --verbose\"\n");
		return;
	}
	for (g = 0, id = 0; id < OPT__COUNT; id++) {
		if (g < sizeof(groups) / sizeof(groups[0]) &&
		    groups[g].first == (enum opt_id)id)
			fprintf(fp, "\n%s\n", groups[g++].title);
		help_entry(fp, id);
	}
	fprintf(fp, "\nA configuration file has one option per line, "
	    "without the dashes.\n");
}
