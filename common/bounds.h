/*
 * Limits shared by every process.  Named bounds.h so that it never shadows
 * the system's limits.h.
 */
#ifndef BOUNDS_H
#define BOUNDS_H

#define BOUNDS_LINE		1000	/* SMTP command line, with CRLF */
#define BOUNDS_TEXTLINE		998	/* message line without CRLF */
#define BOUNDS_PATH		256	/* spool and mailbox paths */
#define BOUNDS_LOCALPART	64
#define BOUNDS_DOMAIN		255
#define BOUNDS_RCPT		10000	/* recipients per message */
#define BOUNDS_LOGLINE		2048	/* one finished log line */
#define BOUNDS_INSTANCES	32	/* relays in one process */
#define BOUNDS_LISTENERS	64	/* listening sockets in all */
#define BOUNDS_INSTNAME		32	/* instance name */

#endif /* BOUNDS_H */
