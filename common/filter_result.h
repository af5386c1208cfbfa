/*
 * What a filter or verifier program's exit code and stdout mean: SPEC
 * 6.2 (filters, server and client side differ) and 6.5 (verifiers).
 * Pure functions: no allocation, no logging, no libevent.
 *
 * Texts taken from the output are made safe: printable ASCII only (a tab
 * becomes a space, other control and 8-bit bytes '?'), never CR or LF,
 * at most FILTER_TEXT_MAX characters.
 */
#ifndef FILTER_RESULT_H
#define FILTER_RESULT_H

#include <stddef.h>

/* Longest text kept (response, reason, reply, verifier lines). */
#define FILTER_TEXT_MAX		1000

/* filter_outcome.action */
#define FILTER_PASS		0	/* go on with the chain */
#define FILTER_ABANDON		1	/* stop the chain; not a failure */
#define FILTER_FAIL		2	/* stop the chain; refuse/fail */

struct filter_outcome {
	int	 action;		/* FILTER_* */
	int	 rescan;		/* server: trigger a spool rescan */
	int	 endpass;		/* client: end this forwarding pass */
	int	 timed_out;		/* the program was killed */
	int	 code;			/* 4xx/5xx from the response, or 0 */
	char	 response[FILTER_TEXT_MAX + 1];	/* failure text */
	char	 reason[FILTER_TEXT_MAX + 1];	/* logged, into envelope */
	char	 reply[FILTER_TEXT_MAX + 1];	/* server's reply line */
};

/* verify_outcome.result */
#define VERIFY_LOCAL		0	/* 250, mailbox is the local mailbox */
#define VERIFY_REMOTE		1	/* 250, mailbox is the address */
#define VERIFY_INVALID		2	/* 550 with text */
#define VERIFY_TEMP		3	/* 450 with text */
#define VERIFY_ABORT		4	/* close the connection */

struct verify_outcome {
	int	 result;		/* VERIFY_* */
	int	 code;			/* 250, 550, 450, or 0 for abort */
	char	 fullname[FILTER_TEXT_MAX + 1];	/* local: line 1 */
	char	 mailbox[FILTER_TEXT_MAX + 1];	/* local, remote: line 2 */
	char	 text[FILTER_TEXT_MAX + 1];	/* invalid, temporary */
};

/*
 * Interpret a --filter program (SPEC 6.2 server column): exit_status is
 * its exit code, or negative when it did not exit normally (signal, exec
 * failure), which fails like any other code; timed_out (killed at the
 * timeout) fails with the reply "452 error" and reason "timeout".  out
 * is len bytes of its stdout (need not be NUL-terminated, may be NULL
 * when len is 0).  On failure response is the first <<...>> or [[...]]
 * line (else "rejected"), reason the second such line (else the
 * response), code the 4xx/5xx it starts with (else 0), and reply the
 * SMTP reply: the response when it has a code, else "452 <response>".
 * Fills *o completely; never fails.
 */
void	 filter_result_server(int exit_status, int timed_out, const char *out,
	    size_t len, struct filter_outcome *o);

/*
 * The same for a --client-filter (SPEC 6.2 client column): rescan is
 * never set; endpass for 102, 104 and 105.
 */
void	 filter_result_client(int exit_status, int timed_out, const char *out,
	    size_t len, struct filter_outcome *o);

/*
 * Interpret an address verifier (SPEC 6.5).  exit_status as above; a
 * timeout is temporary (450, "timeout").  Lines are the output with its
 * trailing blanks and newlines removed, split at LF (a CR before the LF
 * is dropped).  0 and 1 need two lines and a non-empty second one, else
 * the address is invalid; 3 is temporary with line 1 as text; 100 is
 * abort; anything else invalid with line 1 as text.  An empty text is
 * "mailbox unavailable".  The mailbox or address keeps 8-bit bytes
 * (SMTPUTF8) but a control character in it makes the result invalid.
 * Fills *o completely; never fails.
 */
void	 verifier_result(int exit_status, int timed_out, const char *out,
	    size_t len, struct verify_outcome *o);

#endif /* FILTER_RESULT_H */
