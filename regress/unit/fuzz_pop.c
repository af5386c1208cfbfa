/*
 * libFuzzer target for pop/pop_proto.c.  The first two bytes select the
 * configuration and whether requests are answered from inside the
 * request callback or later; the rest is client input, fed the way the
 * session does (lines cut at LF, fragments of overlong lines, nothing
 * while busy; input after STLS is taken as sent after the handshake).
 * Each request gets a status, and each maildrop and message its shape,
 * from the input byte at a rotating position; message content is a
 * slice of the input in chunks of rotating sizes.  Every reply line must
 * be bounded and free of CR and LF, and the octets sent for RETR and TOP
 * must equal an independent whole-message rendering (CRLF line ends,
 * dot-stuffing, the TOP cut, the terminator).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "msg.h"
#include "pop/pop_proto.h"

#define FZ_OUTMAX	4096

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz {
	struct pop_proto	 p;
	const uint8_t		*data;
	size_t			 size;
	size_t			 rot;
	int			 sync;
	enum pop_req		 pending;
	struct pop_request	 req;	/* copy of the pending one */
	int			 tls;
	int			 closed;
	char			 out[FZ_OUTMAX];
	size_t			 outlen;
};

static void	 fz_send(void *, const char *);
static void	 fz_write(void *, const char *, size_t);
static void	 fz_request(void *, const struct pop_request *);
static void	 fz_start_tls(void *);
static void	 fz_close(void *, const char *);
static void	 fz_auth_failed(void *, const char *, const char *,
		    const char *);
static time_t	 fz_now(void *);
static uint8_t	 fz_byte(struct fz *);
static void	 fz_answer(struct fz *);
static void	 fz_maildrop(struct fz *);
static void	 fz_content(struct fz *);
static size_t	 fz_render(const uint8_t *, size_t, int, uint64_t, char *,
		    size_t);

static const struct pop_ops fz_ops = {
	fz_send, fz_write, fz_request, fz_start_tls, fz_close,
	fz_auth_failed, fz_now
};

static void
fz_send(void *arg, const char *line)
{
	size_t	 len = strlen(line);

	if (len == 0 || len >= 512)
		abort();
	if (strchr(line, '\r') != NULL || strchr(line, '\n') != NULL)
		abort();
}

static void
fz_write(void *arg, const char *data, size_t len)
{
	struct fz	*f = arg;

	if (len == 0 || f->outlen + len > sizeof(f->out))
		abort();
	memcpy(f->out + f->outlen, data, len);
	f->outlen += len;
}

static uint8_t
fz_byte(struct fz *f)
{
	return (f->size > 0 ? f->data[f->rot++ % f->size] : 0);
}

static void
fz_request(void *arg, const struct pop_request *req)
{
	struct fz	*f = arg;
	size_t		 i;

	if (req->kind == POP_REQ_NONE || f->pending != POP_REQ_NONE)
		abort();
	switch (req->kind) {
	case POP_REQ_AUTH:
		if (req->mech == NULL || req->id == NULL ||
		    req->secret == NULL || req->authzid == NULL ||
		    req->challenge == NULL || strlen(req->id) > BOUNDS_DOMAIN)
			abort();
		break;
	case POP_REQ_LIST:
		if (req->id == NULL || pop_proto_auth_id(&f->p) == NULL)
			abort();
		break;
	case POP_REQ_RETR:
		if (req->uid == NULL || pop_proto_uid(&f->p, req->msgno) ==
		    NULL || strcmp(req->uid, pop_proto_uid(&f->p,
		    req->msgno)) != 0)
			abort();
		break;
	case POP_REQ_UPDATE:
		for (i = 0; i < req->ndeleted; i++)
			if (pop_proto_uid(&f->p, req->deleted[i]) == NULL ||
			    (i > 0 && req->deleted[i] <= req->deleted[i - 1]))
				abort();
		break;
	default:
		abort();
	}
	f->req = *req;
	f->pending = req->kind;
	if (f->sync)
		fz_answer(f);
}

/* Describe a maildrop of up to 7 messages, sometimes wrongly. */
static void
fz_maildrop(struct fz *f)
{
	char	 uid[16];
	size_t	 i, n;
	uint8_t	 b;
	int	 r;

	b = fz_byte(f);
	n = b % 8;
	if (pop_proto_maildrop(&f->p, n) != 0)
		abort();
	for (i = 1; i <= n; i++) {
		b = fz_byte(f);
		if (b == 0xff)
			continue;		/* an entry left out */
		(void)snprintf(uid, sizeof(uid), b == 0xfe ? "u %zu" :
		    "u%zu", i);
		r = pop_proto_maildrop_entry(&f->p, i, b, uid);
		if ((r == 0) != (b != 0xfe))
			abort();
	}
}

/* Stream a slice of the input as the message, compare the rendering. */
static void
fz_content(struct fz *f)
{
	static char	 want[FZ_OUTMAX];
	const uint8_t	*msg;
	size_t		 len, off, n, wlen;
	int		 r = POP_CONTENT_MORE;

	off = fz_byte(f) % (f->size + 1);
	len = fz_byte(f);
	if (len > f->size - off)
		len = f->size - off;
	msg = f->data + off;
	f->outlen = 0;
	for (n = 0; n < len && r == POP_CONTENT_MORE; ) {
		if (!pop_proto_in_content(&f->p))
			abort();
		wlen = fz_byte(f) % 17;
		if (wlen > len - n)
			wlen = len - n;
		r = pop_proto_content(&f->p, (const char *)msg + n, wlen);
		n += wlen;
	}
	pop_proto_content_end(&f->p);
	wlen = fz_render(msg, len, f->req.top, f->req.lines, want,
	    sizeof(want));
	if (wlen != f->outlen || memcmp(want, f->out, wlen) != 0)
		abort();
	if (pop_proto_in_content(&f->p))
		abort();
}

/*
 * Lines end at CRLF, LF or CR and go out with CRLF, a leading dot
 * doubled; TOP keeps the headers, the empty line and lines body lines.
 */
static size_t
fz_render(const uint8_t *msg, size_t len, int top, uint64_t lines,
    char *out, size_t size)
{
	size_t		 i = 0, n = 0, start;
	uint64_t	 body = 0;
	int		 inbody = 0;

	while (i < len) {
		start = i;
		while (i < len && msg[i] != '\r' && msg[i] != '\n')
			i++;
		if (top && inbody && body++ >= lines)
			break;
		if (n + (i - start) + 3 > size)
			abort();
		if (i > start && msg[start] == '.')
			out[n++] = '.';
		memcpy(out + n, msg + start, i - start);
		n += i - start;
		memcpy(out + n, "\r\n", 2);
		n += 2;
		if (i == start)
			inbody = 1;
		if (i < len && msg[i] == '\r' && i + 1 < len &&
		    msg[i + 1] == '\n')
			i++;
		if (i < len)
			i++;
		if (top && inbody && lines == 0)
			break;
	}
	if (n + 3 > size)
		abort();
	memcpy(out + n, ".\r\n", 3);
	return (n + 3);
}

static void
fz_answer(struct fz *f)
{
	static const char *const texts[] = {
		NULL, "", "-ERR [IN-USE] locked", "no\r\nway", "gone"
	};
	enum pop_req	 kind = f->pending;
	uint8_t		 b;
	int		 status, r;

	b = fz_byte(f);
	status = b % 4 == 3 ? MSG_OK : b % 4;
	f->pending = POP_REQ_NONE;
	if (kind == POP_REQ_LIST && status == MSG_OK)
		fz_maildrop(f);
	r = pop_proto_reply(&f->p, kind, status, texts[(b / 4) % 5]);
	if (r != 0 && !(kind == POP_REQ_LIST && status == MSG_OK))
		abort();
	if (kind == POP_REQ_RETR && status == MSG_OK)
		fz_content(f);
}

static void
fz_start_tls(void *arg)
{
	struct fz	*f = arg;

	f->tls = 1;
}

static void
fz_close(void *arg, const char *reason)
{
	struct fz	*f = arg;

	if (f->closed++ != 0 || reason == NULL)
		abort();
}

static void
fz_auth_failed(void *arg, const char *mech, const char *id, const char *why)
{
	if (mech == NULL || id == NULL || why == NULL)
		abort();
}

static time_t
fz_now(void *arg)
{
	return (1795461603);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz	 f;
	struct pop_proto_conf	 c;
	const char		*in, *nl;
	size_t			 len, used;
	unsigned int		 fl;
	int			 r;

	if (size < 2)
		return (0);
	fl = (unsigned int)data[0] | (unsigned int)data[1] << 8;
	memset(&f, 0, sizeof(f));
	memset(&c, 0, sizeof(c));
	c.host = "pop.test";
	c.pid = 4242;
	c.implementation = (fl & 0x0001) ? "E-MailRelay V2.6.1" : NULL;
	c.auth_mechs = (fl & 0x0002) ? "CRAM-MD5" :
	    "CRAM-SHA256 CRAM-MD5 PLAIN LOGIN";
	c.auth_mechs_tls = (fl & 0x0004) ? "PLAIN LOGIN" : NULL;
	c.tls_available = (fl & 0x0008) != 0;
	c.tls_active = (fl & 0x0010) != 0;
	c.tls_required = (fl & 0x0020) != 0;
	f.sync = (fl & 0x0040) != 0;
	f.data = data;
	f.size = size;
	f.rot = 2;
	pop_proto_init(&f.p, &c, &fz_ops, &f);
	pop_proto_start(&f.p);

	in = (const char *)data + 2;
	len = size - 2;
	while (len > 0 && !pop_proto_closed(&f.p)) {
		if (f.pending != POP_REQ_NONE) {
			fz_answer(&f);
			continue;
		}
		if (f.tls) {
			f.tls = 0;
			pop_proto_tls_done(&f.p);
		}
		if (pop_proto_state(&f.p) == POP_ST_LISTING) {
			pop_proto_drained(&f.p);
			continue;
		}
		if (pop_proto_busy(&f.p))
			abort();
		nl = memchr(in, '\n', len);
		if (nl != NULL)
			used = (size_t)(nl - in) + 1;
		else
			used = len;	/* last piece: a fragment */
		(void)pop_proto_sensitive(&f.p, in, used);
		r = pop_proto_line(&f.p, in, used);
		if (r == POP_PROTO_BUSY)
			abort();
		/*
		 * POP_PROTO_DROP: a session drops what it holds; here the
		 * rest is taken as sent after the handshake, to reach the
		 * TLS states.
		 */
		in += used;
		len -= used;
	}
	if (f.pending != POP_REQ_NONE)
		fz_answer(&f);
	pop_proto_clear(&f.p);
	return (0);
}
