/*
 * sasl_mech_filter(): the m:/x:/a:/d: lists of --server-auth-config and
 * --client-auth-config (SPEC 7) applied to the mechanisms on offer.
 */
#include <string.h>

#include "sasl.h"
#include "t.h"

#define ALL	"CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5 PLAIN LOGIN"

static const char *
filt(const char *offered, const char *config, int tls)
{
	static char	 buf[256];

	if (sasl_mech_filter(offered, config, tls, buf, sizeof(buf)) == -1)
		return ("(overflow)");
	return (buf);
}

TEST(sasl_filter_none)
{
	T_EQ_STR(filt(ALL, NULL, 0), ALL);
	T_EQ_STR(filt(ALL, "", 1), ALL);
	T_EQ_STR(filt("", "m:plain", 0), "");
	T_EQ_STR(filt("PLAIN LOGIN", NULL, 0), "PLAIN LOGIN");
}

TEST(sasl_filter_m_x)
{
	/* m: keeps the named ones in its own order; x: removes. */
	T_EQ_STR(filt(ALL, "m:login,cram-md5", 0), "LOGIN CRAM-MD5");
	T_EQ_STR(filt(ALL, "m:login cram-md5;x:login", 0), "CRAM-MD5");
	T_EQ_STR(filt(ALL, "x:plain,login", 0),
	    "CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5");
	/* Not offered, or named twice: not added. */
	T_EQ_STR(filt("CRAM-MD5", "m:plain,cram-md5,CRAM-MD5", 0),
	    "CRAM-MD5");
	/* An empty m: list offers nothing. */
	T_EQ_STR(filt(ALL, "m:", 0), "");
	/* Without a: or d:, m: and x: hold after TLS too. */
	T_EQ_STR(filt(ALL, "m:plain", 1), "PLAIN");
}

TEST(sasl_filter_tls_lists)
{
	/* Nothing before TLS, PLAIN and LOGIN after. */
	T_EQ_STR(filt(ALL, "m:;a:plain,login", 0), "");
	T_EQ_STR(filt(ALL, "m:;a:plain,login", 1), "PLAIN LOGIN");
	T_EQ_STR(filt(ALL, "x:plain,login;d:cram-sha1", 1),
	    "CRAM-SHA512 CRAM-SHA256 CRAM-MD5 PLAIN LOGIN");
	T_EQ_STR(filt(ALL, "x:plain,login;d:cram-sha1", 0),
	    "CRAM-SHA512 CRAM-SHA256 CRAM-SHA1 CRAM-MD5");
	/* Blanks around items and mixed case. */
	T_EQ_STR(filt(ALL, " M:Plain ; A:LOGIN", 1), "LOGIN");
}

TEST(sasl_filter_bounds)
{
	char	 small[8];

	T_EQ_INT(sasl_mech_filter(ALL, NULL, 0, small, sizeof(small)), -1);
	T_EQ_INT(sasl_mech_filter("PLAIN", NULL, 0, small, sizeof(small)),
	    0);
	T_EQ_STR(small, "PLAIN");
}
