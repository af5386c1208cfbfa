/*
 * libFuzzer target for control/admin_proto.c.  The first byte selects the
 * configuration (forwarding address, --admin-terminate, a copyright
 * line), whether requests are answered from inside the request callback
 * or later, and whether answers come in parts; the rest is client input,
 * fed the way the session does (lines cut at LF, fragments of overlong
 * lines, nothing while busy).  Each request gets a status and text taken
 * from the input byte at a rotating position, and events are pushed
 * between lines and while requests are outstanding.  Invariants are
 * checked with abort(): the output is CRLF lines and prompts with no
 * other control characters, nothing goes out while a request is
 * outstanding except its parts, at most one request is outstanding and
 * one-way ones are never answered, nothing is sent after the close.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "msg.h"
#include "control/admin_proto.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz {
	struct admin_proto	 p;
	const uint8_t		*data;
	size_t			 size;
	size_t			 rot;
	int			 sync;
	int			 parts;
	enum admin_req		 pending;
	int			 answering;	/* inside a reply call */
	int			 closed;
	int			 lastcr;
};

static void	 fz_send(void *, const char *, size_t);
static void	 fz_request(void *, const struct admin_request *);
static void	 fz_close(void *, const char *);
static uint8_t	 fz_byte(struct fz *);
static void	 fz_event(struct fz *);
static void	 fz_answer(struct fz *);

static const struct admin_ops fz_ops = { fz_send, fz_request, fz_close };

static const char *const fz_texts[] = {
	NULL, "", "\n", "emailrelay.1.2.3\nemailrelay.1.2.4\n",
	"a\r\nb", "no messages to send", "error: still working",
	"LISTEN: 127.0.0.1:25\n\nIN started: 1\r\n", "x\ry\0z",
	"\033[2J\x7f\t", "\r\r\n\n\r"
};

static uint8_t
fz_byte(struct fz *f)
{
	return (f->size > 0 ? f->data[f->rot++ % f->size] : 0);
}

static void
fz_send(void *arg, const char *data, size_t len)
{
	struct fz	*f = arg;
	size_t		 i;
	unsigned char	 c;

	if (len == 0 || f->closed)
		abort();
	/* while waiting only the parts of the answer go out */
	if (f->pending != ADMIN_REQ_NONE && !f->answering)
		abort();
	for (i = 0; i < len; i++) {
		c = (unsigned char)data[i];
		if (f->lastcr && c != '\n')
			abort();
		if (c == '\n') {
			if (!f->lastcr)
				abort();
			f->lastcr = 0;
			continue;
		}
		if (c == '\r') {
			f->lastcr = 1;
			continue;
		}
		if (c < 32 || c == 127)
			abort();
	}
}

static void
fz_request(void *arg, const struct admin_request *req)
{
	struct fz	*f = arg;

	if (req->kind == ADMIN_REQ_NONE || f->closed)
		abort();
	if (req->kind == ADMIN_REQ_NOTIFY) {
		if (!admin_proto_notifying(&f->p))
			abort();
		return;
	}
	if (req->kind == ADMIN_REQ_TERMINATE) {
		if (!admin_proto_closed(&f->p))
			abort();
		return;
	}
	if (f->pending != ADMIN_REQ_NONE || !admin_proto_busy(&f->p))
		abort();
	if (req->kind == ADMIN_REQ_DNSBL && req->enable &&
	    req->seconds != 0)
		abort();
	if (req->seconds > ADMIN_PROTO_DNSBLMAX)
		abort();
	f->pending = req->kind;
	if (f->sync)
		fz_answer(f);
}

static void
fz_close(void *arg, const char *reason)
{
	struct fz	*f = arg;

	if (f->closed++ != 0 || reason == NULL || f->pending != ADMIN_REQ_NONE)
		abort();
}

/* An event of input-chosen length and content. */
static void
fz_event(struct fz *f)
{
	char	 text[ADMIN_PROTO_EVENTMAX + 16];
	size_t	 i, n;
	int	 r;

	n = (size_t)fz_byte(f) * 3 % sizeof(text);
	for (i = 0; i < n; i++)
		text[i] = (char)fz_byte(f);
	text[n] = '\0';
	if (n > 0 && text[0] == '\0')
		text[0] = 'e';
	r = admin_proto_event(&f->p, text);
	if (r < -1 || r > 1)
		abort();
	if ((r == 0) == admin_proto_notifying(&f->p))
		abort();
	if (f->p.heldlen > ADMIN_PROTO_HELDMAX)
		abort();
}

static void
fz_answer(struct fz *f)
{
	uint8_t		 b;
	int		 status;
	enum admin_req	 kind = f->pending;
	size_t		 nt = sizeof(fz_texts) / sizeof(fz_texts[0]);
	int		 list;

	b = fz_byte(f);
	status = (b & 3) == 3 ? MSG_OK : b & 3;
	if (b & 0x80)
		fz_event(f);
	list = kind == ADMIN_REQ_LIST || kind == ADMIN_REQ_FAILURES ||
	    kind == ADMIN_REQ_STATUS;
	f->answering = 1;
	if (f->parts && list) {
		if (admin_proto_reply_part(&f->p, fz_texts[(b >> 2) % nt]) != 0)
			abort();
	} else if (!list && admin_proto_reply_part(&f->p, "x") != -1)
		abort();
	f->answering = 0;
	if (b & 0x40)
		fz_event(f);
	f->pending = ADMIN_REQ_NONE;
	f->answering = 1;
	if (admin_proto_reply(&f->p, status, fz_texts[(b >> 4) % nt]) != 0)
		abort();
	f->answering = 0;
	if (admin_proto_reply(&f->p, MSG_OK, NULL) != -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_proto_conf	 c;
	struct fz		 f;
	const char		*in, *nl;
	size_t			 len, used;
	unsigned int		 fl;

	if (size < 1)
		return (0);
	fl = data[0];
	memset(&f, 0, sizeof(f));
	memset(&c, 0, sizeof(c));
	c.version = "2.6.1";
	c.pid = 4242;
	c.forward_to = (fl & 0x01) != 0;
	c.terminate = (fl & 0x02) != 0;
	c.copyright = (fl & 0x04) ? "Copyright (C) the authors" : NULL;
	f.sync = (fl & 0x08) != 0;
	f.parts = (fl & 0x10) != 0;
	f.data = data;
	f.size = size;
	f.rot = 1;
	admin_proto_init(&f.p, &c, &fz_ops, &f);

	in = (const char *)data + 1;
	len = size - 1;
	while (len > 0 && !admin_proto_closed(&f.p)) {
		if (f.pending != ADMIN_REQ_NONE) {
			if (fl & 0x20)
				fz_event(&f);
			fz_answer(&f);
			continue;
		}
		if (admin_proto_busy(&f.p))
			abort();
		nl = memchr(in, '\n', len);
		if (nl != NULL && (size_t)(nl - in) < ADMIN_PROTO_LINEMAX)
			used = (size_t)(nl - in) + 1;
		else if (len >= ADMIN_PROTO_LINEMAX)
			used = ADMIN_PROTO_LINEMAX;
		else
			used = len;	/* last piece: a fragment */
		if (admin_proto_line(&f.p, in, used) != ADMIN_PROTO_OK)
			abort();
		if (f.p.errors > ADMIN_PROTO_MAXERRORS)
			abort();
		if (fl & 0x40)
			fz_event(&f);
		in += used;
		len -= used;
	}
	if (f.pending != ADMIN_REQ_NONE)
		fz_answer(&f);
	if (admin_proto_closed(&f.p) && (f.closed != 1 ||
	    admin_proto_event(&f.p, "x") != 0 ||
	    admin_proto_line(&f.p, "help\n", 5) != ADMIN_PROTO_BUSY))
		abort();
	return (0);
}
