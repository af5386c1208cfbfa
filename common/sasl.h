/*
 * The server side of the SASL mechanisms of SPEC section 4 (PLAIN, LOGIN,
 * CRAM-MD5, CRAM-SHA1, CRAM-SHA256, CRAM-SHA512), shared by the SMTP and
 * POP engines: challenges go out and responses come in as base64 text,
 * and the credentials are handed back for the outside to check.  No I/O
 * and no reply wording: each engine maps the results to its own replies
 * ("334 " or "+ " before a challenge, its own error texts).
 *
 * Use: sasl_start() with the mechanism and the initial response, if any;
 * while the result is SASL_CHALLENGE send sasl_challenge() and feed the
 * client's next line to sasl_step().  SASL_DONE leaves the credentials
 * in s->authzid, s->id and s->secret until sasl_clear().  Every other
 * result ends the exchange (the state is already wiped).
 */
#ifndef SASL_H
#define SASL_H

#include <stddef.h>
#include <time.h>

#include "bounds.h"

#define SASL_MECHMAX	16	/* mechanism name with its NUL */

/* Results of sasl_start() and sasl_step(). */
#define SASL_CHALLENGE	0	/* send sasl_challenge(), read a line */
#define SASL_DONE	1	/* credentials in authzid, id, secret */
#define SASL_CANCEL	2	/* the client sent "*" */
#define SASL_EBADMECH	3	/* unknown, or not in the allowed list */
#define SASL_ESYNTAX	4	/* initial response to a CRAM mechanism */
#define SASL_ETEMP	5	/* no challenge could be made */
#define SASL_EBASE64	6	/* the response is not base64 */
#define SASL_EBADRESP	7	/* malformed response */
#define SASL_EFAIL	8	/* id too long: fails without a check */

/*
 * Exchange state; embed it in the session.  Fields are private, except
 * authzid, id and secret after SASL_DONE.
 */
struct sasl {
	int		 mech;		/* SASL_M_* in sasl.c, 0 = none */
	int		 step;
	char		 name[SASL_MECHMAX];	/* upper case */
	char		 user[BOUNDS_DOMAIN + 1];	/* LOGIN user */
	char		 challenge[BOUNDS_DOMAIN + 64];	/* CRAM: sent */
	char		 out[(BOUNDS_DOMAIN + 64) * 4 / 3 + 8];
	char		 buf[BOUNDS_LINE];	/* decoded response */
	/* with SASL_DONE; valid until sasl_clear() */
	const char	*authzid;	/* PLAIN authorization id, or "" */
	const char	*id;		/* at most BOUNDS_DOMAIN octets */
	const char	*secret;	/* password, or CRAM hex digest */
};

/*
 * Returns 1 if mech is one of the space-separated names in list
 * (compared without regard to case), else 0.
 */
int	 sasl_mech_allowed(const char *list, const char *mech);

/*
 * The mechanisms to offer out of offered (space separated, in order)
 * under an --server-auth-config or --client-auth-config value (NULL or
 * "" for none): before TLS its "m:" list (when given, even empty) keeps
 * only the mechanisms it names, in its order, and its "x:" list removes
 * some; once TLS is active (tls non-zero) the "a:" and "d:" lists do the
 * same instead when either is given, else "m:" and "x:" still apply.
 * Names in the lists are separated by commas or blanks, any case.  The
 * result (upper case, space separated, "" for none) goes into out.
 * Returns 0, or -1 when it does not fit.
 */
int	 sasl_mech_filter(const char *offered, const char *config, int tls,
	    char *out, size_t outsz);

/*
 * Start an exchange for mech (any case) if it is in list.  initial is the
 * initial response (len octets, "=" for an empty one), or NULL for none;
 * host and now make the CRAM challenge "<random.now@host>".  Ends any
 * earlier exchange first.  Returns SASL_CHALLENGE, SASL_DONE or an error
 * result (see above).
 */
int	 sasl_start(struct sasl *s, const char *list, const char *mech,
	    const char *initial, size_t len, const char *host, time_t now);

/*
 * The client's response line (len octets, no line terminator) to the
 * last challenge.  Returns SASL_CHALLENGE, SASL_DONE, SASL_CANCEL or an
 * error result.
 */
int	 sasl_step(struct sasl *s, const char *line, size_t len);

/* The base64 challenge to send now ("" for an empty one). */
const char *sasl_challenge(const struct sasl *s);

/* The mechanism under way or done (upper case), or "" before a start. */
const char *sasl_mech(const struct sasl *s);

/*
 * The challenge sent for a CRAM mechanism, "" for the others; valid
 * until sasl_clear().
 */
const char *sasl_cram_challenge(const struct sasl *s);

/* True while a response line is awaited. */
int	 sasl_active(const struct sasl *s);

/* Wipe every secret and end the exchange. */
void	 sasl_clear(struct sasl *s);

#endif /* SASL_H */
