/*
 * --dnsbl checks of SMTP clients before the greeting (SPEC 4, 6.6), for
 * the session check in auth.c: lookup_dnsbl_check() (lookup.h) runs
 * dnsbl.c's check on the instance's resolver and reports whether to
 * serve the client, logging what the zones said.  The admin "dnsbl
 * stop" and "dnsbl start" (SPEC 9) switch the checks off and on for
 * every instance: lookup_dnsbl_switch().
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "options.h"
#include "dns.h"
#include "dnsbl.h"
#include "lookup.h"
#include "lookupnet.h"

#define LD_LISTED_MAX	512	/* zones named in one log line */

struct ld_check {
	struct dnsbl_check	*c;
	struct event		*ev;	/* report without a check */
	int			 allow;	/* for that report */
	char			 ip[INET6_ADDRSTRLEN];
	void			(*done)(void *, int);
	void			*arg;
};

static void	 ld_on_result(void *, const struct dnsbl_result *);
static void	 ld_on_timer(evutil_socket_t, short, void *);
static void	 ld_on_resume(evutil_socket_t, short, void *);

int
lookup_dnsbl_check(struct lookup_ctx *ctx, uint32_t inst, const char *ip,
    void (*done)(void *arg, int allow), void *arg)
{
	const struct instconf	*ic;
	struct dnsbl_conf	*bl = NULL;
	struct ld_check		*k;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct dns		*r;
	struct timeval		 tv = { 0, 0 };
	const char		*e;

	if (inst >= ctx->boot->conf.ninst)
		return (-1);
	ic = &ctx->boot->conf.inst[inst];
	if (!conf_bool(ic, OPT_DNSBL) || conf_str(ic, OPT_DNSBL) == NULL)
		return (-1);
	if (ctx->dnsbl_stopped) {
		log_debug("dnsbl: client %s not checked (checking stopped)",
		    ip != NULL ? ip : "");
		return (-1);
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->ev = evtimer_new(ctx->base, ld_on_timer, k)) == NULL) {
		/* Nothing can report later: the client is not checked. */
		log_warn("lookup: dnsbl: client %s not checked",
		    ip != NULL ? ip : "");
		free(k);
		return (-1);
	}
	k->done = done;
	k->arg = arg;
	(void)strlcpy(k->ip, ip != NULL ? ip : "", sizeof(k->ip));
	memset(&ss, 0, sizeof(ss));
	if (ip != NULL && inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (ip != NULL && inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		ss.ss_family = AF_UNIX;		/* not IP: exempt */
	if ((bl = malloc(sizeof(*bl))) == NULL ||
	    dnsbl_conf_parse(conf_str(ic, OPT_DNSBL), bl, &e) == -1) {
		/* Checked at start-up: only memory can be short here. */
		log_warnx("lookup: dnsbl: %s", bl == NULL ? "out of memory" :
		    e);
		k->allow = 1;
		goto later;
	}
	/*
	 * A check that cannot be made counts as one whose zones all
	 * failed: allowed unless the timeout is negative.
	 */
	k->allow = bl->timeout_ms > 0 || bl->threshold == 0 ||
	    (size_t)bl->threshold > bl->nzones;
	if ((r = lnet_dnsbl_resolver(ctx, bl, &e)) == NULL) {
		log_warnx("lookup: dnsbl: %s", e);
		goto later;
	}
	if ((k->c = dnsbl_start(r, bl, (struct sockaddr *)&ss, ld_on_result,
	    k)) == NULL) {
		log_warn("lookup: dnsbl");
		goto later;
	}
	free(bl);
	return (0);
 later:
	free(bl);
	evtimer_add(k->ev, &tv);
	return (0);
}

int
lookup_dnsbl_switch(struct lookup_ctx *ctx, int start, unsigned int seconds)
{
	struct timeval	 tv = { 0, 0 };

	if (!start && seconds > 0 && ctx->ev_dnsbl == NULL &&
	    (ctx->ev_dnsbl = evtimer_new(ctx->base, ld_on_resume,
	    ctx)) == NULL) {
		log_warn("lookup: dnsbl stop");
		return (-1);
	}
	if (ctx->ev_dnsbl != NULL)
		evtimer_del(ctx->ev_dnsbl);
	ctx->dnsbl_stopped = !start;
	if (start)
		log_info("dnsbl checking started");
	else if (seconds == 0)
		log_info("dnsbl checking stopped");
	else {
		tv.tv_sec = (time_t)seconds;
		evtimer_add(ctx->ev_dnsbl, &tv);
		log_info("dnsbl checking stopped for %us", seconds);
	}
	return (0);
}

/* The time of a "dnsbl stop <seconds>" is up. */
static void
ld_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct lookup_ctx	*ctx = arg;

	ctx->dnsbl_stopped = 0;
	log_info("dnsbl checking started (the stop timed out)");
}

static void
ld_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ld_check	*k = arg;

	if (!k->allow)
		log_warnx("dnsbl: client %s blocked: no check possible",
		    k->ip);
	k->done(k->arg, k->allow);
	event_free(k->ev);
	free(k);
}

static void
ld_on_result(void *arg, const struct dnsbl_result *res)
{
	struct ld_check	*k = arg;
	char		 zones[LD_LISTED_MAX];
	int		 unanswered;

	k->c = NULL;
	unanswered = res->timed_out + res->failed;
	if (res->skipped)
		log_debug("dnsbl: client %s not checked (local)", res->client);
	else if (!res->allow && res->listed >= res->threshold)
		log_warnx("dnsbl: client %s blocked by %s", res->client,
		    dnsbl_listed_str(res, zones, sizeof(zones)));
	else if (!res->allow)
		log_warnx("dnsbl: client %s blocked: %d of %zu zones did not "
		    "answer%s%s", res->client, unanswered, res->nzones,
		    res->listed > 0 ? ", listed by " : "", res->listed > 0 ?
		    dnsbl_listed_str(res, zones, sizeof(zones)) : "");
	else if (res->listed > 0)
		log_info("dnsbl: client %s listed by %s%s", res->client,
		    dnsbl_listed_str(res, zones, sizeof(zones)),
		    res->threshold == 0 ? " (threshold 0: not blocked)" :
		    " (below the threshold)");
	else if (unanswered > 0)
		log_verbose("dnsbl: client %s allowed: %d of %zu zones did "
		    "not answer", res->client, unanswered, res->nzones);
	k->done(k->arg, res->allow);
	event_free(k->ev);
	free(k);
}
