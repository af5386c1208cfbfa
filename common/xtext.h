/*
 * RFC 3461 xtext: the encoding of AUTH= values in MAIL commands and of the
 * Authentication, MailFromAuthIn and MailFromAuthOut envelope fields.
 * Every character outside 33..126, and '+' and '=', is written as "+XX"
 * with two upper-case hex digits.  Nothing here allocates.
 */
#ifndef XTEXT_H
#define XTEXT_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Encode len bytes at p (need not be NUL-terminated) into out, which gets a
 * NUL-terminated result.  Returns the encoded length, or -1 if it would not
 * fit into outsz bytes (out then holds an empty string).
 */
ssize_t	 xtext_encode(const char *p, size_t len, char *out, size_t outsz);

/*
 * Length of the xtext encoding of len bytes at p, without the NUL.
 */
size_t	 xtext_encoded_len(const char *p, size_t len);

/*
 * Decode len bytes of xtext at p into out (NUL-terminated; the decoded bytes
 * may themselves contain NUL, so use the returned length).  Returns the
 * decoded length, or -1 if the input is malformed (a character outside
 * 33..126, a bare '=', '+' not followed by two upper-case hex digits) or the
 * result would not fit into outsz bytes (out then holds an empty string).
 */
ssize_t	 xtext_decode(const char *p, size_t len, char *out, size_t outsz);

/*
 * Returns 1 if len bytes at p are well-formed xtext, else 0.
 */
int	 xtext_valid(const char *p, size_t len);

#endif /* XTEXT_H */
