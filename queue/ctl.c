/*
 * The queue side of emailrelayctl (SPEC 10), for control: the queue
 * listing a page per request, one message, forward, retry, remove,
 * pause|resume forward and the forwarding counters with the queue depth
 * by state.  Control has checked every field; a bad one is fatal here.
 *
 * Instances may share a spool directory: listing walks instance by
 * instance (the tool asks for each), a message id is looked for in
 * each instance's spool in turn.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "queue.h"
#include "spool.h"

#define QCTL_SCANMAX	(1024 * 1024)	/* envelopes per state listed */

/* One listed message: its base name and state. */
struct qctl_ent {
	char			 base[SPOOL_BASE_MAX];
	enum spool_state	 state;
};

static void	 qctl_reply(struct queue_ctx *, struct msg *, uint32_t,
		    const char *);
static int	 qctl_entcmp(const void *, const void *);
static int	 qctl_scan(int, struct qctl_ent **, size_t *);
static int	 qctl_find(struct queue_ctx *, const char *, uint32_t *,
		    enum spool_state *);
static void	 qctl_show(struct queue_ctx *, struct msg *);
static void	 qctl_message(struct queue_ctx *, struct msg *);
static void	 qctl_forward(struct queue_ctx *, struct msg *);
static void	 qctl_retry(struct queue_ctx *, struct msg *);
static void	 qctl_remove(struct queue_ctx *, struct msg *);
static void	 qctl_pause(struct queue_ctx *, struct msg *);
static void	 qctl_stats(struct queue_ctx *, struct msg *);

static const enum spool_state qctl_states[] = {
	SPOOL_READY, SPOOL_BUSY, SPOOL_BAD, SPOOL_NEW
};
#define QCTL_NSTATES	(sizeof(qctl_states) / sizeof(qctl_states[0]))

/* A reply of u32 status, str text. */
static void
qctl_reply(struct queue_ctx *ctx, struct msg *m, uint32_t status,
    const char *text)
{
	struct msgchan	*c = &ctx->peer[PROC_CONTROL].m;

	msg_reply_begin(c, m->type, m->id, -1);
	msg_put_u32(c, status);
	msg_put_str(c, text);
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
}

static int
qctl_entcmp(const void *a, const void *b)
{
	return (spool_base_cmp(((const struct qctl_ent *)a)->base,
	    ((const struct qctl_ent *)b)->base));
}

/* Every message of the spool dirfd in any state, oldest first. */
static int
qctl_scan(int dirfd, struct qctl_ent **out, size_t *nout)
{
	struct spool_entry	*list;
	struct qctl_ent		*all = NULL, *p;
	size_t			 i, k, n, nall = 0;

	*out = NULL;
	*nout = 0;
	for (k = 0; k < QCTL_NSTATES; k++) {
		list = NULL;
		n = 0;
		if (spool_scan(dirfd, qctl_states[k], QCTL_SCANMAX, &list, &n,
		    NULL) == -1) {
			free(all);
			return (-1);
		}
		if (n > 0 && (p = reallocarray(all, nall + n,
		    sizeof(*all))) == NULL) {
			free(list);
			free(all);
			return (-1);
		}
		if (n > 0)
			all = p;
		for (i = 0; i < n; i++) {
			memcpy(all[nall].base, list[i].base,
			    sizeof(all[nall].base));
			all[nall++].state = qctl_states[k];
		}
		free(list);
	}
	if (nall > 1)
		qsort(all, nall, sizeof(*all), qctl_entcmp);
	*out = all;
	*nout = nall;
	return (0);
}

/* show queue: a page of instance inst after the id after. */
static void
qctl_show(struct queue_ctx *ctx, struct msg *m)
{
	struct msgchan		*c = &ctx->peer[PROC_CONTROL].m;
	const struct instconf	*ic;
	struct qctl_ent		*all = NULL;
	struct ctl_qent		 e;
	char			 after[SPOOL_BASE_MAX], *page = NULL;
	size_t			 i = 0, n = 0, len = 0;
	uint32_t		 version, inst, more = 0, status = MSG_OK;
	int			 k, dirfd;

	if (msg_get_u32(m, &version) == -1 || msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, after, sizeof(after)) == -1 ||
	    msg_get_end(m) == -1 || inst >= ctx->nspool ||
	    (after[0] != '\0' && !spool_base_valid(after)))
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	ic = &ctx->boot->conf.inst[inst];
	dirfd = ctx->spool[inst].dirfd;
	if ((page = malloc(CTL_PAGEMAX)) == NULL ||
	    qctl_scan(dirfd, &all, &n) == -1) {
		log_warn("queue: show queue: %s", conf_str(ic, OPT_SPOOL_DIR));
		status = MSG_TEMPFAIL;
		n = 0;
	}
	if (after[0] != '\0')
		while (i < n && spool_base_cmp(all[i].base, after) <= 0)
			i++;
	for (; i < n; i++) {
		if (ctl_qent_load(dirfd, all[i].base, all[i].state, &e) == -1 &&
		    errno == ENOENT)
			continue;	/* gone meanwhile */
		if (CTL_PAGEMAX - len <= CTL_LINEMAX) {
			more = 1;
			break;
		}
		if ((k = ctl_qent_pack(&e, page + len, CTL_PAGEMAX - len)) ==
		    -1)
			fatalx("queue: show queue: entry too long");
		len += (size_t)k;
	}
	free(all);
	msg_reply_begin(c, m->type, m->id, -1);
	msg_put_u32(c, status);
	msg_put_str(c, status == MSG_OK ? ic->name :
	    "cannot read the spool directory");
	msg_put_u32(c, more);
	msg_put_u32(c, (uint32_t)ctx->nspool);
	msg_put_data(c, page != NULL ? page : "", len);
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
	free(page);
}

/* The instance and state of message base; 0, or -1 when not found. */
static int
qctl_find(struct queue_ctx *ctx, const char *base, uint32_t *inst,
    enum spool_state *state)
{
	struct stat	 st;
	char		 name[SPOOL_NAME_MAX];
	uint32_t	 i;
	size_t		 k;

	for (i = 0; i < ctx->nspool; i++) {
		for (k = 0; k < QCTL_NSTATES; k++) {
			if (spool_name(name, sizeof(name), base,
			    qctl_states[k]) == -1)
				return (-1);
			if (fstatat(ctx->spool[i].dirfd, name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
				*inst = i;
				*state = qctl_states[k];
				return (0);
			}
		}
	}
	return (-1);
}

/* show message: its entry line and the envelope file. */
static void
qctl_message(struct queue_ctx *ctx, struct msg *m)
{
	struct msgchan		*c = &ctx->peer[PROC_CONTROL].m;
	struct ctl_qent		 e;
	enum spool_state	 state;
	char			 base[SPOOL_BASE_MAX], name[SPOOL_NAME_MAX];
	char			 line[CTL_LINEMAX], *env = NULL;
	size_t			 envlen = 0;
	uint32_t		 version, inst;
	const char		*why = NULL;
	int			 dirfd;

	if (msg_get_u32(m, &version) == -1 ||
	    msg_get_str(m, base, sizeof(base)) == -1 ||
	    msg_get_end(m) == -1 || !spool_base_valid(base))
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	line[0] = '\0';
	if (qctl_find(ctx, base, &inst, &state) == -1)
		why = "no such message";
	else {
		dirfd = ctx->spool[inst].dirfd;
		if (ctl_qent_load(dirfd, base, state, &e) == -1 &&
		    errno == ENOENT)
			why = "no such message";
		else if (ctl_qent_pack(&e, line, sizeof(line)) == -1)
			fatalx("queue: show message: entry too long");
		else if (spool_name(name, sizeof(name), base, state) == -1 ||
		    spool_file_load(dirfd, name, CTL_ENVMAX, &env,
		    &envlen) == -1)
			why = errno == EFBIG ? "envelope too big to show" :
			    "cannot read the envelope";
	}
	msg_reply_begin(c, m->type, m->id, -1);
	msg_put_u32(c, why == NULL ? MSG_OK : MSG_PERMFAIL);
	msg_put_str(c, why == NULL ? ctx->boot->conf.inst[inst].name : why);
	msg_put_str(c, why == NULL ? line : "");
	msg_put_data(c, env != NULL ? env : "", env != NULL ? envlen : 0);
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
	free(env);
}

/* forward [instance]: a pass of that instance, or of each. */
static void
qctl_forward(struct queue_ctx *ctx, struct msg *m)
{
	char		 name[BOUNDS_INSTNAME];
	uint32_t	 version, i, n = 0;

	if (msg_get_u32(m, &version) == -1 ||
	    msg_get_str(m, name, sizeof(name)) == -1 ||
	    msg_get_end(m) == -1)
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	if (ctx->fwd_paused) {
		qctl_reply(ctx, m, MSG_TEMPFAIL, "forwarding is paused");
		return;
	}
	for (i = 0; i < ctx->nspool; i++) {
		if (name[0] != '\0' &&
		    strcmp(ctx->boot->conf.inst[i].name, name) != 0)
			continue;
		if (!conf_bool(&ctx->boot->conf.inst[i], OPT_FORWARD_TO))
			continue;
		pass_trigger(ctx, i, "emailrelayctl");
		n++;
	}
	if (n == 0)
		qctl_reply(ctx, m, MSG_PERMFAIL, "no remote server "
		    "configured: use --forward-to");
	else
		qctl_reply(ctx, m, MSG_OK, "forwarding started");
}

/* retry <id>|all: ".bad" back to ready, then a pass. */
static void
qctl_retry(struct queue_ctx *ctx, struct msg *m)
{
	struct spool_entry	*list;
	enum spool_state	 state;
	char			 id[SPOOL_BASE_MAX], text[128];
	uint32_t		 version, inst, i;
	size_t			 k, n, done = 0;
	int			 touched[BOUNDS_INSTANCES];

	if (msg_get_u32(m, &version) == -1 ||
	    msg_get_str(m, id, sizeof(id)) == -1 ||
	    msg_get_end(m) == -1 ||
	    (!spool_base_valid(id) && strcmp(id, "all") != 0))
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	memset(touched, 0, sizeof(touched));
	if (strcmp(id, "all") != 0) {
		if (qctl_find(ctx, id, &inst, &state) == -1) {
			qctl_reply(ctx, m, MSG_PERMFAIL, "no such message");
			return;
		}
		if (state != SPOOL_BAD) {
			qctl_reply(ctx, m, MSG_PERMFAIL, "message has not "
			    "failed");
			return;
		}
		if (spool_rename_state(ctx->spool[inst].dirfd, id, SPOOL_BAD,
		    SPOOL_READY) == -1) {
			log_warn("queue: retry [%s]", id);
			qctl_reply(ctx, m, MSG_TEMPFAIL, "cannot rename the "
			    "envelope");
			return;
		}
		touched[inst] = 1;
		done = 1;
	} else {
		for (i = 0; i < ctx->nspool; i++) {
			list = NULL;
			n = 0;
			if (spool_scan(ctx->spool[i].dirfd, SPOOL_BAD,
			    QCTL_SCANMAX, &list, &n, NULL) == -1) {
				log_warn("queue: retry all");
				continue;
			}
			for (k = 0; k < n; k++) {
				if (spool_rename_state(ctx->spool[i].dirfd,
				    list[k].base, SPOOL_BAD, SPOOL_READY) == 0) {
					done++;
					touched[i] = 1;
				} else if (errno != ENOENT)
					log_warn("queue: retry [%s]",
					    list[k].base);
			}
			free(list);
		}
	}
	for (i = 0; i < ctx->nspool; i++) {
		if (!touched[i])
			continue;
		if (spool_dir_sync(ctx->spool[i].dirfd) == -1)
			log_warn("queue: retry: %s", ctx->spool[i].path);
		ulog_info(ctx->boot->conf.inst[i].name, "emailrelayctl: "
		    "failed messages made ready for retry");
		if (!ctx->fwd_paused)
			pass_trigger(ctx, i, "emailrelayctl retry");
	}
	(void)snprintf(text, sizeof(text), "%zu message%s made ready", done,
	    done == 1 ? "" : "s");
	qctl_reply(ctx, m, MSG_OK, text);
}

/* remove <id>: a ready or failed message, claimed first (locked). */
static void
qctl_remove(struct queue_ctx *ctx, struct msg *m)
{
	enum spool_state	 state;
	char			 id[SPOOL_BASE_MAX];
	uint32_t		 version, inst;
	int			 dirfd, fd;

	if (msg_get_u32(m, &version) == -1 ||
	    msg_get_str(m, id, sizeof(id)) == -1 ||
	    msg_get_end(m) == -1 || !spool_base_valid(id))
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	if (qctl_find(ctx, id, &inst, &state) == -1) {
		qctl_reply(ctx, m, MSG_PERMFAIL, "no such message");
		return;
	}
	dirfd = ctx->spool[inst].dirfd;
	if (state == SPOOL_NEW || state == SPOOL_BUSY) {
		qctl_reply(ctx, m, MSG_TEMPFAIL, state == SPOOL_NEW ?
		    "message is being received" :
		    "message is being forwarded");
		return;
	}
	/* Through ready, so that the lock keeps other forwarders out. */
	if (state == SPOOL_BAD && spool_rename_state(dirfd, id, SPOOL_BAD,
	    SPOOL_READY) == -1) {
		qctl_reply(ctx, m, MSG_TEMPFAIL, "cannot rename the envelope");
		return;
	}
	if (spool_claim(dirfd, id, &fd) == -1) {
		qctl_reply(ctx, m, MSG_TEMPFAIL, errno == EAGAIN ||
		    errno == ENOENT ? "message is being forwarded" :
		    "cannot lock the message");
		return;
	}
	if (spool_remove(dirfd, id) == -1 || spool_dir_sync(dirfd) == -1) {
		log_warn("queue: remove [%s]", id);
		close(fd);
		qctl_reply(ctx, m, MSG_TEMPFAIL, "cannot remove the message");
		return;
	}
	close(fd);
	ulog_info(ctx->boot->conf.inst[inst].name, "emailrelayctl: message "
	    "[%s] removed", id);
	qctl_reply(ctx, m, MSG_OK, "message removed");
}

/* pause|resume forward: no pass starts while paused. */
static void
qctl_pause(struct queue_ctx *ctx, struct msg *m)
{
	uint32_t	 version, what, pause, i;

	if (msg_get_u32(m, &version) == -1 || msg_get_u32(m, &what) == -1 ||
	    msg_get_u32(m, &pause) == -1 || msg_get_end(m) == -1 ||
	    what != CTL_PAUSE_FORWARD || pause > 1)
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	if (ctx->fwd_paused != (int)pause)
		log_info("forwarding %s by emailrelayctl", pause ? "paused" :
		    "resumed");
	ctx->fwd_paused = pause;
	qctl_reply(ctx, m, MSG_OK, pause ? "forwarding paused" :
	    "forwarding resumed");
	if (!pause)
		for (i = 0; i < ctx->nspool; i++)
			pass_trigger(ctx, i, "emailrelayctl resume");
}

/* Counters and the queue depth by state, over distinct spools. */
static void
qctl_stats(struct queue_ctx *ctx, struct msg *m)
{
	struct spool_entry	*list;
	char			 buf[1024];
	unsigned long long	 depth[QCTL_NSTATES];
	uint32_t		 version, i, j;
	size_t			 k, n;
	int			 len;

	if (msg_get_u32(m, &version) == -1 || msg_get_end(m) == -1)
		fatalx("queue: bad %s from control", msg_type_name(m->type));
	memset(depth, 0, sizeof(depth));
	for (i = 0; i < ctx->nspool; i++) {
		for (j = 0; j < i; j++)
			if (ctx->spool[j].dirfd == ctx->spool[i].dirfd)
				break;
		if (j < i)
			continue;	/* a spool shared with another */
		for (k = 0; k < QCTL_NSTATES; k++) {
			list = NULL;
			n = 0;
			if (spool_scan(ctx->spool[i].dirfd, qctl_states[k],
			    QCTL_SCANMAX, &list, &n, NULL) == 0)
				depth[k] += n;
			free(list);
		}
	}
	len = snprintf(buf, sizeof(buf), "messages_forwarded %llu\n"
	    "messages_failed %llu\nforward_paused %d\nqueue_ready %llu\n"
	    "queue_busy %llu\nqueue_failed %llu\nqueue_new %llu\n",
	    (unsigned long long)ctx->fwd_done,
	    (unsigned long long)ctx->fwd_failed, ctx->fwd_paused,
	    depth[0], depth[1], depth[2], depth[3]);
	if (len < 0 || (size_t)len >= sizeof(buf))
		fatalx("queue: counters");
	qctl_reply(ctx, m, MSG_OK, buf);
}

void
qctl_dispatch(struct queue_ctx *ctx, struct msg *m)
{
	if ((m->flags & MSG_F_REPLY) != 0)
		fatalx("queue: unexpected %s reply from control",
		    msg_type_name(m->type));
	switch (m->type) {
	case MSG_CTL_QUEUE_SHOW:
		qctl_show(ctx, m);
		break;
	case MSG_CTL_MESSAGE_SHOW:
		qctl_message(ctx, m);
		break;
	case MSG_CTL_QUEUE_FORWARD:
		qctl_forward(ctx, m);
		break;
	case MSG_CTL_MESSAGE_RETRY:
		qctl_retry(ctx, m);
		break;
	case MSG_CTL_MESSAGE_REMOVE:
		qctl_remove(ctx, m);
		break;
	case MSG_CTL_PAUSE:
		qctl_pause(ctx, m);
		break;
	case MSG_CTL_STATS:
		qctl_stats(ctx, m);
		break;
	default:
		admin_dispatch(ctx, m);
		break;
	}
}
