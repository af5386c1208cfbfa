/*
 * common/tlsconf.c: --tls-config words and protocol masks, loading keys,
 * certificates and CAs in their option forms, building server and client
 * configurations from memory, and freeing the material.  Also the helpers
 * of t_tls.h, used by the TLS tests in t_io.c.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "tlsconf.h"
#include "t.h"
#include "t_tls.h"

#define T_DATA		"regress/unit/data"

static int		 t_probe(char *, size_t, const char *);
static const char	*t_datadir(void);
static int		 t_load(struct tlsconf_pem *, const char *,
			    const char *);

/*
 * Whether base (a directory, "" for the working one) holds the data
 * directory; if so it is left in dir.
 */
static int
t_probe(char *dir, size_t len, const char *base)
{
	char	 probe[PATH_MAX];
	int	 n;

	n = snprintf(dir, len, "%s%s%s", base, *base != '\0' ? "/" : "",
	    T_DATA);
	if (n < 0 || (size_t)n >= len)
		return (0);
	n = snprintf(probe, sizeof(probe), "%s/ca.pem", dir);
	return (n > 0 && (size_t)n < sizeof(probe) &&
	    access(probe, R_OK) == 0);
}

/*
 * The data directory, looked for in the working directory (make
 * check-unit runs from the repository root) and its parents, then in the
 * directories above the test binary, then beside this source file as
 * the compiler saw it.
 */
static const char *
t_datadir(void)
{
	static char	 dir[PATH_MAX];
	char		 base[PATH_MAX], *slash;
	ssize_t		 n;
	int		 up;

	if (dir[0] != '\0')
		return (dir);
	base[0] = '\0';
	for (up = 0; up < 6; up++) {
		if (t_probe(dir, sizeof(dir), base))
			return (dir);
		if (strlcat(base, up == 0 ? ".." : "/..", sizeof(base)) >=
		    sizeof(base))
			break;
	}
	if ((n = readlink("/proc/self/exe", base, sizeof(base) - 1)) > 0) {
		base[n] = '\0';
		while ((slash = strrchr(base, '/')) != NULL && slash != base) {
			*slash = '\0';
			if (t_probe(dir, sizeof(dir), base))
				return (dir);
		}
	}
	if (strlcpy(base, __FILE__, sizeof(base)) < sizeof(base) &&
	    (slash = strrchr(base, '/')) != NULL) {
		*slash = '\0';
		if (snprintf(dir, sizeof(dir), "%s/data", base) <
		    (int)sizeof(dir) && access(dir, R_OK) == 0)
			return (dir);
	}
	dir[0] = '\0';
	return (NULL);
}

int
t_tls_path(const char *name, char *buf, size_t len)
{
	const char	*dir;
	int		 n;

	if ((dir = t_datadir()) == NULL) {
		fprintf(stderr, "t_tls: cannot find %s\n", T_DATA);
		return (-1);
	}
	n = snprintf(buf, len, "%s/%s", dir, name);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

char *
t_tls_slurp(const char *name, size_t *len)
{
	char	 path[PATH_MAX], *p = NULL;
	FILE	*f;
	long	 sz;

	if (t_tls_path(name, path, sizeof(path)) == -1 ||
	    (f = fopen(path, "r")) == NULL)
		return (NULL);
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)sz + 1)) != NULL) {
		if (fread(p, 1, (size_t)sz, f) != (size_t)sz) {
			free(p);
			p = NULL;
		} else {
			p[sz] = '\0';
			*len = (size_t)sz;
		}
	}
	fclose(f);
	return (p);
}

/* Load <base>.key and <base>.pem (when base) and ca (when ca) into pem. */
static int
t_load(struct tlsconf_pem *pem, const char *base, const char *ca)
{
	char		 key[PATH_MAX], crt[PATH_MAX], cap[PATH_MAX], n[64];
	char		 err[512];
	const char	*files[2] = { key, crt };
	int		 r;

	memset(pem, 0, sizeof(*pem));
	if (base != NULL) {
		r = snprintf(n, sizeof(n), "%s.key", base);
		if (r < 0 || (size_t)r >= sizeof(n) ||
		    t_tls_path(n, key, sizeof(key)) == -1)
			return (-1);
		r = snprintf(n, sizeof(n), "%s.pem", base);
		if (r < 0 || (size_t)r >= sizeof(n) ||
		    t_tls_path(n, crt, sizeof(crt)) == -1)
			return (-1);
		if (tlsconf_load_cert(pem, files, 2, err, sizeof(err)) == -1) {
			fprintf(stderr, "t_load: %s\n", err);
			return (-1);
		}
	}
	if (ca != NULL) {
		if (t_tls_path(ca, cap, sizeof(cap)) == -1 ||
		    tlsconf_load_ca(pem, cap, err, sizeof(err)) == -1) {
			tlsconf_free(pem);
			return (-1);
		}
	}
	return (0);
}

struct tls *
t_tls_server(const char *base, const char *ca, uint32_t protocols, int flags)
{
	struct tlsconf_pem	 pem;
	struct tls		*ctx;
	char			 err[512];

	if (t_load(&pem, base, ca) == -1)
		return (NULL);
	if ((ctx = tlsconf_server(&pem, protocols, flags, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "t_tls_server: %s\n", err);
	tlsconf_free(&pem);
	return (ctx);
}

struct tls_config *
t_tls_client(const char *base, const char *ca, uint32_t protocols, int *chain)
{
	struct tlsconf_pem	 pem;
	struct tls_config	*cfg;
	char			 err[512];

	if (t_load(&pem, base, ca) == -1)
		return (NULL);
	if ((cfg = tlsconf_client(&pem, protocols, chain, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "t_tls_client: %s\n", err);
	tlsconf_free(&pem);
	return (cfg);
}

TEST(tlsconf_protocols_versions)
{
	uint32_t	 m;
	const char	*e;

	T_EQ_INT(tlsconf_protocols(NULL, &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_2 | TLS_PROTOCOL_TLSv1_3);
	T_EQ_INT(tlsconf_protocols("", &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOLS_DEFAULT);
	/* A minimum. */
	T_EQ_INT(tlsconf_protocols("tlsv1.3", &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_3);
	T_EQ_INT(tlsconf_protocols("tlsv1.1", &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_1 | TLS_PROTOCOL_TLSv1_2 |
	    TLS_PROTOCOL_TLSv1_3);
	/* A maximum. */
	T_EQ_INT(tlsconf_protocols("-tlsv1.2", &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_2);
	T_EQ_INT(tlsconf_protocols("-tlsv1.3", &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_2 | TLS_PROTOCOL_TLSv1_3);
	/* A maximum below the default minimum lowers the minimum. */
	T_EQ_INT(tlsconf_protocols("-tlsv1.1", &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_0 | TLS_PROTOCOL_TLSv1_1);
	/* Both, library words, blanks and empty items. */
	T_EQ_INT(tlsconf_protocols(" openssl, tlsv1.0 ,,-tlsv1.1,mbedtls",
	    &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_0 | TLS_PROTOCOL_TLSv1_1);
	T_EQ_INT(tlsconf_protocols("tlsv1.2,-tlsv1.2", &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_2);
	/* The last of several minima counts. */
	T_EQ_INT(tlsconf_protocols("tlsv1.0,tlsv1.3", &m, &e), 0);
	T_EQ_INT(m, TLS_PROTOCOL_TLSv1_3);
	T_ASSERT(tlsconf_check_config("openssl,tlsv1.2,-tlsv1.3") == NULL);
}

TEST(tlsconf_protocols_rejected)
{
	static const char *const bad[] = {
		"tlsv1.4", "sslv3", "tlsv1", "tlsv1.2x", "-", "--tlsv1.2",
		"+tlsv1.2", "-openssl", "tlsv1.2,ssl", "tls v1.2",
		"TLSv1.2", NULL
	};
	uint32_t	 m = 0x5a5a;
	const char	*e;
	size_t		 i;

	for (i = 0; bad[i] != NULL; i++) {
		e = NULL;
		if (tlsconf_protocols(bad[i], &m, &e) != -1) {
			t_fail(__FILE__, __LINE__, bad[i]);
			return;
		}
		T_ASSERT(e != NULL && strstr(e, "unknown keyword") != NULL);
		T_ASSERT(tlsconf_check_config(bad[i]) == e);
	}
	/* Nothing is written on failure. */
	T_EQ_INT(m, 0x5a5a);
	/* A minimum above the maximum. */
	T_EQ_INT(tlsconf_protocols("tlsv1.3,-tlsv1.2", &m, &e), -1);
	T_ASSERT(strstr(e, "above") != NULL);
	T_ASSERT(tlsconf_check_config("-tlsv1.2,tlsv1.3") != NULL);
}

TEST(tlsconf_load_cert_two_files)
{
	struct tlsconf_pem	 pem;
	char			 k[PATH_MAX], c[PATH_MAX], err[512];
	const char		*files[2] = { k, c };
	char			*want;
	size_t			 wantlen;

	memset(&pem, 0, sizeof(pem));
	T_ASSERT(t_tls_path("server.key", k, sizeof(k)) == 0);
	T_ASSERT(t_tls_path("server.pem", c, sizeof(c)) == 0);
	T_EQ_INT(tlsconf_load_cert(&pem, files, 2, err, sizeof(err)), 0);
	T_ASSERT((want = t_tls_slurp("server.pem", &wantlen)) != NULL);
	T_EQ_INT(pem.certlen, wantlen);
	T_ASSERT(memcmp(pem.cert, want, wantlen) == 0);
	free(want);
	T_ASSERT((want = t_tls_slurp("server.key", &wantlen)) != NULL);
	T_EQ_INT(pem.keylen, wantlen);
	T_ASSERT(memcmp(pem.key, want, wantlen) == 0);
	free(want);
	T_ASSERT(pem.ca == NULL && pem.calen == 0);
	tlsconf_free(&pem);
	T_ASSERT(pem.cert == NULL && pem.key == NULL && pem.ca == NULL);
	T_ASSERT(pem.certlen == 0 && pem.keylen == 0 && pem.calen == 0);
	/* Twice is harmless, and so is NULL. */
	tlsconf_free(&pem);
	tlsconf_free(NULL);
}

TEST(tlsconf_load_cert_one_file)
{
	struct tlsconf_pem	 pem;
	char			 kc[PATH_MAX], err[512];
	const char		*files[1] = { kc };
	char			*want;
	size_t			 wantlen;

	memset(&pem, 0, sizeof(pem));
	T_ASSERT(t_tls_path("server-keycert.pem", kc, sizeof(kc)) == 0);
	T_EQ_INT(tlsconf_load_cert(&pem, files, 1, err, sizeof(err)), 0);
	/* The certificate buffer holds the certificate and no key. */
	T_ASSERT((want = t_tls_slurp("server.pem", &wantlen)) != NULL);
	T_EQ_INT(pem.certlen, wantlen);
	T_ASSERT(memcmp(pem.cert, want, wantlen) == 0);
	free(want);
	T_ASSERT(memmem(pem.cert, pem.certlen, "PRIVATE", 7) == NULL);
	T_ASSERT(memmem(pem.key, pem.keylen, "PRIVATE KEY-----", 16) != NULL);
	/* Loading again replaces (and frees) what was there. */
	T_EQ_INT(tlsconf_load_cert(&pem, files, 1, err, sizeof(err)), 0);
	tlsconf_free(&pem);
	T_ASSERT(pem.cert == NULL && pem.key == NULL);
}

TEST(tlsconf_load_cert_errors)
{
	struct tlsconf_pem	 pem;
	char			 sk[PATH_MAX], sc[PATH_MAX], ck[PATH_MAX];
	char			 missing[PATH_MAX], err[512];
	const char		*f[3];
	struct tls		*srv;

	memset(&pem, 0, sizeof(pem));
	T_ASSERT(t_tls_path("server.key", sk, sizeof(sk)) == 0);
	T_ASSERT(t_tls_path("server.pem", sc, sizeof(sc)) == 0);
	T_ASSERT(t_tls_path("client.key", ck, sizeof(ck)) == 0);
	T_ASSERT(t_tls_path("no-such-file.pem", missing,
	    sizeof(missing)) == 0);

	/* A key that does not belong to the certificate. */
	f[0] = ck;
	f[1] = sc;
	err[0] = '\0';
	T_EQ_INT(tlsconf_load_cert(&pem, f, 2, err, sizeof(err)), -1);
	T_ASSERT(strstr(err, "server.pem") != NULL);
	T_ASSERT(pem.cert == NULL && pem.key == NULL);
	/* No key in the key file. */
	f[0] = sc;
	T_EQ_INT(tlsconf_load_cert(&pem, f, 2, err, sizeof(err)), -1);
	T_ASSERT(strstr(err, "no private key") != NULL);
	/* No certificate in the certificate file. */
	f[0] = sk;
	f[1] = sk;
	T_EQ_INT(tlsconf_load_cert(&pem, f, 2, err, sizeof(err)), -1);
	T_ASSERT(strstr(err, "no certificate") != NULL);
	/* One file with only a key. */
	T_EQ_INT(tlsconf_load_cert(&pem, f, 1, err, sizeof(err)), -1);
	T_ASSERT(strstr(err, "no certificate") != NULL);
	/* A missing file is named with the reason. */
	f[0] = missing;
	f[1] = sc;
	T_EQ_INT(tlsconf_load_cert(&pem, f, 2, err, sizeof(err)), -1);
	T_ASSERT(strstr(err, "no-such-file.pem") != NULL);
	T_ASSERT(strstr(err, strerror(ENOENT)) != NULL);
	/* Zero or three files. */
	f[0] = sk;
	f[2] = sc;
	T_EQ_INT(tlsconf_load_cert(&pem, f, 3, err, sizeof(err)), -1);
	T_EQ_INT(tlsconf_load_cert(&pem, f, 0, err, sizeof(err)), -1);
	/* A failure leaves what was loaded before untouched. */
	f[0] = sk;
	f[1] = sc;
	T_EQ_INT(tlsconf_load_cert(&pem, f, 2, err, sizeof(err)), 0);
	f[0] = ck;
	T_EQ_INT(tlsconf_load_cert(&pem, f, 2, err, sizeof(err)), -1);
	T_ASSERT(pem.cert != NULL && pem.key != NULL);
	T_ASSERT((srv = tlsconf_server(&pem, TLS_PROTOCOLS_DEFAULT, 0, err,
	    sizeof(err))) != NULL);
	tls_free(srv);
	tlsconf_free(&pem);
}

TEST(tlsconf_load_ca_forms)
{
	struct tlsconf_pem	 pem;
	char			 p[PATH_MAX], err[512];
	char			*want;
	size_t			 wantlen;
	const char		*def;

	memset(&pem, 0, sizeof(pem));
	T_ASSERT((want = t_tls_slurp("ca.pem", &wantlen)) != NULL);
	/* A file. */
	T_ASSERT(t_tls_path("ca.pem", p, sizeof(p)) == 0);
	T_EQ_INT(tlsconf_load_ca(&pem, p, err, sizeof(err)), 0);
	T_EQ_INT(pem.calen, wantlen);
	T_ASSERT(memcmp(pem.ca, want, wantlen) == 0);
	/* A directory of PEM files. */
	T_ASSERT(t_tls_path("cadir", p, sizeof(p)) == 0);
	T_EQ_INT(tlsconf_load_ca(&pem, p, err, sizeof(err)), 0);
	T_EQ_INT(pem.calen, wantlen);
	T_ASSERT(memcmp(pem.ca, want, wantlen) == 0);
	free(want);
	/* The data directory: certificates only, never a key. */
	T_ASSERT(t_tls_path("", p, sizeof(p)) == 0);
	T_EQ_INT(tlsconf_load_ca(&pem, p, err, sizeof(err)), 0);
	T_ASSERT(memmem(pem.ca, pem.calen, "PRIVATE", 7) == NULL);
	T_ASSERT(memmem(pem.ca, pem.calen, "-----BEGIN CERTIFICATE-----",
	    27) != NULL);
	tlsconf_free(&pem);
	/* "<default>": libtls's CA file, when the system has one. */
	def = tls_default_ca_cert_file();
	if (access(def, R_OK) == 0) {
		T_EQ_INT(tlsconf_load_ca(&pem, "<default>", err,
		    sizeof(err)), 0);
		T_ASSERT(pem.calen > 0);
	} else {
		T_EQ_INT(tlsconf_load_ca(&pem, "<default>", err,
		    sizeof(err)), -1);
		T_ASSERT(strstr(err, def) != NULL);
	}
	tlsconf_free(&pem);
	/* A file without certificates, and no file at all. */
	T_ASSERT(t_tls_path("server.key", p, sizeof(p)) == 0);
	T_EQ_INT(tlsconf_load_ca(&pem, p, err, sizeof(err)), -1);
	T_ASSERT(strstr(err, "no certificate") != NULL);
	T_ASSERT(pem.ca == NULL && pem.calen == 0);
	T_ASSERT(t_tls_path("no-such-dir", p, sizeof(p)) == 0);
	T_EQ_INT(tlsconf_load_ca(&pem, p, err, sizeof(err)), -1);
	T_ASSERT(strstr(err, "no-such-dir") != NULL);
}

TEST(tlsconf_server_and_client_contexts)
{
	struct tlsconf_pem	 pem;
	struct tls		*srv;
	struct tls_config	*cfg;
	char			 err[512];
	int			 chain = -1;

	/* A server needs a key and certificate. */
	memset(&pem, 0, sizeof(pem));
	err[0] = '\0';
	T_ASSERT(tlsconf_server(&pem, TLS_PROTOCOLS_DEFAULT, 0, err,
	    sizeof(err)) == NULL);
	T_ASSERT(err[0] != '\0');
	T_ASSERT((srv = t_tls_server("server", "ca.pem",
	    TLS_PROTOCOLS_DEFAULT, 0)) != NULL);
	tls_free(srv);
	T_ASSERT((srv = t_tls_server("server", NULL, TLS_PROTOCOL_TLSv1_3,
	    TLSCONF_CLIENT_CERT_REQUIRED)) != NULL);
	tls_free(srv);

	/* A client needs nothing; it verifies only with a CA. */
	T_ASSERT((cfg = tlsconf_client(&pem, TLS_PROTOCOLS_DEFAULT, &chain,
	    err, sizeof(err))) != NULL);
	T_EQ_INT(chain, 0);
	tls_config_free(cfg);
	chain = -1;
	T_ASSERT((cfg = t_tls_client("client", "ca.pem",
	    TLS_PROTOCOLS_DEFAULT, &chain)) != NULL);
	T_EQ_INT(chain, 1);
	tls_config_free(cfg);

	/* Material that does not parse fails when the context is made. */
	pem.ca = (uint8_t *)strdup("-----BEGIN CERTIFICATE-----\n"
	    "AAAA\n-----END CERTIFICATE-----\n");
	T_ASSERT(pem.ca != NULL);
	pem.calen = strlen((char *)pem.ca);
	err[0] = '\0';
	T_ASSERT(tlsconf_client(&pem, TLS_PROTOCOLS_DEFAULT, &chain, err,
	    sizeof(err)) == NULL);
	T_ASSERT(err[0] != '\0');
	tlsconf_free(&pem);
}
