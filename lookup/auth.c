/*
 * Secrets and authentication in lookup (SPEC 7): the secrets files of
 * --server-auth, --pop-auth and --client-auth are read here, and only
 * here, while still root; the network-facing processes send credentials
 * (MSG_SMTPD_AUTH_CHECK, MSG_POP_AUTH_CHECK) and get a verdict, never a
 * secret, and mta gets only the client account it is about to use.
 *
 * A file is checked for changes (size, inode, modification time) at most
 * once a second when it is used, and on every configuration reload
 * (SIGHUP); a changed file is read again, by lookup itself when its
 * account may read it, else through the parent, which opens only the
 * files the configuration names.  A file that no longer parses keeps the
 * last good secrets and says why.  pam: checks go to the parent.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bounds.h"
#include "log.h"
#include "md5.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "secrets.h"
#include "lookup.h"

/* Which secrets of an instance. */
#define AUTH_SERVER	0		/* --server-auth */
#define AUTH_POP	1		/* --pop-auth */
#define AUTH_CLIENT	2		/* --client-auth */
#define AUTH_NFILES	3

#define AUTH_PAM_MAX	16		/* PAM checks waiting at once */
#define AUTH_SECRETMAX	BOUNDS_LINE

/* One secrets file (or inline --client-auth) of one instance. */
struct auth_file {
	char		*path;		/* NULL: unset, pam: or inline */
	int		 pam;
	struct secrets	*sec;
	struct stat	 st;		/* of what sec was read from */
	time_t		 checked;	/* last stat, seconds */
	uint64_t	 opening;	/* request to the parent, or 0 */
};

/* A check waiting for the parent's PAM answer. */
struct auth_pam {
	uint64_t	 id;		/* to the parent; 0 = free slot */
	enum proc_id	 peer;		/* who asked */
	uint16_t	 type;
	uint64_t	 reqid;		/* their id */
};

struct lookup_auth {
	struct auth_file	 f[BOUNDS_INSTANCES][AUTH_NFILES];
	uint32_t		 generation;	/* of the configuration */
	uint64_t		 nextid;
	struct auth_pam		 pam[AUTH_PAM_MAX];
};

static const enum opt_id auth_opt[AUTH_NFILES] = {
	OPT_SERVER_AUTH, OPT_POP_AUTH, OPT_CLIENT_AUTH
};

static void	 auth_setup(struct lookup_ctx *, int);
static struct auth_file *auth_file(struct lookup_ctx *, uint32_t, int);
static void	 auth_refresh(struct lookup_ctx *, struct auth_file *);
static int	 auth_load_fd(struct auth_file *, int);
static uint64_t	 auth_id(struct lookup_auth *);
static int	 auth_verify(const struct secrets *, const char *,
		    const char *, const char *, const char *, const char **);
static int	 auth_hmac_hex(const char *, const void *, size_t,
		    const char *, char *, size_t);
static void	 auth_hex(const unsigned char *, size_t, char *);
static void	 auth_reply(struct lookup_ctx *, enum proc_id, uint16_t,
		    uint64_t, uint32_t, const char *);
static void	 auth_session_reply(struct lookup_ctx *, enum proc_id,
		    uint16_t, uint64_t, uint32_t, const char *, const char *);
static void	 auth_on_dnsbl(void *, int);

/* A session check waiting for its DNSBL answer. */
struct auth_dnsbl {
	struct lookup_ctx	*ctx;
	enum proc_id		 peer;
	uint16_t		 type;
	uint64_t		 id;
	char			 trusted[64];
	char			 mechs[128];
};

static uint64_t
auth_id(struct lookup_auth *a)
{
	if (++a->nextid == 0)
		a->nextid = 1;
	return (a->nextid);
}

/* Read a secrets file from fd (closed here) into af. */
static int
auth_load_fd(struct auth_file *af, int fd)
{
	struct secrets	*sec;
	struct stat	 st;
	char		 err[512];

	if (fstat(fd, &st) == -1) {
		log_warn("cannot read secrets file: %s", af->path);
		close(fd);
		return (-1);
	}
	sec = secrets_read_fd(fd, af->path, err, sizeof(err));
	close(fd);
	/* Tried once per change, good or bad. */
	af->st = st;
	if (sec == NULL) {
		log_warnx("cannot read secrets file: %s (the previous "
		    "secrets stay in use)", err);
		return (-1);
	}
	secrets_free(af->sec);
	af->sec = sec;
	return (0);
}

/*
 * (Re)build the table from the configuration.  At start-up (root) every
 * file is read now and a failure is fatal; after a reload the files are
 * re-read when next used.
 */
static void
auth_setup(struct lookup_ctx *ctx, int startup)
{
	struct lookup_auth	*a = ctx->auth;
	const struct config	*c = &ctx->boot->conf;
	struct auth_file	*af;
	const char		*v;
	char			 err[512];
	size_t			 k;
	int			 w, fd;

	for (k = 0; k < BOUNDS_INSTANCES; k++) {
		for (w = 0; w < AUTH_NFILES; w++) {
			af = &a->f[k][w];
			v = k < c->ninst && conf_bool(&c->inst[k],
			    auth_opt[w]) ? conf_str(&c->inst[k], auth_opt[w]) :
			    NULL;
			if (v != NULL && *v == '\0')
				v = NULL;
			if (af->path != NULL && v != NULL &&
			    strcmp(af->path, v) == 0) {
				/* Same file: look at it again when used. */
				af->checked = 0;
				memset(&af->st, 0, sizeof(af->st));
				continue;
			}
			free(af->path);
			secrets_free(af->sec);
			memset(af, 0, sizeof(*af));
			if (v == NULL)
				continue;
			if (w != AUTH_CLIENT && strcmp(v, "pam:") == 0) {
				af->pam = 1;
				continue;
			}
			if (w == AUTH_CLIENT && secrets_client_auth_inline(v)) {
				if ((af->sec = secrets_client_auth(v, err,
				    sizeof(err))) == NULL)
					fatalx("--client-auth: %s", err);
				continue;
			}
			if ((af->path = strdup(v)) == NULL)
				fatal("lookup: secrets");
			if (!startup)
				continue;
			if ((fd = open(v, O_RDONLY | O_CLOEXEC)) == -1)
				fatal("cannot read secrets file: %s", v);
			if (auth_load_fd(af, fd) == -1)
				fatalx("cannot use secrets file: %s", v);
			af->checked = time(NULL);
		}
	}
	a->generation = ctx->boot->generation;
}

void
auth_init(struct lookup_ctx *ctx)
{
	if ((ctx->auth = calloc(1, sizeof(*ctx->auth))) == NULL)
		fatal("lookup: auth");
	auth_setup(ctx, 1);
}

/* The secrets of instance inst for w, refreshed; NULL if out of range. */
static struct auth_file *
auth_file(struct lookup_ctx *ctx, uint32_t inst, int w)
{
	struct auth_file	*af;

	if (ctx->auth->generation != ctx->boot->generation)
		auth_setup(ctx, 0);
	if (inst >= ctx->boot->conf.ninst)
		return (NULL);
	af = &ctx->auth->f[inst][w];
	if (af->path != NULL)
		auth_refresh(ctx, af);
	return (af);
}

/*
 * Has the file changed?  Read it again: ourselves if we may, else ask
 * the parent (answered in auth_parent_reply); meanwhile the old secrets
 * serve.
 */
static void
auth_refresh(struct lookup_ctx *ctx, struct auth_file *af)
{
	struct msgchan	*pm = &ctx->parent.m;
	struct stat	 st;
	time_t		 now = time(NULL);
	int		 fd;

	if (af->opening != 0 || (af->checked != 0 && now - af->checked < 1))
		return;
	af->checked = now;
	if (stat(af->path, &st) == -1) {
		if (af->sec == NULL || af->st.st_ino != 0) {
			log_warn("cannot read secrets file: %s", af->path);
			af->st.st_ino = 0;
		}
		return;
	}
	if (af->sec != NULL && st.st_ino == af->st.st_ino &&
	    st.st_dev == af->st.st_dev && st.st_size == af->st.st_size &&
	    st.st_mtim.tv_sec == af->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == af->st.st_mtim.tv_nsec)
		return;
	log_info("re-reading secrets file: %s", af->path);
	if ((fd = open(af->path, O_RDONLY | O_CLOEXEC)) != -1) {
		(void)auth_load_fd(af, fd);
		return;
	}
	if (errno != EACCES && errno != EPERM) {
		log_warn("cannot read secrets file: %s", af->path);
		af->st = st;
		return;
	}
	af->opening = auth_id(ctx->auth);
	msg_begin(pm, MSG_LOOKUP_SECRETS_OPEN, af->opening, -1);
	msg_put_str(pm, af->path);
	msg_end(pm);
	chan_flush(&ctx->parent);
}

static void
auth_reply(struct lookup_ctx *ctx, enum proc_id peer, uint16_t type,
    uint64_t id, uint32_t status, const char *kind)
{
	struct msgchan	*m = &ctx->peer[peer].m;

	msg_reply_begin(m, type, id, -1);
	msg_put_u32(m, status);
	msg_put_str(m, kind);
	msg_end(m);
	chan_flush(&ctx->peer[peer]);
}

static void
auth_session_reply(struct lookup_ctx *ctx, enum proc_id peer, uint16_t type,
    uint64_t id, uint32_t status, const char *trusted, const char *mechs)
{
	struct msgchan	*out = &ctx->peer[peer].m;

	msg_reply_begin(out, type, id, -1);
	msg_put_u32(out, status);
	msg_put_str(out, trusted);
	msg_put_str(out, mechs);
	msg_end(out);
	chan_flush(&ctx->peer[peer]);
}

static void
auth_on_dnsbl(void *arg, int allow)
{
	struct auth_dnsbl	*d = arg;

	auth_session_reply(d->ctx, d->peer, d->type, d->id, allow ? MSG_OK :
	    MSG_PERMFAIL, d->trusted, d->mechs);
	free(d);
}

/*
 * Before the greeting: the client's trust keyword and the mechanisms the
 * secrets allow, then for SMTP the DNSBL check (SPEC 4, 6.6).
 */
void
auth_session_check(struct lookup_ctx *ctx, struct chan *ch, struct msg *m)
{
	struct auth_dnsbl	*d;
	struct auth_file	*af;
	const char		*trusted = "", *mechs = "";
	char			 ip[128];
	uint32_t		 inst;

	if (msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, ip, sizeof(ip)) == -1 || msg_get_end(m) == -1 ||
	    (af = auth_file(ctx, inst, ch->peer == PROC_POP ? AUTH_POP :
	    AUTH_SERVER)) == NULL)
		fatalx("lookup: bad %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	if (af->pam)
		mechs = "PLAIN LOGIN";
	else if (af->sec != NULL) {
		mechs = secrets_server_mechs(af->sec);
		if ((trusted = secrets_trusted(af->sec, ip)) == NULL)
			trusted = "";
	}
	if (ch->peer == PROC_SMTP &&
	    conf_bool(&ctx->boot->conf.inst[inst], OPT_DNSBL)) {
		if ((d = calloc(1, sizeof(*d))) == NULL)
			fatal("lookup: dnsbl");
		d->ctx = ctx;
		d->peer = ch->peer;
		d->type = m->type;
		d->id = m->id;
		(void)strlcpy(d->trusted, trusted, sizeof(d->trusted));
		(void)strlcpy(d->mechs, mechs, sizeof(d->mechs));
		if (lookup_dnsbl_check(ctx, inst, ip, auth_on_dnsbl, d) == 0)
			return;
		free(d);
	}
	auth_session_reply(ctx, ch->peer, m->type, m->id, MSG_OK, trusted,
	    mechs);
}

static void
auth_hex(const unsigned char *p, size_t n, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* HMAC-<mech> of challenge keyed by key, as lower-case hex. */
static int
auth_hmac_hex(const char *mech, const void *key, size_t keylen,
    const char *challenge, char *out, size_t outsz)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	const EVP_MD	*evp;

	if (strcasecmp(mech, "CRAM-MD5") == 0)
		evp = EVP_md5();
	else if (strcasecmp(mech, "CRAM-SHA1") == 0)
		evp = EVP_sha1();
	else if (strcasecmp(mech, "CRAM-SHA256") == 0)
		evp = EVP_sha256();
	else if (strcasecmp(mech, "CRAM-SHA512") == 0)
		evp = EVP_sha512();
	else
		return (-1);
	if (HMAC(evp, key, (int)keylen, (const unsigned char *)challenge,
	    strlen(challenge), md, &mdlen) == NULL || mdlen * 2 + 1 > outsz)
		return (-1);
	auth_hex(md, mdlen, out);
	explicit_bzero(md, sizeof(md));
	return (0);
}

/*
 * Check credentials against file secrets.  Returns MSG_OK or
 * MSG_PERMFAIL, with *kind the kind of secret tried ("" for none).
 */
static int
auth_verify(const struct secrets *sec, const char *mech, const char *id,
    const char *secret, const char *challenge, const char **kind)
{
	const struct secret	*s;
	unsigned char		 md[MD5_DIGEST];
	char			 want[EVP_MAX_MD_SIZE * 2 + 1];
	char			 got[EVP_MAX_MD_SIZE * 2 + 1];
	size_t			 idlen = strlen(id), n, i;
	int			 ok = 0, cram;

	*kind = "";
	cram = strncasecmp(mech, "CRAM-", 5) == 0;
	if (sec == NULL)
		return (MSG_PERMFAIL);
	if (cram && strcasecmp(mech, "CRAM-MD5") == 0 &&
	    (s = secrets_server_lookup(sec, SECRET_MD5, id, idlen)) != NULL) {
		*kind = secrets_kind_name(s->kind);
		md5_hmac_from_state(s->secret, challenge, strlen(challenge),
		    md);
		auth_hex(md, sizeof(md), want);
		explicit_bzero(md, sizeof(md));
	} else if ((s = secrets_server_lookup(sec, SECRET_PLAIN, id,
	    idlen)) != NULL) {
		*kind = secrets_kind_name(s->kind);
		if (!cram) {
			n = strlen(secret);
			return (n == s->secretlen && CRYPTO_memcmp(secret,
			    s->secret, n) == 0 ? MSG_OK : MSG_PERMFAIL);
		}
		if (auth_hmac_hex(mech, s->secret, s->secretlen, challenge,
		    want, sizeof(want)) == -1)
			return (MSG_PERMFAIL);
	} else
		return (MSG_PERMFAIL);
	/* The client's hex digest, in whatever case. */
	n = strlen(secret);
	if (n == strlen(want) && n < sizeof(got)) {
		for (i = 0; i < n; i++)
			got[i] = (char)tolower((unsigned char)secret[i]);
		got[n] = '\0';
		ok = CRYPTO_memcmp(got, want, n) == 0;
	}
	explicit_bzero(want, sizeof(want));
	explicit_bzero(got, sizeof(got));
	return (ok ? MSG_OK : MSG_PERMFAIL);
}

void
auth_check(struct lookup_ctx *ctx, struct chan *ch, struct msg *m)
{
	struct lookup_auth	*a = ctx->auth;
	struct msgchan		*pm = &ctx->parent.m;
	struct auth_file	*af;
	struct auth_pam		*ap = NULL;
	char			 mech[32], authzid[BOUNDS_DOMAIN + 1];
	char			 id[BOUNDS_DOMAIN + 1], secret[AUTH_SECRETMAX];
	char			 challenge[BOUNDS_DOMAIN + 64], ip[128];
	const char		*kind;
	uint32_t		 inst;
	size_t			 i;
	int			 st;

	if (msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, mech, sizeof(mech)) == -1 ||
	    msg_get_str(m, authzid, sizeof(authzid)) == -1 ||
	    msg_get_str(m, id, sizeof(id)) == -1 ||
	    msg_get_str(m, secret, sizeof(secret)) == -1 ||
	    msg_get_str(m, challenge, sizeof(challenge)) == -1 ||
	    msg_get_str(m, ip, sizeof(ip)) == -1 || msg_get_end(m) == -1 ||
	    (af = auth_file(ctx, inst, ch->peer == PROC_POP ? AUTH_POP :
	    AUTH_SERVER)) == NULL)
		fatalx("lookup: bad %s from %s", msg_type_name(m->type),
		    proc_name(ch->peer));
	if (!af->pam) {
		st = auth_verify(af->sec, mech, id, secret, challenge, &kind);
		explicit_bzero(secret, sizeof(secret));
		auth_reply(ctx, ch->peer, m->type, m->id, (uint32_t)st, kind);
		return;
	}
	/* PAM takes a password: PLAIN and LOGIN only (SPEC 7). */
	if (strcasecmp(mech, "PLAIN") != 0 && strcasecmp(mech, "LOGIN") != 0) {
		explicit_bzero(secret, sizeof(secret));
		auth_reply(ctx, ch->peer, m->type, m->id, MSG_PERMFAIL, "pam");
		return;
	}
	for (i = 0; i < AUTH_PAM_MAX && ap == NULL; i++)
		if (a->pam[i].id == 0)
			ap = &a->pam[i];
	if (ap == NULL) {
		explicit_bzero(secret, sizeof(secret));
		auth_reply(ctx, ch->peer, m->type, m->id, MSG_TEMPFAIL, "pam");
		return;
	}
	ap->id = auth_id(a);
	ap->peer = ch->peer;
	ap->type = m->type;
	ap->reqid = m->id;
	msg_begin(pm, MSG_LOOKUP_PAM_CHECK, ap->id, -1);
	msg_put_str(pm, id);
	msg_put_str(pm, secret);
	msg_end(pm);
	explicit_bzero(secret, sizeof(secret));
	chan_flush(&ctx->parent);
}

void
auth_client_secret(struct lookup_ctx *ctx, struct msg *m)
{
	struct msgchan		*out = &ctx->peer[PROC_MTA].m;
	struct auth_file	*af;
	const struct secret	*s = NULL;
	char			 selector[BOUNDS_LINE];
	uint32_t		 inst, status;

	if (msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, selector, sizeof(selector)) == -1 ||
	    msg_get_end(m) == -1 ||
	    (af = auth_file(ctx, inst, AUTH_CLIENT)) == NULL)
		fatalx("lookup: bad %s from mta", msg_type_name(m->type));
	if (af->sec == NULL)
		status = af->path != NULL ? MSG_TEMPFAIL : MSG_PERMFAIL;
	else if ((s = secrets_client_lookup(af->sec, selector)) == NULL)
		status = MSG_PERMFAIL;
	else
		status = MSG_OK;
	msg_reply_begin(out, MSG_MTA_CLIENT_SECRET, m->id, -1);
	msg_put_u32(out, status);
	msg_put_u32(out, s != NULL ? (uint32_t)s->kind : 0);
	msg_put_str(out, s != NULL ? s->id : "");
	msg_put_data(out, s != NULL ? s->secret : (const unsigned char *)"",
	    s != NULL ? s->secretlen : 0);
	msg_end(out);
	chan_flush(&ctx->peer[PROC_MTA]);
}

void
auth_parent_reply(struct lookup_ctx *ctx, struct msg *m)
{
	struct lookup_auth	*a = ctx->auth;
	struct auth_file	*af;
	uint32_t		 status;
	size_t			 k, i;
	int			 w, fd;

	if (m->type == MSG_LOOKUP_SECRETS_OPEN) {
		fd = msg_take_fd(m);
		if (msg_get_u32(m, &status) == -1 || msg_get_end(m) == -1 ||
		    (status == MSG_OK) != (fd != -1))
			fatalx("lookup: bad %s reply from the parent",
			    msg_type_name(m->type));
		for (k = 0; k < BOUNDS_INSTANCES; k++)
			for (w = 0; w < AUTH_NFILES; w++) {
				af = &a->f[k][w];
				if (af->opening != m->id || m->id == 0)
					continue;
				af->opening = 0;
				if (fd != -1) {
					(void)auth_load_fd(af, fd);
					return;
				}
				log_warnx("cannot read secrets file: %s: %s",
				    af->path, strerror((int)status));
				return;
			}
		/* The configuration changed meanwhile. */
		if (fd != -1)
			close(fd);
		return;
	}
	if (msg_get_u32(m, &status) == -1 || msg_get_end(m) == -1 ||
	    status > MSG_PERMFAIL)
		fatalx("lookup: bad %s reply from the parent",
		    msg_type_name(m->type));
	for (i = 0; i < AUTH_PAM_MAX; i++) {
		if (a->pam[i].id != m->id || m->id == 0)
			continue;
		auth_reply(ctx, a->pam[i].peer, a->pam[i].type,
		    a->pam[i].reqid, status, "pam");
		memset(&a->pam[i], 0, sizeof(a->pam[i]));
		return;
	}
	fatalx("lookup: %s reply for an unknown request",
	    msg_type_name(m->type));
}
