"""Forwarding (SPEC 5, 14): relay A stores mail and forwards it to a
next hop, either a second emailrelay B (its own directory) or a small
scripted SMTP server in this file that rejects what a test asks it to.
Each trigger gets a test: --forward at start-up, --poll,
--forward-on-disconnect and --as-client; and each outcome: delivered
(both files gone), rejected recipients, a rejection after the data, a
refused connection."""

import os
import re
import smtplib
import signal
import socket
import threading


from smtpclient import expected_envelope, read, ready
from harness import free_port, run, wait_for

MESSAGE = ("From: a@example.com\r\nTo: b@example.com\r\nSubject: fwd\r\n"
           "\r\nfirst line\r\n.leading dot\r\n..two dots\r\n.\r\n"
           "last line\r\n")
RECEIVED = re.compile(rb"Received: from \S+ \(\[127\.0\.0\.1\]\) by \S+ "
                      rb"with ESMTP ; [^\r\n]+\r\n")


def spool_files(spool):
    return sorted(n for n in os.listdir(spool) if n.startswith("emailrelay."))


def start_b(relay_factory):
    """The next hop: a plain storing emailrelay in directory b."""
    b = relay_factory(sub="b")
    port = free_port()
    spool = b.spool()
    b.start("--port", port, "--interface", "127.0.0.1", "--domain",
            "relay-b.test", "--spool-dir", spool, ready_ports=[port])
    return b, port, spool


def a_args(relay, port, spool, *more):
    return ["--port", port, "--interface", "127.0.0.1", "--domain",
            "relay-a.test", "--spool-dir", spool] + [str(m) for m in more]


def submit(port, to=("b@example.com", "c@other.example"), msg=MESSAGE):
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=10) as s:
        assert s.sendmail("a@example.com", list(to), msg) == {}


def store_one(relay, spool, to=("b@example.com", "c@other.example")):
    """Run relay once without forwarding to put one message in spool;
    returns (base, content bytes)."""
    port = free_port()
    relay.start(*a_args(relay, port, spool), ready_ports=[port])
    submit(port, to)
    relay.stop()
    (base,) = ready(spool)
    return base, read(os.path.join(spool, base + ".content"))


def wait_forwarded(spool_a, spool_b, n=1):
    """Until A's spool is empty and B holds n ready messages."""
    wait_for(lambda: spool_files(spool_a) == [] and
             len(ready(spool_b)) == n, 15, "the message to reach B")
    return ready(spool_b)


def check_arrived(spool_b, base_b, content_a):
    """B's copy is A's content with one more Received line on top."""
    content = read(os.path.join(spool_b, base_b + ".content"))
    m = RECEIVED.match(content)
    assert m, content[:200]
    assert b"relay-b.test" in m.group(0)
    assert b"from relay-a.test " in m.group(0)
    assert content[m.end():] == content_a


def test_forward_on_poll(relay_factory):
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--forward-to",
                    "127.0.0.1:%d" % bport, "--poll", "1"),
            ready_ports=[aport])
    submit(aport)
    (base_b,) = wait_forwarded(aspool, bspool)
    content = read(os.path.join(bspool, base_b + ".content"))
    # B's Received line, then A's, then the message as submitted.
    m1 = RECEIVED.match(content)
    m2 = RECEIVED.match(content, m1.end())
    assert m1 and m2, content[:300]
    assert content[m2.end():] == MESSAGE.encode()
    env = read(os.path.join(bspool, base_b + ".envelope"))
    assert b"X-MailRelay-To-Remote: b@example.com\r\n" in env
    assert b"X-MailRelay-To-Remote: c@other.example\r\n" in env
    assert b"X-MailRelay-From: a@example.com\r\n" in env
    a.wait_log(r"forwarding: no more messages to send")
    a.stop()
    b.stop()
    log = a.log()
    assert "forwarding: [poll]" in log
    assert re.search(r"info: forwarding \[emailrelay\.\d+\.\d+\.\d+\]\n",
                     log), log
    for word in ("error", "warning"):
        assert word not in log, log


def test_large_message(relay_factory):
    """8 MiB of content goes out in chunks as the socket drains (more
    than the io layer would ever buffer at once) and arrives intact."""
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aspool = a.spool()
    port = free_port()
    a.start(*a_args(a, port, aspool), ready_ports=[port])
    line = "x" * 70 + "\r\n"
    body = "Subject: big\r\n\r\n" + "".join(
        "%08d %s" % (i, line) for i in range(8 * 1024 * 1024 // 80))
    submit(port, msg=body)
    a.stop()
    (base,) = ready(aspool)
    content_a = read(os.path.join(aspool, base + ".content"))
    a.start("--as-client", "127.0.0.1:%d" % bport, "--domain",
            "relay-a.test", "--spool-dir", aspool, wait=False)
    assert a.proc.wait(60) == 0, a.log()
    a.stop()
    (base_b,) = ready(bspool)
    check_arrived(bspool, base_b, content_a)
    b.stop()


def test_forward_at_startup(relay_factory):
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aspool = a.spool()
    base, content_a = store_one(a, aspool)
    port = free_port()
    a.start(*a_args(a, port, aspool, "--forward", "--forward-to",
                    "127.0.0.1:%d" % bport), ready_ports=[port])
    (base_b,) = wait_forwarded(aspool, bspool)
    check_arrived(bspool, base_b, content_a)
    a.wait_log(r"forwarding: no more messages to send")
    a.stop()
    b.stop()
    log = a.log()
    assert "forwarding: [startup]" in log
    assert "forwarding [%s]" % base in log


def test_forward_on_disconnect(relay_factory):
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--forward-on-disconnect",
                    "--forward-to", "127.0.0.1:%d" % bport),
            ready_ports=[aport])
    submit(aport)
    wait_forwarded(aspool, bspool)
    a.wait_log(r"forwarding: no more messages to send")
    # A session that stored nothing triggers no pass.
    with smtplib.SMTP("127.0.0.1", aport, timeout=10) as s:
        s.noop()
    submit(aport, to=["d@example.com"])
    wait_forwarded(aspool, bspool, 2)
    a.stop()
    b.stop()
    assert a.log().count("forwarding: [client disconnect]") == 2


def test_as_client(relay_factory):
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aspool = a.spool()
    base, content_a = store_one(a, aspool)
    a.start("--as-client", "127.0.0.1:%d" % bport, "--spool-dir", aspool,
            "--domain", "relay-a.test", wait=False)
    assert a.proc.wait(20) == 0, a.log()
    assert spool_files(aspool) == []
    (base_b,) = ready(bspool)
    check_arrived(bspool, base_b, content_a)
    assert "forwarding [%s]" % base in a.log()
    a.stop()

    # An empty spool: nothing to send, still a success.
    c = relay_factory(sub="c")
    c.start("--as-client", "127.0.0.1:%d" % bport, "--spool-dir", aspool,
            wait=False)
    assert c.proc.wait(20) == 0, c.log()
    c.stop()
    assert "no messages to send" in c.log()
    b.stop()


def test_as_client_connection_refused(relay_factory):
    a = relay_factory()
    aspool = a.spool()
    base, _ = store_one(a, aspool)
    dead = free_port()
    a.start("--as-client", "127.0.0.1:%d" % dead, "--spool-dir", aspool,
            wait=False)
    assert a.proc.wait(20) == 1, a.log()
    a.stop(expect=1)
    # Nothing changed: the message is ready for the next attempt.
    assert spool_files(aspool) == [base + ".content", base + ".envelope"]
    assert "smtp client error: connect failure: cannot connect to " \
        "127.0.0.1:%d" % dead in a.log()
    assert "error: " in a.log()
    assert "lost child" not in a.log()


def test_as_client_missing_unix_socket(relay_factory, workdir):
    """A unix path nobody listens on fails at once: nothing changes."""
    a = relay_factory()
    aspool = a.spool()
    base, _ = store_one(a, aspool)
    path = os.path.join(workdir, "nobody-listens.sock")
    a.start("--as-client", path, "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 1, a.log()
    a.stop(expect=1)
    assert spool_files(aspool) == [base + ".content", base + ".envelope"]
    assert "cannot connect to %s" % path in a.log()
    assert "lost child" not in a.log()


def test_poll_with_next_hop_down(relay_factory):
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    dead = free_port()
    a.start(*a_args(a, aport, aspool, "--forward-to", "127.0.0.1:%d" % dead,
                    "--poll", "1"), ready_ports=[aport])
    submit(aport)
    a.wait_log(r"cannot connect to 127\.0\.0\.1:%d" % dead)
    a.wait_log(r"forwarding: no more messages to send")
    a.stop()
    (base,) = ready(aspool)
    assert spool_files(aspool) == [base + ".content", base + ".envelope"]


class FakeSmtp(threading.Thread):
    """A scripted next hop: accepts everything except the recipients in
    reject_rcpt (550) and, with data_reply, the message after the data.
    Records each message as (from, [rcpt], data).  Listens on TCP or, with
    path, on a unix socket."""

    def __init__(self, reject_rcpt=(), data_reply=None, path=None,
                 greet=True, hang=None):
        super().__init__(daemon=True)
        self.reject_rcpt = set(reject_rcpt)
        self.data_reply = data_reply
        self.greet = greet      # False: no 220 until the client talks
        self.hang = hang        # a verb never answered ("RCPT")
        self.seen = []
        self.connections = 0
        self.messages = []
        if path is None:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            os.chmod(path, 0o777)
            self.addr = path
        self.sock.listen(5)
        self.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                try:
                    self.serve(conn.makefile("rwb"))
                except (OSError, ValueError):
                    pass

    def serve(self, f):
        def reply(text):
            f.write(text.encode() + b"\r\n")
            f.flush()
        if self.greet:
            reply("220 fake.test ESMTP")
        frm, rcpts = None, []
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode().rstrip("\r\n")
            verb = cmd[:4].upper()
            self.seen.append(verb)
            if verb == self.hang:
                continue
            if verb == "EHLO":
                reply("250-fake.test\r\n250 8BITMIME")
            elif verb == "MAIL":
                frm, rcpts = cmd[10:].strip("<>").split(">")[0], []
                reply("250 OK")
            elif verb == "RCPT":
                addr = cmd[8:].strip("<>")
                if addr in self.reject_rcpt:
                    reply("550 5.1.1 <%s> no such user" % addr)
                else:
                    rcpts.append(addr)
                    reply("250 OK")
            elif verb == "DATA":
                reply("354 go ahead")
                data = b""
                while True:
                    chunk = f.readline()
                    if not chunk or chunk == b".\r\n":
                        break
                    data += chunk
                if self.data_reply is not None:
                    reply(self.data_reply)
                else:
                    self.messages.append((frm, rcpts, data))
                    reply("250 OK queued")
            elif verb == "RSET":
                reply("250 OK")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:
                reply("502 unknown")

    def close(self):
        self.sock.close()


def bad_envelope(spool):
    names = [n for n in os.listdir(spool) if n.endswith(".envelope.bad")]
    return names[0] if len(names) == 1 else None


def test_recipient_rejected_forward_to_all(relay_factory):
    fake = FakeSmtp(reject_rcpt={"c@other.example"})
    a = relay_factory()
    aspool = a.spool()
    base, _ = store_one(a, aspool)
    a.start("--as-client", fake.addr, "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    fake.close()
    assert fake.messages == []
    assert spool_files(aspool) == [base + ".content",
                                   base + ".envelope.bad"]
    env = read(os.path.join(aspool, base + ".envelope.bad"))
    # Every recipient stays, so a retry reaches them all.
    assert env == expected_envelope(
        "a@example.com", ["b@example.com", "c@other.example"]) + \
        b"X-MailRelay-Reason: one or more recipients rejected\r\n" \
        b"X-MailRelay-ReasonCode: 550\r\n"


def test_recipient_rejected_forward_to_some(relay_factory):
    fake = FakeSmtp(reject_rcpt={"c@other.example"})
    a = relay_factory()
    aspool = a.spool()
    base, content_a = store_one(a, aspool)
    a.start("--as-client", fake.addr, "--forward-to-some", "--spool-dir",
            aspool, wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    fake.close()
    assert len(fake.messages) == 1
    assert fake.messages[0][:2] == ("a@example.com", ["b@example.com"])
    env = read(os.path.join(aspool, bad_envelope(aspool)))
    assert b"X-MailRelay-To-Remote: c@other.example\r\n" in env
    assert b"b@example.com" not in env
    assert b"X-MailRelay-ToCount: 1\r\n" in env
    assert b"X-MailRelay-ReasonCode: 550\r\n" in env


def test_rejected_after_data(relay_factory):
    fake = FakeSmtp(data_reply="554 5.6.0 message content rejected")
    a = relay_factory()
    aspool = a.spool()
    base, _ = store_one(a, aspool)
    a.start("--as-client", fake.addr, "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    fake.close()
    env = read(os.path.join(aspool, base + ".envelope.bad"))
    assert env.endswith(
        b"X-MailRelay-End: 1\r\n"
        b"X-MailRelay-Reason: 5.6.0 message content rejected\r\n"
        b"X-MailRelay-ReasonCode: 554\r\n"), env


def test_connection_reused(relay_factory):
    """Two messages, one connection; the first one received goes first."""
    fake = FakeSmtp()
    a = relay_factory()
    aspool = a.spool()
    port = free_port()
    a.start(*a_args(a, port, aspool), ready_ports=[port])
    submit(port, to=["first@example.com"])
    submit(port, to=["second@example.com"])
    a.stop()
    a.start("--as-client", fake.addr, "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    fake.close()
    assert spool_files(aspool) == []
    assert [m[1] for m in fake.messages] == [["first@example.com"],
                                             ["second@example.com"]]
    assert fake.connections == 1


def test_prompt_timeout_goes_ahead(relay_factory):
    """A next hop that never greets: EHLO goes out after
    --prompt-timeout and the message is delivered."""
    fake = FakeSmtp(greet=False)
    a = relay_factory()
    aspool = a.spool()
    store_one(a, aspool)
    a.start("--as-client", fake.addr, "--prompt-timeout", "1",
            "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    fake.close()
    assert spool_files(aspool) == []
    assert len(fake.messages) == 1
    assert fake.seen[0] == "EHLO"


def test_response_timeout_fails_message(relay_factory):
    """No reply to RCPT within --response-timeout: a session failure,
    the message goes .bad with an empty ReasonCode, --as-client exits 1."""
    fake = FakeSmtp(hang="RCPT")
    a = relay_factory()
    aspool = a.spool()
    base, _ = store_one(a, aspool)
    a.start("--as-client", fake.addr, "--response-timeout", "1",
            "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 1, a.log()
    a.stop(expect=1)
    fake.close()
    env = read(os.path.join(aspool, base + ".envelope.bad"))
    assert env.endswith(b"X-MailRelay-Reason: response timeout\r\n"
                        b"X-MailRelay-ReasonCode: \r\n"), env
    assert "smtp client error: response timeout" in a.log()


def write_spool_entry(spool, base, content, envelope):
    """Write a message into spool by hand, owned like the directory."""
    st = os.stat(spool)
    for name, data in ((base + ".content", content),
                       (base + ".envelope", envelope)):
        p = os.path.join(spool, name)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, st.st_uid, st.st_gid)
        os.chmod(p, 0o660)


def test_bare_lf_content_goes_out_crlf(relay_factory):
    """A hand-written spool entry with LF-only lines, a bare CR and a
    leading dot: the next hop gets CRLF lines, dot-stuffed on the wire."""
    fake = FakeSmtp()
    a = relay_factory()
    aspool = a.spool()
    write_spool_entry(
        aspool, "emailrelay.1.1700000000.1",
        b"Subject: lf\n\nline one\n.dot line\nbare\rcr\nlast",
        expected_envelope("a@example.com", ["b@example.com"]))
    a.start("--as-client", fake.addr, "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    fake.close()
    assert spool_files(aspool) == []
    ((frm, rcpts, data),) = fake.messages
    assert (frm, rcpts) == ("a@example.com", ["b@example.com"])
    assert data == (b"Subject: lf\r\n\r\nline one\r\n..dot line\r\n"
                    b"bare\r\ncr\r\nlast\r\n")


def test_unreadable_envelope_skipped(relay_factory):
    """An envelope that cannot be read is skipped with a warning and left
    ready; the next message still goes."""
    fake = FakeSmtp()
    a = relay_factory()
    aspool = a.spool()
    write_spool_entry(aspool, "emailrelay.1.1700000000.1",
                      b"Subject: x\r\n\r\nbody\r\n",
                      b"X-MailRelay-Format: #2821.8\r\nnonsense\r\n")
    write_spool_entry(aspool, "emailrelay.1.1700000001.2",
                      b"Subject: y\r\n\r\nbody\r\n",
                      expected_envelope("a@example.com", ["b@example.com"]))
    a.start("--as-client", fake.addr, "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    fake.close()
    assert len(fake.messages) == 1
    assert spool_files(aspool) == ["emailrelay.1.1700000000.1.content",
                                   "emailrelay.1.1700000000.1.envelope"]
    assert re.search(r"warning: .*emailrelay\.1\.1700000000\.1\.envelope",
                     a.log()), a.log()


def test_no_remote_recipients(relay_factory):
    """A message with only local recipients fails at once, without a
    connection."""
    a = relay_factory()
    aspool = a.spool()
    base = "emailrelay.1.1700000000.1"
    env = expected_envelope("a@example.com", []).replace(
        b"X-MailRelay-ToCount: 0\r\n",
        b"X-MailRelay-ToCount: 1\r\nX-MailRelay-To-Local: postmaster\r\n")
    write_spool_entry(aspool, base, b"Subject: x\r\n\r\nbody\r\n", env)
    dead = free_port()
    a.start("--as-client", "127.0.0.1:%d" % dead, "--spool-dir", aspool,
            wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    assert read(os.path.join(aspool, base + ".envelope.bad")) == env + \
        b"X-MailRelay-Reason: no remote recipients\r\n" \
        b"X-MailRelay-ReasonCode: \r\n"
    assert "forwarding [%s]: failing message with no remote recipients" \
        % base in a.log()
    assert "cannot connect" not in a.log()


def test_forward_to_unix_socket(relay_factory, workdir):
    path = os.path.join(workdir, "fake.sock")
    fake = FakeSmtp(path=path)
    a = relay_factory()
    aspool = a.spool()
    base, content_a = store_one(a, aspool)
    a.start("--as-client", path, "--spool-dir", aspool, wait=False)
    assert a.proc.wait(20) == 0, a.log()
    a.stop()
    fake.close()
    assert spool_files(aspool) == []
    ((frm, rcpts, data),) = fake.messages
    assert rcpts == ["b@example.com", "c@other.example"]
    assert data == content_a.replace(b"\r\n.", b"\r\n..")


def test_forward_to_after_sighup(relay_factory, workdir):
    """A reload that changes forward-to in the configuration file: the
    next pass goes to the new address (the old value was freed under the
    queue's feet once)."""
    b, bport, bspool = start_b(relay_factory)
    c = relay_factory(sub="c")
    cspool = c.spool()
    cport = free_port()
    c.start("--port", cport, "--interface", "127.0.0.1", "--spool-dir",
            cspool, ready_ports=[cport])
    a = relay_factory(sub="a")
    spool = a.spool()
    port = free_port()
    conf = os.path.join(workdir, "a.conf")

    def write_conf(to):
        with open(conf, "w") as f:
            f.write("spool-dir %s\nport %d\ninterface 127.0.0.1\n"
                    "forward-on-disconnect\nforward-to 127.0.0.1:%d\n"
                    % (spool, port, to))
    write_conf(bport)
    a.start(conf, ready_ports=[port])
    os.kill(a.main_pid(), signal.SIGHUP)
    a.wait_log(r"configuration reloaded")
    submit(port)
    wait_forwarded(spool, bspool)
    write_conf(cport)
    os.kill(a.main_pid(), signal.SIGHUP)
    wait_for(lambda: a.log().count("configuration reloaded") == 2, 10,
             "the second reload")
    submit(port)
    wait_forwarded(spool, cspool)
    assert len(ready(bspool)) == 1
    a.stop()
