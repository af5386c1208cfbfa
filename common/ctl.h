/*
 * emailrelayctl and the control socket (SPEC 10): what the tool, the
 * control process and queue share.
 *
 * The protocol is the frames of common/msg.h over the unix stream socket
 * (--control-socket): the tool sends one request (MSG_CTL_* of msg.h,
 * always starting with u32 MSG_VERSION) and reads its one reply (the same
 * type with MSG_F_REPLY, starting with u32 status and a str), then may
 * send the next.  Bounds: a frame is at most MSG_MAX (16 KiB) and control
 * reads at most 4 * MSG_MAX unparsed bytes.  A client that sends a frame
 * that is malformed, of another type, a reply, with a descriptor, or a
 * second request before its reply came, is dropped (one log line); the
 * daemon goes on serving everyone else.
 *
 * Who may connect: the socket is mode 0660, owned by root and the group
 * of the first instance's spool directory (the user's own when not
 * started as root); control also checks the peer's credentials
 * (SO_PEERCRED, SO_PEERGROUPS): uid 0, the daemon's own uid, or a peer
 * whose primary or supplementary groups include that group, which
 * control takes from the socket file before it drops privileges.  Per
 * uid at most CTL_MAX_PER_UID connections, CTL_MAX_CONNS in all.
 *
 * Data in replies:
 *  - a queue entry is one line of seven tab-separated fields, "<id>\t
 *    <state>\t<mtime>\t<size>\t<from>\t<recipients>\t<reason>\n": state
 *    "ready", "busy", "bad" or "new"; mtime of the envelope in unix
 *    seconds; size of the content in octets (-1 when it is missing);
 *    recipients comma-separated.  Text fields are printable ASCII (other
 *    bytes become '?') and bounded.
 *  - counters are lines "<name> <decimal>\n", name [a-z0-9_]+.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#define CTL_MAX_CONNS	32		/* control connections at once */
#define CTL_MAX_PER_UID	8		/* of them by one uid */
#define CTL_FIELDMAX	512		/* from, reason, with the NUL */
#define CTL_RCPTMAX	1024		/* the recipients field */
#define CTL_LINEMAX	(SPOOL_BASE_MAX + 64 + 2 * CTL_FIELDMAX + \
			    CTL_RCPTMAX)	/* one entry line */
#define CTL_PAGEMAX	(12 * 1024)	/* entry lines in one reply */
#define CTL_ENVMAX	(12 * 1024)	/* envelope text in one reply */
#define CTL_STATSMAX	(8 * 1024)	/* counter lines in one reply */
#define CTL_NAMEMAX	64		/* a counter name, with the NUL */

/* MSG_CTL_PAUSE what. */
#define CTL_PAUSE_SMTP		0
#define CTL_PAUSE_FORWARD	1

/* One message as "show queue" lists it. */
struct ctl_qent {
	char			 id[SPOOL_BASE_MAX];
	char			 state[8];
	long long		 mtime;
	long long		 size;
	char			 from[CTL_FIELDMAX];
	char			 rcpts[CTL_RCPTMAX];
	char			 reason[CTL_FIELDMAX];
};

/* "ready", "busy", "bad", "new" for a spool state. */
const char	*ctl_state_name(enum spool_state state);

/*
 * Fill e for message base whose envelope is in state in the spool
 * directory dirfd: file times and sizes, From, recipients, last reason.
 * Returns 0, or -1 with errno (ENOENT: the envelope is gone; another
 * error when it cannot be read: e->from then holds the reason).
 */
int	 ctl_qent_load(int dirfd, const char *base, enum spool_state state,
	    struct ctl_qent *e);

/*
 * Write e as its line (with '\n' and a NUL) into buf of bufsz bytes.
 * Returns the length without the NUL, or -1 when it does not fit.
 */
int	 ctl_qent_pack(const struct ctl_qent *e, char *buf, size_t bufsz);

/*
 * Parse one entry line of len bytes at p (need not be NUL-terminated;
 * a trailing '\n' is allowed) into e.  Returns 0, or -1 for a line that
 * is malformed (field count, bad id or state, bad numbers, too long).
 */
int	 ctl_qent_unpack(const char *p, size_t len, struct ctl_qent *e);

/*
 * The next counter line from *p (up to end): name into name (namesz
 * bytes), value into *v; *p moves past it.  Returns 1, 0 at the end, or
 * -1 for a malformed line.
 */
int	 ctl_stat_next(const char **p, const char *end, char *name,
	    size_t namesz, unsigned long long *v);

/* emailrelayctl commands. */
enum ctl_cmd_kind {
	CTL_CMD_SHOW_QUEUE,
	CTL_CMD_SHOW_STATS,
	CTL_CMD_SHOW_MESSAGE,
	CTL_CMD_FORWARD,
	CTL_CMD_RETRY,
	CTL_CMD_REMOVE,
	CTL_CMD_PAUSE,
	CTL_CMD_RESUME,
	CTL_CMD_MONITOR,
	CTL_CMD_LOG,
	CTL_CMD_RELOAD,
	CTL_CMD_STOP
};

struct ctl_cmd {
	enum ctl_cmd_kind	 kind;
	char			 arg[SPOOL_BASE_MAX];	/* id, instance, "all" */
	uint32_t		 num;	/* CTL_PAUSE_*, or log verbose 1/0 */
};

/*
 * Parse the command words argv[0..argc-1] ("show queue", "retry all",
 * ...).  Returns 0, or -1 with *errstr set to static text for a usage
 * error.
 */
int	 ctl_cmd_parse(int argc, char *const argv[], struct ctl_cmd *cmd,
	    const char **errstr);

#endif /* CTL_H */
