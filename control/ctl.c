/*
 * The control socket for emailrelayctl (SPEC 10; the protocol is in
 * common/ctl.h).  Connections are accepted here, their peer checked
 * (uid 0, our own uid, or a member of the socket's group, which is the
 * spool's), limited per uid and in all, and each becomes an "external"
 * channel: a malformed frame drops that client only (common/proc.c).
 * Requests are checked field by field and relayed, with the connection
 * id, to queue (queue listing, message, forward, retry, remove, pause
 * forward), smtpd (pause smtp) or the parent (log, reload, stop); show
 * stats asks smtpd, then queue, and joins the counters.  A connection
 * has at most one request outstanding; it lives until the reply even
 * when the client is gone.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ctl.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "options.h"
#include "proc.h"
#include "spool.h"
#include "control.h"

#define CTL_GROUPSMAX	65536		/* supplementary groups looked at */
#define CTL_RESUME_SEC	1

struct ctl_conn {
	RB_ENTRY(ctl_conn)	 entry;
	uint64_t		 id;
	struct control_ctx	*ctx;
	struct chan		 ch;
	uid_t			 uid;
	uint16_t		 wait;		/* request outstanding, or 0 */
	int			 closed;	/* the channel is closed */
	char			*stats;		/* smtpd's, until queue's */
};

static int	 ctl_cmp(struct ctl_conn *, struct ctl_conn *);
RB_PROTOTYPE_INTERNAL(ctl_tree, ctl_conn, entry, ctl_cmp,
    __attribute__((__unused__)) static)
RB_GENERATE_INTERNAL(ctl_tree, ctl_conn, entry, ctl_cmp,
    __attribute__((__unused__)) static)

static void	 ctl_on_accept(evutil_socket_t, short, void *);
static void	 ctl_on_resume(evutil_socket_t, short, void *);
static int	 ctl_allowed(struct control_ctx *, int, uid_t *);
static size_t	 ctl_count_uid(struct control_ctx *, uid_t);
static void	 ctl_on_frame(struct chan *, struct msg *, void *);
static void	 ctl_on_lost(struct chan *, void *);
static void	 ctl_on_free(evutil_socket_t, short, void *);
static void	 ctl_gone(struct ctl_conn *, int);
static void	 ctl_free(struct ctl_conn *);
static void	 ctl_fail(struct ctl_conn *, uint16_t, uint32_t, const char *);
static void	 ctl_send(struct ctl_conn *);
static void	 ctl_wait(struct ctl_conn *, uint16_t, enum proc_id);
static int	 ctl_request(struct ctl_conn *, struct msg *);
static void	 ctl_stats_done(struct ctl_conn *, uint32_t, const char *);

static int
ctl_cmp(struct ctl_conn *a, struct ctl_conn *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

void
ctl_prepare(struct control_ctx *ctx)
{
	struct proc_boot	*boot = ctx->boot;
	struct stat		 st;
	size_t			 i;

	RB_INIT(&ctx->ctls);
	ctx->ctl_fd = -1;
	ctx->ctl_uid = geteuid();
	for (i = 0; i < boot->nlst; i++) {
		if (boot->lst[i].kind != LISTEN_CONTROL)
			continue;
		/* The group the parent gave the socket (the spool's). */
		if (stat(boot->lst[i].addr, &st) == 0)
			ctx->ctl_gid = st.st_gid;
		else {
			log_warn("control socket %s", boot->lst[i].addr);
			ctx->ctl_gid = getegid();
		}
		ctx->ctl_fd = boot->lst[i].fd;
		ctx->ctl_path = boot->lst[i].addr;
	}
}

void
ctl_listen(struct control_ctx *ctx)
{
	if (ctx->ctl_fd == -1)
		return;
	if ((ctx->ev_ctl = event_new(ctx->base, ctx->ctl_fd,
	    EV_READ | EV_PERSIST, ctl_on_accept, ctx)) == NULL ||
	    event_add(ctx->ev_ctl, NULL) == -1 ||
	    (ctx->ev_ctl_resume = evtimer_new(ctx->base, ctl_on_resume,
	    ctx)) == NULL)
		fatalx("control: control socket event");
}

static void
ctl_on_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct control_ctx	*ctx = arg;

	if (ctx->ctl_paused && ctx->nctl < CTL_MAX_CONNS) {
		if (event_add(ctx->ev_ctl, NULL) == -1)
			fatalx("control: event_add");
		ctx->ctl_paused = 0;
	}
}

/* Whether the peer on fd may use the socket; its uid into *uid. */
static int
ctl_allowed(struct control_ctx *ctx, int fd, uid_t *uid)
{
	struct ucred	 cr;
	gid_t		 small[64], *g = small;
	socklen_t	 len = sizeof(cr);
	size_t		 i, n;
	int		 ok = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1 ||
	    len != sizeof(cr))
		return (-1);
	*uid = cr.uid;
	if (cr.uid == 0 || cr.uid == ctx->ctl_uid || cr.gid == ctx->ctl_gid)
		return (1);
	len = sizeof(small);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
		if (errno != ERANGE || len > CTL_GROUPSMAX * sizeof(gid_t) ||
		    (g = malloc(len)) == NULL)
			return (-1);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
			free(g);
			return (-1);
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !ok; i++)
		ok = g[i] == ctx->ctl_gid;
	if (g != small)
		free(g);
	return (ok);
}

static size_t
ctl_count_uid(struct control_ctx *ctx, uid_t uid)
{
	struct ctl_conn	*c;
	size_t		 n = 0;

	RB_FOREACH(c, ctl_tree, &ctx->ctls)
		if (!c->closed && c->uid == uid)
			n++;
	return (n);
}

static void
ctl_on_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct control_ctx	*ctx = arg;
	struct timeval		 tv = { CTL_RESUME_SEC, 0 };
	struct ctl_conn		*c;
	uid_t			 uid = (uid_t)-1;
	int			 fd, i, r;

	for (i = 0; i < 8; i++) {
		if (ctx->nctl >= CTL_MAX_CONNS) {
			event_del(ctx->ev_ctl);
			ctx->ctl_paused = 1;
			return;
		}
		if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("control socket: accept");
				event_del(ctx->ev_ctl);
				ctx->ctl_paused = 1;
				evtimer_add(ctx->ev_ctl_resume, &tv);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("control socket: accept");
			return;
		}
		if ((r = ctl_allowed(ctx, fd, &uid)) != 1) {
			log_warnx("control socket: connection from uid %ld "
			    "refused: %s", (long)uid, r == -1 ?
			    "no peer credentials" : "not root and not in the "
			    "spool's group");
			close(fd);
			continue;
		}
		if (ctl_count_uid(ctx, uid) >= CTL_MAX_PER_UID) {
			log_warnx("control socket: connection from uid %ld "
			    "refused: %d connections open", (long)uid,
			    CTL_MAX_PER_UID);
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_warn("control socket");
			close(fd);
			continue;
		}
		c->ctx = ctx;
		c->uid = uid;
		do {
			arc4random_buf(&c->id, sizeof(c->id));
		} while (c->id == 0 || RB_FIND(ctl_tree, &ctx->ctls, c) !=
		    NULL);
		RB_INSERT(ctl_tree, &ctx->ctls, c);
		ctx->nctl++;
		chan_init(&c->ch, ctx->base, fd, PROC_CONTROL, PROC_CONTROL,
		    ctl_on_frame, ctl_on_lost, c);
		c->ch.m.peer = "emailrelayctl";
		c->ch.external = 1;
		log_debug("control socket: connection from uid %ld",
		    (long)uid);
	}
}

/*
 * The client's connection is over (closed by now): the slot is free;
 * the state goes once no reply is due.  With later, from inside the
 * channel's own callback, freeing waits for the event loop.
 */
static void
ctl_gone(struct ctl_conn *c, int later)
{
	struct control_ctx	*ctx = c->ctx;
	struct timeval		 tv = { 0, 0 };

	if (!c->closed) {
		c->closed = 1;
		if (ctx->nctl > 0)
			ctx->nctl--;
		ctl_on_resume(-1, 0, ctx);
	}
	if (c->wait != 0)
		return;
	if (!later)
		ctl_free(c);
	else if (event_base_once(ctx->base, -1, EV_TIMEOUT, ctl_on_free, c,
	    &tv) == -1)
		fatalx("control: event_base_once");
}

static void
ctl_on_free(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl_conn	*c = arg;

	if (c->wait == 0)
		ctl_free(c);
}

static void
ctl_free(struct ctl_conn *c)
{
	RB_REMOVE(ctl_tree, &c->ctx->ctls, c);
	chan_close(&c->ch);
	free(c->stats);
	free(c);
}

static void
ctl_on_lost(struct chan *ch, void *arg)
{
	struct ctl_conn	*c = arg;

	/* chan_on_event() does not touch ch after this. */
	ctl_gone(c, 0);
}

/* Write what is queued for the client now, the rest when it reads. */
static void
ctl_send(struct ctl_conn *c)
{
	if (c->closed)
		return;
	(void)msg_write(&c->ch.m);
	chan_flush(&c->ch);
}

/* A failure reply made here, in the shape of the type's reply. */
static void
ctl_fail(struct ctl_conn *c, uint16_t type, uint32_t status,
    const char *text)
{
	struct msgchan	*m = &c->ch.m;

	msg_reply_begin(m, type, 0, -1);
	msg_put_u32(m, status);
	msg_put_str(m, text);
	switch (type) {
	case MSG_CTL_QUEUE_SHOW:
		msg_put_u32(m, 0);
		msg_put_u32(m, 0);
		msg_put_data(m, "", 0);
		break;
	case MSG_CTL_MESSAGE_SHOW:
		msg_put_str(m, "");
		msg_put_data(m, "", 0);
		break;
	}
	msg_end(m);
	ctl_send(c);
}

static void
ctl_wait(struct ctl_conn *c, uint16_t type, enum proc_id to)
{
	c->wait = type;
	chan_flush(&c->ctx->peer[to]);
}

/*
 * Check one request and relay it.  Returns 0, or -1 when the client is
 * to be dropped.
 */
static int
ctl_request(struct ctl_conn *c, struct msg *m)
{
	struct control_ctx	*ctx = c->ctx;
	const struct config	*conf = &ctx->boot->conf;
	struct msgchan		*to;
	char			 s[SPOOL_BASE_MAX], err[128];
	uint32_t		 version, a = 0, b = 0;
	size_t			 i;

	if (msg_get_u32(m, &version) == -1)
		return (-1);
	if (version != MSG_VERSION) {
		(void)snprintf(err, sizeof(err), "version mismatch: daemon "
		    "%d, emailrelayctl %u", MSG_VERSION, version);
		ctl_fail(c, m->type, MSG_PERMFAIL, err);
		return (0);
	}
	switch (m->type) {
	case MSG_CTL_QUEUE_SHOW:
		if (msg_get_u32(m, &a) == -1 ||
		    msg_get_str(m, s, sizeof(s)) == -1 ||
		    msg_get_end(m) == -1 ||
		    (s[0] != '\0' && !spool_base_valid(s)))
			return (-1);
		if (a >= conf->ninst) {
			ctl_fail(c, m->type, MSG_PERMFAIL, "no such instance");
			return (0);
		}
		to = &ctx->peer[PROC_QUEUE].m;
		msg_begin(to, m->type, c->id, -1);
		msg_put_u32(to, version);
		msg_put_u32(to, a);
		msg_put_str(to, s);
		msg_end(to);
		ctl_wait(c, m->type, PROC_QUEUE);
		return (0);
	case MSG_CTL_MESSAGE_SHOW:
	case MSG_CTL_QUEUE_FORWARD:
	case MSG_CTL_MESSAGE_RETRY:
	case MSG_CTL_MESSAGE_REMOVE:
		if (msg_get_str(m, s, sizeof(s)) == -1 ||
		    msg_get_end(m) == -1)
			return (-1);
		if (m->type == MSG_CTL_QUEUE_FORWARD) {
			for (i = 0; s[0] != '\0' && i < conf->ninst; i++)
				if (strcmp(conf->inst[i].name, s) == 0)
					break;
			if (i == conf->ninst) {
				ctl_fail(c, m->type, MSG_PERMFAIL,
				    "no such instance");
				return (0);
			}
		} else if (!spool_base_valid(s) &&
		    (m->type != MSG_CTL_MESSAGE_RETRY ||
		    strcmp(s, "all") != 0)) {
			ctl_fail(c, m->type, MSG_PERMFAIL,
			    "invalid message id");
			return (0);
		}
		to = &ctx->peer[PROC_QUEUE].m;
		msg_begin(to, m->type, c->id, -1);
		msg_put_u32(to, version);
		msg_put_str(to, s);
		msg_end(to);
		ctl_wait(c, m->type, PROC_QUEUE);
		return (0);
	case MSG_CTL_PAUSE:
		if (msg_get_u32(m, &a) == -1 || msg_get_u32(m, &b) == -1 ||
		    msg_get_end(m) == -1 || a > CTL_PAUSE_FORWARD || b > 1)
			return (-1);
		to = &ctx->peer[a == CTL_PAUSE_SMTP ? PROC_SMTP :
		    PROC_QUEUE].m;
		msg_begin(to, m->type, c->id, -1);
		msg_put_u32(to, version);
		msg_put_u32(to, a);
		msg_put_u32(to, b);
		msg_end(to);
		ctl_wait(c, m->type, a == CTL_PAUSE_SMTP ? PROC_SMTP :
		    PROC_QUEUE);
		return (0);
	case MSG_CTL_STATS:
		if (msg_get_end(m) == -1)
			return (-1);
		to = &ctx->peer[PROC_SMTP].m;
		msg_begin(to, m->type, c->id, -1);
		msg_put_u32(to, version);
		msg_end(to);
		ctl_wait(c, m->type, PROC_SMTP);
		return (0);
	case MSG_CTL_LOG:
	case MSG_CTL_RELOAD:
	case MSG_CTL_STOP:
		if ((m->type == MSG_CTL_LOG && (msg_get_u32(m, &a) == -1 ||
		    a > 1)) || msg_get_end(m) == -1)
			return (-1);
		to = &ctx->parent.m;
		msg_begin(to, m->type, c->id, -1);
		msg_put_u32(to, version);
		if (m->type == MSG_CTL_LOG)
			msg_put_u32(to, a);
		msg_end(to);
		c->wait = m->type;
		chan_flush(&ctx->parent);
		return (0);
	default:
		return (-1);
	}
}

static void
ctl_on_frame(struct chan *ch, struct msg *m, void *arg)
{
	struct ctl_conn	*c = arg;
	const char	*why = NULL;
	uint16_t	 type = m->type;

	if ((m->flags & MSG_F_REPLY) != 0)
		why = "a reply";
	else if (c->wait != 0)
		why = "a request before the last one's reply";
	else if (type < MSG_CTL_QUEUE_SHOW || type > MSG_CTL_STOP)
		why = "not a control request";
	else if (ctl_request(c, m) == -1)
		why = "malformed";
	msg_done(&ch->m, m);
	if (why == NULL)
		return;
	log_warnx("control socket: dropped a client (uid %ld): %s %s",
	    (long)c->uid, msg_type_name(type), why);
	chan_close(&c->ch);
	ctl_gone(c, 1);
}

int
ctl_reply_ok(enum proc_id peer, const struct msg *m)
{
	if ((m->flags & MSG_F_REPLY) == 0)
		return (0);
	switch (m->type) {
	case MSG_CTL_QUEUE_SHOW:
	case MSG_CTL_MESSAGE_SHOW:
	case MSG_CTL_QUEUE_FORWARD:
	case MSG_CTL_MESSAGE_RETRY:
	case MSG_CTL_MESSAGE_REMOVE:
		return (peer == PROC_QUEUE);
	case MSG_CTL_PAUSE:
	case MSG_CTL_STATS:
		return (peer == PROC_QUEUE || peer == PROC_SMTP);
	case MSG_CTL_LOG:
	case MSG_CTL_RELOAD:
	case MSG_CTL_STOP:
		return (peer == PROC_PARENT);
	default:
		return (0);
	}
}

/* queue's counters have come: all of them to the client. */
static void
ctl_stats_done(struct ctl_conn *c, uint32_t status, const char *qstats)
{
	struct msgchan	*m = &c->ch.m;
	char		*buf;
	int		 n;

	if ((buf = malloc(CTL_STATSMAX)) == NULL) {
		ctl_fail(c, MSG_CTL_STATS, MSG_TEMPFAIL, "out of memory");
		return;
	}
	n = snprintf(buf, CTL_STATSMAX, "%s%scontrol_connections %zu\n",
	    c->stats != NULL ? c->stats : "", status == MSG_OK ? qstats : "",
	    c->ctx->nctl);
	if (n < 0 || (size_t)n >= CTL_STATSMAX)
		fatalx("control: counters too long");
	msg_reply_begin(m, MSG_CTL_STATS, 0, -1);
	msg_put_u32(m, MSG_OK);
	msg_put_str(m, buf);
	msg_end(m);
	free(buf);
	ctl_send(c);
}

void
ctl_dispatch_reply(struct control_ctx *ctx, enum proc_id from,
    struct msg *m)
{
	struct ctl_conn	 key, *c;
	struct msgchan	*o;
	char		*text = NULL, *line = NULL;
	const void	*data;
	size_t		 dlen;
	uint32_t	 status, more, ninst;

	key.id = m->id;
	if ((c = RB_FIND(ctl_tree, &ctx->ctls, &key)) == NULL ||
	    c->wait != m->type)
		fatalx("control: %s reply from %s for %s connection",
		    msg_type_name(m->type), proc_name(from), c == NULL ?
		    "an unknown" : "a not waiting");
	c->wait = 0;
	o = &c->ch.m;
	if (msg_get_u32(m, &status) == -1 ||
	    (text = msg_get_strdup(m)) == NULL)
		fatalx("control: bad %s reply from %s",
		    msg_type_name(m->type), proc_name(from));
	switch (m->type) {
	case MSG_CTL_STATS:
		if (msg_get_end(m) == -1)
			fatalx("control: bad %s reply from %s",
			    msg_type_name(m->type), proc_name(from));
		if (from == PROC_SMTP) {
			free(c->stats);
			c->stats = status == MSG_OK ? text : NULL;
			if (status != MSG_OK)
				free(text);
			text = NULL;
			if (c->closed)
				break;
			o = &ctx->peer[PROC_QUEUE].m;
			msg_begin(o, MSG_CTL_STATS, c->id, -1);
			msg_put_u32(o, MSG_VERSION);
			msg_end(o);
			ctl_wait(c, MSG_CTL_STATS, PROC_QUEUE);
			return;
		}
		if (!c->closed)
			ctl_stats_done(c, status, text);
		break;
	case MSG_CTL_QUEUE_SHOW:
		if (msg_get_u32(m, &more) == -1 ||
		    msg_get_u32(m, &ninst) == -1 ||
		    msg_get_data(m, &data, &dlen) == -1 ||
		    msg_get_end(m) == -1)
			fatalx("control: bad %s reply from %s",
			    msg_type_name(m->type), proc_name(from));
		if (c->closed)
			break;
		msg_reply_begin(o, m->type, 0, -1);
		msg_put_u32(o, status);
		msg_put_str(o, text);
		msg_put_u32(o, more);
		msg_put_u32(o, ninst);
		msg_put_data(o, data, dlen);
		msg_end(o);
		ctl_send(c);
		break;
	case MSG_CTL_MESSAGE_SHOW:
		if ((line = msg_get_strdup(m)) == NULL ||
		    msg_get_data(m, &data, &dlen) == -1 ||
		    msg_get_end(m) == -1)
			fatalx("control: bad %s reply from %s",
			    msg_type_name(m->type), proc_name(from));
		if (c->closed)
			break;
		msg_reply_begin(o, m->type, 0, -1);
		msg_put_u32(o, status);
		msg_put_str(o, text);
		msg_put_str(o, line);
		msg_put_data(o, data, dlen);
		msg_end(o);
		ctl_send(c);
		break;
	default:
		if (msg_get_end(m) == -1)
			fatalx("control: bad %s reply from %s",
			    msg_type_name(m->type), proc_name(from));
		if (c->closed)
			break;
		msg_reply_begin(o, m->type, 0, -1);
		msg_put_u32(o, status);
		msg_put_str(o, text);
		msg_end(o);
		ctl_send(c);
		break;
	}
	free(text);
	free(line);
	if (c->closed && c->wait == 0)
		ctl_free(c);
}
