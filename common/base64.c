/*
 * RFC 4648 base64 encoding and strict decoding.  See base64.h.
 */
#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "base64.h"

static int	 base64_value(unsigned char);
static int	 base64_space(unsigned char);
static int	 base64_quantum(uint32_t, size_t, unsigned char *, size_t,
		    size_t *, int);
static ssize_t	 base64_run(const char *, size_t, unsigned char *, size_t,
		    int);

static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of an alphabet character, or -1. */
static int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

static int
base64_space(unsigned char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

ssize_t
base64_encode(const void *p, size_t len, char *out, size_t outsz)
{
	const unsigned char	*u = p;
	uint32_t		 v;
	size_t			 i, n = 0;

	if (outsz == 0)
		return (-1);
	if (len > (SIZE_MAX - 3) / 4 * 3 ||
	    BASE64_ENCODED_LEN(len) >= outsz) {
		out[0] = '\0';
		return (-1);
	}
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)u[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)u[i + 1] << 8;
		if (i + 2 < len)
			v |= u[i + 2];
		out[n++] = base64_chars[(v >> 18) & 0x3f];
		out[n++] = base64_chars[(v >> 12) & 0x3f];
		out[n++] = i + 1 < len ? base64_chars[(v >> 6) & 0x3f] : '=';
		out[n++] = i + 2 < len ? base64_chars[v & 0x3f] : '=';
	}
	out[n] = '\0';
	return ((ssize_t)n);
}

/*
 * The 24 bits v of a quantum ending in pad '=' (0 to 2) into out at *n
 * (out == NULL: count only); *n moves on.  Returns -1 when it does not
 * fit, or with BASE64_F_CANONICAL when the unused bits are not 0.
 */
static int
base64_quantum(uint32_t v, size_t pad, unsigned char *out, size_t outsz,
    size_t *n, int flags)
{
	if ((flags & BASE64_F_CANONICAL) && pad > 0 &&
	    (pad == 2 ? (v >> 12) & 0x0f : (v >> 6) & 0x03))
		return (-1);
	if (out != NULL) {
		if (outsz - *n < 3 - pad)
			return (-1);
		out[*n] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[*n + 1] = (unsigned char)(v >> 8);
		if (pad == 0)
			out[*n + 2] = (unsigned char)v;
	}
	*n += 3 - pad;
	return (0);
}

/*
 * The decoder; out == NULL only validates.  Characters are collected into
 * quanta of four (skipping white space with BASE64_F_SPACE); once a '='
 * is seen only '=' (to complete the quantum) and, with the flag, white
 * space may follow.
 */
static ssize_t
base64_run(const char *p, size_t len, unsigned char *out, size_t outsz,
    int flags)
{
	uint32_t	 v = 0;
	size_t		 i, n = 0, q = 0, pad = 0;
	unsigned char	 c;
	int		 k;

	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if ((flags & BASE64_F_SPACE) && base64_space(c))
			continue;
		if (c == '=') {
			/* "xx==" or "xxx=": never in the first two places */
			if (q < 2)
				return (-1);
			pad++;
			k = 0;
		} else {
			if (pad > 0 || (k = base64_value(c)) == -1)
				return (-1);
		}
		v = (v << 6) | (uint32_t)k;
		if (++q < 4)
			continue;
		if (base64_quantum(v, pad, out, outsz, &n, flags) == -1)
			return (-1);
		q = 0;
		v = 0;
		if (pad > 0) {
			/* Only white space may follow the padding. */
			for (i++; i < len; i++)
				if (!(flags & BASE64_F_SPACE) ||
				    !base64_space((unsigned char)p[i]))
					return (-1);
			break;
		}
	}
	if (q != 0 && (flags & BASE64_F_NOPAD) && pad == 0 && q >= 2) {
		/* Two or three characters left over: as if padded. */
		pad = 4 - q;
		if (base64_quantum(v << (6 * pad), pad, out, outsz, &n,
		    flags) == -1)
			return (-1);
		q = 0;
	}
	if (q != 0)
		return (-1);
	if (n > SSIZE_MAX)
		return (-1);
	return ((ssize_t)n);
}

ssize_t
base64_decode(const char *p, size_t len, void *out, size_t outsz, int flags)
{
	return (base64_run(p, len, out, outsz, flags));
}

int
base64_valid(const char *p, size_t len, int flags)
{
	return (base64_run(p, len, NULL, 0, flags) != -1);
}
