/*
 * The mta process: outbound SMTP for queue's forwarding passes (SPEC 5).
 * mta.c is the entry point and the dispatch; session.c runs the client
 * connections.
 */
#ifndef MTA_H
#define MTA_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "proc.h"

struct event_base;
struct msg;
struct msgchan;
struct mta_session;
struct tls_config;

TAILQ_HEAD(mta_session_list, mta_session);

struct mta_ctx {
	struct proc_boot	*boot;
	struct event_base	*base;
	struct chan		 parent;
	struct chan		 peer[PROC__COUNT];
	char			 hostname[BOUNDS_DOMAIN + 1];
	char			 root[BOUNDS_PATH];	/* our chroot, or "" */
	struct mta_session_list	 sessions;
	/*
	 * The client TLS configuration of each instance that uses TLS
	 * (--client-tls, --client-tls-connection, --client-tls-required),
	 * made while root; tls_chain: it verifies the server's chain.
	 */
	struct tls_config	*tls[BOUNDS_INSTANCES];
	int			 tls_chain[BOUNDS_INSTANCES];
	uint64_t		 reqid;		/* last request to lookup */
	/* Outgoing connections, for the admin status report (SPEC 9). */
	uint64_t		 out_started;	/* connects begun */
	uint64_t		 out_finished;	/* of those, closed */
	/* Recipients announced for the next MESSAGE_FORWARD. */
	uint64_t		 rcpt_id;
	char			**rcpt;
	size_t			 nrcpt, rcptsz;
};

/* Entry point after re-exec; never returns. */
void	 mta_main(struct proc_boot *, struct msgchan *)
	    __attribute__((__noreturn__));

/* Forget the announced recipients (frees them). */
void	 mta_rcpt_clear(struct mta_ctx *ctx);

#endif /* MTA_H */
