/*
 * RFC 3461 xtext: encoding rules, decoding, malformed input, bounds.
 */
#include <string.h>

#include "t.h"
#include "xtext.h"

TEST(xtext_encode_plain)
{
	char	 out[64];

	T_EQ_INT(xtext_encode("alice@example.com", 17, out, sizeof(out)), 17);
	T_EQ_STR(out, "alice@example.com");
	T_EQ_INT(xtext_encode("", 0, out, sizeof(out)), 0);
	T_EQ_STR(out, "");
	/* '!' (33) and '~' (126) are the edges of the plain range. */
	T_EQ_INT(xtext_encode("!~", 2, out, sizeof(out)), 2);
	T_EQ_STR(out, "!~");
}

TEST(xtext_encode_escapes)
{
	char	 out[64];

	T_EQ_INT(xtext_encode("a+b", 3, out, sizeof(out)), 5);
	T_EQ_STR(out, "a+2Bb");
	T_EQ_INT(xtext_encode("a=b", 3, out, sizeof(out)), 5);
	T_EQ_STR(out, "a+3Db");
	T_EQ_INT(xtext_encode("a b", 3, out, sizeof(out)), 5);
	T_EQ_STR(out, "a+20b");
	T_EQ_INT(xtext_encode("\x7f", 1, out, sizeof(out)), 3);
	T_EQ_STR(out, "+7F");
	T_EQ_INT(xtext_encode("\x1f\r\n", 3, out, sizeof(out)), 9);
	T_EQ_STR(out, "+1F+0D+0A");
	T_EQ_INT(xtext_encode("\xc3\xa9", 2, out, sizeof(out)), 6);
	T_EQ_STR(out, "+C3+A9");
	/* A NUL in the input is encoded too. */
	T_EQ_INT(xtext_encode("a\0b", 3, out, sizeof(out)), 5);
	T_EQ_STR(out, "a+00b");
	T_EQ_INT(xtext_encoded_len("a+ b\xff", 5), 11);
}

TEST(xtext_encode_bounds)
{
	char	 out[6];

	/* "a+2Bb" needs 6 bytes with the NUL. */
	T_EQ_INT(xtext_encode("a+b", 3, out, 6), 5);
	T_EQ_INT(xtext_encode("a+b", 3, out, 5), -1);
	T_EQ_STR(out, "");
	T_EQ_INT(xtext_encode("abcdef", 6, out, 6), -1);
	T_EQ_INT(xtext_encode("abcde", 5, out, 6), 5);
	T_EQ_INT(xtext_encode("x", 1, out, 0), -1);
}

TEST(xtext_decode_ok)
{
	char	 out[64];

	T_EQ_INT(xtext_decode("a+2Bb", 5, out, sizeof(out)), 3);
	T_EQ_STR(out, "a+b");
	T_EQ_INT(xtext_decode("+3D", 3, out, sizeof(out)), 1);
	T_EQ_STR(out, "=");
	/* Escaping a plain character is allowed by the grammar. */
	T_EQ_INT(xtext_decode("+41", 3, out, sizeof(out)), 1);
	T_EQ_STR(out, "A");
	T_EQ_INT(xtext_decode("+00", 3, out, sizeof(out)), 1);
	T_ASSERT(out[0] == '\0');
	/* Only len bytes are looked at. */
	T_EQ_INT(xtext_decode("ab+2B", 2, out, sizeof(out)), 2);
	T_EQ_STR(out, "ab");
}

TEST(xtext_decode_malformed)
{
	char	 out[64];

	T_EQ_INT(xtext_decode("+", 1, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("a+2", 3, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("+2b", 3, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("+G0", 3, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("+ 0", 3, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("a=b", 3, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("a b", 3, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("a\rb", 3, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("\x7f", 1, out, sizeof(out)), -1);
	T_EQ_INT(xtext_decode("\xc3\xa9", 2, out, sizeof(out)), -1);
	T_EQ_STR(out, "");
	T_ASSERT(!xtext_valid("+2b", 3));
	T_ASSERT(!xtext_valid("a=", 2));
	T_ASSERT(!xtext_valid("ab+", 3));
	T_ASSERT(xtext_valid("a+2Bb", 5));
	T_ASSERT(xtext_valid("", 0));
}

TEST(xtext_decode_bounds)
{
	char	 out[4];

	T_EQ_INT(xtext_decode("abc", 3, out, 4), 3);
	T_EQ_INT(xtext_decode("abcd", 4, out, 4), -1);
	T_EQ_INT(xtext_decode("+41+42+43", 9, out, 4), 3);
	T_EQ_STR(out, "ABC");
}

TEST(xtext_round_trip)
{
	char	 in[256], enc[1024], dec[256], dec2[257];
	ssize_t	 e, d;
	int	 i;

	for (i = 0; i < 256; i++)
		in[i] = (char)i;
	e = xtext_encode(in, sizeof(in), enc, sizeof(enc));
	T_ASSERT(e > 0);
	T_EQ_INT((size_t)e, xtext_encoded_len(in, sizeof(in)));
	T_ASSERT(xtext_valid(enc, (size_t)e));
	/* 94 plain characters minus '+' and '=' stay one byte each. */
	T_EQ_INT(e, 92 + 3 * (256 - 92));
	/* 256 decoded bytes need 257 with the NUL. */
	T_EQ_INT(xtext_decode(enc, (size_t)e, dec, sizeof(dec)), -1);
	d = xtext_decode(enc, (size_t)e, dec2, sizeof(dec2));
	T_EQ_INT(d, 256);
	T_ASSERT(memcmp(dec2, in, 256) == 0);

	e = xtext_encode("user+tag=x@host", 15, enc, sizeof(enc));
	T_EQ_STR(enc, "user+2Btag+3Dx@host");
	d = xtext_decode(enc, (size_t)e, dec, sizeof(dec));
	T_EQ_INT(d, 15);
	T_EQ_STR(dec, "user+tag=x@host");
}
