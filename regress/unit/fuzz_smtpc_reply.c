/*
 * libFuzzer target for mta/smtpc_reply.c and, driven by it, the client
 * engine mta/smtpc_proto.c.  The input is server output: lines cut at
 * LF (a CR before the LF is stripped, any other CR stays in the line).
 * The first byte selects the mode: even = the reply parser alone, odd =
 * a whole client session whose configuration bits come from the second
 * byte; lines longer than BOUNDS_LINE go in as overlong, as the session
 * reports them.  Invariants are checked with abort().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "mta/smtpc_proto.h"
#include "mta/smtpc_reply.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz {
	struct smtpc_proto	 p;
	struct smtpc_msg	 msg[3];
	size_t			 nmsg;		/* given so far */
	size_t			 ndone;
	int			 closed;
	int			 tls;
	int			 async;
	int			 wanted;
	size_t			 fed;
};

static const char *const fz_rcpt[] = { "a@x.example", "b@x.example",
    "c@x.example" };

static void	 fz_send(void *, const char *);
static void	 fz_data(void *, const char *, size_t);
static void	 fz_start_tls(void *);
static void	 fz_request(void *, enum smtpc_req);
static void	 fz_content_next(void *);
static void	 fz_ready(void *);
static void	 fz_done(void *, const struct smtpc_result *);
static void	 fz_close(void *, int, const char *);
static void	 fz_next(struct fz *);
static void	 fz_reply(const uint8_t *, size_t);
static void	 fz_session(const uint8_t *, size_t);

static const struct smtpc_ops fz_ops = {
	fz_send, fz_data, fz_start_tls, fz_request, fz_content_next,
	fz_ready, fz_done, fz_close, NULL
};

static void
fz_send(void *arg, const char *line)
{
	struct fz	*f = arg;

	if (f->closed || strchr(line, '\r') != NULL ||
	    strchr(line, '\n') != NULL || strlen(line) > 4 * BOUNDS_LINE)
		abort();
}

static void
fz_data(void *arg, const char *data, size_t len)
{
	struct fz	*f = arg;

	if (f->closed || len == 0)
		abort();
}

static void
fz_start_tls(void *arg)
{
	struct fz	*f = arg;

	f->tls = 1;
}

static void
fz_request(void *arg, enum smtpc_req kind)
{
	abort();
}

static void
fz_content_next(void *arg)
{
	struct fz	*f = arg;

	f->wanted = 1;
	if (!f->async) {
		f->wanted = 0;
		f->fed++;
		smtpc_proto_content(&f->p, ".a\rb\n.", 6, f->fed % 3 == 0);
	}
}

static void
fz_ready(void *arg)
{
	fz_next(arg);
}

static void
fz_done(void *arg, const struct smtpc_result *res)
{
	struct fz	*f = arg;

	if (f->closed || f->ndone >= f->nmsg || res->reason == NULL ||
	    res->status < SMTPC_DELIVERED ||
	    res->status > SMTPC_SESSION_FAILED ||
	    (res->status == SMTPC_SESSION_FAILED && res->code != 0) ||
	    (res->status == SMTPC_DELIVERED && res->reason[0] != '\0') ||
	    (res->rejected == NULL) != (res->nrejected == 0) ||
	    strlen(res->reason) > SMTPC_REPLY_TEXTMAX + 128)
		abort();
	f->ndone++;
	fz_next(f);
}

static void
fz_close(void *arg, int failed, const char *reason)
{
	struct fz	*f = arg;

	if (f->closed || f->ndone != f->nmsg)
		abort();
	f->closed = 1;
}

/* The next message, or QUIT after three. */
static void
fz_next(struct fz *f)
{
	/* counted first: done() may come from inside the call */
	if (f->nmsg < 3) {
		f->nmsg++;
		if (smtpc_proto_message(&f->p, &f->msg[f->nmsg - 1]) == -1)
			f->nmsg--;
	} else
		smtpc_proto_quit(&f->p);
}

static void
fz_reply(const uint8_t *data, size_t size)
{
	struct smtpc_reply	 r;
	const uint8_t		*e;
	size_t			 len;
	int			 rv;

	smtpc_reply_init(&r);
	while (size > 0) {
		e = memchr(data, '\n', size);
		len = e != NULL ? (size_t)(e - data) : size;
		rv = smtpc_reply_line(&r, (const char *)data,
		    len > 0 && data[len - 1] == '\r' ? len - 1 : len);
		if (r.nlines > SMTPC_REPLY_MAXLINES ||
		    r.nbytes > SMTPC_REPLY_MAXBYTES ||
		    strlen(r.text) > SMTPC_REPLY_TEXTMAX ||
		    strlen(r.auth) >= SMTPC_REPLY_AUTHMAX)
			abort();
		if (rv == SMTPC_REPLY_ERROR && r.errstr == NULL)
			abort();
		if (rv == SMTPC_REPLY_DONE && (r.code < 100 || r.code > 599 ||
		    !r.done))
			abort();
		if (rv != SMTPC_REPLY_MORE)
			smtpc_reply_init(&r);
		if (e == NULL)
			break;
		size -= len + 1;
		data += len + 1;
	}
}

static void
fz_session(const uint8_t *data, size_t size)
{
	struct smtpc_conf	 c;
	struct fz		*f;
	const uint8_t		*e;
	size_t			 i, len;
	unsigned int		 bits;

	if (size < 1)
		return;
	bits = data[0];
	data++;
	size--;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		abort();
	memset(&c, 0, sizeof(c));
	c.domain = bits & 0x80 ? "relay.example" : "relay";
	c.local_ip = "192.0.2.1";
	c.pipelining = bits & 0x01;
	c.tls = bits & 0x02;
	c.tls_required = (bits & 0x06) == 0x06;
	c.forward_to_some = bits & 0x08;
	c.binarymimestrict = c.eightbitstrict = c.smtputf8strict =
	    bits & 0x10;
	f->async = bits & 0x20;
	for (i = 0; i < 3; i++) {
		f->msg[i].from = i == 1 ? "" : "s@x.example";
		f->msg[i].rcpt = fz_rcpt;
		f->msg[i].nrcpt = (i + bits) % 4;
		f->msg[i].body = (int)((i + (bits >> 2)) % 4);
		f->msg[i].smtputf8 = (int)(i & 1);
		f->msg[i].size = i * 100;
		f->msg[i].auth = i == 2 ? "<>" : NULL;
	}
	smtpc_proto_init(&f->p, &c, &fz_ops, f);
	smtpc_proto_start(&f->p);
	if (bits & 0x40)
		smtpc_proto_prompt_timeout(&f->p);
	while (size > 0 && !f->closed) {
		e = memchr(data, '\n', size);
		len = e != NULL ? (size_t)(e - data) : size;
		if (len > BOUNDS_LINE)
			smtpc_proto_overlong(&f->p);
		else
			smtpc_proto_line(&f->p, (const char *)data,
			    len > 0 && data[len - 1] == '\r' ? len - 1 : len);
		if (f->tls && !f->closed) {
			f->tls = 0;
			smtpc_proto_tls_done(&f->p);
		}
		if (f->wanted && !f->closed) {
			f->wanted = 0;
			f->fed++;
			smtpc_proto_content(&f->p, "x\r\n..\r", 6,
			    f->fed % 2 == 0);
		}
		if (e == NULL)
			break;
		size -= len + 1;
		data += len + 1;
	}
	if (!f->closed)
		smtpc_proto_fail(&f->p, "connection closed");
	if (!f->closed || f->ndone != f->nmsg)
		abort();
	smtpc_proto_clear(&f->p);
	free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return (0);
	if (data[0] & 1)
		fz_session(data + 1, size - 1);
	else
		fz_reply(data + 1, size - 1);
	return (0);
}
