/*
 * Network addresses in option values (SPEC 2.4): listening items for
 * --interface, host:port for --forward-to, net:, spam:, and the address
 * classes of the connection policy.  Parsers only: nothing here resolves
 * a name or opens a socket.
 */
#ifndef NETADDR_H
#define NETADDR_H

#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>

/* Listener kinds, also used as the prefix of an --interface item. */
#define LISTEN_SMTP	0x01
#define LISTEN_POP	0x02
#define LISTEN_ADMIN	0x04
#define LISTEN_ALL	(LISTEN_SMTP | LISTEN_POP | LISTEN_ADMIN)
/* The emailrelayctl socket (--control-socket); never an --interface kind. */
#define LISTEN_CONTROL	0x08

/* What an --interface item names. */
#define IFACE_IPV4	1	/* "127.0.0.1" */
#define IFACE_IPV6	2	/* "::1", "fe80::1%eth0" */
#define IFACE_NAME	3	/* "eth0", "eth0-ipv4", "eth0-ipv6" */
#define IFACE_UNIX	4	/* "/run/emailrelay/smtp.s" */
#define IFACE_FD	5	/* "fd#3" */

struct iface_item {
	int		 kinds;		/* LISTEN_* this item applies to */
	int		 type;		/* IFACE_* */
	char		 text[108];	/* address, name or path as given */
	int		 family;	/* AF_INET, AF_INET6; a name: 0 = any */
	int		 fd;		/* IFACE_FD */
};

/*
 * Parse one item ("[smtp=|pop=|admin=]<address>") of an --interface list.
 * Returns 0, or -1 with *errstr set to static text.
 */
int	 netaddr_parse_iface(const char *item, struct iface_item *out,
	    const char **errstr);

/*
 * Split a comma-separated --interface value and parse every item into
 * out[0..max-1]; *n gets the count.  Empty items are errors.
 */
int	 netaddr_parse_iface_list(const char *list, struct iface_item *out,
	    size_t max, size_t *n, const char **errstr);

/* A host:port value (--forward-to, net:, spam:, dnsbl server). */
struct hostport {
	int		 is_unix;	/* absolute path in host */
	char		 host[256];	/* name, IPv4 or IPv6 (no brackets) */
	unsigned int	 port;
	char		 socks[256];	/* SOCKS 4a proxy host, "" if none */
	unsigned int	 socks_port;
};

/*
 * Parse "host:port", "<ipv4>:port", "<ipv6>:port" (split at the last
 * colon), "[<ipv6>]:port" or an absolute path; with allow_socks also a
 * "@proxy:port" suffix.  Returns 0, or -1 with *errstr set.
 */
int	 netaddr_parse_hostport(const char *s, int allow_socks,
	    struct hostport *out, const char **errstr);

/* Whether s[0..len-1] is a DNS host name: labels of [A-Za-z0-9_-]. */
int	 netaddr_valid_hostname(const char *s, size_t len);

/* Whether s is an IPv4 or IPv6 address (IPv6 with optional %scope). */
int	 netaddr_is_ip(const char *s);

/* Whether sa is a local address per SPEC 2.4 (unix sockets included). */
int	 netaddr_is_local(const struct sockaddr *sa);

/*
 * Format sa for log lines: "127.0.0.1:25", IPv6 as "::1.25" (E-MailRelay's
 * form), unix as the path.  Returns buf.
 */
char	*netaddr_str(const struct sockaddr *sa, char *buf, size_t bufsz);

/* Only the IP (no port), "" for unix. */
char	*netaddr_ip(const struct sockaddr *sa, char *buf, size_t bufsz);

/*
 * Parse a period: plain seconds or a number with s, m, h, d.  Returns
 * seconds, or -1 if malformed or over a year.
 */
long long netaddr_parse_period(const char *s);

#endif /* NETADDR_H */
