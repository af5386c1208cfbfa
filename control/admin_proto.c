/*
 * Admin-port protocol engine (SPEC sections 9 and 14).  See admin_proto.h.
 *
 * One state enum, one command table, check-then-proceed per command.
 * Answers are E-MailRelay's wording, byte for byte, with its "\r\n" line
 * ends and its prompt without a line end.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "msg.h"
#include "admin_proto.h"

#define R_OK		"OK"
#define R_NONE		"<none>"
#define R_NOINFO	"no info"
#define R_UNRECOGNISED	"error: unrecognised command"
#define R_NOREMOTE	"error: no remote server configured: use --forward-to"
#define R_SMTPUSAGE	"usage: smtp {disable|enable}"
#define R_DNSBLUSAGE	"usage: dnsbl {start|stop [<seconds>]}"
#define R_ERROR		"error: "
#define R_FAILED	"request failed"
#define R_EVENT		"EVENT: "

#define REASON_QUIT	"quit"
#define REASON_TERM	"terminate"
#define REASON_ERRORS	"too many unrecognised commands"

#define CRLF		"\r\n"
#define OUTBUF		512	/* octets per ops->send() while cleaning */
#define REASONMAX	512	/* error reason, longer is cut */

struct proto_cmd {
	const char	*verb;
	void		(*fn)(struct admin_proto *, char *);
	int		 privileged;	/* only with --admin-terminate */
};

static void	 proto_send(struct admin_proto *, const char *, size_t);
static void	 proto_begin(struct admin_proto *);
static void	 proto_end(struct admin_proto *);
static void	 proto_flush_held(struct admin_proto *);
static void	 proto_line(struct admin_proto *, const char *, size_t);
static size_t	 proto_lines(struct admin_proto *, const char *, int);
static void	 proto_answer(struct admin_proto *, const char *);
static void	 proto_error(struct admin_proto *, const char *);
static void	 proto_close(struct admin_proto *, const char *);
static void	 proto_request(struct admin_proto *, struct admin_request *);
static void	 proto_oneway(struct admin_proto *, enum admin_req);
static void	 proto_unrecognised(struct admin_proto *);
static void	 proto_command(struct admin_proto *, const char *, size_t);
static int	 proto_blank(int);
static char	*proto_word(char **);
static void	 cmd_dnsbl(struct admin_proto *, char *);
static void	 cmd_failures(struct admin_proto *, char *);
static void	 cmd_flush(struct admin_proto *, char *);
static void	 cmd_forward(struct admin_proto *, char *);
static void	 cmd_help(struct admin_proto *, char *);
static void	 cmd_info(struct admin_proto *, char *);
static void	 cmd_list(struct admin_proto *, char *);
static void	 cmd_notify(struct admin_proto *, char *);
static void	 cmd_pid(struct admin_proto *, char *);
static void	 cmd_quit(struct admin_proto *, char *);
static void	 cmd_smtp(struct admin_proto *, char *);
static void	 cmd_status(struct admin_proto *, char *);
static void	 cmd_terminate(struct admin_proto *, char *);
static void	 cmd_unfail_all(struct admin_proto *, char *);

/* In alphabetical order: "help" lists them as they stand here. */
static const struct proto_cmd proto_cmds[] = {
	{ "dnsbl",	cmd_dnsbl,	0 },
	{ "failures",	cmd_failures,	0 },
	{ "flush",	cmd_flush,	0 },
	{ "forward",	cmd_forward,	0 },
	{ "help",	cmd_help,	0 },
	{ "info",	cmd_info,	0 },
	{ "list",	cmd_list,	0 },
	{ "notify",	cmd_notify,	0 },
	{ "pid",	cmd_pid,	0 },
	{ "quit",	cmd_quit,	0 },
	{ "smtp",	cmd_smtp,	0 },
	{ "status",	cmd_status,	0 },
	{ "terminate",	cmd_terminate,	1 },
	{ "unfail-all",	cmd_unfail_all,	0 },
};

static void
proto_send(struct admin_proto *p, const char *data, size_t len)
{
	if (len > 0)
		p->ops->send(p->arg, data, len);
}

/* A reply starts: events are held until proto_end(). */
static void
proto_begin(struct admin_proto *p)
{
	p->writing++;
	p->nlines = 0;
}

/* The reply is complete: the prompt, then any events held meanwhile. */
static void
proto_end(struct admin_proto *p)
{
	proto_send(p, ADMIN_PROTO_PROMPT, sizeof(ADMIN_PROTO_PROMPT) - 1);
	p->writing--;
	proto_flush_held(p);
}

/* Send the held events once nothing is outstanding or being written. */
static void
proto_flush_held(struct admin_proto *p)
{
	char	 buf[ADMIN_PROTO_HELDMAX];
	size_t	 n;

	while (p->heldlen > 0 && p->writing == 0 &&
	    p->state == ADMIN_ST_CMD) {
		/* a copy: ops->send() may bring new events */
		n = p->heldlen;
		memcpy(buf, p->held, n);
		p->heldlen = 0;
		p->writing++;
		proto_send(p, buf, n);
		p->writing--;
	}
	if (p->state == ADMIN_ST_CLOSED)
		p->heldlen = 0;
}

/*
 * One line of output with CRLF: control characters become spaces, other
 * octets go as they are.  len bytes at text, no terminator inside.
 */
static void
proto_line(struct admin_proto *p, const char *text, size_t len)
{
	char		 buf[OUTBUF];
	size_t		 i, n = 0;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		if (n == sizeof(buf)) {
			proto_send(p, buf, n);
			n = 0;
		}
		c = (unsigned char)text[i];
		buf[n++] = (c < 32 || c == 127) ? ' ' : (char)c;
	}
	proto_send(p, buf, n);
	proto_send(p, CRLF, sizeof(CRLF) - 1);
	p->nlines++;
}

/*
 * Send text as lines: split at LF, a CR before it dropped, a last line
 * without LF sent too.  With skip_empty, empty lines are left out.
 * Returns the number of lines sent.
 */
static size_t
proto_lines(struct admin_proto *p, const char *text, int skip_empty)
{
	const char	*nl;
	size_t		 len, sent = 0;

	if (text == NULL)
		return (0);
	while (*text != '\0') {
		if ((nl = strchr(text, '\n')) != NULL)
			len = (size_t)(nl - text);
		else
			len = strlen(text);
		if (len > 0 && text[len - 1] == '\r')
			len--;
		if (len > 0 || !skip_empty) {
			proto_line(p, text, len);
			sent++;
		}
		if (nl == NULL)
			break;
		text = nl + 1;
	}
	return (sent);
}

/* A one-line answer and the prompt. */
static void
proto_answer(struct admin_proto *p, const char *line)
{
	proto_begin(p);
	proto_line(p, line, strlen(line));
	proto_end(p);
}

/* "error: <reason>" (a leading "error:" in reason is not doubled). */
static void
proto_error(struct admin_proto *p, const char *reason)
{
	char	 buf[sizeof(R_ERROR) + REASONMAX];
	size_t	 len;

	if (reason != NULL && strncasecmp(reason, "error:", 6) == 0)
		reason += 6;
	while (reason != NULL && proto_blank((unsigned char)*reason))
		reason++;
	if (reason == NULL || *reason == '\0')
		reason = R_FAILED;
	(void)snprintf(buf, sizeof(buf), "%s%s", R_ERROR, reason);
	/* a longer reason is cut; a line end inside becomes a space */
	len = strlen(buf);
	while (len > 0 && ((unsigned char)buf[len - 1] <= ' ' ||
	    buf[len - 1] == 127))
		len--;
	proto_begin(p);
	proto_line(p, buf, len);
	proto_end(p);
}

static void
proto_close(struct admin_proto *p, const char *reason)
{
	p->state = ADMIN_ST_CLOSED;
	p->heldlen = 0;
	p->ops->close(p->arg, reason);
}

/*
 * Hand a request to the session.  The last thing a caller does: the
 * session may answer at once, from inside the call.
 */
static void
proto_request(struct admin_proto *p, struct admin_request *req)
{
	p->state = ADMIN_ST_WAIT;
	p->wait = req->kind;
	p->nlines = 0;
	p->ops->request(p->arg, req);
}

/* A request that gets no reply. */
static void
proto_oneway(struct admin_proto *p, enum admin_req kind)
{
	struct admin_request	 req;

	memset(&req, 0, sizeof(req));
	req.kind = kind;
	p->ops->request(p->arg, &req);
}

/* The answer to anything not understood; the last one closes. */
static void
proto_unrecognised(struct admin_proto *p)
{
	proto_begin(p);
	proto_line(p, R_UNRECOGNISED, sizeof(R_UNRECOGNISED) - 1);
	if (++p->errors >= ADMIN_PROTO_MAXERRORS) {
		p->writing--;
		proto_close(p, REASON_ERRORS);
		return;
	}
	proto_end(p);
}

static int
proto_blank(int c)
{
	return (c == ' ' || c == '\t' || c == '\r');
}

/*
 * The next blank-separated word of *s, NUL-terminated in place; *s moves
 * past it and the blanks after it.  Returns "" at the end.
 */
static char *
proto_word(char **s)
{
	char	*w = *s, *e;

	for (e = w; *e != '\0' && !proto_blank((unsigned char)*e); e++)
		;
	if (*e != '\0')
		*e++ = '\0';
	while (proto_blank((unsigned char)*e))
		e++;
	*s = e;
	return (w);
}

void
admin_proto_init(struct admin_proto *p, const struct admin_proto_conf *conf,
    const struct admin_ops *ops, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->arg = arg;
	p->state = ADMIN_ST_CMD;
	p->wait = ADMIN_REQ_NONE;
	(void)strlcpy(p->version, conf->version != NULL ? conf->version : "",
	    sizeof(p->version));
	(void)strlcpy(p->copyright, conf->copyright != NULL ?
	    conf->copyright : "", sizeof(p->copyright));
	p->pid = conf->pid;
	p->forward_to = conf->forward_to != 0;
	p->terminate = conf->terminate != 0;
}

int
admin_proto_line(struct admin_proto *p, const char *line, size_t len)
{
	size_t	 n;

	if (p->state != ADMIN_ST_CMD)
		return (ADMIN_PROTO_BUSY);
	if (len == 0)
		return (ADMIN_PROTO_OK);
	if (line[len - 1] != '\n') {
		/* a fragment of an overlong line: drop it, answer at LF */
		p->overlong = 1;
		return (ADMIN_PROTO_OK);
	}
	if (p->overlong || len > ADMIN_PROTO_LINEMAX) {
		p->overlong = 0;
		proto_unrecognised(p);
		return (ADMIN_PROTO_OK);
	}
	n = len - 1;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	proto_command(p, line, n);
	return (ADMIN_PROTO_OK);
}

/* One command line without terminator. */
static void
proto_command(struct admin_proto *p, const char *line, size_t len)
{
	char	 buf[ADMIN_PROTO_LINEMAX + 1];
	char	*s, *verb;
	size_t	 i;

	if (memchr(line, '\0', len) != NULL || len >= sizeof(buf)) {
		proto_unrecognised(p);
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	while (len > 0 && proto_blank((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	for (s = buf; proto_blank((unsigned char)*s); s++)
		;
	if (*s == '\0') {
		/* telnet users press return to get a prompt */
		proto_begin(p);
		proto_end(p);
		return;
	}
	verb = proto_word(&s);
	for (i = 0; i < sizeof(proto_cmds) / sizeof(proto_cmds[0]); i++) {
		if (strcasecmp(verb, proto_cmds[i].verb) != 0)
			continue;
		if (proto_cmds[i].privileged && !p->terminate)
			break;
		proto_cmds[i].fn(p, s);
		return;
	}
	proto_unrecognised(p);
}

static void
cmd_help(struct admin_proto *p, char *args)
{
	char	 buf[256];
	size_t	 i;
	int	 first = 1;

	if (strlcpy(buf, "commands: ", sizeof(buf)) >= sizeof(buf))
		return;
	for (i = 0; i < sizeof(proto_cmds) / sizeof(proto_cmds[0]); i++) {
		if (proto_cmds[i].privileged && !p->terminate)
			continue;
		if ((!first && strlcat(buf, ", ", sizeof(buf)) >=
		    sizeof(buf)) ||
		    strlcat(buf, proto_cmds[i].verb, sizeof(buf)) >=
		    sizeof(buf))
			break;	/* the table fits; cannot happen */
		first = 0;
	}
	proto_answer(p, buf);
}

/* forward and flush: only with a forwarding address. */
static void
cmd_forward(struct admin_proto *p, char *args)
{
	struct admin_request	 req;

	if (!p->forward_to) {
		proto_answer(p, R_NOREMOTE);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = ADMIN_REQ_FORWARD;
	proto_request(p, &req);
}

static void
cmd_flush(struct admin_proto *p, char *args)
{
	struct admin_request	 req;

	if (!p->forward_to) {
		proto_answer(p, R_NOREMOTE);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = ADMIN_REQ_FLUSH;
	proto_request(p, &req);
}

static void
cmd_unfail_all(struct admin_proto *p, char *args)
{
	struct admin_request	 req;

	memset(&req, 0, sizeof(req));
	req.kind = ADMIN_REQ_UNFAIL_ALL;
	proto_request(p, &req);
}

static void
cmd_list(struct admin_proto *p, char *args)
{
	struct admin_request	 req;

	memset(&req, 0, sizeof(req));
	req.kind = ADMIN_REQ_LIST;
	proto_request(p, &req);
}

static void
cmd_failures(struct admin_proto *p, char *args)
{
	struct admin_request	 req;

	memset(&req, 0, sizeof(req));
	req.kind = ADMIN_REQ_FAILURES;
	proto_request(p, &req);
}

static void
cmd_status(struct admin_proto *p, char *args)
{
	struct admin_request	 req;

	memset(&req, 0, sizeof(req));
	req.kind = ADMIN_REQ_STATUS;
	proto_request(p, &req);
}

/*
 * No reply line, only the prompt; the one-way request goes after it so
 * that an event sent from inside the call follows the prompt.
 */
static void
cmd_notify(struct admin_proto *p, char *args)
{
	int	 first = !p->notify;

	p->notify = 1;
	proto_begin(p);
	proto_end(p);
	if (first)
		proto_oneway(p, ADMIN_REQ_NOTIFY);
}

static void
cmd_pid(struct admin_proto *p, char *args)
{
	char	 buf[32];

	(void)snprintf(buf, sizeof(buf), "%ld", p->pid);
	proto_answer(p, buf);
}

static void
cmd_info(struct admin_proto *p, char *args)
{
	char	 usage[64];

	if (strcasecmp(args, "version") == 0) {
		proto_answer(p, p->version);
		return;
	}
	if (p->copyright[0] != '\0' && strcasecmp(args, "copyright") == 0) {
		proto_answer(p, p->copyright);
		return;
	}
	(void)snprintf(usage, sizeof(usage), "usage: info {%sversion}",
	    p->copyright[0] != '\0' ? "copyright|" : "");
	proto_answer(p, usage);
}

static void
cmd_smtp(struct admin_proto *p, char *args)
{
	struct admin_request	 req;

	memset(&req, 0, sizeof(req));
	req.kind = ADMIN_REQ_SMTP;
	if (strcasecmp(args, "enable") == 0)
		req.enable = 1;
	else if (strcasecmp(args, "disable") == 0)
		req.enable = 0;
	else {
		proto_answer(p, R_SMTPUSAGE);
		return;
	}
	proto_request(p, &req);
}

static void
cmd_dnsbl(struct admin_proto *p, char *args)
{
	struct admin_request	 req;
	const char		*errstr;
	char			*word;
	size_t			 i;
	long long		 n;

	memset(&req, 0, sizeof(req));
	req.kind = ADMIN_REQ_DNSBL;
	word = proto_word(&args);
	if (strcasecmp(word, "start") == 0 && *args == '\0')
		req.enable = 1;
	else if (strcasecmp(word, "stop") == 0) {
		req.enable = 0;
		word = proto_word(&args);
		if (*args != '\0')
			goto usage;
		if (*word != '\0') {
			/* digits only: strtonum would take "+5" or " 5" */
			for (i = 0; word[i] != '\0'; i++)
				if (word[i] < '0' || word[i] > '9')
					goto usage;
			n = strtonum(word, 0, ADMIN_PROTO_DNSBLMAX, &errstr);
			if (errstr != NULL)
				goto usage;
			req.seconds = (unsigned int)n;
		}
	} else
		goto usage;
	proto_request(p, &req);
	return;
 usage:
	proto_answer(p, R_DNSBLUSAGE);
}

static void
cmd_quit(struct admin_proto *p, char *args)
{
	proto_close(p, REASON_QUIT);
}

/* Only reached with --admin-terminate (see proto_command()). */
static void
cmd_terminate(struct admin_proto *p, char *args)
{
	/* closed first: nothing more goes out, not even an event */
	p->state = ADMIN_ST_CLOSED;
	p->heldlen = 0;
	proto_oneway(p, ADMIN_REQ_TERMINATE);
	p->ops->close(p->arg, REASON_TERM);
}

int
admin_proto_reply(struct admin_proto *p, int status, const char *text)
{
	enum admin_req	 kind;
	size_t		 n;

	if (p->state != ADMIN_ST_WAIT)
		return (-1);
	kind = p->wait;
	switch (kind) {
	case ADMIN_REQ_FORWARD:
	case ADMIN_REQ_FLUSH:
	case ADMIN_REQ_UNFAIL_ALL:
	case ADMIN_REQ_LIST:
	case ADMIN_REQ_FAILURES:
	case ADMIN_REQ_STATUS:
	case ADMIN_REQ_SMTP:
	case ADMIN_REQ_DNSBL:
		break;
	default:
		return (-1);
	}
	p->state = ADMIN_ST_CMD;
	p->wait = ADMIN_REQ_NONE;
	if (status != MSG_OK) {
		proto_error(p, text);
		return (0);
	}
	/* nlines counts what admin_proto_reply_part() sent already */
	n = p->nlines;
	p->writing++;
	switch (kind) {
	case ADMIN_REQ_UNFAIL_ALL:
		proto_line(p, "", 0);
		break;
	case ADMIN_REQ_LIST:
	case ADMIN_REQ_FAILURES:
		n += proto_lines(p, text, 1);
		if (n == 0)
			proto_line(p, R_NONE, sizeof(R_NONE) - 1);
		break;
	case ADMIN_REQ_STATUS:
		n += proto_lines(p, text, 0);
		if (n == 0)
			proto_line(p, R_NOINFO, sizeof(R_NOINFO) - 1);
		break;
	default:
		proto_line(p, R_OK, sizeof(R_OK) - 1);
		break;
	}
	proto_end(p);
	return (0);
}

int
admin_proto_reply_part(struct admin_proto *p, const char *text)
{
	if (p->state != ADMIN_ST_WAIT || (p->wait != ADMIN_REQ_LIST &&
	    p->wait != ADMIN_REQ_FAILURES && p->wait != ADMIN_REQ_STATUS))
		return (-1);
	p->writing++;
	(void)proto_lines(p, text, p->wait != ADMIN_REQ_STATUS);
	p->writing--;
	return (0);
}

int
admin_proto_event(struct admin_proto *p, const char *text)
{
	char	 buf[sizeof(R_EVENT) + ADMIN_PROTO_EVENTMAX + sizeof(CRLF) +
		    sizeof(ADMIN_PROTO_PROMPT)];
	size_t	 i, n;

	if (p->state == ADMIN_ST_CLOSED || !p->notify)
		return (0);
	n = sizeof(R_EVENT) - 1;
	memcpy(buf, R_EVENT, n);
	for (i = 0; text != NULL && text[i] != '\0' &&
	    i < ADMIN_PROTO_EVENTMAX; i++)
		buf[n++] = ((unsigned char)text[i] < 32 || text[i] == 127) ?
		    ' ' : text[i];
	memcpy(buf + n, CRLF, sizeof(CRLF) - 1);
	n += sizeof(CRLF) - 1;
	memcpy(buf + n, ADMIN_PROTO_PROMPT, sizeof(ADMIN_PROTO_PROMPT) - 1);
	n += sizeof(ADMIN_PROTO_PROMPT) - 1;
	if (p->state == ADMIN_ST_WAIT || p->writing > 0 || p->heldlen > 0) {
		if (n > sizeof(p->held) - p->heldlen) {
			p->dropped++;
			return (-1);
		}
		memcpy(p->held + p->heldlen, buf, n);
		p->heldlen += n;
		proto_flush_held(p);
		return (1);
	}
	proto_send(p, buf, n);
	return (1);
}

int
admin_proto_busy(const struct admin_proto *p)
{
	return (p->state != ADMIN_ST_CMD);
}

int
admin_proto_closed(const struct admin_proto *p)
{
	return (p->state == ADMIN_ST_CLOSED);
}

int
admin_proto_notifying(const struct admin_proto *p)
{
	return (p->notify && p->state != ADMIN_ST_CLOSED);
}
