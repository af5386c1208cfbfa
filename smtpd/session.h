/*
 * SMTP server sessions: the glue between a client connection (common/io.c),
 * the protocol engine (smtp_proto.c) and the queue channel (STYLE.md
 * section 7).  A session has at most one request to queue outstanding,
 * reads no input meanwhile, and lives until its reply even when the
 * client is gone.
 */
#ifndef SESSION_H
#define SESSION_H

#include <sys/types.h>
#include <sys/socket.h>

struct listener;
struct msg;
struct smtpd_ctx;

/*
 * Start a session on the accepted socket fd (non-blocking) from peer sa
 * for listener l: log the connection, send the greeting.  Takes fd in
 * every case (closed on failure).  Returns 0, or -1 when the session
 * could not be set up.
 */
int	 session_new(struct smtpd_ctx *ctx, const struct listener *l, int fd,
	    const struct sockaddr *sa, socklen_t salen);

/*
 * A reply from queue for the session m->id (MSG_F_REPLY frames of
 * MSG_SMTPD_MESSAGE_CREATE and MSG_SMTPD_MESSAGE_COMMIT).  Takes m's fd.
 * An unknown id, an unexpected type or a malformed reply is fatal: they
 * come from our own queue process.  The caller calls msg_done().
 */
void	 session_dispatch(struct smtpd_ctx *ctx, struct msg *m);

#endif /* SESSION_H */
