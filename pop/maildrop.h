/*
 * POP maildrops (SPEC 8): the messages a POP session sees, read and
 * deleted on directory descriptors, knowing no sockets, no protocol and
 * no logging.
 *
 * A maildrop is the spool directory itself (its ready envelope+content
 * pairs), or with --pop-by-name the sub-directory named after the user:
 * either a spool-like directory of envelopes whose content may stay in
 * the spool directory above (copy:pop, SPEC 6.3), or a maildir (new, tmp
 * and cur sub-directories), whose files in new and cur are the messages.
 * Only ready envelopes ("<base>.envelope") count: a message being written
 * (".new"), claimed (".busy") or failed (".bad") is never listed, nor one
 * whose content file another process holds locked (SPEC 3).
 *
 * The listing is a snapshot taken by maildrop_scan(): messages that arrive
 * later are not seen until the next scan.  Sizes are the content file
 * sizes; unique ids are the content file names ("<base>.content"), or the
 * maildir file names without their ":2,..." info part, or a hash of the
 * name ("x" and 16 hex digits) where that is no valid POP unique id.
 *
 * Deletion: the envelope first, then the content; a content file in the
 * spool directory that a --pop-by-name envelope referred to is removed
 * only when no envelope of that name is left, in the spool directory or
 * in any of its sub-directories.  Nothing here creates, renames or writes
 * a file.
 */
#ifndef MAILDROP_H
#define MAILDROP_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define MAILDROP_USERMAX	255	/* a --pop-by-name directory name */
#define MAILDROP_UIDMAX		70	/* RFC 1939 unique-id octets */

/* Where a message's files are (struct maildrop_msg where). */
#define MAILDROP_PAIR		0	/* envelope and content in the dir */
#define MAILDROP_SHARED		1	/* envelope in the user's dir, content
					   in the spool dir */
#define MAILDROP_NEW		2	/* maildir new/<name> */
#define MAILDROP_CUR		3	/* maildir cur/<name> */

struct maildrop_msg {
	uint64_t	 size;		/* content octets */
	size_t		 name;		/* offset in pool: base or file name */
	size_t		 uid;		/* offset in pool */
	int		 where;		/* MAILDROP_* */
};

/* An open maildrop; fields are read-only outside maildrop.c. */
struct maildrop {
	int			 spoolfd;	/* the spool dir, not owned */
	int			 dirfd;		/* the maildrop dir, or -1 */
	int			 newfd, curfd;	/* maildir, or -1 */
	int			 maildir;
	int			 byname;
	struct maildrop_msg	*msgs;
	size_t			 n, cap;
	char			*pool;
	size_t			 poollen, poolsz;
};

/*
 * Returns 1 if user may name a --pop-by-name directory: 1 to
 * MAILDROP_USERMAX octets, no '/', no "..", no control character (below
 * 0x20, or 0x7f), no leading dot; else 0.  Checked before any path is
 * built from it.
 */
int	 maildrop_user_valid(const char *user);

/*
 * Open the maildrop of user (NULL: the spool directory itself) below
 * spoolfd, which must stay open while md is.  A user without a directory
 * has an empty maildrop.  Returns 0, or -1 with errno set (EINVAL for a
 * user name that maildrop_user_valid() refuses, ENOTDIR when the name is
 * no directory, others from openat); md needs no maildrop_close() then.
 */
int	 maildrop_open(struct maildrop *md, int spoolfd, const char *user);

/*
 * List the messages, oldest first (spool pairs by name order as queue
 * does; maildir files by name), at most max of them.  Replaces an earlier
 * listing.  Returns 0, or -1 with errno set.
 */
int	 maildrop_scan(struct maildrop *md, size_t max);

/* The number of messages listed. */
size_t	 maildrop_count(const struct maildrop *md);

/* Message i (0-based, below maildrop_count()): size and unique id. */
uint64_t maildrop_size(const struct maildrop *md, size_t i);
const char *maildrop_uid(const struct maildrop *md, size_t i);

/*
 * Open message i's content for reading (O_RDONLY, no symlinks, a regular
 * file).  Returns the descriptor, which the caller closes, or -1 with
 * errno set (ENOENT: the message has gone since the scan).
 */
int	 maildrop_open_msg(const struct maildrop *md, size_t i);

/*
 * Delete message i (see above).  A message that has gone already (or
 * whose envelope another process claimed) counts as deleted.  Returns 0,
 * or -1 with errno set.
 */
int	 maildrop_delete(struct maildrop *md, size_t i);

/*
 * Returns 1 if an envelope of base, in any state, is in the spool
 * directory or one of its sub-directories (dot-names excepted); 0 if
 * none; 1 also when a directory cannot be read (keep the content).
 */
int	 maildrop_referenced(int spoolfd, const char *base);

/* Close the descriptors and free the listing; md may be opened again. */
void	 maildrop_close(struct maildrop *md);

#endif /* MAILDROP_H */
