/*
 * The parent's share of authentication (SPEC 7, STYLE.md section 1):
 * start-up checks of the secrets files (so that a bad one stops start-up
 * with its name and line) and that the TLS files can be opened (keys are
 * parsed only by the processes that use them); opening a changed secrets
 * file for lookup, which runs without the rights to; and PAM checks for
 * pam: secrets, each in a short-lived child so that the parent never
 * blocks on PAM (PAM's own failure delay is switched off; the session
 * applies the delay with a timer).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <sys/param.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>

#ifdef HAVE_PAM
#include <security/pam_appl.h>
#endif

#include "bounds.h"
#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "secrets.h"
#include "tlsconf.h"
#include "parent.h"

#define PAM_MAX_CHECKS	16		/* children at once */
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define EMAILRELAY_PAM_SERVICE	"emailrelay"

/* One PAM check under way: the child writes one status byte. */
struct pam_check {
	struct event	*ev;
	int		 fd;
	pid_t		 pid;
	uint64_t	 id;
	struct chan	*ch;
};

static struct pam_check	 pam_checks[PAM_MAX_CHECKS];

static const enum opt_id secrets_opts[] = {
	OPT_SERVER_AUTH, OPT_POP_AUTH, OPT_CLIENT_AUTH
};

static int	 tls_files_check(const struct instconf *, enum opt_id,
		    enum opt_id);
static void	 pam_on_result(evutil_socket_t, short, void *);
static void	 pam_reply(struct chan *, uint64_t, uint32_t);
#ifdef HAVE_PAM
static int	 pam_conv_fn(int, const struct pam_message **,
		    struct pam_response **, void *);
static void	 pam_nodelay(int, unsigned int, void *);
static int	 pam_run(const char *, const char *);
#endif

/*
 * TLS files must be readable; only the processes that use a key parse
 * it (smtp, pop, mta while still root), so the parent merely opens them.
 */
static int
tls_files_check(const struct instconf *ic, enum opt_id certopt,
    enum opt_id caopt)
{
	const struct optval	*ov = &ic->opt[certopt];
	const char		*ca, *errstr;
	uint32_t		 protocols;
	size_t			 i;
	int			 fd;

	if (tlsconf_protocols(conf_str(ic, OPT_TLS_CONFIG), &protocols,
	    &errstr) == -1) {
		fprintf(stderr, "emailrelay: error: --tls-config: %s\n",
		    errstr);
		return (-1);
	}
	for (i = 0; ov->set && i < ov->nlist; i++) {
		if ((fd = open(ov->list[i], O_RDONLY | O_CLOEXEC)) == -1) {
			fprintf(stderr, "emailrelay: error: --%s: %s: %s\n",
			    option_def(certopt)->name, ov->list[i],
			    strerror(errno));
			return (-1);
		}
		close(fd);
	}
	ca = conf_str(ic, caopt);
	if (ca == NULL || *ca == '\0' || strcmp(ca, "<default>") == 0)
		return (0);
	if ((fd = open(ca, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "emailrelay: error: --%s: %s: %s\n",
		    option_def(caopt)->name, ca, strerror(errno));
		return (-1);
	}
	close(fd);
	return (0);
}

int
parent_auth_check(const struct config *c)
{
	const struct instconf	*ic;
	struct secrets		*sec;
	const char		*v;
	char			 err[512];
	size_t			 k, i;

	for (k = 0; k < c->ninst; k++) {
		ic = &c->inst[k];
		for (i = 0; i < nitems(secrets_opts); i++) {
			if (!conf_bool(ic, secrets_opts[i]) ||
			    (v = conf_str(ic, secrets_opts[i])) == NULL)
				continue;
			if (strcmp(v, "pam:") == 0) {
#ifndef HAVE_PAM
				fprintf(stderr, "emailrelay: error: --%s: "
				    "pam: is not available in this build\n",
				    option_def(secrets_opts[i])->name);
				return (-1);
#else
				continue;
#endif
			}
			if (secrets_opts[i] == OPT_CLIENT_AUTH &&
			    secrets_client_auth_inline(v))
				sec = secrets_client_auth(v, err, sizeof(err));
			else
				sec = secrets_read(v, err, sizeof(err));
			if (sec == NULL) {
				fprintf(stderr, "emailrelay: error: invalid "
				    "secrets file: %s\n", err);
				return (-1);
			}
			secrets_free(sec);
		}
		if ((conf_bool(ic, OPT_SERVER_TLS) ||
		    conf_bool(ic, OPT_SERVER_TLS_CONNECTION)) &&
		    !conf_bool(ic, OPT_DONT_SERVE) &&
		    tls_files_check(ic, OPT_SERVER_TLS_CERTIFICATE,
		    OPT_SERVER_TLS_VERIFY) == -1)
			return (-1);
		if ((conf_bool(ic, OPT_CLIENT_TLS) ||
		    conf_bool(ic, OPT_CLIENT_TLS_CONNECTION)) &&
		    tls_files_check(ic, OPT_CLIENT_TLS_CERTIFICATE,
		    OPT_CLIENT_TLS_VERIFY) == -1)
			return (-1);
	}
	return (0);
}

/* MSG_LOOKUP_SECRETS_OPEN: only a file the configuration names. */
static void
secrets_open(struct chan *ch, struct msg *m, const struct config *c)
{
	const char	*v;
	char		 path[PATH_MAX];
	size_t		 k, i;
	int		 fd = -1, e = ENOENT;

	if (msg_get_str(m, path, sizeof(path)) == -1 ||
	    msg_get_end(m) == -1)
		fatalx("parent: bad %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	for (k = 0; k < c->ninst && fd == -1; k++)
		for (i = 0; i < nitems(secrets_opts) && fd == -1; i++) {
			if (!conf_bool(&c->inst[k], secrets_opts[i]) ||
			    (v = conf_str(&c->inst[k], secrets_opts[i])) ==
			    NULL || strcmp(v, path) != 0)
				continue;
			if ((fd = open(path, O_RDONLY | O_CLOEXEC |
			    O_NONBLOCK)) == -1)
				e = errno;
			else
				e = 0;
			break;
		}
	if (fd == -1 && e == ENOENT)
		log_warnx("lookup asked for a file that is not a secrets "
		    "file: %s", path);
	msg_reply_begin(&ch->m, MSG_LOOKUP_SECRETS_OPEN, m->id, fd);
	msg_put_u32(&ch->m, fd != -1 ? MSG_OK : (uint32_t)(e == 0 ? EIO : e));
	msg_end(&ch->m);
	chan_flush(ch);
}

static void
pam_reply(struct chan *ch, uint64_t id, uint32_t status)
{
	msg_reply_begin(&ch->m, MSG_LOOKUP_PAM_CHECK, id, -1);
	msg_put_u32(&ch->m, status);
	msg_end(&ch->m);
	chan_flush(ch);
}

static void
pam_on_result(evutil_socket_t fd, short ev, void *arg)
{
	struct pam_check	*pc = arg;
	unsigned char		 b = MSG_TEMPFAIL;
	ssize_t			 n;

	do {
		n = read(pc->fd, &b, 1);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n != 1 || b > MSG_PERMFAIL)
		b = MSG_TEMPFAIL;
	pam_reply(pc->ch, pc->id, b);
	event_free(pc->ev);
	close(pc->fd);
	/* parent_reap() collects the child. */
	memset(pc, 0, sizeof(*pc));
}

#ifdef HAVE_PAM
/* The conversation: the password for every hidden prompt. */
static int
pam_conv_fn(int n, const struct pam_message **msgs,
    struct pam_response **resp, void *arg)
{
	struct pam_response	*r;
	int			 i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG ||
	    (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return (PAM_CONV_ERR);
	for (i = 0; i < n; i++) {
		if (msgs[i]->msg_style != PAM_PROMPT_ECHO_OFF)
			continue;
		if ((r[i].resp = strdup(arg)) == NULL) {
			while (--i >= 0)
				free(r[i].resp);
			free(r);
			return (PAM_CONV_ERR);
		}
	}
	*resp = r;
	return (PAM_SUCCESS);
}

/* PAM_FAIL_DELAY: no sleeping here (SPEC 7). */
static void
pam_nodelay(int status, unsigned int usec, void *arg)
{
}

/* In the child: MSG_OK, MSG_PERMFAIL or MSG_TEMPFAIL. */
static int
pam_run(const char *user, const char *password)
{
	struct pam_conv	 conv;
	pam_handle_t	*ph = NULL;
	int		 r;

	conv.conv = pam_conv_fn;
	conv.appdata_ptr = (void *)(uintptr_t)password;
	if (pam_start(EMAILRELAY_PAM_SERVICE, user, &conv, &ph) != PAM_SUCCESS)
		return (MSG_TEMPFAIL);
	(void)pam_set_item(ph, PAM_FAIL_DELAY, (const void *)pam_nodelay);
	r = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(ph, PAM_SILENT);
	(void)pam_end(ph, r);
	switch (r) {
	case PAM_SUCCESS:
		return (MSG_OK);
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_PERM_DENIED:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_MAXTRIES:
	case PAM_CRED_INSUFFICIENT:
		return (MSG_PERMFAIL);
	default:
		return (MSG_TEMPFAIL);
	}
}
#endif

/* MSG_LOOKUP_PAM_CHECK: fork a checker, answer when it reports. */
static void
pam_check(struct chan *ch, struct msg *m, struct event_base *base)
{
	struct pam_check	*pc = NULL;
	char			 user[BOUNDS_DOMAIN + 1], pass[BOUNDS_LINE];
	size_t			 i;
	int			 pfd[2];
	pid_t			 pid;

	if (msg_get_str(m, user, sizeof(user)) == -1 ||
	    msg_get_str(m, pass, sizeof(pass)) == -1 ||
	    msg_get_end(m) == -1)
		fatalx("parent: bad %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	for (i = 0; i < PAM_MAX_CHECKS && pc == NULL; i++)
		if (pam_checks[i].ev == NULL)
			pc = &pam_checks[i];
	if (pc == NULL || pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == -1) {
		explicit_bzero(pass, sizeof(pass));
		pam_reply(ch, m->id, MSG_TEMPFAIL);
		return;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("pam: fork");
		close(pfd[0]);
		close(pfd[1]);
		explicit_bzero(pass, sizeof(pass));
		pam_reply(ch, m->id, MSG_TEMPFAIL);
		return;
	case 0: {
		unsigned char	 b = MSG_TEMPFAIL;

		/* libevent's signal pipe belongs to the parent. */
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(pfd[0]);
#ifdef HAVE_PAM
		b = (unsigned char)pam_run(user, pass);
#endif
		explicit_bzero(pass, sizeof(pass));
		(void)write(pfd[1], &b, 1);
		_exit(0);
	}
	default:
		break;
	}
	explicit_bzero(pass, sizeof(pass));
	close(pfd[1]);
	pc->fd = pfd[0];
	pc->pid = pid;
	pc->id = m->id;
	pc->ch = ch;
	if ((pc->ev = event_new(base, pc->fd, EV_READ | EV_PERSIST,
	    pam_on_result, pc)) == NULL || event_add(pc->ev, NULL) == -1)
		fatalx("parent: pam event");
}

int
parent_auth_dispatch(struct chan *ch, struct msg *m, struct event_base *base,
    const struct config *c)
{
	if (ch->peer != PROC_LOOKUP || (m->flags & MSG_F_REPLY))
		return (0);
	switch (m->type) {
	case MSG_LOOKUP_SECRETS_OPEN:
		secrets_open(ch, m, c);
		return (1);
	case MSG_LOOKUP_PAM_CHECK:
		pam_check(ch, m, base);
		return (1);
	default:
		return (0);
	}
}
