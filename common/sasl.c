/*
 * Server-side SASL exchanges (SPEC section 4).  See sasl.h.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base64.h"
#include "bounds.h"
#include "sasl.h"

/* mechanisms */
#define SASL_M_NONE	0
#define SASL_M_PLAIN	1
#define SASL_M_LOGIN	2
#define SASL_M_CRAM	3

#define SASL_USERNAME	"VXNlcm5hbWU6"	/* "Username:" */
#define SASL_PASSWORD	"UGFzc3dvcmQ6"	/* "Password:" */

static int	 sasl_input(struct sasl *, const char *, size_t, int);
static int	 sasl_done(struct sasl *, const char *, const char *,
		    const char *);
static int	 sasl_end(struct sasl *, int);

int
sasl_mech_allowed(const char *list, const char *mech)
{
	const char	*s;
	size_t		 n, mlen = strlen(mech);

	for (s = list; *s != '\0'; s += n) {
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n == mlen && strncasecmp(s, mech, n) == 0)
			return (1);
	}
	return (0);
}

/*
 * Find the list of kind k ('m', 'x', 'a' or 'd') in an auth config:
 * *p and *n are its names (after "k:"); returns 1 if it is there.
 */
static int
sasl_conf_list(const char *config, int k, const char **p, size_t *n)
{
	const char	*s;
	size_t		 len;
	int		 found = 0;

	for (s = config; s != NULL && *s != '\0'; s += len) {
		s += strspn(s, "; ");
		len = strcspn(s, ";");
		if (len >= 2 && s[1] == ':' && tolower((unsigned char)s[0]) ==
		    k) {
			/* The last one given counts. */
			*p = s + 2;
			*n = len - 2;
			found = 1;
		}
	}
	return (found);
}

/* Is mech (mlen octets) one of the names in list (n octets)? */
static int
sasl_in_conf(const char *list, size_t n, const char *mech, size_t mlen)
{
	size_t	 i = 0, w;

	while (i < n) {
		while (i < n && strchr(", \t", list[i]) != NULL)
			i++;
		for (w = 0; i + w < n && strchr(", \t", list[i + w]) == NULL;
		    w++)
			;
		if (w > 0 && w == mlen && strncasecmp(list + i, mech, w) == 0)
			return (1);
		i += w;
	}
	return (0);
}

/* Append mech (mlen octets) to out in upper case. */
static int
sasl_out_add(char *out, size_t outsz, size_t *len, const char *mech,
    size_t mlen)
{
	size_t	 i;

	if (*len + (*len > 0) + mlen + 1 > outsz)
		return (-1);
	if (*len > 0)
		out[(*len)++] = ' ';
	for (i = 0; i < mlen; i++)
		out[(*len)++] = (char)toupper((unsigned char)mech[i]);
	out[*len] = '\0';
	return (0);
}

int
sasl_mech_filter(const char *offered, const char *config, int tls,
    char *out, size_t outsz)
{
	const char	*keep = NULL, *drop = NULL, *s, *w;
	size_t		 nkeep = 0, ndrop = 0, n, len = 0, i, wl;
	int		 haskeep, hasdrop, ka = 'm', kd = 'x';

	if (outsz == 0)
		return (-1);
	out[0] = '\0';
	if (tls && (sasl_conf_list(config, 'a', &s, &n) ||
	    sasl_conf_list(config, 'd', &s, &n))) {
		ka = 'a';
		kd = 'd';
	}
	haskeep = sasl_conf_list(config, ka, &keep, &nkeep);
	hasdrop = sasl_conf_list(config, kd, &drop, &ndrop);
	if (!haskeep) {
		/* Everything offered, in its order, less the dropped. */
		for (s = offered; *s != '\0'; s += n) {
			s += strspn(s, " ");
			if ((n = strcspn(s, " ")) == 0)
				break;
			if (hasdrop && sasl_in_conf(drop, ndrop, s, n))
				continue;
			if (sasl_out_add(out, outsz, &len, s, n) == -1)
				return (-1);
		}
		return (0);
	}
	/* The kept ones in the configuration's order, if offered. */
	for (i = 0; i < nkeep; i += wl) {
		while (i < nkeep && strchr(", \t", keep[i]) != NULL)
			i++;
		w = keep + i;
		for (wl = 0; i + wl < nkeep && strchr(", \t", w[wl]) == NULL;
		    wl++)
			;
		if (wl == 0)
			break;
		if (hasdrop && sasl_in_conf(drop, ndrop, w, wl))
			continue;
		for (s = offered; *s != '\0'; s += n) {
			s += strspn(s, " ");
			if ((n = strcspn(s, " ")) == 0)
				break;
			if (n == wl && strncasecmp(s, w, n) == 0)
				break;
		}
		if (n == 0 || *s == '\0' || sasl_in_conf(out, len, w, wl))
			continue;
		if (sasl_out_add(out, outsz, &len, w, wl) == -1)
			return (-1);
	}
	return (0);
}

/* End the exchange with result r: secrets go, the name stays. */
static int
sasl_end(struct sasl *s, int r)
{
	s->mech = SASL_M_NONE;
	s->step = 0;
	explicit_bzero(s->user, sizeof(s->user));
	explicit_bzero(s->buf, sizeof(s->buf));
	explicit_bzero(s->challenge, sizeof(s->challenge));
	s->out[0] = '\0';
	s->authzid = s->id = s->secret = NULL;
	return (r);
}

int
sasl_start(struct sasl *s, const char *list, const char *mech,
    const char *initial, size_t len, const char *host, time_t now)
{
	char	 raw[BOUNDS_DOMAIN + 32];
	size_t	 i;
	int	 n;

	sasl_clear(s);
	if (strlen(mech) >= sizeof(s->name))
		return (SASL_EBADMECH);
	for (i = 0; mech[i] != '\0'; i++)
		s->name[i] = (mech[i] >= 'a' && mech[i] <= 'z') ?
		    (char)(mech[i] - 'a' + 'A') : mech[i];
	s->name[i] = '\0';
	if (!sasl_mech_allowed(list, s->name))
		return (SASL_EBADMECH);
	if (strcmp(s->name, "PLAIN") == 0)
		s->mech = SASL_M_PLAIN;
	else if (strcmp(s->name, "LOGIN") == 0)
		s->mech = SASL_M_LOGIN;
	else if (strncmp(s->name, "CRAM-", 5) == 0)
		s->mech = SASL_M_CRAM;
	else
		return (SASL_EBADMECH);
	if (initial != NULL) {
		/* CRAM has the server speak first */
		if (s->mech == SASL_M_CRAM)
			return (sasl_end(s, SASL_ESYNTAX));
		return (sasl_input(s, initial, len, 1));
	}
	switch (s->mech) {
	case SASL_M_PLAIN:
		break;
	case SASL_M_LOGIN:
		(void)strlcpy(s->out, SASL_USERNAME, sizeof(s->out));
		break;
	default:
		/* "<random.time@host>" */
		n = snprintf(raw, sizeof(raw), "<%u.%lld@%s>",
		    (unsigned int)arc4random(), (long long)now,
		    host != NULL ? host : "");
		if (n < 0 || (size_t)n >= sizeof(raw) ||
		    (size_t)n >= sizeof(s->challenge) ||
		    base64_encode(raw, (size_t)n, s->out, sizeof(s->out)) ==
		    -1)
			return (sasl_end(s, SASL_ETEMP));
		memcpy(s->challenge, raw, (size_t)n + 1);
		break;
	}
	return (SASL_CHALLENGE);
}

int
sasl_step(struct sasl *s, const char *line, size_t len)
{
	if (s->mech == SASL_M_NONE)
		return (sasl_end(s, SASL_EBADRESP));
	if (len == 1 && line[0] == '*')
		return (sasl_end(s, SASL_CANCEL));
	return (sasl_input(s, line, len, 0));
}

/*
 * A response: the initial response (initial set; "=" is an empty one) or
 * a line after a challenge.
 */
static int
sasl_input(struct sasl *s, const char *line, size_t len, int initial)
{
	char	*id, *secret, *authzid, *buf = s->buf;
	size_t	 n;
	ssize_t	 dn;

	s->out[0] = '\0';
	if (initial && len == 1 && line[0] == '=')
		n = 0;
	else if ((dn = base64_decode(line, len, buf, sizeof(s->buf) - 1,
	    0)) == -1)
		return (sasl_end(s, SASL_EBASE64));
	else
		n = (size_t)dn;
	buf[n] = '\0';
	switch (s->mech) {
	case SASL_M_PLAIN:
		/* authzid NUL authcid NUL passwd */
		authzid = buf;
		if ((id = memchr(buf, '\0', n)) == NULL)
			break;
		id++;
		if ((secret = memchr(id, '\0', n - (size_t)(id - buf))) ==
		    NULL)
			break;
		secret++;
		if (memchr(secret, '\0', n - (size_t)(secret - buf)) != NULL)
			break;
		return (sasl_done(s, authzid, id, secret));
	case SASL_M_LOGIN:
		if (memchr(buf, '\0', n) != NULL)
			break;
		if (s->step == 0) {
			if (n >= sizeof(s->user))
				return (sasl_end(s, SASL_EFAIL));
			memcpy(s->user, buf, n + 1);
			explicit_bzero(buf, n);
			s->step = 1;
			(void)strlcpy(s->out, SASL_PASSWORD, sizeof(s->out));
			return (SASL_CHALLENGE);
		}
		return (sasl_done(s, "", s->user, buf));
	case SASL_M_CRAM:
		/* "<id> <hex digest>", split at the last space */
		if (memchr(buf, '\0', n) != NULL ||
		    (secret = strrchr(buf, ' ')) == NULL)
			break;
		*secret++ = '\0';
		return (sasl_done(s, "", buf, secret));
	default:
		break;
	}
	return (sasl_end(s, SASL_EBADRESP));
}

/* Credentials complete; they stay in s until sasl_clear(). */
static int
sasl_done(struct sasl *s, const char *authzid, const char *id,
    const char *secret)
{
	if (strlen(id) > BOUNDS_DOMAIN)
		return (sasl_end(s, SASL_EFAIL));
	s->authzid = authzid;
	s->id = id;
	s->secret = secret;
	/* no more input: a further sasl_step() is refused */
	s->mech = SASL_M_NONE;
	s->step = 0;
	return (SASL_DONE);
}

const char *
sasl_challenge(const struct sasl *s)
{
	return (s->out);
}

const char *
sasl_mech(const struct sasl *s)
{
	return (s->name);
}

const char *
sasl_cram_challenge(const struct sasl *s)
{
	return (s->challenge);
}

int
sasl_active(const struct sasl *s)
{
	return (s->mech != SASL_M_NONE);
}

void
sasl_clear(struct sasl *s)
{
	(void)sasl_end(s, 0);
	explicit_bzero(s->name, sizeof(s->name));
}
