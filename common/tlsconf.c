/*
 * TLS configurations from memory, and --tls-config: see tlsconf.h.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "options.h"
#include "tlsconf.h"

#define CERT_BEGIN	"-----BEGIN CERTIFICATE-----"
#define CERT_END	"-----END CERTIFICATE-----"
#define KEY_MARK	"PRIVATE KEY-----"
#define DIR_FILES_MAX	4096	/* files looked at in a CA directory */

/* A growing buffer of PEM certificates. */
struct pembuf {
	uint8_t		*p;
	size_t		 len, size;
};

static uint8_t	*load_file(const char *, size_t *, char *, size_t);
static void	 unload(uint8_t *, size_t);
static int	 has_mark(const uint8_t *, size_t, const char *);
static int	 add_certs(struct pembuf *, const uint8_t *, size_t);
static int	 check_keypair(const uint8_t *, size_t, const uint8_t *,
		    size_t, char *, size_t);
static int	 open_path(const char *);
static uint8_t	*load_fd(int, const char *, size_t *, char *, size_t);
static int	 name_cmp(const void *, const void *);
static int	 load_ca_dir(struct pembuf *, int, const char *, char *,
		    size_t);
static int	 version_rank(const char *, size_t);
static ssize_t	 no_read(struct tls *, void *, size_t, void *);
static ssize_t	 no_write(struct tls *, const void *, size_t, void *);

/* Protocol versions in order; the index is the --tls-config rank. */
static const struct {
	const char	*word;
	uint32_t	 bit;
} versions[] = {
	{ "tlsv1.0", TLS_PROTOCOL_TLSv1_0 },
	{ "tlsv1.1", TLS_PROTOCOL_TLSv1_1 },
	{ "tlsv1.2", TLS_PROTOCOL_TLSv1_2 },
	{ "tlsv1.3", TLS_PROTOCOL_TLSv1_3 },
};
#define NVERSIONS	(sizeof(versions) / sizeof(versions[0]))
#define DEFAULT_MIN	2	/* libtls's default lowest version, TLS 1.2 */

static const char *const library_words[] = { "openssl", "mbedtls", NULL };

/* The files of a reload, when tlsconf_files_use() set them. */
static const char *const	*files_path;
static const int		*files_fd;
static size_t			 files_n;

void
tlsconf_files_use(const char *const *paths, const int *fds, size_t n)
{
	files_path = paths;
	files_fd = fds;
	files_n = paths != NULL ? n : 0;
}

/*
 * A new descriptor for path (O_RDONLY; a directory's for a directory):
 * opened, or while tlsconf_files_use() is in force a duplicate of the
 * one the parent sent.  Returns -1 with errno set.
 */
static int
open_path(const char *path)
{
	size_t	 i;

	if (files_path == NULL)
		return (open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY));
	for (i = 0; i < files_n; i++)
		if (strcmp(files_path[i], path) == 0)
			return (fcntl(files_fd[i], F_DUPFD_CLOEXEC, 0));
	errno = ENOENT;
	return (-1);
}

/*
 * Read the whole regular file on fd (from its start; fd is closed) into
 * a buffer to be freed with unload().  Returns NULL with a message
 * about name in err.
 */
static uint8_t *
load_fd(int fd, const char *name, size_t *len, char *err, size_t errlen)
{
	struct stat	 st;
	uint8_t		*p = NULL;
	size_t		 n = 0, cap = 0;
	ssize_t		 r;

	if (fstat(fd, &st) == -1) {
		(void)snprintf(err, errlen, "%s: %s", name, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", name);
		goto fail;
	}
	if (st.st_size > TLSCONF_CA_MAX) {
		(void)snprintf(err, errlen, "%s: file too large", name);
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	if ((p = malloc(cap)) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	/* One more byte than expected: a file that grew is read again. */
	while (n < cap) {
		r = pread(fd, p + n, cap - n, (off_t)n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			(void)snprintf(err, errlen, "%s: %s", name,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == cap) {
		(void)snprintf(err, errlen, "%s: changed while read", name);
		goto fail;
	}
	close(fd);
	*len = n;
	return (p);
fail:
	if (p != NULL)
		freezero(p, cap);
	close(fd);
	return (NULL);
}

/* Read the whole file at path; see load_fd(). */
static uint8_t *
load_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int	 fd;

	if ((fd = open_path(path)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	return (load_fd(fd, path, len, err, errlen));
}

/* Free a buffer that may have held key bytes. */
static void
unload(uint8_t *p, size_t len)
{
	if (p != NULL)
		freezero(p, len);
}

/* Whether len bytes at p contain mark. */
static int
has_mark(const uint8_t *p, size_t len, const char *mark)
{
	return (p != NULL && memmem(p, len, mark, strlen(mark)) != NULL);
}

/*
 * Append every "CERTIFICATE" PEM block of len bytes at p to b, each
 * ending in a newline, and nothing else (no key ever lands in a
 * certificate buffer).  Returns the number of blocks, or -1 when out of
 * memory or over TLSCONF_CA_MAX.
 */
static int
add_certs(struct pembuf *b, const uint8_t *p, size_t len)
{
	const uint8_t	*s, *e, *lim = p + len;
	uint8_t		*n;
	size_t		 blen, sz;
	int		 count = 0;

	while ((s = memmem(p, (size_t)(lim - p), CERT_BEGIN,
	    sizeof(CERT_BEGIN) - 1)) != NULL) {
		e = memmem(s, (size_t)(lim - s), CERT_END,
		    sizeof(CERT_END) - 1);
		if (e == NULL)
			break;
		e += sizeof(CERT_END) - 1;
		blen = (size_t)(e - s);
		if (blen + 1 > TLSCONF_CA_MAX - b->len)
			return (-1);
		if (b->size - b->len < blen + 1) {
			sz = b->size == 0 ? 4096 : b->size;
			while (sz - b->len < blen + 1)
				sz *= 2;
			if ((n = realloc(b->p, sz)) == NULL)
				return (-1);
			b->p = n;
			b->size = sz;
		}
		memcpy(b->p + b->len, s, blen);
		b->p[b->len + blen] = '\n';
		b->len += blen + 1;
		count++;
		p = e;
	}
	return (count);
}

/*
 * Whether a key and certificate parse and belong together: libtls
 * checks both when it configures a server context.
 */
static int
check_keypair(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen, char *err, size_t errlen)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;
	int			 rv = -1;

	if ((cfg = tls_config_new()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (tls_config_set_keypair_mem(cfg, cert, certlen, key, keylen) ==
	    -1) {
		(void)snprintf(err, errlen, "%s", tls_config_error(cfg));
		goto done;
	}
	if ((ctx = tls_server()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (tls_configure(ctx, cfg) == -1) {
		(void)snprintf(err, errlen, "%s", tls_error(ctx));
		goto done;
	}
	rv = 0;
done:
	tls_free(ctx);
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	return (rv);
}

int
tlsconf_load_cert(struct tlsconf_pem *pem, const char *const *files,
    size_t nfiles, char *err, size_t errlen)
{
	struct pembuf	 certs;
	uint8_t		*key = NULL, *crt = NULL;
	size_t		 keylen = 0, crtlen = 0;
	const char	*keyfile, *certfile;
	char		 why[256];
	int		 r;

	memset(&certs, 0, sizeof(certs));
	if (nfiles != 1 && nfiles != 2) {
		(void)snprintf(err, errlen,
		    "one file (key and certificate) or two (key, certificate) "
		    "expected");
		return (-1);
	}
	keyfile = files[0];
	certfile = files[nfiles - 1];
	if ((key = load_file(keyfile, &keylen, err, errlen)) == NULL)
		goto fail;
	if (nfiles == 2 &&
	    (crt = load_file(certfile, &crtlen, err, errlen)) == NULL)
		goto fail;
	if (!has_mark(key, keylen, KEY_MARK)) {
		(void)snprintf(err, errlen, "%s: no private key", keyfile);
		goto fail;
	}
	r = add_certs(&certs, nfiles == 2 ? crt : key,
	    nfiles == 2 ? crtlen : keylen);
	if (r <= 0) {
		(void)snprintf(err, errlen, "%s: %s", certfile, r == 0 ?
		    "no certificate" : "out of memory");
		goto fail;
	}
	if (check_keypair(certs.p, certs.len, key, keylen, why,
	    sizeof(why)) == -1) {
		if (nfiles == 2)
			(void)snprintf(err, errlen, "%s and %s: %s", keyfile,
			    certfile, why);
		else
			(void)snprintf(err, errlen, "%s: %s", certfile, why);
		goto fail;
	}
	unload(crt, crtlen);
	unload(pem->cert, pem->certlen);
	unload(pem->key, pem->keylen);
	pem->cert = certs.p;
	pem->certlen = certs.len;
	pem->key = key;
	pem->keylen = keylen;
	return (0);
fail:
	unload(key, keylen);
	unload(crt, crtlen);
	unload(certs.p, certs.size);
	return (-1);
}

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * Append the certificates of every regular file in the directory open
 * on dfd (closed here), named dir in messages; see tlsconf.h.
 */
static int
load_ca_dir(struct pembuf *b, int dfd, const char *dir, char *err,
    size_t errlen)
{
	DIR		 *d;
	struct dirent	 *de;
	struct stat	  st;
	struct {
		dev_t	 dev;
		ino_t	 ino;
	}		 *seen = NULL;
	char		**names = NULL;
	uint8_t		 *p;
	size_t		  len, i, j, n = 0, nseen = 0;
	int		  fd, rv = -1;

	if ((d = fdopendir(dfd)) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		close(dfd);
		return (-1);
	}
	if ((names = calloc(DIR_FILES_MAX, sizeof(*names))) == NULL ||
	    (seen = calloc(DIR_FILES_MAX, sizeof(*seen))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		goto done;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == DIR_FILES_MAX) {
			(void)snprintf(err, errlen, "%s: too many files", dir);
			goto done;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			(void)snprintf(err, errlen, "out of memory");
			goto done;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (fstatat(dirfd(d), names[i], &st, 0) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		/* The same file under several names (c_rehash links). */
		for (j = 0; j < nseen; j++)
			if (seen[j].dev == st.st_dev &&
			    seen[j].ino == st.st_ino)
				break;
		if (j < nseen)
			continue;
		seen[nseen].dev = st.st_dev;
		seen[nseen].ino = st.st_ino;
		nseen++;
		if ((fd = openat(dirfd(d), names[i], O_RDONLY | O_CLOEXEC |
		    O_NOCTTY)) == -1) {
			(void)snprintf(err, errlen, "%s/%s: %s", dir, names[i],
			    strerror(errno));
			goto done;
		}
		if ((p = load_fd(fd, names[i], &len, err, errlen)) == NULL)
			goto done;
		if (add_certs(b, p, len) == -1) {
			unload(p, len);
			(void)snprintf(err, errlen,
			    "%s: out of memory or over %d bytes", dir,
			    TLSCONF_CA_MAX);
			goto done;
		}
		unload(p, len);
	}
	rv = 0;
done:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(seen);
	closedir(d);
	return (rv);
}

int
tlsconf_load_ca(struct tlsconf_pem *pem, const char *spec, char *err,
    size_t errlen)
{
	struct pembuf	 b;
	struct stat	 st;
	uint8_t		*p;
	size_t		 len;
	const char	*path = spec;
	int		 r, fd;

	memset(&b, 0, sizeof(b));
	if (strcmp(spec, "<default>") == 0)
		path = tls_default_ca_cert_file();
	if ((fd = open_path(path)) == -1 || fstat(fd, &st) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (S_ISDIR(st.st_mode)) {
		if (load_ca_dir(&b, fd, path, err, errlen) == -1)
			goto fail;
	} else {
		if ((p = load_fd(fd, path, &len, err, errlen)) == NULL)
			goto fail;
		r = add_certs(&b, p, len);
		unload(p, len);
		if (r == -1) {
			(void)snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
	}
	if (b.len == 0) {
		(void)snprintf(err, errlen, "%s: no certificate", path);
		goto fail;
	}
	unload(pem->ca, pem->calen);
	pem->ca = b.p;
	pem->calen = b.len;
	return (0);
fail:
	unload(b.p, b.size);
	return (-1);
}

void
tlsconf_free(struct tlsconf_pem *pem)
{
	if (pem == NULL)
		return;
	unload(pem->cert, pem->certlen);
	unload(pem->key, pem->keylen);
	unload(pem->ca, pem->calen);
	memset(pem, 0, sizeof(*pem));
}

/* The rank of a version word of len bytes, or -1. */
static int
version_rank(const char *w, size_t len)
{
	size_t	 i;

	for (i = 0; i < NVERSIONS; i++)
		if (strlen(versions[i].word) == len &&
		    strncmp(w, versions[i].word, len) == 0)
			return ((int)i);
	return (-1);
}

const char *
tlsconf_check_config(const char *value)
{
	const char	*errstr;
	uint32_t	 protocols;

	if (tlsconf_protocols(value, &protocols, &errstr) == -1)
		return (errstr);
	return (NULL);
}

int
tlsconf_protocols(const char *value, uint32_t *protocols, const char **errstr)
{
	const char	*p = value, *w, *e;
	size_t		 len, i;
	int		 lo = -1, hi = -1, v, ismax, known;

	*errstr = NULL;
	while (p != NULL && *p != '\0') {
		e = p + strcspn(p, ",");
		w = p;
		p = *e == '\0' ? NULL : e + 1;
		while (w < e && (*w == ' ' || *w == '\t'))
			w++;
		while (e > w && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		len = (size_t)(e - w);
		if (len == 0)
			continue;
		for (known = 0, i = 0; library_words[i] != NULL; i++)
			if (strlen(library_words[i]) == len &&
			    strncmp(w, library_words[i], len) == 0)
				known = 1;
		if (known)
			continue;	/* one library here: nothing to pick */
		ismax = *w == '-';
		if ((v = version_rank(w + ismax, len - ismax)) == -1) {
			*errstr = "unknown keyword (tlsv1.2, -tlsv1.3, ...)";
			return (-1);
		}
		if (ismax)
			hi = v;
		else
			lo = v;
	}
	if (hi == -1)
		hi = (int)NVERSIONS - 1;
	if (lo == -1)
		lo = hi < DEFAULT_MIN ? 0 : DEFAULT_MIN;
	if (lo > hi) {
		*errstr = "lowest TLS version above the highest";
		return (-1);
	}
	*protocols = 0;
	for (v = lo; v <= hi; v++)
		*protocols |= versions[v].bit;
	return (0);
}

struct tls *
tlsconf_server(const struct tlsconf_pem *pem, uint32_t protocols, int flags,
    char *err, size_t errlen)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;

	if (pem->cert == NULL || pem->key == NULL) {
		(void)snprintf(err, errlen, "no server key and certificate");
		return (NULL);
	}
	if ((cfg = tls_config_new()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	if (tls_config_set_keypair_mem(cfg, pem->cert, pem->certlen,
	    pem->key, pem->keylen) == -1 ||
	    tls_config_set_protocols(cfg, protocols) == -1)
		goto cfgfail;
	if (pem->ca != NULL) {
		if (tls_config_set_ca_mem(cfg, pem->ca, pem->calen) == -1)
			goto cfgfail;
		if (flags & TLSCONF_CLIENT_CERT_REQUIRED)
			tls_config_verify_client(cfg);
		else
			tls_config_verify_client_optional(cfg);
	}
	if ((ctx = tls_server()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (tls_configure(ctx, cfg) == -1) {
		(void)snprintf(err, errlen, "%s", tls_error(ctx));
		goto fail;
	}
	/* The context holds the parsed key: no copy of its bytes stays. */
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	return (ctx);
cfgfail:
	(void)snprintf(err, errlen, "%s", tls_config_error(cfg));
fail:
	tls_free(ctx);
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	return (NULL);
}

/* Callbacks of the trial connection in tlsconf_client(): never called. */
static ssize_t
no_read(struct tls *ctx, void *buf, size_t len, void *arg)
{
	return (-1);
}

static ssize_t
no_write(struct tls *ctx, const void *buf, size_t len, void *arg)
{
	return (-1);
}

struct tls_config *
tlsconf_client(const struct tlsconf_pem *pem, uint32_t protocols, int *chain,
    char *err, size_t errlen)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;

	if ((cfg = tls_config_new()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	if (tls_config_set_protocols(cfg, protocols) == -1)
		goto cfgfail;
	if (pem->cert != NULL && pem->key != NULL &&
	    tls_config_set_keypair_mem(cfg, pem->cert, pem->certlen,
	    pem->key, pem->keylen) == -1)
		goto cfgfail;
	/* Names are checked by io_tls_connect(), see tlsconf.h. */
	tls_config_insecure_noverifyname(cfg);
	if (pem->ca != NULL) {
		if (tls_config_set_ca_mem(cfg, pem->ca, pem->calen) == -1)
			goto cfgfail;
	} else
		tls_config_insecure_noverifycert(cfg);
	/*
	 * libtls parses the material only when it connects: try once now,
	 * without any I/O, so that bad material fails at start-up.
	 */
	if ((ctx = tls_client()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (tls_configure(ctx, cfg) == -1 ||
	    tls_connect_cbs(ctx, no_read, no_write, NULL, NULL) == -1) {
		(void)snprintf(err, errlen, "%s", tls_error(ctx));
		goto fail;
	}
	tls_free(ctx);
	*chain = pem->ca != NULL;
	return (cfg);
cfgfail:
	(void)snprintf(err, errlen, "%s", tls_config_error(cfg));
fail:
	tls_free(ctx);
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	return (NULL);
}

/* Key, certificate and CA of one side from the instance's options. */
static int
tlsconf_inst_pem(const struct instconf *ic, enum opt_id certopt,
    enum opt_id caopt, struct tlsconf_pem *pem, char *err, size_t errlen)
{
	const struct optval	*ov = &ic->opt[certopt];
	const char		*ca;
	const char *const	*files;
	size_t			 n;

	memset(pem, 0, sizeof(*pem));
	if (ov->set && ov->nlist > 0) {
		files = (const char *const *)ov->list;
		n = ov->nlist;
		if (n > 2) {
			/* The last two given, as options repeat. */
			files += n - 2;
			n = 2;
		}
		if (tlsconf_load_cert(pem, files, n, err, errlen) == -1)
			return (-1);
	}
	if ((ca = conf_str(ic, caopt)) != NULL && *ca != '\0' &&
	    tlsconf_load_ca(pem, ca, err, errlen) == -1) {
		tlsconf_free(pem);
		return (-1);
	}
	return (0);
}

struct tls *
tlsconf_server_inst(const struct instconf *ic, char *err, size_t errlen)
{
	struct tlsconf_pem	 pem;
	struct tls		*ctx;
	const char		*errstr;
	uint32_t		 protocols;

	if (tlsconf_protocols(conf_str(ic, OPT_TLS_CONFIG), &protocols,
	    &errstr) == -1) {
		(void)snprintf(err, errlen, "--tls-config: %s", errstr);
		return (NULL);
	}
	if (!ic->opt[OPT_SERVER_TLS_CERTIFICATE].set) {
		(void)snprintf(err, errlen, "--server-tls-certificate is "
		    "needed for a tls server");
		return (NULL);
	}
	if (tlsconf_inst_pem(ic, OPT_SERVER_TLS_CERTIFICATE,
	    OPT_SERVER_TLS_VERIFY, &pem, err, errlen) == -1)
		return (NULL);
	ctx = tlsconf_server(&pem, protocols, pem.ca != NULL ?
	    TLSCONF_CLIENT_CERT_REQUIRED : 0, err, errlen);
	tlsconf_free(&pem);
	return (ctx);
}

struct tls_config *
tlsconf_client_inst(const struct instconf *ic, int *chain, char *err,
    size_t errlen)
{
	struct tlsconf_pem	 pem;
	struct tls_config	*cfg;
	const char		*errstr;
	uint32_t		 protocols;

	if (tlsconf_protocols(conf_str(ic, OPT_TLS_CONFIG), &protocols,
	    &errstr) == -1) {
		(void)snprintf(err, errlen, "--tls-config: %s", errstr);
		return (NULL);
	}
	if (tlsconf_inst_pem(ic, OPT_CLIENT_TLS_CERTIFICATE,
	    OPT_CLIENT_TLS_VERIFY, &pem, err, errlen) == -1)
		return (NULL);
	cfg = tlsconf_client(&pem, protocols, chain, err, errlen);
	tlsconf_free(&pem);
	return (cfg);
}
