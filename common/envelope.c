/*
 * Reading and writing E-MailRelay envelope files (SPEC 3).
 *
 * Formats read, oldest first.  Every format has Format, Content, From,
 * ToCount with its To-Local/To-Remote lines, Authentication, Client and End.
 * Later formats added fields at the end, before End: ClientCertificate,
 * MailFromAuthIn and MailFromAuthOut (by #2821.5), ForwardTo and
 * ForwardToAddress (#2821.6), ClientAccountSelector (#2821.7) and
 * Utf8MailboxNames (#2821.8).  #2821.4 (and older) may have a ClientName
 * line after Client, which is read and dropped.  Formats before #2821.8 may
 * hold "ip:port" in Client; the port is dropped.  So that no older file is
 * refused over exactly which release added which field, the fields after
 * Client are optional before #2821.8 (absent means empty) but must keep
 * their order; in #2821.8 every field is required.
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "xtext.h"

#define ENV_PREFIX	"X-MailRelay-"
#define ENV_PREFIXLEN	(sizeof(ENV_PREFIX) - 1)

/* Fields in file order; the index is the position. */
enum env_field {
	F_FORMAT,
	F_CONTENT,
	F_FROM,
	F_TOCOUNT,
	F_TOLOCAL,
	F_TOREMOTE,
	F_AUTH,
	F_CLIENT,
	F_CLIENTNAME,
	F_CERT,
	F_AUTHIN,
	F_AUTHOUT,
	F_FWDTO,
	F_FWDADDR,
	F_SELECTOR,
	F_UTF8,
	F_END,
	F_COUNT
};

static const struct env_fieldinfo {
	const char	*name;
	int		 req_from;	/* required from this format on */
	int		 allow_to;	/* allowed up to this format */
} env_fields[F_COUNT] = {
	[F_FORMAT] =	{ "Format", 3, 8 },
	[F_CONTENT] =	{ "Content", 3, 8 },
	[F_FROM] =	{ "From", 3, 8 },
	[F_TOCOUNT] =	{ "ToCount", 3, 8 },
	[F_TOLOCAL] =	{ "To-Local", 99, 8 },
	[F_TOREMOTE] =	{ "To-Remote", 99, 8 },
	[F_AUTH] =	{ "Authentication", 3, 8 },
	[F_CLIENT] =	{ "Client", 3, 8 },
	[F_CLIENTNAME] = { "ClientName", 99, 4 },
	[F_CERT] =	{ "ClientCertificate", 8, 8 },
	[F_AUTHIN] =	{ "MailFromAuthIn", 8, 8 },
	[F_AUTHOUT] =	{ "MailFromAuthOut", 8, 8 },
	[F_FWDTO] =	{ "ForwardTo", 8, 8 },
	[F_FWDADDR] =	{ "ForwardToAddress", 8, 8 },
	[F_SELECTOR] =	{ "ClientAccountSelector", 8, 8 },
	[F_UTF8] =	{ "Utf8MailboxNames", 8, 8 },
	[F_END] =	{ "End", 3, 8 },
};

static const struct env_linename {
	const char		*name;
	enum envelope_line_kind	 kind;
} env_linenames[] = {
	{ "Reason", ENVELOPE_LINE_REASON },
	{ "ReasonCode", ENVELOPE_LINE_REASONCODE },
	{ "SplitGroupCount", ENVELOPE_LINE_SPLITGROUPCOUNT },
	{ "SplitGroup", ENVELOPE_LINE_SPLITGROUP },
	{ "Retry", ENVELOPE_LINE_RETRY },
};

/* A line-by-line reader over the input buffer. */
struct env_reader {
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	size_t		 lineno;
	const char	*line;		/* current line, valid if have */
	size_t		 linelen;
	int		 have;
};

/* A growing output buffer. */
struct env_out {
	char		*p;
	size_t		 len;
	size_t		 cap;
	int		 failed;
};

static int	 rd_peek(struct env_reader *);
static void	 rd_next(struct env_reader *);
static int	 field_split(const char *, size_t, const char **, size_t *,
		    const char **, size_t *);
static int	 field_lookup(const char *, size_t);
static int	 field_copy(char *, const char *, size_t);
static void	 env_err(char *, size_t, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
static int	 env_check_input(const char *, size_t, char *, size_t);
static int	 env_read_format(struct env_reader *, int *, char *, size_t);
static int	 env_read_to(struct env_reader *, struct envelope *,
		    const char *, size_t, char *, size_t);
static int	 env_read_cert(struct env_reader *, struct envelope *,
		    const char *, size_t, char *, size_t);
static int	 env_read_free(struct env_reader *, struct envelope *,
		    char *, size_t);
static int	 env_store(struct envelope *, int, const char *, size_t);
static void	 client_strip_port(char *);
static int	 all_digits(const char *, size_t);
static enum envelope_line_kind line_classify(const char *, size_t);
static int	 lines_insert(struct envelope *, size_t,
		    enum envelope_line_kind, const char *, size_t);
static void	 lines_remove(struct envelope *, size_t);
static int	 lines_make_room(struct envelope *, size_t);
static int	 rcpt_append(char ***, size_t *, const char *, size_t);
static int	 value_ok(const char *);
static int	 set_field(char *, const char *);
static int	 has_crlf(const char *);
static void	 out_add(struct env_out *, const char *, size_t);
static void	 out_str(struct env_out *, const char *);
static void	 out_field(struct env_out *, const char *, const char *);
static void	 copy_value(char *, size_t, const char *);

void
envelope_init(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->format = ENVELOPE_FORMAT;
	env->body = ENVELOPE_BODY_UNKNOWN;
}

void
envelope_free(struct envelope *env)
{
	size_t	 i;

	for (i = 0; i < env->nto_local; i++)
		free(env->to_local[i]);
	free(env->to_local);
	for (i = 0; i < env->nto_remote; i++)
		free(env->to_remote[i]);
	free(env->to_remote);
	free(env->client_cert);
	for (i = 0; i < env->nlines; i++)
		free(env->lines[i].text);
	free(env->lines);
	envelope_init(env);
}

int
envelope_copy(struct envelope *dst, const struct envelope *src)
{
	size_t	 i;

	envelope_free(dst);
	memcpy(dst, src, sizeof(*dst));
	dst->to_local = NULL;
	dst->nto_local = 0;
	dst->to_remote = NULL;
	dst->nto_remote = 0;
	dst->client_cert = NULL;
	dst->lines = NULL;
	dst->nlines = 0;
	for (i = 0; i < src->nto_local; i++)
		if (rcpt_append(&dst->to_local, &dst->nto_local,
		    src->to_local[i], strlen(src->to_local[i])) == -1)
			goto fail;
	for (i = 0; i < src->nto_remote; i++)
		if (rcpt_append(&dst->to_remote, &dst->nto_remote,
		    src->to_remote[i], strlen(src->to_remote[i])) == -1)
			goto fail;
	if (src->client_cert != NULL &&
	    (dst->client_cert = strdup(src->client_cert)) == NULL)
		goto fail;
	for (i = 0; i < src->nlines; i++)
		if (lines_insert(dst, dst->nlines, src->lines[i].kind,
		    src->lines[i].text, strlen(src->lines[i].text)) == -1)
			goto fail;
	return (0);

fail:
	envelope_free(dst);
	errno = ENOMEM;
	return (-1);
}

const char *
envelope_body_name(enum envelope_body body)
{
	switch (body) {
	case ENVELOPE_BODY_7BIT:
		return ("7bit");
	case ENVELOPE_BODY_8BIT:
		return ("8bit");
	case ENVELOPE_BODY_BINARYMIME:
		return ("binarymime");
	default:
		return ("unknown");
	}
}

/*
 * Writing.
 */

static void
out_add(struct env_out *o, const char *p, size_t n)
{
	size_t	 ncap;
	char	*np;

	if (o->failed)
		return;
	if (o->cap - o->len <= n) {
		ncap = o->cap == 0 ? 4096 : o->cap;
		while (ncap - o->len <= n) {
			if (ncap > SIZE_MAX / 2) {
				o->failed = 1;
				return;
			}
			ncap *= 2;
		}
		if ((np = realloc(o->p, ncap)) == NULL) {
			o->failed = 1;
			return;
		}
		o->p = np;
		o->cap = ncap;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
out_str(struct env_out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* "X-MailRelay-<name>: <value>\r\n"; an empty value keeps the space. */
static void
out_field(struct env_out *o, const char *name, const char *value)
{
	out_str(o, ENV_PREFIX);
	out_str(o, name);
	out_str(o, ": ");
	out_str(o, value);
	out_str(o, "\r\n");
}

static int
has_crlf(const char *s)
{
	return (strpbrk(s, "\r\n") != NULL);
}

int
envelope_write(const struct envelope *env, char **buf, size_t *len)
{
	struct env_out	 o;
	char		 num[32];
	const char	*p, *nl;
	size_t		 i;

	*buf = NULL;
	*len = 0;
	if (has_crlf(env->from) || has_crlf(env->auth) ||
	    has_crlf(env->client) || has_crlf(env->auth_in) ||
	    has_crlf(env->auth_out) || has_crlf(env->forward_to) ||
	    has_crlf(env->forward_to_address) || has_crlf(env->selector) ||
	    (env->client_cert != NULL && strchr(env->client_cert, '\r') !=
	    NULL) || env->nto_local + env->nto_remote > BOUNDS_RCPT)
		goto invalid;
	for (i = 0; i < env->nto_local; i++)
		if (has_crlf(env->to_local[i]))
			goto invalid;
	for (i = 0; i < env->nto_remote; i++)
		if (has_crlf(env->to_remote[i]))
			goto invalid;
	for (i = 0; i < env->nlines; i++)
		if (has_crlf(env->lines[i].text))
			goto invalid;

	memset(&o, 0, sizeof(o));
	out_field(&o, env_fields[F_FORMAT].name, "#2821.8");
	out_field(&o, env_fields[F_CONTENT].name,
	    envelope_body_name(env->body));
	out_field(&o, env_fields[F_FROM].name, env->from);
	(void)snprintf(num, sizeof(num), "%zu",
	    env->nto_local + env->nto_remote);
	out_field(&o, env_fields[F_TOCOUNT].name, num);
	for (i = 0; i < env->nto_local; i++)
		out_field(&o, env_fields[F_TOLOCAL].name, env->to_local[i]);
	for (i = 0; i < env->nto_remote; i++)
		out_field(&o, env_fields[F_TOREMOTE].name, env->to_remote[i]);
	out_field(&o, env_fields[F_AUTH].name, env->auth);
	out_field(&o, env_fields[F_CLIENT].name, env->client);
	/* Certificate lines after the first start with a space. */
	out_str(&o, ENV_PREFIX "ClientCertificate: ");
	if (env->client_cert != NULL) {
		p = env->client_cert;
		while ((nl = strchr(p, '\n')) != NULL) {
			out_add(&o, p, (size_t)(nl - p));
			out_str(&o, "\r\n ");
			p = nl + 1;
		}
		out_str(&o, p);
	}
	out_str(&o, "\r\n");
	out_field(&o, env_fields[F_AUTHIN].name, env->auth_in);
	out_field(&o, env_fields[F_AUTHOUT].name, env->auth_out);
	out_field(&o, env_fields[F_FWDTO].name, env->forward_to);
	out_field(&o, env_fields[F_FWDADDR].name, env->forward_to_address);
	out_field(&o, env_fields[F_SELECTOR].name, env->selector);
	out_field(&o, env_fields[F_UTF8].name, env->utf8 ? "1" : "0");
	out_field(&o, env_fields[F_END].name, "1");
	for (i = 0; i < env->nlines; i++) {
		out_str(&o, env->lines[i].text);
		out_str(&o, "\r\n");
	}
	if (o.failed) {
		free(o.p);
		errno = ENOMEM;
		return (-1);
	}
	/* Never write what envelope_read() would refuse. */
	if (o.len > ENVELOPE_MAX_SIZE) {
		free(o.p);
		errno = EFBIG;
		return (-1);
	}
	*buf = o.p;
	*len = o.len;
	return (0);

invalid:
	errno = EINVAL;
	return (-1);
}

/*
 * Reading.
 */

static void
env_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

static int
rd_peek(struct env_reader *r)
{
	const char	*nl;
	size_t		 n;

	if (r->have)
		return (1);
	if (r->pos >= r->len)
		return (0);
	r->line = r->buf + r->pos;
	n = r->len - r->pos;
	if ((nl = memchr(r->line, '\n', n)) != NULL) {
		r->linelen = (size_t)(nl - r->line);
		r->pos += r->linelen + 1;
	} else {
		r->linelen = n;
		r->pos = r->len;
	}
	if (r->linelen > 0 && r->line[r->linelen - 1] == '\r')
		r->linelen--;
	r->lineno++;
	r->have = 1;
	return (1);
}

static void
rd_next(struct env_reader *r)
{
	r->have = 0;
}

/*
 * Split "X-MailRelay-<name>:<value>" into name and value, the value without
 * surrounding spaces and tabs.  Returns -1 if the line has another shape.
 */
static int
field_split(const char *line, size_t len, const char **name,
    size_t *namelen, const char **val, size_t *vallen)
{
	const char	*colon;
	size_t		 vs, ve;

	if (len <= ENV_PREFIXLEN ||
	    memcmp(line, ENV_PREFIX, ENV_PREFIXLEN) != 0)
		return (-1);
	if ((colon = memchr(line, ':', len)) == NULL ||
	    colon == line + ENV_PREFIXLEN)
		return (-1);
	*name = line + ENV_PREFIXLEN;
	*namelen = (size_t)(colon - *name);
	vs = (size_t)(colon - line) + 1;
	ve = len;
	while (vs < ve && (line[vs] == ' ' || line[vs] == '\t'))
		vs++;
	while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
		ve--;
	*val = line + vs;
	*vallen = ve - vs;
	return (0);
}

/* Index of a field name, or -1. */
static int
field_lookup(const char *name, size_t namelen)
{
	int	 i;

	for (i = 0; i < F_COUNT; i++)
		if (strlen(env_fields[i].name) == namelen &&
		    memcmp(env_fields[i].name, name, namelen) == 0)
			return (i);
	return (-1);
}

/* Copy a value into a field array; -1 if it does not fit. */
static int
field_copy(char *dst, const char *val, size_t vallen)
{
	if (vallen >= ENVELOPE_FIELD_MAX)
		return (-1);
	memcpy(dst, val, vallen);
	dst[vallen] = '\0';
	return (0);
}

static int
all_digits(const char *p, size_t n)
{
	size_t	 i;

	if (n == 0)
		return (0);
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return (0);
	return (1);
}

/*
 * Drop a port from Client as older formats wrote it: "1.2.3.4:25",
 * "[::1]:25" or "::1.25".  A plain IP address is left alone.
 */
static void
client_strip_port(char *s)
{
	unsigned char	 a[sizeof(struct in6_addr)];
	char		 tmp[ENVELOPE_FIELD_MAX];
	char		*sep, *close;

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return;
	if (strlcpy(tmp, s, sizeof(tmp)) >= sizeof(tmp))
		return;
	if (tmp[0] == '[' && (close = strstr(tmp, "]:")) != NULL &&
	    all_digits(close + 2, strlen(close + 2))) {
		*close = '\0';
		if (inet_pton(AF_INET6, tmp + 1, a) == 1)
			(void)strlcpy(s, tmp + 1, ENVELOPE_FIELD_MAX);
		return;
	}
	if ((sep = strrchr(tmp, ':')) != NULL &&
	    all_digits(sep + 1, strlen(sep + 1))) {
		*sep = '\0';
		if (inet_pton(AF_INET, tmp, a) == 1) {
			(void)strlcpy(s, tmp, ENVELOPE_FIELD_MAX);
			return;
		}
		*sep = ':';
	}
	if ((sep = strrchr(tmp, '.')) != NULL &&
	    all_digits(sep + 1, strlen(sep + 1))) {
		*sep = '\0';
		if (inet_pton(AF_INET6, tmp, a) == 1)
			(void)strlcpy(s, tmp, ENVELOPE_FIELD_MAX);
	}
}

static enum envelope_line_kind
line_classify(const char *line, size_t len)
{
	const char	*name, *val;
	size_t		 namelen, vallen, i;

	if (field_split(line, len, &name, &namelen, &val, &vallen) == -1)
		return (ENVELOPE_LINE_OTHER);
	for (i = 0; i < sizeof(env_linenames) / sizeof(env_linenames[0]);
	    i++)
		if (strlen(env_linenames[i].name) == namelen &&
		    memcmp(env_linenames[i].name, name, namelen) == 0)
			return (env_linenames[i].kind);
	return (ENVELOPE_LINE_OTHER);
}

/* Size, NUL and bare CR checks on the whole input. */
static int
env_check_input(const char *buf, size_t len, char *err, size_t errsz)
{
	const char	*p;
	size_t		 i;

	if (len > ENVELOPE_MAX_SIZE) {
		env_err(err, errsz, "envelope too large (%zu bytes)", len);
		return (-1);
	}
	if (memchr(buf, '\0', len) != NULL) {
		env_err(err, errsz, "NUL byte in envelope");
		return (-1);
	}
	p = buf;
	while ((p = memchr(p, '\r', len - (size_t)(p - buf))) != NULL) {
		i = (size_t)(p - buf);
		if (i + 1 < len && buf[i + 1] != '\n') {
			env_err(err, errsz, "bare CR in envelope");
			return (-1);
		}
		p++;
	}
	return (0);
}

static int
env_read_format(struct env_reader *r, int *format, char *err, size_t errsz)
{
	const char	*name, *val;
	size_t		 namelen, vallen;

	if (!rd_peek(r)) {
		env_err(err, errsz, "empty envelope");
		return (-1);
	}
	if (field_split(r->line, r->linelen, &name, &namelen, &val,
	    &vallen) == -1 || field_lookup(name, namelen) != F_FORMAT) {
		env_err(err, errsz, "line 1: not an envelope (expected "
		    ENV_PREFIX "Format)");
		return (-1);
	}
	if (vallen != 7 || memcmp(val, "#2821.", 6) != 0 ||
	    val[6] < '0' + ENVELOPE_FORMAT_MIN ||
	    val[6] > '0' + ENVELOPE_FORMAT) {
		env_err(err, errsz, "line 1: unknown envelope format");
		return (-1);
	}
	*format = val[6] - '0';
	rd_next(r);
	return (0);
}

static int
rcpt_append(char ***list, size_t *n, const char *val, size_t vallen)
{
	char	**nl;
	char	 *s;

	if ((s = strndup(val, vallen)) == NULL)
		return (-1);
	/* Grow in powers of two. */
	if ((*n & (*n - 1)) == 0) {
		nl = reallocarray(*list, *n == 0 ? 1 : *n * 2, sizeof(**list));
		if (nl == NULL) {
			free(s);
			return (-1);
		}
		*list = nl;
	}
	(*list)[(*n)++] = s;
	return (0);
}

/* ToCount's value is in val; read that many To-Local/To-Remote lines. */
static int
env_read_to(struct env_reader *r, struct envelope *env, const char *val,
    size_t vallen, char *err, size_t errsz)
{
	const char	*name, *v;
	size_t		 namelen, vlen, count, i;
	int		 f;

	if (!all_digits(val, vallen) || vallen > 9) {
		env_err(err, errsz, "line %zu: bad ToCount", r->lineno);
		return (-1);
	}
	count = 0;
	for (i = 0; i < vallen; i++)
		count = count * 10 + (size_t)(val[i] - '0');
	if (count > BOUNDS_RCPT) {
		env_err(err, errsz, "line %zu: too many recipients",
		    r->lineno);
		return (-1);
	}
	rd_next(r);
	for (i = 0; i < count; i++) {
		if (!rd_peek(r) || field_split(r->line, r->linelen, &name,
		    &namelen, &v, &vlen) == -1 ||
		    ((f = field_lookup(name, namelen)) != F_TOLOCAL &&
		    f != F_TOREMOTE)) {
			env_err(err, errsz, "line %zu: expected " ENV_PREFIX
			    "To-Local or To-Remote (ToCount %zu)",
			    r->lineno, count);
			return (-1);
		}
		if (vlen >= ENVELOPE_FIELD_MAX) {
			env_err(err, errsz, "line %zu: recipient too long",
			    r->lineno);
			return (-1);
		}
		if ((f == F_TOLOCAL ? rcpt_append(&env->to_local,
		    &env->nto_local, v, vlen) : rcpt_append(&env->to_remote,
		    &env->nto_remote, v, vlen)) == -1) {
			env_err(err, errsz, "out of memory");
			return (-1);
		}
		rd_next(r);
	}
	return (0);
}

/* ClientCertificate: the first line's value, then lines with a space. */
static int
env_read_cert(struct env_reader *r, struct envelope *env, const char *val,
    size_t vallen, char *err, size_t errsz)
{
	struct env_out	 o;

	memset(&o, 0, sizeof(o));
	out_add(&o, val, vallen);
	rd_next(r);
	while (rd_peek(r) && r->linelen > 0 && r->line[0] == ' ') {
		out_str(&o, "\n");
		out_add(&o, r->line + 1, r->linelen - 1);
		if (o.len > ENVELOPE_CERT_MAX) {
			free(o.p);
			env_err(err, errsz, "line %zu: client certificate "
			    "too large", r->lineno);
			return (-1);
		}
		rd_next(r);
	}
	if (o.failed) {
		free(o.p);
		env_err(err, errsz, "out of memory");
		return (-1);
	}
	if (o.len == 0) {
		free(o.p);
		env->client_cert = NULL;
	} else
		env->client_cert = o.p;
	return (0);
}

/* Store the value of a simple field. */
static int
env_store(struct envelope *env, int f, const char *val, size_t vallen)
{
	char	*dst;

	switch (f) {
	case F_CONTENT:
		if (vallen == 4 && strncasecmp(val, "7bit", 4) == 0)
			env->body = ENVELOPE_BODY_7BIT;
		else if (vallen == 4 && strncasecmp(val, "8bit", 4) == 0)
			env->body = ENVELOPE_BODY_8BIT;
		else if (vallen == 10 &&
		    strncasecmp(val, "binarymime", 10) == 0)
			env->body = ENVELOPE_BODY_BINARYMIME;
		else
			env->body = ENVELOPE_BODY_UNKNOWN;
		return (0);
	case F_UTF8:
		env->utf8 = (vallen == 1 && val[0] == '1');
		return (0);
	case F_CLIENTNAME:
	case F_END:
		return (0);
	case F_FROM:
		dst = env->from;
		break;
	case F_AUTH:
		dst = env->auth;
		break;
	case F_CLIENT:
		if (field_copy(env->client, val, vallen) == -1)
			return (-1);
		client_strip_port(env->client);
		return (0);
	case F_AUTHIN:
		dst = env->auth_in;
		break;
	case F_AUTHOUT:
		dst = env->auth_out;
		break;
	case F_FWDTO:
		dst = env->forward_to;
		break;
	case F_FWDADDR:
		dst = env->forward_to_address;
		break;
	case F_SELECTOR:
		dst = env->selector;
		break;
	default:
		return (-1);
	}
	return (field_copy(dst, val, vallen));
}

/* Everything after End, kept verbatim. */
static int
env_read_free(struct env_reader *r, struct envelope *env, char *err,
    size_t errsz)
{
	while (rd_peek(r)) {
		if (env->nlines >= ENVELOPE_FREE_MAX) {
			env_err(err, errsz, "line %zu: too many lines after "
			    "End", r->lineno);
			return (-1);
		}
		if (lines_insert(env, env->nlines,
		    line_classify(r->line, r->linelen), r->line,
		    r->linelen) == -1) {
			env_err(err, errsz, "out of memory");
			return (-1);
		}
		rd_next(r);
	}
	return (0);
}

int
envelope_read(const char *buf, size_t len, struct envelope *env, char *err,
    size_t errsz)
{
	struct env_reader	 r;
	const char		*name, *val;
	size_t			 namelen, vallen;
	int			 format, f, idx;

	envelope_free(env);
	env_err(err, errsz, "no error");
	if (buf == NULL || len == 0) {
		env_err(err, errsz, "empty envelope");
		return (-1);
	}
	if (env_check_input(buf, len, err, errsz) == -1)
		return (-1);
	memset(&r, 0, sizeof(r));
	r.buf = buf;
	r.len = len;
	if (env_read_format(&r, &format, err, errsz) == -1)
		goto fail;
	env->format = format;

	for (idx = F_CONTENT; idx <= F_END; idx++) {
		if (idx == F_TOLOCAL || idx == F_TOREMOTE ||
		    format > env_fields[idx].allow_to)
			continue;
		if (!rd_peek(&r)) {
			if (idx == F_END)
				env_err(err, errsz, "no " ENV_PREFIX
				    "End line");
			else
				env_err(err, errsz, "missing " ENV_PREFIX
				    "%s (no End line)",
				    env_fields[idx].name);
			goto fail;
		}
		f = -1;
		if (field_split(r.line, r.linelen, &name, &namelen, &val,
		    &vallen) == 0)
			f = field_lookup(name, namelen);
		if (f != idx) {
			/* Absent optional field of an older format. */
			if (format < env_fields[idx].req_from)
				continue;
			if (f == -1)
				env_err(err, errsz, "line %zu: unexpected "
				    "line, expected " ENV_PREFIX "%s",
				    r.lineno, env_fields[idx].name);
			else if (f < idx)
				env_err(err, errsz, "line %zu: " ENV_PREFIX
				    "%s out of order", r.lineno,
				    env_fields[f].name);
			else
				env_err(err, errsz, "line %zu: missing "
				    ENV_PREFIX "%s", r.lineno,
				    env_fields[idx].name);
			goto fail;
		}
		if (idx == F_TOCOUNT) {
			if (env_read_to(&r, env, val, vallen, err,
			    errsz) == -1)
				goto fail;
			continue;
		}
		if (idx == F_CERT) {
			if (env_read_cert(&r, env, val, vallen, err,
			    errsz) == -1)
				goto fail;
			continue;
		}
		if (env_store(env, idx, val, vallen) == -1) {
			env_err(err, errsz, "line %zu: " ENV_PREFIX
			    "%s too long", r.lineno, env_fields[idx].name);
			goto fail;
		}
		rd_next(&r);
	}
	if (env_read_free(&r, env, err, errsz) == -1)
		goto fail;
	return (0);

fail:
	envelope_free(env);
	return (-1);
}

/*
 * Recipients and fields.
 */

int
envelope_add_rcpt(struct envelope *env, int local, const char *addr)
{
	if (env->nto_local + env->nto_remote >= BOUNDS_RCPT) {
		errno = E2BIG;
		return (-1);
	}
	if (!value_ok(addr)) {
		errno = EINVAL;
		return (-1);
	}
	if ((local ? rcpt_append(&env->to_local, &env->nto_local, addr,
	    strlen(addr)) : rcpt_append(&env->to_remote, &env->nto_remote,
	    addr, strlen(addr))) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

int
envelope_remove_rcpt(struct envelope *env, int local, size_t i)
{
	char	**list = local ? env->to_local : env->to_remote;
	size_t	 *n = local ? &env->nto_local : &env->nto_remote;

	if (i >= *n)
		return (-1);
	free(list[i]);
	memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(*list));
	(*n)--;
	if (*n == 0) {
		free(list);
		if (local)
			env->to_local = NULL;
		else
			env->to_remote = NULL;
	}
	return (0);
}

void
envelope_clear_rcpts(struct envelope *env, int local)
{
	while (local ? env->nto_local > 0 : env->nto_remote > 0)
		(void)envelope_remove_rcpt(env, local,
		    (local ? env->nto_local : env->nto_remote) - 1);
}

/* No control characters and short enough for a field. */
static int
value_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return (0);
		if (i + 1 >= ENVELOPE_FIELD_MAX)
			return (0);
	}
	return (1);
}

static int
set_field(char *dst, const char *value)
{
	if (value == NULL)
		value = "";
	if (!value_ok(value)) {
		errno = EINVAL;
		return (-1);
	}
	(void)strlcpy(dst, value, ENVELOPE_FIELD_MAX);
	return (0);
}

int
envelope_set_from(struct envelope *env, const char *value)
{
	return (set_field(env->from, value));
}

int
envelope_set_client(struct envelope *env, const char *value)
{
	return (set_field(env->client, value));
}

int
envelope_set_auth_in(struct envelope *env, const char *xtext)
{
	return (set_field(env->auth_in, xtext));
}

int
envelope_set_auth_out(struct envelope *env, const char *xtext)
{
	return (set_field(env->auth_out, xtext));
}

int
envelope_set_forward_to(struct envelope *env, const char *value)
{
	return (set_field(env->forward_to, value));
}

int
envelope_set_forward_to_address(struct envelope *env, const char *value)
{
	return (set_field(env->forward_to_address, value));
}

int
envelope_set_selector(struct envelope *env, const char *value)
{
	return (set_field(env->selector, value));
}

int
envelope_set_auth(struct envelope *env, const char *id)
{
	char	 tmp[ENVELOPE_FIELD_MAX];

	if (id == NULL)
		id = "";
	if (xtext_encode(id, strlen(id), tmp, sizeof(tmp)) == -1) {
		errno = EINVAL;
		return (-1);
	}
	(void)strlcpy(env->auth, tmp, sizeof(env->auth));
	return (0);
}

int
envelope_set_client_cert(struct envelope *env, const char *pem)
{
	size_t		 i, n, len, start, end;
	char		*s;
	unsigned char	 c;

	if (pem == NULL)
		pem = "";
	len = strlen(pem);
	start = 0;
	end = len;
	while (start < end && strchr(" \t\r\n", pem[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\r\n", pem[end - 1]) != NULL)
		end--;
	if (end - start > ENVELOPE_CERT_MAX) {
		errno = EINVAL;
		return (-1);
	}
	for (i = start; i < end; i++) {
		c = (unsigned char)pem[i];
		if ((c < 0x20 && c != '\n' && c != '\r') || c == 0x7f) {
			errno = EINVAL;
			return (-1);
		}
	}
	if (start == end) {
		free(env->client_cert);
		env->client_cert = NULL;
		return (0);
	}
	if ((s = malloc(end - start + 1)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	for (i = start, n = 0; i < end; i++)
		if (pem[i] != '\r')
			s[n++] = pem[i];
	s[n] = '\0';
	free(env->client_cert);
	env->client_cert = s;
	return (0);
}

/*
 * Free lines.
 */

static int
lines_insert(struct envelope *env, size_t at, enum envelope_line_kind kind,
    const char *text, size_t len)
{
	struct envelope_line	*nl;
	char			*s;

	if ((s = strndup(text, len)) == NULL)
		return (-1);
	if ((env->nlines & (env->nlines - 1)) == 0) {
		nl = reallocarray(env->lines,
		    env->nlines == 0 ? 1 : env->nlines * 2, sizeof(*nl));
		if (nl == NULL) {
			free(s);
			return (-1);
		}
		env->lines = nl;
	}
	memmove(&env->lines[at + 1], &env->lines[at],
	    (env->nlines - at) * sizeof(*env->lines));
	env->lines[at].kind = kind;
	env->lines[at].text = s;
	env->nlines++;
	return (0);
}

static void
lines_remove(struct envelope *env, size_t at)
{
	free(env->lines[at].text);
	memmove(&env->lines[at], &env->lines[at + 1],
	    (env->nlines - at - 1) * sizeof(*env->lines));
	/* The capacity stays, which keeps lines_insert()'s growth rule. */
	env->nlines--;
	if (env->nlines == 0) {
		free(env->lines);
		env->lines = NULL;
	}
}

/*
 * Make room for need more free lines, dropping the oldest Reason pair when
 * the limit is reached.  Returns -1 with errno ENOSPC if impossible.
 */
static int
lines_make_room(struct envelope *env, size_t need)
{
	size_t	 i, j;

	while (env->nlines + need > ENVELOPE_FREE_MAX) {
		for (i = 0; i < env->nlines; i++)
			if (env->lines[i].kind == ENVELOPE_LINE_REASON)
				break;
		if (i == env->nlines) {
			errno = ENOSPC;
			return (-1);
		}
		for (j = i + 1; j < env->nlines; j++)
			if (env->lines[j].kind == ENVELOPE_LINE_REASONCODE)
				break;
		if (j < env->nlines)
			lines_remove(env, j);
		lines_remove(env, i);
	}
	return (0);
}

const char *
envelope_line_value(const struct envelope_line *line)
{
	const char	*p;

	if (line->kind == ENVELOPE_LINE_OTHER ||
	    (p = strchr(line->text, ':')) == NULL)
		return (line->text);
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	return (p);
}

/* Copy a free line's value without trailing blanks. */
static void
copy_value(char *dst, size_t dstsz, const char *v)
{
	size_t	 n;

	if (dst == NULL || dstsz == 0)
		return;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

size_t
envelope_reason_sanitize(const char *text, size_t len, char *out,
    size_t outsz)
{
	size_t		 i, o = 0, max;
	unsigned char	 c;
	int		 space = 0;

	if (outsz == 0)
		return (0);
	max = outsz - 1;
	if (max > ENVELOPE_REASON_MAX)
		max = ENVELOPE_REASON_MAX;
	for (i = 0; i < len; i++) {
		c = (unsigned char)text[i];
		if (c <= 0x20) {
			space = (o > 0);
			continue;
		}
		if (c >= 0x7f)
			c = '?';
		if (space) {
			if (o + 2 > max)
				break;
			out[o++] = ' ';
			space = 0;
		}
		if (o + 1 > max)
			break;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (o);
}

int
envelope_add_reason(struct envelope *env, const char *text, int code)
{
	char	 clean[ENVELOPE_REASON_MAX + 1];
	char	 line[ENVELOPE_REASON_MAX + 64];
	int	 n;

	if (text == NULL)
		text = "";
	(void)envelope_reason_sanitize(text, strlen(text), clean,
	    sizeof(clean));
	if (lines_make_room(env, 2) == -1)
		return (-1);
	n = snprintf(line, sizeof(line), ENV_PREFIX "Reason: %s", clean);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    lines_insert(env, env->nlines, ENVELOPE_LINE_REASON, line,
	    (size_t)n) == -1)
		goto nomem;
	if (code >= 1 && code <= 999)
		n = snprintf(line, sizeof(line), ENV_PREFIX "ReasonCode: %d",
		    code);
	else
		n = snprintf(line, sizeof(line), ENV_PREFIX "ReasonCode: ");
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    lines_insert(env, env->nlines, ENVELOPE_LINE_REASONCODE, line,
	    (size_t)n) == -1) {
		lines_remove(env, env->nlines - 1);
		goto nomem;
	}
	return (0);

nomem:
	errno = ENOMEM;
	return (-1);
}

int
envelope_reason(const struct envelope *env, char *text, size_t textsz,
    int *code)
{
	const char	*v;
	size_t		 i, r, n;
	int		 c;

	if (text != NULL && textsz > 0)
		text[0] = '\0';
	if (code != NULL)
		*code = 0;
	for (r = env->nlines; r > 0; r--)
		if (env->lines[r - 1].kind == ENVELOPE_LINE_REASON)
			break;
	if (r == 0)
		return (0);
	copy_value(text, textsz, envelope_line_value(&env->lines[r - 1]));
	for (i = r; i < env->nlines; i++) {
		if (env->lines[i].kind == ENVELOPE_LINE_REASON)
			break;
		if (env->lines[i].kind != ENVELOPE_LINE_REASONCODE)
			continue;
		v = envelope_line_value(&env->lines[i]);
		for (n = 0, c = 0; n < 3 && v[n] >= '0' && v[n] <= '9'; n++)
			c = c * 10 + (v[n] - '0');
		if (n > 0 && (v[n] == '\0' || v[n] == ' ' || v[n] == '\t') &&
		    code != NULL)
			*code = c;
		break;
	}
	return (1);
}

int
envelope_retry_get(const struct envelope *env)
{
	const char	*v, *errstr;
	char		 tmp[16];
	size_t		 i;
	long long	 k;

	for (i = env->nlines; i > 0; i--) {
		if (env->lines[i - 1].kind != ENVELOPE_LINE_RETRY)
			continue;
		v = envelope_line_value(&env->lines[i - 1]);
		copy_value(tmp, sizeof(tmp), v);
		if (!all_digits(tmp, strlen(tmp)))
			return (0);
		k = strtonum(tmp, 0, INT_MAX, &errstr);
		return (errstr == NULL ? (int)k : 0);
	}
	return (0);
}

int
envelope_retry_set(struct envelope *env, int k)
{
	char	 line[64], *s;
	size_t	 i;
	int	 n;

	if (k < 0) {
		errno = EINVAL;
		return (-1);
	}
	n = snprintf(line, sizeof(line), ENV_PREFIX "Retry: %d", k);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		errno = EINVAL;
		return (-1);
	}
	for (i = env->nlines; i > 0; i--) {
		if (env->lines[i - 1].kind != ENVELOPE_LINE_RETRY)
			continue;
		if ((s = strdup(line)) == NULL) {
			errno = ENOMEM;
			return (-1);
		}
		free(env->lines[i - 1].text);
		env->lines[i - 1].text = s;
		return (0);
	}
	if (lines_make_room(env, 1) == -1)
		return (-1);
	if (lines_insert(env, env->nlines, ENVELOPE_LINE_RETRY, line,
	    (size_t)n) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

int
envelope_retry_due(const struct envelope *env, int limit)
{
	char	 text[ENVELOPE_REASON_MAX + 1];
	int	 code;

	if (envelope_retry_get(env) >= limit)
		return (0);
	if (envelope_reason(env, text, sizeof(text), &code) == 0)
		return (1);
	if (code >= 500 && code <= 599)
		return (0);
	return (strcmp(text, "no remote recipients") != 0);
}

int
envelope_set_split(struct envelope *env, unsigned int count,
    const char *group)
{
	char	 l1[64], l2[ENVELOPE_FIELD_MAX + 64];
	size_t	 i;
	int	 n1, n2;

	if (group == NULL)
		group = "";
	if (!value_ok(group)) {
		errno = EINVAL;
		return (-1);
	}
	n1 = snprintf(l1, sizeof(l1), ENV_PREFIX "SplitGroupCount: %u",
	    count);
	n2 = snprintf(l2, sizeof(l2), ENV_PREFIX "SplitGroup: %s", group);
	if (n1 < 0 || (size_t)n1 >= sizeof(l1) || n2 < 0 ||
	    (size_t)n2 >= sizeof(l2)) {
		errno = EINVAL;
		return (-1);
	}
	for (i = env->nlines; i > 0; i--)
		if (env->lines[i - 1].kind == ENVELOPE_LINE_SPLITGROUPCOUNT ||
		    env->lines[i - 1].kind == ENVELOPE_LINE_SPLITGROUP)
			lines_remove(env, i - 1);
	if (lines_make_room(env, 2) == -1)
		return (-1);
	if (lines_insert(env, env->nlines, ENVELOPE_LINE_SPLITGROUPCOUNT, l1,
	    (size_t)n1) == -1)
		goto nomem;
	if (lines_insert(env, env->nlines, ENVELOPE_LINE_SPLITGROUP, l2,
	    (size_t)n2) == -1) {
		lines_remove(env, env->nlines - 1);
		goto nomem;
	}
	return (0);

nomem:
	errno = ENOMEM;
	return (-1);
}

int
envelope_split(const struct envelope *env, unsigned int *count, char *group,
    size_t groupsz)
{
	const char	*errstr;
	char		 tmp[16];
	size_t		 i;
	int		 found = 0;

	if (count != NULL)
		*count = 0;
	if (group != NULL && groupsz > 0)
		group[0] = '\0';
	for (i = 0; i < env->nlines; i++) {
		if (env->lines[i].kind == ENVELOPE_LINE_SPLITGROUPCOUNT &&
		    count != NULL) {
			copy_value(tmp, sizeof(tmp),
			    envelope_line_value(&env->lines[i]));
			*count = all_digits(tmp, strlen(tmp)) ?
			    (unsigned int)strtonum(tmp, 0, UINT_MAX, &errstr) :
			    0;
		} else if (env->lines[i].kind == ENVELOPE_LINE_SPLITGROUP) {
			copy_value(group, groupsz,
			    envelope_line_value(&env->lines[i]));
			found = 1;
		}
	}
	return (found);
}
