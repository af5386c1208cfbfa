/*
 * The lookup process: entry point.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "proc.h"
#include "lookup.h"

struct lookup_ctx {
	struct proc_boot	*boot;
	struct event_base	*base;
	struct chan		 parent;
	struct chan		 peer[PROC__COUNT];
};

static void	 lookup_dispatch(struct chan *, struct msg *, void *);

static void
lookup_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	fatalx("lookup: unexpected %s from %s", msg_type_name(m->type),
	    proc_name(ch->peer));
}

void
lookup_main(struct proc_boot *boot, struct msgchan *parent)
{
	static struct lookup_ctx	 ctx;

	ctx.boot = boot;
	ctx.base = proc_start(boot, parent, &ctx.parent, ctx.peer,
	    lookup_dispatch, &ctx);
	proc_run(ctx.base, PROC_LOOKUP);
}
