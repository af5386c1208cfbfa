/*
 * The smtpd side of the admin interface (SPEC 9): "smtp enable|disable"
 * per instance (while disabled a new connection gets "421 service not
 * available" and is closed, sessions already open finish normally), and
 * the server half of "status": the SMTP listeners, the connection
 * counts and one "IN: <local> <- <peer>" line per open connection.
 * For emailrelayctl: "pause smtp" and "resume smtp" (smtp disable and
 * enable for every instance) and the server's counters.
 *
 * The open connections are remembered here at accept, by descriptor
 * and socket inode, so that the sessions need not know about the
 * report: a connection whose descriptor no longer refers to the same
 * socket has closed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "proc.h"
#include "smtpd.h"

#define ADMIN_421	"421 service not available\r\n"
#define ADMIN_LISTENMAX	(4 * 1024)	/* "LISTEN:" lines in a reply */
#define ADMIN_INMAX	(11 * 1024)	/* "IN:" lines in a reply */
#define ADMIN_DRAINMAX	4096		/* unread input before close */

/* An accepted connection, for the "IN:" lines. */
struct smtpd_conn {
	int		 fd;
	dev_t		 dev;		/* of the socket: the fd is reused */
	ino_t		 ino;
	char		 local[72];
	char		 peer[72];
};

static int	 admin_conn_open(const struct smtpd_conn *);
static void	 admin_prune(struct smtpd_ctx *);
static void	 admin_enable(struct smtpd_ctx *, struct msg *);
static void	 admin_status(struct smtpd_ctx *, struct msg *);
static void	 admin_ctl_pause(struct smtpd_ctx *, struct msg *);
static void	 admin_ctl_stats(struct smtpd_ctx *, struct msg *);

/* Whether c's socket is still open under its descriptor. */
static int
admin_conn_open(const struct smtpd_conn *c)
{
	struct stat	 st;

	return (fstat(c->fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == c->dev && st.st_ino == c->ino);
}

/* Forget the connections that have closed. */
static void
admin_prune(struct smtpd_ctx *ctx)
{
	size_t	 i, j;

	for (i = j = 0; i < ctx->nconns; i++)
		if (admin_conn_open(&ctx->conns[i]))
			ctx->conns[j++] = ctx->conns[i];
	ctx->nconns = j;
}

void
smtpd_admin_accepted(struct smtpd_ctx *ctx, const struct listener *l, int fd,
    const struct sockaddr *sa)
{
	struct smtpd_conn	*c;
	struct sockaddr_storage	 ss;
	struct stat		 st;
	socklen_t		 len = sizeof(ss);
	size_t			 sz;

	if (fstat(fd, &st) == -1)
		return;
	if (ctx->nconns == ctx->connsz)
		admin_prune(ctx);
	if (ctx->nconns == ctx->connsz) {
		/* At most one per session and a few closing. */
		if (ctx->connsz >= 2 * ctx->maxsessions)
			return;
		sz = ctx->connsz == 0 ? 16 : ctx->connsz * 2;
		if ((c = reallocarray(ctx->conns, sz, sizeof(*c))) == NULL)
			return;		/* the report lacks a line */
		ctx->conns = c;
		ctx->connsz = sz;
	}
	c = &ctx->conns[ctx->nconns++];
	c->fd = fd;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		netaddr_str((struct sockaddr *)&ss, c->local,
		    sizeof(c->local));
	else
		(void)strlcpy(c->local, l->addr, sizeof(c->local));
	netaddr_str(sa, c->peer, sizeof(c->peer));
}

void
smtpd_admin_refuse(struct smtpd_ctx *ctx, const struct listener *l, int fd,
    const struct sockaddr *sa)
{
	const struct instconf	*ic = &ctx->boot->conf.inst[l->inst];
	struct slog		 lg;
	char			 peer[128], buf[512];
	size_t			 n;

	memset(&lg, 0, sizeof(lg));
	lg.unit = ic->name;
	netaddr_ip(sa, lg.addr, sizeof(lg.addr));
	netaddr_str(sa, peer, sizeof(peer));
	(void)strlcpy(lg.net, l->addr, sizeof(lg.net));
	slog_info(&lg, "smtp connection from %s", peer);
	ctx->in_started++;
	/* A fresh socket has room for one line: no need to wait. */
	(void)send(fd, ADMIN_421, sizeof(ADMIN_421) - 1, MSG_NOSIGNAL |
	    MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	/* Unread input would turn the close into a reset before the 421. */
	for (n = 0; n < ADMIN_DRAINMAX; n += sizeof(buf))
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
	ctx->in_finished++;
	slog_info(&lg, "smtp connection closed: smtp disabled: %s", peer);
}

static void
admin_enable(struct smtpd_ctx *ctx, struct msg *m)
{
	struct msgchan	*c = &ctx->peer[PROC_CONTROL].m;
	uint32_t	 inst, enable;

	if (msg_get_u32(m, &inst) == -1 || msg_get_u32(m, &enable) == -1 ||
	    msg_get_end(m) == -1 || inst >= ctx->boot->conf.ninst ||
	    enable > 1)
		fatalx("smtp server: bad %s from control",
		    msg_type_name(m->type));
	if (ctx->disabled[inst] != !enable)
		ulog_info(ctx->boot->conf.inst[inst].name, "smtp server %s "
		    "by the admin interface", enable ? "enabled" : "disabled");
	ctx->disabled[inst] = !enable;
	msg_reply_begin(c, MSG_CONTROL_SMTP_ENABLE, m->id, -1);
	msg_put_u32(c, MSG_OK);
	msg_put_str(c, "");
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
}

static void
admin_status(struct smtpd_ctx *ctx, struct msg *m)
{
	struct msgchan	*c = &ctx->peer[PROC_CONTROL].m;
	char		*listen, *in;
	size_t		 i, llen = 0, ilen = 0;
	int		 n;

	if (msg_get_end(m) == -1)
		fatalx("smtp server: bad %s from control",
		    msg_type_name(m->type));
	listen = calloc(1, ADMIN_LISTENMAX);
	in = calloc(1, ADMIN_INMAX);
	for (i = 0; listen != NULL && i < ctx->nlst; i++) {
		n = snprintf(listen + llen, ADMIN_LISTENMAX - llen,
		    "LISTEN: %s\n", ctx->lst[i].l->addr);
		if (n < 0 || (size_t)n >= ADMIN_LISTENMAX - llen) {
			listen[llen] = '\0';
			break;
		}
		llen += (size_t)n;
	}
	admin_prune(ctx);
	for (i = 0; in != NULL && i < ctx->nconns; i++) {
		n = snprintf(in + ilen, ADMIN_INMAX - ilen, "IN: %s <- %s\n",
		    ctx->conns[i].local, ctx->conns[i].peer);
		if (n < 0 || (size_t)n >= ADMIN_INMAX - ilen) {
			in[ilen] = '\0';
			break;
		}
		ilen += (size_t)n;
	}
	msg_reply_begin(c, MSG_CONTROL_SMTP_STATUS, m->id, -1);
	msg_put_u32(c, listen != NULL && in != NULL ? MSG_OK : MSG_TEMPFAIL);
	msg_put_u64(c, ctx->in_started);
	msg_put_u64(c, ctx->in_finished);
	msg_put_str(c, listen != NULL ? listen : "");
	msg_put_str(c, in != NULL ? in : "");
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
	free(listen);
	free(in);
}

/* emailrelayctl pause|resume smtp: every instance at once. */
static void
admin_ctl_pause(struct smtpd_ctx *ctx, struct msg *m)
{
	struct msgchan	*c = &ctx->peer[PROC_CONTROL].m;
	uint32_t	 version, what, pause;
	size_t		 i;

	if (msg_get_u32(m, &version) == -1 || msg_get_u32(m, &what) == -1 ||
	    msg_get_u32(m, &pause) == -1 || msg_get_end(m) == -1 ||
	    what != CTL_PAUSE_SMTP || pause > 1)
		fatalx("smtp server: bad %s from control",
		    msg_type_name(m->type));
	for (i = 0; i < ctx->boot->conf.ninst && i < BOUNDS_INSTANCES; i++) {
		if (ctx->disabled[i] != (int)pause)
			ulog_info(ctx->boot->conf.inst[i].name, "smtp server "
			    "%s by emailrelayctl", pause ? "paused" :
			    "resumed");
		ctx->disabled[i] = pause;
	}
	msg_reply_begin(c, m->type, m->id, -1);
	msg_put_u32(c, MSG_OK);
	msg_put_str(c, pause ? "smtp paused" : "smtp resumed");
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
}

/* The server's counters for emailrelayctl show stats (common/ctl.h). */
static void
admin_ctl_stats(struct smtpd_ctx *ctx, struct msg *m)
{
	struct msgchan	*c = &ctx->peer[PROC_CONTROL].m;
	char		 buf[512];
	uint32_t	 version;
	size_t		 i;
	int		 n, paused = 0;

	if (msg_get_u32(m, &version) == -1 || msg_get_end(m) == -1)
		fatalx("smtp server: bad %s from control",
		    msg_type_name(m->type));
	for (i = 0; i < ctx->boot->conf.ninst && i < BOUNDS_INSTANCES; i++)
		paused |= ctx->disabled[i];
	n = snprintf(buf, sizeof(buf), "connections %llu\n"
	    "connections_open %llu\nmessages_accepted %llu\n"
	    "messages_rejected %llu\nbytes_received %llu\nsmtp_paused %d\n",
	    (unsigned long long)ctx->in_started,
	    (unsigned long long)(ctx->in_started - ctx->in_finished),
	    (unsigned long long)ctx->msgs_accepted,
	    (unsigned long long)ctx->msgs_rejected,
	    (unsigned long long)ctx->bytes_in, paused);
	if (n < 0 || (size_t)n >= sizeof(buf))
		fatalx("smtp server: counters");
	msg_reply_begin(c, m->type, m->id, -1);
	msg_put_u32(c, MSG_OK);
	msg_put_str(c, buf);
	msg_end(c);
	chan_flush(&ctx->peer[PROC_CONTROL]);
}

void
smtpd_admin_dispatch(struct smtpd_ctx *ctx, struct msg *m)
{
	if ((m->flags & MSG_F_REPLY) != 0)
		fatalx("smtp server: unexpected %s reply from control",
		    msg_type_name(m->type));
	switch (m->type) {
	case MSG_CONTROL_SMTP_ENABLE:
		admin_enable(ctx, m);
		break;
	case MSG_CONTROL_SMTP_STATUS:
		admin_status(ctx, m);
		break;
	case MSG_CTL_PAUSE:
		admin_ctl_pause(ctx, m);
		break;
	case MSG_CTL_STATS:
		admin_ctl_stats(ctx, m);
		break;
	default:
		fatalx("smtp server: unexpected %s from control",
		    msg_type_name(m->type));
	}
}
