/*
 * RFC 4648 base64: the RFC's test vectors both ways, strict decoding
 * (padding, alphabet, white space, canonical bits), output bounds.
 */
#include <string.h>

#include "base64.h"
#include "t.h"

static const struct {
	const char	*plain;
	const char	*enc;
} b64_vec[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static ssize_t
dec(const char *s, char *out, size_t outsz, int flags)
{
	return (base64_decode(s, strlen(s), out, outsz, flags));
}

TEST(base64_rfc4648_encode)
{
	char	 out[64];
	size_t	 i, n;

	for (i = 0; i < sizeof(b64_vec) / sizeof(b64_vec[0]); i++) {
		n = strlen(b64_vec[i].plain);
		T_EQ_INT(base64_encode(b64_vec[i].plain, n, out, sizeof(out)),
		    strlen(b64_vec[i].enc));
		T_EQ_STR(out, b64_vec[i].enc);
		T_EQ_INT(BASE64_ENCODED_LEN(n), strlen(b64_vec[i].enc));
	}
}

TEST(base64_rfc4648_decode)
{
	char	 out[64];
	size_t	 i;
	ssize_t	 n;

	for (i = 0; i < sizeof(b64_vec) / sizeof(b64_vec[0]); i++) {
		memset(out, 'X', sizeof(out));
		n = dec(b64_vec[i].enc, out, sizeof(out), 0);
		T_EQ_INT(n, strlen(b64_vec[i].plain));
		T_ASSERT(memcmp(out, b64_vec[i].plain, (size_t)n) == 0);
		T_ASSERT(base64_valid(b64_vec[i].enc,
		    strlen(b64_vec[i].enc), 0));
		T_ASSERT((size_t)n <= BASE64_DECODED_MAX(
		    strlen(b64_vec[i].enc)));
	}
}

TEST(base64_binary_roundtrip)
{
	unsigned char	 in[256], back[256];
	char		 enc[400];
	size_t		 i, len;
	ssize_t		 n;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	for (len = 0; len <= sizeof(in); len += 37) {
		n = base64_encode(in, len, enc, sizeof(enc));
		T_EQ_INT(n, BASE64_ENCODED_LEN(len));
		T_EQ_INT(base64_decode(enc, (size_t)n, back, sizeof(back), 0),
		    len);
		T_ASSERT(memcmp(in, back, len) == 0);
	}
	/* All 64 alphabet characters, high bits included. */
	T_EQ_INT(base64_encode("\xfb\xff\xbf", 3, enc, sizeof(enc)), 4);
	T_EQ_STR(enc, "+/+/");
	T_EQ_INT(dec("+/+/", (char *)back, sizeof(back), 0), 3);
	T_ASSERT(memcmp(back, "\xfb\xff\xbf", 3) == 0);
	/* NUL bytes decode as data. */
	T_EQ_INT(dec("AGEAYgBj", (char *)back, sizeof(back), 0), 6);
	T_ASSERT(memcmp(back, "\0a\0b\0c", 6) == 0);
}

TEST(base64_padding_rules)
{
	char	 out[64];

	/* Padding is required: a partial quantum is an error. */
	T_EQ_INT(dec("Zg", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm8", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm9vY", out, sizeof(out), 0), -1);
	/* '=' only at the end, never in the first two places. */
	T_EQ_INT(dec("Zg==Zm8=", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Z===", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("====", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm=v", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zg=", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zg===", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm8==", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("=", out, sizeof(out), 0), -1);
}

TEST(base64_nopad_flag)
{
	char	 out[64];

	T_EQ_INT(dec("Zg", out, sizeof(out), BASE64_F_NOPAD), 1);
	T_ASSERT(memcmp(out, "f", 1) == 0);
	T_EQ_INT(dec("Zm8", out, sizeof(out), BASE64_F_NOPAD), 2);
	T_ASSERT(memcmp(out, "fo", 2) == 0);
	T_EQ_INT(dec("Zm9vYmE", out, sizeof(out), BASE64_F_NOPAD), 5);
	T_ASSERT(memcmp(out, "fooba", 5) == 0);
	/* Padded input still decodes; one character alone never does. */
	T_EQ_INT(dec("Zm8=", out, sizeof(out), BASE64_F_NOPAD), 2);
	T_EQ_INT(dec("Zm9vY", out, sizeof(out), BASE64_F_NOPAD), -1);
	T_EQ_INT(dec("Zg=", out, sizeof(out), BASE64_F_NOPAD), -1);
	/* Bounds and canonical bits apply to the short quantum too. */
	T_EQ_INT(dec("Zm8", out, 1, BASE64_F_NOPAD), -1);
	T_EQ_INT(dec("Zh", out, sizeof(out),
	    BASE64_F_NOPAD | BASE64_F_CANONICAL), -1);
	T_EQ_INT(dec("Zh", out, sizeof(out), BASE64_F_NOPAD), 1);
}

TEST(base64_alphabet)
{
	char	 out[64];

	/* URL-safe alphabet, NUL, other characters: not base64. */
	T_EQ_INT(dec("Zm9-", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm9_", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm9*", out, sizeof(out), 0), -1);
	T_EQ_INT(base64_decode("Zm\0v", 4, out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm9v\x80", out, sizeof(out), 0), -1);
	T_ASSERT(!base64_valid("Zm9v!", 5, 0));
}

TEST(base64_space_flag)
{
	char	 out[64];

	T_EQ_INT(dec("Zm9v YmFy", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm9vYmFy\r\n", out, sizeof(out), 0), -1);
	T_EQ_INT(dec(" Zm9vYmFy", out, sizeof(out), 0), -1);
	T_EQ_INT(dec("Zm9v YmFy", out, sizeof(out), BASE64_F_SPACE), 6);
	T_ASSERT(memcmp(out, "foobar", 6) == 0);
	T_EQ_INT(dec("\tZm 9v\r\nYm E=\r\n", out, sizeof(out),
	    BASE64_F_SPACE), 5);
	T_ASSERT(memcmp(out, "fooba", 5) == 0);
	T_EQ_INT(dec("Zg = =", out, sizeof(out), BASE64_F_SPACE), 1);
	/* Data after the padding stays an error. */
	T_EQ_INT(dec("Zg== Zg==", out, sizeof(out), BASE64_F_SPACE), -1);
	T_EQ_INT(dec("   ", out, sizeof(out), BASE64_F_SPACE), 0);
}

TEST(base64_canonical_flag)
{
	char	 out[64];

	/* "Zh==" and "Zm9=" carry non-zero bits before the padding. */
	T_EQ_INT(dec("Zh==", out, sizeof(out), 0), 1);
	T_EQ_INT(out[0], 'f');
	T_EQ_INT(dec("Zm9=", out, sizeof(out), 0), 2);
	T_EQ_INT(dec("Zh==", out, sizeof(out), BASE64_F_CANONICAL), -1);
	T_EQ_INT(dec("Zm9=", out, sizeof(out), BASE64_F_CANONICAL), -1);
	T_EQ_INT(dec("Zg==", out, sizeof(out), BASE64_F_CANONICAL), 1);
	T_EQ_INT(dec("Zm8=", out, sizeof(out), BASE64_F_CANONICAL), 2);
	T_ASSERT(!base64_valid("Zh==", 4, BASE64_F_CANONICAL));
	T_ASSERT(base64_valid("Zh==", 4, 0));
}

TEST(base64_bounds)
{
	char	 out[16];

	/* Encoding needs room for the NUL as well. */
	memset(out, 'X', sizeof(out));
	T_EQ_INT(base64_encode("foobar", 6, out, 8), -1);
	T_EQ_STR(out, "");
	T_EQ_INT(base64_encode("foobar", 6, out, 9), 8);
	T_EQ_STR(out, "Zm9vYmFy");
	T_EQ_INT(base64_encode("f", 1, out, 0), -1);
	/* Decoding into exactly the needed size, and one byte less. */
	T_EQ_INT(dec("Zm9vYmFy", out, 6, 0), 6);
	T_EQ_INT(dec("Zm9vYmFy", out, 5, 0), -1);
	T_EQ_INT(dec("Zm9vYmE=", out, 5, 0), 5);
	T_EQ_INT(dec("Zm9vYmE=", out, 4, 0), -1);
	T_EQ_INT(dec("Zg==", out, 1, 0), 1);
	T_EQ_INT(dec("Zg==", out, 0, 0), -1);
	T_EQ_INT(dec("", out, 0, 0), 0);
	/* Only len bytes are read: the rest of the string is ignored. */
	T_EQ_INT(base64_decode("Zm9vYmFy!!!", 8, out, sizeof(out), 0), 6);
}
