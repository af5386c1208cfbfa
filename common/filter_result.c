/*
 * Filter and verifier results: exit codes and stdout (filter_result.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "filter_result.h"

#define FILTER_DEFAULT_CODE	452

/* One line of output: len bytes at p, no LF, no trailing CR. */
struct fr_line {
	const char	*p;
	size_t		 len;
};

static int	 fr_nextline(const char **, const char *, struct fr_line *);
static int	 fr_bracketed(const struct fr_line *, struct fr_line *);
static void	 fr_texts(const char *, size_t, struct filter_outcome *);
static void	 fr_clean(char *, size_t, const char *, size_t);
static int	 fr_code(const char *);
static void	 fr_fail(struct filter_outcome *, const char *, size_t);
static void	 fr_timeout(struct filter_outcome *);

void
filter_result_server(int exit_status, int timed_out, const char *out,
    size_t len, struct filter_outcome *o)
{
	memset(o, 0, sizeof(*o));
	if (timed_out) {
		fr_timeout(o);
		return;
	}
	switch (exit_status) {
	case 0:
	case 101:
		o->action = FILTER_PASS;
		break;
	case 100:
		o->action = FILTER_ABANDON;
		break;
	case 102:
		o->action = FILTER_ABANDON;
		o->rescan = 1;
		break;
	case 103:
		o->action = FILTER_PASS;
		o->rescan = 1;
		break;
	case 104:
		o->rescan = 1;
		fr_fail(o, out, len);
		break;
	default:
		/* 105, 1-99, 106 and up, negative. */
		fr_fail(o, out, len);
		break;
	}
}

void
filter_result_client(int exit_status, int timed_out, const char *out,
    size_t len, struct filter_outcome *o)
{
	memset(o, 0, sizeof(*o));
	if (timed_out) {
		fr_timeout(o);
		return;
	}
	switch (exit_status) {
	case 0:
	case 101:
	case 103:
		o->action = FILTER_PASS;
		break;
	case 100:
		o->action = FILTER_ABANDON;
		break;
	case 102:
		o->action = FILTER_PASS;
		o->endpass = 1;
		break;
	case 104:
		o->action = FILTER_ABANDON;
		o->endpass = 1;
		break;
	case 105:
		o->endpass = 1;
		fr_fail(o, out, len);
		break;
	default:
		fr_fail(o, out, len);
		break;
	}
}

void
verifier_result(int exit_status, int timed_out, const char *out,
    size_t len, struct verify_outcome *o)
{
	struct fr_line	 l1, l2;
	const char	*p, *end;
	size_t		 i;
	int		 two;

	memset(o, 0, sizeof(*o));
	if (timed_out) {
		o->result = VERIFY_TEMP;
		o->code = 450;
		(void)strlcpy(o->text, "timeout", sizeof(o->text));
		return;
	}
	if (out == NULL)
		len = 0;
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' ||
	    out[len - 1] == ' ' || out[len - 1] == '\t'))
		len--;
	p = out;
	end = out + len;
	memset(&l1, 0, sizeof(l1));
	memset(&l2, 0, sizeof(l2));
	if (len > 0)
		(void)fr_nextline(&p, end, &l1);
	two = len > 0 && fr_nextline(&p, end, &l2) && l2.len > 0;

	switch (exit_status) {
	case 0:
	case 1:
		if (!two || l2.len > FILTER_TEXT_MAX)
			break;
		for (i = 0; i < l2.len; i++)
			if ((unsigned char)l2.p[i] < 0x20 || l2.p[i] == 0x7f)
				break;
		if (i < l2.len)
			break;
		memcpy(o->mailbox, l2.p, l2.len);
		o->mailbox[l2.len] = '\0';
		o->code = 250;
		if (exit_status == 0) {
			o->result = VERIFY_LOCAL;
			fr_clean(o->fullname, sizeof(o->fullname), l1.p,
			    l1.len);
		} else
			o->result = VERIFY_REMOTE;
		return;
	case 3:
		o->result = VERIFY_TEMP;
		o->code = 450;
		fr_clean(o->text, sizeof(o->text), l1.p, l1.len);
		break;
	case 100:
		o->result = VERIFY_ABORT;
		o->code = 0;
		return;
	default:
		o->result = VERIFY_INVALID;
		o->code = 550;
		fr_clean(o->text, sizeof(o->text), l1.p, l1.len);
		break;
	}
	if (exit_status == 0 || exit_status == 1) {
		/* Too few lines, or a bad second one. */
		o->result = VERIFY_INVALID;
		o->code = 550;
	}
	if (o->text[0] == '\0')
		(void)strlcpy(o->text, "mailbox unavailable", sizeof(o->text));
}

/*
 * The next line from *pp (before end) into *l, without its LF and a CR
 * before it; advances *pp past the LF.  Returns 0 at the end.
 */
static int
fr_nextline(const char **pp, const char *end, struct fr_line *l)
{
	const char	*p = *pp, *nl;

	if (p == NULL || p >= end)
		return (0);
	if ((nl = memchr(p, '\n', end - p)) == NULL)
		nl = end;
	l->p = p;
	l->len = nl - p;
	if (l->len > 0 && p[l->len - 1] == '\r')
		l->len--;
	*pp = nl < end ? nl + 1 : end;
	return (1);
}

/*
 * A line "<<text>>..." or "[[text]]...": *text is what lies between the
 * opening pair and the first closing one.  Returns 1 when it is one.
 */
static int
fr_bracketed(const struct fr_line *l, struct fr_line *text)
{
	const char	*close;
	size_t		 i;

	if (l->len < 4)
		return (0);
	if (l->p[0] == '<' && l->p[1] == '<')
		close = ">>";
	else if (l->p[0] == '[' && l->p[1] == '[')
		close = "]]";
	else
		return (0);
	for (i = 2; i + 1 < l->len; i++) {
		if (l->p[i] == close[0] && l->p[i + 1] == close[1]) {
			text->p = l->p + 2;
			text->len = i - 2;
			return (1);
		}
	}
	return (0);
}

/* Response and reason from the first two bracketed lines. */
static void
fr_texts(const char *out, size_t len, struct filter_outcome *o)
{
	struct fr_line	 l, t;
	const char	*p = out, *end;
	int		 n = 0;

	if (out == NULL)
		return;
	end = out + len;
	while (n < 2 && fr_nextline(&p, end, &l)) {
		if (!fr_bracketed(&l, &t))
			continue;
		if (n == 0)
			fr_clean(o->response, sizeof(o->response), t.p, t.len);
		else
			fr_clean(o->reason, sizeof(o->reason), t.p, t.len);
		n++;
	}
}

/*
 * Copy len bytes at src to dst (dstsz bytes, NUL-terminated), printable
 * ASCII only: a tab becomes a space, other bytes '?'; cut at dstsz - 1.
 */
static void
fr_clean(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t		 i;
	unsigned char	 c;

	if (dstsz == 0)
		return;
	for (i = 0; i < len && i < dstsz - 1; i++) {
		c = (unsigned char)src[i];
		if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c > 0x7e)
			c = '?';
		dst[i] = (char)c;
	}
	dst[i] = '\0';
}

/* 4xx or 5xx followed by a space (a tab was made one): the code, else 0. */
static int
fr_code(const char *s)
{
	if ((s[0] != '4' && s[0] != '5') || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9' || s[3] != ' ')
		return (0);
	return ((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
}

static void
fr_fail(struct filter_outcome *o, const char *out, size_t len)
{
	o->action = FILTER_FAIL;
	fr_texts(out, len, o);
	if (o->response[0] == '\0')
		(void)strlcpy(o->response, "rejected", sizeof(o->response));
	if (o->reason[0] == '\0')
		(void)strlcpy(o->reason, o->response, sizeof(o->reason));
	o->code = fr_code(o->response);
	if (o->code != 0)
		(void)strlcpy(o->reply, o->response, sizeof(o->reply));
	else {
		/* "452 " and the response cut to fit FILTER_TEXT_MAX. */
		(void)snprintf(o->reply, sizeof(o->reply), "%d %.*s",
		    FILTER_DEFAULT_CODE, FILTER_TEXT_MAX - 4, o->response);
	}
}

static void
fr_timeout(struct filter_outcome *o)
{
	o->action = FILTER_FAIL;
	o->timed_out = 1;
	(void)strlcpy(o->response, "error", sizeof(o->response));
	(void)strlcpy(o->reason, "timeout", sizeof(o->reason));
	(void)snprintf(o->reply, sizeof(o->reply), "%d error",
	    FILTER_DEFAULT_CODE);
}
