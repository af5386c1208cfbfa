/*
 * Receiving messages from smtpd into the spool (SPEC 3).
 *
 * CREATE: check the free space, name the message, create the content file
 * with its OFD lock (queue keeps that descriptor) and hand smtpd a second,
 * write-only descriptor.  ENVELOPE and RCPT notifications fill the
 * envelope.  COMMIT: fsync the content, write and fsync "<base>.envelope.new",
 * run the --filter chain (chain.c) and, if a program ran, fsync both
 * files again, rename the envelope to ready (after those of the messages
 * a split: filter made), and once the spool directory is fsync'd answer
 * 250.  A filter failure removes both files (and split: messages) and
 * answers with the filter's text.
 * The directory fsync is shared by every commit of the same event-loop
 * round (group commit).  ROLLBACK or any failure removes both files.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "envelope.h"
#include "filter_result.h"
#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "queue.h"
#include "spool.h"

/* Free space wanted beyond a declared SIZE= before accepting MAIL. */
#define STORE_MIN_FREE	(1024ULL * 1024)
#define STORE_NAME_TRIES	16

#define R_PROCESSED	"250 message processed"
#define R_NOSPACE	"452 insufficient storage"
#define R_CREATE	"452 cannot create message file"
#define R_STORE		"452 cannot store message"

/* A message being received, by session id. */
struct qmsg {
	RB_ENTRY(qmsg)		 entry;
	TAILQ_ENTRY(qmsg)	 commit;
	uint64_t		 id;
	uint32_t		 inst;
	int			 dirfd;
	int			 fd;		/* locked content descriptor */
	int			 committing;	/* in ctx->commits */
	int			 filtering;	/* the filter chain runs */
	int			 rescan;	/* a filter asked for a pass */
	int			 bad;		/* errno of a bad field */
	int			 gone;		/* a filter took the original */
	char			 base[SPOOL_BASE_MAX];
	struct envelope		 env;
	struct spool_entry	*parts;		/* split: messages, ".new" */
	size_t			 nparts;
};

static int	 qmsg_cmp(struct qmsg *, struct qmsg *);
RB_PROTOTYPE_INTERNAL(qmsg_tree, qmsg, entry, qmsg_cmp,
    __attribute__((__unused__)) static)
RB_GENERATE_INTERNAL(qmsg_tree, qmsg, entry, qmsg_cmp,
    __attribute__((__unused__)) static)

static struct qmsg *store_find(struct queue_ctx *, struct msg *);
static const char *store_unit(struct queue_ctx *, uint32_t);
static void	 store_reply(struct queue_ctx *, uint16_t, uint64_t,
		    uint32_t, const char *, const char *, int);
static void	 store_free(struct queue_ctx *, struct qmsg *, int);
static void	 store_fail(struct queue_ctx *, struct qmsg *, const char *);
static void	 store_create(struct queue_ctx *, struct msg *);
static void	 store_envelope(struct queue_ctx *, struct msg *);
static void	 store_rcpt(struct queue_ctx *, struct msg *);
static void	 store_commit(struct queue_ctx *, struct msg *);
static void	 store_rollback(struct queue_ctx *, struct msg *);
static void	 store_on_commit(evutil_socket_t, short, void *);
static void	 store_on_chain(struct queue_ctx *, void *,
		    struct chain_result *);
static void	 store_remove_parts(struct qmsg *);
static void	 store_ready(struct queue_ctx *, struct qmsg *, int);

static int
qmsg_cmp(struct qmsg *a, struct qmsg *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

void
store_init(struct queue_ctx *ctx)
{
	if ((ctx->ev_commit = evtimer_new(ctx->base, store_on_commit,
	    ctx)) == NULL)
		fatalx("queue: evtimer_new");
}

static const char *
store_unit(struct queue_ctx *ctx, uint32_t inst)
{
	if (inst >= ctx->boot->conf.ninst)
		return ("");
	return (ctx->boot->conf.inst[inst].name);
}

/* The message of m's session; fatal if there is none. */
static struct qmsg *
store_find(struct queue_ctx *ctx, struct msg *m)
{
	struct qmsg	 key, *qm;

	key.id = m->id;
	if ((qm = RB_FIND(qmsg_tree, &ctx->msgs, &key)) == NULL)
		fatalx("queue: %s for session %016llx without a message",
		    msg_type_name(m->type), (unsigned long long)m->id);
	return (qm);
}

/*
 * Reply to smtpd.  base is for CREATE only (NULL otherwise); fd (or -1)
 * passes to the channel.
 */
static void
store_reply(struct queue_ctx *ctx, uint16_t type, uint64_t id,
    uint32_t status, const char *text, const char *base, int fd)
{
	struct msgchan	*ch = &ctx->peer[PROC_SMTP].m;

	msg_reply_begin(ch, type, id, fd);
	msg_put_u32(ch, status);
	msg_put_str(ch, text);
	if (type == MSG_SMTPD_MESSAGE_CREATE)
		msg_put_str(ch, base != NULL ? base : "");
	msg_end(ch);
	chan_flush(&ctx->peer[PROC_SMTP]);
}

/* Remove the messages split: made from qm (in whatever state). */
static void
store_remove_parts(struct qmsg *qm)
{
	size_t	 i;

	for (i = 0; i < qm->nparts; i++)
		if (spool_remove(qm->dirfd, qm->parts[i].base) == -1)
			log_warn("queue: cannot remove %s",
			    qm->parts[i].base);
	free(qm->parts);
	qm->parts = NULL;
	qm->nparts = 0;
}

/*
 * Forget qm; with remove, its files go too (not the original's when a
 * filter took it away itself: copy:pop leaves content behind on purpose).
 */
static void
store_free(struct queue_ctx *ctx, struct qmsg *qm, int remove)
{
	if (remove) {
		store_remove_parts(qm);
		if (!qm->gone && spool_remove(qm->dirfd, qm->base) == -1)
			log_warn("queue: cannot remove %s", qm->base);
	}
	free(qm->parts);
	if (qm->committing)
		TAILQ_REMOVE(&ctx->commits, qm, commit);
	RB_REMOVE(qmsg_tree, &ctx->msgs, qm);
	/* The last step: closing the content releases its lock. */
	if (qm->fd != -1)
		close(qm->fd);
	envelope_free(&qm->env);
	free(qm);
}

/* The commit failed: no files left, the client gets a 452. */
static void
store_fail(struct queue_ctx *ctx, struct qmsg *qm, const char *text)
{
	uint64_t	 id = qm->id;

	store_free(ctx, qm, 1);
	store_reply(ctx, MSG_SMTPD_MESSAGE_COMMIT, id, MSG_TEMPFAIL, text,
	    NULL, -1);
}

static void
store_create(struct queue_ctx *ctx, struct msg *m)
{
	struct qmsg	 key, *qm;
	char		 name[SPOOL_NAME_MAX];
	uint64_t	 size;
	uint32_t	 inst;
	int		 i, r, dirfd, wfd, saved;

	if (msg_get_u32(m, &inst) == -1 || msg_get_u64(m, &size) == -1 ||
	    msg_get_end(m) == -1 || inst >= ctx->nspool)
		fatalx("queue: bad %s from smtp", msg_type_name(m->type));
	key.id = m->id;
	if (RB_FIND(qmsg_tree, &ctx->msgs, &key) != NULL)
		fatalx("queue: %s for session %016llx with a message",
		    msg_type_name(m->type), (unsigned long long)m->id);
	dirfd = ctx->spool[inst].dirfd;

	/* A full disk refuses MAIL and leaves nothing behind. */
	if (size > UINT64_MAX - STORE_MIN_FREE)
		size = UINT64_MAX - STORE_MIN_FREE;
	if ((r = spool_free_space(dirfd, size + STORE_MIN_FREE)) != 1) {
		if (r == -1)
			log_warn("queue: %s: free space",
			    ctx->spool[inst].path);
		else
			log_warnx("queue: %s: not enough free space",
			    ctx->spool[inst].path);
		store_reply(ctx, MSG_SMTPD_MESSAGE_CREATE, m->id,
		    MSG_TEMPFAIL, R_NOSPACE, NULL, -1);
		return;
	}

	if ((qm = calloc(1, sizeof(*qm))) == NULL) {
		log_warn("queue: new message");
		store_reply(ctx, MSG_SMTPD_MESSAGE_CREATE, m->id,
		    MSG_TEMPFAIL, R_CREATE, NULL, -1);
		return;
	}
	qm->id = m->id;
	qm->inst = inst;
	qm->dirfd = dirfd;
	qm->fd = -1;
	envelope_init(&qm->env);
	for (i = 0; i < STORE_NAME_TRIES && qm->fd == -1; i++) {
		if (spool_name_new(qm->base, sizeof(qm->base), ctx->pid,
		    time(NULL), ++ctx->seq) == -1)
			break;
		(void)umask(007);
		qm->fd = spool_content_create(dirfd, qm->base);
		saved = errno;
		(void)umask(077);
		if (qm->fd == -1 && saved != EEXIST) {
			errno = saved;
			break;
		}
	}
	if (qm->fd == -1 || spool_name(name, sizeof(name), qm->base,
	    SPOOL_KIND_CONTENT) == -1) {
		log_warn("queue: cannot create a content file in %s",
		    ctx->spool[inst].path);
		goto fail;
	}
	/* smtpd's own descriptor: a second open, so the lock stays ours. */
	if ((wfd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		log_warn("queue: %s", name);
		(void)unlinkat(dirfd, name, 0);
		goto fail;
	}
	RB_INSERT(qmsg_tree, &ctx->msgs, qm);
	ulog_info(store_unit(ctx, inst), "new content file [%s]", name);
	store_reply(ctx, MSG_SMTPD_MESSAGE_CREATE, m->id, MSG_OK, "",
	    qm->base, wfd);
	return;

fail:
	if (qm->fd != -1)
		close(qm->fd);
	envelope_free(&qm->env);
	free(qm);
	store_reply(ctx, MSG_SMTPD_MESSAGE_CREATE, m->id, MSG_TEMPFAIL,
	    R_CREATE, NULL, -1);
}

static void
store_envelope(struct queue_ctx *ctx, struct msg *m)
{
	struct qmsg	*qm = store_find(ctx, m);
	const char	*from, *client, *authid, *authin, *cert;
	size_t		 l1, l2, l3, l4, l5;
	char		 b1[ENVELOPE_FIELD_MAX], b2[ENVELOPE_FIELD_MAX];
	char		 b3[ENVELOPE_FIELD_MAX], b4[ENVELOPE_FIELD_MAX];
	uint32_t	 body, utf8;

	if (msg_get_u32(m, &body) == -1 || msg_get_u32(m, &utf8) == -1 ||
	    msg_get_strp(m, &from, &l1) == -1 ||
	    msg_get_strp(m, &client, &l2) == -1 ||
	    msg_get_strp(m, &authid, &l3) == -1 ||
	    msg_get_strp(m, &authin, &l4) == -1 ||
	    msg_get_strp(m, &cert, &l5) == -1 || msg_get_end(m) == -1 ||
	    qm->committing)
		fatalx("queue: bad %s from smtp", msg_type_name(m->type));
	switch (body) {
	case ADDR_BODY_7BIT:
		qm->env.body = ENVELOPE_BODY_7BIT;
		break;
	case ADDR_BODY_8BITMIME:
		qm->env.body = ENVELOPE_BODY_8BIT;
		break;
	case ADDR_BODY_BINARYMIME:
		qm->env.body = ENVELOPE_BODY_BINARYMIME;
		break;
	default:
		qm->env.body = ENVELOPE_BODY_UNKNOWN;
		break;
	}
	qm->env.utf8 = utf8 != 0;
	/* Too long for a field: the commit fails rather than truncates. */
	if (l1 >= sizeof(b1) || l2 >= sizeof(b2) || l3 >= sizeof(b3) ||
	    l4 >= sizeof(b4)) {
		qm->bad = EINVAL;
		return;
	}
	memcpy(b1, from, l1);
	b1[l1] = '\0';
	memcpy(b2, client, l2);
	b2[l2] = '\0';
	memcpy(b3, authid, l3);
	b3[l3] = '\0';
	memcpy(b4, authin, l4);
	b4[l4] = '\0';
	if (envelope_set_from(&qm->env, b1) == -1 ||
	    envelope_set_client(&qm->env, b2) == -1 ||
	    envelope_set_auth(&qm->env, b3) == -1 ||
	    envelope_set_auth_in(&qm->env, b4) == -1)
		qm->bad = errno;
	/* The client's verified certificate, PEM (smtpd bounds it). */
	if (qm->bad == 0 && l5 > 0) {
		char	*pem;

		if ((pem = strndup(cert, l5)) == NULL ||
		    envelope_set_client_cert(&qm->env, pem) == -1)
			qm->bad = errno;
		free(pem);
	}
}

static void
store_rcpt(struct queue_ctx *ctx, struct msg *m)
{
	struct qmsg	*qm = store_find(ctx, m);
	const void	*data;
	const char	*p, *end, *nul;
	size_t		 len;
	uint32_t	 count, i;

	if (msg_get_u32(m, &count) == -1 ||
	    msg_get_data(m, &data, &len) == -1 || msg_get_end(m) == -1 ||
	    qm->committing)
		fatalx("queue: bad %s from smtp", msg_type_name(m->type));
	p = data;
	end = p + len;
	for (i = 0; i < count; i++) {
		if (p >= end || (*p != 'L' && *p != 'R') ||
		    (nul = memchr(p, '\0', (size_t)(end - p))) == NULL ||
		    nul == p + 1)
			fatalx("queue: bad recipient in %s from smtp",
			    msg_type_name(m->type));
		if (qm->bad == 0 &&
		    envelope_add_rcpt(&qm->env, *p == 'L', p + 1) == -1)
			qm->bad = errno;
		p = nul + 1;
	}
	if (p != end)
		fatalx("queue: bad recipient count in %s from smtp",
		    msg_type_name(m->type));
}

/*
 * The durable part of accepting a message, in SPEC 3's order: content
 * fsync, envelope written and fsync'd, rename to ready.  The directory
 * fsync and the 250 follow in store_on_commit().
 */
static void
store_commit(struct queue_ctx *ctx, struct msg *m)
{
	struct qmsg	*qm = store_find(ctx, m);
	char		 err[256];
	uint64_t	 size;
	int		 r, saved;

	if (msg_get_u64(m, &size) == -1 || msg_get_end(m) == -1 ||
	    qm->committing || qm->filtering)
		fatalx("queue: bad %s from smtp", msg_type_name(m->type));
	if (qm->bad != 0) {
		log_warnx("queue: %s: bad envelope field: %s", qm->base,
		    strerror(qm->bad));
		store_fail(ctx, qm, R_STORE);
		return;
	}
	if (spool_fsync_fd(qm->fd) == -1) {
		log_warn("queue: %s.content: fsync", qm->base);
		store_fail(ctx, qm, R_STORE);
		return;
	}
	(void)umask(007);
	r = spool_envelope_write_new(qm->dirfd, qm->base, &qm->env, err,
	    sizeof(err));
	saved = errno;
	(void)umask(077);
	if (r == -1) {
		errno = saved;
		log_warnx("queue: %s", err);
		store_fail(ctx, qm, R_STORE);
		return;
	}
	ulog_info(store_unit(ctx, qm->inst), "new envelope file [%s%s]",
	    qm->base, spool_state_suffix(SPOOL_NEW));
	if (chain_start(ctx, qm->inst, 0, qm->base, SPOOL_NEW, store_on_chain,
	    qm) == 0) {
		qm->filtering = 1;
		return;
	}
	store_ready(ctx, qm, 0);
}

/*
 * The --filter chain is over (SPEC 4, 6.2): a failure removes the files
 * and answers with the filter's reply; an abandon answers 250 and keeps
 * the message only if the filter left its envelope in place; a pass
 * commits.  Messages split: made are committed with the original, or
 * alone when an abandon took the original away, and removed on failure.
 */
static void
store_on_chain(struct queue_ctx *ctx, void *arg, struct chain_result *r)
{
	struct qmsg	*qm = arg;
	char		 name[SPOOL_NAME_MAX], buf[512];
	uint64_t	 id = qm->id;
	uint32_t	 inst = qm->inst;

	qm->filtering = 0;
	/* Once committed, when the message is unlocked. */
	qm->rescan = r->rescan;
	qm->gone = r->gone;
	qm->parts = r->parts;
	qm->nparts = r->nparts;
	r->parts = NULL;
	switch (r->action) {
	case FILTER_FAIL:
		ulog_info(store_unit(ctx, inst), "rejected by filter: [%s]",
		    log_vis(buf, sizeof(buf), r->reason, strlen(r->reason)));
		store_free(ctx, qm, 1);
		store_reply(ctx, MSG_SMTPD_MESSAGE_COMMIT, id,
		    r->reply[0] == '5' ? MSG_PERMFAIL : MSG_TEMPFAIL, r->reply,
		    NULL, -1);
		if (r->rescan)
			pass_trigger(ctx, inst, "rescan");
		break;
	case FILTER_ABANDON:
		if (!qm->gone && spool_name(name, sizeof(name), qm->base,
		    SPOOL_NEW) == 0 && faccessat(qm->dirfd, name, F_OK,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			store_ready(ctx, qm, r->ran);
			break;
		}
		if (qm->nparts > 0) {
			/* The split: messages stay, committed alone. */
			qm->gone = 1;
			store_ready(ctx, qm, 0);
			break;
		}
		/* The filter took the message away: nothing remains. */
		store_free(ctx, qm, 1);
		store_reply(ctx, MSG_SMTPD_MESSAGE_COMMIT, id, MSG_OK,
		    R_PROCESSED, NULL, -1);
		if (r->rescan)
			pass_trigger(ctx, inst, "rescan");
		break;
	default:
		store_ready(ctx, qm, r->ran);
		break;
	}
}

/*
 * Make qm a ready message: after a filter program (ran), fsync both files
 * again since it may have rewritten them; rename the envelopes of the
 * messages split: made, then the original's (unless a filter took it
 * away), to ready; the directory fsync and the 250 follow in
 * store_on_commit().
 */
static void
store_ready(struct queue_ctx *ctx, struct qmsg *qm, int ran)
{
	struct timeval	 tv = { 0, 0 };
	char		 name[SPOOL_NAME_MAX];
	size_t		 i;

	for (i = 0; i < qm->nparts; i++) {
		if (spool_rename_state(qm->dirfd, qm->parts[i].base, SPOOL_NEW,
		    SPOOL_READY) == -1) {
			log_warn("queue: %s%s: rename", qm->parts[i].base,
			    spool_state_suffix(SPOOL_NEW));
			store_fail(ctx, qm, R_STORE);
			return;
		}
	}
	if (qm->gone)
		goto commit;
	if (ran && (spool_name(name, sizeof(name), qm->base,
	    SPOOL_KIND_CONTENT) == -1 || spool_fsync_file(qm->dirfd,
	    name) == -1 || spool_name(name, sizeof(name), qm->base,
	    SPOOL_NEW) == -1 || spool_fsync_file(qm->dirfd, name) == -1)) {
		log_warn("queue: %s: fsync after the filters", qm->base);
		store_fail(ctx, qm, R_STORE);
		return;
	}
	if (spool_rename_state(qm->dirfd, qm->base, SPOOL_NEW,
	    SPOOL_READY) == -1) {
		log_warn("queue: %s%s: rename", qm->base,
		    spool_state_suffix(SPOOL_NEW));
		store_fail(ctx, qm, R_STORE);
		return;
	}
commit:
	qm->committing = 1;
	TAILQ_INSERT_TAIL(&ctx->commits, qm, commit);
	/* After the frames read in this round: one fsync per directory. */
	if (!evtimer_pending(ctx->ev_commit, NULL) &&
	    evtimer_add(ctx->ev_commit, &tv) == -1)
		fatalx("queue: evtimer_add");
}

/* Group commit: fsync each directory once, then answer every commit. */
static void
store_on_commit(evutil_socket_t fd, short ev, void *arg)
{
	struct queue_ctx	*ctx = arg;
	struct qmsg		*qm;
	int			 dirs[BOUNDS_INSTANCES], res[BOUNDS_INSTANCES];
	char			 base[SPOOL_BASE_MAX];
	size_t			 ndirs = 0, i;
	uint64_t		 id;
	uint32_t		 inst;
	int			 rescan;

	while ((qm = TAILQ_FIRST(&ctx->commits)) != NULL) {
		for (i = 0; i < ndirs && dirs[i] != qm->dirfd; i++)
			;
		if (i == ndirs) {
			dirs[ndirs] = qm->dirfd;
			res[ndirs] = spool_dir_sync(qm->dirfd);
			if (res[ndirs] == -1)
				log_warn("queue: %s: fsync",
				    ctx->spool[qm->inst].path);
			ndirs++;
		}
		if (res[i] == -1) {
			store_fail(ctx, qm, R_STORE);
			continue;
		}
		id = qm->id;
		inst = qm->inst;
		rescan = qm->rescan;
		(void)strlcpy(base, qm->base, sizeof(base));
		/* Frees the receive lock, so that a forward can claim. */
		store_free(ctx, qm, 0);
		if (rescan)
			pass_trigger(ctx, inst, "rescan");
		if (conf_bool(&ctx->boot->conf.inst[inst], OPT_IMMEDIATE) &&
		    pass_immediate(ctx, inst, base, id) == 0)
			continue;
		store_reply(ctx, MSG_SMTPD_MESSAGE_COMMIT, id, MSG_OK,
		    R_PROCESSED, NULL, -1);
	}
}

void
store_immediate_reply(struct queue_ctx *ctx, uint64_t sid, uint32_t status,
    const char *text)
{
	store_reply(ctx, MSG_SMTPD_MESSAGE_COMMIT, sid, status, text, NULL,
	    -1);
}

static void
store_rollback(struct queue_ctx *ctx, struct msg *m)
{
	struct qmsg	*qm = store_find(ctx, m);

	if (msg_get_end(m) == -1 || qm->committing || qm->filtering)
		fatalx("queue: bad %s from smtp", msg_type_name(m->type));
	store_free(ctx, qm, 1);
}

void
store_dispatch(struct queue_ctx *ctx, struct msg *m)
{
	if (m->flags & MSG_F_REPLY)
		fatalx("queue: unexpected reply %s from smtp",
		    msg_type_name(m->type));
	switch (m->type) {
	case MSG_SMTPD_MESSAGE_CREATE:
		store_create(ctx, m);
		break;
	case MSG_SMTPD_MESSAGE_ENVELOPE_NOTIFY:
		store_envelope(ctx, m);
		break;
	case MSG_SMTPD_MESSAGE_RCPT_NOTIFY:
		store_rcpt(ctx, m);
		break;
	case MSG_SMTPD_MESSAGE_COMMIT:
		store_commit(ctx, m);
		break;
	case MSG_SMTPD_MESSAGE_ROLLBACK_NOTIFY:
		store_rollback(ctx, m);
		break;
	default:
		fatalx("queue: unexpected %s from smtp",
		    msg_type_name(m->type));
	}
}
