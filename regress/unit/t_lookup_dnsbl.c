/*
 * lookup_dnsbl_check() (lookup/lookup_dnsbl.c): the callback rules the
 * session check relies on, against the fake DNS server: never called
 * without --dnsbl, called exactly once and never from inside the call,
 * allow as the instance's --dnsbl value decides; and the admin switch,
 * lookup_dnsbl_switch(): nothing checked while stopped, checking again
 * after a start or once a timed stop is over.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "options.h"
#include "proc.h"
#include "lookup/lookup.h"
#include "lookup/lookupnet.h"
#include "fakedns.h"
#include "t.h"

struct t_ld {
	int	 called;
	int	 allow;
};

struct t_ldenv {
	struct event_base	*base;
	struct fakedns		*fk;
	struct proc_boot	*boot;
	struct lookup_ctx	 ctx;
};

static int	 t_ld_init(struct t_ldenv *, const char *);
static void	 t_ld_free(struct t_ldenv *);
static void	 t_ld_done(void *, int);
static int	 t_ld_check(struct t_ldenv *, uint32_t, const char *,
		    struct t_ld *);

/*
 * An event base, the fake server (198.18.0.2 listed in bl.test, nothing
 * else; 198.18.0.2 never answered in slow.test) and a lookup context
 * whose instance 0 has --dnsbl fmt ("%s": the server's address), or
 * none when fmt is NULL.
 */
static int
t_ld_init(struct t_ldenv *e, const char *fmt)
{
	char		 value[512], err[1024];
	const char	*args[4];
	int		 argc = 1;

	memset(e, 0, sizeof(*e));
	if ((e->base = event_base_new()) == NULL ||
	    (e->fk = fakedns_new(e->base)) == NULL ||
	    (e->boot = calloc(1, sizeof(*e->boot))) == NULL)
		return (-1);
	(void)fakedns_add(e->fk, "2.0.18.198.bl.test", FK_T_A, FK_RECORD,
	    "127.0.0.2");
	(void)fakedns_add(e->fk, "2.0.18.198.slow.test", FK_T_ANY, FK_DROP,
	    NULL);
	args[0] = "emailrelay";
	if (fmt != NULL) {
		(void)snprintf(value, sizeof(value), fmt,
		    fakedns_server(e->fk));
		args[argc++] = "--dnsbl";
		args[argc++] = value;
	}
	args[argc] = NULL;
	config_init(&e->boot->conf, args[0]);
	if (config_argv(&e->boot->conf, argc, (char **)args, err,
	    sizeof(err)) != CONF_OK ||
	    config_finish(&e->boot->conf, err, sizeof(err)) != CONF_OK) {
		fprintf(stderr, "t_lookup_dnsbl: %s\n", err);
		return (-1);
	}
	e->ctx.boot = e->boot;
	e->ctx.base = e->base;
	return (0);
}

static void
t_ld_free(struct t_ldenv *e)
{
	lnet_shutdown();
	if (e->ctx.ev_dnsbl != NULL)
		event_free(e->ctx.ev_dnsbl);
	if (e->fk != NULL)
		fakedns_free(e->fk);
	if (e->boot != NULL) {
		config_free(&e->boot->conf);
		free(e->boot);
	}
	if (e->base != NULL)
		event_base_free(e->base);
}

static void
t_ld_done(void *arg, int allow)
{
	struct t_ld	*d = arg;

	d->called++;
	d->allow = allow;
}

/*
 * Check ip for instance inst: 0 when done() came once from the loop
 * (not from inside the call), -1 otherwise.
 */
static int
t_ld_check(struct t_ldenv *e, uint32_t inst, const char *ip, struct t_ld *d)
{
	memset(d, 0, sizeof(*d));
	if (lookup_dnsbl_check(&e->ctx, inst, ip, t_ld_done, d) != 0 ||
	    d->called != 0)
		return (-1);
	(void)fakedns_run(e->base, &d->called, 5000);
	/* Nothing more comes. */
	(void)event_base_loop(e->base, EVLOOP_NONBLOCK);
	return (d->called == 1 ? 0 : -1);
}

TEST(lookup_dnsbl_without_dnsbl)
{
	struct t_ldenv	 e;
	struct t_ld	 d;

	T_ASSERT(t_ld_init(&e, NULL) == 0);
	memset(&d, 0, sizeof(d));
	T_EQ_INT(lookup_dnsbl_check(&e.ctx, 0, "198.18.0.2", t_ld_done, &d),
	    -1);
	T_EQ_INT(lookup_dnsbl_check(&e.ctx, 7, "198.18.0.2", t_ld_done, &d),
	    -1);
	(void)event_base_loop(e.base, EVLOOP_NONBLOCK);
	T_EQ_INT(d.called, 0);
	T_EQ_INT(fakedns_count(e.fk), 0);
	t_ld_free(&e);
}

TEST(lookup_dnsbl_listed_and_clean)
{
	struct t_ldenv	 e;
	struct t_ld	 d;

	T_ASSERT(t_ld_init(&e, "bl.test,1,2000,%s") == 0);
	T_EQ_INT(t_ld_check(&e, 0, "198.18.0.2", &d), 0);
	T_EQ_INT(d.allow, 0);
	T_EQ_INT(t_ld_check(&e, 0, "198.18.0.3", &d), 0);
	T_EQ_INT(d.allow, 1);
	T_ASSERT(fakedns_asked(e.fk, "3.0.18.198.bl.test"));
	t_ld_free(&e);
}

TEST(lookup_dnsbl_local_not_asked)
{
	struct t_ldenv	 e;
	struct t_ld	 d;

	T_ASSERT(t_ld_init(&e, "bl.test,1,2000,%s") == 0);
	T_EQ_INT(t_ld_check(&e, 0, "127.0.0.1", &d), 0);
	T_EQ_INT(d.allow, 1);
	T_EQ_INT(t_ld_check(&e, 0, "192.168.1.2", &d), 0);
	T_EQ_INT(d.allow, 1);
	T_EQ_INT(t_ld_check(&e, 0, "not an address", &d), 0);
	T_EQ_INT(d.allow, 1);
	T_EQ_INT(fakedns_count(e.fk), 0);
	t_ld_free(&e);
}

TEST(lookup_dnsbl_threshold_zero_serves)
{
	struct t_ldenv	 e;
	struct t_ld	 d;

	T_ASSERT(t_ld_init(&e, "bl.test,0,2000,%s") == 0);
	T_EQ_INT(t_ld_check(&e, 0, "198.18.0.2", &d), 0);
	T_EQ_INT(d.allow, 1);
	T_ASSERT(fakedns_asked(e.fk, "2.0.18.198.bl.test"));
	t_ld_free(&e);
}

TEST(lookup_dnsbl_timeouts)
{
	struct t_ldenv	 e;
	struct t_ld	 d;

	/* A zone that never answers: served on a positive timeout. */
	T_ASSERT(t_ld_init(&e, "slow.test,1,300,%s") == 0);
	T_EQ_INT(t_ld_check(&e, 0, "198.18.0.2", &d), 0);
	T_EQ_INT(d.allow, 1);
	t_ld_free(&e);
	/* Dropped on a negative one. */
	T_ASSERT(t_ld_init(&e, "slow.test,1,-300,%s") == 0);
	T_EQ_INT(t_ld_check(&e, 0, "198.18.0.2", &d), 0);
	T_EQ_INT(d.allow, 0);
	t_ld_free(&e);
}

TEST(lookup_dnsbl_stop_start)
{
	struct t_ldenv	 e;
	struct t_ld	 d;
	time_t		 t0;
	int		 i;

	T_ASSERT(t_ld_init(&e, "bl.test,1,2000,%s") == 0);
	/* Stopped: a listed client is not checked, nobody is asked. */
	T_EQ_INT(lookup_dnsbl_switch(&e.ctx, 0, 0), 0);
	memset(&d, 0, sizeof(d));
	T_EQ_INT(lookup_dnsbl_check(&e.ctx, 0, "198.18.0.2", t_ld_done, &d),
	    -1);
	(void)event_base_loop(e.base, EVLOOP_NONBLOCK);
	T_EQ_INT(d.called, 0);
	T_EQ_INT(fakedns_count(e.fk), 0);
	/* Started: checked and dropped again. */
	T_EQ_INT(lookup_dnsbl_switch(&e.ctx, 1, 0), 0);
	T_EQ_INT(t_ld_check(&e, 0, "198.18.0.2", &d), 0);
	T_EQ_INT(d.allow, 0);
	/* A stop of one second ends by itself. */
	T_EQ_INT(lookup_dnsbl_switch(&e.ctx, 0, 1), 0);
	memset(&d, 0, sizeof(d));
	T_EQ_INT(lookup_dnsbl_check(&e.ctx, 0, "198.18.0.2", t_ld_done, &d),
	    -1);
	t0 = time(NULL);
	for (i = 0; i < 100 && e.ctx.dnsbl_stopped &&
	    time(NULL) - t0 < 5; i++)
		(void)event_base_loop(e.base, EVLOOP_ONCE);
	T_EQ_INT(e.ctx.dnsbl_stopped, 0);
	T_EQ_INT(t_ld_check(&e, 0, "198.18.0.2", &d), 0);
	T_EQ_INT(d.allow, 0);
	/* A start cancels a timed stop; the timer does not fire later. */
	T_EQ_INT(lookup_dnsbl_switch(&e.ctx, 0, 1), 0);
	T_EQ_INT(lookup_dnsbl_switch(&e.ctx, 1, 0), 0);
	T_ASSERT(!evtimer_pending(e.ctx.ev_dnsbl, NULL));
	/* A stop without time replaces a timed one. */
	T_EQ_INT(lookup_dnsbl_switch(&e.ctx, 0, 1), 0);
	T_EQ_INT(lookup_dnsbl_switch(&e.ctx, 0, 0), 0);
	T_ASSERT(!evtimer_pending(e.ctx.ev_dnsbl, NULL));
	T_EQ_INT(e.ctx.dnsbl_stopped, 1);
	t_ld_free(&e);
}
