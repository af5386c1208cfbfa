/*
 * Framed messages between processes (STYLE.md section 2).
 *
 * A frame is a header { uint32 len; uint16 type; uint16 flags; uint64 id }
 * in host byte order followed by len - MSG_HDRLEN payload bytes, at most
 * MSG_MAX in all.  MSG_F_FD: one descriptor rides along (SCM_RIGHTS).
 * Payloads are typed fields: u32, u64, str (u32 length + bytes, no NUL
 * inside), data (u32 length + bytes).  Message bodies never go in frames.
 *
 * Each type's field list (its signature, e.g. "u32 str fd", where "fd"
 * means MSG_F_FD is set and "fd?" that it may be) is in the table in
 * msg.c, with a second signature for the type's reply (MSG_F_REPLY set;
 * none for _NOTIFY types): adding a type is one enum line here and one
 * table line there.
 *
 * This file knows no libevent: common/proc.c wires channels to events.
 */
#ifndef MSG_H
#define MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_VERSION	13
#define MSG_HDRLEN	16
#define MSG_MAX		16384		/* whole frame, header included */
#define MSG_F_FD	0x0001
#define MSG_F_REPLY	0x0002		/* a reply: checked against the
					   type's reply signature */
#define MSG_MAXFDS	64		/* received, not yet taken */

/* Reply status, the first field of every reply. */
#define MSG_OK		0
#define MSG_TEMPFAIL	1
#define MSG_PERMFAIL	2

/* Outcomes of MSG_QUEUE_MESSAGE_FORWARD (SPEC 5). */
#define MSG_FWD_DELIVERED	0	/* remove the message */
#define MSG_FWD_PARTIAL		1	/* .bad with the rejected */
#define MSG_FWD_FAILED		2	/* .bad with reason and code */
#define MSG_FWD_SESSION		3	/* .bad, code empty; skip the
					   address for the pass */
#define MSG_FWD_CONNECT		4	/* no connection: back to ready,
					   skip the address for the pass */

/*
 * MSG_<INITIATOR>_<OBJECT>_<VERB>; replies reuse the request's type,
 * one-way types end in _NOTIFY.  Append only; bump MSG_VERSION on change.
 */
enum msg_type {
	MSG_NONE = 0,
	/* parent -> child at start-up and on reload */
	MSG_PARENT_CONF_INSTANCE_NOTIFY,	/* u32 index, str name */
	MSG_PARENT_CONF_OPTION_NOTIFY,		/* u32 inst, u32 opt,
						   u32 hasval, str val */
	MSG_PARENT_CONF_END_NOTIFY,		/* u32 generation */
	MSG_PARENT_PEER_NOTIFY,			/* u32 proc + fd */
	MSG_PARENT_LISTENER_NOTIFY,		/* u32 inst, u32 kind, str addr
						   + fd */
	MSG_PARENT_START_NOTIFY,		/* (nothing) */
	/* child -> parent */
	MSG_CHILD_READY_NOTIFY,			/* u32 proc */
	MSG_LOG_NOTIFY,				/* u32 level, str body */
	/*
	 * smtpd <-> queue, one message being received; id = session id.
	 * CREATE: u32 inst, u64 SIZE= (0 if none); reply u32 status,
	 * str reply text, str base name, + fd of the content file (O_WRONLY)
	 * when MSG_OK.  ENVELOPE: u32 body (ADDR_BODY_*), u32 utf8 mailbox
	 * names, str from, str client IP, str SASL id or trust keyword, str
	 * AUTH= (xtext), str the client's verified certificate (PEM, or "").
	 * RCPT: u32 count, data: count entries "L<mailbox>\0" (To-Local) or
	 * "R<address>\0" (To-Remote); as many frames as needed.  COMMIT:
	 * u64 content octets; reply u32 status, str reply text for the
	 * client.  ROLLBACK: the message is abandoned (nothing).
	 */
	MSG_SMTPD_MESSAGE_CREATE,
	MSG_SMTPD_MESSAGE_ENVELOPE_NOTIFY,
	MSG_SMTPD_MESSAGE_RCPT_NOTIFY,
	MSG_SMTPD_MESSAGE_COMMIT,
	MSG_SMTPD_MESSAGE_ROLLBACK_NOTIFY,
	/*
	 * smtpd -> queue: a session that stored messages ended (for
	 * --forward-on-disconnect): u32 inst, u32 messages stored.
	 */
	MSG_SMTPD_SESSION_END_NOTIFY,
	/*
	 * queue <-> mta, one message being forwarded; id = a forwarding id
	 * chosen by queue.  RCPT: u32 count, data: count To-Remote
	 * addresses, each NUL-terminated; as many frames as needed, all
	 * before the FORWARD with the same id.  FORWARD: u32 inst, str
	 * message base name, str address ("host:port", "[ipv6]:port" or a
	 * unix path), str from, u32 body (ENVELOPE_BODY_*), u32 utf8
	 * mailbox names, str AUTH= for MAIL (xtext or "<>", "" for none),
	 * str ClientAccountSelector ("" for none; with --client-auth it
	 * picks the account, and a connection carries messages of one
	 * selector only) + the content fd (O_RDONLY); reply u32 outcome
	 * (MSG_FWD_*), u32 reply code (0 = none), str reason, data one
	 * byte per recipient, 1 where the server rejected it (empty when
	 * none was).
	 */
	MSG_QUEUE_MESSAGE_RCPT_NOTIFY,
	MSG_QUEUE_MESSAGE_FORWARD,
	/*
	 * queue -> parent: the --as-client pass is over, u32 exit status
	 * (0 done, 1 the connection or session failed).
	 */
	MSG_QUEUE_CLIENT_DONE_NOTIFY,
	/*
	 * queue -> lookup: run one filter program (SPEC 6.1, 6.2); id =
	 * a request id chosen by queue.  u32 inst, u32 side (0 --filter,
	 * 1 --client-filter), str program path, str content path, str
	 * envelope path.  Reply u32 status (MSG_OK), u32 action
	 * (FILTER_PASS, FILTER_ABANDON, FILTER_FAIL), u32 rescan, u32
	 * endpass, u32 timed out, u32 code (4xx/5xx or 0), str response,
	 * str reason, str reply (the server's reply line).
	 */
	MSG_QUEUE_FILTER_RUN,
	/*
	 * smtpd -> lookup: run the address verifier for one RCPT or VRFY
	 * (SPEC 6.5); id = session id.  u32 inst, str recipient, str MAIL
	 * FROM ("" for VRFY), str client "ip:port", str our domain, str
	 * AUTH mechanism in lower case or "none", str SASL id or trust
	 * keyword.  Reply u32 status (MSG_OK), u32 result (VERIFY_*), str
	 * full name, str mailbox or address, str text.
	 */
	MSG_SMTPD_RCPT_VERIFY,
	/*
	 * smtpd -> lookup, before the greeting; id = session id.  u32
	 * inst, str client IP (no port).  Reply u32 status (MSG_OK: serve;
	 * MSG_PERMFAIL: drop the client without a reply, DNSBL), str trust
	 * keyword of a trusted client ("" if none, secrets "server none"),
	 * str AUTH mechanisms the secrets allow (upper case, space
	 * separated, SPEC 4; "" for none or without --server-auth).
	 */
	MSG_SMTPD_SESSION_CHECK,
	/*
	 * smtpd -> lookup: check SASL credentials against --server-auth;
	 * id = session id.  u32 inst, str mechanism (upper case), str
	 * authzid, str id, str secret (password, or the hex digest for
	 * CRAM-*), str challenge sent (CRAM-*, else ""), str client IP.
	 * Reply u32 status (MSG_OK: authenticated; MSG_PERMFAIL: wrong;
	 * MSG_TEMPFAIL: could not check), str kind of the secret tried
	 * ("plain", "md5", "pam", or "" when there was none) for the log.
	 */
	MSG_SMTPD_AUTH_CHECK,
	/* pop -> lookup: as the two above, against --pop-auth. */
	MSG_POP_SESSION_CHECK,
	MSG_POP_AUTH_CHECK,
	/*
	 * lookup -> parent: a PAM check (service "emailrelay") for pam:
	 * secrets; id = lookup's request id.  str user, str password.
	 * Reply u32 status (MSG_OK, MSG_PERMFAIL wrong, MSG_TEMPFAIL could
	 * not check).
	 */
	MSG_LOOKUP_PAM_CHECK,
	/*
	 * mta -> lookup: the client account for --client-auth; id = mta's
	 * request id.  u32 inst, str ClientAccountSelector ("" for none).
	 * Reply u32 status (MSG_OK; MSG_PERMFAIL: no account for that
	 * selector; MSG_TEMPFAIL: secrets unreadable), u32 kind (SECRET_*
	 * of common/secrets.h; SECRET_NONE: do not authenticate), str id,
	 * data secret (password, 32-byte md5 state, or the XOAUTH2 initial
	 * response).
	 */
	MSG_MTA_CLIENT_SECRET,
	/*
	 * lookup -> parent: open a secrets file that changed (lookup runs
	 * without the rights to read it, SPEC 7); id = lookup's request
	 * id.  str path, which must be one the configuration names.  Reply
	 * u32 status (MSG_OK with the fd, O_RDONLY; else an errno value).
	 */
	MSG_LOOKUP_SECRETS_OPEN,
	/*
	 * queue -> lookup: run a --poll-run program once (SPEC 6.4); id =
	 * queue's request id.  u32 inst, str program path, str spool
	 * directory.  Reply u32 status (MSG_OK ran, MSG_TEMPFAIL could not
	 * run or timed out), u32 exit status.
	 */
	MSG_QUEUE_POLL_RUN,
	/*
	 * control -> queue, for an admin session (SPEC 9); id = the admin
	 * session id.  FORWARD: u32 inst, u32 flush; starts a forwarding
	 * pass ("forwarding: [admin]") and is answered at once, or with
	 * flush once the pass is over; reply u32 status (MSG_OK, else
	 * MSG_TEMPFAIL with the reason: "still working", "no messages to
	 * send", the reason of a failed message), str reason.
	 */
	MSG_CONTROL_QUEUE_FORWARD,
	/*
	 * control -> queue: unfail-all, every ".bad" envelope of instance
	 * u32 inst back to ready.  Reply u32 status, str reason.
	 */
	MSG_CONTROL_QUEUE_UNFAIL,
	/*
	 * control -> queue: one page of message ids (base names), oldest
	 * first.  u32 inst, u32 failed (0 ready, 1 ".bad"), str the last id
	 * of the previous page ("" for the first).  Reply u32 status, u32
	 * more (another page follows), str ids, one per line.
	 */
	MSG_CONTROL_QUEUE_LIST,
	/*
	 * queue -> control: an event for admin clients that gave "notify"
	 * (SPEC 9): u32 inst, str text ("forward: start" and "forward: end"
	 * around every forwarding pass and every --immediate forward).
	 */
	MSG_QUEUE_EVENT_NOTIFY,
	/*
	 * control -> smtpd: smtp enable|disable for instance u32 inst, u32
	 * enable.  While disabled, new connections get "421 service not
	 * available" and are closed; open sessions go on.  Reply u32
	 * status, str reason.
	 */
	MSG_CONTROL_SMTP_ENABLE,
	/*
	 * control -> smtpd: the server side of the admin status report
	 * (nothing).  Reply u32 status, u64 connections accepted, u64
	 * connections closed, str "LISTEN: <addr>" lines, str "IN: <local>
	 * <- <peer>" lines of the open connections.
	 */
	MSG_CONTROL_SMTP_STATUS,
	/*
	 * control -> mta: the client side of the report (nothing).  Reply
	 * u32 status (MSG_TEMPFAIL: not counted), u64 connections started,
	 * u64 connections finished.
	 */
	MSG_CONTROL_MTA_STATUS,
	/* control -> parent: the admin "terminate" command (nothing). */
	MSG_CONTROL_TERMINATE_NOTIFY,
	/*
	 * mta -> lookup: the address of a host name in --forward-to,
	 * --as-client, --as-proxy, a SOCKS proxy or a ForwardToAddress
	 * (A, then AAAA); id = mta's request id.  str host.  Reply u32
	 * status (MSG_OK, else MSG_TEMPFAIL), str the numeric address, or
	 * the reason.
	 */
	MSG_MTA_RESOLVE,
	/*
	 * control -> lookup: the admin "dnsbl start" and "dnsbl stop
	 * [<seconds>]" (SPEC 9): u32 start (1 start, 0 stop), u32 seconds
	 * (stop: checking resumes by itself after that long; 0 = only at
	 * "dnsbl start"; 0 with start).  For every instance.  Reply u32
	 * status, str reason.
	 */
	MSG_CONTROL_LOOKUP_DNSBL,
	/*
	 * emailrelayctl <-> control over the control socket (SPEC 10; the
	 * protocol is described in common/ctl.h), and control <-> the
	 * process that does the work, with the same fields: control checks
	 * every field before it relays a request, and relays the reply.
	 * id = the control connection's id.  Every request starts with u32
	 * version (MSG_VERSION of the emailrelayctl that sent it; control
	 * answers MSG_PERMFAIL "version mismatch" to another).  Every reply
	 * starts with u32 status and a str (the reason when not MSG_OK).
	 *
	 * QUEUE_SHOW (-> queue): u32 version, u32 inst, str the last id of
	 * the previous page ("" for the first).  Reply u32 status, str the
	 * instance name, u32 more (another page of this instance follows),
	 * u32 number of instances, data the page: ctl_qent lines (ctl.h),
	 * every state, oldest first.
	 */
	MSG_CTL_QUEUE_SHOW,
	/*
	 * MESSAGE_SHOW (-> queue): u32 version, str id.  Reply u32 status,
	 * str reason or instance name, str the message's ctl_qent line,
	 * data the envelope file (at most CTL_ENVMAX bytes).
	 */
	MSG_CTL_MESSAGE_SHOW,
	/*
	 * QUEUE_FORWARD (-> queue): u32 version, str instance name ("" for
	 * every instance with --forward-to); starts a pass
	 * ("forwarding: [emailrelayctl]").  Reply u32 status, str reason.
	 */
	MSG_CTL_QUEUE_FORWARD,
	/*
	 * MESSAGE_RETRY (-> queue): u32 version, str id or "all": ".bad"
	 * back to ready, then a pass.  Reply u32 status, str text.
	 */
	MSG_CTL_MESSAGE_RETRY,
	/*
	 * MESSAGE_REMOVE (-> queue): u32 version, str id; a ready or
	 * ".bad" message, not one being received or forwarded.  Reply u32
	 * status, str text.
	 */
	MSG_CTL_MESSAGE_REMOVE,
	/*
	 * PAUSE (-> smtpd for CTL_PAUSE_SMTP, every instance as "smtp
	 * disable"; -> queue for CTL_PAUSE_FORWARD, no pass starts while
	 * paused): u32 version, u32 what, u32 pause (1) or resume (0).
	 * Reply u32 status, str text.
	 */
	MSG_CTL_PAUSE,
	/*
	 * STATS (-> smtpd, then -> queue; control joins the answers):
	 * u32 version.  Reply u32 status, str counters, one "<name>
	 * <decimal>" line each (ctl.h).
	 */
	MSG_CTL_STATS,
	/*
	 * LOG (-> parent): u32 version, u32 verbose (1 "log verbose", 0
	 * "log brief"); the parent changes --verbose and sends every child
	 * the configuration again.  Reply u32 status, str text.
	 */
	MSG_CTL_LOG,
	/* RELOAD (-> parent): as SIGHUP.  u32 version; reply u32, str. */
	MSG_CTL_RELOAD,
	/*
	 * STOP (-> parent): as SIGTERM, after the reply.  u32 version;
	 * reply u32 status, str text.
	 */
	MSG_CTL_STOP,
	/*
	 * parent -> smtp, pop, mta after a reload (SPEC 11): the TLS files
	 * of their instances, opened afresh by the parent since the child
	 * is chrooted and unprivileged (only the process that uses a key is
	 * sent it).  FILE: str path as configured (a CA directory comes as
	 * a directory descriptor) + fd, O_RDONLY.  END (nothing): rebuild
	 * every TLS context from those files, keep the old one where that
	 * fails, and close them.  At most PROC_TLS_FILES files per reload.
	 */
	MSG_PARENT_TLS_FILE_NOTIFY,
	MSG_PARENT_TLS_END_NOTIFY,
	MSG_TYPE__COUNT
};

/* One received frame; fields point into the channel's input buffer. */
struct msg {
	uint16_t	 type;
	uint16_t	 flags;
	uint64_t	 id;
	const uint8_t	*p;		/* payload */
	size_t		 len;		/* payload length */
	size_t		 pos;		/* read position in payload */
	int		 fd;		/* -1, or the passed descriptor */
	int		 bad;		/* a msg_get_* failed */
};

struct msgfd {
	size_t		 off;		/* offset of its frame in out */
	int		 fd;
};

/* One end of a channel. */
struct msgchan {
	int		 fd;
	const char	*self;		/* names for fatalx() lines */
	const char	*peer;
	uint8_t		*in;		/* received bytes */
	size_t		 inlen, insz;
	int		 infds[MSG_MAXFDS];	/* received, in arrival order */
	size_t		 ninfds;
	uint8_t		*out;		/* framed, unsent bytes */
	size_t		 outlen, outsz, outoff;
	struct msgfd	*outfds;	/* fds riding with queued frames */
	size_t		 noutfds, outfdsz;
	size_t		 cur;		/* start of the frame being built */
	int		 building;
	int		 curfd;
	size_t		 consumed;	/* bytes of the frame handed out */
	size_t		 inoff;		/* start of unread bytes in in */
	int		 broken;	/* fds lost or malformed input */
};

/* Set up ch on the non-blocking socket fd; names are for error lines. */
void	 msg_init(struct msgchan *ch, int fd, const char *self,
	    const char *peer);
/* Free buffers, close queued and received fds and the socket. */
void	 msg_clear(struct msgchan *ch);

/*
 * Build a frame: begin, put fields, end.  fd is -1 or a descriptor whose
 * ownership passes to the channel (closed once written).  Running out of
 * memory or over MSG_MAX is a fatalx(): frames come from our own code.
 */
void	 msg_begin(struct msgchan *ch, uint16_t type, uint64_t id, int fd);
/* The same for a reply to a request of type (sets MSG_F_REPLY). */
void	 msg_reply_begin(struct msgchan *ch, uint16_t type, uint64_t id,
	    int fd);
void	 msg_put_u32(struct msgchan *ch, uint32_t v);
void	 msg_put_u64(struct msgchan *ch, uint64_t v);
void	 msg_put_str(struct msgchan *ch, const char *s);
void	 msg_put_data(struct msgchan *ch, const void *p, size_t len);
void	 msg_end(struct msgchan *ch);

/* Bytes framed but not yet written. */
size_t	 msg_pending(const struct msgchan *ch);

/*
 * Write queued frames with sendmsg(), passing fds with the first byte of
 * their frame.  Returns 0 (all or some written, or EAGAIN) or -1 on an
 * error (errno set; EPIPE when the peer is gone).
 */
int	 msg_write(struct msgchan *ch);

/* Write everything queued, waiting with poll() up to timeout_ms. */
int	 msg_flush(struct msgchan *ch, int timeout_ms);

/*
 * Read what the socket has (recvmsg, collecting fds).  Returns the byte
 * count, 0 on EOF, -1 on error (errno; EAGAIN when nothing to read,
 * ENOBUFS when 4 * MSG_MAX unread bytes wait for msg_get()).  A frame
 * taken by msg_get() and not yet done is dropped first (its pointers
 * become invalid).
 */
long	 msg_read(struct msgchan *ch);

/*
 * Take the next complete frame from the input buffer into *m.  Returns 1
 * when a frame was taken, 0 when more bytes are needed, -1 when the input
 * is malformed (length below the header, above MSG_MAX, MSG_F_FD without
 * a received fd, unknown flags, more than MSG_MAXFDS fds waiting or fds
 * lost to a truncated control message); -1 again on every later call.
 * The frame stays valid until the next msg_get(), msg_read() or
 * msg_done() on ch.
 */
int	 msg_get(struct msgchan *ch, struct msg *m);

/* Finish with m: fatalx() if its fd was not taken. */
void	 msg_done(struct msgchan *ch, struct msg *m);

/*
 * Pure frame parser over a byte buffer (the fuzzing entry): parse one
 * frame at buf; fd-carrying frames get m->fd = -1 and flags kept.
 * Returns bytes used (> 0), 0 if incomplete, -1 if malformed.
 */
long	 msg_parse(const uint8_t *buf, size_t len, struct msg *m);

/*
 * Typed field readers.  Each returns 0, or -1 and sets m->bad when the
 * payload is too short or the field malformed (string with a NUL, longer
 * than the buffer).
 */
int	 msg_get_u32(struct msg *m, uint32_t *v);
int	 msg_get_u64(struct msg *m, uint64_t *v);
/* Copy a string into buf (size bufsz, NUL-terminated). */
int	 msg_get_str(struct msg *m, char *buf, size_t bufsz);
/* Point *s and *len at a string in the payload (not NUL-terminated). */
int	 msg_get_strp(struct msg *m, const char **s, size_t *len);
/*
 * Return a malloc'ed copy of a string (caller frees); NULL with m->bad set
 * for a malformed field, NULL with errno ENOMEM (m->bad unchanged).
 */
char	*msg_get_strdup(struct msg *m);
int	 msg_get_data(struct msg *m, const void **p, size_t *len);
/* 0 when the whole payload was read and nothing failed, else -1. */
int	 msg_get_end(struct msg *m);
/* The passed fd (-1 if none); may be called once. */
int	 msg_take_fd(struct msg *m);

/* "MSG_LOG_NOTIFY" etc. for traces and fatal lines; "MSG_?" if unknown. */
const char *msg_type_name(uint16_t type);

/*
 * The signature of a type: space-separated u32, u64, str, data in payload
 * order, and "fd" when a descriptor rides along ("fd?" when it may);
 * "" for no fields.  NULL for MSG_NONE and unknown types.  Static text.
 */
const char *msg_type_sig(uint16_t type);

/*
 * The signature of the reply to a request of type, the same way; NULL
 * for _NOTIFY types (no reply), MSG_NONE and unknown types.
 */
const char *msg_type_reply_sig(uint16_t type);

/*
 * Check m's payload against the field signature of its type, the reply
 * signature when MSG_F_REPLY is set (every known type has a request
 * signature: e.g. "u32 str").  Returns 0, or -1 for an unknown type, a
 * reply to a type without one, a missing or malformed field, bytes left
 * over, or MSG_F_FD set when the signature has no "fd" (or the reverse,
 * unless "fd?").  Does not move m->pos.
 */
int	 msg_check(const struct msg *m);

#endif /* MSG_H */
