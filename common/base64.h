/*
 * RFC 4648 base64 (the standard alphabet, "+/", "=" padding) for SASL,
 * secrets files and emailrelay-passwd.  Input travels as (pointer, length)
 * and need not be NUL-terminated; output sizes are always bounded by the
 * caller.  Nothing here allocates.
 */
#ifndef BASE64_H
#define BASE64_H

#include <sys/types.h>

#include <stddef.h>

/* Decoding flags. */
#define BASE64_F_SPACE		0x01	/* skip SP, HT, CR and LF anywhere */
#define BASE64_F_CANONICAL	0x02	/* unused bits before '=' must be 0 */
#define BASE64_F_NOPAD		0x04	/* a last quantum may lack its '=' */

/* Length of the encoding of n bytes, without the NUL. */
#define BASE64_ENCODED_LEN(n)	(((n) + 2) / 3 * 4)

/* Upper bound of the decoded length of n characters. */
#define BASE64_DECODED_MAX(n)	((n) / 4 * 3 + 3)

/*
 * Encode len bytes at p into out as a NUL-terminated string.  Returns the
 * encoded length, or -1 if that plus the NUL would not fit into outsz bytes
 * (out then holds an empty string when outsz > 0).
 */
ssize_t	 base64_encode(const void *p, size_t len, char *out, size_t outsz);

/*
 * Decode len characters at p into out (not NUL-terminated; the bytes may
 * include NUL).  Strict: whole four-character quanta, '=' only as one or two
 * final characters of the last quantum, no other character outside the
 * alphabet.  flags: BASE64_F_SPACE to skip white space, BASE64_F_NOPAD to
 * accept a last quantum of two or three characters without its padding
 * (configuration values, as E-MailRelay does), BASE64_F_CANONICAL
 * to refuse non-zero bits in the last character before the padding (they
 * are ignored otherwise, as RFC 4648 3.5 allows).  Returns the decoded
 * length (0 for empty input), or -1 if the input is malformed or the result
 * would not fit into outsz bytes; out may then hold partial output.
 */
ssize_t	 base64_decode(const char *p, size_t len, void *out, size_t outsz,
	    int flags);

/*
 * Returns 1 if len characters at p are valid base64 under flags (as for
 * base64_decode), else 0.
 */
int	 base64_valid(const char *p, size_t len, int flags);

#endif /* BASE64_H */
