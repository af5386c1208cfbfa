/*
 * Outgoing SMTP sessions of the mta process (SPEC 5): one connection per
 * instance, address and ClientAccountSelector, driven by the smtpc_proto
 * engine, kept open for a short while for the next message to the same
 * address with the same selector.
 */
#ifndef MTA_SESSION_H
#define MTA_SESSION_H

struct msg;
struct mta_ctx;

/*
 * A MSG_QUEUE_MESSAGE_FORWARD from queue: takes its fd and the
 * recipients announced in ctx (ctx->rcpt is emptied), sends the message
 * on an idle connection to the same address or a new one, and answers
 * queue with exactly one reply.  A malformed request is fatal.
 */
void	 mta_session_forward(struct mta_ctx *ctx, struct msg *m);

/*
 * lookup's reply to a session's MSG_MTA_CLIENT_SECRET: the account goes
 * to its engine (or the session fails for want of one).  A reply that
 * matches no request is fatal.
 */
void	 mta_session_secret(struct mta_ctx *ctx, struct msg *m);

/*
 * lookup's reply to a session's MSG_MTA_RESOLVE: connect to the address,
 * or fail the session's messages with the reason.  A reply that matches
 * no request is fatal.
 */
void	 mta_session_resolved(struct mta_ctx *ctx, struct msg *m);

#endif /* MTA_SESSION_H */
