/*
 * POP3 server sessions: the glue between a client connection
 * (common/io.c), the protocol engine (pop_proto.c), the maildrop files
 * (maildrop.c) and the lookup channel, which checks each client and its
 * credentials (STYLE.md section 7).  A session has at most one request
 * to lookup outstanding, reads no input meanwhile, and lives until its
 * reply even when the client is gone.
 */
#ifndef POP_SESSION_H
#define POP_SESSION_H

#include <sys/types.h>
#include <sys/socket.h>

struct listener;
struct msg;
struct pop_ctx;

/*
 * Start a session on the accepted socket fd (non-blocking) from peer sa
 * for listener l: log the connection and ask lookup about the client;
 * the greeting follows its answer (and, with implicit TLS, the
 * handshake).  Takes fd in every case (closed on failure).  Returns 0,
 * or -1 when the session could not be set up.
 */
int	 pop_session_new(struct pop_ctx *ctx, const struct listener *l, int fd,
	    const struct sockaddr *sa, socklen_t salen);

/*
 * A reply from lookup for the session m->id (MSG_F_REPLY frames of
 * MSG_POP_SESSION_CHECK and MSG_POP_AUTH_CHECK).  An unknown id, an
 * unexpected type or a malformed reply is fatal: they come from our own
 * lookup process.  The caller calls msg_done().
 */
void	 pop_session_dispatch(struct pop_ctx *ctx, struct msg *m);

#endif /* POP_SESSION_H */
