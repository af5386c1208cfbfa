/*
 * MD5 (RFC 1321) and HMAC-MD5 (RFC 2104) with the chaining state exposed.
 * See md5.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "md5.h"

static void	 md5_block(uint32_t *, const unsigned char *);
static uint32_t	 md5_get32(const unsigned char *);
static void	 md5_put32(unsigned char *, uint32_t);
static void	 md5_pads(const void *, size_t, unsigned char *,
		    unsigned char *);

/* Per-step left rotations and the sine table of RFC 1321 3.4. */
static const unsigned char md5_r[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21
};

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391
};

static uint32_t
md5_get32(const unsigned char *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

static void
md5_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* One 64-byte block into the state. */
static void
md5_block(uint32_t *st, const unsigned char *blk)
{
	uint32_t	 m[16], a, b, c, d, f, t;
	int		 i, g;

	for (i = 0; i < 16; i++)
		m[i] = md5_get32(blk + 4 * i);
	a = st[0];
	b = st[1];
	c = st[2];
	d = st[3];
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = a + f + md5_k[i] + m[g];
		a = d;
		d = c;
		c = b;
		b = b + ((t << md5_r[i]) | (t >> (32 - md5_r[i])));
	}
	st[0] += a;
	st[1] += b;
	st[2] += c;
	st[3] += d;
	explicit_bzero(m, sizeof(m));
}

void
md5_init(struct md5_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->state[0] = 0x67452301;
	ctx->state[1] = 0xefcdab89;
	ctx->state[2] = 0x98badcfe;
	ctx->state[3] = 0x10325476;
}

void
md5_init_state(struct md5_ctx *ctx, const unsigned char *state,
    uint64_t count)
{
	int	 i;

	memset(ctx, 0, sizeof(*ctx));
	for (i = 0; i < 4; i++)
		ctx->state[i] = md5_get32(state + 4 * i);
	ctx->count = count;
}

void
md5_update(struct md5_ctx *ctx, const void *p, size_t len)
{
	const unsigned char	*u = p;
	size_t			 have, take;

	have = (size_t)(ctx->count % MD5_BLOCK);
	ctx->count += len;
	if (have > 0) {
		take = MD5_BLOCK - have;
		if (take > len)
			take = len;
		memcpy(ctx->buf + have, u, take);
		u += take;
		len -= take;
		if (have + take < MD5_BLOCK)
			return;
		md5_block(ctx->state, ctx->buf);
	}
	for (; len >= MD5_BLOCK; u += MD5_BLOCK, len -= MD5_BLOCK)
		md5_block(ctx->state, u);
	if (len > 0)
		memcpy(ctx->buf, u, len);
}

void
md5_final(struct md5_ctx *ctx, unsigned char *out)
{
	unsigned char	 tail[MD5_BLOCK * 2];
	uint64_t	 bits = ctx->count * 8;
	size_t		 have, n;
	int		 i;

	have = (size_t)(ctx->count % MD5_BLOCK);
	n = have < 56 ? MD5_BLOCK : MD5_BLOCK * 2;
	memset(tail, 0, sizeof(tail));
	memcpy(tail, ctx->buf, have);
	tail[have] = 0x80;
	for (i = 0; i < 8; i++)
		tail[n - 8 + i] = (unsigned char)(bits >> (8 * i));
	md5_block(ctx->state, tail);
	if (n > MD5_BLOCK)
		md5_block(ctx->state, tail + MD5_BLOCK);
	md5_state(ctx, out);
	explicit_bzero(tail, sizeof(tail));
	explicit_bzero(ctx, sizeof(*ctx));
}

void
md5(const void *p, size_t len, unsigned char *out)
{
	struct md5_ctx	 ctx;

	md5_init(&ctx);
	md5_update(&ctx, p, len);
	md5_final(&ctx, out);
}

void
md5_state(const struct md5_ctx *ctx, unsigned char *out)
{
	int	 i;

	for (i = 0; i < 4; i++)
		md5_put32(out + 4 * i, ctx->state[i]);
}

/* The key XOR ipad and key XOR opad blocks (RFC 2104). */
static void
md5_pads(const void *key, size_t keylen, unsigned char *ipad,
    unsigned char *opad)
{
	unsigned char	 k[MD5_BLOCK];
	int		 i;

	memset(k, 0, sizeof(k));
	if (keylen > MD5_BLOCK)
		md5(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < MD5_BLOCK; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	explicit_bzero(k, sizeof(k));
}

void
md5_hmac_state(const void *key, size_t keylen, unsigned char *out)
{
	unsigned char	 ipad[MD5_BLOCK], opad[MD5_BLOCK];
	struct md5_ctx	 ctx;

	md5_pads(key, keylen, ipad, opad);
	md5_init(&ctx);
	md5_update(&ctx, ipad, sizeof(ipad));
	md5_state(&ctx, out);
	md5_init(&ctx);
	md5_update(&ctx, opad, sizeof(opad));
	md5_state(&ctx, out + MD5_DIGEST);
	explicit_bzero(ipad, sizeof(ipad));
	explicit_bzero(opad, sizeof(opad));
	explicit_bzero(&ctx, sizeof(ctx));
}

void
md5_hmac_from_state(const unsigned char *state, const void *msg,
    size_t msglen, unsigned char *out)
{
	struct md5_ctx	 ctx;
	unsigned char	 inner[MD5_DIGEST];

	md5_init_state(&ctx, state, MD5_BLOCK);
	md5_update(&ctx, msg, msglen);
	md5_final(&ctx, inner);
	md5_init_state(&ctx, state + MD5_DIGEST, MD5_BLOCK);
	md5_update(&ctx, inner, sizeof(inner));
	md5_final(&ctx, out);
	explicit_bzero(inner, sizeof(inner));
}

void
md5_hmac(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char *out)
{
	unsigned char	 state[MD5_HMAC_STATE];

	md5_hmac_state(key, keylen, state);
	md5_hmac_from_state(state, msg, msglen, out);
	explicit_bzero(state, sizeof(state));
}
