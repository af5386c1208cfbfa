/*
 * Unit tests for common/netaddr.c: --interface items, host:port values,
 * local/remote classification, address formatting and periods.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "netaddr.h"
#include "t.h"

static int	 iface_ok(const char *, struct iface_item *);
static int	 hp_ok(const char *, int, struct hostport *);
static int	 local4(const char *);
static int	 local6(const char *);

static int
iface_ok(const char *s, struct iface_item *it)
{
	const char	*e = NULL;

	return (netaddr_parse_iface(s, it, &e) == 0);
}

static int
hp_ok(const char *s, int socks, struct hostport *hp)
{
	const char	*e = NULL;

	return (netaddr_parse_hostport(s, socks, hp, &e) == 0);
}

static int
local4(const char *ip)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		return (-1);
	return (netaddr_is_local((struct sockaddr *)&sin));
}

static int
local6(const char *ip)
{
	struct sockaddr_in6	 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) != 1)
		return (-1);
	return (netaddr_is_local((struct sockaddr *)&sin6));
}

TEST(netaddr_iface_ipv4)
{
	struct iface_item	 it;

	T_ASSERT(iface_ok("127.0.0.1", &it));
	T_EQ_INT(it.type, IFACE_IPV4);
	T_EQ_INT(it.kinds, LISTEN_ALL);
	T_EQ_INT(it.family, AF_INET);
	T_EQ_STR(it.text, "127.0.0.1");
	T_ASSERT(iface_ok("0.0.0.0", &it));
	T_EQ_INT(it.type, IFACE_IPV4);
}

TEST(netaddr_iface_prefixes)
{
	struct iface_item	 it;

	T_ASSERT(iface_ok("smtp=127.0.0.1", &it));
	T_EQ_INT(it.kinds, LISTEN_SMTP);
	T_EQ_STR(it.text, "127.0.0.1");
	T_ASSERT(iface_ok("pop=::1", &it));
	T_EQ_INT(it.kinds, LISTEN_POP);
	T_EQ_INT(it.type, IFACE_IPV6);
	T_ASSERT(iface_ok("admin=/run/admin.s", &it));
	T_EQ_INT(it.kinds, LISTEN_ADMIN);
	T_EQ_INT(it.type, IFACE_UNIX);
	T_ASSERT(iface_ok("smtp=fd#3", &it));
	T_EQ_INT(it.kinds, LISTEN_SMTP);
	T_EQ_INT(it.type, IFACE_FD);
	T_EQ_INT(it.fd, 3);
	T_ASSERT(!iface_ok("smtp=", &it));
	T_ASSERT(!iface_ok("imap=127.0.0.1", &it));
}

TEST(netaddr_iface_ipv6)
{
	struct iface_item	 it;

	T_ASSERT(iface_ok("::1", &it));
	T_EQ_INT(it.type, IFACE_IPV6);
	T_EQ_INT(it.family, AF_INET6);
	T_ASSERT(iface_ok("::", &it));
	T_ASSERT(iface_ok("fe80::1%eth0", &it));
	T_EQ_INT(it.type, IFACE_IPV6);
	T_EQ_STR(it.text, "fe80::1%eth0");
	T_ASSERT(iface_ok("2001:db8::25", &it));
	T_ASSERT(!iface_ok("fe80::1%", &it));
	T_ASSERT(!iface_ok("fe80::1%bad name", &it));
	T_ASSERT(!iface_ok("::1::2", &it));
	T_ASSERT(!iface_ok(":::", &it));
}

TEST(netaddr_iface_names)
{
	struct iface_item	 it;

	T_ASSERT(iface_ok("eth0", &it));
	T_EQ_INT(it.type, IFACE_NAME);
	T_EQ_INT(it.family, 0);
	T_EQ_STR(it.text, "eth0");
	T_ASSERT(iface_ok("eth0-ipv4", &it));
	T_EQ_INT(it.family, AF_INET);
	T_EQ_STR(it.text, "eth0");
	T_ASSERT(iface_ok("enp0s3-ipv6", &it));
	T_EQ_INT(it.family, AF_INET6);
	T_EQ_STR(it.text, "enp0s3");
	T_ASSERT(iface_ok("br-lan.100", &it));
	T_ASSERT(iface_ok("eth0:1", &it));
	T_ASSERT(iface_ok("bad", &it));
	T_ASSERT(iface_ok("br.cafe", &it));
	/* IFNAMSIZ - 1 = 15 characters at most. */
	T_ASSERT(iface_ok("abcdefghijklmno", &it));
	T_ASSERT(!iface_ok("abcdefghijklmnop", &it));
	T_ASSERT(!iface_ok("eth 0", &it));
	T_ASSERT(!iface_ok("eth0$", &it));
	/* Malformed addresses are not taken for names. */
	T_ASSERT(!iface_ok("1.2.3", &it));
	T_ASSERT(!iface_ok("256.1.1.1", &it));
	T_ASSERT(!iface_ok("25", &it));
	T_ASSERT(!iface_ok("ab:cd", &it));
	T_ASSERT(!iface_ok("-ipv4", &it));
	T_ASSERT(!iface_ok("", &it));
}

TEST(netaddr_iface_unix_fd)
{
	struct iface_item	 it;
	char			 longpath[200];

	T_ASSERT(iface_ok("/run/emailrelay/smtp.s", &it));
	T_EQ_INT(it.type, IFACE_UNIX);
	T_EQ_STR(it.text, "/run/emailrelay/smtp.s");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	T_ASSERT(!iface_ok(longpath, &it));
	T_ASSERT(iface_ok("fd#3", &it));
	T_EQ_INT(it.fd, 3);
	T_ASSERT(iface_ok("fd#10", &it));
	T_EQ_INT(it.fd, 10);
	T_ASSERT(!iface_ok("fd#2", &it));
	T_ASSERT(!iface_ok("fd#0", &it));
	T_ASSERT(!iface_ok("fd#", &it));
	T_ASSERT(!iface_ok("fd#x", &it));
	T_ASSERT(!iface_ok("fd#-3", &it));
	T_ASSERT(!iface_ok("fd# 3", &it));
}

TEST(netaddr_iface_list)
{
	struct iface_item	 it[4];
	size_t			 n;
	const char		*e;

	T_EQ_INT(netaddr_parse_iface_list("127.0.0.1,::1", it, 4, &n, &e), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(it[0].type, IFACE_IPV4);
	T_EQ_INT(it[1].type, IFACE_IPV6);
	T_EQ_INT(netaddr_parse_iface_list("smtp=127.0.0.1, pop=eth0", it, 4,
	    &n, &e), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(it[1].kinds, LISTEN_POP);
	T_EQ_STR(it[1].text, "eth0");
	T_EQ_INT(netaddr_parse_iface_list("127.0.0.1,", it, 4, &n, &e), -1);
	T_EQ_STR(e, "empty address");
	T_EQ_INT(netaddr_parse_iface_list(",::1", it, 4, &n, &e), -1);
	T_EQ_INT(netaddr_parse_iface_list("", it, 4, &n, &e), -1);
	T_EQ_INT(netaddr_parse_iface_list("a,b,c,d,e", it, 4, &n, &e), -1);
	T_EQ_STR(e, "too many addresses");
	T_EQ_INT(netaddr_parse_iface_list("eth0,1.2.3", it, 4, &n, &e), -1);
	T_EQ_STR(e, "invalid IP address");
}

TEST(netaddr_hostport_forms)
{
	struct hostport	 hp;

	T_ASSERT(hp_ok("smtp.example.com:25", 0, &hp));
	T_EQ_STR(hp.host, "smtp.example.com");
	T_EQ_INT(hp.port, 25);
	T_EQ_INT(hp.is_unix, 0);
	T_EQ_STR(hp.socks, "");
	T_ASSERT(hp_ok("127.0.0.1:587", 0, &hp));
	T_EQ_STR(hp.host, "127.0.0.1");
	T_EQ_INT(hp.port, 587);
	T_ASSERT(hp_ok("[::1]:25", 0, &hp));
	T_EQ_STR(hp.host, "::1");
	T_EQ_INT(hp.port, 25);
	/* Bare IPv6: the port follows the last colon. */
	T_ASSERT(hp_ok("::1:25", 0, &hp));
	T_EQ_STR(hp.host, "::1");
	T_EQ_INT(hp.port, 25);
	T_ASSERT(hp_ok("2001:db8::1:10025", 0, &hp));
	T_EQ_STR(hp.host, "2001:db8::1");
	T_EQ_INT(hp.port, 10025);
	T_ASSERT(hp_ok("fe80::1%eth0:25", 0, &hp));
	T_EQ_STR(hp.host, "fe80::1%eth0");
	T_ASSERT(hp_ok("/run/spamd.sock", 0, &hp));
	T_EQ_INT(hp.is_unix, 1);
	T_EQ_STR(hp.host, "/run/spamd.sock");
	T_ASSERT(hp_ok("localhost:65535", 0, &hp));
	T_EQ_INT(hp.port, 65535);
	/* Names made of hex letters are names, not addresses. */
	T_ASSERT(hp_ok("cafe.de:25", 0, &hp));
	T_EQ_STR(hp.host, "cafe.de");
	T_ASSERT(hp_ok("dead.beef:25", 0, &hp));
}

TEST(netaddr_hostport_bad)
{
	struct hostport	 hp;
	const char	*e;

	T_ASSERT(!hp_ok("", 0, &hp));
	T_ASSERT(!hp_ok("example.com", 0, &hp));
	T_EQ_INT(netaddr_parse_hostport("example.com", 0, &hp, &e), -1);
	T_EQ_STR(e, "missing port number (<host>:<port>)");
	T_ASSERT(!hp_ok("example.com:", 0, &hp));
	T_ASSERT(!hp_ok("example.com:0", 0, &hp));
	T_ASSERT(!hp_ok("example.com:65536", 0, &hp));
	T_ASSERT(!hp_ok("example.com:25x", 0, &hp));
	T_ASSERT(!hp_ok("example.com:smtp", 0, &hp));
	T_ASSERT(!hp_ok(":25", 0, &hp));
	T_ASSERT(!hp_ok("exa mple.com:25", 0, &hp));
	T_ASSERT(!hp_ok("a..b:25", 0, &hp));
	T_ASSERT(!hp_ok("1.2.3:25", 0, &hp));
	T_ASSERT(!hp_ok("300.1.1.1:25", 0, &hp));
	T_ASSERT(!hp_ok("[::1]25", 0, &hp));
	T_ASSERT(!hp_ok("[::1]:", 0, &hp));
	T_ASSERT(!hp_ok("[::1:25", 0, &hp));
	T_ASSERT(!hp_ok("[1.2.3.4]:25", 0, &hp));
	T_ASSERT(!hp_ok("::g:25", 0, &hp));
}

TEST(netaddr_hostport_socks)
{
	struct hostport	 hp;
	const char	*e;

	T_ASSERT(hp_ok("smtp.example.com:25@localhost:9050", 1, &hp));
	T_EQ_STR(hp.host, "smtp.example.com");
	T_EQ_INT(hp.port, 25);
	T_EQ_STR(hp.socks, "localhost");
	T_EQ_INT(hp.socks_port, 9050);
	T_ASSERT(hp_ok("[::1]:25@127.0.0.1:1080", 1, &hp));
	T_EQ_STR(hp.host, "::1");
	T_EQ_STR(hp.socks, "127.0.0.1");
	T_EQ_INT(hp.socks_port, 1080);
	T_EQ_INT(netaddr_parse_hostport("a.example:25@b.example:1080", 0, &hp,
	    &e), -1);
	T_ASSERT(!hp_ok("a.example:25@", 1, &hp));
	T_ASSERT(!hp_ok("a.example:25@b.example", 1, &hp));
	T_ASSERT(!hp_ok("a.example@b.example:1080", 1, &hp));
	T_ASSERT(!hp_ok("a.example:25@b:1@c:2", 1, &hp));
}

TEST(netaddr_valid_names_and_ips)
{
	T_ASSERT(netaddr_valid_hostname("example.com", 11));
	T_ASSERT(netaddr_valid_hostname("example.com.", 12));
	T_ASSERT(!netaddr_valid_hostname(".example.com", 12));
	T_ASSERT(!netaddr_valid_hostname("", 0));
	T_ASSERT(!netaddr_valid_hostname("a b", 3));
	T_ASSERT(netaddr_is_ip("10.0.0.1"));
	T_ASSERT(netaddr_is_ip("::"));
	T_ASSERT(netaddr_is_ip("fe80::1%eth0"));
	T_ASSERT(!netaddr_is_ip("example.com"));
	T_ASSERT(!netaddr_is_ip("10.0.0"));
	T_ASSERT(!netaddr_is_ip(""));
}

TEST(netaddr_local_ipv4)
{
	T_EQ_INT(local4("127.0.0.1"), 1);
	T_EQ_INT(local4("127.255.255.255"), 1);
	T_EQ_INT(local4("10.0.0.0"), 1);
	T_EQ_INT(local4("10.255.255.255"), 1);
	T_EQ_INT(local4("11.0.0.0"), 0);
	T_EQ_INT(local4("9.255.255.255"), 0);
	T_EQ_INT(local4("172.15.255.255"), 0);
	T_EQ_INT(local4("172.16.0.0"), 1);
	T_EQ_INT(local4("172.31.255.255"), 1);
	T_EQ_INT(local4("172.32.0.0"), 0);
	T_EQ_INT(local4("192.168.0.0"), 1);
	T_EQ_INT(local4("192.168.255.255"), 1);
	T_EQ_INT(local4("192.169.0.0"), 0);
	T_EQ_INT(local4("192.167.255.255"), 0);
	T_EQ_INT(local4("169.254.0.1"), 1);
	T_EQ_INT(local4("169.255.0.1"), 0);
	T_EQ_INT(local4("100.63.255.255"), 0);
	T_EQ_INT(local4("100.64.0.0"), 1);
	T_EQ_INT(local4("100.127.255.255"), 1);
	T_EQ_INT(local4("100.128.0.0"), 0);
	T_EQ_INT(local4("198.18.0.2"), 0);
	T_EQ_INT(local4("8.8.8.8"), 0);
	T_EQ_INT(local4("0.0.0.0"), 0);
}

TEST(netaddr_local_ipv6)
{
	T_EQ_INT(local6("::1"), 1);
	T_EQ_INT(local6("::2"), 0);
	T_EQ_INT(local6("::"), 0);
	T_EQ_INT(local6("fe80::1"), 1);
	T_EQ_INT(local6("febf:ffff::1"), 1);
	T_EQ_INT(local6("fec0::1"), 0);
	T_EQ_INT(local6("fc00::1"), 1);
	T_EQ_INT(local6("fdff:ffff::1"), 1);
	T_EQ_INT(local6("fe00::1"), 0);
	T_EQ_INT(local6("fbff::1"), 0);
	T_EQ_INT(local6("2001:db8::1"), 0);
	T_EQ_INT(local6("::ffff:10.0.0.1"), 1);
	T_EQ_INT(local6("::ffff:127.0.0.1"), 1);
	T_EQ_INT(local6("::ffff:172.16.0.0"), 1);
	T_EQ_INT(local6("::ffff:172.15.255.255"), 0);
	T_EQ_INT(local6("::ffff:198.18.0.2"), 0);
	/* IPv4-compatible (not mapped) is not treated as IPv4. */
	T_EQ_INT(local6("::10.0.0.1"), 0);
}

TEST(netaddr_local_unix)
{
	struct sockaddr_un	 sun;
	struct sockaddr		 sa;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	T_EQ_INT(netaddr_is_local((struct sockaddr *)&sun), 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	T_EQ_INT(netaddr_is_local(&sa), 0);
}

TEST(netaddr_format)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr_un	 sun;
	char			 buf[128];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(25);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	T_EQ_STR(netaddr_str((struct sockaddr *)&sin, buf, sizeof(buf)),
	    "127.0.0.1:25");
	T_EQ_STR(netaddr_ip((struct sockaddr *)&sin, buf, sizeof(buf)),
	    "127.0.0.1");
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(25);
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	T_EQ_STR(netaddr_str((struct sockaddr *)&sin6, buf, sizeof(buf)),
	    "::1.25");
	T_EQ_STR(netaddr_ip((struct sockaddr *)&sin6, buf, sizeof(buf)),
	    "::1");
	memset(&sin6.sin6_addr, 0, sizeof(sin6.sin6_addr));
	T_EQ_STR(netaddr_str((struct sockaddr *)&sin6, buf, sizeof(buf)),
	    "::.25");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	T_EQ_STR(netaddr_str((struct sockaddr *)&sun, buf, sizeof(buf)),
	    "unix");
	T_EQ_STR(netaddr_ip((struct sockaddr *)&sun, buf, sizeof(buf)), "");
	strlcpy(sun.sun_path, "/run/smtp.s", sizeof(sun.sun_path));
	T_EQ_STR(netaddr_str((struct sockaddr *)&sun, buf, sizeof(buf)),
	    "/run/smtp.s");
	/* A full sun_path without NUL stays in bounds. */
	memset(sun.sun_path, 'x', sizeof(sun.sun_path));
	T_EQ_INT(strlen(netaddr_str((struct sockaddr *)&sun, buf,
	    sizeof(buf))), sizeof(sun.sun_path));
	/* Truncation to a small buffer. */
	T_EQ_STR(netaddr_str((struct sockaddr *)&sin, buf, 6), "127.0");
}

TEST(netaddr_periods)
{
	T_EQ_INT(netaddr_parse_period("0"), 0);
	T_EQ_INT(netaddr_parse_period("60"), 60);
	T_EQ_INT(netaddr_parse_period("60s"), 60);
	T_EQ_INT(netaddr_parse_period("5m"), 300);
	T_EQ_INT(netaddr_parse_period("1h"), 3600);
	T_EQ_INT(netaddr_parse_period("2d"), 172800);
	T_EQ_INT(netaddr_parse_period("365d"), 31536000);
	T_EQ_INT(netaddr_parse_period("31536000"), 31536000);
	T_EQ_INT(netaddr_parse_period("31536001"), -1);
	T_EQ_INT(netaddr_parse_period("366d"), -1);
	T_EQ_INT(netaddr_parse_period("8761h"), -1);
	T_EQ_INT(netaddr_parse_period("99999999999999999999"), -1);
	T_EQ_INT(netaddr_parse_period(""), -1);
	T_EQ_INT(netaddr_parse_period("s"), -1);
	T_EQ_INT(netaddr_parse_period("1w"), -1);
	T_EQ_INT(netaddr_parse_period("1y"), -1);
	T_EQ_INT(netaddr_parse_period("-1"), -1);
	T_EQ_INT(netaddr_parse_period("+1"), -1);
	T_EQ_INT(netaddr_parse_period(" 1"), -1);
	T_EQ_INT(netaddr_parse_period("1 "), -1);
	T_EQ_INT(netaddr_parse_period("1hs"), -1);
	T_EQ_INT(netaddr_parse_period("1.5h"), -1);
}
