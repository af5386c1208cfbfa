"""More forwarding (SPEC 5, 14, 15): --client-smtp-config (pipelining
and the *strict flags), --as-proxy, ForwardToAddress routing, and a
hostile next hop (the CVE-2020-8794 class: multi-line, bare CR, huge
and binary replies) whose text must never get into the envelope or the
log as anything but one sanitised line."""

import os
import re
import select
import socket
import threading

from smtpclient import expected_envelope, read
from harness import free_port, wait_for
from test_forward import (MESSAGE, spool_files, start_b, store_one, submit,
                          wait_forwarded, write_spool_entry)

BASE = "emailrelay.1.1700000000.1"
PRINTABLE = re.compile(rb"[\x20-\x7e]*")


class Scripted(threading.Thread):
    """A next hop on a raw socket that records every recv() and answers
    with the raw bytes a test gives it.  ehlo is the list of extension
    keywords; rcpt_reply and data_reply (bytes with their CRLFs)
    replace the 250 to every RCPT and after the data."""

    def __init__(self, ehlo=("PIPELINING", "8BITMIME"), rcpt_reply=None,
                 data_reply=None):
        super().__init__(daemon=True)
        self.ehlo = list(ehlo)
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.reads = []         # every chunk recv() returned
        self.pending_at_mail = []  # bytes already received when MAIL
        #                            was answered
        self.messages = []
        self.verbs = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self.serve(conn)
                except (OSError, ValueError):
                    pass

    def serve(self, conn):
        buf = [b""]

        def fill(timeout=None):
            if timeout is not None:
                r, _, _ = select.select([conn], [], [], timeout)
                if not r:
                    return True
            chunk = conn.recv(65536)
            if not chunk:
                return False
            self.reads.append(chunk)
            buf[0] += chunk
            return True

        def line():
            while b"\n" not in buf[0]:
                if not fill():
                    return None
            ln, buf[0] = buf[0].split(b"\n", 1)
            return ln + b"\n"

        def reply(data):
            conn.sendall(data if data.endswith(b"\r\n") else data + b"\r\n")

        reply(b"220 fake.test ESMTP")
        frm, rcpts = None, []
        while True:
            ln = line()
            if ln is None:
                return
            cmd = ln.decode("latin-1").rstrip("\r\n")
            verb = cmd[:4].upper()
            self.verbs.append(verb)
            if verb == "EHLO":
                lines = ["fake.test"] + self.ehlo
                reply("".join("250%s%s\r\n" % (
                    " " if i == len(lines) - 1 else "-", t)
                    for i, t in enumerate(lines)).encode())
            elif verb == "MAIL":
                # Give a client that should wait for this reply the
                # time to misbehave before noting what came with MAIL.
                if buf[0] == b"":
                    fill(0.3)
                self.pending_at_mail.append(buf[0])
                frm, rcpts = cmd[10:].split(">")[0].lstrip("<"), []
                reply(b"250 OK")
            elif verb == "RCPT":
                if self.rcpt_reply is not None:
                    reply(self.rcpt_reply)
                else:
                    rcpts.append(cmd[8:].strip("<>"))
                    reply(b"250 OK")
            elif verb == "DATA":
                reply(b"354 go ahead")
                data = b""
                while True:
                    chunk = line()
                    if chunk is None or chunk == b".\r\n":
                        break
                    data += chunk
                if self.data_reply is not None:
                    reply(self.data_reply)
                else:
                    self.messages.append((frm, rcpts, data))
                    reply(b"250 OK queued")
            elif verb == "RSET":
                reply(b"250 OK")
            elif verb == "QUIT":
                reply(b"221 bye")
                return
            else:
                reply(b"502 unknown")

    def close(self):
        self.sock.close()


def run_client(a, addr, spool, *more, expect=0):
    a.start("--as-client", addr, "--spool-dir", spool, *more, wait=False)
    code = a.proc.wait(30)
    a.stop(expect=None)
    assert code == expect, "exit %s:\n%s" % (code, a.log())


# --client-smtp-config pipelining

def test_client_pipelining_batches_commands(relay_factory):
    """With pipelining configured and offered, MAIL, RCPT and DATA leave
    in one write: the server holds all three before it answers MAIL."""
    fake = Scripted()
    a = relay_factory()
    aspool = a.spool()
    base, content = store_one(a, aspool)
    run_client(a, fake.addr, aspool, "--client-smtp-config", "pipelining")
    fake.close()
    assert spool_files(aspool) == []
    ((frm, rcpts, data),) = fake.messages
    assert (frm, rcpts) == ("a@example.com",
                            ["b@example.com", "c@other.example"])
    assert data == content.replace(b"\r\n.", b"\r\n..")
    (mail_read,) = [r for r in fake.reads if b"MAIL FROM:" in r]
    assert b"RCPT TO:<b@example.com>" in mail_read, fake.reads
    assert b"RCPT TO:<c@other.example>" in mail_read, fake.reads
    assert b"\r\nDATA\r\n" in mail_read, fake.reads
    (pending,) = fake.pending_at_mail
    assert pending.startswith(b"RCPT TO:<b@example.com>"), pending
    assert b"DATA\r\n" in pending


def test_client_no_pipelining_by_default(relay_factory):
    """Without the option: one command per round trip, even though the
    server offers PIPELINING."""
    fake = Scripted()
    a = relay_factory()
    aspool = a.spool()
    store_one(a, aspool)
    run_client(a, fake.addr, aspool)
    fake.close()
    assert spool_files(aspool) == []
    assert len(fake.messages) == 1
    assert fake.pending_at_mail == [b""]
    commands = [r for r in fake.reads
                if re.match(rb"(EHLO|MAIL|RCPT|DATA|QUIT)", r)]
    for r in commands:
        assert r.count(b"\r\n") == 1, fake.reads
    assert [r[:4] for r in commands][:5] == [b"EHLO", b"MAIL", b"RCPT",
                                             b"RCPT", b"DATA"]


def test_client_pipelining_minus_turns_it_off(relay_factory):
    """A later "-pipelining" wins over an earlier "pipelining"."""
    fake = Scripted()
    a = relay_factory()
    aspool = a.spool()
    store_one(a, aspool)
    run_client(a, fake.addr, aspool, "--client-smtp-config",
               "pipelining,-pipelining")
    fake.close()
    assert len(fake.messages) == 1
    assert fake.pending_at_mail == [b""]


# --client-smtp-config eightbitstrict

def eightbit_entry(spool):
    write_spool_entry(spool, BASE,
                      b"Subject: caf\xc3\xa9\r\n\r\ncr\xc3\xa8me br\xc3"
                      b"\xbbl\xc3\xa9e\r\n",
                      expected_envelope("a@example.com", ["b@example.com"],
                                        content="8bit"))


def test_eightbitstrict_fails_8bit_to_7bit_server(relay_factory):
    fake = Scripted(ehlo=("SIZE",))
    a = relay_factory()
    aspool = a.spool()
    eightbit_entry(aspool)
    run_client(a, fake.addr, aspool, "--client-smtp-config",
               "eightbitstrict")
    fake.close()
    assert fake.messages == []
    assert "MAIL" not in fake.verbs
    env = read(os.path.join(aspool, BASE + ".envelope.bad"))
    assert b"\r\nX-MailRelay-End: 1\r\nX-MailRelay-Reason: cannot send " \
        b"8-bit message to 7-bit server\r\n" in env, env


def test_8bit_to_7bit_server_sent_without_strict(relay_factory):
    fake = Scripted(ehlo=("SIZE",))
    a = relay_factory()
    aspool = a.spool()
    eightbit_entry(aspool)
    run_client(a, fake.addr, aspool, "--client-smtp-config",
               "+eightbitstrict, -eightbitstrict")
    fake.close()
    assert spool_files(aspool) == []
    ((_, _, data),) = fake.messages
    assert b"cr\xc3\xa8me" in data


def test_8bit_with_8bitmime_server_strict_delivered(relay_factory):
    """eightbitstrict only matters when the server lacks 8BITMIME; the
    MAIL command then carries BODY=8BITMIME."""
    fake = Scripted(ehlo=("8BITMIME",))
    a = relay_factory()
    aspool = a.spool()
    eightbit_entry(aspool)
    run_client(a, fake.addr, aspool, "--client-smtp-config",
               "eightbitstrict")
    fake.close()
    assert spool_files(aspool) == []
    assert len(fake.messages) == 1
    (mail,) = [r for r in fake.reads if r.startswith(b"MAIL")]
    assert b"BODY=8BITMIME" in mail


def test_smtputf8strict(relay_factory):
    """An SMTPUTF8 message to a server without SMTPUTF8: .bad with
    smtputf8strict, sent anyway without it."""
    for strict, fails in (("smtputf8strict", True),
                          ("-smtputf8strict", False)):
        fake = Scripted(ehlo=("8BITMIME",))
        a = relay_factory(sub=strict)
        aspool = a.spool()
        write_spool_entry(aspool, BASE, b"Subject: utf8\r\n\r\nbody\r\n",
                          expected_envelope("j\u00f6rg@example.com",
                                            ["b@example.com"], utf8=1))
        run_client(a, fake.addr, aspool, "--client-smtp-config", strict)
        fake.close()
        if fails:
            assert fake.messages == []
            env = read(os.path.join(aspool, BASE + ".envelope.bad"))
            assert b"\r\nX-MailRelay-Reason: cannot send smtputf8 " \
                b"message to a server without smtputf8\r\n" in env, env
        else:
            assert spool_files(aspool) == []
            assert len(fake.messages) == 1


def test_binarymimestrict(relay_factory):
    """A binarymime message to a server without CHUNKING/BINARYMIME:
    .bad with binarymimestrict, sent anyway without it."""
    for strict, fails in (("binarymimestrict", True), ("", False)):
        fake = Scripted(ehlo=("8BITMIME",))
        a = relay_factory(sub="b" + strict)
        aspool = a.spool()
        write_spool_entry(aspool, BASE,
                          b"Subject: bin\r\n\r\nbody\x00\x01\r\n",
                          expected_envelope("a@example.com",
                                            ["b@example.com"],
                                            content="binarymime"))
        more = ("--client-smtp-config", strict) if strict else ()
        run_client(a, fake.addr, aspool, *more)
        fake.close()
        if fails:
            assert fake.messages == []
            env = read(os.path.join(aspool, BASE + ".envelope.bad"))
            assert b"\r\nX-MailRelay-Reason: cannot send binarymime " \
                b"message to a server without binarymime\r\n" in env, env
        else:
            assert spool_files(aspool) == []
            assert len(fake.messages) == 1


# --as-proxy

def test_as_proxy(relay_factory):
    """--as-proxy B: a message submitted to A goes to B when the client
    disconnects, and A's spool empties.  --as-proxy closes stderr, so
    the log goes to --log-file."""
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    logfile = os.path.join(a.workdir, "proxy.log")
    a.start("--as-proxy", "127.0.0.1:%d" % bport, "--port", aport,
            "--interface", "127.0.0.1", "--domain", "relay-a.test",
            "--spool-dir", aspool, "--log-file", logfile,
            ready_ports=[aport])
    submit(aport)
    (base_b,) = wait_forwarded(aspool, bspool)
    wait_for(lambda: os.path.exists(logfile) and
             "forwarding: no more messages to send" in
             read(logfile).decode(errors="replace"), 10, "the proxy log")
    content = read(os.path.join(bspool, base_b + ".content"))
    assert content.endswith(b"\r\n" + MESSAGE.encode())
    a.stop()
    b.stop()
    log = read(logfile).decode(errors="replace")
    assert "forwarding: [client disconnect]" in log, log
    assert "forwarding to 127.0.0.1:%d" % bport in log, log
    for word in ("error", "warning"):
        assert word not in log, log


# ForwardToAddress

def test_forward_to_address_overrides_forward_to(relay_factory):
    """An envelope's ForwardToAddress wins over --forward-to; a message
    without one goes to --forward-to."""
    main, other = Scripted(), Scripted()
    a = relay_factory()
    aspool = a.spool()
    env = expected_envelope("a@example.com", ["routed@example.com"])
    env = env.replace(b"X-MailRelay-ForwardToAddress: \r\n",
                      b"X-MailRelay-ForwardToAddress: %s\r\n"
                      % other.addr.encode())
    write_spool_entry(aspool, BASE, b"Subject: routed\r\n\r\nbody\r\n", env)
    write_spool_entry(aspool, "emailrelay.1.1700000001.2",
                      b"Subject: plain\r\n\r\nbody\r\n",
                      expected_envelope("a@example.com",
                                        ["plain@example.com"]))
    run_client(a, main.addr, aspool)
    main.close()
    other.close()
    assert spool_files(aspool) == []
    assert [m[1] for m in other.messages] == [["routed@example.com"]]
    assert [m[1] for m in main.messages] == [["plain@example.com"]]
    assert "forwarding to %s" % other.addr in a.log()


# A hostile next hop

def check_bad(a, spool, base, code=None):
    """The .bad envelope ends with exactly one Reason line of bounded
    printable ASCII and its ReasonCode, and a later run still reads
    it; the log has one line per event and no raw bytes from the
    server.  Returns the Reason text."""
    env = read(os.path.join(spool, base + ".envelope.bad"))
    lines = env.split(b"\r\n")
    assert lines[-1] == b"", env
    lines = lines[:-1]
    for ln in lines:
        assert b"\r" not in ln and b"\n" not in ln
    end = lines.index(b"X-MailRelay-End: 1")
    tail = lines[end + 1:]
    assert len(tail) == 2, tail
    assert tail[0].startswith(b"X-MailRelay-Reason: "), tail
    assert tail[1].startswith(b"X-MailRelay-ReasonCode: "), tail
    reason = tail[0][len(b"X-MailRelay-Reason: "):]
    assert PRINTABLE.fullmatch(reason), reason
    assert 0 < len(reason) <= 1000
    if code is not None:
        assert tail[1] == b"X-MailRelay-ReasonCode: " + code
    # Nothing before End was touched either.
    assert env.startswith(expected_envelope(
        "a@example.com", ["b@example.com", "c@other.example"])[:-len(
            b"X-MailRelay-End: 1\r\n")])
    check_log(a)
    return reason.decode()


def check_log(a):
    with open(a.logpath, "rb") as f:
        raw = f.read()
    assert b"\r" not in raw
    for ln in raw.split(b"\n")[:-1]:
        assert ln.startswith(b"emailrelay: "), ln
        assert PRINTABLE.fullmatch(ln), ln
        assert not re.match(rb"emailrelay: X-MailRelay-", ln)


def retry_bad(relay_factory, spool, base):
    """Make the .bad envelope ready again and forward it to a good
    server: it parses (is not skipped as unreadable) and goes."""
    os.rename(os.path.join(spool, base + ".envelope.bad"),
              os.path.join(spool, base + ".envelope"))
    good = Scripted()
    c = relay_factory(sub="retry")
    run_client(c, good.addr, spool)
    good.close()
    assert len(good.messages) == 1, c.log()
    assert spool_files(spool) == []
    assert "cannot read envelope" not in c.log()


def hostile(relay_factory, expect, **replies):
    fake = Scripted(**replies)
    a = relay_factory()
    aspool = a.spool()
    base, _ = store_one(a, aspool)
    run_client(a, fake.addr, aspool, "--verbose", expect=expect)
    fake.close()
    assert fake.messages == []
    return a, aspool, base


def test_multiline_5xx_to_rcpt(relay_factory):
    a, spool, base = hostile(
        relay_factory, 0,
        rcpt_reply=b"550-5.1.1 first\r\n550-X-MailRelay-Injected: 1\r\n"
        b"550-X-MailRelay-End: 1\r\n550 5.1.1 X-MailRelay-Reason: x\r\n")
    reason = check_bad(a, spool, base, b"550")
    assert reason == "one or more recipients rejected"
    retry_bad(relay_factory, spool, base)


def test_multiline_5xx_after_data(relay_factory):
    a, spool, base = hostile(
        relay_factory, 0,
        data_reply=b"554-5.6.0 first\r\n554-\r\n554-X-MailRelay-End: 1\r\n"
        b"554 X-MailRelay-ReasonCode: 250\r\n")
    reason = check_bad(a, spool, base, b"554")
    assert reason == "X-MailRelay-ReasonCode: 250"
    retry_bad(relay_factory, spool, base)


def test_continuation_line_without_code_after_data(relay_factory):
    """A reply line that is not "ddd" plus text (an injected envelope
    line) is a protocol error: the session fails."""
    a, spool, base = hostile(
        relay_factory, 1,
        data_reply=b"554-5.6.0 first\r\nX-MailRelay-ToCount: 9\r\n"
        b"554 last\r\n")
    reason = check_bad(a, spool, base, b"")
    assert reason.startswith("protocol error: "), reason
    assert "smtp client error: " + reason in a.log()
    retry_bad(relay_factory, spool, base)


def test_bare_cr_in_reply(relay_factory):
    a, spool, base = hostile(
        relay_factory, 1,
        data_reply=b"554 5.6.0 bad\rX-MailRelay-Injected: 1\r\n")
    reason = check_bad(a, spool, base, b"")
    assert reason.startswith("protocol error: "), reason
    assert "Injected" not in reason
    assert "smtp client error: " + reason in a.log()
    retry_bad(relay_factory, spool, base)


def test_bare_cr_in_rcpt_reply(relay_factory):
    a, spool, base = hostile(
        relay_factory, 1,
        rcpt_reply=b"550 no\r\rX-MailRelay-To-Remote: evil@example.com\r\n")
    check_bad(a, spool, base, b"")
    assert b"evil" not in read(os.path.join(spool,
                                            base + ".envelope.bad"))
    retry_bad(relay_factory, spool, base)


def test_huge_reply_line(relay_factory):
    """100 KB in one reply line: a session failure, bounded Reason."""
    a, spool, base = hostile(
        relay_factory, 1,
        data_reply=b"554 " + b"A" * (100 * 1024) + b"\r\n")
    reason = check_bad(a, spool, base, b"")
    assert reason == "protocol error: reply line too long"
    retry_bad(relay_factory, spool, base)


def test_huge_multiline_reply(relay_factory):
    """Many long lines in one reply: stopped by the reply bound."""
    a, spool, base = hostile(
        relay_factory, 1,
        data_reply=b"".join(b"554-" + b"B" * 900 + b"\r\n"
                            for _ in range(200)) + b"554 end\r\n")
    reason = check_bad(a, spool, base, b"")
    assert reason.startswith("protocol error: "), reason
    retry_bad(relay_factory, spool, base)


def test_long_last_line_bounded(relay_factory):
    """A final line just under the line limit: the Reason keeps at most
    1000 characters of it, on one line."""
    a, spool, base = hostile(
        relay_factory, 0,
        data_reply=b"554 " + b"C" * 990 + b"\r\n")
    reason = check_bad(a, spool, base, b"554")
    assert reason.startswith("CCCC")
    retry_bad(relay_factory, spool, base)


def test_control_and_8bit_reply(relay_factory):
    """Escape sequences, BEL, BS, DEL and 8-bit bytes in the reply text:
    the Reason is printable ASCII, the log shows them escaped."""
    a, spool, base = hostile(
        relay_factory, 0,
        data_reply=b"554 5.6.0 \x1b[2J\x1b[31mred\x07\x08\x7f "
        b"caf\xc3\xa9 \xff\xfe\x01\x1f end\r\n")
    reason = check_bad(a, spool, base, b"554")
    assert reason.startswith("5.6.0 ")
    assert reason.endswith(" end")
    assert "red" in reason and "caf" in reason
    log = a.log()
    assert re.search(r"warning: forwarding \[%s\]: failed: 5\.6\.0 "
                     r"\\033\[2J" % re.escape(base), log), log
    retry_bad(relay_factory, spool, base)


def test_nul_in_reply(relay_factory):
    a, spool, base = hostile(
        relay_factory, 1,
        data_reply=b"554 5.6.0 nul\x00X-MailRelay-Injected: 1\r\n")
    reason = check_bad(a, spool, base, b"")
    assert reason.startswith("protocol error: "), reason
    retry_bad(relay_factory, spool, base)
