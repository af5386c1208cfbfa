/*
 * common/ctl.c: the queue entry lines (pack, unpack, garbage), the
 * counter lines, the order of base names and emailrelayctl's command
 * words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "t.h"

#define ID	"emailrelay.123.1700000000.7"

static void
fill(struct ctl_qent *e)
{
	memset(e, 0, sizeof(*e));
	(void)strlcpy(e->id, ID, sizeof(e->id));
	(void)strlcpy(e->state, "bad", sizeof(e->state));
	e->mtime = 1700000005;
	e->size = 342;
	(void)strlcpy(e->from, "a@example.com", sizeof(e->from));
	(void)strlcpy(e->rcpts, "b@example.com,c@example.com",
	    sizeof(e->rcpts));
	(void)strlcpy(e->reason, "550 no such user", sizeof(e->reason));
}

TEST(t_ctl_qent_roundtrip)
{
	struct ctl_qent	 e, d;
	char		 buf[CTL_LINEMAX];
	int		 n;

	fill(&e);
	n = ctl_qent_pack(&e, buf, sizeof(buf));
	T_ASSERT(n > 0);
	T_EQ_STR(buf, ID "\tbad\t1700000005\t342\ta@example.com\t"
	    "b@example.com,c@example.com\t550 no such user\n");
	T_EQ_INT(ctl_qent_unpack(buf, (size_t)n, &d), 0);
	T_EQ_STR(d.id, ID);
	T_EQ_STR(d.state, "bad");
	T_EQ_INT(d.mtime, 1700000005);
	T_EQ_INT(d.size, 342);
	T_EQ_STR(d.from, "a@example.com");
	T_EQ_STR(d.rcpts, "b@example.com,c@example.com");
	T_EQ_STR(d.reason, "550 no such user");
	/* Without the newline too; empty text fields; size -1. */
	T_EQ_INT(ctl_qent_unpack(ID "\tready\t0\t-1\t\t\t",
	    strlen(ID "\tready\t0\t-1\t\t\t"), &d), 0);
	T_EQ_INT(d.size, -1);
	T_EQ_STR(d.from, "");
	/* Too small a buffer. */
	T_EQ_INT(ctl_qent_pack(&e, buf, 20), -1);
}

TEST(t_ctl_qent_garbage)
{
	static const char *bad[] = {
		"",
		"\n",
		ID "\tready\t0\t1\tf\tr\n",			/* 6 fields */
		ID "\tready\t0\t1\tf\tr\tx\ty\n",		/* 8 fields */
		"emailrelay.x.1.2\tready\t0\t1\tf\tr\tx\n",	/* bad id */
		"../x\tready\t0\t1\tf\tr\tx\n",
		ID "\tgone\t0\t1\tf\tr\tx\n",			/* state */
		ID "\tready\t-5\t1\tf\tr\tx\n",			/* mtime */
		ID "\tready\t0\t-2\tf\tr\tx\n",			/* size */
		ID "\tready\t0\t1x\tf\tr\tx\n",
		ID "\tready\t0\t\tf\tr\tx\n",
		ID "\tready\t0\t-\tf\tr\tx\n",
		ID "\tready\t99999999999999999999\t1\tf\tr\tx\n",
		ID "\tready\t0\t1\tf\x01\tr\tx\n",		/* control */
		ID "\tready\t0\t1\tf\tr\tx\xff\n",		/* 8-bit */
	};
	struct ctl_qent	 e;
	char		*big;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ctl_qent_unpack(bad[i], strlen(bad[i]), &e) != -1) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			T_ASSERT(0);
		}
		T_EQ_STR(e.id, "");
	}
	/* A field over its bound, and a line over the line bound. */
	big = malloc(CTL_LINEMAX * 2);
	T_ASSERT(big != NULL);
	memset(big, 'x', CTL_LINEMAX * 2);
	memcpy(big, ID "\tready\t0\t1\t", strlen(ID "\tready\t0\t1\t"));
	memcpy(big + CTL_FIELDMAX + 60, "\tr\tx", 4);
	T_EQ_INT(ctl_qent_unpack(big, CTL_FIELDMAX + 64, &e), -1);
	T_EQ_INT(ctl_qent_unpack(big, CTL_LINEMAX * 2, &e), -1);
	/* Not NUL-terminated: only len bytes are read. */
	memcpy(big, ID "\tready\t0\t1\tf\tr\tx",
	    strlen(ID "\tready\t0\t1\tf\tr\tx"));
	T_EQ_INT(ctl_qent_unpack(big, strlen(ID "\tready\t0\t1\tf\tr\tx"),
	    &e), 0);
	T_EQ_STR(e.reason, "x");
	free(big);
}

TEST(t_ctl_stats)
{
	const char		*s = "connections 5\nqueue_ready 0\n", *p, *end;
	char			 name[CTL_NAMEMAX];
	unsigned long long	 v;

	p = s;
	end = s + strlen(s);
	T_EQ_INT(ctl_stat_next(&p, end, name, sizeof(name), &v), 1);
	T_EQ_STR(name, "connections");
	T_EQ_INT(v, 5);
	T_EQ_INT(ctl_stat_next(&p, end, name, sizeof(name), &v), 1);
	T_EQ_STR(name, "queue_ready");
	T_EQ_INT(v, 0);
	T_EQ_INT(ctl_stat_next(&p, end, name, sizeof(name), &v), 0);

#define BAD(text) do {							\
	p = (text);							\
	end = p + strlen(p);						\
	T_EQ_INT(ctl_stat_next(&p, end, name, sizeof(name), &v), -1);	\
} while (0)
	BAD("connections 5");		/* no newline */
	BAD("connections\n");
	BAD(" 5\n");
	BAD("Conn 5\n");
	BAD("a-b 5\n");
	BAD("a 5x\n");
	BAD("a -5\n");
	BAD("a \n");
	BAD("a 99999999999999999999\n");
	BAD("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    " 1\n");
#undef BAD
}

TEST(t_ctl_spool_order)
{
	T_ASSERT(spool_base_cmp("emailrelay.9.100.1", "emailrelay.1.99.5") > 0);
	T_ASSERT(spool_base_cmp("emailrelay.9.100.2", "emailrelay.1.100.10") <
	    0);
	T_ASSERT(spool_base_cmp("emailrelay.2.100.1", "emailrelay.10.100.1") <
	    0);
	T_EQ_INT(spool_base_cmp(ID, ID), 0);
}

static int
parse(const char *line, struct ctl_cmd *cmd, const char **err)
{
	char	*words[8], buf[256], *p, *w;
	int	 n = 0;

	(void)strlcpy(buf, line, sizeof(buf));
	for (p = buf; n < 8 && (w = strsep(&p, " ")) != NULL; )
		if (*w != '\0')
			words[n++] = w;
	return (ctl_cmd_parse(n, words, cmd, err));
}

TEST(t_ctl_cmd_parse)
{
	static const char *bad[] = {
		"", "show", "show queue x", "show message", "show message x",
		"show message ../x", "show all", "forward a b", "retry",
		"retry x", "remove all", "remove", "pause", "pause pop",
		"resume smtp x", "log", "log loud", "monitor x", "reload x",
		"stop now", "frobnicate",
	};
	struct ctl_cmd	 c;
	const char	*err;
	size_t		 i;

	T_EQ_INT(parse("show queue", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_SHOW_QUEUE);
	T_EQ_INT(parse("show stats", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_SHOW_STATS);
	T_EQ_INT(parse("show message " ID, &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_SHOW_MESSAGE);
	T_EQ_STR(c.arg, ID);
	T_EQ_INT(parse("forward", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_FORWARD);
	T_EQ_STR(c.arg, "");
	T_EQ_INT(parse("forward out", &c, &err), 0);
	T_EQ_STR(c.arg, "out");
	T_EQ_INT(parse("retry all", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_RETRY);
	T_EQ_STR(c.arg, "all");
	T_EQ_INT(parse("remove " ID, &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_REMOVE);
	T_EQ_INT(parse("pause smtp", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_PAUSE);
	T_EQ_INT(c.num, CTL_PAUSE_SMTP);
	T_EQ_INT(parse("resume forward", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_RESUME);
	T_EQ_INT(c.num, CTL_PAUSE_FORWARD);
	T_EQ_INT(parse("log verbose", &c, &err), 0);
	T_EQ_INT(c.num, 1);
	T_EQ_INT(parse("log brief", &c, &err), 0);
	T_EQ_INT(c.num, 0);
	T_EQ_INT(parse("monitor", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_MONITOR);
	T_EQ_INT(parse("reload", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_RELOAD);
	T_EQ_INT(parse("stop", &c, &err), 0);
	T_EQ_INT(c.kind, CTL_CMD_STOP);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (parse(bad[i], &c, &err) != -1) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			T_ASSERT(0);
		}
		T_ASSERT(err != NULL);
	}
}
