/*
 * The lookup process's network side (SPEC 6.3, 6.5, 6.6): the c-ares
 * resolvers, connections to the servers of the net:, spam: and
 * spam-edit: built-ins, the mx: routing filter and the net: and account:
 * address verifiers.  lookup.c hands the built-ins here and gives the
 * function that sends the reply in the usual format.
 *
 * Like exec.c, each of these files keeps its state in file-local data
 * (one lookup process, one event base).  Every request gets exactly one
 * reply, from the event loop or, when it can be decided at once, from
 * inside the call.
 */
#ifndef LOOKUPNET_H
#define LOOKUPNET_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct dns;
struct dnsbl_conf;
struct io;
struct lookup_ctx;
struct msg;
struct lnet_resolve;
struct filter_outcome;
struct verify_outcome;
struct netproto_verify_req;

/*
 * resolver.c.  lnet_init() makes a c-ares resolver for every distinct
 * DNS server setting of the configuration (--dnsbl, mx:, and the
 * resolv.conf one when a net: or spam: address is a host name), after
 * proc_start() and before the loop runs; one that cannot be made is
 * logged and tried again when it is needed.
 */
void	 lnet_init(struct lookup_ctx *ctx);

/*
 * Free every resolver (their queries get DNS_CANCELLED first), before
 * the event base goes.
 */
void	 lnet_shutdown(void);

/*
 * The resolver for server ("" or NULL: /etc/resolv.conf) with tries of
 * try_ms, made now if there is none yet (after a reload).  Owned here,
 * never freed while the process runs.  NULL with *errstr set.
 */
struct dns *lnet_resolver(struct lookup_ctx *ctx, const char *server,
	    int try_ms, const char **errstr);

/* The resolver for a --dnsbl value (its server, tries of half its timeout). */
struct dns *lnet_dnsbl_resolver(struct lookup_ctx *ctx,
	    const struct dnsbl_conf *bl, const char **errstr);

/*
 * The socket address of a built-in's address value: "<ip>:<port>",
 * "[<ipv6>]:<port>", "<host>:<port>" (A/AAAA through the resolv.conf
 * resolver; "localhost" is 127.0.0.1 without DNS, RFC 6761) or an
 * absolute unix socket path.  done(arg, sa, salen, errstr) is called
 * once from the event loop, with sa NULL and errstr static text on
 * failure, unless lnet_resolve_cancel() comes first.  Returns a handle
 * or NULL (no memory); then done() is never called.
 */
struct lnet_resolve *lnet_resolve_start(struct lookup_ctx *ctx,
	    const char *addr, int timeout_ms,
	    void (*done)(void *, const struct sockaddr *, socklen_t,
	    const char *), void *arg);
void	 lnet_resolve_cancel(struct lnet_resolve *r);

/*
 * An MSG_MTA_RESOLVE from mta: resolve its host name and answer with
 * the numeric address or the reason.  A malformed request is fatal.
 */
void	 lnet_mta_resolve(struct lookup_ctx *ctx, struct msg *m);

/*
 * A non-blocking socket connecting to sa under an io with cb(io, event,
 * arg) and a timeout of timeout_ms: IO_CONNECTED, IO_ERROR or
 * IO_TIMEOUT follows.  Returns the io, or NULL with errno set (the
 * connect failed at once).
 */
struct io *lnet_io_connect(struct lookup_ctx *ctx, const struct sockaddr *sa,
	    socklen_t salen, int timeout_ms,
	    void (*cb)(struct io *, int, void *), void *arg);

/*
 * netline.c: one-line requests and one-line responses over connections
 * kept open per address (net: filters and verifiers).  A few
 * connections per address serve requests in turn; one that breaks is
 * closed and made again for the next request, and a request that meets
 * a dead kept connection before any answer is sent once more on a new
 * one.  done(arg, line, len, timed_out, errstr) is called once from the
 * event loop: line (len octets, no LF, not NUL-terminated) is the
 * response, or NULL with timed_out set after timeout_ms or errstr set
 * (static text) when there is none.  A line longer than max comes with
 * len max + 1.  Returns 0, or -1 (no memory, too many waiting); then
 * done() is never called.
 */
#define LNET_LINE_FILTER	1
#define LNET_LINE_VERIFY	2
int	 lnet_line_request(struct lookup_ctx *ctx, int kind, const char *addr,
	    const char *line, size_t len, size_t max, int timeout_ms,
	    void (*done)(void *, const char *, size_t, int, const char *),
	    void *arg);

/*
 * builtin.c: whether a --filter/--client-filter value is one lookup
 * runs (net:, spam:, spam-edit:, mx:), and whether an
 * --address-verifier value is a built-in (net:, account:).
 */
int	 lnet_filter_is_builtin(const char *value);
int	 lnet_verify_is_builtin(const char *value);

/*
 * Run the built-in filter value of instance inst (client: a
 * --client-filter) on the message whose files are content and envelope
 * (absolute paths in the instance's spool directory); reply(ctx, id,
 * outcome) once.  A value that is not one of the instance's filters
 * fails.
 */
void	 lnet_filter_run(struct lookup_ctx *ctx, uint64_t id, uint32_t inst,
	    int client, const char *value, const char *content,
	    const char *envelope, void (*reply)(struct lookup_ctx *, uint64_t,
	    const struct filter_outcome *));

/*
 * Run the built-in --address-verifier value of instance inst for req;
 * reply(ctx, id, outcome) once.
 */
void	 lnet_verify_run(struct lookup_ctx *ctx, uint64_t id, uint32_t inst,
	    const char *value, const struct netproto_verify_req *req,
	    void (*reply)(struct lookup_ctx *, uint64_t,
	    const struct verify_outcome *));

/*
 * spamc.c: the spam: (edit 0) and spam-edit: (edit 1) filters: send the
 * content to spamd at addr and read its verdict (and for edit its
 * rewritten message, which replaces the content in place, SPEC 3).
 * done(arg, outcome) once, from the event loop; timeout_s bounds it all.
 * Returns 0, or -1 (no memory); then done() is never called.
 */
int	 lnet_spam_start(struct lookup_ctx *ctx, const char *unit,
	    const char *addr, int edit,
	    const char *content, int timeout_s,
	    void (*done)(void *, const struct filter_outcome *), void *arg);

#endif /* LOOKUPNET_H */
