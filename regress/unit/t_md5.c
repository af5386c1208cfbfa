/*
 * MD5 (RFC 1321 test suite), HMAC-MD5 (RFC 2104 and RFC 2202 vectors),
 * E-MailRelay's hashed form (SPEC 7 vectors) and CRAM-MD5 from it
 * (RFC 2195 example).
 */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "md5.h"
#include "t.h"

static const char *
hex(const unsigned char *p, size_t len)
{
	static char	 buf[129];
	size_t		 i;

	for (i = 0; i < len && i < 64; i++)
		(void)snprintf(buf + 2 * i, 3, "%02x", p[i]);
	buf[2 * i] = '\0';
	return (buf);
}

static const struct {
	const char	*in;
	const char	*md5;
} md5_vec[] = {
	{ "", "d41d8cd98f00b204e9800998ecf8427e" },
	{ "a", "0cc175b9c0f1b6a831c399e269772661" },
	{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
	{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
	{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	    "d174ab98d277d9f5a5611c2c9f419d9f" },
	{ "1234567890123456789012345678901234567890123456789012345678901234"
	    "5678901234567890", "57edf4a22be3c955ac49da2e2107b67a" },
};

TEST(md5_rfc1321)
{
	unsigned char	 d[MD5_DIGEST];
	size_t		 i;

	for (i = 0; i < sizeof(md5_vec) / sizeof(md5_vec[0]); i++) {
		md5(md5_vec[i].in, strlen(md5_vec[i].in), d);
		T_EQ_STR(hex(d, sizeof(d)), md5_vec[i].md5);
	}
}

TEST(md5_incremental)
{
	unsigned char	 in[300], d1[MD5_DIGEST], d2[MD5_DIGEST];
	struct md5_ctx	 ctx;
	size_t		 i, len, cut, cut2;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	/* Lengths around the padding edges 55/56/64, cuts anywhere. */
	for (len = 0; len <= sizeof(in); len += (len < 130 ? 1 : 29)) {
		md5(in, len, d1);
		for (cut = 0; cut <= len; cut += 13) {
			cut2 = cut + (len - cut) / 2;
			md5_init(&ctx);
			md5_update(&ctx, in, cut);
			md5_update(&ctx, in + cut, cut2 - cut);
			md5_update(&ctx, in + cut2, len - cut2);
			md5_final(&ctx, d2);
			T_ASSERT(memcmp(d1, d2, sizeof(d1)) == 0);
		}
	}
	/* One million 'a's in 1000-byte pieces. */
	memset(in, 'a', sizeof(in));
	md5_init(&ctx);
	for (i = 0; i < 1000000 / 250; i++)
		md5_update(&ctx, in, 250);
	md5_final(&ctx, d1);
	T_EQ_STR(hex(d1, sizeof(d1)), "7707d6ae4e027c70eea2a935c2296f21");
}

TEST(md5_state_continue)
{
	unsigned char	 in[200], st[MD5_DIGEST], d1[MD5_DIGEST],
			 d2[MD5_DIGEST];
	struct md5_ctx	 ctx;

	memset(in, 'z', sizeof(in));
	in[70] = 'q';
	md5(in, sizeof(in), d1);
	md5_init(&ctx);
	md5_update(&ctx, in, 128);
	md5_state(&ctx, st);
	md5_init_state(&ctx, st, 128);
	md5_update(&ctx, in + 128, sizeof(in) - 128);
	md5_final(&ctx, d2);
	T_ASSERT(memcmp(d1, d2, sizeof(d1)) == 0);
	/* The state of nothing hashed is the initial words, little-endian. */
	md5_init(&ctx);
	md5_state(&ctx, st);
	T_EQ_STR(hex(st, sizeof(st)), "0123456789abcdeffedcba9876543210");
}

/* An HMAC written out from md5() alone, to check md5_hmac against. */
static void
plain_hmac(const unsigned char *key, size_t keylen, const void *msg,
    size_t msglen, unsigned char *out)
{
	unsigned char	 k[64], pad[64 + 1024], inner[16];
	size_t		 i;

	memset(k, 0, sizeof(k));
	if (keylen > 64)
		md5(key, keylen, k);
	else
		memcpy(k, key, keylen);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	memcpy(pad + 64, msg, msglen);
	md5(pad, 64 + msglen, inner);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	memcpy(pad + 64, inner, 16);
	md5(pad, 64 + 16, out);
}

TEST(md5_hmac_rfc2104)
{
	unsigned char	 key[80], data[80], d[MD5_DIGEST], e[MD5_DIGEST];
	size_t		 i;

	memset(key, 0x0b, 16);
	md5_hmac(key, 16, "Hi There", 8, d);
	T_EQ_STR(hex(d, 16), "9294727a3638bb1c13f48ef8158bfc9d");
	md5_hmac("Jefe", 4, "what do ya want for nothing?", 28, d);
	T_EQ_STR(hex(d, 16), "750c783e6ab0b503eaa86e310a5db738");
	memset(key, 0xaa, 16);
	memset(data, 0xdd, 50);
	md5_hmac(key, 16, data, 50, d);
	T_EQ_STR(hex(d, 16), "56be34521d144c88dbb8c733f0e8b3f6");
	/* RFC 2202: a 25-byte key, then keys longer than a block. */
	for (i = 0; i < 25; i++)
		key[i] = (unsigned char)(i + 1);
	memset(data, 0xcd, 50);
	md5_hmac(key, 25, data, 50, d);
	T_EQ_STR(hex(d, 16), "697eaf0aca3a3aea3a75164746ffaa79");
	plain_hmac(key, 25, data, 50, e);
	T_ASSERT(memcmp(d, e, 16) == 0);
	memset(key, 0xaa, 80);
	md5_hmac(key, 80,
	    "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
	T_EQ_STR(hex(d, 16), "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
	md5_hmac(key, 80, "Test Using Larger Than Block-Size Key and Larger "
	    "Than One Block-Size Data", 73, d);
	T_EQ_STR(hex(d, 16), "6f630fad67cda0ee1fb1f562db3aa53e");
	plain_hmac(key, 80, "Test Using Larger Than Block-Size Key and "
	    "Larger Than One Block-Size Data", 73, e);
	T_ASSERT(memcmp(d, e, 16) == 0);
}

/* The four vectors of SPEC 7 (E-MailRelay's emailrelay-passwd). */
static const struct {
	const char	*pw;
	const char	*hash;
} pw_vec[] = {
	{ "password123", "9N2IRYVXqu7SkOW1Xat+wpR9NbA2R6fb61XlmqW+46E=" },
	{ "e=mc2", "v1HOpuLIbbvgoJjhueeoqwfvtIp2C+gMA285ke+xxow=" },
	{ "my password", "x6UJKQF9f7HfhS1M+PW4s8rXIoT+L+WoqLz+rBwSKbw=" },
	{ "foobar", "3pIN0aPbd5aN0S4ogKA3w2P3P9XH0hXchLP1W+adpQE=" },
};

TEST(md5_hashed_form_spec_vectors)
{
	unsigned char	 st[MD5_HMAC_STATE];
	char		 enc[64];
	size_t		 i;

	for (i = 0; i < sizeof(pw_vec) / sizeof(pw_vec[0]); i++) {
		md5_hmac_state(pw_vec[i].pw, strlen(pw_vec[i].pw), st);
		T_EQ_INT(base64_encode(st, sizeof(st), enc, sizeof(enc)), 44);
		T_EQ_STR(enc, pw_vec[i].hash);
	}
}

TEST(md5_cram_from_state)
{
	const char	*ch = "<1896.697170952@postoffice.reston.mci.net>";
	unsigned char	 st[MD5_HMAC_STATE], d[MD5_DIGEST], e[MD5_DIGEST];
	unsigned char	 key[100];
	size_t		 i, klen;

	/* RFC 2195's example: tim / tanstaaftanstaaf. */
	md5_hmac_state("tanstaaftanstaaf", 16, st);
	md5_hmac_from_state(st, ch, strlen(ch), d);
	T_EQ_STR(hex(d, 16), "b913a602c7eda7a495b4e6e7334d3890");
	/* From a stored hashed form, for every password length class. */
	for (i = 0; i < sizeof(pw_vec) / sizeof(pw_vec[0]); i++) {
		T_EQ_INT(base64_decode(pw_vec[i].hash, 44, st, sizeof(st), 0),
		    32);
		md5_hmac_from_state(st, ch, strlen(ch), d);
		plain_hmac((const unsigned char *)pw_vec[i].pw,
		    strlen(pw_vec[i].pw), ch, strlen(ch), e);
		T_ASSERT(memcmp(d, e, 16) == 0);
	}
	for (klen = 0; klen <= sizeof(key); klen += 9) {
		memset(key, (int)('a' + klen % 26), klen);
		md5_hmac_state(key, klen, st);
		md5_hmac_from_state(st, ch, strlen(ch), d);
		plain_hmac(key, klen, ch, strlen(ch), e);
		T_ASSERT(memcmp(d, e, 16) == 0);
	}
	/* A wrong password gives a different digest. */
	md5_hmac_state("tanstaaftanstaaF", 16, st);
	md5_hmac_from_state(st, ch, strlen(ch), d);
	T_ASSERT(strcmp(hex(d, 16), "b913a602c7eda7a495b4e6e7334d3890") != 0);
}
