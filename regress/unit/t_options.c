/*
 * Unit tests for common/options.c: the table, the command line, the
 * configuration file, instances, implied options, value checks, pending
 * options, the parent-to-child round trip and --help.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "t.h"

#define ARGS(...)	((const char *[]){ "emailrelay", __VA_ARGS__, NULL })

static int	 parse(struct config *, const char **, char *, size_t);
static int	 run(const char **, char *, size_t);
static int	 run_resolve(const char **, char *, size_t);
static char	*tmpconf(const char *);
static int	 value_ok(enum opt_id, const char *);
static void	 copy_one(void *, size_t, enum opt_id, const char *);
static int	 same_config(const struct config *, const struct config *);

struct copyarg {
	const struct config	*src;
	struct config		*dst;
	int			 fails;
};

static char	 tmpname[1024];

/* config_init + config_argv on a NULL-terminated list. */
static int
parse(struct config *c, const char **args, char *err, size_t errsz)
{
	int	 argc = 0;

	while (args[argc] != NULL)
		argc++;
	config_init(c, args[0]);
	free(c->appdir);
	c->appdir = strdup("/opt/er");
	err[0] = '\0';
	return (config_argv(c, argc, (char **)args, err, errsz));
}

/* Parse and finish; the config is freed. */
static int
run(const char **args, char *err, size_t errsz)
{
	struct config	 c;
	int		 r;

	if ((r = parse(&c, args, err, errsz)) == CONF_OK)
		r = config_finish(&c, err, errsz);
	config_free(&c);
	return (r);
}

/* Parse and resolve (no pending check); the config is freed. */
static int
run_resolve(const char **args, char *err, size_t errsz)
{
	struct config	 c;
	int		 r;

	if ((r = parse(&c, args, err, errsz)) == CONF_OK)
		r = config_resolve(&c, err, errsz);
	config_free(&c);
	return (r);
}

/* Write text to a new temporary file; returns its name (static). */
static char *
tmpconf(const char *text)
{
	const char	*dir;
	int		 fd, r;

	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	r = snprintf(tmpname, sizeof(tmpname), "%s/t_options.XXXXXX", dir);
	if (r < 0 || (size_t)r >= sizeof(tmpname))
		return (NULL);
	if ((fd = mkstemp(tmpname)) == -1)
		return (NULL);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return (NULL);
	}
	close(fd);
	return (tmpname);
}

/* Whether config_set() accepts value for id. */
static int
value_ok(enum opt_id id, const char *value)
{
	struct config	 c;
	char		 err[1024];
	int		 r;

	config_init(&c, NULL);
	r = config_set(&c, 0, "", id, value, err, sizeof(err));
	config_free(&c);
	return (r == CONF_OK);
}

static void
copy_one(void *arg, size_t inst, enum opt_id id, const char *value)
{
	struct copyarg	*ca = arg;
	char		 err[1024];

	if (config_set(ca->dst, inst, ca->src->inst[inst].name, id, value,
	    err, sizeof(err)) != CONF_OK) {
		printf("copy: %s\n", err);
		ca->fails++;
	}
}

static int
same_config(const struct config *a, const struct config *b)
{
	const struct optval	*x, *y;
	size_t			 k, j;
	int			 id;

	if (a->ninst != b->ninst)
		return (0);
	for (k = 0; k < a->ninst; k++) {
		if (strcmp(a->inst[k].name, b->inst[k].name) != 0)
			return (0);
		for (id = 0; id < OPT__COUNT; id++) {
			x = &a->inst[k].opt[id];
			y = &b->inst[k].opt[id];
			if (x->set != y->set || x->num != y->num ||
			    x->nlist != y->nlist)
				return (0);
			if ((x->str == NULL) != (y->str == NULL) ||
			    (x->str != NULL && strcmp(x->str, y->str) != 0))
				return (0);
			for (j = 0; j < x->nlist; j++)
				if (strcmp(x->list[j], y->list[j]) != 0)
					return (0);
		}
	}
	return (1);
}

/*
 * The table.
 */

TEST(options_table_complete)
{
	const struct option_def	*d, *e;
	enum opt_id		 id;
	int			 i, j;

	for (i = 0; i < OPT__COUNT; i++) {
		d = option_def(i);
		T_ASSERT(d != NULL && d->name != NULL);
		T_ASSERT(d->help != NULL && d->help[0] != '\0');
		T_ASSERT(strchr(d->help, '\n') == NULL);
		T_ASSERT(option_find(d->name, &id) == d);
		T_EQ_INT(id, i);
		if (d->kind != OPTA_NONE)
			T_ASSERT(d->argname != NULL);
		if (d->letter != 0) {
			T_ASSERT(option_letter(d->letter, &id) == d);
			T_EQ_INT(id, i);
		}
		for (j = i + 1; j < OPT__COUNT; j++) {
			e = option_def(j);
			T_ASSERT(strcmp(d->name, e->name) != 0);
			T_ASSERT(d->letter == 0 || d->letter != e->letter);
		}
	}
	T_ASSERT(option_def(OPT__COUNT) == NULL);
	T_ASSERT(option_find("no-such-option", NULL) == NULL);
	T_ASSERT(option_letter('P', NULL) == NULL);
}

TEST(options_table_names)
{
	/* Spot checks that the enum and the table agree. */
	T_EQ_STR(option_def(OPT_AS_CLIENT)->name, "as-client");
	T_EQ_STR(option_def(OPT_PROMPT_TIMEOUT)->name, "prompt-timeout");
	T_EQ_STR(option_def(OPT_NO_SMTP)->name, "no-smtp");
	T_EQ_STR(option_def(OPT_POP_NO_DELETE)->name, "pop-no-delete");
	T_EQ_STR(option_def(OPT_SERVER_AUTH_CONFIG)->name,
	    "server-auth-config");
	T_EQ_STR(option_def(OPT_TLS_CONFIG)->name, "tls-config");
	T_EQ_STR(option_def(OPT_CONTROL_SOCKET)->name, "control-socket");
	T_EQ_STR(option_def(OPT_CLOSE_STDERR)->name, "close-stderr");
	T_EQ_STR(option_def(OPT_LOCALEDIR)->name, "localedir");
}

TEST(options_table_letters)
{
	static const struct {
		int		 letter;
		enum opt_id	 id;
	} want[] = {
		{ 'q', OPT_AS_CLIENT }, { 'y', OPT_AS_PROXY },
		{ 'd', OPT_AS_SERVER }, { 's', OPT_SPOOL_DIR },
		{ 'h', OPT_HELP }, { 'V', OPT_VERSION },
		{ 'c', OPT_CLIENT_SMTP_CONFIG }, { 'f', OPT_FORWARD },
		{ '1', OPT_FORWARD_ON_DISCONNECT }, { 'o', OPT_FORWARD_TO },
		{ 'O', OPT_POLL }, { 'Y', OPT_CLIENT_FILTER },
		{ '6', OPT_CLIENT_INTERFACE }, { 'U', OPT_CONNECTION_TIMEOUT },
		{ 'T', OPT_RESPONSE_TIMEOUT }, { 'm', OPT_IMMEDIATE },
		{ 'w', OPT_PROMPT_TIMEOUT }, { 'p', OPT_PORT },
		{ 'r', OPT_REMOTE_CLIENTS }, { 'A', OPT_ANONYMOUS },
		{ 'D', OPT_DOMAIN }, { 'z', OPT_FILTER },
		{ 'W', OPT_FILTER_TIMEOUT }, { 'I', OPT_INTERFACE },
		{ 'Z', OPT_SERVER_SMTP_CONFIG }, { 'M', OPT_SIZE },
		{ 'X', OPT_NO_SMTP }, { 'B', OPT_POP }, { 'E', OPT_POP_PORT },
		{ 'F', OPT_POP_AUTH }, { 'J', OPT_POP_BY_NAME },
		{ 'G', OPT_POP_NO_DELETE }, { 'a', OPT_ADMIN },
		{ 'Q', OPT_ADMIN_TERMINATE }, { 'C', OPT_CLIENT_AUTH },
		{ 'S', OPT_SERVER_AUTH }, { 'j', OPT_CLIENT_TLS },
		{ 'b', OPT_CLIENT_TLS_CONNECTION }, { 'K', OPT_SERVER_TLS },
		{ '9', OPT_TLS_CONFIG }, { 'x', OPT_DONT_SERVE },
		{ 't', OPT_NO_DAEMON }, { 'i', OPT_PID_FILE },
		{ 'u', OPT_USER }, { 'l', OPT_LOG }, { 'v', OPT_VERBOSE },
		{ 'g', OPT_DEBUG }, { 'L', OPT_LOG_TIME },
		{ 'N', OPT_LOG_FILE }, { 'k', OPT_SYSLOG },
		{ 'n', OPT_NO_SYSLOG }, { 'e', OPT_CLOSE_STDERR },
		{ 'H', OPT_HIDDEN },
	};
	size_t		 i;
	int		 n = 0, id;
	enum opt_id	 got;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		T_ASSERT(option_letter(want[i].letter, &got) != NULL);
		T_EQ_INT(got, want[i].id);
	}
	for (id = 0; id < OPT__COUNT; id++)
		if (option_def(id)->letter != 0)
			n++;
	T_EQ_INT(n, sizeof(want) / sizeof(want[0]));
}

TEST(options_table_flags)
{
	static const enum opt_id repeat[] = { OPT_INTERFACE, OPT_FILTER,
	    OPT_CLIENT_FILTER, OPT_SERVER_TLS_CERTIFICATE,
	    OPT_CLIENT_TLS_CERTIFICATE };
	static const enum opt_id global[] = { OPT_LOG, OPT_VERBOSE,
	    OPT_DEBUG, OPT_LOG_TIME, OPT_LOG_ADDRESS, OPT_LOG_FORMAT,
	    OPT_LOG_FILE, OPT_SYSLOG, OPT_NO_SYSLOG, OPT_CLOSE_STDERR,
	    OPT_NO_DAEMON, OPT_PID_FILE, OPT_USER, OPT_CONTROL_SOCKET,
	    OPT_HELP, OPT_VERSION, OPT_HIDDEN, OPT_SHOW, OPT_LOCALEDIR };
	static const enum opt_id notpending[] = { OPT_SPOOL_DIR, OPT_HELP,
	    OPT_VERSION, OPT_PORT, OPT_INTERFACE, OPT_NO_SMTP,
	    OPT_DONT_SERVE, OPT_NO_DAEMON, OPT_PID_FILE, OPT_USER,
	    OPT_AS_SERVER, OPT_LOG, OPT_VERBOSE, OPT_DEBUG, OPT_LOG_TIME,
	    OPT_LOG_ADDRESS, OPT_LOG_FORMAT, OPT_LOG_FILE, OPT_SYSLOG,
	    OPT_NO_SYSLOG, OPT_CLOSE_STDERR, OPT_HIDDEN, OPT_SHOW,
	    OPT_LOCALEDIR, OPT_POP_PORT, OPT_DOMAIN, OPT_SIZE, OPT_ANONYMOUS,
	    OPT_SERVER_SMTP_CONFIG, OPT_REMOTE_CLIENTS, OPT_IDLE_TIMEOUT,
	    OPT_AS_CLIENT, OPT_FORWARD, OPT_FORWARD_ON_DISCONNECT,
	    OPT_FORWARD_TO, OPT_POLL, OPT_CONNECTION_TIMEOUT,
	    OPT_RESPONSE_TIMEOUT, OPT_FORWARD_TO_ALL, OPT_FORWARD_TO_SOME,
	    OPT_PROMPT_TIMEOUT, OPT_CLIENT_SMTP_CONFIG, OPT_AS_PROXY,
	    OPT_IMMEDIATE, OPT_CLIENT_INTERFACE, OPT_FILTER,
	    OPT_FILTER_TIMEOUT, OPT_CLIENT_FILTER, OPT_ADDRESS_VERIFIER,
	    OPT_CLIENT_AUTH, OPT_CLIENT_AUTH_CONFIG, OPT_SERVER_AUTH,
	    OPT_SERVER_AUTH_CONFIG, OPT_CLIENT_TLS, OPT_CLIENT_TLS_CONNECTION,
	    OPT_CLIENT_TLS_REQUIRED, OPT_CLIENT_TLS_CERTIFICATE,
	    OPT_CLIENT_TLS_SERVER_NAME, OPT_CLIENT_TLS_VERIFY,
	    OPT_CLIENT_TLS_VERIFY_NAME, OPT_SERVER_TLS,
	    OPT_SERVER_TLS_CONNECTION, OPT_SERVER_TLS_REQUIRED,
	    OPT_SERVER_TLS_CERTIFICATE, OPT_SERVER_TLS_VERIFY,
	    OPT_TLS_CONFIG, OPT_POP, OPT_POP_AUTH, OPT_POP_BY_NAME,
	    OPT_POP_NO_DELETE, OPT_POLL_RUN, OPT_DELIVERY_DIR, OPT_ADMIN,
	    OPT_ADMIN_TERMINATE, OPT_DNSBL, OPT_CONTROL_SOCKET };
	size_t	 i, j;
	int	 id, n;

	for (id = 0, n = 0; id < OPT__COUNT; id++)
		if (option_def(id)->flags & OPTF_REPEAT)
			n++;
	T_EQ_INT(n, sizeof(repeat) / sizeof(repeat[0]));
	for (i = 0; i < sizeof(repeat) / sizeof(repeat[0]); i++)
		T_ASSERT(option_def(repeat[i])->flags & OPTF_REPEAT);
	for (id = 0, n = 0; id < OPT__COUNT; id++)
		if (option_def(id)->flags & OPTF_GLOBAL)
			n++;
	T_EQ_INT(n, sizeof(global) / sizeof(global[0]));
	for (i = 0; i < sizeof(global) / sizeof(global[0]); i++)
		T_ASSERT(option_def(global[i])->flags & OPTF_GLOBAL);
	for (id = 0; id < OPT__COUNT; id++) {
		for (j = 0; j < sizeof(notpending) / sizeof(notpending[0]); j++)
			if (notpending[j] == (enum opt_id)id)
				break;
		if (j < sizeof(notpending) / sizeof(notpending[0]))
			T_ASSERT((option_def(id)->flags & OPTF_PENDING) == 0);
		else
			T_ASSERT(option_def(id)->flags & OPTF_PENDING);
	}
	T_ASSERT(option_def(OPT_HIDDEN)->flags & OPTF_IGNORED);
	T_ASSERT(option_def(OPT_SHOW)->flags & OPTF_IGNORED);
	T_ASSERT(option_def(OPT_SPOOL_DIR)->flags & OPTF_FILE);
	T_ASSERT(option_def(OPT_PID_FILE)->flags & OPTF_FILE);
	T_ASSERT(option_def(OPT_SERVER_AUTH)->flags & OPTF_FILE);
	T_ASSERT((option_def(OPT_FORWARD_TO)->flags & OPTF_FILE) == 0);
	T_EQ_INT(option_def(OPT_ANONYMOUS)->kind, OPTA_OPTIONAL);
	T_EQ_INT(option_def(OPT_SYSLOG)->kind, OPTA_OPTIONAL);
	T_EQ_INT(option_def(OPT_POLL)->kind, OPTA_PERIOD);
	T_EQ_INT(option_def(OPT_PORT)->kind, OPTA_NUM);
}

/*
 * Defaults and kinds.
 */

TEST(options_defaults)
{
	struct config		 c;
	const struct instconf	*g;
	char			 err[1024];

	T_EQ_INT(parse(&c, ARGS("--no-daemon"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 1);
	g = conf_global(&c);
	T_EQ_STR(g->name, "");
	T_EQ_STR(conf_str(g, OPT_SPOOL_DIR), "/var/spool/emailrelay");
	T_EQ_INT(conf_num(g, OPT_PORT), 25);
	T_EQ_INT(conf_bool(g, OPT_PORT), 0);
	T_EQ_INT(conf_num(g, OPT_POP_PORT), 110);
	T_EQ_INT(conf_num(g, OPT_CONNECTION_TIMEOUT), 40);
	T_EQ_INT(conf_num(g, OPT_IDLE_TIMEOUT), 60);
	T_EQ_INT(conf_num(g, OPT_RESPONSE_TIMEOUT), 60);
	T_EQ_INT(conf_num(g, OPT_PROMPT_TIMEOUT), 20);
	T_EQ_INT(conf_num(g, OPT_FILTER_TIMEOUT), 60);
	T_EQ_INT(conf_num(g, OPT_SIZE), 0);
	T_EQ_STR(conf_str(g, OPT_USER), "daemon");
	T_EQ_STR(conf_str(g, OPT_CONTROL_SOCKET),
	    "/run/emailrelay/control.sock");
	T_EQ_INT(conf_bool(g, OPT_CONTROL_SOCKET), 0);
	T_ASSERT(conf_str(g, OPT_ADMIN) == NULL);
	T_ASSERT(conf_str(g, OPT_FORWARD_TO) == NULL);
	T_EQ_INT(conf_bool(g, OPT_NO_DAEMON), 1);
	T_EQ_INT(conf_bool(g, OPT_LOG), 0);
	T_EQ_INT(c.nwarn, 0);
	config_free(&c);
}

TEST(options_kinds)
{
	struct config		 c;
	const struct instconf	*g;
	char			 err[1024];
	int		 r;

	r = parse(&c, ARGS("--port", "10025", "--poll=1h", "--syslog",
	    "--anonymous=vrfy,server", "--filter", "/bin/a", "--filter=exit:0",
	    "--interface", "127.0.0.1,::1", "--interface=eth0",
	    "--spool-dir", "/tmp/s", "--size", "0", "--user", "mail"),
	    err, sizeof(err));
	T_EQ_INT(r, CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	g = conf_global(&c);
	T_EQ_INT(conf_num(g, OPT_PORT), 10025);
	T_EQ_STR(conf_str(g, OPT_PORT), "10025");
	T_EQ_INT(conf_num(g, OPT_POLL), 3600);
	T_EQ_STR(conf_str(g, OPT_POLL), "1h");
	T_EQ_INT(conf_bool(g, OPT_SYSLOG), 1);
	T_ASSERT(conf_str(g, OPT_SYSLOG) == NULL);
	T_EQ_STR(conf_str(g, OPT_ANONYMOUS), "vrfy,server");
	T_EQ_INT(g->opt[OPT_FILTER].nlist, 2);
	T_EQ_STR(g->opt[OPT_FILTER].list[0], "/bin/a");
	T_EQ_STR(g->opt[OPT_FILTER].list[1], "exit:0");
	T_EQ_STR(conf_str(g, OPT_FILTER), "exit:0");
	T_EQ_INT(g->opt[OPT_INTERFACE].nlist, 3);
	T_EQ_STR(g->opt[OPT_INTERFACE].list[0], "127.0.0.1");
	T_EQ_STR(g->opt[OPT_INTERFACE].list[1], "::1");
	T_EQ_STR(g->opt[OPT_INTERFACE].list[2], "eth0");
	T_EQ_STR(conf_str(g, OPT_SPOOL_DIR), "/tmp/s");
	T_EQ_INT(conf_bool(g, OPT_SIZE), 1);
	T_EQ_STR(conf_str(g, OPT_USER), "mail");
	config_free(&c);

	/* A number is normalised; the last single value wins. */
	T_EQ_INT(parse(&c, ARGS("--port", "0025", "-p", "26", "--syslog=local0",
	    "--anonymous"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	g = conf_global(&c);
	T_EQ_INT(conf_num(g, OPT_PORT), 26);
	T_EQ_STR(conf_str(g, OPT_PORT), "26");
	T_EQ_STR(conf_str(g, OPT_SYSLOG), "local0");
	T_EQ_INT(conf_bool(g, OPT_ANONYMOUS), 1);
	T_ASSERT(conf_str(g, OPT_ANONYMOUS) == NULL);
	config_free(&c);
}

TEST(options_argv_forms)
{
	struct config		 c;
	const struct instconf	*g;
	char			 err[1024];

	/* -x value, -xvalue, clustered booleans, a value after a cluster. */
	T_EQ_INT(parse(&c, ARGS("-p", "2525", "-E110", "-tl", "-vs",
	    "/tmp/q", "-kmail", "-O", "5m", "--tls-config", "-tlsv1.3",
	    "-I", "fd#3"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	g = conf_global(&c);
	T_EQ_INT(conf_num(g, OPT_PORT), 2525);
	T_EQ_INT(conf_num(g, OPT_POP_PORT), 110);
	T_EQ_INT(conf_bool(g, OPT_NO_DAEMON), 1);
	T_EQ_INT(conf_bool(g, OPT_LOG), 1);
	T_EQ_INT(conf_bool(g, OPT_VERBOSE), 1);
	T_EQ_STR(conf_str(g, OPT_SPOOL_DIR), "/tmp/q");
	T_EQ_STR(conf_str(g, OPT_SYSLOG), "mail");
	T_EQ_INT(conf_num(g, OPT_POLL), 300);
	T_EQ_STR(conf_str(g, OPT_TLS_CONFIG), "-tlsv1.3");
	T_EQ_STR(conf_str(g, OPT_INTERFACE), "fd#3");
	config_free(&c);
}

TEST(options_argv_config_file)
{
	struct config	 c;
	char		 err[1024], *f;

	f = tmpconf("# comment\nport 2526\nverbose\n");
	T_ASSERT(f != NULL);
	/* The command line overrides the file, whatever the order. */
	T_EQ_INT(parse(&c, ARGS("--port", "2527", f, "--log"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(conf_num(conf_global(&c), OPT_PORT), 2527);
	T_EQ_INT(conf_bool(conf_global(&c), OPT_VERBOSE), 1);
	T_EQ_INT(conf_bool(conf_global(&c), OPT_LOG), 1);
	T_EQ_STR(c.file, f);
	config_free(&c);
	/* "--" ends the options: what follows is the file. */
	T_EQ_INT(parse(&c, ARGS("--", f), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(conf_num(conf_global(&c), OPT_PORT), 2526);
	config_free(&c);
	unlink(f);
	T_EQ_INT(run(ARGS("a.conf", "b.conf"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "too many non-option arguments");
	T_EQ_INT(run(ARGS("--", "--port"), err, sizeof(err)), CONF_EOTHER);
	T_EQ_STR(err, "cannot open configuration file: --port: "
	    "No such file or directory");
}

/*
 * Error texts.
 */

TEST(options_errors_exact)
{
	char	 err[1024];

	T_EQ_INT(run(ARGS("--foo"), err, sizeof(err)), CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"--foo\"");
	T_EQ_INT(run(ARGS("--foo=bar"), err, sizeof(err)), CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"--foo\"");
	T_EQ_INT(run(ARGS("-P"), err, sizeof(err)), CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"-P\"");
	T_EQ_INT(run(ARGS("-tP"), err, sizeof(err)), CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"-P\"");
	T_EQ_INT(run(ARGS("--port", "abc"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --port value: \"abc\"");
	T_EQ_INT(run(ARGS("--port=-1"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --port value: \"-1\"");
	T_EQ_INT(run(ARGS("--port", "70000"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --port value: \"70000\": out of range "
	    "(1 to 65535)");
	T_EQ_INT(run(ARGS("--port", "0"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --port value: \"0\": out of range (1 to 65535)");
	T_EQ_INT(run(ARGS("--port"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "--port requires a value");
	T_EQ_INT(run(ARGS("-p"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "--port requires a value");
	T_EQ_INT(run(ARGS("--no-daemon=yes"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "--no-daemon does not take a value");
	T_EQ_INT(run(ARGS("--poll", "1y"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --poll period: \"1y\"");
	T_EQ_INT(run(ARGS("--forward-to", "nohost"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "invalid --forward-to value: \"nohost\": missing port "
	    "number (<host>:<port>)");
	T_EQ_INT(run(ARGS("--filter="), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --filter value: \"\": empty value");
	T_EQ_INT(run(ARGS("--syslog=nosuch"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --syslog value: \"nosuch\": unknown syslog "
	    "facility");
	T_EQ_INT(run(ARGS("--domain", "a\tb"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --domain value: \"a\\x09b\": not a domain "
	    "name");
	T_EQ_INT(run(ARGS("--user", "x\ny"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --user value: \"x\\x0ay\": control character");
	T_EQ_INT(run(ARGS("--log-format", "time,\"x\""), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "invalid --log-format value: \"time,\\\"x\\\"\": unknown "
	    "field (time, unit, address, port, msgid, network)");
}

TEST(options_errors_long_value)
{
	char	 err[1024], big[6000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	T_EQ_INT(run(ARGS("--domain", big), err, sizeof(err)), CONF_EUSAGE);
	/* The value is cut short in the message. */
	T_ASSERT(strncmp(err, "invalid --domain value: \"aaaa", 29) == 0);
	T_ASSERT(strstr(err, "...\": too long") != NULL);
	T_ASSERT(strlen(err) < 200);
}

/*
 * Instances (SPEC 2.3).
 */

TEST(options_instances_spec_example)
{
	struct config	 c;
	char		 err[1024];

	T_EQ_INT(parse(&c, ARGS("--in-spool-dir", "/a", "--in-port", "2525",
	    "--out-spool-dir", "/b", "--out-port", "2526"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 2);
	T_EQ_STR(c.inst[0].name, "in");
	T_EQ_STR(c.inst[1].name, "out");
	T_EQ_STR(conf_str(&c.inst[0], OPT_SPOOL_DIR), "/a");
	T_EQ_INT(conf_num(&c.inst[0], OPT_PORT), 2525);
	T_EQ_STR(conf_str(&c.inst[1], OPT_SPOOL_DIR), "/b");
	T_EQ_INT(conf_num(&c.inst[1], OPT_PORT), 2526);
	config_free(&c);
}

TEST(options_instances_unprefixed_first_named)
{
	struct config	 c;
	char		 err[1024];

	/* No unprefixed spool-dir: unprefixed options go to "in". */
	T_EQ_INT(parse(&c, ARGS("--port", "2500", "--in-spool-dir", "/a",
	    "--out-spool-dir", "/b", "--no-smtp", "--out-port", "2600"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 2);
	T_EQ_STR(c.inst[0].name, "in");
	T_EQ_INT(conf_num(&c.inst[0], OPT_PORT), 2500);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_NO_SMTP), 1);
	T_EQ_INT(conf_bool(&c.inst[1], OPT_NO_SMTP), 0);
	T_EQ_INT(conf_num(&c.inst[1], OPT_PORT), 2600);
	config_free(&c);
}

TEST(options_instances_unnamed)
{
	struct config	 c;
	char		 err[1024];

	/*
	 * An unprefixed spool-dir, even given last, makes the unprefixed
	 * options the unnamed first instance.
	 */
	T_EQ_INT(parse(&c, ARGS("--port", "2500", "--in-spool-dir", "/a",
	    "--in-port", "2501", "--spool-dir", "/s"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 2);
	T_EQ_STR(c.inst[0].name, "");
	T_EQ_STR(c.inst[1].name, "in");
	T_EQ_STR(conf_str(&c.inst[0], OPT_SPOOL_DIR), "/s");
	T_EQ_INT(conf_num(&c.inst[0], OPT_PORT), 2500);
	T_EQ_INT(conf_num(&c.inst[1], OPT_PORT), 2501);
	T_EQ_STR(conf_str(&c.inst[1], OPT_SPOOL_DIR), "/a");
	config_free(&c);
}

TEST(options_instances_pop_port)
{
	struct config	 c;
	char		 err[1024];

	/* pop-port is always the POP port option, never instance "pop". */
	T_EQ_INT(parse(&c, ARGS("--in-spool-dir", "/a", "--pop-port", "1110",
	    "--in-pop-port", "1111"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 1);
	T_EQ_INT(conf_num(&c.inst[0], OPT_POP_PORT), 1111);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_PORT), 0);
	config_free(&c);
}

TEST(options_instances_refused_names)
{
	char	 err[1024];

	T_EQ_INT(run(ARGS("--pop-spool-dir", "/a"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "invalid instance name \"pop\" in --pop-spool-dir: it is "
	    "the first word of an option name");
	T_EQ_INT(run(ARGS("--client-spool-dir", "/a"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_INT(run(ARGS("--log-spool-dir", "/a"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_INT(run(ARGS("--as-spool-dir", "/a"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_INT(run(ARGS("--forward-spool-dir", "/a"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_INT(run(ARGS("--localedir-spool-dir", "/a"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_INT(run(ARGS("--a.b-spool-dir", "/a"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "invalid instance name \"a.b\" in --a.b-spool-dir");
	/* Names that only start like an option word are fine. */
	T_EQ_INT(run(ARGS("--popular-spool-dir", "/a", "--no-daemon"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--in_1-spool-dir", "/a", "--in_1-port", "26"),
	    err, sizeof(err)), CONF_OK);
}

TEST(options_instances_undefined)
{
	char	 err[1024];

	T_EQ_INT(run(ARGS("--in-port", "25"), err, sizeof(err)), CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"--in-port\"");
	T_EQ_INT(run(ARGS("--in-spool-dir", "/a", "--out-port", "25"), err,
	    sizeof(err)), CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"--out-port\"");
	/* A prefix that can never be an instance name. */
	T_EQ_INT(run(ARGS("--a.b-port", "25"), err, sizeof(err)), CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"--a.b-port\"");
	T_EQ_INT(run(ARGS("--in-nosuch", "25"), err, sizeof(err)),
	    CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"--in-nosuch\"");
	/* Definition after use is fine. */
	T_EQ_INT(run(ARGS("--in-port", "25", "--in-spool-dir", "/a"), err,
	    sizeof(err)), CONF_OK);
}

TEST(options_instances_global)
{
	struct config	 c;
	char		 err[1024];

	/* The first instance's prefix is honoured for global options. */
	T_EQ_INT(parse(&c, ARGS("--in-spool-dir", "/a", "--out-spool-dir",
	    "/b", "--in-verbose", "--out-log", "--out-user", "root"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_VERBOSE), 1);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_LOG), 0);
	T_EQ_INT(conf_bool(&c.inst[1], OPT_LOG), 0);
	T_EQ_STR(conf_str(&c.inst[0], OPT_USER), "daemon");
	T_EQ_INT(c.nwarn, 2);
	T_EQ_STR(c.warn[0], "option ignored: \"--out-log\": process-wide "
	    "options apply to the first instance only");
	T_EQ_STR(c.warn[1], "option ignored: \"--out-user\": process-wide "
	    "options apply to the first instance only");
	config_free(&c);
	/* With an unnamed first instance every prefixed one is ignored. */
	T_EQ_INT(parse(&c, ARGS("--spool-dir", "/s", "--in-spool-dir", "/a",
	    "--in-debug"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_DEBUG), 0);
	T_EQ_INT(c.nwarn, 1);
	config_free(&c);
}

TEST(options_instances_too_many)
{
	const char	*args[2 * BOUNDS_INSTANCES + 4];
	char		 names[BOUNDS_INSTANCES + 1][32], err[1024];
	int		 i, n = 0;

	args[n++] = "emailrelay";
	for (i = 0; i <= BOUNDS_INSTANCES; i++) {
		snprintf(names[i], sizeof(names[i]), "--i%d-spool-dir", i);
		args[n++] = names[i];
		args[n++] = "/tmp";
	}
	args[n] = NULL;
	T_EQ_INT(run(args, err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "too many instances (at most 32)");
	args[n - 2] = NULL;
	T_EQ_INT(run(args, err, sizeof(err)), CONF_OK);
}

/*
 * Implied options.
 */

TEST(options_implied)
{
	struct config		 c;
	const struct instconf	*g;
	char			 err[1024];

	T_EQ_INT(parse(&c, ARGS("--as-client", "smtp.example.com:25"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	g = conf_global(&c);
	T_EQ_INT(conf_bool(g, OPT_LOG), 1);
	T_EQ_INT(conf_bool(g, OPT_NO_SYSLOG), 1);
	T_EQ_INT(conf_bool(g, OPT_NO_DAEMON), 1);
	T_EQ_INT(conf_bool(g, OPT_DONT_SERVE), 1);
	T_EQ_INT(conf_bool(g, OPT_FORWARD), 1);
	T_EQ_STR(conf_str(g, OPT_FORWARD_TO), "smtp.example.com:25");
	T_EQ_INT(conf_bool(g, OPT_CLOSE_STDERR), 0);
	config_free(&c);

	T_EQ_INT(parse(&c, ARGS(
	    "--as-proxy=smtp.example.com:25@localhost:9050"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	g = conf_global(&c);
	T_EQ_INT(conf_bool(g, OPT_LOG), 1);
	T_EQ_INT(conf_bool(g, OPT_CLOSE_STDERR), 1);
	T_EQ_INT(conf_bool(g, OPT_FORWARD_ON_DISCONNECT), 1);
	T_EQ_INT(conf_bool(g, OPT_FORWARD), 0);
	T_EQ_INT(conf_bool(g, OPT_NO_DAEMON), 0);
	T_EQ_STR(conf_str(g, OPT_FORWARD_TO),
	    "smtp.example.com:25@localhost:9050");
	config_free(&c);

	T_EQ_INT(parse(&c, ARGS("-d"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	g = conf_global(&c);
	T_EQ_INT(conf_bool(g, OPT_LOG), 1);
	T_EQ_INT(conf_bool(g, OPT_CLOSE_STDERR), 1);
	T_EQ_INT(conf_bool(g, OPT_NO_SYSLOG), 0);
	config_free(&c);

	/* A later --forward-to overrides the implied one. */
	T_EQ_INT(parse(&c, ARGS("--as-client", "a.example:25", "--forward-to",
	    "b.example:25"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_STR(conf_str(conf_global(&c), OPT_FORWARD_TO), "b.example:25");
	config_free(&c);
}

TEST(options_implied_instances)
{
	struct config	 c;
	char		 err[1024];

	/* Per-instance parts go to the instance, process-wide ones not. */
	T_EQ_INT(parse(&c, ARGS("--in-spool-dir", "/a", "--out-spool-dir",
	    "/b", "--out-as-client", "x.example:25"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(conf_bool(&c.inst[1], OPT_DONT_SERVE), 1);
	T_EQ_INT(conf_bool(&c.inst[1], OPT_FORWARD), 1);
	T_EQ_STR(conf_str(&c.inst[1], OPT_FORWARD_TO), "x.example:25");
	T_EQ_INT(conf_bool(&c.inst[0], OPT_LOG), 0);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_NO_DAEMON), 0);
	T_EQ_INT(conf_bool(&c.inst[1], OPT_LOG), 0);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_FORWARD), 0);
	config_free(&c);
	/* With the first instance's prefix they apply. */
	T_EQ_INT(parse(&c, ARGS("--in-spool-dir", "/a", "--in-as-server"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_LOG), 1);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_CLOSE_STDERR), 1);
	config_free(&c);
}

TEST(options_implied_log_format)
{
	struct config	 c;
	char		 err[1024];

	T_EQ_INT(parse(&c, ARGS("--log-time"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_STR(conf_str(conf_global(&c), OPT_LOG_FORMAT), "time");
	config_free(&c);
	T_EQ_INT(parse(&c, ARGS("--log-time", "--log-format=unit,network",
	    "--log-address"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_STR(conf_str(conf_global(&c), OPT_LOG_FORMAT),
	    "time,unit,address,network");
	config_free(&c);
	/* No duplicate when the field is there already. */
	T_EQ_INT(parse(&c, ARGS("-L", "--log-format", "unit , time,time"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_STR(conf_str(conf_global(&c), OPT_LOG_FORMAT), "time,unit");
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_STR(conf_str(conf_global(&c), OPT_LOG_FORMAT), "time,unit");
	config_free(&c);
	/* Without --log-time or --log-address the text is kept. */
	T_EQ_INT(parse(&c, ARGS("--log-format", "unit,time"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_STR(conf_str(conf_global(&c), OPT_LOG_FORMAT), "unit,time");
	config_free(&c);
}

/*
 * Configuration file.
 */

TEST(options_file_parse)
{
	struct config		 c;
	const struct instconf	*g;
	char			 err[1024], *f;

	f = tmpconf("# E-MailRelay configuration\n"
	    "\n"
	    "   # indented comment\n"
	    "spool-dir /var/spool/er\n"
	    "port\t2525  \r\n"
	    "  log\n"
	    "interface smtp=fd#3,127.0.0.1\n"
	    "filter /usr/local/bin/a filter with spaces\n"
	    "filter \"/usr/local/bin/quoted\"\n"
	    "client-filter @app/route\n"
	    "pid-file @app\n"
	    "domain example.com\n"
	    "admin 10026\n"
	    "interface admin=127.0.0.1\n"
	    "poll-run @app/retry#1\n"
	    "poll 60");
	T_ASSERT(f != NULL);
	config_init(&c, NULL);
	free(c.appdir);
	c.appdir = strdup("/opt/er");
	T_EQ_INT(config_file(&c, f, err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	g = conf_global(&c);
	T_EQ_STR(conf_str(g, OPT_SPOOL_DIR), "/var/spool/er");
	T_EQ_INT(conf_num(g, OPT_PORT), 2525);
	T_EQ_INT(conf_bool(g, OPT_LOG), 1);
	T_EQ_INT(g->opt[OPT_INTERFACE].nlist, 3);
	T_EQ_STR(g->opt[OPT_INTERFACE].list[0], "smtp=fd#3");
	T_EQ_STR(g->opt[OPT_INTERFACE].list[2], "admin=127.0.0.1");
	T_EQ_INT(g->opt[OPT_FILTER].nlist, 2);
	T_EQ_STR(g->opt[OPT_FILTER].list[0],
	    "/usr/local/bin/a filter with spaces");
	T_EQ_STR(g->opt[OPT_FILTER].list[1], "/usr/local/bin/quoted");
	T_EQ_STR(g->opt[OPT_CLIENT_FILTER].list[0], "/opt/er/route");
	T_EQ_STR(conf_str(g, OPT_PID_FILE), "/opt/er");
	T_EQ_STR(conf_str(g, OPT_DOMAIN), "example.com");
	T_EQ_INT(conf_num(g, OPT_ADMIN), 10026);
	T_EQ_STR(conf_str(g, OPT_POLL_RUN), "/opt/er/retry#1");
	T_EQ_STR(c.file, f);
	config_free(&c);
	unlink(f);
}

TEST(options_file_errors)
{
	struct config	 c;
	char		 err[1024], want[1200], *f, line[5000];
	int		 r;

	f = tmpconf("log\n\nfoo bar\n");
	T_ASSERT(f != NULL);
	config_init(&c, NULL);
	r = config_file(&c, f, err, sizeof(err));
	config_free(&c);
	T_EQ_INT(r, CONF_EOPTION);
	snprintf(want, sizeof(want), "%s:3: invalid option: \"foo\"", f);
	T_EQ_STR(err, want);
	unlink(f);

	f = tmpconf("# x\nport abc\n");
	config_init(&c, NULL);
	r = config_file(&c, f, err, sizeof(err));
	config_free(&c);
	T_EQ_INT(r, CONF_EUSAGE);
	snprintf(want, sizeof(want), "%s:2: invalid --port value: \"abc\"", f);
	T_EQ_STR(err, want);
	unlink(f);

	f = tmpconf("no-daemon yes\n");
	config_init(&c, NULL);
	r = config_file(&c, f, err, sizeof(err));
	config_free(&c);
	T_EQ_INT(r, CONF_EUSAGE);
	snprintf(want, sizeof(want), "%s:1: --no-daemon does not take a value",
	    f);
	T_EQ_STR(err, want);
	unlink(f);

	f = tmpconf("port\n");
	config_init(&c, NULL);
	r = config_file(&c, f, err, sizeof(err));
	config_free(&c);
	snprintf(want, sizeof(want), "%s:1: --port requires a value", f);
	T_EQ_STR(err, want);
	unlink(f);

	/* "--port" in a file is not an option name. */
	f = tmpconf("--port 25\n");
	config_init(&c, NULL);
	r = config_file(&c, f, err, sizeof(err));
	config_free(&c);
	T_EQ_INT(r, CONF_EOPTION);
	snprintf(want, sizeof(want), "%s:1: invalid option: \"--port\"", f);
	T_EQ_STR(err, want);
	unlink(f);

	/* name=value is not E-MailRelay syntax. */
	f = tmpconf("port=25\n");
	config_init(&c, NULL);
	r = config_file(&c, f, err, sizeof(err));
	config_free(&c);
	T_EQ_INT(r, CONF_EOPTION);
	unlink(f);

	memset(line, 'x', sizeof(line));
	memcpy(line, "domain ", 7);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	f = tmpconf(line);
	config_init(&c, NULL);
	r = config_file(&c, f, err, sizeof(err));
	config_free(&c);
	T_EQ_INT(r, CONF_EUSAGE);
	snprintf(want, sizeof(want), "%s:1: line too long", f);
	T_EQ_STR(err, want);
	unlink(f);

	config_init(&c, NULL);
	r = config_file(&c, "/nonexistent/emailrelay.conf", err, sizeof(err));
	config_free(&c);
	T_EQ_INT(r, CONF_EOTHER);
	T_EQ_STR(err, "cannot open configuration file: "
	    "/nonexistent/emailrelay.conf: No such file or directory");
}

TEST(options_file_line_errors)
{
	struct config	 c;
	char		 err[1024];

	config_init(&c, NULL);
	T_EQ_INT(config_line(&c, "  # comment", "f", 1, err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(config_line(&c, "", "f", 2, err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_line(&c, " \t ", "f", 3, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.nrec, 0);
	T_EQ_INT(config_line(&c, "port 25 # not a comment", "f", 4, err,
	    sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "f:4: invalid --port value: \"25 # not a comment\"");
	T_EQ_INT(config_line(&c, "domain a\001b", "f", 5, err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "f:5: invalid character");
	T_EQ_INT(config_line(&c, "domain \"\"", "f", 6, err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "f:6: invalid --domain value: \"\": empty value");
	T_EQ_INT(config_line(&c, "in-port 25", "f", 7, err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_EOPTION);
	T_EQ_STR(err, "f:7: invalid option: \"in-port\"");
	config_free(&c);
	config_init(&c, NULL);
	T_EQ_INT(config_line(&c, "pop-spool-dir /x", "f", 8, err,
	    sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "f:8: invalid instance name \"pop\" in --pop-spool-dir: "
	    "it is the first word of an option name");
	config_free(&c);
}

TEST(options_file_sections)
{
	struct config	 c;
	char		 err[1024], *f;

	f = tmpconf("# retry cycle independent of forwarding\n"
	    "retry-spool-dir /var/spool/emailrelay\n"
	    "retry-dont-serve\n"
	    "retry-poll 1h\n"
	    "retry-poll-run retry:\n"
	    "\n"
	    "# Gmail / Microsoft 365 smarthost\n"
	    "forward-to smtp.gmail.com:587\n"
	    "client-tls\n"
	    "client-auth /etc/emailrelay.auth\n");
	T_ASSERT(f != NULL);
	T_EQ_INT(parse(&c, ARGS("--spool-dir", "/var/spool/emailrelay",
	    "--port", "2525", f), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 2);
	T_EQ_STR(c.inst[1].name, "retry");
	T_EQ_INT(conf_bool(&c.inst[1], OPT_DONT_SERVE), 1);
	T_EQ_INT(conf_num(&c.inst[1], OPT_POLL), 3600);
	T_EQ_STR(conf_str(&c.inst[1], OPT_POLL_RUN), "retry:");
	T_EQ_STR(conf_str(&c.inst[0], OPT_FORWARD_TO), "smtp.gmail.com:587");
	T_EQ_INT(conf_bool(&c.inst[0], OPT_CLIENT_TLS), 1);
	T_EQ_INT(conf_num(&c.inst[0], OPT_PORT), 2525);
	T_EQ_INT(conf_bool(&c.inst[1], OPT_CLIENT_TLS), 0);
	config_free(&c);
	unlink(f);
}

TEST(options_app_expansion)
{
	struct config	 c;
	char		 err[1024];
	int		 r;

	r = parse(&c, ARGS("--spool-dir", "@app/spool", "--pid-file",
	    "@app/x.pid", "--filter", "@app/f.sh", "--filter", "exit:0",
	    "--log-file", "@apple/x", "--server-auth", "@app/auth"), err,
	    sizeof(err));
	T_EQ_INT(r, CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_STR(conf_str(&c.inst[0], OPT_SPOOL_DIR), "/opt/er/spool");
	T_EQ_STR(conf_str(&c.inst[0], OPT_PID_FILE), "/opt/er/x.pid");
	T_EQ_STR(c.inst[0].opt[OPT_FILTER].list[0], "/opt/er/f.sh");
	T_EQ_STR(c.inst[0].opt[OPT_FILTER].list[1], "exit:0");
	T_EQ_STR(conf_str(&c.inst[0], OPT_LOG_FILE), "@apple/x");
	T_EQ_STR(conf_str(&c.inst[0], OPT_SERVER_AUTH), "/opt/er/auth");
	config_free(&c);
	/* config_init() finds the directory of the running program. */
	config_init(&c, NULL);
	T_ASSERT(c.appdir != NULL && c.appdir[0] == '/');
	config_free(&c);
}

/*
 * Value checks.
 */

TEST(options_values_hostport)
{
	T_ASSERT(value_ok(OPT_FORWARD_TO, "smtp.example.com:25"));
	T_ASSERT(value_ok(OPT_FORWARD_TO, "[::1]:25"));
	T_ASSERT(value_ok(OPT_FORWARD_TO, "::1:25"));
	T_ASSERT(value_ok(OPT_FORWARD_TO, "/run/smtp.sock"));
	T_ASSERT(value_ok(OPT_FORWARD_TO, "a.example:25@127.0.0.1:1080"));
	T_ASSERT(!value_ok(OPT_FORWARD_TO, "a.example"));
	T_ASSERT(!value_ok(OPT_FORWARD_TO, "a.example:99999"));
	T_ASSERT(value_ok(OPT_AS_CLIENT, "example.com:25"));
	T_ASSERT(!value_ok(OPT_AS_CLIENT, "example.com"));
	T_ASSERT(value_ok(OPT_CLIENT_INTERFACE, "0.0.0.0"));
	T_ASSERT(value_ok(OPT_CLIENT_INTERFACE, "::"));
	T_ASSERT(!value_ok(OPT_CLIENT_INTERFACE, "eth0"));
	T_ASSERT(!value_ok(OPT_CLIENT_INTERFACE, "1.2.3.4:25"));
	T_ASSERT(value_ok(OPT_INTERFACE, "smtp=127.0.0.1,pop=::1,admin=fd#4"));
	T_ASSERT(!value_ok(OPT_INTERFACE, "127.0.0.1,,::1"));
	T_ASSERT(!value_ok(OPT_INTERFACE, "fd#1"));
}

TEST(options_values_smtp_config)
{
	T_ASSERT(value_ok(OPT_CLIENT_SMTP_CONFIG, "pipelining"));
	T_ASSERT(value_ok(OPT_CLIENT_SMTP_CONFIG,
	    "+pipelining,-smtputf8strict,eightbitstrict,binarymimestrict"));
	T_ASSERT(!value_ok(OPT_CLIENT_SMTP_CONFIG, "chunking"));
	T_ASSERT(!value_ok(OPT_CLIENT_SMTP_CONFIG, "pipelining,"));
	T_ASSERT(!value_ok(OPT_CLIENT_SMTP_CONFIG, "+"));
	T_ASSERT(value_ok(OPT_SERVER_SMTP_CONFIG, "+chunking,+smtputf8"));
	T_ASSERT(value_ok(OPT_SERVER_SMTP_CONFIG,
	    "pipelining,-chunking,smtputf8strict,nostrictparsing,noalabels,"
	    "+proxy"));
	T_ASSERT(!value_ok(OPT_SERVER_SMTP_CONFIG, "eightbitstrict"));
	T_ASSERT(!value_ok(OPT_SERVER_SMTP_CONFIG, "Chunking"));
	T_ASSERT(!value_ok(OPT_SERVER_SMTP_CONFIG, "*chunking"));
}

TEST(options_values_filters)
{
	static const char *good[] = { "/usr/bin/filter", "filter.sh",
	    "@app/filter", "exit:0", "exit:102", "exit:255",
	    "net:127.0.0.1:1234", "net:/run/filter.s", "spam:127.0.0.1:783",
	    "spam-edit:localhost:783", "copy:", "copy:nodelete;pop;hardlink",
	    "copy:pop", "deliver:", "deliver:hardlink;nodelete", "split:",
	    "split:raw", "mx:", "mx:nst=5;rt=10;127.0.0.1:53", "mx:[::1]:53",
	    "mx:8.8.8.8", "msgid:", "file:/bin/x", "./dir/a:b", NULL };
	static const char *bad[] = { "", "foo:", "foo:bar", "exit:", "exit:x",
	    "exit:256", "exit:-1", "net:", "net:host", "spam:", "spam-edit:x",
	    "copy:delete", "deliver:raw", "split:nodelete", "mx:nst=x",
	    "mx:rt=", "mx:dns.example:53", "msgid:x", "file:", "Exit:1",
	    NULL };
	size_t	 i;

	for (i = 0; good[i] != NULL; i++) {
		if (!value_ok(OPT_FILTER, good[i]))
			printf("filter: %s\n", good[i]);
		T_ASSERT(value_ok(OPT_FILTER, good[i]));
		T_ASSERT(value_ok(OPT_CLIENT_FILTER, good[i]));
	}
	for (i = 0; bad[i] != NULL; i++) {
		if (value_ok(OPT_FILTER, bad[i]))
			printf("filter: %s\n", bad[i]);
		T_ASSERT(!value_ok(OPT_FILTER, bad[i]));
		T_ASSERT(!value_ok(OPT_CLIENT_FILTER, bad[i]));
	}
}

TEST(options_values_verifier_pollrun)
{
	T_ASSERT(value_ok(OPT_ADDRESS_VERIFIER, "/usr/bin/verifier"));
	T_ASSERT(value_ok(OPT_ADDRESS_VERIFIER, "account:"));
	T_ASSERT(value_ok(OPT_ADDRESS_VERIFIER, "account:check"));
	T_ASSERT(value_ok(OPT_ADDRESS_VERIFIER,
	    "account:1000-2000;lowercase;remote"));
	T_ASSERT(value_ok(OPT_ADDRESS_VERIFIER, "net:127.0.0.1:99"));
	T_ASSERT(value_ok(OPT_ADDRESS_VERIFIER, "file:/x"));
	T_ASSERT(!value_ok(OPT_ADDRESS_VERIFIER, "account:2000-1000"));
	T_ASSERT(!value_ok(OPT_ADDRESS_VERIFIER, "account:1000"));
	T_ASSERT(!value_ok(OPT_ADDRESS_VERIFIER, "account:x-y"));
	T_ASSERT(!value_ok(OPT_ADDRESS_VERIFIER, "account:upper"));
	T_ASSERT(!value_ok(OPT_ADDRESS_VERIFIER, "net:nohost"));
	T_ASSERT(!value_ok(OPT_ADDRESS_VERIFIER, "exit:1"));
	T_ASSERT(value_ok(OPT_POLL_RUN, "retry:"));
	T_ASSERT(value_ok(OPT_POLL_RUN, "retry:5"));
	T_ASSERT(value_ok(OPT_POLL_RUN, "@app/retry"));
	T_ASSERT(value_ok(OPT_POLL_RUN, "/usr/bin/retry"));
	T_ASSERT(!value_ok(OPT_POLL_RUN, "retry:0"));
	T_ASSERT(!value_ok(OPT_POLL_RUN, "retry:x"));
	T_ASSERT(!value_ok(OPT_POLL_RUN, "exit:0"));
}

TEST(options_values_dnsbl)
{
	T_ASSERT(value_ok(OPT_DNSBL, "dnsbl.example.com"));
	T_ASSERT(value_ok(OPT_DNSBL, "zen.spamhaus.org,bl.mailspike.net"));
	T_ASSERT(value_ok(OPT_DNSBL, "zen.spamhaus.org,bl.mailspike.net,1"));
	T_ASSERT(value_ok(OPT_DNSBL, "zen.spamhaus.org,0,5000"));
	T_ASSERT(value_ok(OPT_DNSBL, "zen.spamhaus.org,2,-1000,1.1.1.1:53"));
	T_ASSERT(value_ok(OPT_DNSBL, "zen.spamhaus.org,1,5000,::1"));
	/* The legacy order: server, timeout, threshold, zones. */
	T_ASSERT(value_ok(OPT_DNSBL,
	    "1.1.1.1:53,1000,1,spam.example.com,block.example.com"));
	T_ASSERT(value_ok(OPT_DNSBL, "127.0.0.1,-500,0,zone.example"));
	T_ASSERT(!value_ok(OPT_DNSBL, "1.1.1.1:53,1000,1"));
	T_ASSERT(!value_ok(OPT_DNSBL, "1"));
	T_ASSERT(!value_ok(OPT_DNSBL, "zone.example,1,2,3"));
	T_ASSERT(!value_ok(OPT_DNSBL, "zone.example,1,x"));
	T_ASSERT(!value_ok(OPT_DNSBL, "zone.example,1,1000,nohost"));
	T_ASSERT(!value_ok(OPT_DNSBL, "zone.example,1,1000,1.1.1.1,x"));
	T_ASSERT(!value_ok(OPT_DNSBL, "zone.example,,1"));
	T_ASSERT(!value_ok(OPT_DNSBL, "zone example"));
}

TEST(options_values_auth)
{
	T_ASSERT(value_ok(OPT_CLIENT_AUTH, "/etc/emailrelay.auth"));
	T_ASSERT(value_ok(OPT_CLIENT_AUTH,
	    "plain:YWxpY2VAZ21haWwuY29t:UGFzc3cwcmQ"));
	T_ASSERT(value_ok(OPT_CLIENT_AUTH, "plain:YWxpY2U=:cGFzcw=="));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH, "plain:YWxpY2U"));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH, "plain::cGFzcw=="));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH, "plain:YWxp!2U:cGFzcw=="));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH, "plain:YWxpY2U=x:cGFzcw=="));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH, "plain:YWxpY:cGFzcw=="));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH, "plain:YWxpY2U===:cGFz"));
	T_ASSERT(value_ok(OPT_SERVER_AUTH, "pam:"));
	T_ASSERT(value_ok(OPT_SERVER_AUTH, "/etc/emailrelay.auth"));
	T_ASSERT(!value_ok(OPT_SERVER_AUTH, "pam:other"));
	T_ASSERT(value_ok(OPT_POP_AUTH, "pam:"));
	T_ASSERT(value_ok(OPT_SERVER_AUTH_CONFIG, "m:;a:plain"));
	T_ASSERT(value_ok(OPT_SERVER_AUTH_CONFIG,
	    "m:cram-sha256,cram-md5;x:login;a:plain login;d:"));
	T_ASSERT(value_ok(OPT_CLIENT_AUTH_CONFIG, "M:PLAIN"));
	T_ASSERT(value_ok(OPT_CLIENT_AUTH_CONFIG, "m:xoauth2;"));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH_CONFIG, "plain"));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH_CONFIG, "q:plain"));
	T_ASSERT(!value_ok(OPT_CLIENT_AUTH_CONFIG, "m:pl@in"));
}

TEST(options_values_misc)
{
	T_ASSERT(value_ok(OPT_ANONYMOUS, NULL));
	T_ASSERT(value_ok(OPT_ANONYMOUS, "vrfy,server,content,client"));
	T_ASSERT(!value_ok(OPT_ANONYMOUS, "all"));
	T_ASSERT(value_ok(OPT_TLS_CONFIG, "tlsv1.2"));
	T_ASSERT(value_ok(OPT_TLS_CONFIG, "tlsv1.2,-tlsv1.3"));
	T_ASSERT(value_ok(OPT_TLS_CONFIG, "mbedtls,tlsv1.2"));
	T_ASSERT(value_ok(OPT_TLS_CONFIG, "openssl"));
	T_ASSERT(!value_ok(OPT_TLS_CONFIG, "sslv2"));
	T_ASSERT(!value_ok(OPT_TLS_CONFIG, "+tlsv1.2"));
	T_ASSERT(value_ok(OPT_LOG_FORMAT, "time,unit,address,port,msgid,"
	    "network"));
	T_ASSERT(!value_ok(OPT_LOG_FORMAT, "date"));
	T_ASSERT(value_ok(OPT_SYSLOG, "local7"));
	T_ASSERT(value_ok(OPT_SYSLOG, NULL));
	T_ASSERT(!value_ok(OPT_SYSLOG, "local8"));
	T_ASSERT(value_ok(OPT_USER, "daemon"));
	T_ASSERT(value_ok(OPT_USER, "root"));
	T_ASSERT(!value_ok(OPT_USER, ""));
	T_ASSERT(!value_ok(OPT_USER, "a b"));
	T_ASSERT(!value_ok(OPT_USER, "a:b"));
	T_ASSERT(value_ok(OPT_DOMAIN, "example.com"));
	T_ASSERT(value_ok(OPT_DOMAIN, "localhost"));
	T_ASSERT(!value_ok(OPT_DOMAIN, "exa mple.com"));
	T_ASSERT(!value_ok(OPT_DOMAIN, "a..b"));
	T_ASSERT(value_ok(OPT_CLIENT_TLS_VERIFY, "<default>"));
	T_ASSERT(value_ok(OPT_CLIENT_TLS_VERIFY, "/etc/ssl/certs"));
	T_ASSERT(!value_ok(OPT_CLIENT_TLS_VERIFY, "<none>"));
	T_ASSERT(value_ok(OPT_CLIENT_TLS_SERVER_NAME, "smtp.example.com"));
	T_ASSERT(!value_ok(OPT_CLIENT_TLS_SERVER_NAME, "a b"));
	T_ASSERT(value_ok(OPT_SIZE, "100000000"));
	T_ASSERT(!value_ok(OPT_SIZE, "1e9"));
	T_ASSERT(value_ok(OPT_CONNECTION_TIMEOUT, "300"));
	T_ASSERT(value_ok(OPT_CONNECTION_TIMEOUT, "0"));
	T_ASSERT(!value_ok(OPT_CONNECTION_TIMEOUT, "5m"));
	T_ASSERT(!value_ok(OPT_ADMIN, "0"));
	T_ASSERT(value_ok(OPT_ADMIN, "10026"));
	T_ASSERT(value_ok(OPT_POLL, "0"));
	T_ASSERT(value_ok(OPT_POLL, "3600"));
	T_ASSERT(!value_ok(OPT_POLL, "-1"));
	T_ASSERT(value_ok(OPT_SHOW, "popup"));
	T_ASSERT(value_ok(OPT_HIDDEN, NULL));
	T_ASSERT(!value_ok(OPT_HIDDEN, "yes"));
	T_ASSERT(!value_ok(OPT_SPOOL_DIR, NULL));
	T_ASSERT(!value_ok(OPT_SPOOL_DIR, ""));
}

/*
 * Combinations and pending options.
 */

TEST(options_combinations)
{
	char	 err[1024];
	int		 r;

	T_EQ_INT(run(ARGS("--forward-to-all", "--forward-to-some"), err,
	    sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "conflicting options: --forward-to-all and "
	    "--forward-to-some");
	T_EQ_INT(run(ARGS("--as-client", "a.example:25", "--as-proxy",
	    "b.example:25"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "conflicting options: --as-client and --as-proxy");
	T_EQ_INT(run(ARGS("--as-server", "--as-client", "a.example:25"), err,
	    sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "conflicting options: --as-client and --as-server");
	r = run(ARGS("--in-spool-dir", "/a", "--out-spool-dir", "/b",
	    "--out-server-tls", "--out-server-tls-connection",
	    "--out-server-tls-certificate", "/k"), err, sizeof(err));
	T_EQ_INT(r, CONF_EUSAGE);
	T_EQ_STR(err, "conflicting options: --out-server-tls and "
	    "--out-server-tls-connection");
	T_EQ_INT(run(ARGS("--server-tls-required"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "--server-tls-required needs --server-tls or "
	    "--server-tls-connection");
	T_EQ_INT(run(ARGS("--server-tls"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "--server-tls needs --server-tls-certificate");
	T_EQ_INT(run(ARGS("--server-tls", "--server-tls-certificate", "/a",
	    "--server-tls-certificate", "/b", "--server-tls-certificate", "/c"),
	    err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "--server-tls-certificate given more than twice "
	    "(key file, certificate file)");
	T_EQ_INT(run(ARGS("--poll-run", "retry:"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "--poll-run needs --poll");
	/* Allowed together. */
	T_EQ_INT(run(ARGS("--no-smtp", "--port", "26", "--dont-serve"), err,
	    sizeof(err)), CONF_OK);
}

TEST(options_pending)
{
	char	 err[1024];
	int		 r;

	T_EQ_INT(run(ARGS("--filter", "/bin/true", "--filter", "exit:0",
	    "--filter", "file:/bin/true", "--filter-timeout", "5"), err,
	    sizeof(err)), CONF_OK);
	/* The file-only built-ins run in queue. */
	T_EQ_INT(run(ARGS("--filter", "/bin/true", "--filter", "copy:"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--filter", "msgid:", "--filter", "deliver:",
	    "--filter", "split:raw", "--filter", "copy:pop;nodelete",
	    "--delivery-dir", "/var/mail"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--client-filter", "split:", "--client-filter",
	    "deliver:hardlink", "--client-filter", "msgid:"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--forward-to", "127.0.0.1:25", "--poll", "60",
	    "--poll-run", "retry:3"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--forward-to", "127.0.0.1:25", "--poll", "60",
	    "--poll-run", "/usr/local/bin/poll"), err, sizeof(err)), CONF_OK);
	/* Those that need the network run in lookup. */
	r = run(ARGS("--filter", "msgid:", "--filter", "spam:127.0.0.1:783",
	    "--filter", "spam-edit:[::1]:783", "--filter", "net:/run/f.s",
	    "--client-filter", "net:localhost:9000", "--client-filter",
	    "mx:", "--client-filter", "mx:nst=1;rt=30;127.0.0.1:5353"),
	    err, sizeof(err));
	T_EQ_INT(r, CONF_OK);
	T_EQ_INT(run(ARGS("--client-filter", "exit:102", "--client-filter",
	    "/bin/true"), err, sizeof(err)), CONF_OK);
	/* mx: options are checked as lookup parses them. */
	T_EQ_INT(run(ARGS("--client-filter", "mx:nst=0"), err, sizeof(err)),
	    CONF_EUSAGE);
	T_ASSERT(strstr(err, "--client-filter") != NULL);
	T_ASSERT(strstr(err, "nst=") != NULL);
	T_EQ_INT(run(ARGS("--client-filter", "mx:;127.0.0.1"), err,
	    sizeof(err)), CONF_EUSAGE);
	T_EQ_INT(run(ARGS("--client-filter", "mx:127.0.0.1;127.0.0.2"), err,
	    sizeof(err)), CONF_EUSAGE);
	T_ASSERT(strstr(err, "DNS server given twice") != NULL);
	T_EQ_INT(run(ARGS("--address-verifier", "/usr/local/bin/v"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--address-verifier", "account:"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--address-verifier", "account:100-200;lowercase;"
	    "check"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--address-verifier", "net:127.0.0.1:10099"), err,
	    sizeof(err)), CONF_OK);
	/* account: refuses what account_parse() refuses. */
	T_EQ_INT(run(ARGS("--address-verifier", "account:check;remote"), err,
	    sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --address-verifier value: \"account:check;"
	    "remote\": account: check and remote cannot be combined");
	T_EQ_INT(run(ARGS("--address-verifier", "account:1-2;3-4"), err,
	    sizeof(err)), CONF_EUSAGE);
	T_ASSERT(strstr(err, "uid range given twice") != NULL);
	/* --dnsbl, both orders; checked as lookup parses it. */
	T_EQ_INT(run(ARGS("--dnsbl", "zen.spamhaus.org,bl.mailspike.net"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--dnsbl", "bl.test,2,-3000,127.0.0.1:5353"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--dnsbl", "127.0.0.1,5000,1,bl.test,bl2.test"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--in-spool-dir", "/a", "--in-dnsbl",
	    "bl.test,bl.test"), err, sizeof(err)), CONF_EUSAGE);
	T_EQ_STR(err, "invalid --in-dnsbl value: \"bl.test,bl.test\": "
	    "duplicate DNSBL zone");
	T_EQ_INT(run(ARGS("--dnsbl", "bl.test,1,0"), err, sizeof(err)),
	    CONF_EUSAGE);
	/* The admin port is supported. */
	T_EQ_INT(run(ARGS("--in-spool-dir", "/a", "--out-spool-dir", "/b",
	    "--out-admin", "10026", "--admin-terminate"), err, sizeof(err)),
	    CONF_OK);
	/* POP is supported. */
	T_EQ_INT(run(ARGS("--in-spool-dir", "/a", "--out-spool-dir", "/b",
	    "--out-pop", "--out-pop-auth", "/etc/pop.auth",
	    "--out-pop-by-name", "--out-pop-no-delete"), err, sizeof(err)),
	    CONF_OK);
	/* Host names are resolved by lookup; SOCKS 4a names too. */
	T_EQ_INT(run(ARGS("--as-client", "a.example:25"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(run(ARGS("--forward-to", "mx.example:25", "--poll", "60"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--forward-to", "127.0.0.1:25@127.0.0.1:1080"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--forward-to", "smtp.example.com:25@[::1]:1080"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--as-proxy", "smtp.example.com:25@localhost:9050"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--forward-to", "127.0.0.1:25", "--immediate",
	    "--client-interface", "127.0.0.2"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--as-client", "127.0.0.1:25"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(run(ARGS("--forward-to", "[::1]:25", "--forward",
	    "--forward-on-disconnect", "--poll", "1m",
	    "--connection-timeout", "5", "--response-timeout", "5",
	    "--prompt-timeout", "5", "--forward-to-some"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(run(ARGS("--forward-to", "/run/smtp.s"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(run(ARGS("--as-proxy", "127.0.0.1:25",
	    "--client-smtp-config", "pipelining,-eightbitstrict"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--control-socket", "/tmp/c.sock"), err,
	    sizeof(err)), CONF_OK);
	/* Not pending. */
	r = run(ARGS("--as-server", "--port", "10025", "--spool-dir",
	    "/tmp", "--interface", "127.0.0.1", "--no-daemon", "--pid-file",
	    "/tmp/p", "--user", "root", "--log", "--verbose", "--debug",
	    "--log-time", "--log-address", "--log-format", "unit",
	    "--log-file", "/tmp/l", "--syslog=mail", "--no-syslog",
	    "--close-stderr", "--hidden", "--show", "x", "--localedir", "/x",
	    "--dont-serve", "--no-smtp", "--pop-port", "1100"),
	    err, sizeof(err));
	T_EQ_INT(r, CONF_OK);
	/* --help and --version skip the checks. */
	T_EQ_INT(run(ARGS("--help", "--filter", "copy:",
	    "--server-tls-required"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--version", "--pop"), err, sizeof(err)), CONF_OK);
}

TEST(options_ignored_warnings)
{
	struct config	 c;
	char		 err[1024];

	T_EQ_INT(parse(&c, ARGS("--hidden", "--show", "popup", "-H"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.nwarn, 2);
	T_EQ_STR(c.warn[0], "--hidden: ignored on this platform");
	T_EQ_STR(c.warn[1], "--show: ignored on this platform");
	config_free(&c);
}

/*
 * SPEC 13.
 */

TEST(options_spec13_command_lines)
{
	char	 err[1024];
	int		 r;

	T_EQ_INT(run(ARGS("--as-server", "--port", "10025", "--spool-dir",
	    "/tmp"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run(ARGS("--log", "--no-daemon", "--port", "10025",
	    "--spool-dir", "/tmp"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-client", "smtp.example.com:25",
	    "--spool-dir", "/tmp"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-server", "--poll", "60", "--forward-to",
	    "smtp.example.com:25"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-server", "--forward-on-disconnect",
	    "--forward-to", "smtp.example.com:25"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-server", "--filter",
	    "/tmp/set-from.js"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-server", "-v", "-r",
	    "--domain=example.com", "--address-verifier=account:"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--pop", "--pop-port", "10110", "--pop-auth",
	    "/etc/emailrelay.auth"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-client", "example.com:25", "--poll",
	    "60", "--poll-run", "@app/retry"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-client", "example.com:25", "--poll",
	    "60", "--poll-run", "retry:"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-server", "--remote-clients",
	    "--server-auth=/etc/emailrelay.auth"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-server", "--pop",
	    "--pop-auth=/etc/pop.auth"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-server",
	    "--filter=spam-edit:127.0.0.1:783"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-server", "--filter=spam:127.0.0.1:783"),
	    err, sizeof(err)), CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--as-proxy=smtp.gmail.com:587",
	    "--client-tls", "--client-auth=/etc/emailrelay.auth"), err,
	    sizeof(err)), CONF_OK);
	r = run_resolve(ARGS("--port", "587",
	    "--as-proxy=smtp.example.com:25@localhost:9050",
	    "--domain=anon.net", "--anonymous", "--connection-timeout=300"),
	    err, sizeof(err));
	T_EQ_INT(r, CONF_OK);
	T_EQ_INT(run_resolve(ARGS("-r",
	    "--dnsbl=zen.spamhaus.org,bl.mailspike.net"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(run(ARGS("--log-format", "address"), err, sizeof(err)),
	    CONF_OK);
	T_EQ_INT(run_resolve(ARGS("--client-filter", "exit:102", "--poll",
	    "60"), err, sizeof(err)), CONF_OK);
}

TEST(options_spec13_three_instances)
{
	struct config		 c;
	const struct instconf	*in, *out, *other;
	char			 err[1024];
	int		 r;

	r = parse(&c, ARGS("--log", "--verbose", "--log-time",
	    "--log-format=unit,network", "--close-stderr", "--syslog",
	    "--pid-file", "@app/emailrelay.pid", "--user", "root",
	    "--in-spool-dir", "@app/in", "--in-port", "25", "--in-domain",
	    "example.com", "--in-address-verifier", "account:", "--in-dnsbl",
	    "dnsbl.example.com", "--in-filter", "spam-edit:127.0.0.1:783",
	    "--in-filter", "deliver:", "--in-server-smtp-config",
	    "+chunking,+smtputf8", "--in-size", "100000000", "--in-pop",
	    "--in-pop-port", "110", "--in-pop-auth", "pam:", "--in-pop-by-name",
	    "--out-spool-dir", "@app/out", "--out-port", "587",
	    "--out-forward-on-disconnect", "--out-forward-to-some",
	    "--out-poll", "60", "--out-address-verifier", "account:check",
	    "--out-delivery-dir", "@app/in", "--out-filter", "msgid:",
	    "--out-filter", "deliver:", "--out-filter", "split:",
	    "--out-client-filter", "mx:", "--out-forward-to", "127.0.0.1:588",
	    "--out-domain", "example.com", "--out-poll-run", "retry:5",
	    "--other-spool-dir", "@app/other", "--other-port", "588",
	    "--other-interface", "127.0.0.1", "--other-client-tls",
	    "--other-client-auth", "plain:YWxpY2VAZ21haWwuY29t:UGFzc3cwcmQ",
	    "--other-forward-to", "smtp.gmail.com:587", "--other-poll",
	    "3600"), err, sizeof(err));
	T_EQ_INT(r, CONF_OK);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 3);
	in = &c.inst[0];
	out = &c.inst[1];
	other = &c.inst[2];
	T_EQ_STR(in->name, "in");
	T_EQ_STR(out->name, "out");
	T_EQ_STR(other->name, "other");
	T_EQ_INT(conf_bool(in, OPT_LOG), 1);
	T_EQ_INT(conf_bool(in, OPT_SYSLOG), 1);
	T_EQ_STR(conf_str(in, OPT_LOG_FORMAT), "time,unit,network");
	T_EQ_STR(conf_str(in, OPT_PID_FILE), "/opt/er/emailrelay.pid");
	T_EQ_STR(conf_str(in, OPT_USER), "root");
	T_EQ_STR(conf_str(in, OPT_SPOOL_DIR), "/opt/er/in");
	T_EQ_INT(conf_num(in, OPT_PORT), 25);
	T_EQ_INT(in->opt[OPT_FILTER].nlist, 2);
	T_EQ_INT(conf_num(in, OPT_SIZE), 100000000);
	T_EQ_STR(conf_str(in, OPT_POP_AUTH), "pam:");
	T_EQ_INT(conf_bool(in, OPT_POP_BY_NAME), 1);
	T_EQ_STR(conf_str(out, OPT_SPOOL_DIR), "/opt/er/out");
	T_EQ_STR(conf_str(out, OPT_DELIVERY_DIR), "/opt/er/in");
	T_EQ_INT(out->opt[OPT_FILTER].nlist, 3);
	T_EQ_STR(out->opt[OPT_FILTER].list[2], "split:");
	T_EQ_STR(out->opt[OPT_CLIENT_FILTER].list[0], "mx:");
	T_EQ_INT(conf_num(out, OPT_POLL), 60);
	T_EQ_STR(conf_str(out, OPT_POLL_RUN), "retry:5");
	T_EQ_INT(conf_bool(out, OPT_FORWARD_TO_SOME), 1);
	T_EQ_INT(conf_bool(out, OPT_LOG), 0);
	T_EQ_INT(conf_num(other, OPT_PORT), 588);
	T_EQ_STR(other->opt[OPT_INTERFACE].list[0], "127.0.0.1");
	T_EQ_INT(conf_bool(other, OPT_CLIENT_TLS), 1);
	T_EQ_INT(conf_num(other, OPT_POLL), 3600);
	T_EQ_INT(c.nwarn, 0);
	/* Everything it uses is built, the gmail host name included. */
	T_EQ_INT(config_pending(&c, err, sizeof(err)), CONF_OK);
	config_free(&c);
}

/*
 * The parent-to-child hand-over.
 */

TEST(options_round_trip)
{
	struct config	 a, b;
	struct copyarg	 ca;
	char		 err[1024], *f;
	int		 r;

	f = tmpconf("retry-spool-dir /tmp/r\nretry-poll 1h\n"
	    "retry-poll-run retry:\nretry-dont-serve\n");
	T_ASSERT(f != NULL);
	r = parse(&a, ARGS("--as-server", "--log-time", "--syslog",
	    "--anonymous=vrfy", "--port", "0026", "--filter", "exit:0",
	    "--filter", "@app/f", "--interface", "127.0.0.1,::1",
	    "--interface", "smtp=fd#3", "--hidden", "--poll", "5m",
	    "--in-spool-dir", "/tmp/in", "--in-anonymous", "--in-port", "27",
	    "--spool-dir", "/tmp/s", f), err, sizeof(err));
	T_EQ_INT(r, CONF_OK);
	T_EQ_INT(config_resolve(&a, err, sizeof(err)), CONF_OK);
	unlink(f);
	T_EQ_INT(a.ninst, 3);
	config_init(&b, NULL);
	ca.src = &a;
	ca.dst = &b;
	ca.fails = 0;
	config_foreach(&a, copy_one, &ca);
	T_EQ_INT(ca.fails, 0);
	T_ASSERT(same_config(&a, &b));
	T_EQ_STR(b.inst[2].name, "in");
	T_EQ_INT(b.inst[0].opt[OPT_INTERFACE].nlist, 3);
	T_EQ_INT(conf_num(&b.inst[0], OPT_POLL), 300);
	/* A second round trip from the copy is the same again. */
	config_free(&a);
	config_init(&a, NULL);
	ca.src = &b;
	ca.dst = &a;
	config_foreach(&b, copy_one, &ca);
	T_EQ_INT(ca.fails, 0);
	T_ASSERT(same_config(&a, &b));
	/* A change is noticed. */
	T_EQ_INT(config_set(&a, 1, "retry", OPT_PORT, "99", err, sizeof(err)),
	    CONF_OK);
	T_ASSERT(!same_config(&a, &b));
	config_free(&a);
	config_free(&b);

	/* A bare configuration also keeps its instance. */
	T_EQ_INT(parse(&a, ARGS("--no-daemon"), err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_finish(&a, err, sizeof(err)), CONF_OK);
	config_init(&b, NULL);
	ca.src = &a;
	ca.dst = &b;
	config_foreach(&a, copy_one, &ca);
	T_EQ_INT(ca.fails, 0);
	T_ASSERT(same_config(&a, &b));
	config_free(&a);
	config_free(&b);
}

TEST(options_config_set)
{
	struct config	 c;
	char		 err[1024];

	config_init(&c, NULL);
	T_EQ_INT(config_set(&c, 1, "x", OPT_PORT, "25", err, sizeof(err)),
	    CONF_EOTHER);
	T_EQ_STR(err, "no such instance: 1");
	T_EQ_INT(config_set(&c, 0, "", OPT_PORT, "x", err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "invalid --port value: \"x\"");
	T_EQ_INT(c.ninst, 0);
	T_EQ_INT(config_set(&c, 0, "", OPT__COUNT, "x", err, sizeof(err)),
	    CONF_EOTHER);
	T_EQ_INT(config_set(&c, 0, "in", OPT_SPOOL_DIR, "/a", err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 1);
	T_EQ_STR(c.inst[0].name, "in");
	/* A replaced value, as the parent does with the real spool path. */
	T_EQ_INT(config_set(&c, 0, "in", OPT_SPOOL_DIR, "/b", err,
	    sizeof(err)), CONF_OK);
	T_EQ_STR(conf_str(&c.inst[0], OPT_SPOOL_DIR), "/b");
	/* No implication in config_set(). */
	T_EQ_INT(config_set(&c, 0, "in", OPT_AS_CLIENT, "a.example:25", err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(conf_bool(&c.inst[0], OPT_FORWARD), 0);
	T_EQ_INT(config_set(&c, 0, "in", OPT_LOG, "x", err, sizeof(err)),
	    CONF_EUSAGE);
	T_EQ_STR(err, "--log does not take a value");
	config_free(&c);
}

/*
 * --help.
 */

TEST(options_help_verbose)
{
	char		*buf = NULL, *line, *next, *p;
	size_t		 len = 0, n;
	FILE		*fp;
	int		 count[OPT__COUNT], id, entries = 0;
	enum opt_id	 got;

	memset(count, 0, sizeof(count));
	fp = open_memstream(&buf, &len);
	T_ASSERT(fp != NULL);
	options_help(fp, 1);
	fclose(fp);
	T_ASSERT(strncmp(buf, "usage: emailrelay [<option> [<option> ...]] "
	    "[<config-file>]\n", 59) == 0);
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		p = line;
		while (*p == ' ')
			p++;
		if (p[0] == '-' && p[1] != '-' && p[2] == ',' && p[3] == ' ')
			p += 4;
		if (strncmp(p, "--", 2) != 0)
			continue;
		p += 2;
		n = strcspn(p, " [");
		p[n] = '\0';
		T_ASSERT(option_find(p, &got) != NULL);
		count[got]++;
		entries++;
	}
	free(buf);
	for (id = 0; id < OPT__COUNT; id++)
		T_EQ_INT(count[id], 1);
	T_EQ_INT(entries, OPT__COUNT);
}

TEST(options_help_short)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	fp = open_memstream(&buf, &len);
	T_ASSERT(fp != NULL);
	options_help(fp, 0);
	fclose(fp);
	T_ASSERT(strstr(buf, "usage: emailrelay [<option> [<option> ...]] "
	    "[<config-file>]\n") == buf);
	T_ASSERT(strstr(buf, "  -d, --as-server ") != NULL);
	T_ASSERT(strstr(buf, "  -p, --port <port> ") != NULL);
	T_ASSERT(strstr(buf, "--tls-config") == NULL);
	T_ASSERT(strstr(buf, "emailrelay --help --verbose") != NULL);
	free(buf);
}

TEST(options_after_argv)
{
	struct config	 c;
	char		 err[1024], *f;

	/* The parent looks at --help and --verbose before config_finish(). */
	T_EQ_INT(parse(&c, ARGS("--help", "-v", "--in-spool-dir", "/a"), err,
	    sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 1);
	T_EQ_INT(conf_bool(conf_global(&c), OPT_HELP), 1);
	T_EQ_INT(conf_bool(conf_global(&c), OPT_VERBOSE), 1);
	T_EQ_STR(c.inst[0].name, "in");
	config_free(&c);
	/* An undefined instance is an error of config_argv() already. */
	T_EQ_INT(parse(&c, ARGS("--out-port", "25"), err, sizeof(err)),
	    CONF_EOPTION);
	T_EQ_STR(err, "invalid option: \"--out-port\"");
	config_free(&c);
	/* More input after config_argv() is applied by config_resolve(). */
	T_EQ_INT(parse(&c, ARGS("--port", "26"), err, sizeof(err)), CONF_OK);
	f = tmpconf("x-spool-dir /x\nx-port 27\n");
	T_ASSERT(f != NULL);
	T_EQ_INT(config_file(&c, f, err, sizeof(err)), CONF_OK);
	unlink(f);
	T_EQ_INT(config_resolve(&c, err, sizeof(err)), CONF_OK);
	T_EQ_INT(c.ninst, 1);
	T_EQ_STR(c.inst[0].name, "x");
	T_EQ_INT(conf_num(&c.inst[0], OPT_PORT), 27);
	config_free(&c);
}

TEST(options_server_smtp_proxy_pending)
{
	struct config	 c;
	char		 err[256];
	char		*av[] = { "emailrelay", "--server-smtp-config",
	    "chunking,+proxy", NULL };
	char		*av2[] = { "emailrelay", "--server-smtp-config",
	    "-proxy,+chunking", NULL };

	config_init(&c, "emailrelay");
	T_EQ_INT(config_argv(&c, 3, av, err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_EUSAGE);
	T_ASSERT(strstr(err, "proxy: not supported yet") != NULL);
	config_free(&c);
	config_init(&c, "emailrelay");
	T_EQ_INT(config_argv(&c, 3, av2, err, sizeof(err)), CONF_OK);
	T_EQ_INT(config_finish(&c, err, sizeof(err)), CONF_OK);
	config_free(&c);
}
