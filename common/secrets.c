/*
 * Secrets files (SPEC 7).  One secret per line:
 *
 *	client|server  type  id  secret  [selector]
 *
 * Fields are separated by blanks; a line whose first field starts with '#'
 * is a comment, and so is the rest of a line from a fifth (or later) field
 * that starts with '#'.  Types: plain (xtext id and password), plain:b
 * (base64 id and password), md5 (xtext id; the 32-byte HMAC-MD5 state of
 * emailrelay-passwd in base64, or eight dotted decimal words), oauth and
 * oauth:b (client only; xtext id, SPEC 7 and 13: "client oauth:b
 * me@example.onmicrosoft.com <base64>"; the secret is the base64 of the
 * XOAUTH2 initial response), none (server only: a trusted address pattern
 * and a keyword).  Legacy names: login = plain, cram-md5 and apop = md5.
 * A client line whose id and secret are both "=" means no authentication.
 * Side and type names are case-insensitive.  The first bad line fails the
 * whole file.  See secrets.h.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base64.h"
#include "md5.h"
#include "secrets.h"
#include "xtext.h"

#define SECRETS_FIELDS	5

/* How a type encodes its id and secret. */
#define ENC_XTEXT	1
#define ENC_BASE64	2
#define ENC_RAW		3
#define ENC_MD5		4

struct field {
	const char	*p;
	size_t		 len;
};

static const struct secrets_type {
	const char	*name;
	int		 kind;
	int		 idenc;
	int		 secretenc;
} secrets_types[] = {
	{ "plain",	SECRET_PLAIN,	ENC_XTEXT,	ENC_XTEXT },
	{ "plain:b",	SECRET_PLAIN,	ENC_BASE64,	ENC_BASE64 },
	{ "login",	SECRET_PLAIN,	ENC_XTEXT,	ENC_XTEXT },
	{ "md5",	SECRET_MD5,	ENC_XTEXT,	ENC_MD5 },
	{ "cram-md5",	SECRET_MD5,	ENC_XTEXT,	ENC_MD5 },
	{ "apop",	SECRET_MD5,	ENC_XTEXT,	ENC_MD5 },
	{ "oauth",	SECRET_OAUTH,	ENC_XTEXT,	ENC_BASE64 },
	{ "oauth:b",	SECRET_OAUTH,	ENC_XTEXT,	ENC_BASE64 },
	{ "none",	SECRET_NONE,	ENC_RAW,	ENC_RAW },
};

static int	 secrets_error(char *, size_t, const char *, unsigned int,
		    const char *);
static int	 secrets_line(struct secrets *, const char *, size_t,
		    unsigned int, const char **);
static int	 secrets_field_eq(const struct field *, const char *);
static int	 secrets_decode(const struct field *, int, unsigned char **,
		    size_t *);
static int	 secrets_dotted(const char *, size_t, unsigned char *);
static int	 secrets_add(struct secrets *, struct secret *);
static void	 secrets_clear(struct secret *);
static int	 secrets_wild4(const unsigned char *,
		    char (*)[SECRETS_WILDCARD_LEN], size_t);
static int	 secrets_wild6(const unsigned char *,
		    char (*)[SECRETS_WILDCARD_LEN], size_t);

/* "<name>:<line>: <what>", or "<name>: <what>" for line 0; returns -1. */
static int
secrets_error(char *err, size_t errsz, const char *name, unsigned int lineno,
    const char *what)
{
	if (err == NULL || errsz == 0)
		return (-1);
	if (lineno > 0)
		(void)snprintf(err, errsz, "%s:%u: %s", name, lineno, what);
	else
		(void)snprintf(err, errsz, "%s: %s", name, what);
	return (-1);
}

static int
secrets_field_eq(const struct field *f, const char *s)
{
	return (strlen(s) == f->len && strncasecmp(f->p, s, f->len) == 0);
}

/*
 * Decode a field into a new NUL-terminated buffer.  Returns 0, -1 if the
 * field is malformed, -2 if out of memory.
 */
static int
secrets_decode(const struct field *f, int enc, unsigned char **out,
    size_t *outlen)
{
	unsigned char	*b;
	size_t		 size;
	ssize_t		 n;

	size = enc == ENC_BASE64 ? BASE64_DECODED_MAX(f->len) + 1 :
	    enc == ENC_MD5 ? BASE64_DECODED_MAX(f->len) + MD5_HMAC_STATE + 1 :
	    f->len + 1;
	if ((b = calloc(1, size)) == NULL)
		return (-2);
	switch (enc) {
	case ENC_XTEXT:
		n = xtext_decode(f->p, f->len, (char *)b, size);
		break;
	case ENC_BASE64:
		/* Written by hand (SPEC 13: "UGFzc3cwcmQ"): padding optional. */
		n = base64_decode(f->p, f->len, b, size - 1, BASE64_F_NOPAD);
		break;
	case ENC_MD5:
		if (memchr(f->p, '.', f->len) != NULL)
			n = secrets_dotted(f->p, f->len, b) == 0 ?
			    MD5_HMAC_STATE : -1;
		else {
			n = base64_decode(f->p, f->len, b, size - 1, 0);
			if (n != MD5_HMAC_STATE)
				n = -1;
		}
		break;
	default:
		memcpy(b, f->p, f->len);
		n = (ssize_t)f->len;
		break;
	}
	if (n == -1) {
		freezero(b, size);
		return (-1);
	}
	b[n] = '\0';
	*out = b;
	*outlen = (size_t)n;
	return (0);
}

/*
 * The old dotted form of an md5 secret: eight decimal 32-bit words, the
 * state words in order, into 32 bytes, each word little-endian.
 */
static int
secrets_dotted(const char *p, size_t len, unsigned char *out)
{
	uint64_t	 v;
	size_t		 i = 0, digits;
	int		 w;

	for (w = 0; w < 8; w++) {
		if (w > 0) {
			if (i >= len || p[i] != '.')
				return (-1);
			i++;
		}
		v = 0;
		for (digits = 0; i < len && p[i] >= '0' && p[i] <= '9';
		    i++, digits++) {
			v = v * 10 + (uint64_t)(p[i] - '0');
			if (v > UINT32_MAX)
				return (-1);
		}
		if (digits == 0)
			return (-1);
		out[4 * w] = (unsigned char)v;
		out[4 * w + 1] = (unsigned char)(v >> 8);
		out[4 * w + 2] = (unsigned char)(v >> 16);
		out[4 * w + 3] = (unsigned char)(v >> 24);
	}
	return (i == len ? 0 : -1);
}

static void
secrets_clear(struct secret *s)
{
	if (s->id != NULL)
		freezero(s->id, s->idlen + 1);
	if (s->secret != NULL)
		freezero(s->secret, s->secretlen + 1);
	if (s->selector != NULL)
		freezero(s->selector, strlen(s->selector) + 1);
	memset(s, 0, sizeof(*s));
}

/* Append s (taking its buffers); -1 if out of memory (s is cleared). */
static int
secrets_add(struct secrets *sec, struct secret *s)
{
	struct secret	*v;
	size_t		 cap;

	if (sec->n == sec->cap) {
		cap = sec->cap == 0 ? 16 : sec->cap * 2;
		if ((v = recallocarray(sec->v, sec->cap, cap,
		    sizeof(*v))) == NULL) {
			secrets_clear(s);
			return (-1);
		}
		sec->v = v;
		sec->cap = cap;
	}
	sec->v[sec->n++] = *s;
	if (s->side == SECRETS_SERVER) {
		if (s->kind == SECRET_PLAIN)
			sec->nserver_plain++;
		else if (s->kind == SECRET_MD5)
			sec->nserver_md5++;
		else if (s->kind == SECRET_NONE)
			sec->nserver_none++;
	}
	memset(s, 0, sizeof(*s));
	return (0);
}

/*
 * One line (without its LF) into sec.  Returns 0, -1 with *what set for a
 * bad line, -2 if out of memory.
 */
static int
secrets_line(struct secrets *sec, const char *p, size_t len,
    unsigned int lineno, const char **what)
{
	const struct secrets_type	*t = NULL;
	struct field			 f[SECRETS_FIELDS];
	struct secret			 s;
	size_t				 i, nf = 0, start, n;
	int				 r;

	if (len > 0 && p[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		if (p[i] == ' ' || p[i] == '\t')
			continue;
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
			*what = "invalid character";
			return (-1);
		}
		start = i;
		while (i < len && p[i] != ' ' && p[i] != '\t' &&
		    (unsigned char)p[i] >= 0x20 && p[i] != 0x7f)
			i++;
		if (p[start] == '#' && (nf == 0 || nf >= 4))
			break;		/* the rest is a comment */
		if (nf == SECRETS_FIELDS) {
			*what = "too many fields";
			return (-1);
		}
		f[nf].p = p + start;
		f[nf].len = i - start;
		nf++;
		i--;
	}
	if (nf == 0)
		return (0);
	if (nf < 4) {
		*what = "too few fields";
		return (-1);
	}

	memset(&s, 0, sizeof(s));
	s.lineno = lineno;
	if (secrets_field_eq(&f[0], "client"))
		s.side = SECRETS_CLIENT;
	else if (secrets_field_eq(&f[0], "server"))
		s.side = SECRETS_SERVER;
	else {
		*what = "first field must be \"client\" or \"server\"";
		return (-1);
	}
	for (n = 0; n < sizeof(secrets_types) / sizeof(secrets_types[0]);
	    n++)
		if (secrets_field_eq(&f[1], secrets_types[n].name)) {
			t = &secrets_types[n];
			break;
		}
	if (t == NULL) {
		*what = "unknown secret type";
		return (-1);
	}
	s.kind = t->kind;
	if (s.side == SECRETS_SERVER && s.kind == SECRET_OAUTH) {
		*what = "oauth secrets are for client lines only";
		return (-1);
	}
	if (s.side == SECRETS_CLIENT && s.kind == SECRET_NONE) {
		*what = "\"none\" is for server lines only";
		return (-1);
	}

	if (s.side == SECRETS_CLIENT && f[2].len == 1 && f[2].p[0] == '=' &&
	    f[3].len == 1 && f[3].p[0] == '=') {
		/* No authentication for this selector. */
		s.kind = SECRET_NONE;
		if ((s.id = strdup("")) == NULL ||
		    (s.secret = (unsigned char *)strdup("")) == NULL)
			goto nomem;
	} else {
		if ((r = secrets_decode(&f[2], t->idenc,
		    (unsigned char **)&s.id, &s.idlen)) != 0) {
			if (r == -2)
				goto nomem;
			*what = t->idenc == ENC_BASE64 ? "invalid base64 id" :
			    "invalid xtext id";
			return (-1);
		}
		if (memchr(s.id, '\0', s.idlen) != NULL || s.idlen == 0) {
			secrets_clear(&s);
			*what = "invalid id";
			return (-1);
		}
		if ((r = secrets_decode(&f[3], t->secretenc, &s.secret,
		    &s.secretlen)) != 0) {
			secrets_clear(&s);
			if (r == -2)
				goto nomem;
			*what = t->secretenc == ENC_MD5 ?
			    "invalid md5 secret: need 44 base64 characters or"
			    " eight dotted decimal numbers" :
			    t->secretenc == ENC_BASE64 ?
			    "invalid base64 secret" : "invalid xtext secret";
			return (-1);
		}
	}
	if ((s.selector = strndup(nf == SECRETS_FIELDS ? f[4].p : "",
	    nf == SECRETS_FIELDS ? f[4].len : 0)) == NULL)
		goto nomem;
	if (secrets_add(sec, &s) == -1)
		return (-2);
	return (0);

nomem:
	secrets_clear(&s);
	return (-2);
}

struct secrets *
secrets_parse(const char *p, size_t len, const char *name, char *err,
    size_t errsz)
{
	struct secrets	*sec;
	const char	*what = NULL, *nl;
	size_t		 i = 0, n;
	unsigned int	 lineno = 0;
	int		 r;

	if ((sec = calloc(1, sizeof(*sec))) == NULL) {
		secrets_error(err, errsz, name, 0, "out of memory");
		return (NULL);
	}
	while (i < len) {
		lineno++;
		if ((nl = memchr(p + i, '\n', len - i)) != NULL)
			n = (size_t)(nl - (p + i));
		else
			n = len - i;
		if ((r = secrets_line(sec, p + i, n, lineno, &what)) != 0) {
			secrets_free(sec);
			if (r == -2)
				secrets_error(err, errsz, name, 0,
				    "out of memory");
			else
				secrets_error(err, errsz, name, lineno, what);
			return (NULL);
		}
		i += n + 1;
	}
	return (sec);
}

struct secrets *
secrets_read_fd(int fd, const char *name, char *err, size_t errsz)
{
	struct secrets	*sec;
	struct stat	 st;
	char		*buf;
	size_t		 len = 0, size = SECRETS_FILE_MAX + 1;
	ssize_t		 n;

	if (fstat(fd, &st) == -1) {
		secrets_error(err, errsz, name, 0, strerror(errno));
		return (NULL);
	}
	if (!S_ISREG(st.st_mode)) {
		secrets_error(err, errsz, name, 0, "not a regular file");
		return (NULL);
	}
	if (st.st_size > SECRETS_FILE_MAX) {
		secrets_error(err, errsz, name, 0, "file too large");
		return (NULL);
	}
	if ((buf = malloc(size)) == NULL) {
		secrets_error(err, errsz, name, 0, "out of memory");
		return (NULL);
	}
	/* Read up to one byte past the cap to see that it was exceeded. */
	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			secrets_error(err, errsz, name, 0, strerror(errno));
			freezero(buf, size);
			return (NULL);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SECRETS_FILE_MAX) {
		secrets_error(err, errsz, name, 0, "file too large");
		freezero(buf, size);
		return (NULL);
	}
	sec = secrets_parse(buf, len, name, err, errsz);
	freezero(buf, size);
	return (sec);
}

struct secrets *
secrets_read(const char *path, char *err, size_t errsz)
{
	struct secrets	*sec;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		secrets_error(err, errsz, path, 0, strerror(errno));
		return (NULL);
	}
	sec = secrets_read_fd(fd, path, err, errsz);
	(void)close(fd);
	return (sec);
}

int
secrets_client_auth_inline(const char *value)
{
	return (strncasecmp(value, "plain:", 6) == 0);
}

struct secrets *
secrets_client_auth(const char *value, char *err, size_t errsz)
{
	struct secrets	*sec;
	struct secret	 s;
	struct field	 fid, fpw;
	const char	*p, *colon;
	int		 r;

	if (!secrets_client_auth_inline(value) ||
	    (colon = strchr(value + 6, ':')) == NULL) {
		secrets_error(err, errsz, "--client-auth", 0,
		    "expected plain:<base64 id>:<base64 password>");
		return (NULL);
	}
	p = value + 6;
	fid.p = p;
	fid.len = (size_t)(colon - p);
	fpw.p = colon + 1;
	fpw.len = strlen(colon + 1);
	if ((sec = calloc(1, sizeof(*sec))) == NULL) {
		secrets_error(err, errsz, "--client-auth", 0, "out of memory");
		return (NULL);
	}
	memset(&s, 0, sizeof(s));
	s.side = SECRETS_CLIENT;
	s.kind = SECRET_PLAIN;
	if (fid.len == 0 ||
	    (r = secrets_decode(&fid, ENC_BASE64, (unsigned char **)&s.id,
	    &s.idlen)) != 0 || s.idlen == 0 ||
	    memchr(s.id, '\0', s.idlen) != NULL) {
		secrets_clear(&s);
		secrets_free(sec);
		secrets_error(err, errsz, "--client-auth", 0,
		    "invalid base64 id");
		return (NULL);
	}
	if (secrets_decode(&fpw, ENC_BASE64, &s.secret, &s.secretlen) != 0 ||
	    (s.selector = strdup("")) == NULL) {
		secrets_clear(&s);
		secrets_free(sec);
		secrets_error(err, errsz, "--client-auth", 0,
		    "invalid base64 password");
		return (NULL);
	}
	if (secrets_add(sec, &s) == -1) {
		secrets_free(sec);
		secrets_error(err, errsz, "--client-auth", 0, "out of memory");
		return (NULL);
	}
	return (sec);
}

void
secrets_free(struct secrets *sec)
{
	size_t	 i;

	if (sec == NULL)
		return;
	for (i = 0; i < sec->n; i++)
		secrets_clear(&sec->v[i]);
	free(sec->v);
	free(sec);
}

const struct secret *
secrets_server_lookup(const struct secrets *sec, int kind, const char *id,
    size_t idlen)
{
	const struct secret	*s;
	size_t			 i;

	if (sec == NULL || (kind != SECRET_PLAIN && kind != SECRET_MD5))
		return (NULL);
	for (i = 0; i < sec->n; i++) {
		s = &sec->v[i];
		if (s->side == SECRETS_SERVER && s->kind == kind &&
		    s->idlen == idlen && memcmp(s->id, id, idlen) == 0)
			return (s);
	}
	return (NULL);
}

const struct secret *
secrets_client_lookup(const struct secrets *sec, const char *selector)
{
	const struct secret	*s;
	size_t			 i;

	if (sec == NULL)
		return (NULL);
	if (selector == NULL)
		selector = "";
	for (i = 0; i < sec->n; i++) {
		s = &sec->v[i];
		if (s->side == SECRETS_CLIENT &&
		    strcmp(s->selector, selector) == 0)
			return (s);
	}
	return (NULL);
}

const char *
secrets_server_mechs(const struct secrets *sec)
{
	if (sec != NULL && sec->nserver_plain > 0)
		return ("CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN "
		    "LOGIN");
	if (sec != NULL && sec->nserver_md5 > 0)
		return ("CRAM-MD5");
	return ("");
}

const char *
secrets_kind_name(int kind)
{
	switch (kind) {
	case SECRET_PLAIN:
		return ("plain");
	case SECRET_MD5:
		return ("md5");
	case SECRET_OAUTH:
		return ("oauth");
	case SECRET_NONE:
		return ("none");
	default:
		return ("unknown");
	}
}

/* IPv4 forms (see secrets.h) of the four bytes at a. */
static int
secrets_wild4(const unsigned char *a, char (*out)[SECRETS_WILDCARD_LEN],
    size_t max)
{
	uint32_t	 v, net;
	size_t		 n = 0;
	int		 bits;

	if (max < 38)
		return (-1);
	v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	    (uint32_t)a[2] << 8 | a[3];
	(void)snprintf(out[n++], SECRETS_WILDCARD_LEN, "%u.%u.%u.%u",
	    a[0], a[1], a[2], a[3]);
	for (bits = 32; bits >= 0; bits--) {
		net = bits == 0 ? 0 : v & (0xffffffffU << (32 - bits));
		(void)snprintf(out[n++], SECRETS_WILDCARD_LEN,
		    "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 0xff,
		    (net >> 8) & 0xff, net & 0xff, bits);
		if (bits == 24)
			(void)snprintf(out[n++], SECRETS_WILDCARD_LEN,
			    "%u.%u.%u.*", a[0], a[1], a[2]);
		else if (bits == 16)
			(void)snprintf(out[n++], SECRETS_WILDCARD_LEN,
			    "%u.%u.*.*", a[0], a[1]);
		else if (bits == 8)
			(void)snprintf(out[n++], SECRETS_WILDCARD_LEN,
			    "%u.*.*.*", a[0]);
		else if (bits == 0)
			(void)snprintf(out[n++], SECRETS_WILDCARD_LEN,
			    "*.*.*.*");
	}
	return ((int)n);
}

/* IPv6 forms (see secrets.h) of the sixteen bytes at a. */
static int
secrets_wild6(const unsigned char *a, char (*out)[SECRETS_WILDCARD_LEN],
    size_t max)
{
	unsigned char	 m[16];
	char		 text[INET6_ADDRSTRLEN];
	size_t		 n = 0;
	int		 bits, i, r;

	if (max < 130)
		return (-1);
	if (inet_ntop(AF_INET6, a, out[n++], SECRETS_WILDCARD_LEN) == NULL)
		return (-1);
	for (bits = 128; bits >= 0; bits--) {
		for (i = 0; i < 16; i++) {
			if (8 * (i + 1) <= bits)
				m[i] = a[i];
			else if (8 * i >= bits)
				m[i] = 0;
			else
				m[i] = a[i] & (unsigned char)(0xff <<
				    (8 - (bits - 8 * i)));
		}
		if (inet_ntop(AF_INET6, m, text, sizeof(text)) == NULL)
			return (-1);
		r = snprintf(out[n++], SECRETS_WILDCARD_LEN, "%s/%d", text,
		    bits);
		if (r < 0 || r >= SECRETS_WILDCARD_LEN)
			return (-1);
	}
	return ((int)n);
}

int
secrets_wildcards(const char *ip, char (*out)[SECRETS_WILDCARD_LEN],
    size_t max)
{
	unsigned char	 a[16];
	char		 buf[INET6_ADDRSTRLEN + 1];
	size_t		 len;
	const char	*pct;

	len = (pct = strchr(ip, '%')) != NULL ? (size_t)(pct - ip) :
	    strlen(ip);
	if (len == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, ip, len);
	buf[len] = '\0';
	if (pct == NULL && inet_pton(AF_INET, buf, a) == 1)
		return (secrets_wild4(a, out, max));
	if (inet_pton(AF_INET6, buf, a) != 1)
		return (-1);
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
		return (secrets_wild4(a + 12, out, max));
	return (secrets_wild6(a, out, max));
}

const char *
secrets_trusted(const struct secrets *sec, const char *ip)
{
	char			 w[SECRETS_WILDCARD_MAX][SECRETS_WILDCARD_LEN];
	const struct secret	*s;
	size_t			 i;
	int			 n, k;

	if (sec == NULL || sec->nserver_none == 0)
		return (NULL);
	if ((n = secrets_wildcards(ip, w, SECRETS_WILDCARD_MAX)) == -1)
		return (NULL);
	for (k = 0; k < n; k++) {
		for (i = 0; i < sec->n; i++) {
			s = &sec->v[i];
			if (s->side == SECRETS_SERVER &&
			    s->kind == SECRET_NONE &&
			    strcmp(s->id, w[k]) == 0)
				return ((const char *)s->secret);
		}
	}
	return (NULL);
}
