/*
 * libFuzzer target for smtpd/smtp_proto.c.  The first two bytes select
 * the configuration and whether requests are answered from inside the
 * request callback or later; the rest is client input, fed the way the
 * session does (lines cut at LF, fragments of overlong lines, BDAT
 * octets raw, nothing while busy; input after STARTTLS is taken as
 * sent after the handshake).  Each request gets a status taken from
 * the input byte at a rotating position.  Every reply line must look
 * like an SMTP reply.
 *
 * The fuzz rule in the Makefile links only the common/ sources, so the
 * engine is compiled into this file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "msg.h"
#include "smtpd/smtp_proto.c"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz {
	struct smtp_proto	 p;
	const uint8_t		*data;
	size_t			 size;
	size_t			 rot;
	int			 sync;
	enum smtp_req		 pending;
	int			 tls;
	int			 closed;
	size_t			 content;
};

static void	 fz_send(void *, const char *);
static void	 fz_request(void *, const struct smtp_request *);
static void	 fz_content(void *, const char *, size_t);
static void	 fz_start_tls(void *);
static void	 fz_close(void *, const char *);
static void	 fz_log(void *, const char *);
static time_t	 fz_now(void *);
static void	 fz_answer(struct fz *, enum smtp_req);

static const struct smtp_ops fz_ops = {
	fz_send, fz_request, fz_content, fz_start_tls, fz_close, fz_log,
	fz_now
};

static void
fz_send(void *arg, const char *line)
{
	size_t	 len = strlen(line);

	/* "ddd" then ' ' or '-', no CR or LF, bounded */
	if (len < 4 || len > 1100)
		abort();
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
	    (line[3] != ' ' && line[3] != '-'))
		abort();
	if (strchr(line, '\r') != NULL || strchr(line, '\n') != NULL)
		abort();
}

static void
fz_answer(struct fz *f, enum smtp_req kind)
{
	static const char *const texts[] = {
		NULL, "", "452 4.3.1 spool full", "foo bar", "550 no\r\nway",
		"250 fine", "Full Name <a@b>"
	};
	uint8_t	 b;
	int	 status;

	b = f->size > 0 ? f->data[f->rot++ % f->size] : 0;
	switch (b % 5) {
	case 0:
		status = MSG_OK;
		break;
	case 1:
		status = MSG_TEMPFAIL;
		break;
	case 2:
		status = MSG_PERMFAIL;
		break;
	case 3:
		status = SMTP_STATUS_LOCAL;
		break;
	default:
		status = SMTP_STATUS_ABORT;
		break;
	}
	if (kind != SMTP_REQ_RCPT && kind != SMTP_REQ_VRFY &&
	    status > MSG_PERMFAIL)
		status = MSG_OK;
	f->pending = SMTP_REQ_NONE;
	if (smtp_proto_reply(&f->p, kind, status,
	    texts[(b / 5) % (sizeof(texts) / sizeof(texts[0]))]) != 0)
		abort();
}

static void
fz_request(void *arg, const struct smtp_request *req)
{
	struct fz	*f = arg;

	if (req->kind == SMTP_REQ_RSET)
		return;
	if (req->kind == SMTP_REQ_NONE || f->pending != SMTP_REQ_NONE)
		abort();
	if (req->kind == SMTP_REQ_AUTH && (req->mech == NULL ||
	    req->id == NULL || req->secret == NULL))
		abort();
	if ((req->kind == SMTP_REQ_MAIL || req->kind == SMTP_REQ_RCPT ||
	    req->kind == SMTP_REQ_VRFY) && (req->addr == NULL ||
	    strlen(req->addr) > BOUNDS_PATH))
		abort();
	f->pending = req->kind;
	if (f->sync)
		fz_answer(f, req->kind);
}

static void
fz_content(void *arg, const char *data, size_t len)
{
	struct fz	*f = arg;

	if (!smtp_proto_in_transaction(&f->p))
		abort();
	f->content += len;
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
fz_log(void *arg, const char *text)
{
}

static time_t
fz_now(void *arg)
{
	return (1795461603);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_proto_conf	 c;
	struct fz		 f;
	const char		*in, *nl;
	size_t			 len, used;
	unsigned int		 fl;
	int			 r;

	if (size < 2)
		return (0);
	fl = (unsigned int)data[0] | (unsigned int)data[1] << 8;
	memset(&f, 0, sizeof(f));
	memset(&c, 0, sizeof(c));
	c.domain = "relay.test";
	c.version = "2.6.1";
	c.client_ip = "127.0.0.1";
	c.size_limit = (fl & 0x0001) ? 300 : 0;
	c.anon_vrfy = (fl & 0x0002) != 0;
	c.anon_server = (fl & 0x0004) != 0;
	c.anon_content = (fl & 0x0008) != 0;
	c.pipelining = (fl & 0x0010) != 0;
	c.chunking = (fl & 0x0020) != 0;
	c.smtputf8 = (fl & 0x0040) != 0;
	c.smtputf8strict = (fl & 0x0080) != 0;
	c.nostrictparsing = (fl & 0x0100) != 0;
	c.auth = (fl & 0x0200) != 0;
	c.auth_mechs = "CRAM-SHA256 CRAM-MD5 PLAIN LOGIN";
	c.auth_mechs_tls = (fl & 0x0400) ? "PLAIN" : NULL;
	c.tls_available = (fl & 0x0800) != 0;
	c.tls_required = (fl & 0x1000) != 0;
	f.sync = (fl & 0x2000) != 0;
	f.data = data;
	f.size = size;
	f.rot = 2;
	smtp_proto_init(&f.p, &c, &fz_ops, &f);
	if (fl & 0x4000)
		smtp_proto_set_trusted(&f.p, "lan");
	smtp_proto_start(&f.p);

	in = (const char *)data + 2;
	len = size - 2;
	while (len > 0 && !smtp_proto_closed(&f.p)) {
		if (f.pending != SMTP_REQ_NONE) {
			fz_answer(&f, f.pending);
			continue;
		}
		if (f.tls) {
			f.tls = 0;
			smtp_proto_tls_done(&f.p, "TLS_AES_256_GCM_SHA384");
		}
		if (smtp_proto_busy(&f.p))
			abort();
		if (smtp_proto_chunk_left(&f.p) > 0) {
			used = smtp_proto_chunk(&f.p, in, len);
			if (used == 0)
				abort();
		} else {
			nl = memchr(in, '\n', len);
			if (nl != NULL)
				used = (size_t)(nl - in) + 1;
			else if (len >= BOUNDS_LINE)
				used = len;
			else
				used = len;	/* last piece: a fragment */
			r = smtp_proto_line(&f.p, in, used);
			if (r == SMTP_PROTO_BUSY)
				abort();
			/*
			 * SMTP_PROTO_DROP: a session drops what it holds;
			 * here the rest is taken as sent after the
			 * handshake, to reach the TLS states.
			 */
		}
		in += used;
		len -= used;
	}
	if (f.pending != SMTP_REQ_NONE)
		fz_answer(&f, f.pending);
	smtp_proto_clear(&f.p);
	return (0);
}
