/*
 * Processes, their channels and the privilege drop (STYLE.md section 1).
 */
#ifndef PROC_H
#define PROC_H

#include <stdint.h>

#include "bounds.h"
#include "msg.h"
#include "options.h"

struct event;
struct event_base;

enum proc_id {
	PROC_PARENT = 0,
	PROC_SMTP,
	PROC_QUEUE,
	PROC_MTA,
	PROC_POP,
	PROC_LOOKUP,
	PROC_CONTROL,
	PROC__COUNT
};

/* Where a child finds its channel to the parent after exec. */
#define PROC_PARENT_FD	3

/* The directory smtp, mta and control chroot to (SPEC 1). */
#define PROC_EMPTY_DIR	"/var/lib/emailrelay/empty"

/* TLS files per reload: two certificate files and a CA per instance. */
#define PROC_TLS_FILES	(3 * BOUNDS_INSTANCES)

/* "parent", "smtp", ... */
const char	*proc_name(enum proc_id);
/* The id for a name, or -1. */
int		 proc_byname(const char *);

/* Whether processes a and b have a channel (the table of STYLE.md 2). */
int		 proc_peers(enum proc_id a, enum proc_id b);

/* A channel driven by libevent. */
struct chan {
	struct msgchan	  m;
	struct event	 *ev;
	short		  evmask;
	enum proc_id	  peer;
	int		  external;	/* untrusted client: bad frame drops it */
	/* Called for each received frame; must call msg_done(). */
	void		(*dispatch)(struct chan *, struct msg *, void *);
	/* Called on EOF or error; the channel is already closed. */
	void		(*lost)(struct chan *, void *);
	void		 *arg;
};

/*
 * Set up ch on the connected socket fd (made non-blocking here) and start
 * reading.  self and peer name the ends for error lines.
 */
void	 chan_init(struct chan *ch, struct event_base *base, int fd,
	    enum proc_id self, enum proc_id peer,
	    void (*dispatch)(struct chan *, struct msg *, void *),
	    void (*lost)(struct chan *, void *), void *arg);

/* The same for a channel whose ch->m is already set up. */
void	 chan_attach(struct chan *ch, struct event_base *base,
	    enum proc_id peer,
	    void (*dispatch)(struct chan *, struct msg *, void *),
	    void (*lost)(struct chan *, void *), void *arg);

/* Schedule a write for what msg_end() queued on ch->m. */
void	 chan_flush(struct chan *ch);

/* Stop events and close the channel (queued output is dropped). */
void	 chan_close(struct chan *ch);

/* What a listener passed to a child carries. */
struct listener {
	int		 fd;
	uint32_t	 inst;		/* instance index */
	uint32_t	 kind;		/* LISTEN_SMTP, _POP, _ADMIN, _CONTROL */
	char		 addr[128];	/* for log lines */
};

/* Everything a child gets from the parent before it starts. */
/* A configuration being received: instance names come before options. */
struct conf_rx {
	struct config	*conf;
	char		 names[BOUNDS_INSTANCES][BOUNDS_INSTNAME];
	size_t		 nnames;
	uint32_t	 generation;
};

struct proc_boot {
	enum proc_id	 self;
	struct config	 conf;
	uint32_t	 generation;
	int		 peerfd[PROC__COUNT];	/* -1 where no channel */
	struct listener	 lst[BOUNDS_LISTENERS];
	size_t		 nlst;
	/* The child's side of its parent channel, kept by common/proc.c. */
	struct msgchan	*parent;	/* log lines go here */
	struct chan	*pch;		/* the event channel once looping */
	void		(*dispatch)(struct chan *, struct msg *, void *);
	void		*arg;
	struct config	 next;		/* a reload being received */
	struct conf_rx	 rx;
	struct config	**retired;	/* replaced, still referenced */
	size_t		 nretired;
	/*
	 * TLS files sent by the parent on reload (MSG_PARENT_TLS_*), and
	 * the process's hook that rebuilds its TLS contexts from them (see
	 * tlsconf_files_use()); the files are closed after it returned.
	 */
	char		*tls_path[PROC_TLS_FILES];
	int		 tls_fd[PROC_TLS_FILES];
	size_t		 ntls;
	void		(*tls_reload)(void *);
};

/*
 * Child: read the configuration, peer channels and listeners from the
 * parent channel (blocking, bounded by a timeout) until
 * MSG_PARENT_START_NOTIFY.  Any malformed frame is fatal.
 */
void	 proc_boot_receive(struct proc_boot *boot, struct msgchan *parent);

/*
 * Child: one CONF_* frame into rx->conf (initialised at the first
 * instance); returns 1 when MSG_PARENT_CONF_END_NOTIFY completed it and
 * rx->generation is set, 0 while more frames are to come.
 */
int	 proc_conf_frame(struct conf_rx *rx, struct msg *m);

/* What --log, --verbose, --debug and --log-format say, into common/log. */
void	 proc_log_conf(const struct config *conf);

/* Parent: queue the whole configuration on ch as CONF_* frames. */
void	 proc_conf_send(struct msgchan *ch, const struct config *conf,
	    uint32_t generation);

/*
 * The directory proc chroots to: PROC_EMPTY_DIR for smtp and control,
 * and for mta unless a --forward-to is a unix socket, when it is the
 * deepest common ancestor of the sockets' directories; the deepest common
 * ancestor of all spool and delivery directories for queue and pop; NULL
 * for lookup and the parent.  Returns buf, or NULL for no chroot.
 */
char	*proc_chroot_dir(enum proc_id proc, const struct config *conf,
	    char *buf, size_t bufsz);

/*
 * Drop privileges for proc (STYLE.md section 1): chroot (per
 * proc_chroot_dir), chdir("/"), setgroups, setresgid, setresuid to the
 * --user account, verify, not dumpable.  Not root: nothing to drop.
 * --user root: chroot only.  Any failure is fatal.
 */
void	 proc_drop(enum proc_id proc, const struct config *conf);

/*
 * Child start-up shared by all six: title, signals, logging through the
 * parent channel.  Returns the boot data; the caller then loads what it
 * needs, calls proc_drop() and builds its event loop with proc_loop_init.
 */
void	 proc_child_init(enum proc_id self, struct proc_boot *boot,
	    struct msgchan *parent);

/*
 * After proc_drop(): the channel to the parent becomes an event channel
 * (EOF ends the process with status 0), log lines go over it, and the
 * child tells the parent it is ready.  reconf, if not NULL, is called with
 * each new configuration received on reload.
 */
void	 proc_loop_init(struct event_base *base, struct proc_boot *boot,
	    struct msgchan *parent, struct chan *pch,
	    void (*dispatch)(struct chan *, struct msg *, void *), void *arg);

/*
 * The common part of every child's main after it loaded what it needs:
 * proc_drop(), a new event base, the parent channel (pch) and a channel
 * to every peer in peers[] (indexed by proc id; unused entries have no
 * event).  dispatch gets frames from the parent that are not reloads and
 * frames from the peers.  Returns the event base.
 */
struct event_base *proc_start(struct proc_boot *boot, struct msgchan *parent,
	    struct chan *pch, struct chan peers[PROC__COUNT],
	    void (*dispatch)(struct chan *, struct msg *, void *), void *arg);

/* Run the loop; returning from it is a bug. */
void	 proc_run(struct event_base *, enum proc_id) __attribute__((__noreturn__));

#endif /* PROC_H */
