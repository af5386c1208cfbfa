/*
 * Forwarding passes (SPEC 5): per instance, scan the ready envelopes
 * oldest first, claim one (".busy" plus the content lock, kept until its
 * outcome), hand it to mta with a fresh read-only content descriptor and
 * apply the outcome to the spool: delivered removes both files, a
 * failure makes the envelope ".bad" with its reason, a failed connection
 * returns the message to ready.  Up to PASS_WINDOW messages of a pass
 * are in flight at once, so mta always has the next one at hand (it
 * sends consecutive messages for one address over one connection and
 * serves different addresses in parallel).  A failed connection or
 * session skips the rest of that address for the pass.  Triggers:
 * start-up (--forward, --as-client), --poll (poll.c), the end of a
 * client session that stored mail (--forward-on-disconnect); one that
 * comes during a pass makes one more pass afterwards.  --as-client ends
 * the process after its first pass unless it polls.
 *
 * --immediate forwards each message as it is stored, before the client
 * gets its reply (pass_immediate()).
 *
 * Admin clients that gave "notify" (SPEC 9) get "forward: start" when a
 * pass starts and "forward: end" when it ends, whatever the trigger; an
 * --immediate forward is a pass of one message for them.
 *
 * With --client-filter the chain runs on the claimed message before it
 * goes to mta (SPEC 6.2's client column); its exits may end the pass, so
 * such an instance has one message in flight at a time.  The messages a
 * split: client filter makes stay claimed (".busy") until the original
 * is settled, then go back to ready for one more pass.
 *
 * The split: messages share their content's inode with the original (a
 * hard link), and so its lock: a claim that meets our own lock on that
 * inode marks the holder, whose settling starts one more pass.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "envelope.h"
#include "filter_result.h"
#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "queue.h"
#include "spool.h"

#define PASS_SCANMAX	(1024 * 1024)	/* envelopes per pass */
#define PASS_SKIPMAX	16		/* failed addresses per pass */
#define PASS_ADDRMAX	ENVELOPE_FIELD_MAX
#define PASS_RCPTMAX	16000		/* recipient bytes per frame */
#define PASS_TRIGMAX	32
#define PASS_WINDOW	8		/* messages of a pass in flight */

#define R_NOREMOTE	"no remote recipients"
#define EV_START	"forward: start"
#define EV_END		"forward: end"

/* One instance's forwarding state. */
struct qpass {
	struct queue_ctx	*ctx;
	uint32_t		 inst;
	const char		*unit;
	const char		*dir;		/* --spool-dir (logs) */
	int			 dirfd;
	const char		*forward_to;	/* --forward-to */
	int			 running;
	int			 again;		/* one more pass */
	char			 again_trigger[PASS_TRIGMAX];
	int			 client;	/* --as-client */
	int			 status;	/* exit status for parent */

	/* The pass. */
	struct spool_entry	*list;
	size_t			 n, i;
	size_t			 claimed;
	size_t			 inflight;	/* qfwds of the pass */
	struct {
		char	 addr[PASS_ADDRMAX];
		char	 selector[ENVELOPE_FIELD_MAX];
		int	 any;		/* every selector (connect failed) */
	}			 skip[PASS_SKIPMAX];
	size_t			 nskip;
};

/* A claimed message handed to mta, awaiting its outcome. */
struct qfwd {
	TAILQ_ENTRY(qfwd)	 entry;
	TAILQ_ENTRY(qfwd)	 claim;		/* in ctx->claims */
	struct qpass		*ps;
	uint64_t		 id;
	uint64_t		 sid;		/* --immediate: smtpd session */
	int			 inpass;	/* counts in ps->inflight */
	int			 filtering;	/* the client filters run */
	int			 fd;		/* locked content */
	dev_t			 dev;		/* of the content */
	ino_t			 ino;
	int			 wake;		/* a claim met our lock */
	char			 base[SPOOL_BASE_MAX];
	char			 addr[PASS_ADDRMAX];
	struct envelope		 env;
	struct spool_entry	*parts;		/* split: made, ".busy" */
	size_t			 nparts;
};

static void	 pass_start(struct qpass *, const char *);
static void	 pass_next(struct qpass *);
static void	 pass_end(struct qpass *);
static int	 pass_skipped(const struct qpass *, const char *,
		    const char *);
static void	 pass_skip(struct qpass *, const char *, const char *);
static struct qfwd *pass_claim(struct qpass *, const char *, int);
static const char *pass_forward_to(struct qpass *);
static int	 pass_go(struct qfwd *);
static int	 pass_deliver(struct qfwd *);
static void	 pass_on_chain(struct queue_ctx *, void *,
		    struct chain_result *);
static void	 pass_wake_holder(struct qpass *, const char *);
static void	 pass_done(struct qpass *, int);
static int	 pass_send(struct qfwd *);
static void	 pass_settle(struct qfwd *);
static void	 pass_apply(struct qfwd *, uint32_t, uint32_t, const char *,
		    const unsigned char *, size_t);
static int	 pass_keep_rejected(struct qfwd *, const unsigned char *,
		    size_t);

void
pass_init(struct queue_ctx *ctx)
{
	const struct config	*conf = &ctx->boot->conf;
	const struct instconf	*ic;
	struct qpass		*ps;
	size_t			 i;

	TAILQ_INIT(&ctx->fwds);
	TAILQ_INIT(&ctx->claims);
	for (i = 0; i < conf->ninst; i++) {
		ic = &conf->inst[i];
		if ((ps = calloc(1, sizeof(*ps))) == NULL)
			fatal("queue: pass");
		ps->ctx = ctx;
		ps->inst = (uint32_t)i;
		ps->unit = ic->name;
		ps->dir = conf_str(ic, OPT_SPOOL_DIR);
		ps->dirfd = ctx->spool[i].dirfd;
		ps->forward_to = conf_bool(ic, OPT_FORWARD_TO) ?
		    conf_str(ic, OPT_FORWARD_TO) : NULL;
		ctx->pass[i] = ps;
		if (ps->forward_to == NULL)
			continue;
		/* With --poll (SPEC 13: --poll-run retry:) it goes on. */
		if (conf_bool(ic, OPT_AS_CLIENT) && !(conf_bool(ic, OPT_POLL) &&
		    conf_num(ic, OPT_POLL) > 0)) {
			ps->client = 1;
			ctx->clients++;
		}
	}
	for (i = 0; i < conf->ninst; i++) {
		ps = ctx->pass[i];
		if (ps->forward_to != NULL &&
		    conf_bool(&conf->inst[i], OPT_FORWARD))
			pass_trigger(ctx, ps->inst, "startup");
	}
}

/*
 * --forward-to as the configuration says now, read again at every
 * trigger since a reload may change it (the old value stays valid, see
 * proc.c, for the messages of a pass under way).  NULL: none now.
 */
static const char *
pass_forward_to(struct qpass *ps)
{
	const struct instconf	*ic = &ps->ctx->boot->conf.inst[ps->inst];

	if (!conf_bool(ic, OPT_FORWARD_TO))
		return (NULL);
	return (ps->forward_to = conf_str(ic, OPT_FORWARD_TO));
}

void
pass_trigger(struct queue_ctx *ctx, uint32_t inst, const char *trigger)
{
	struct qpass	*ps;

	if (inst >= ctx->nspool || (ps = ctx->pass[inst]) == NULL ||
	    pass_forward_to(ps) == NULL)
		return;
	if (ctx->fwd_paused) {
		ulog_info(ps->unit, "forwarding: [%s]: paused by "
		    "emailrelayctl", trigger);
		return;
	}
	if (ps->running) {
		ps->again = 1;
		(void)strlcpy(ps->again_trigger, trigger,
		    sizeof(ps->again_trigger));
		return;
	}
	pass_start(ps, trigger);
}

void
pass_session_end(struct queue_ctx *ctx, struct msg *m)
{
	uint32_t	 inst, stored;

	if (msg_get_u32(m, &inst) == -1 || msg_get_u32(m, &stored) == -1 ||
	    msg_get_end(m) == -1 || inst >= ctx->nspool)
		fatalx("queue: bad %s from smtp", msg_type_name(m->type));
	if (stored > 0 && conf_bool(&ctx->boot->conf.inst[inst],
	    OPT_FORWARD_ON_DISCONNECT))
		pass_trigger(ctx, inst, "client disconnect");
}

static void
pass_start(struct qpass *ps, const char *trigger)
{
	int	 truncated = 0;

	ulog_info(ps->unit, "forwarding: [%s]", trigger);
	admin_event(ps->ctx, ps->inst, EV_START);
	ps->running = 1;
	ps->again = 0;
	ps->nskip = 0;
	ps->claimed = 0;
	ps->i = ps->n = 0;
	ps->list = NULL;
	if (spool_recover(ps->dirfd, time(NULL), queue_recover_log,
	    (void *)ps->dir) == -1 ||
	    spool_scan(ps->dirfd, SPOOL_READY, PASS_SCANMAX, &ps->list,
	    &ps->n, &truncated) == -1) {
		log_warn("queue: cannot read the spool directory");
		ps->status = 1;
		ps->n = 0;
	}
	pass_next(ps);
}

/*
 * Claim message base and load its envelope.  Returns the claim, or NULL
 * when the message is gone, claimed by someone else or unreadable (then
 * left where it was, with a warning).
 */
static struct qfwd *
pass_claim(struct qpass *ps, const char *base, int inpass)
{
	struct qfwd	*f;
	struct stat	 st;
	char		 err[256], name[SPOOL_NAME_MAX];
	int		 fd;

	if (spool_claim(ps->dirfd, base, &fd) == -1) {
		if (errno == EAGAIN)
			pass_wake_holder(ps, base);
		else if (errno != ENOENT)
			log_warn("queue: cannot claim [%s]", base);
		return (NULL);
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		log_warn("queue: forwarding");
		close(fd);
		(void)spool_release(ps->dirfd, base);
		return (NULL);
	}
	f->ps = ps;
	f->fd = fd;
	f->inpass = inpass;
	if (fstat(fd, &st) == 0) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
	}
	TAILQ_INSERT_TAIL(&ps->ctx->claims, f, claim);
	(void)strlcpy(f->base, base, sizeof(f->base));
	envelope_init(&f->env);
	if (spool_name(name, sizeof(name), base, SPOOL_BUSY) == -1 ||
	    spool_envelope_load(ps->dirfd, name, &f->env, err,
	    sizeof(err)) == -1) {
		log_warnx("queue: cannot read envelope [%s]: %s: skipped",
		    name, err);
		(void)spool_release(ps->dirfd, base);
		pass_settle(f);
		return (NULL);
	}
	(void)strlcpy(f->addr, f->env.forward_to_address[0] != '\0' ?
	    f->env.forward_to_address : ps->forward_to, sizeof(f->addr));
	return (f);
}

/*
 * A claim of base met a lock: when it is ours, held through a hard link
 * of the content (split:), the holder starts one more pass once it is
 * settled.  Someone else's lock is left alone (their work, SPEC 3).
 */
static void
pass_wake_holder(struct qpass *ps, const char *base)
{
	struct qfwd	*f;
	struct stat	 st;
	char		 name[SPOOL_NAME_MAX];

	if (spool_name(name, sizeof(name), base, SPOOL_KIND_CONTENT) == -1 ||
	    fstatat(ps->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_nlink < 2)
		return;
	TAILQ_FOREACH(f, &ps->ctx->claims, claim) {
		if (f->dev == st.st_dev && f->ino == st.st_ino) {
			f->wake = 1;
			return;
		}
	}
}

/* Claim and send more messages, or end the pass when all are done. */
static void
pass_next(struct qpass *ps)
{
	struct qfwd	*f;

	size_t		 window;

	window = conf_bool(&ps->ctx->boot->conf.inst[ps->inst],
	    OPT_CLIENT_FILTER) ? 1 : PASS_WINDOW;
	while (ps->inflight < window && ps->i < ps->n) {
		if ((f = pass_claim(ps, ps->list[ps->i++].base, 1)) == NULL)
			continue;
		ps->claimed++;
		if (f->env.nto_remote == 0) {
			ulog_info(ps->unit, "forwarding [%s]", f->base);
			log_warnx("forwarding [%s]: failing message with no "
			    "remote recipients", f->base);
			if (spool_fail(ps->dirfd, f->base, R_NOREMOTE, 0) ==
			    -1)
				log_warn("queue: cannot fail [%s]", f->base);
			pass_settle(f);
			continue;
		}
		if (pass_skipped(ps, f->addr, f->env.selector)) {
			(void)spool_release(ps->dirfd, f->base);
			pass_settle(f);
			continue;
		}
		ulog_info(ps->unit, "forwarding [%s]", f->base);
		ps->inflight++;
		if (pass_go(f) == -1)
			ps->inflight--;
	}
	if (ps->i == ps->n && ps->inflight == 0)
		pass_end(ps);
}

int
pass_immediate(struct queue_ctx *ctx, uint32_t inst, const char *base,
    uint64_t sid)
{
	struct qpass	*ps;
	struct qfwd	*f;
	char		 reply[ENVELOPE_REASON_MAX + 8];

	/* Paused by emailrelayctl: stored only, the resume pass sends it. */
	if (ctx->fwd_paused || inst >= ctx->nspool ||
	    (ps = ctx->pass[inst]) == NULL || pass_forward_to(ps) == NULL ||
	    (f = pass_claim(ps, base, 0)) == NULL)
		return (-1);
	f->sid = sid;
	/* A pass of its own for admin clients; pass_settle() ends it. */
	admin_event(ctx, inst, EV_START);
	ulog_info(ps->unit, "forwarding [%s]", f->base);
	if (f->env.nto_remote == 0) {
		log_warnx("forwarding [%s]: failing message with no remote "
		    "recipients", f->base);
		if (spool_fail(ps->dirfd, f->base, R_NOREMOTE, 0) == -1)
			log_warn("queue: cannot fail [%s]", f->base);
		(void)snprintf(reply, sizeof(reply), "452 %s", R_NOREMOTE);
		store_immediate_reply(ctx, sid, MSG_TEMPFAIL, reply);
		pass_settle(f);
		return (0);
	}
	(void)pass_go(f);
	return (0);
}

/*
 * Start f on its way: the --client-filter chain first when there is
 * one, then mta.  Returns 0 while it is under way (its outcome comes
 * later), -1 when it is settled already (f is freed).
 */
static int
pass_go(struct qfwd *f)
{
	struct qpass	*ps = f->ps;

	if (chain_start(ps->ctx, ps->inst, 1, f->base, SPOOL_BUSY,
	    pass_on_chain, f) == 0) {
		f->filtering = 1;
		return (0);
	}
	return (pass_deliver(f));
}

/* Hand f to mta; 0, or -1 when it could not go (f is settled). */
static int
pass_deliver(struct qfwd *f)
{
	if (pass_send(f) == 0)
		return (0);
	if (f->sid != 0)
		store_immediate_reply(f->ps->ctx, f->sid, MSG_TEMPFAIL,
		    "452 cannot open the content file");
	pass_settle(f);
	return (-1);
}

/*
 * The client filter chain is over (SPEC 6.2): a pass sends the message
 * with the envelope as the filters left it; an abandon returns it to
 * ready; a failure makes it ".bad" with the filter's reason and
 * ReasonCode 550 (a built-in's own 4xx or 5xx code where it has one, so
 * that retry: retries its I/O errors).  An end-of-pass exit claims
 * nothing more this pass.  Messages a split: filter made are kept until
 * f is settled.
 */
static void
pass_on_chain(struct queue_ctx *ctx, void *arg, struct chain_result *r)
{
	struct qfwd	*f = arg;
	struct qpass	*ps = f->ps;
	char		 err[256], name[SPOOL_NAME_MAX], why[512];
	char		 reply[ENVELOPE_REASON_MAX + 8];
	int		 inpass = f->inpass, code;

	f->filtering = 0;
	f->parts = r->parts;
	f->nparts = r->nparts;
	r->parts = NULL;
	if (r->endpass && inpass)
		ps->i = ps->n;
	if (r->action == FILTER_PASS && (r->ran || r->changed)) {
		envelope_free(&f->env);
		envelope_init(&f->env);
		if (spool_name(name, sizeof(name), f->base, SPOOL_BUSY) ==
		    -1 || spool_envelope_load(ps->dirfd, name, &f->env, err,
		    sizeof(err)) == -1) {
			log_warnx("queue: cannot read envelope [%s] after the "
			    "client filter: %s", f->base, err);
			(void)spool_release(ps->dirfd, f->base);
			if (f->sid != 0)
				store_immediate_reply(ctx, f->sid,
				    MSG_TEMPFAIL, "452 cannot read envelope");
			pass_settle(f);
			pass_done(ps, inpass);
			return;
		}
		(void)strlcpy(f->addr, f->env.forward_to_address[0] != '\0' ?
		    f->env.forward_to_address : ps->forward_to,
		    sizeof(f->addr));
	}
	switch (r->action) {
	case FILTER_PASS:
		if (pass_deliver(f) == 0)
			return;		/* the outcome comes from mta */
		pass_done(ps, inpass);
		return;
	case FILTER_ABANDON:
		/* The filter may have taken the message away. */
		if (spool_release(ps->dirfd, f->base) == -1 && errno != ENOENT)
			log_warn("queue: cannot release [%s]", f->base);
		if (f->sid != 0)
			store_immediate_reply(ctx, f->sid, MSG_OK,
			    "250 message processed");
		break;
	default:
		(void)log_vis(why, sizeof(why), r->reason, strlen(r->reason));
		log_warnx("forwarding [%s]: failed: client filter: %s",
		    f->base, why);
		code = r->builtin && r->code >= 400 && r->code <= 599 ?
		    r->code : 550;
		if (spool_fail(ps->dirfd, f->base, r->reason, code) == -1)
			log_warn("queue: cannot fail [%s]", f->base);
		if (f->sid != 0) {
			(void)envelope_reason_sanitize(r->reason,
			    strlen(r->reason), why, sizeof(why));
			(void)snprintf(reply, sizeof(reply), "452 %s", why);
			store_immediate_reply(ctx, f->sid, MSG_TEMPFAIL,
			    reply);
		}
		break;
	}
	pass_settle(f);
	pass_done(ps, inpass);
}

/* A message of the pass (inpass) is settled: go on with the pass. */
static void
pass_done(struct qpass *ps, int inpass)
{
	if (!inpass)
		return;
	ps->inflight--;
	if (ps->running)
		pass_next(ps);
}

/* The pass is over: one more if triggered meanwhile. */
static void
pass_end(struct qpass *ps)
{
	struct queue_ctx	*ctx = ps->ctx;
	struct msgchan		*p = &ctx->parent.m;

	free(ps->list);
	ps->list = NULL;
	ps->n = ps->i = 0;
	ps->running = 0;
	if (ps->claimed == 0)
		ulog_info(ps->unit, "forwarding: no messages to send");
	else
		ulog_info(ps->unit, "forwarding: no more messages to send");
	admin_event(ctx, ps->inst, EV_END);
	/* --as-client too: split: messages made in this pass go now. */
	if (ps->again) {
		pass_start(ps, ps->again_trigger);
		return;
	}
	if (ps->client) {
		ps->client = 0;
		if (ps->status != 0)
			ctx->client_status = ps->status;
		if (--ctx->clients == 0) {
			if (ctx->client_status != 0)
				log_error("forwarding failed: the connection "
				    "or the session failed");
			msg_begin(p, MSG_QUEUE_CLIENT_DONE_NOTIFY, 0, -1);
			msg_put_u32(p, (uint32_t)ctx->client_status);
			msg_end(p);
			chan_flush(&ctx->parent);
		}
		return;
	}
}

/*
 * Whether the pass gave up on addr, for every selector (no connection)
 * or for this ClientAccountSelector (the session failed, e.g. AUTH).
 */
static int
pass_skipped(const struct qpass *ps, const char *addr, const char *selector)
{
	size_t	 i;

	for (i = 0; i < ps->nskip; i++)
		if (strcmp(ps->skip[i].addr, addr) == 0 && (ps->skip[i].any ||
		    strcmp(ps->skip[i].selector, selector) == 0))
			return (1);
	return (0);
}

/* Give up on addr for the pass: for selector, or NULL for all. */
static void
pass_skip(struct qpass *ps, const char *addr, const char *selector)
{
	if (ps->nskip == PASS_SKIPMAX ||
	    pass_skipped(ps, addr, selector != NULL ? selector : ""))
		return;
	(void)strlcpy(ps->skip[ps->nskip].addr, addr,
	    sizeof(ps->skip[0].addr));
	(void)strlcpy(ps->skip[ps->nskip].selector, selector != NULL ?
	    selector : "", sizeof(ps->skip[0].selector));
	ps->skip[ps->nskip++].any = selector == NULL;
}

/*
 * Send the claimed message to mta: recipient frames, then the request
 * with a read-only descriptor of the content.  Returns 0, or -1 after
 * failing the message when the content cannot be opened.
 */
static int
pass_send(struct qfwd *f)
{
	struct qpass		*ps = f->ps;
	struct queue_ctx	*ctx = ps->ctx;
	struct msgchan		*q = &ctx->peer[PROC_MTA].m;
	char			 name[SPOOL_NAME_MAX], *buf;
	size_t			 i, j, len, n;
	uint32_t		 cnt;
	int			 fd;

	if (spool_name(name, sizeof(name), f->base, SPOOL_KIND_CONTENT) ==
	    -1 || (fd = openat(ps->dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		log_warn("queue: cannot open [%s]", name);
		if (spool_fail(ps->dirfd, f->base, "cannot open the content "
		    "file", 0) == -1)
			log_warn("queue: cannot fail [%s]", f->base);
		return (-1);
	}
	if ((buf = malloc(PASS_RCPTMAX)) == NULL) {
		close(fd);
		log_warn("queue: forwarding");
		(void)spool_release(ps->dirfd, f->base);
		return (-1);
	}
	do {
		f->id = ++ctx->fwdid;
	} while (f->id == 0);
	for (i = 0; i < f->env.nto_remote; i = j) {
		for (j = i, len = 0, cnt = 0; j < f->env.nto_remote; j++) {
			n = strlen(f->env.to_remote[j]) + 1;
			if (len + n > PASS_RCPTMAX)
				break;
			memcpy(buf + len, f->env.to_remote[j], n);
			len += n;
			cnt++;
		}
		if (cnt == 0)
			fatalx("queue: recipient too long");
		msg_begin(q, MSG_QUEUE_MESSAGE_RCPT_NOTIFY, f->id, -1);
		msg_put_u32(q, cnt);
		msg_put_data(q, buf, len);
		msg_end(q);
	}
	free(buf);
	msg_begin(q, MSG_QUEUE_MESSAGE_FORWARD, f->id, fd);
	msg_put_u32(q, ps->inst);
	msg_put_str(q, f->base);
	msg_put_str(q, f->addr);
	msg_put_str(q, f->env.from);
	msg_put_u32(q, (uint32_t)f->env.body);
	msg_put_u32(q, (uint32_t)(f->env.utf8 != 0));
	msg_put_str(q, f->env.auth_out);
	msg_put_str(q, f->env.selector);
	msg_end(q);
	chan_flush(&ctx->peer[PROC_MTA]);
	TAILQ_INSERT_TAIL(&ctx->fwds, f, entry);
	return (0);
}

/*
 * Done with the claimed message: drop the lock and the envelope, and f
 * (taken off ctx->fwds when it was sent).  Then the messages a split:
 * client filter made go back to ready, and they or a claim that met
 * f's lock get one more pass.
 */
static void
pass_settle(struct qfwd *f)
{
	struct qpass	*ps = f->ps;
	size_t		 i;
	int		 again = f->wake;

	if (f->sid != 0)
		admin_event(ps->ctx, ps->inst, EV_END);
	if (f->id != 0)
		TAILQ_REMOVE(&ps->ctx->fwds, f, entry);
	TAILQ_REMOVE(&ps->ctx->claims, f, claim);
	if (f->fd != -1)
		close(f->fd);
	for (i = 0; i < f->nparts; i++) {
		if (spool_release(ps->dirfd, f->parts[i].base) == -1 &&
		    errno != ENOENT)
			log_warn("queue: cannot release [%s]",
			    f->parts[i].base);
		again = 1;
	}
	free(f->parts);
	envelope_free(&f->env);
	free(f);
	/* May start a pass now when none runs (an --immediate message). */
	if (again)
		pass_trigger(ps->ctx, ps->inst, "rescan");
}

/*
 * Forward-to-some: keep only the rejected To-Remote recipients in the
 * ".busy" envelope.  Returns 0 or -1.
 */
static int
pass_keep_rejected(struct qfwd *f, const unsigned char *rej, size_t n)
{
	char	 err[256];
	size_t	 i;

	if (n != f->env.nto_remote) {
		log_warnx("queue: forwarding [%s]: bad recipient flags",
		    f->base);
		return (-1);
	}
	for (i = n; i-- > 0; )
		if (rej[i] == 0)
			(void)envelope_remove_rcpt(&f->env, 0, i);
	if (spool_envelope_rewrite(f->ps->dirfd, f->base, SPOOL_BUSY,
	    &f->env, err, sizeof(err)) == -1) {
		log_warnx("queue: cannot rewrite [%s]: %s", f->base, err);
		return (-1);
	}
	return (0);
}

/*
 * Apply an outcome from mta to the message in flight; an --immediate one
 * also answers its client, and a failed connection fails it (the client
 * was told, so it is kept as ".bad", SPEC 5).
 */
static void
pass_apply(struct qfwd *f, uint32_t outcome, uint32_t code,
    const char *reason, const unsigned char *rej, size_t nrej)
{
	struct qpass	*ps = f->ps;
	char		 why[512], reply[ENVELOPE_REASON_MAX + 8];
	int		 r = 0;

	/* The reason is the next hop's text: one safe log line. */
	(void)log_vis(why, sizeof(why), reason, strlen(reason));
	switch (outcome) {
	case MSG_FWD_DELIVERED:
		r = spool_remove(ps->dirfd, f->base);
		ps->ctx->fwd_done++;
		break;
	case MSG_FWD_PARTIAL:
		(void)pass_keep_rejected(f, rej, nrej);
		/* FALLTHROUGH */
	case MSG_FWD_FAILED:
		ps->ctx->fwd_failed++;
		log_warnx("forwarding [%s]: failed: %s", f->base, why);
		r = spool_fail(ps->dirfd, f->base, reason, (int)code);
		break;
	case MSG_FWD_SESSION:
		ps->ctx->fwd_failed++;
		log_warnx("forwarding [%s]: failed: %s", f->base, why);
		r = spool_fail(ps->dirfd, f->base, reason, 0);
		if (f->inpass) {
			/* The session, so the account: this selector only. */
			pass_skip(ps, f->addr, f->env.selector);
			ps->status = 1;
		}
		break;
	case MSG_FWD_CONNECT:
		if (f->sid != 0) {
			r = spool_fail(ps->dirfd, f->base, reason, 0);
			break;
		}
		r = spool_release(ps->dirfd, f->base);
		pass_skip(ps, f->addr, NULL);
		ps->status = 1;
		break;
	default:
		fatalx("queue: bad forwarding outcome %u from mta", outcome);
	}
	if (r == -1)
		log_warn("queue: forwarding [%s]: cannot update the spool",
		    f->base);
	if (f->sid != 0) {
		if (outcome == MSG_FWD_DELIVERED)
			store_immediate_reply(ps->ctx, f->sid, MSG_OK,
			    "250 message processed");
		else {
			(void)envelope_reason_sanitize(reason, strlen(reason),
			    why, sizeof(why));
			(void)snprintf(reply, sizeof(reply), "452 %s", why);
			store_immediate_reply(ps->ctx, f->sid, MSG_TEMPFAIL,
			    reply);
		}
	}
	pass_settle(f);
}

void
pass_dispatch(struct queue_ctx *ctx, struct msg *m)
{
	struct qfwd	*f;
	struct qpass	*ps;
	char		 reason[2048];
	const void	*rej;
	size_t		 nrej;
	uint32_t	 outcome, code;
	int		 inpass;

	TAILQ_FOREACH(f, &ctx->fwds, entry)
		if (f->id == m->id)
			break;
	if (f == NULL || m->id == 0 || m->type != MSG_QUEUE_MESSAGE_FORWARD ||
	    (m->flags & MSG_F_REPLY) == 0 ||
	    msg_get_u32(m, &outcome) == -1 || msg_get_u32(m, &code) == -1 ||
	    msg_get_str(m, reason, sizeof(reason)) == -1 ||
	    msg_get_data(m, &rej, &nrej) == -1 || msg_get_end(m) == -1)
		fatalx("queue: unexpected %s from mta", msg_type_name(m->type));
	ps = f->ps;
	inpass = f->inpass;
	pass_apply(f, outcome, code, reason, rej, nrej);
	pass_done(ps, inpass);
}
