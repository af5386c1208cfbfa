/*
 * Network addresses in option values (SPEC 2.4): --interface items,
 * host:port values, the local/remote address classes, log formatting of
 * socket addresses and --poll periods.  Pure parsers: nothing here
 * resolves a name or opens a socket.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

#define PERIOD_MAX	(365LL * 24 * 60 * 60)	/* one year */
#define FD_MAX		65535

static int	 parse_ipv6_scoped(const char *, size_t);
static int	 parse_ipv4(const char *, size_t);
static int	 valid_ifname(const char *, size_t);
static int	 looks_numeric(const char *, size_t);
static int	 parse_port(const char *, size_t, unsigned int *);
static int	 parse_hostport_plain(const char *, size_t, struct hostport *,
		    const char **);
static int	 ipv4_is_local(uint32_t);

/* Whether p[0..len-1] is a dotted-quad IPv4 address. */
static int
parse_ipv4(const char *p, size_t len)
{
	char		 buf[INET_ADDRSTRLEN];
	struct in_addr	 a;

	if (len == 0 || len >= sizeof(buf))
		return (0);
	memcpy(buf, p, len);
	buf[len] = '\0';
	return (inet_pton(AF_INET, buf, &a) == 1);
}

/* Whether p[0..len-1] is an IPv6 address with an optional %scope. */
static int
parse_ipv6_scoped(const char *p, size_t len)
{
	char		 buf[INET6_ADDRSTRLEN];
	struct in6_addr	 a;
	const char	*pct;
	size_t		 alen;

	pct = memchr(p, '%', len);
	alen = pct == NULL ? len : (size_t)(pct - p);
	if (alen == 0 || alen >= sizeof(buf))
		return (0);
	memcpy(buf, p, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return (0);
	if (pct != NULL && !valid_ifname(pct + 1, len - alen - 1))
		return (0);
	return (1);
}

/* An interface name: [a-zA-Z0-9_.:-], 1 to IFNAMSIZ-1 characters. */
static int
valid_ifname(const char *p, size_t len)
{
	size_t	 i;

	if (len == 0 || len >= IFNAMSIZ)
		return (0);
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)p[i]) && p[i] != '_' &&
		    p[i] != '.' && p[i] != ':' && p[i] != '-')
			return (0);
	}
	return (1);
}

/*
 * Whether a would-be name is really a malformed IP address or a bare
 * number: only digits and dots, or only hex digits, dots and colons with
 * a colon.
 */
static int
looks_numeric(const char *p, size_t len)
{
	size_t	 i;
	int	 colon = 0, decimal = 1;

	for (i = 0; i < len; i++) {
		if (p[i] == ':')
			colon = 1;
		else if (p[i] != '.' && !isxdigit((unsigned char)p[i]))
			return (0);
		if (p[i] != '.' && !isdigit((unsigned char)p[i]))
			decimal = 0;
	}
	return (decimal || colon);
}

/* A DNS host name: labels of [A-Za-z0-9_-] up to 63, 253 in all. */
int
netaddr_valid_hostname(const char *p, size_t len)
{
	size_t	 i, label = 0;

	if (len == 0 || len > 253)
		return (0);
	for (i = 0; i < len; i++) {
		if (p[i] == '.') {
			if (label == 0)
				return (0);
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' &&
		    p[i] != '_')
			return (0);
		if (++label > 63)
			return (0);
	}
	return (1);
}

int
netaddr_is_ip(const char *s)
{
	size_t	 len = strlen(s);

	if (parse_ipv4(s, len))
		return (1);
	return (strchr(s, ':') != NULL && parse_ipv6_scoped(s, len));
}

/* A decimal port 1..65535 in p[0..len-1]. */
static int
parse_port(const char *p, size_t len, unsigned int *port)
{
	unsigned int	 v = 0;
	size_t		 i;

	if (len == 0 || len > 5)
		return (-1);
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return (-1);
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return (-1);
	*port = v;
	return (0);
}

int
netaddr_parse_iface(const char *item, struct iface_item *out,
    const char **errstr)
{
	const char	*p = item;
	size_t		 len, n;
	int		 num;
	const char	*e;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (strncmp(p, "smtp=", 5) == 0) {
		out->kinds = LISTEN_SMTP;
		p += 5;
	} else if (strncmp(p, "pop=", 4) == 0) {
		out->kinds = LISTEN_POP;
		p += 4;
	} else if (strncmp(p, "admin=", 6) == 0) {
		out->kinds = LISTEN_ADMIN;
		p += 6;
	} else
		out->kinds = LISTEN_ALL;
	len = strlen(p);
	if (len == 0) {
		*errstr = "empty address";
		return (-1);
	}
	if (len >= sizeof(out->text)) {
		*errstr = "address too long";
		return (-1);
	}
	if (p[0] == '/') {
		out->type = IFACE_UNIX;
		memcpy(out->text, p, len + 1);
		return (0);
	}
	if (strncmp(p, "fd#", 3) == 0) {
		num = (int)strtonum(p + 3, 3, FD_MAX, &e);
		if (e != NULL || !isdigit((unsigned char)p[3])) {
			*errstr = "invalid file descriptor (fd#<n>, n >= 3)";
			return (-1);
		}
		out->type = IFACE_FD;
		out->fd = num;
		memcpy(out->text, p, len + 1);
		return (0);
	}
	if (parse_ipv4(p, len)) {
		out->type = IFACE_IPV4;
		out->family = AF_INET;
		memcpy(out->text, p, len + 1);
		return (0);
	}
	if (strchr(p, ':') != NULL && parse_ipv6_scoped(p, len)) {
		out->type = IFACE_IPV6;
		out->family = AF_INET6;
		memcpy(out->text, p, len + 1);
		return (0);
	}
	n = len;
	if (len > 5 && strcmp(p + len - 5, "-ipv4") == 0) {
		out->family = AF_INET;
		n = len - 5;
	} else if (len > 5 && strcmp(p + len - 5, "-ipv6") == 0) {
		out->family = AF_INET6;
		n = len - 5;
	}
	if (looks_numeric(p, n) || p[0] == ':') {
		*errstr = "invalid IP address";
		return (-1);
	}
	if (!valid_ifname(p, n) || p[0] == '-') {
		*errstr = "invalid interface name";
		return (-1);
	}
	out->type = IFACE_NAME;
	memcpy(out->text, p, n);
	out->text[n] = '\0';
	return (0);
}

int
netaddr_parse_iface_list(const char *list, struct iface_item *out,
    size_t max, size_t *n, const char **errstr)
{
	char		 item[256];
	const char	*p, *q, *end;
	size_t		 len;

	*n = 0;
	p = list;
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		q = end;
		while (p < q && (*p == ' ' || *p == '\t'))
			p++;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		len = (size_t)(q - p);
		if (len == 0) {
			*errstr = "empty address";
			return (-1);
		}
		if (len >= sizeof(item)) {
			*errstr = "address too long";
			return (-1);
		}
		if (*n == max) {
			*errstr = "too many addresses";
			return (-1);
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (netaddr_parse_iface(item, &out[*n], errstr) == -1)
			return (-1);
		(*n)++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return (0);
}

/* "host:port" or "[v6]:port" (no unix path, no SOCKS part). */
static int
parse_hostport_plain(const char *s, size_t len, struct hostport *out,
    const char **errstr)
{
	const char	*colon, *rb;
	size_t		 hlen;

	if (len == 0) {
		*errstr = "empty address";
		return (-1);
	}
	if (s[0] == '[') {
		rb = memchr(s, ']', len);
		if (rb == NULL || rb + 1 == s + len || rb[1] != ':') {
			*errstr = "invalid [<ipv6>]:<port>";
			return (-1);
		}
		hlen = (size_t)(rb - s - 1);
		if (!parse_ipv6_scoped(s + 1, hlen)) {
			*errstr = "invalid IPv6 address";
			return (-1);
		}
		if (parse_port(rb + 2, len - hlen - 3, &out->port) == -1) {
			*errstr = "invalid port number";
			return (-1);
		}
		memcpy(out->host, s + 1, hlen);
		out->host[hlen] = '\0';
		return (0);
	}
	colon = NULL;
	for (rb = s; rb < s + len; rb++)
		if (*rb == ':')
			colon = rb;
	if (colon == NULL) {
		*errstr = "missing port number (<host>:<port>)";
		return (-1);
	}
	hlen = (size_t)(colon - s);
	if (hlen == 0) {
		*errstr = "missing host";
		return (-1);
	}
	if (parse_port(colon + 1, len - hlen - 1, &out->port) == -1) {
		*errstr = "invalid port number";
		return (-1);
	}
	if (memchr(s, ':', hlen) != NULL) {
		if (!parse_ipv6_scoped(s, hlen)) {
			*errstr = "invalid IPv6 address";
			return (-1);
		}
	} else if (looks_numeric(s, hlen)) {
		if (!parse_ipv4(s, hlen)) {
			*errstr = "invalid IPv4 address";
			return (-1);
		}
	} else if (!netaddr_valid_hostname(s, hlen)) {
		*errstr = "invalid host name";
		return (-1);
	}
	if (hlen >= sizeof(out->host)) {
		*errstr = "host name too long";
		return (-1);
	}
	memcpy(out->host, s, hlen);
	out->host[hlen] = '\0';
	return (0);
}

int
netaddr_parse_hostport(const char *s, int allow_socks, struct hostport *out,
    const char **errstr)
{
	struct hostport	 socks;
	const char	*at;
	size_t		 len;

	memset(out, 0, sizeof(*out));
	len = strlen(s);
	if (len == 0) {
		*errstr = "empty address";
		return (-1);
	}
	if (s[0] == '/') {
		if (len >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
			*errstr = "unix socket path too long";
			return (-1);
		}
		out->is_unix = 1;
		memcpy(out->host, s, len + 1);
		return (0);
	}
	at = strchr(s, '@');
	if (at != NULL) {
		if (!allow_socks) {
			*errstr = "unexpected '@' (no SOCKS proxy here)";
			return (-1);
		}
		memset(&socks, 0, sizeof(socks));
		if (parse_hostport_plain(at + 1, strlen(at + 1), &socks,
		    errstr) == -1)
			return (-1);
		len = (size_t)(at - s);
	}
	if (parse_hostport_plain(s, len, out, errstr) == -1)
		return (-1);
	if (at != NULL) {
		memcpy(out->socks, socks.host, sizeof(out->socks));
		out->socks_port = socks.port;
	}
	return (0);
}

/* IPv4 address in host byte order. */
static int
ipv4_is_local(uint32_t a)
{
	if ((a >> 24) == 127 || (a >> 24) == 10)
		return (1);
	if ((a & 0xfff00000U) == 0xac100000U)		/* 172.16/12 */
		return (1);
	if ((a & 0xffff0000U) == 0xc0a80000U)		/* 192.168/16 */
		return (1);
	if ((a & 0xffff0000U) == 0xa9fe0000U)		/* 169.254/16 */
		return (1);
	if ((a & 0xffc00000U) == 0x64400000U)		/* 100.64/10 */
		return (1);
	return (0);
}

int
netaddr_is_local(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;
	static const uint8_t		 loop6[16] = { [15] = 1 };
	static const uint8_t		 mapped[12] = { [10] = 0xff,
					    [11] = 0xff };

	switch (sa->sa_family) {
	case AF_UNIX:
		return (1);
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		return (ipv4_is_local(ntohl(sin->sin_addr.s_addr)));
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		b = sin6->sin6_addr.s6_addr;
		if (memcmp(b, loop6, 16) == 0)
			return (1);
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)	/* fe80::/10 */
			return (1);
		if ((b[0] & 0xfe) == 0xfc)			/* fc00::/7 */
			return (1);
		if (memcmp(b, mapped, 12) == 0)
			return (ipv4_is_local((uint32_t)b[12] << 24 |
			    (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
			    b[15]));
		return (0);
	default:
		return (0);
	}
}

char *
netaddr_ip(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (bufsz == 0)
		return (buf);
	buf[0] = '\0';
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, buf, bufsz) == NULL)
			buf[0] = '\0';
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
		    bufsz) == NULL)
			buf[0] = '\0';
		break;
	default:
		break;
	}
	return (buf);
}

char *
netaddr_str(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	const struct sockaddr_un	*sun;
	char				 ip[INET6_ADDRSTRLEN];
	size_t				 n;
	unsigned int			 port;
	int				 r;

	if (bufsz == 0)
		return (buf);
	switch (sa->sa_family) {
	case AF_INET:
	case AF_INET6:
		netaddr_ip(sa, ip, sizeof(ip));
		if (sa->sa_family == AF_INET)
			port = ntohs(
			    ((const struct sockaddr_in *)sa)->sin_port);
		else
			port = ntohs(
			    ((const struct sockaddr_in6 *)sa)->sin6_port);
		r = snprintf(buf, bufsz, "%s%c%u", ip,
		    sa->sa_family == AF_INET ? ':' : '.', port);
		if (r < 0)
			buf[0] = '\0';
		break;
	case AF_UNIX:
		sun = (const struct sockaddr_un *)sa;
		n = strnlen(sun->sun_path, sizeof(sun->sun_path));
		if (n == 0) {
			strlcpy(buf, "unix", bufsz);
			break;
		}
		if (n >= bufsz)
			n = bufsz - 1;
		memcpy(buf, sun->sun_path, n);
		buf[n] = '\0';
		break;
	default:
		strlcpy(buf, "unknown", bufsz);
		break;
	}
	return (buf);
}

long long
netaddr_parse_period(const char *s)
{
	long long	 v = 0, mult = 1;
	size_t		 i, len;

	len = strlen(s);
	if (len == 0)
		return (-1);
	switch (s[len - 1]) {
	case 's':
		len--;
		break;
	case 'm':
		mult = 60;
		len--;
		break;
	case 'h':
		mult = 60 * 60;
		len--;
		break;
	case 'd':
		mult = 24 * 60 * 60;
		len--;
		break;
	default:
		break;
	}
	if (len == 0)
		return (-1);
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (-1);
		v = v * 10 + (s[i] - '0');
		if (v > PERIOD_MAX)
			return (-1);
	}
	v *= mult;
	if (v > PERIOD_MAX)
		return (-1);
	return (v);
}
