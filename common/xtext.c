/*
 * RFC 3461 xtext encoding and decoding.
 */
#include <sys/types.h>

#include <stddef.h>

#include "xtext.h"

static int	 xtext_plain(unsigned char);
static int	 xtext_hexval(unsigned char);

static const char xtext_hex[] = "0123456789ABCDEF";

/* A character that xtext writes as itself. */
static int
xtext_plain(unsigned char c)
{
	return (c >= 33 && c <= 126 && c != '+' && c != '=');
}

/* Value of an upper-case hex digit, or -1. */
static int
xtext_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

size_t
xtext_encoded_len(const char *p, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		n += xtext_plain((unsigned char)p[i]) ? 1 : 3;
	return (n);
}

ssize_t
xtext_encode(const char *p, size_t len, char *out, size_t outsz)
{
	size_t		 i, o = 0;
	unsigned char	 c;

	if (outsz == 0)
		return (-1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (xtext_plain(c)) {
			if (outsz - o < 2)
				goto toolong;
			out[o++] = (char)c;
		} else {
			if (outsz - o < 4)
				goto toolong;
			out[o++] = '+';
			out[o++] = xtext_hex[c >> 4];
			out[o++] = xtext_hex[c & 0x0f];
		}
	}
	out[o] = '\0';
	return ((ssize_t)o);

toolong:
	out[0] = '\0';
	return (-1);
}

ssize_t
xtext_decode(const char *p, size_t len, char *out, size_t outsz)
{
	size_t		 i, o = 0;
	unsigned char	 c;
	int		 hi, lo;

	if (outsz == 0)
		return (-1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (c == '+') {
			if (len - i < 3)
				goto bad;
			hi = xtext_hexval((unsigned char)p[i + 1]);
			lo = xtext_hexval((unsigned char)p[i + 2]);
			if (hi == -1 || lo == -1)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (!xtext_plain(c))
			goto bad;
		if (outsz - o < 2)
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return ((ssize_t)o);

bad:
	out[0] = '\0';
	return (-1);
}

int
xtext_valid(const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] == '+') {
			if (len - i < 3 ||
			    xtext_hexval((unsigned char)p[i + 1]) == -1 ||
			    xtext_hexval((unsigned char)p[i + 2]) == -1)
				return (0);
			i += 2;
		} else if (!xtext_plain((unsigned char)p[i]))
			return (0);
	}
	return (1);
}
