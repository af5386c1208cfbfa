/*
 * emailrelay-passwd: print the hashed form of a password for an "md5"
 * line of a secrets file (SPEC 7), as E-MailRelay's tool of the same name
 * does: the HMAC-MD5 inner and outer chaining states of the password as
 * key, 32 bytes in base64 (44 characters).
 *
 * The password is one line of the standard input (its LF or CRLF is not
 * part of it); from a terminal it is read with echo off.  An empty
 * password is a usage error.  Exit 0 on success, 1 otherwise.
 */
#include <sys/types.h>

#include <errno.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "md5.h"

#define PASSWD_MAX	1024	/* bytes of password */

static void	 usage(FILE *);
static ssize_t	 read_line(char *, size_t);

static void
usage(FILE *fp)
{
	(void)fprintf(fp,
	    "usage: emailrelay-passwd < <password-file>\n"
	    "Reads a password (one line) from the standard input and prints "
	    "its hashed\nform for an \"md5\" line of an emailrelay secrets "
	    "file.\n");
}

/*
 * The first line of the standard input into buf, without its LF or CRLF.
 * Returns its length, or -1 (with a message printed) on a read error or a
 * line that does not fit.
 */
static ssize_t
read_line(char *buf, size_t size)
{
	size_t	 len = 0;
	ssize_t	 n;
	char	 c;

	for (;;) {
		n = read(STDIN_FILENO, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			(void)fprintf(stderr, "emailrelay-passwd: read: %s\n",
			    strerror(errno));
			return (-1);
		}
		if (n == 0 || c == '\n')
			break;
		if (len == size) {
			(void)fprintf(stderr, "emailrelay-passwd: password "
			    "too long (at most %d bytes)\n", PASSWD_MAX);
			return (-1);
		}
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	return ((ssize_t)len);
}

int
main(int argc, char *argv[])
{
	unsigned char	 state[MD5_HMAC_STATE];
	char		 pw[PASSWD_MAX + 2], out[BASE64_ENCODED_LEN(
			    MD5_HMAC_STATE) + 1];
	ssize_t		 len;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return (0);
	}
	if (argc != 1) {
		usage(stderr);
		return (1);
	}
	if (isatty(STDIN_FILENO)) {
		if (readpassphrase("password: ", pw, sizeof(pw),
		    RPP_ECHO_OFF | RPP_REQUIRE_TTY) == NULL) {
			(void)fprintf(stderr, "emailrelay-passwd: cannot "
			    "read the password\n");
			return (1);
		}
		len = (ssize_t)strlen(pw);
	} else
		len = read_line(pw, PASSWD_MAX + 1);
	if (len == -1 || len > PASSWD_MAX) {
		if (len > PASSWD_MAX)
			(void)fprintf(stderr, "emailrelay-passwd: password "
			    "too long (at most %d bytes)\n", PASSWD_MAX);
		explicit_bzero(pw, sizeof(pw));
		return (1);
	}
	if (len == 0) {
		usage(stderr);
		return (1);
	}
	md5_hmac_state(pw, (size_t)len, state);
	explicit_bzero(pw, sizeof(pw));
	if (base64_encode(state, sizeof(state), out, sizeof(out)) == -1) {
		explicit_bzero(state, sizeof(state));
		return (1);
	}
	explicit_bzero(state, sizeof(state));
	if (printf("%s\n", out) < 0 || fflush(stdout) == EOF) {
		(void)fprintf(stderr, "emailrelay-passwd: write: %s\n",
		    strerror(errno));
		return (1);
	}
	return (0);
}
