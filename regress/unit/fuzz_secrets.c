/*
 * libFuzzer target for common/secrets.c (and the base64 decoder under it).
 * The input is parsed as a secrets file; every parsed line must keep the
 * structure's invariants and be found again by the lookups.  The first
 * line of the input is also tried as a client address against the parsed
 * file and a fixed one of trusted patterns, as an --client-auth value, and
 * as base64 (a decoded value must re-encode to the same bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "md5.h"
#include "secrets.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char trusted_text[] =
    "server none 192.168.0.* lan\n"
    "server none 10.0.0.0/8 ten\n"
    "server none fe80::/64 ll\n"
    "server none *.*.*.* any\n";

static void
check_secrets(const struct secrets *sec)
{
	char			 w[SECRETS_WILDCARD_MAX][SECRETS_WILDCARD_LEN];
	const struct secret	*s, *t;
	size_t			 i;

	for (i = 0; i < sec->n; i++) {
		s = &sec->v[i];
		if (s->id == NULL || s->secret == NULL || s->selector == NULL ||
		    strlen(s->id) != s->idlen || s->secret[s->secretlen] != 0)
			abort();
		if (s->side != SECRETS_CLIENT && s->side != SECRETS_SERVER)
			abort();
		if (s->kind == SECRET_MD5 && s->secretlen != MD5_HMAC_STATE)
			abort();
		if (s->side == SECRETS_SERVER && s->kind == SECRET_OAUTH)
			abort();
		if (s->side == SECRETS_SERVER &&
		    (s->kind == SECRET_PLAIN || s->kind == SECRET_MD5)) {
			t = secrets_server_lookup(sec, s->kind, s->id,
			    s->idlen);
			if (t == NULL || t > s || t->idlen != s->idlen)
				abort();
		}
		if (s->side == SECRETS_CLIENT) {
			t = secrets_client_lookup(sec, s->selector);
			if (t == NULL || t > s ||
			    strcmp(t->selector, s->selector) != 0)
				abort();
		}
		/* A pattern that is a canonical address trusts it. */
		if (s->side == SECRETS_SERVER && s->kind == SECRET_NONE &&
		    secrets_wildcards(s->id, w, SECRETS_WILDCARD_MAX) > 0 &&
		    strcmp(w[0], s->id) == 0 &&
		    secrets_trusted(sec, s->id) == NULL)
			abort();
	}
	if (secrets_server_mechs(sec) == NULL)
		abort();
}

static void
check_address(const struct secrets *sec, const struct secrets *fixed,
    const char *ip)
{
	char	 w[SECRETS_WILDCARD_MAX][SECRETS_WILDCARD_LEN];
	int	 n, i;

	n = secrets_wildcards(ip, w, SECRETS_WILDCARD_MAX);
	if (n != -1 && n != 38 && n != 130)
		abort();
	for (i = 0; i < n; i++)
		if (memchr(w[i], '\0', SECRETS_WILDCARD_LEN) == NULL)
			abort();
	/* Any IPv4 address is trusted by the fixed "*.*.*.*" line. */
	if (n == 38 && secrets_trusted(fixed, ip) == NULL)
		abort();
	if (n == -1 && secrets_trusted(fixed, ip) != NULL)
		abort();
	(void)secrets_trusted(sec, ip);
}

static void
check_base64(const char *p, size_t len)
{
	unsigned char	 dec[256], dec2[256];
	char		 enc[400];
	ssize_t		 n, m, e;

	n = base64_decode(p, len, dec, sizeof(dec), 0);
	if (n == -1)
		return;
	if ((e = base64_encode(dec, (size_t)n, enc, sizeof(enc))) == -1)
		abort();
	m = base64_decode(enc, (size_t)e, dec2, sizeof(dec2),
	    BASE64_F_CANONICAL);
	if (m != n || memcmp(dec, dec2, (size_t)n) != 0)
		abort();
	/* Canonical input re-encodes to itself. */
	if (base64_valid(p, len, BASE64_F_CANONICAL) &&
	    ((size_t)e != len || memcmp(enc, p, len) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secrets	*sec, *fixed, *ca;
	const char	*nl;
	char		 err[512], line[300];
	size_t		 len;

	fixed = secrets_parse(trusted_text, sizeof(trusted_text) - 1,
	    "fixed", err, sizeof(err));
	if (fixed == NULL)
		abort();
	err[0] = '\0';
	sec = secrets_parse((const char *)data, size, "fuzz", err,
	    sizeof(err));
	if (sec == NULL && strncmp(err, "fuzz:", 5) != 0)
		abort();
	if (sec != NULL)
		check_secrets(sec);

	nl = memchr(data, '\n', size);
	len = nl != NULL ? (size_t)(nl - (const char *)data) : size;
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	memcpy(line, data, len);
	line[len] = '\0';
	check_address(sec, fixed, line);
	if ((ca = secrets_client_auth(line, err, sizeof(err))) != NULL) {
		if (ca->n != 1 || secrets_client_lookup(ca, NULL) == NULL)
			abort();
		secrets_free(ca);
	}
	check_base64((const char *)data, len);

	secrets_free(sec);
	secrets_free(fixed);
	return (0);
}
