/*
 * The built-in filters and verifiers that lookup runs (lookupnet.h):
 * net:, spam:, spam-edit: and mx: filters (SPEC 6.3), net: and account:
 * address verifiers (SPEC 6.5).  Their outcomes are those a program
 * would give (filter_result.h), so queue and smtpd cannot tell them
 * apart.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "envelope.h"
#include "filter_result.h"
#include "log.h"
#include "options.h"
#include "spool.h"
#include "account.h"
#include "dns.h"
#include "mx.h"
#include "netproto.h"
#include "lookup.h"
#include "lookupnet.h"

#define BI_REQ_MAX	(NETPROTO_LINE_MAX + 2)	/* request line, LF, NUL */

/* A built-in filter under way. */
struct bi_filter {
	struct lookup_ctx	*ctx;
	uint64_t		 id;
	uint32_t		 inst;
	int			 client;
	void			(*reply)(struct lookup_ctx *, uint64_t,
				    const struct filter_outcome *);
	char			 value[BOUNDS_PATH * 4];
	char			 envelope[BOUNDS_PATH * 4];
	struct mx_route		*route;
	struct mx_conf		 mx;
};

/* A net: verifier under way. */
struct bi_verify {
	struct lookup_ctx	*ctx;
	uint64_t		 id;
	void			(*reply)(struct lookup_ctx *, uint64_t,
				    const struct verify_outcome *);
};

static int	 bi_configured(const struct instconf *, int, const char *);
static int	 bi_spool_path(const struct instconf *, const char *, char *,
		    size_t);
static void	 bi_reply(struct bi_filter *, struct filter_outcome *);
static void	 bi_fail(struct filter_outcome *, int, const char *,
		    const char *);
static void	 bi_on_net(void *, const char *, size_t, int, const char *);
static void	 bi_on_spam(void *, const struct filter_outcome *);
static void	 bi_mx_start(struct bi_filter *);
static void	 bi_on_mx(void *, const struct mx_result *);
static int	 bi_envelope_set(const char *, const char *, char *, size_t);
static void	 bi_on_verify(void *, const char *, size_t, int,
		    const char *);

int
lnet_filter_is_builtin(const char *v)
{
	return (strncmp(v, "net:", 4) == 0 || strncmp(v, "spam:", 5) == 0 ||
	    strncmp(v, "spam-edit:", 10) == 0 || strncmp(v, "mx:", 3) == 0);
}

int
lnet_verify_is_builtin(const char *v)
{
	return (strncmp(v, "net:", 4) == 0 || strncmp(v, "account:", 8) == 0);
}

/* Whether v is one of the instance's filters (client: client filters). */
static int
bi_configured(const struct instconf *ic, int client, const char *v)
{
	const struct optval	*ov;
	size_t			 i;

	ov = &ic->opt[client ? OPT_CLIENT_FILTER : OPT_FILTER];
	for (i = 0; ov->set && i < ov->nlist; i++)
		if (strcmp(ov->list[i], v) == 0)
			return (1);
	return (0);
}

/*
 * Whether path is "<spool-dir>/<spool file name>" of the instance, the
 * only files a built-in touches; the directory goes into dir.
 */
static int
bi_spool_path(const struct instconf *ic, const char *path, char *dir,
    size_t dirsz)
{
	const char	*sd = conf_str(ic, OPT_SPOOL_DIR), *slash;
	size_t		 n;

	if ((slash = strrchr(path, '/')) == NULL ||
	    !spool_name_valid(slash + 1))
		return (0);
	n = (size_t)(slash - path);
	if (strlen(sd) != n || strncmp(path, sd, n) != 0 || n >= dirsz)
		return (0);
	memcpy(dir, path, n);
	dir[n] = '\0';
	return (1);
}

void
lnet_filter_run(struct lookup_ctx *ctx, uint64_t id, uint32_t inst,
    int client, const char *value, const char *content, const char *envelope,
    void (*reply)(struct lookup_ctx *, uint64_t,
    const struct filter_outcome *))
{
	const struct instconf	*ic = &ctx->boot->conf.inst[inst];
	struct filter_outcome	 o;
	struct bi_filter	*f;
	char			 dir[BOUNDS_PATH * 4], req[BI_REQ_MAX];
	char			 buf[256];
	const char		*e;
	int			 n, timeout;

	timeout = (int)conf_num(ic, OPT_FILTER_TIMEOUT);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		log_warn("lookup: filter");
		bi_fail(&o, 451, "filter error", "out of memory");
		reply(ctx, id, &o);
		return;
	}
	f->ctx = ctx;
	f->id = id;
	f->inst = inst;
	f->client = client;
	f->reply = reply;
	(void)strlcpy(f->value, value, sizeof(f->value));
	(void)strlcpy(f->envelope, envelope, sizeof(f->envelope));
	(void)log_vis(buf, sizeof(buf), value, strlen(value));
	if (!bi_configured(ic, client, value)) {
		log_warnx("lookup: filter %s is not configured", buf);
		bi_fail(&o, 451, "filter error", "filter not configured");
		bi_reply(f, &o);
		return;
	}
	if (!bi_spool_path(ic, content, dir, sizeof(dir)) ||
	    !bi_spool_path(ic, envelope, dir, sizeof(dir))) {
		log_warnx("lookup: %s: message files outside the spool "
		    "directory", buf);
		bi_fail(&o, 451, "filter error", "bad message path");
		bi_reply(f, &o);
		return;
	}
	if (strncmp(value, "net:", 4) == 0) {
		if ((n = netproto_filter_request(req, sizeof(req),
		    content)) == -1) {
			netproto_filter_fail(NULL, "net filter: content path "
			    "cannot be sent", 0, &o);
			bi_reply(f, &o);
			return;
		}
		if (lnet_line_request(ctx, LNET_LINE_FILTER, value + 4, req,
		    (size_t)n, NETPROTO_LINE_MAX, timeout * 1000, bi_on_net,
		    f) == 0)
			return;
		log_warn("lookup: %s", buf);
		netproto_filter_fail(NULL, "net filter: too busy", 0, &o);
		bi_reply(f, &o);
		return;
	}
	if (strncmp(value, "spam:", 5) == 0 ||
	    strncmp(value, "spam-edit:", 10) == 0) {
		n = value[4] == ':' ? 0 : 1;
		if (lnet_spam_start(ctx, ctx->boot->conf.inst[inst].name,
		    value + (n ? 10 : 5), n, content, timeout, bi_on_spam,
		    f) == 0)
			return;
		log_warn("lookup: %s", buf);
		bi_fail(&o, 451, "spam filter error", "out of memory");
		bi_reply(f, &o);
		return;
	}
	if (strncmp(value, "mx:", 3) == 0) {
		if (mx_parse_options(value + 3, &f->mx, &e) == -1) {
			log_warnx("lookup: %s: %s", buf, e);
			bi_fail(&o, 451, "routing failed", e);
			bi_reply(f, &o);
			return;
		}
		bi_mx_start(f);
		return;
	}
	bi_fail(&o, 451, "filter error", "unknown built-in filter");
	bi_reply(f, &o);
}

/* A failure with a code, response text and reason (*o filled). */
static void
bi_fail(struct filter_outcome *o, int code, const char *response,
    const char *reason)
{
	char	 resp[128];

	(void)snprintf(resp, sizeof(resp), "%d %s", code, response);
	netproto_filter_fail(resp, reason, 0, o);
}

/*
 * Send f's outcome (converted to the client column for a client
 * filter: no rescan) and free f.
 */
static void
bi_reply(struct bi_filter *f, struct filter_outcome *o)
{
	if (f->client)
		o->rescan = 0;
	f->reply(f->ctx, f->id, o);
	free(f);
}

static void
bi_on_net(void *arg, const char *line, size_t len, int timed_out,
    const char *errstr)
{
	struct bi_filter	*f = arg;
	struct filter_outcome	 o;
	char			 why[128];

	if (line != NULL)
		netproto_filter_response(line, len, &o);
	else {
		(void)snprintf(why, sizeof(why), "net filter: %s", errstr);
		netproto_filter_fail(NULL, why, timed_out, &o);
	}
	bi_reply(f, &o);
}

static void
bi_on_spam(void *arg, const struct filter_outcome *res)
{
	struct bi_filter	*f = arg;
	struct filter_outcome	 o;

	o = *res;
	bi_reply(f, &o);
}

/*
 * mx: (SPEC 6.3): route the envelope's ForwardTo; nothing to do
 * without one.
 */
static void
bi_mx_start(struct bi_filter *f)
{
	struct filter_outcome	 o;
	struct envelope		 env;
	struct dns		*r;
	const char		*e;
	char			 dir[BOUNDS_PATH * 4], err[256], buf[256];
	const char		*name;
	int			 dirfd;

	(void)log_vis(buf, sizeof(buf), f->envelope, strlen(f->envelope));
	name = strrchr(f->envelope, '/') + 1;
	(void)strlcpy(dir, f->envelope, sizeof(dir));
	dir[name - 1 - f->envelope] = '\0';
	envelope_init(&env);
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    spool_envelope_load(dirfd, name, &env, err, sizeof(err)) == -1) {
		if (dirfd == -1)
			(void)snprintf(err, sizeof(err), "%s", strerror(errno));
		else
			close(dirfd);
		log_warnx("lookup: mx: %s: %s", buf, err);
		envelope_free(&env);
		bi_fail(&o, 451, "routing failed", "cannot read the envelope");
		bi_reply(f, &o);
		return;
	}
	close(dirfd);
	if (env.forward_to[0] == '\0') {
		envelope_free(&env);
		filter_result_server(0, 0, NULL, 0, &o);
		bi_reply(f, &o);
		return;
	}
	if ((r = lnet_resolver(f->ctx, f->mx.server, f->mx.nst * 1000,
	    &e)) == NULL) {
		log_warnx("lookup: mx: resolver: %s", e);
		envelope_free(&env);
		bi_on_mx(f, &(struct mx_result){ .status = MX_TEMP,
		    .reason = "DNS resolver unavailable" });
		return;
	}
	f->route = mx_route_start(r, env.forward_to, &f->mx, bi_on_mx, f);
	envelope_free(&env);
	if (f->route == NULL)
		bi_on_mx(f, &(struct mx_result){ .status = MX_TEMP,
		    .reason = "DNS resolver busy" });
}

static void
bi_on_mx(void *arg, const struct mx_result *res)
{
	struct bi_filter	*f = arg;
	struct filter_outcome	 o;
	const char		*unit = f->ctx->boot->conf.inst[f->inst].name;
	char			 buf[256], why[512], err[256];

	f->route = NULL;
	(void)log_vis(buf, sizeof(buf), strrchr(f->envelope, '/') + 1,
	    strlen(strrchr(f->envelope, '/') + 1));
	switch (res->status) {
	case MX_OK:
	case MX_CLEAR:
		if (bi_envelope_set(f->envelope, res->status == MX_OK ?
		    res->address : "", err, sizeof(err)) == -1) {
			log_warnx("lookup: mx: %s: %s", buf, err);
			bi_fail(&o, 451, "routing failed", "cannot write the "
			    "envelope");
			break;
		}
		if (res->status == MX_OK)
			ulog_verbose(unit, "mx: [%s]: routed to %s%s%s%s", buf,
			    res->address, res->exchanger[0] != '\0' ?
			    " (" : "", res->exchanger, res->exchanger[0] !=
			    '\0' ? ")" : "");
		else
			ulog_verbose(unit, "mx: [%s]: routing cleared", buf);
		filter_result_server(0, 0, NULL, 0, &o);
		break;
	case MX_FAIL:
		(void)snprintf(why, sizeof(why), "routing failed: %s",
		    res->reason);
		bi_fail(&o, 550, "routing failed", why);
		break;
	default:
		/*
		 * Temporary: a client filter leaves the message ready for
		 * a later pass; a server filter fails with a 4xx.
		 */
		log_warnx("mx: [%s]: routing deferred: %s", buf, res->reason);
		(void)snprintf(why, sizeof(why), "routing deferred: %s",
		    res->reason);
		if (f->client) {
			filter_result_client(100, 0, NULL, 0, &o);
			(void)strlcpy(o.reason, why, sizeof(o.reason));
		} else
			bi_fail(&o, 451, "routing failed", why);
		break;
	}
	bi_reply(f, &o);
}

/*
 * Set ForwardToAddress of the envelope at path (".new" or ".busy") to
 * address ("" clears it): read, change, write a new file, fsync and
 * rename it over the old one (spool.c; a ".new" envelope, not yet
 * acknowledged, is rewritten in place).  Returns 0, or -1 with err set.
 */
static int
bi_envelope_set(const char *path, const char *address, char *err,
    size_t errsz)
{
	struct envelope	 env;
	char		 dir[BOUNDS_PATH * 4], base[SPOOL_BASE_MAX];
	const char	*name;
	mode_t		 mask;
	int		 dirfd, kind, rv = -1;

	name = strrchr(path, '/') + 1;
	(void)strlcpy(dir, path, sizeof(dir));
	dir[name - 1 - path] = '\0';
	if (spool_name_parse(name, base, sizeof(base), &kind) == -1 ||
	    (kind != SPOOL_NEW && kind != SPOOL_BUSY)) {
		(void)snprintf(err, errsz, "not an envelope being filtered");
		return (-1);
	}
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errsz, "%s", strerror(errno));
		return (-1);
	}
	envelope_init(&env);
	mask = umask(007);
	if (spool_envelope_load(dirfd, name, &env, err, errsz) == -1)
		goto done;
	if (strcmp(env.forward_to_address, address) == 0) {
		rv = 0;
		goto done;
	}
	if (envelope_set_forward_to_address(&env, address) == -1) {
		(void)snprintf(err, errsz, "bad address");
		goto done;
	}
	if (kind == SPOOL_NEW)
		rv = spool_envelope_write_new(dirfd, base, &env, err, errsz);
	else
		rv = spool_envelope_rewrite(dirfd, base, SPOOL_BUSY, &env, err,
		    errsz);
	if (rv == 0 && spool_dir_sync(dirfd) == -1) {
		(void)snprintf(err, errsz, "%s", strerror(errno));
		rv = -1;
	}
 done:
	(void)umask(mask);
	envelope_free(&env);
	close(dirfd);
	return (rv);
}

void
lnet_verify_run(struct lookup_ctx *ctx, uint64_t id, uint32_t inst,
    const char *value, const struct netproto_verify_req *req,
    void (*reply)(struct lookup_ctx *, uint64_t,
    const struct verify_outcome *))
{
	const struct instconf	*ic = &ctx->boot->conf.inst[inst];
	struct account_conf	 ac;
	struct verify_outcome	 o;
	struct bi_verify	*v;
	char			 line[BI_REQ_MAX], err[256];
	int			 n;

	if (strncmp(value, "account:", 8) == 0) {
		if (account_parse(value + 8, &ac, err, sizeof(err)) == -1) {
			log_warnx("lookup: %s", err);
			netproto_verify_fail("verifier error", 0, &o);
		} else
			account_verify(&ac, req->to, req->domain, &o);
		reply(ctx, id, &o);
		return;
	}
	/* net: */
	if ((n = netproto_verify_request(line, sizeof(line), req)) == -1) {
		if (errno == EINVAL)
			verifier_result(2, 0, NULL, 0, &o);
		else
			netproto_verify_fail("address too long", 0, &o);
		reply(ctx, id, &o);
		return;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		goto fail;
	v->ctx = ctx;
	v->id = id;
	v->reply = reply;
	if (lnet_line_request(ctx, LNET_LINE_VERIFY, value + 4, line,
	    (size_t)n, NETPROTO_LINE_MAX, (int)conf_num(ic,
	    OPT_FILTER_TIMEOUT) * 1000, bi_on_verify, v) == 0)
		return;
	free(v);
 fail:
	log_warn("lookup: net verifier");
	netproto_verify_fail(NULL, 0, &o);
	reply(ctx, id, &o);
}

static void
bi_on_verify(void *arg, const char *line, size_t len, int timed_out,
    const char *errstr)
{
	struct bi_verify	*v = arg;
	struct verify_outcome	 o;

	if (line != NULL)
		netproto_verify_response(line, len, &o);
	else {
		log_warnx("lookup: net verifier: %s", errstr);
		netproto_verify_fail(NULL, timed_out, &o);
	}
	v->reply(v->ctx, v->id, &o);
	free(v);
}
