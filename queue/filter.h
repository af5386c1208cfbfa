/*
 * The file-only built-in filters that run inside the queue process (SPEC
 * 6.3, STYLE.md section 1): exit:, copy:, deliver:, split: and msgid:.
 *
 * Each works on one message of a spool directory, named by its base
 * ("emailrelay.<pid>.<time>.<seq>") and the state of its envelope:
 * SPOOL_NEW (".new") in the --filter chain, SPOOL_BUSY (".busy") in the
 * --client-filter chain; no other state is accepted.  Each fills a struct
 * filter_outcome as a program's exit code and output would
 * (common/filter_result.h), so the chain treats built-ins and programs
 * alike, and returns what became of the original message:
 *
 *	FILTER_BUILTIN_KEPT	its envelope is still "<base>.envelope<state>"
 *				(possibly rewritten), its content unchanged
 *				in name and inode
 *	FILTER_BUILTIN_REMOVED	its envelope is gone and, except after
 *				copy:pop, its content too; the directory is
 *				fsync'd
 *
 * What each built-in answers:
 *
 *	exit:<n>	as a program exiting n (filter_result_server() in
 *			the server chain, filter_result_client() in the
 *			client chain); touches nothing.
 *	copy:		copies made and the original deleted: ABANDON and
 *			REMOVED (exit 100: the server answers 250, nothing
 *			is left to commit or release); with nodelete, or
 *			when the spool has no sub-directory to copy into:
 *			PASS and KEPT.
 *	deliver:	no To-Local: PASS, nothing done.  Delivered and no
 *			To-Remote: ABANDON and REMOVED (nodelete: PASS and
 *			KEPT, the envelope unchanged).  Delivered with
 *			To-Remote: PASS and KEPT, the envelope rewritten
 *			without its To-Local lines (also with nodelete).
 *	split:		PASS and KEPT; with two or more domains the new
 *			messages are listed in *parts (the original keeps
 *			the first domain) and, in the server chain, rescan
 *			is set.
 *	msgid:		PASS and KEPT (header added or already there).
 *
 * Any failure: FAIL and KEPT with nothing changed (copies already made
 * are removed again), code 452 (553 for a mailbox name deliver: refuses),
 * response = reply = "<code> <text>" for the SMTP client, and reason a
 * detailed line for the log (file names, strerror).  On PASS or ABANDON a
 * non-empty reason is a note worth one warning line.  Texts are printable
 * ASCII, at most FILTER_TEXT_MAX characters.
 *
 * No libevent and no logging here.  Content is streamed through a fixed
 * buffer, so memory does not grow with the message size.  Spool files are
 * created mode 0660 and mailbox directories 0770 (group and setgid bit
 * from the parent directory): each call sets umask 007 while it runs and
 * restores the caller's.  All I/O is relative to the directory
 * descriptors, O_NOFOLLOW, on names checked by spool_name_valid() or by
 * the mailbox-name rules below; a symlink is never followed.
 */
#ifndef QUEUE_FILTER_H
#define QUEUE_FILTER_H

#include <sys/types.h>

#include <stddef.h>

#include "spool.h"

struct filter_outcome;

/* filter_builtin.kind */
enum filter_builtin_kind {
	FILTER_BUILTIN_EXIT,		/* exit:<n> */
	FILTER_BUILTIN_COPY,		/* copy:[nodelete;pop;hardlink] */
	FILTER_BUILTIN_DELIVER,		/* deliver:[hardlink;nodelete] */
	FILTER_BUILTIN_SPLIT,		/* split:[raw] */
	FILTER_BUILTIN_MSGID		/* msgid: */
};

/* filter_builtin.flags */
#define FILTER_BUILTIN_NODELETE	0x01	/* copy:, deliver: */
#define FILTER_BUILTIN_POP	0x02	/* copy: */
#define FILTER_BUILTIN_HARDLINK	0x04	/* copy:, deliver: */
#define FILTER_BUILTIN_RAW	0x08	/* split: */

/* Return values of the filter_builtin_* runners. */
#define FILTER_BUILTIN_KEPT	0	/* the original is still there */
#define FILTER_BUILTIN_REMOVED	1	/* the original was deleted */

/* A parsed --filter or --client-filter value naming a built-in here. */
struct filter_builtin {
	enum filter_builtin_kind kind;
	int			 flags;		/* FILTER_BUILTIN_* */
	int			 exit_code;	/* exit: 0 to 255 */
};

/* Where and as whom the built-ins work; owned by the caller. */
struct filter_builtin_env {
	int			 spool_fd;	/* the spool directory */
	int			 delivery_fd;	/* --delivery-dir, -1: spool */
	pid_t			 pid;		/* for new names */
	unsigned long long	*seq;		/* name counter: incremented
						   for every name made */
	const char		*domain;	/* msgid: right-hand side;
						   NULL or "": host name */
	const char		*hostname;	/* maildir names; NULL:
						   gethostname() */
};

/* split: the messages made, in the state of the original. */
struct filter_builtin_parts {
	struct spool_entry	*list;		/* malloc'd, NULL if n is 0 */
	size_t			 n;
};

/*
 * Parse spec, a --filter or --client-filter value.  Returns 1 and fills
 * *fb when it names one of the built-ins here ("exit:", "copy:",
 * "deliver:", "split:", "msgid:" followed by their options, separated by
 * ';' or ',', blanks around them ignored; option names are
 * case-insensitive), 0 when it is something
 * else (a program or a built-in that runs in lookup), or -1 with *errstr
 * set to static text for a bad value.  Never allocates.
 */
int	 filter_builtin_parse(const char *spec, struct filter_builtin *fb,
	    const char **errstr);

/*
 * Start-up check of a --filter or --client-filter value: NULL when it is
 * a valid built-in here or not one of them, else static error text.
 */
const char *filter_builtin_check(const char *spec);

/*
 * Run the built-in fb on message base whose envelope is in state
 * (SPOOL_NEW or SPOOL_BUSY).  parts (may be NULL except for split:) is
 * set for split: and left empty otherwise; free it with
 * filter_builtin_parts_free().  Fills *o completely.  Returns
 * FILTER_BUILTIN_KEPT or FILTER_BUILTIN_REMOVED.
 */
int	 filter_builtin_run(const struct filter_builtin *fb,
	    const struct filter_builtin_env *env, const char *base,
	    enum spool_state state, struct filter_outcome *o,
	    struct filter_builtin_parts *parts);

/*
 * exit:<n>: fills *o as a program exiting fb->exit_code would, for the
 * server chain (SPOOL_NEW) or the client chain (SPOOL_BUSY).  Returns
 * FILTER_BUILTIN_KEPT.
 */
int	 filter_builtin_exit(const struct filter_builtin *fb,
	    enum spool_state state, struct filter_outcome *o);

/*
 * copy:[nodelete;pop;hardlink] (SPEC 6.3): into every sub-directory of
 * the spool except "postmaster", names starting with a dot, and anything
 * that is not a real directory.  A maildir (it has new, tmp and cur) gets
 * the content only, written into tmp and renamed into new as
 * "<unix-seconds>.<pid>.<hostname>.<seq>".  Any other sub-directory gets
 * "<base>.envelope" in the ready state (no suffix), the envelope of the
 * original with nothing else changed, and "<base>.content" unless pop
 * (with pop the envelope refers to the content in the spool, which then
 * stays when the original is deleted: SPEC 8); a sub-directory that
 * already holds "<base>.envelope" has it and is left alone.  hardlink
 * links the content instead of copying it where the file system allows.
 * Every copy is written under a temporary name ("<base>.envelope.new",
 * tmp/), fsync'd, and renamed into place only once all of them are
 * written; the directories are fsync'd.  Then the original is deleted
 * unless nodelete.  Returns FILTER_BUILTIN_KEPT or _REMOVED.
 */
int	 filter_builtin_copy(const struct filter_builtin *fb,
	    const struct filter_builtin_env *env, const char *base,
	    enum spool_state state, struct filter_outcome *o);

/*
 * deliver:[hardlink;nodelete] (SPEC 6.3): for each distinct To-Local
 * mailbox, into "<delivery-dir>/<mailbox>/", created mode 0770 if
 * missing.  Mailbox names that are empty, longer than 255 bytes, start
 * with a dot (so "." and ".." too), or hold '/', ".." or control
 * characters are refused before anything is written.  A maildir gets
 * the content (via tmp into new, named as for copy:); any other mailbox
 * directory an envelope+content pair "<base>.envelope" / "<base>.content"
 * in the ready state, the envelope listing that mailbox as its only
 * (To-Local) recipient.  Written and committed as for copy:.  Then the
 * original is deleted when it has no To-Remote (unless nodelete), else
 * its envelope is rewritten without the To-Local lines.  Returns
 * FILTER_BUILTIN_KEPT or _REMOVED.
 */
int	 filter_builtin_deliver(const struct filter_builtin *fb,
	    const struct filter_builtin_env *env, const char *base,
	    enum spool_state state, struct filter_outcome *o);

/*
 * split:[raw] (SPEC 3, 6.3): groups the To-Remote recipients by domain
 * (the text after the last '@', "" without one), ignoring ASCII case
 * unless raw, in the order of their first appearance.  One group: only
 * ForwardTo is set (to the domain, in lower case unless raw).  More:
 * each group after the first becomes a new message, named by
 * spool_name_new() with env->pid and ++*env->seq, its content a hard
 * link of the original's (a copy where linking fails), its envelope the
 * original's with that group as its only recipients (no To-Local),
 * ForwardTo the domain, ForwardToAddress empty, and the lines
 * "X-MailRelay-SplitGroupCount: <groups>" and "X-MailRelay-SplitGroup:
 * <base of the original>" after End; the original keeps its To-Local and
 * the first group and gets the same settings.  New envelopes are in the
 * original's state: ".new" in the server chain, ".busy" in the client
 * chain (written as ".new", fsync'd, then renamed, before the original
 * is rewritten).  On success *parts lists them (the caller frees it);
 * on failure the parts made are removed again.  Returns
 * FILTER_BUILTIN_KEPT.
 */
int	 filter_builtin_split(const struct filter_builtin *fb,
	    const struct filter_builtin_env *env, const char *base,
	    enum spool_state state, struct filter_outcome *o,
	    struct filter_builtin_parts *parts);

/*
 * msgid: (SPEC 6.3): if the header block (up to the first empty line,
 * or the whole content when there is none) has no Message-ID field
 * (name matched ignoring case, at the start of a line, white space
 * allowed before the colon), add "Message-ID: <id@domain>" as its last
 * field, with the line terminator of the content's first line (CRLF
 * when it has none).  The content is rewritten in place (same inode, so
 * locks and hard links stay): the new tail goes through an unnamed
 * temporary file in the spool, is written back from the insertion
 * point, and the content is fsync'd.  Returns FILTER_BUILTIN_KEPT.
 */
int	 filter_builtin_msgid(const struct filter_builtin_env *env,
	    const char *base, enum spool_state state,
	    struct filter_outcome *o);

/* Free parts->list and empty *parts.  Safe on an empty one. */
void	 filter_builtin_parts_free(struct filter_builtin_parts *parts);

#endif /* QUEUE_FILTER_H */
