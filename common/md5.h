/*
 * MD5 (RFC 1321) and HMAC-MD5 (RFC 2104) with access to the chaining
 * state, for CRAM-MD5 against E-MailRelay's hashed "md5" secrets (SPEC 7).
 * MD5 is used here only for that compatibility.  Nothing here allocates;
 * callers clear contexts that held key material with explicit_bzero.
 */
#ifndef MD5_H
#define MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_BLOCK	64	/* bytes per block */
#define MD5_DIGEST	16	/* bytes of a digest or of a chaining state */
#define MD5_HMAC_STATE	32	/* inner then outer state, as for secrets */

struct md5_ctx {
	uint32_t	 state[4];
	uint64_t	 count;		/* bytes hashed so far */
	unsigned char	 buf[MD5_BLOCK];
};

/* Start a hash. */
void	 md5_init(struct md5_ctx *);

/*
 * Continue a hash from a chaining state (16 bytes: four little-endian
 * words) after count bytes, a multiple of 64.
 */
void	 md5_init_state(struct md5_ctx *, const unsigned char *state,
	    uint64_t count);

/* Hash len more bytes at p. */
void	 md5_update(struct md5_ctx *, const void *p, size_t len);

/* Finish into the 16-byte digest out; the context is cleared. */
void	 md5_final(struct md5_ctx *, unsigned char *out);

/* The 16-byte MD5 digest of len bytes at p into out. */
void	 md5(const void *p, size_t len, unsigned char *out);

/*
 * The chaining state (16 bytes, four little-endian words) into out; only
 * meaningful after a multiple of 64 bytes.
 */
void	 md5_state(const struct md5_ctx *, unsigned char *out);

/* HMAC-MD5 (RFC 2104) of msg under key into the 16 bytes at out. */
void	 md5_hmac(const void *key, size_t keylen, const void *msg,
	    size_t msglen, unsigned char *out);

/*
 * E-MailRelay's hashed form of a key (SPEC 7): the chaining state after one
 * block of (key XOR ipad), then the state after one block of (key XOR
 * opad), 32 bytes into out.  A key longer than 64 bytes is hashed first.
 */
void	 md5_hmac_state(const void *key, size_t keylen, unsigned char *out);

/*
 * HMAC-MD5 of msg from a 32-byte hashed form as made by md5_hmac_state(),
 * into the 16 bytes at out: equal to md5_hmac() with the original key.
 * This is the CRAM-MD5 digest of a challenge.
 */
void	 md5_hmac_from_state(const unsigned char *state, const void *msg,
	    size_t msglen, unsigned char *out);

#endif /* MD5_H */
