/*
 * A small authoritative DNS server for the unit tests of lookup/dns.c,
 * mx.c and dnsbl.c: UDP and TCP on 127.0.0.1, one port, served from the
 * test's own event base.  Answers come from rules added by the test:
 * records (A, AAAA, MX, in the order added) and misbehaviours (no
 * answer, SERVFAIL, truncation, broken replies).  A name with no rule
 * is NXDOMAIN; a name with rules but no record of the asked type gets
 * an empty NOERROR answer (NODATA).  A UDP answer over 512 octets is
 * sent truncated (TC), the full one only over TCP.
 */
#ifndef FAKEDNS_H
#define FAKEDNS_H

#include <stddef.h>

struct event_base;
struct fakedns;

#define FK_T_A		1
#define FK_T_MX		15
#define FK_T_AAAA	28
#define FK_T_ANY	0	/* a misbehaviour for every type */

enum fk_action {
	FK_RECORD,		/* data: "192.0.2.1", "2001:db8::1",
				   "10 mx.example.test" ("0 ." null MX) */
	FK_NXDOMAIN,		/* rcode 3 */
	FK_DROP,		/* never answer */
	FK_SERVFAIL,		/* rcode 2 */
	FK_TRUNC,		/* TC over UDP, answer only over TCP */
	FK_BADREC,		/* a record cut short inside the reply */
	FK_SHORT		/* a 3-octet reply */
};

/*
 * Listen on 127.0.0.1 (UDP and TCP, same port) on base.  Returns NULL
 * on failure.  Free with fakedns_free().
 */
struct fakedns	*fakedns_new(struct event_base *base);

/* Close the sockets and free everything. */
void		 fakedns_free(struct fakedns *fk);

/* "127.0.0.1:<port>", for dns_new(); owned by fk. */
const char	*fakedns_server(const struct fakedns *fk);

/* Add a rule for name and type.  Returns 0, or -1 for bad data. */
int		 fakedns_add(struct fakedns *fk, const char *name, int type,
		    enum fk_action action, const char *data);

/* Questions received so far (UDP and TCP). */
size_t		 fakedns_count(const struct fakedns *fk);

/* Questions received over TCP. */
size_t		 fakedns_tcp_count(const struct fakedns *fk);

/* Whether name was asked (any type, case-insensitive). */
int		 fakedns_asked(const struct fakedns *fk, const char *name);

/*
 * Run base until *flag is non-zero (flag may be NULL) or ms
 * milliseconds have passed.  Returns the milliseconds it ran.
 */
long		 fakedns_run(struct event_base *base, const int *flag,
		    long ms);

#endif /* FAKEDNS_H */
