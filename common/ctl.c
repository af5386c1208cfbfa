/*
 * What emailrelayctl, control and queue share (SPEC 10, see ctl.h): the
 * queue entry lines, the counter lines and the command words.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "envelope.h"
#include "spool.h"

#define CTL_NFIELDS	7

static void	 ctl_clean(char *, size_t, const char *);
static int	 ctl_field(const char *, size_t, char *, size_t);
static int	 ctl_num(const char *, size_t, long long, long long,
		    long long *);

const char *
ctl_state_name(enum spool_state state)
{
	switch (state) {
	case SPOOL_NEW:
		return ("new");
	case SPOOL_READY:
		return ("ready");
	case SPOOL_BUSY:
		return ("busy");
	case SPOOL_BAD:
		return ("bad");
	}
	return ("?");
}

/* Copy text into out (outsz bytes) as printable ASCII, bounded. */
static void
ctl_clean(char *out, size_t outsz, const char *text)
{
	size_t	 i;

	if (outsz == 0)
		return;
	for (i = 0; text[i] != '\0' && i + 1 < outsz; i++)
		out[i] = (unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e ? '?' : text[i];
	out[i] = '\0';
}

int
ctl_qent_load(int dirfd, const char *base, enum spool_state state,
    struct ctl_qent *e)
{
	struct envelope	 env;
	struct stat	 st;
	char		 name[SPOOL_NAME_MAX], err[256];
	char		 reason[ENVELOPE_REASON_MAX + 1];
	size_t		 i, n, len;
	const char	*to;

	memset(e, 0, sizeof(*e));
	if (strlcpy(e->id, base, sizeof(e->id)) >= sizeof(e->id) ||
	    !spool_base_valid(base)) {
		errno = EINVAL;
		return (-1);
	}
	(void)strlcpy(e->state, ctl_state_name(state), sizeof(e->state));
	if (spool_name(name, sizeof(name), base, state) == -1 ||
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return (-1);
	e->mtime = (long long)st.st_mtime;
	e->size = -1;
	if (spool_name(name, sizeof(name), base, SPOOL_KIND_CONTENT) == 0 &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		e->size = (long long)st.st_size;
	if (spool_name(name, sizeof(name), base, state) == -1)
		return (-1);
	envelope_init(&env);
	if (spool_envelope_load(dirfd, name, &env, err, sizeof(err)) == -1) {
		envelope_free(&env);
		ctl_clean(e->from, sizeof(e->from), err);
		(void)strlcpy(e->reason, "unreadable envelope",
		    sizeof(e->reason));
		if (errno == 0 || errno == ENOENT)
			errno = EINVAL;
		return (-1);
	}
	ctl_clean(e->from, sizeof(e->from), env.from);
	len = 0;
	n = env.nto_local + env.nto_remote;
	for (i = 0; i < n; i++) {
		to = i < env.nto_local ? env.to_local[i] :
		    env.to_remote[i - env.nto_local];
		/* Room for ",...": the rest is left out. */
		if (len + strlen(to) + 5 >= sizeof(e->rcpts)) {
			(void)strlcat(e->rcpts, len > 0 ? ",..." : "...",
			    sizeof(e->rcpts));
			break;
		}
		if (len > 0)
			e->rcpts[len++] = ',';
		ctl_clean(e->rcpts + len, sizeof(e->rcpts) - len, to);
		len = strlen(e->rcpts);
	}
	if (envelope_reason(&env, reason, sizeof(reason), NULL) == 0)
		ctl_clean(e->reason, sizeof(e->reason), reason);
	envelope_free(&env);
	return (0);
}

int
ctl_qent_pack(const struct ctl_qent *e, char *buf, size_t bufsz)
{
	int	 n;

	n = snprintf(buf, bufsz, "%s\t%s\t%lld\t%lld\t%s\t%s\t%s\n", e->id,
	    e->state, e->mtime, e->size, e->from, e->rcpts, e->reason);
	if (n < 0 || (size_t)n >= bufsz)
		return (-1);
	return (n);
}

/* One text field: printable, fits. */
static int
ctl_field(const char *p, size_t len, char *out, size_t outsz)
{
	size_t	 i;

	if (len >= outsz)
		return (-1);
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return (-1);
	memcpy(out, p, len);
	out[len] = '\0';
	return (0);
}

/* A decimal in [min, max], "-" allowed when min < 0. */
static int
ctl_num(const char *p, size_t len, long long min, long long max,
    long long *v)
{
	char		 buf[24];
	const char	*errstr;

	if (len == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, p, len);
	buf[len] = '\0';
	if (strspn(buf + (buf[0] == '-'), "0123456789") !=
	    len - (buf[0] == '-') || len == (size_t)(buf[0] == '-'))
		return (-1);
	*v = strtonum(buf, min, max, &errstr);
	return (errstr == NULL ? 0 : -1);
}

int
ctl_qent_unpack(const char *p, size_t len, struct ctl_qent *e)
{
	const char	*f[CTL_NFIELDS], *tab;
	size_t		 fl[CTL_NFIELDS], i, rest;

	memset(e, 0, sizeof(*e));
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > CTL_LINEMAX)
		return (-1);
	for (i = 0; i < CTL_NFIELDS; i++) {
		f[i] = p;
		rest = len - (size_t)(p - f[0]);
		tab = memchr(p, '\t', rest);
		if (i < CTL_NFIELDS - 1) {
			if (tab == NULL)
				return (-1);
			fl[i] = (size_t)(tab - p);
			p = tab + 1;
		} else {
			if (tab != NULL)
				return (-1);
			fl[i] = rest;
		}
	}
	if (ctl_field(f[0], fl[0], e->id, sizeof(e->id)) == -1 ||
	    !spool_base_valid(e->id) ||
	    ctl_field(f[1], fl[1], e->state, sizeof(e->state)) == -1 ||
	    (strcmp(e->state, "ready") != 0 && strcmp(e->state, "busy") != 0 &&
	    strcmp(e->state, "bad") != 0 && strcmp(e->state, "new") != 0) ||
	    ctl_num(f[2], fl[2], 0, LLONG_MAX, &e->mtime) == -1 ||
	    ctl_num(f[3], fl[3], -1, LLONG_MAX, &e->size) == -1 ||
	    ctl_field(f[4], fl[4], e->from, sizeof(e->from)) == -1 ||
	    ctl_field(f[5], fl[5], e->rcpts, sizeof(e->rcpts)) == -1 ||
	    ctl_field(f[6], fl[6], e->reason, sizeof(e->reason)) == -1) {
		memset(e, 0, sizeof(*e));
		return (-1);
	}
	return (0);
}

int
ctl_stat_next(const char **pp, const char *end, char *name, size_t namesz,
    unsigned long long *v)
{
	const char	*p = *pp, *nl, *sp;
	long long	 n;
	size_t		 i, len;

	if (p >= end)
		return (0);
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return (-1);
	if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL || sp == p)
		return (-1);
	len = (size_t)(sp - p);
	if (len >= namesz)
		return (-1);
	for (i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return (-1);
	if (ctl_num(sp + 1, (size_t)(nl - sp - 1), 0, LLONG_MAX, &n) == -1)
		return (-1);
	memcpy(name, p, len);
	name[len] = '\0';
	*v = (unsigned long long)n;
	*pp = nl + 1;
	return (1);
}

int
ctl_cmd_parse(int argc, char *const argv[], struct ctl_cmd *cmd,
    const char **errstr)
{
	const char	*w, *a;

	memset(cmd, 0, sizeof(*cmd));
	*errstr = NULL;
	if (argc < 1) {
		*errstr = "no command";
		return (-1);
	}
	w = argv[0];
	a = argc > 1 ? argv[1] : NULL;
	if (strcmp(w, "show") == 0) {
		if (a == NULL) {
			*errstr = "usage: show queue|stats|message <id>";
			return (-1);
		}
		if (strcmp(a, "queue") == 0 && argc == 2)
			cmd->kind = CTL_CMD_SHOW_QUEUE;
		else if (strcmp(a, "stats") == 0 && argc == 2)
			cmd->kind = CTL_CMD_SHOW_STATS;
		else if (strcmp(a, "message") == 0 && argc == 3) {
			cmd->kind = CTL_CMD_SHOW_MESSAGE;
			if (!spool_base_valid(argv[2])) {
				*errstr = "invalid message id";
				return (-1);
			}
			(void)strlcpy(cmd->arg, argv[2], sizeof(cmd->arg));
		} else {
			*errstr = "usage: show queue|stats|message <id>";
			return (-1);
		}
		return (0);
	}
	if (strcmp(w, "forward") == 0) {
		cmd->kind = CTL_CMD_FORWARD;
		if (argc > 2 || (a != NULL && strlcpy(cmd->arg, a,
		    sizeof(cmd->arg)) >= sizeof(cmd->arg))) {
			*errstr = "usage: forward [instance]";
			return (-1);
		}
		return (0);
	}
	if (strcmp(w, "retry") == 0 || strcmp(w, "remove") == 0) {
		cmd->kind = w[2] == 't' ? CTL_CMD_RETRY : CTL_CMD_REMOVE;
		if (argc != 2) {
			*errstr = cmd->kind == CTL_CMD_RETRY ?
			    "usage: retry <id>|all" : "usage: remove <id>";
			return (-1);
		}
		if (!spool_base_valid(a) && (cmd->kind == CTL_CMD_REMOVE ||
		    strcmp(a, "all") != 0)) {
			*errstr = "invalid message id";
			return (-1);
		}
		(void)strlcpy(cmd->arg, a, sizeof(cmd->arg));
		return (0);
	}
	if (strcmp(w, "pause") == 0 || strcmp(w, "resume") == 0) {
		cmd->kind = w[0] == 'p' ? CTL_CMD_PAUSE : CTL_CMD_RESUME;
		if (argc == 2 && strcmp(a, "smtp") == 0)
			cmd->num = CTL_PAUSE_SMTP;
		else if (argc == 2 && strcmp(a, "forward") == 0)
			cmd->num = CTL_PAUSE_FORWARD;
		else {
			*errstr = cmd->kind == CTL_CMD_PAUSE ?
			    "usage: pause smtp|forward" :
			    "usage: resume smtp|forward";
			return (-1);
		}
		return (0);
	}
	if (strcmp(w, "log") == 0) {
		cmd->kind = CTL_CMD_LOG;
		if (argc == 2 && strcmp(a, "verbose") == 0)
			cmd->num = 1;
		else if (argc == 2 && strcmp(a, "brief") == 0)
			cmd->num = 0;
		else {
			*errstr = "usage: log verbose|brief";
			return (-1);
		}
		return (0);
	}
	if (argc == 1 && strcmp(w, "monitor") == 0)
		cmd->kind = CTL_CMD_MONITOR;
	else if (argc == 1 && strcmp(w, "reload") == 0)
		cmd->kind = CTL_CMD_RELOAD;
	else if (argc == 1 && strcmp(w, "stop") == 0)
		cmd->kind = CTL_CMD_STOP;
	else {
		*errstr = "unknown command";
		return (-1);
	}
	return (0);
}
