/*
 * SMTP client reply parser (SPEC section 5).  See smtpc_reply.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "smtpc_reply.h"

#define E_TOOLONG	"reply line too long"
#define E_CODE		"bad reply code"
#define E_MISMATCH	"reply code mismatch"
#define E_SEPARATOR	"bad reply separator"
#define E_CONTROL	"control character in reply"
#define E_LINES		"too many reply lines"
#define E_BYTES		"reply too large"
#define E_DONE		"reply already complete"

struct ext_word {
	const char	*name;
	unsigned int	 flag;
};

static const struct ext_word ext_words[] = {
	{ "PIPELINING",	SMTPC_EXT_PIPELINING },
	{ "SIZE",	SMTPC_EXT_SIZE },
	{ "8BITMIME",	SMTPC_EXT_8BITMIME },
	{ "SMTPUTF8",	SMTPC_EXT_SMTPUTF8 },
	{ "CHUNKING",	SMTPC_EXT_CHUNKING },
	{ "BINARYMIME",	SMTPC_EXT_BINARYMIME },
	{ "STARTTLS",	SMTPC_EXT_STARTTLS },
	{ "AUTH",	SMTPC_EXT_AUTH },
};

static int	 reply_error(struct smtpc_reply *, const char *);
static void	 reply_ext(struct smtpc_reply *, const char *, size_t);
static void	 reply_ext_size(struct smtpc_reply *, const char *, size_t);
static void	 reply_ext_auth(struct smtpc_reply *, const char *, size_t);

void
smtpc_reply_init(struct smtpc_reply *r)
{
	memset(r, 0, sizeof(*r));
}

int
smtpc_reply_class(const struct smtpc_reply *r)
{
	return (r->code / 100);
}

int
smtpc_reply_overlong(struct smtpc_reply *r)
{
	return (reply_error(r, E_TOOLONG));
}

int
smtpc_reply_line(struct smtpc_reply *r, const char *line, size_t len)
{
	const char	*text;
	size_t		 i, textlen;
	int		 code, last;

	if (r->errstr != NULL || r->done)
		return (reply_error(r, E_DONE));
	if (len > BOUNDS_LINE)
		return (reply_error(r, E_TOOLONG));
	if (r->nlines >= SMTPC_REPLY_MAXLINES)
		return (reply_error(r, E_LINES));
	if (r->nbytes + len > SMTPC_REPLY_MAXBYTES)
		return (reply_error(r, E_BYTES));
	for (i = 0; i < len; i++)
		if (line[i] == '\r' || line[i] == '\n' || line[i] == '\0')
			return (reply_error(r, E_CONTROL));
	if (len < 3 || line[0] < '1' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9')
		return (reply_error(r, E_CODE));
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines > 0 && code != r->code)
		return (reply_error(r, E_MISMATCH));
	if (len == 3)
		last = 1;
	else if (line[3] == ' ')
		last = 1;
	else if (line[3] == '-')
		last = 0;
	else
		return (reply_error(r, E_SEPARATOR));

	r->code = code;
	r->nbytes += len;
	text = len > 4 ? line + 4 : "";
	textlen = len > 4 ? len - 4 : 0;
	/* the first line of an EHLO reply is the greeting, not a keyword */
	if (r->nlines > 0)
		reply_ext(r, text, textlen);
	r->nlines++;
	if (textlen > SMTPC_REPLY_TEXTMAX)
		textlen = SMTPC_REPLY_TEXTMAX;
	memcpy(r->text, text, textlen);
	r->text[textlen] = '\0';
	if (last) {
		r->done = 1;
		return (SMTPC_REPLY_DONE);
	}
	return (SMTPC_REPLY_MORE);
}

static int
reply_error(struct smtpc_reply *r, const char *errstr)
{
	if (r->errstr == NULL)
		r->errstr = errstr;
	return (SMTPC_REPLY_ERROR);
}

/* One EHLO keyword line: "KEYWORD[ params]" or "AUTH=mechs". */
static void
reply_ext(struct smtpc_reply *r, const char *p, size_t len)
{
	size_t	 i, n, wlen;

	for (wlen = 0; wlen < len; wlen++)
		if (p[wlen] == ' ' || p[wlen] == '=')
			break;
	for (i = 0; i < sizeof(ext_words) / sizeof(ext_words[0]); i++) {
		n = strlen(ext_words[i].name);
		if (n != wlen || strncasecmp(p, ext_words[i].name, n) != 0)
			continue;
		/* "AUTH=" is the only keyword taken with '=' */
		if (wlen < len && p[wlen] == '=' &&
		    ext_words[i].flag != SMTPC_EXT_AUTH)
			return;
		r->ext |= ext_words[i].flag;
		if (ext_words[i].flag == SMTPC_EXT_SIZE && wlen < len)
			reply_ext_size(r, p + wlen + 1, len - wlen - 1);
		else if (ext_words[i].flag == SMTPC_EXT_AUTH && wlen < len)
			reply_ext_auth(r, p + wlen + 1, len - wlen - 1);
		return;
	}
}

/* "SIZE <n>": up to 19 digits; anything else leaves size 0. */
static void
reply_ext_size(struct smtpc_reply *r, const char *p, size_t len)
{
	uint64_t	 v = 0;
	size_t		 i;

	while (len > 0 && *p == ' ') {
		p++;
		len--;
	}
	if (len == 0 || len > 19)
		return;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	r->size = v;
}

/*
 * Mechanism names, upper-cased, appended space-separated; names that are
 * not [A-Z0-9_-]{1,20} (RFC 4422) or do not fit are left out.
 */
static void
reply_ext_auth(struct smtpc_reply *r, const char *p, size_t len)
{
	size_t	 i, j, k, n, have;
	char	 c;
	int	 ok;

	i = 0;
	while (i < len) {
		while (i < len && p[i] == ' ')
			i++;
		for (j = i; j < len && p[j] != ' '; j++)
			;
		n = j - i;
		ok = n > 0 && n <= 20;
		for (k = i; ok && k < j; k++) {
			c = p[k];
			if (!((c >= 'A' && c <= 'Z') ||
			    (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_'))
				ok = 0;
		}
		have = strlen(r->auth);
		if (ok && have + (have > 0) + n < sizeof(r->auth)) {
			if (have > 0)
				r->auth[have++] = ' ';
			for (k = i; k < j; k++) {
				c = p[k];
				if (c >= 'a' && c <= 'z')
					c = (char)(c - 'a' + 'A');
				r->auth[have++] = c;
			}
			r->auth[have] = '\0';
		}
		i = j;
	}
}
