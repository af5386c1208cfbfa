/*
 * libFuzzer target for the option-text parsers of lookup/dnsbl.c,
 * lookup/mx.c and lookup/dns.c.  The first byte selects the parser (low
 * two bits): a --dnsbl value, mx: options, a ForwardTo value, a DNS
 * server address; the rest is the text.  Invariants are checked with
 * abort(): on success every field within its bounds and re-parseable
 * (a --dnsbl value rebuilt in the current order parses to the same
 * configuration, a formatted address reads back the same), on failure
 * static error text, and the option checker agreeing with the parser.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "lookup/dns.h"
#include "lookup/dnsbl.h"
#include "lookup/mx.h"

#define FZ_TEXT_MAX	4096

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 fz_dnsbl(const char *);
static void	 fz_mx_options(const char *);
static void	 fz_forward_to(const char *);
static void	 fz_server(const char *);
static void	 fz_hostname(const char *, size_t);

/* A NUL-terminated host name shorter than max. */
static void
fz_hostname(const char *s, size_t max)
{
	size_t	 len;

	if ((len = strnlen(s, max)) == max || len == 0 || len > 253 ||
	    !netaddr_valid_hostname(s, len) || s[len - 1] == '.')
		abort();
}

static void
fz_dnsbl(const char *text)
{
	static struct dnsbl_conf	 c, c2;
	struct sockaddr_in6		 sin6;
	char				 rebuilt[FZ_TEXT_MAX * 2], num[32];
	char				 name[DNS_NAME_MAX];
	const char			*err = NULL, *chk;
	size_t				 i;

	chk = dnsbl_conf_check(text);
	if (dnsbl_conf_parse(text, &c, &err) == -1) {
		if (err == NULL || chk == NULL || strcmp(err, chk) != 0)
			abort();
		return;
	}
	if (chk != NULL)
		abort();
	if (c.nzones == 0 || c.nzones > DNSBL_ZONES_MAX ||
	    c.threshold < 0 || c.threshold > DNSBL_THRESHOLD_MAX ||
	    c.timeout_ms == 0 || c.timeout_ms < -DNS_TIMEOUT_MAX ||
	    c.timeout_ms > DNS_TIMEOUT_MAX)
		abort();
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memset(&sin6.sin6_addr, 0xab, sizeof(sin6.sin6_addr));
	rebuilt[0] = '\0';
	for (i = 0; i < c.nzones; i++) {
		fz_hostname(c.zones[i], DNSBL_ZONE_MAX);
		if (dnsbl_qname((struct sockaddr *)&sin6, c.zones[i], name,
		    sizeof(name)) == -1)
			abort();
		if (i > 0)
			(void)strlcat(rebuilt, ",", sizeof(rebuilt));
		(void)strlcat(rebuilt, c.zones[i], sizeof(rebuilt));
	}
	(void)snprintf(num, sizeof(num), ",%d,%d", c.threshold,
	    c.timeout_ms);
	(void)strlcat(rebuilt, num, sizeof(rebuilt));
	if (c.server[0] != '\0') {
		(void)strlcat(rebuilt, ",", sizeof(rebuilt));
		(void)strlcat(rebuilt, c.server, sizeof(rebuilt));
	}
	if (dnsbl_conf_parse(rebuilt, &c2, &err) == -1 || c2.legacy ||
	    c2.nzones != c.nzones || c2.threshold != c.threshold ||
	    c2.timeout_ms != c.timeout_ms || strcmp(c2.server, c.server))
		abort();
	for (i = 0; i < c.nzones; i++)
		if (strcmp(c.zones[i], c2.zones[i]) != 0)
			abort();
}

static void
fz_mx_options(const char *text)
{
	struct mx_conf		 c;
	struct sockaddr_storage	 ss;
	const char		*err = NULL;

	if (mx_parse_options(text, &c, &err) == -1) {
		if (err == NULL)
			abort();
		return;
	}
	if (c.nst < 1 || c.nst > MX_TIMEOUT_MAX || c.rt < 1 ||
	    c.rt > MX_TIMEOUT_MAX ||
	    strnlen(c.server, sizeof(c.server)) == sizeof(c.server))
		abort();
	if (c.server[0] != '\0' && dns_parse_server(c.server, &ss, &err) ==
	    -1)
		abort();
}

static void
fz_forward_to(const char *text)
{
	struct mx_target	 t;
	struct hostport		 hp;
	char			 buf[DNS_ADDRSTR_MAX];
	const char		*err = NULL;

	if (mx_parse_forward_to(text, &t, &err) == -1) {
		if (err == NULL)
			abort();
		return;
	}
	if (t.port < 1 || t.port > 65535)
		abort();
	if (t.literal) {
		if (t.domain[0] != '\0' ||
		    dns_addr_hostport((struct sockaddr *)&t.addr, buf,
		    sizeof(buf)) == -1 ||
		    netaddr_parse_hostport(buf, 0, &hp, &err) == -1 ||
		    hp.port != t.port)
			abort();
	} else
		fz_hostname(t.domain, sizeof(t.domain));
}

static void
fz_server(const char *text)
{
	struct sockaddr_storage	 ss, ss2;
	char			 buf[DNS_ADDRSTR_MAX];
	const char		*err = NULL;

	if (dns_parse_server(text, &ss, &err) == -1) {
		if (err == NULL)
			abort();
		return;
	}
	if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    dns_addr_hostport((struct sockaddr *)&ss, buf, sizeof(buf)) ==
	    -1 || dns_parse_server(buf, &ss2, &err) == -1 ||
	    memcmp(&ss, &ss2, sizeof(ss)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 text[FZ_TEXT_MAX + 1];
	size_t		 len;

	if (size < 1)
		return (0);
	len = size - 1;
	if (len > FZ_TEXT_MAX)
		len = FZ_TEXT_MAX;
	memcpy(text, data + 1, len);
	text[len] = '\0';
	switch (data[0] & 3) {
	case 0:
		fz_dnsbl(text);
		break;
	case 1:
		fz_mx_options(text);
		break;
	case 2:
		fz_forward_to(text);
		break;
	default:
		fz_server(text);
		break;
	}
	return (0);
}
