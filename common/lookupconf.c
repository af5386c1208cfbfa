/*
 * Parsers of the lookup built-ins' configuration values (lookupconf.h),
 * shared by the option checks and the lookup process.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netaddr.h"
#include "lookupconf.h"

#define DNSBL_FIELDS_MAX	(DNSBL_ZONES_MAX + 3)
#define DNSBL_FIELD_MAX		256	/* longest field, with its NUL */

static void	 dns_sockaddr(struct sockaddr_storage *, int, const void *,
		    unsigned int);
static int	 dnsbl_fields(const char *, char (*)[DNSBL_FIELD_MAX],
		    size_t *, const char **);
static int	 dnsbl_is_number(const char *);
static int	 dnsbl_number(const char *, long long, long long,
		    long long *);
static int	 dnsbl_is_server(const char *);
static int	 dnsbl_zone_add(const char *, struct dnsbl_conf *,
		    const char **);
static int	 dnsbl_threshold(const char *, struct dnsbl_conf *,
		    const char **);
static int	 dnsbl_timeout(const char *, struct dnsbl_conf *,
		    const char **);
static int	 dnsbl_server(const char *, struct dnsbl_conf *,
		    const char **);
static int	 mx_seconds(const char *, int *);
static int	 ac_item(const char **, const char **, size_t *);
static int	 ac_uid(const char *, size_t, uid_t *);
static int	 ac_range(const char *, size_t, struct account_conf *);

int
dns_parse_server(const char *s, struct sockaddr_storage *out,
    const char **errstr)
{
	struct hostport		 hp;
	struct in_addr		 a4;
	struct in6_addr		 a6;
	const char		*host = s, *e;
	unsigned int		 port = 53;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0') {
		*errstr = "empty DNS server address";
		return (-1);
	}
	if (inet_pton(AF_INET, s, &a4) != 1 &&
	    inet_pton(AF_INET6, s, &a6) != 1) {
		if (netaddr_parse_hostport(s, 0, &hp, &e) == -1 ||
		    hp.is_unix) {
			*errstr = "invalid DNS server address "
			    "(<ip>, <ip>:<port> or [<ipv6>]:<port>)";
			return (-1);
		}
		host = hp.host;
		port = hp.port;
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		dns_sockaddr(out, AF_INET, &a4, port);
	else if (inet_pton(AF_INET6, host, &a6) == 1)
		dns_sockaddr(out, AF_INET6, &a6, port);
	else {
		*errstr = "the DNS server must be an IP address";
		return (-1);
	}
	return (0);
}

/* Fill ss with an address of family af (4 or 16 bytes at a) and port. */
static void
dns_sockaddr(struct sockaddr_storage *ss, int af, const void *a,
    unsigned int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, sizeof(sin->sin_addr));
		sin->sin_port = htons((uint16_t)port);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, sizeof(sin6->sin6_addr));
		sin6->sin6_port = htons((uint16_t)port);
	}
}

int
dns_valid_domain(const char *s, size_t len)
{
	size_t	 i, start = 0;
	int	 digits = 1;

	if (len == 0 || len > 253 || !netaddr_valid_hostname(s, len) ||
	    s[len - 1] == '.')
		return (0);
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (s[i] < '0' || s[i] > '9')
				digits = 0;
			continue;
		}
		if (s[start] == '-' || s[i - 1] == '-')
			return (0);
		if (i == len && digits)
			return (0);
		start = i + 1;
		digits = 1;
	}
	return (1);
}

/*
 * Split value at commas into out[0..*n-1], blanks around each field
 * trimmed.  Returns 0, or -1 with *errstr set.
 */
static int
dnsbl_fields(const char *value, char (*out)[DNSBL_FIELD_MAX], size_t *n,
    const char **errstr)
{
	const char	*p = value, *e, *end;
	size_t		 len;

	*n = 0;
	for (;;) {
		end = p + strcspn(p, ",");
		e = end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		len = (size_t)(e - p);
		if (len == 0) {
			*errstr = "empty field";
			return (-1);
		}
		if (len >= DNSBL_FIELD_MAX) {
			*errstr = "field too long";
			return (-1);
		}
		if (*n == DNSBL_FIELDS_MAX) {
			*errstr = "too many fields";
			return (-1);
		}
		memcpy(out[*n], p, len);
		out[*n][len] = '\0';
		(*n)++;
		if (*end == '\0')
			return (0);
		p = end + 1;
	}
}

/* An optional minus sign and 1 to 10 digits. */
static int
dnsbl_is_number(const char *s)
{
	size_t	 i;

	if (*s == '-')
		s++;
	for (i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]))
			return (0);
	return (i > 0 && i <= 10);
}

static int
dnsbl_number(const char *s, long long min, long long max, long long *v)
{
	const char	*e;

	if (!dnsbl_is_number(s))
		return (-1);
	*v = strtonum(s, min, max, &e);
	return (e == NULL ? 0 : -1);
}

static int
dnsbl_is_server(const char *s)
{
	struct sockaddr_storage	 ss;
	const char		*e;

	return (dns_parse_server(s, &ss, &e) == 0);
}

static int
dnsbl_zone_add(const char *s, struct dnsbl_conf *out, const char **errstr)
{
	size_t	 len, i;

	len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (!dns_valid_domain(s, len)) {
		*errstr = "invalid DNSBL zone (a domain name)";
		return (-1);
	}
	if (len >= DNSBL_ZONE_MAX) {
		*errstr = "DNSBL zone too long";
		return (-1);
	}
	if (out->nzones == DNSBL_ZONES_MAX) {
		*errstr = "too many DNSBL zones";
		return (-1);
	}
	for (i = 0; i < out->nzones; i++)
		if (strncasecmp(out->zones[i], s, len) == 0 &&
		    out->zones[i][len] == '\0') {
			*errstr = "duplicate DNSBL zone";
			return (-1);
		}
	memcpy(out->zones[out->nzones], s, len);
	out->zones[out->nzones][len] = '\0';
	out->nzones++;
	return (0);
}

static int
dnsbl_threshold(const char *s, struct dnsbl_conf *out, const char **errstr)
{
	long long	 v;

	if (*s == '-' || dnsbl_number(s, 0, DNSBL_THRESHOLD_MAX, &v) == -1) {
		*errstr = "invalid DNSBL threshold (0 to 1000)";
		return (-1);
	}
	out->threshold = (int)v;
	return (0);
}

static int
dnsbl_timeout(const char *s, struct dnsbl_conf *out, const char **errstr)
{
	long long	 v;

	if (dnsbl_number(s, -DNS_TIMEOUT_MAX, DNS_TIMEOUT_MAX, &v) == -1 ||
	    v == 0) {
		*errstr = "invalid DNSBL timeout (milliseconds, not 0, "
		    "negative to refuse on timeout)";
		return (-1);
	}
	out->timeout_ms = (int)v;
	return (0);
}

static int
dnsbl_server(const char *s, struct dnsbl_conf *out, const char **errstr)
{
	struct sockaddr_storage	 ss;

	if (dns_parse_server(s, &ss, errstr) == -1)
		return (-1);
	if (strlcpy(out->server, s, sizeof(out->server)) >=
	    sizeof(out->server)) {
		*errstr = "DNS server address too long";
		return (-1);
	}
	return (0);
}

int
dnsbl_conf_parse(const char *value, struct dnsbl_conf *out,
    const char **errstr)
{
	char	 f[DNSBL_FIELDS_MAX][DNSBL_FIELD_MAX];
	size_t	 nf, i;

	memset(out, 0, sizeof(*out));
	out->threshold = DNSBL_THRESHOLD_DEFAULT;
	out->timeout_ms = DNSBL_TIMEOUT_DEFAULT;
	if (value == NULL || *value == '\0') {
		*errstr = "no DNSBL zone";
		return (-1);
	}
	if (dnsbl_fields(value, f, &nf, errstr) == -1)
		return (-1);
	if (dnsbl_is_server(f[0])) {
		/* dns-server,timeout-ms,threshold,zone... */
		out->legacy = 1;
		if (nf < 4) {
			*errstr = "no DNSBL zone (legacy order: "
			    "dns-server,timeout-ms,threshold,zone...)";
			return (-1);
		}
		if (dnsbl_server(f[0], out, errstr) == -1 ||
		    dnsbl_timeout(f[1], out, errstr) == -1 ||
		    dnsbl_threshold(f[2], out, errstr) == -1)
			return (-1);
		for (i = 3; i < nf; i++)
			if (dnsbl_zone_add(f[i], out, errstr) == -1)
				return (-1);
		return (0);
	}
	/* zone...[,threshold[,timeout-ms[,dns-server]]] */
	for (i = 0; i < nf; i++) {
		if (dnsbl_is_number(f[i]) || dnsbl_is_server(f[i]))
			break;
		if (dnsbl_zone_add(f[i], out, errstr) == -1)
			return (-1);
	}
	if (out->nzones == 0) {
		*errstr = "no DNSBL zone";
		return (-1);
	}
	if (i < nf && dnsbl_threshold(f[i++], out, errstr) == -1)
		return (-1);
	if (i < nf && dnsbl_timeout(f[i++], out, errstr) == -1)
		return (-1);
	if (i < nf && dnsbl_server(f[i++], out, errstr) == -1)
		return (-1);
	if (i < nf) {
		*errstr = "too many fields after the DNSBL zones";
		return (-1);
	}
	return (0);
}

const char *
dnsbl_conf_check(const char *value)
{
	struct dnsbl_conf	 conf;
	const char		*e;

	if (dnsbl_conf_parse(value, &conf, &e) == -1)
		return (e);
	return (NULL);
}

/* Seconds for nst= and rt=: 1 to MX_TIMEOUT_MAX, s/m/h suffixes. */
static int
mx_seconds(const char *s, int *out)
{
	long long	 v;

	if ((v = netaddr_parse_period(s)) < 1 || v > MX_TIMEOUT_MAX)
		return (-1);
	*out = (int)v;
	return (0);
}

int
mx_parse_options(const char *opts, struct mx_conf *out,
    const char **errstr)
{
	struct sockaddr_storage	 ss;
	char			 item[DNS_NAME_MAX];
	const char		*p, *end, *e;
	size_t			 len;
	int			 have_nst = 0, have_rt = 0;

	memset(out, 0, sizeof(*out));
	out->nst = MX_NST_DEFAULT;
	out->rt = MX_RT_DEFAULT;
	if (opts == NULL || *opts == '\0')
		return (0);
	for (p = opts;; p = end + 1) {
		end = p + strcspn(p, ";");
		len = (size_t)(end - p);
		if (len == 0) {
			*errstr = "empty mx: option";
			return (-1);
		}
		if (len >= sizeof(item)) {
			*errstr = "mx: option too long";
			return (-1);
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (strncmp(item, "nst=", 4) == 0) {
			if (have_nst++) {
				*errstr = "mx: nst= given twice";
				return (-1);
			}
			if (mx_seconds(item + 4, &out->nst) == -1) {
				*errstr = "invalid mx: nst= (name-server "
				    "timeout in seconds, 1 to 3600)";
				return (-1);
			}
		} else if (strncmp(item, "rt=", 3) == 0) {
			if (have_rt++) {
				*errstr = "mx: rt= given twice";
				return (-1);
			}
			if (mx_seconds(item + 3, &out->rt) == -1) {
				*errstr = "invalid mx: rt= (routing timeout in"
				    " seconds, 1 to 3600)";
				return (-1);
			}
		} else {
			if (strchr(item, '=') != NULL) {
				*errstr = "unknown mx: option (nst=<s>, rt=<s>"
				    " or a DNS server address)";
				return (-1);
			}
			if (dns_parse_server(item, &ss, &e) == -1) {
				*errstr = e;
				return (-1);
			}
			if (out->server[0] != '\0') {
				*errstr = "mx: DNS server given twice";
				return (-1);
			}
			if (strlcpy(out->server, item, sizeof(out->server)) >=
			    sizeof(out->server)) {
				*errstr = "mx: DNS server address too long";
				return (-1);
			}
		}
		if (*end == '\0')
			break;
	}
	return (0);
}

int
account_parse(const char *opts, struct account_conf *c, char *err,
    size_t errsz)
{
	const char	*w;
	size_t		 len;
	int		 range = 0, check = 0, remote = 0;

	memset(c, 0, sizeof(*c));
	c->uid_lo = ACCOUNT_UID_LO;
	c->uid_hi = ACCOUNT_UID_HI;
	c->mode = ACCOUNT_LOCAL;
	if (errsz > 0)
		err[0] = '\0';
	while (ac_item(&opts, &w, &len)) {
		if (len == 0)
			continue;
		if (len == 9 && strncmp(w, "lowercase", 9) == 0)
			c->lowercase = 1;
		else if (len == 5 && strncmp(w, "check", 5) == 0)
			check = 1;
		else if (len == 6 && strncmp(w, "remote", 6) == 0)
			remote = 1;
		else if (memchr(w, '-', len) == NULL) {
			(void)snprintf(err, errsz, "unknown account: option "
			    "\"%.*s\" (lowercase, check, remote or a uid "
			    "range)", (int)(len > 64 ? 64 : len), w);
			return (-1);
		} else if (range) {
			(void)snprintf(err, errsz, "account: uid range given "
			    "twice");
			return (-1);
		} else if (ac_range(w, len, c) == -1) {
			(void)snprintf(err, errsz, "invalid account: uid range "
			    "\"%.*s\" (<lo>-<hi>, lo not above hi)",
			    (int)(len > 64 ? 64 : len), w);
			return (-1);
		} else
			range = 1;
	}
	if (check && remote) {
		(void)snprintf(err, errsz, "account: check and remote "
		    "cannot be combined");
		return (-1);
	}
	c->mode = check ? ACCOUNT_CHECK : remote ? ACCOUNT_REMOTE :
	    ACCOUNT_LOCAL;
	return (0);
}

/*
 * The next item of a ';' or ',' separated list at *pp, blanks around it
 * removed.  Returns 0 at the end.
 */
static int
ac_item(const char **pp, const char **item, size_t *len)
{
	const char	*p = *pp, *e;

	if (p == NULL)
		return (0);
	e = p + strcspn(p, ";,");
	*pp = *e == '\0' ? NULL : e + 1;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*item = p;
	*len = (size_t)(e - p);
	return (1);
}

/* A uid: 1 to 10 decimal digits, at most UINT32_MAX. */
static int
ac_uid(const char *p, size_t len, uid_t *uid)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len > 10)
		return (-1);
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > UINT32_MAX)
		return (-1);
	*uid = (uid_t)v;
	return (0);
}

/* "<lo>-<hi>" into c. */
static int
ac_range(const char *w, size_t len, struct account_conf *c)
{
	const char	*dash;
	uid_t		 lo, hi;

	dash = memchr(w, '-', len);
	if (ac_uid(w, (size_t)(dash - w), &lo) == -1 ||
	    ac_uid(dash + 1, len - (size_t)(dash - w) - 1, &hi) == -1 ||
	    hi < lo)
		return (-1);
	c->uid_lo = lo;
	c->uid_hi = hi;
	return (0);
}
