/*
 * --poll-run programs (SPEC 6.4) for queue: run once per poll cycle,
 * before queue scans the spool, with the spool directory as the only
 * argument.  They run through exec.c like filter programs (SPEC 6.1:
 * execve, no shell, only PATH and IFS, stdout read and dropped, killed
 * at --filter-timeout); queue gets the exit status once the program has
 * been reaped, and then starts its forwarding pass.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "log.h"
#include "msg.h"
#include "options.h"
#include "proc.h"
#include "exec.h"
#include "lookup.h"

/* A --poll-run program being run for queue. */
struct pollrun {
	struct lookup_ctx	*ctx;
	uint64_t		 id;
};

static void	 pollrun_reply(struct lookup_ctx *, uint64_t, uint32_t,
		    uint32_t);
static void	 pollrun_on_done(void *, const struct exec_result *);

void
pollrun_run(struct lookup_ctx *ctx, struct msg *m)
{
	const struct instconf	*ic;
	struct pollrun		*p;
	const char		*conf;
	char			 path[BOUNDS_PATH * 4];
	char			 dir[BOUNDS_PATH * 4], buf[256];
	char			*argv[3];
	uint32_t		 inst;

	if (msg_get_u32(m, &inst) == -1 ||
	    msg_get_str(m, path, sizeof(path)) == -1 ||
	    msg_get_str(m, dir, sizeof(dir)) == -1 || msg_get_end(m) == -1 ||
	    inst >= ctx->boot->conf.ninst || m->id == 0)
		fatalx("lookup: bad %s from queue", msg_type_name(m->type));
	/* Only the program the configuration names, never another. */
	ic = &ctx->boot->conf.inst[inst];
	conf = conf_bool(ic, OPT_POLL_RUN) ? conf_str(ic, OPT_POLL_RUN) : NULL;
	if (conf != NULL && strncmp(conf, "file:", 5) == 0)
		conf += 5;
	if (conf == NULL || strcmp(conf, path) != 0) {
		log_warnx("lookup: poll-run %s is not configured",
		    log_vis(buf, sizeof(buf), path, strlen(path)));
		pollrun_reply(ctx, m->id, MSG_TEMPFAIL, 0);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto fail;
	p->ctx = ctx;
	p->id = m->id;
	argv[0] = path;
	argv[1] = dir;
	argv[2] = NULL;
	if (exec_start(ctx->base, path, argv, (int)conf_num(ic,
	    OPT_FILTER_TIMEOUT), pollrun_on_done, p) == 0)
		return;
	free(p);
 fail:
	log_warn("lookup: cannot run %s", log_vis(buf, sizeof(buf), path,
	    strlen(path)));
	pollrun_reply(ctx, m->id, MSG_TEMPFAIL, 0);
}

static void
pollrun_on_done(void *arg, const struct exec_result *r)
{
	struct pollrun	*p = arg;
	char		 buf[EXEC_ERRSTR];
	int		 code = exec_exit_code(r);

	if (r->error != 0)
		log_warnx("%s", log_vis(buf, sizeof(buf), r->errstr,
		    strlen(r->errstr)));
	if (code == -1)
		pollrun_reply(p->ctx, p->id, MSG_TEMPFAIL, 0);
	else
		pollrun_reply(p->ctx, p->id, MSG_OK, (uint32_t)code);
	free(p);
}

static void
pollrun_reply(struct lookup_ctx *ctx, uint64_t id, uint32_t status,
    uint32_t code)
{
	struct msgchan	*q = &ctx->peer[PROC_QUEUE].m;

	msg_reply_begin(q, MSG_QUEUE_POLL_RUN, id, -1);
	msg_put_u32(q, status);
	msg_put_u32(q, code);
	msg_end(q);
	chan_flush(&ctx->peer[PROC_QUEUE]);
}
