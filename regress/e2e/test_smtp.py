"""The SMTP receive path (SPEC 3, 4, 14): smtplib and raw sockets submit
messages; the spool then holds E-MailRelay's files, byte for byte."""

import os
import re
import smtplib
import stat
import time

from smtpclient import Raw, expected_envelope, read, ready
from harness import free_port, run, wait_for

DOMAIN = "relay.test"
HELO = "client.test"

DAYS = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
MONTHS = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
RECEIVED = re.compile(
    r"Received: from %s \(\[127\.0\.0\.1\]\) by %s with ESMTP ; "
    r"%s, ([1-9]|[12][0-9]|3[01]) %s \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n"
    % (re.escape(HELO), re.escape(DOMAIN), DAYS, MONTHS))


def version():
    out = run("--version", user=None).stdout
    m = re.match(r"E-MailRelay V(\S+)\n", out)
    assert m, out
    return m.group(1)


def std_args(relay, port, spool=None, *more):
    return ["--port", port, "--interface", "127.0.0.1", "--domain", DOMAIN,
            "--spool-dir", spool or relay.spool()] + list(more)


def spool_files(spool):
    return sorted(n for n in os.listdir(spool) if n.startswith("emailrelay."))


MESSAGE = ("From: a@example.com\r\nTo: b@example.com\r\nSubject: test\r\n"
           "\r\nfirst line\r\n.leading dot\r\n..two dots\r\n.\r\n"
           "last line\r\n")


def test_message_stored_in_emailrelay_format(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO,
                      timeout=10) as s:
        cport = s.sock.getsockname()[1]
        refused = s.sendmail("a@example.com",
                             ["b@example.com", "c@other.example"], MESSAGE)
        assert refused == {}
    files = spool_files(spool)
    assert len(files) == 2, files
    (base,) = ready(spool)
    assert re.fullmatch(r"emailrelay\.\d+\.\d+\.\d+", base)
    assert files == [base + ".content", base + ".envelope"]
    for name in files:
        st = os.stat(os.path.join(spool, name))
        assert stat.S_IMODE(st.st_mode) == 0o660, name

    assert read(os.path.join(spool, base + ".envelope")) == \
        expected_envelope("a@example.com",
                          ["b@example.com", "c@other.example"])

    content = read(os.path.join(spool, base + ".content"))
    first, rest = content.split(b"\r\n", 1)
    assert RECEIVED.fullmatch(first.decode() + "\r\n"), first
    # As sent, dot-unstuffed: smtplib stuffed the leading dots.
    assert rest == MESSAGE.encode()

    # Log lines travel through the parent: wait for the last one.
    relay.wait_log(r"smtp connection closed: smtp protocol done: "
                   r"127\.0\.0\.1:%d\n" % cport)
    relay.stop()
    log = relay.log()
    assert "new content file [%s.content]" % base in log
    assert "new envelope file [%s.envelope.new]" % base in log
    # One line each for this connection (the harness probes the port too).
    assert log.count("smtp connection from 127.0.0.1:%d\n" % cport) == 1
    assert len(re.findall(r"smtp connection closed: .*: 127\.0\.0\.1:%d\n"
                          % cport, log)) == 1
    assert "smtp connection closed: smtp protocol done: 127.0.0.1:%d\n" \
        % cport in log


def test_body_8bitmime_and_null_sender(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    body = "Subject: caf\u00e9\r\n\r\n\u00e9t\u00e9\r\n".encode()
    with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO,
                      timeout=10) as s:
        s.sendmail("", ["x@example.com"], body,
                   mail_options=["BODY=8BITMIME"])
    (base,) = ready(spool)
    assert read(os.path.join(spool, base + ".envelope")) == \
        expected_envelope("", ["x@example.com"], content="8bit")
    content = read(os.path.join(spool, base + ".content"))
    assert content.split(b"\r\n", 1)[1] == body
    relay.stop()


def test_reply_texts(relay):
    port = free_port()
    relay.start(*std_args(relay, port), ready_ports=[port])
    c = Raw(port)
    assert c.reply() == ["220 %s -- E-MailRelay V%s -- Service ready"
                         % (DOMAIN, version())]
    c.send("MAIL FROM:<a@example.com>\r\n")
    assert c.reply() == [
        "503 command out of sequence -- use RSET to resynchronise"]
    c.send("EHLO\r\n")
    assert c.reply() == ["501 parameter required"]
    c.send("EHLO %s\r\n" % HELO)
    assert c.reply() == ["250-%s says hello" % DOMAIN, "250-VRFY",
                         "250-PIPELINING", "250 8BITMIME"]
    c.send("HELO %s\r\n" % HELO)
    assert c.reply() == ["250 %s says hello" % DOMAIN]
    c.send("MAIL FROM:<a@example.com>\r\n")
    assert c.reply() == ["250 sender <a@example.com> OK"]
    c.send("DATA\r\n")
    assert c.reply() == ["554 no valid recipients"]
    c.send("RCPT TO:<>\r\n")
    assert c.reply() == ["550 invalid empty mailbox"]
    c.send("RCPT TO:b@example.com\r\n")
    assert c.reply() == ["553 mailbox name not allowed: missing angle "
                         "brackets in mailbox name"]
    c.send("RCPT TO:<b@example.com>\r\n")
    assert c.reply() == ["250 recipient <b@example.com> OK"]
    c.send("VRFY <v@example.com>\r\n")
    assert c.reply() == ["252 cannot verify but will accept: v@example.com"]
    c.send("NOOP\r\n")
    assert c.reply() == ["250 noop"]
    c.send("STARTTLS\r\n")
    assert c.reply() == ["500 command unrecognized"]
    c.send("DATA\r\n")
    assert c.reply() == ["354 start mail input -- end with <CRLF>.<CRLF>"]
    c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
    assert c.reply() == ["250 message processed"]
    c.send("RSET\r\n")
    assert c.reply() == ["250 state reset"]
    c.send("QUIT\r\n")
    assert c.reply() == ["221 OK"]
    assert c.closed()
    c.close()
    relay.stop()
    assert len(ready(relay.spool())) == 1


def test_pipelined_commands_answered_in_order(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    c = Raw(port)
    # Sent before the greeting: answered after it, nothing lost.
    c.send("EHLO %s\r\n" % HELO)
    assert c.reply()[0].startswith("220 ")
    assert c.reply()[-1] == "250 8BITMIME"
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
           "RCPT TO:<c@example.com>\r\nDATA\r\n")
    assert c.reply() == ["250 sender <a@example.com> OK"]
    assert c.reply() == ["250 recipient <b@example.com> OK"]
    assert c.reply() == ["250 recipient <c@example.com> OK"]
    assert c.reply() == ["354 start mail input -- end with <CRLF>.<CRLF>"]
    # The end of the data, a whole second transaction and QUIT at once.
    c.send("Subject: one\r\n\r\n1\r\n.\r\n"
           "MAIL FROM:<d@example.com>\r\nRCPT TO:<e@example.com>\r\n"
           "DATA\r\nSubject: two\r\n\r\n2\r\n.\r\nQUIT\r\n")
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["250 sender <d@example.com> OK"]
    assert c.reply() == ["250 recipient <e@example.com> OK"]
    assert c.reply() == ["354 start mail input -- end with <CRLF>.<CRLF>"]
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    assert c.closed()
    c.close()
    bases = ready(spool)
    assert len(bases) == 2
    envs = sorted(read(os.path.join(spool, b + ".envelope")) for b in bases)
    assert envs == sorted([
        expected_envelope("a@example.com", ["b@example.com",
                                            "c@example.com"]),
        expected_envelope("d@example.com", ["e@example.com"])])
    relay.stop()


def test_rset_and_disconnect_leave_nothing(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    c = Raw(port)
    c.reply()
    c.send("EHLO %s\r\nMAIL FROM:<a@example.com>\r\n" % HELO)
    c.reply()
    assert c.reply() == ["250 sender <a@example.com> OK"]
    # The content file exists from MAIL on.
    assert len([n for n in spool_files(spool)
                if n.endswith(".content")]) == 1
    c.send("RCPT TO:<b@example.com>\r\nRSET\r\n")
    assert c.reply() == ["250 recipient <b@example.com> OK"]
    assert c.reply() == ["250 state reset"]
    wait_for(lambda: spool_files(spool) == [], 10, "RSET to clean up")

    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
           "DATA\r\n")
    assert c.reply()[0].startswith("250 ")
    assert c.reply()[0].startswith("250 ")
    assert c.reply()[0].startswith("354 ")
    c.send("Subject: half\r\n\r\nsome of the body\r\n")
    c.close()
    wait_for(lambda: "peer disconnected: 127.0.0.1:%d" % c.port
             in relay.log(), 10, "the disconnect to be logged")
    wait_for(lambda: spool_files(spool) == [], 10, "disconnect to clean up")
    relay.stop()
    assert "new envelope file" not in relay.log()


def test_size_limit_552_and_session_goes_on(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool, "--size", "200"),
                ready_ports=[port])
    c = Raw(port)
    c.reply()
    c.send("EHLO %s\r\n" % HELO)
    assert c.reply() == ["250-%s says hello" % DOMAIN, "250-SIZE 200",
                         "250-VRFY", "250-PIPELINING", "250 8BITMIME"]
    c.send("MAIL FROM:<a@example.com> SIZE=5000\r\n")
    assert c.reply() == [
        "552 message size exceeds fixed maximum message size"]
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
           "DATA\r\n")
    for _ in range(3):
        c.reply()
    c.send("Subject: big\r\n\r\n" + ("x" * 70 + "\r\n") * 20 + ".\r\n")
    assert c.reply() == [
        "552 message size exceeds fixed maximum message size"]
    wait_for(lambda: spool_files(spool) == [], 10, "the big one to go")
    # Still usable: a small message is stored.
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
           "DATA\r\nSubject: small\r\n\r\nok\r\n.\r\nQUIT\r\n")
    assert c.reply() == ["250 sender <a@example.com> OK"]
    assert c.reply() == ["250 recipient <b@example.com> OK"]
    assert c.reply()[0].startswith("354 ")
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    c.close()
    (base,) = ready(spool)
    assert b"Subject: small" in read(os.path.join(spool, base + ".content"))
    relay.stop()


def test_overlong_and_nul_commands(relay):
    port = free_port()
    relay.start(*std_args(relay, port), ready_ports=[port])
    c = Raw(port)
    c.reply()
    c.send("NOOP " + "x" * 1500 + "\r\n")
    assert c.reply() == ["500 line too long"]
    c.send("NOOP\r\n")
    assert c.reply() == ["250 noop"]
    # 1000 octets with CRLF is the limit, one more is too long.
    c.send("NOOP " + "y" * 993 + "\r\n")
    assert c.reply() == ["250 noop"]
    c.send("NOOP " + "y" * 994 + "\r\n")
    assert c.reply() == ["500 line too long"]
    c.send(b"NO\x00OP\r\n")
    assert c.reply() == ["500 command unrecognized"]
    c.send(b"EHLO a\x00b\r\n")
    assert c.reply()[0].startswith("500 ")
    c.send("QUIT\r\n")
    assert c.reply() == ["221 OK"]
    c.close()
    relay.stop()


def test_eight_protocol_errors_close(relay):
    port = free_port()
    relay.start(*std_args(relay, port), ready_ports=[port])
    c = Raw(port)
    c.reply()
    c.send("XYZZY\r\n" * 7)
    for _ in range(7):
        assert c.reply() == ["500 command unrecognized"]
    c.send("NOOP\r\n")
    assert c.reply() == ["250 noop"]
    c.send("XYZZY\r\nNOOP\r\n")
    # The 8th error still gets its reply, then the connection closes.
    assert c.reply() == ["500 command unrecognized"]
    assert c.closed()
    assert c.buf == b""
    c.close()
    relay.wait_log(r"smtp connection closed: too many protocol errors from "
                   r"the client: 127\.0\.0\.1:%d" % c.port)
    relay.stop()


def test_idle_timeout_closes_silently(relay):
    port = free_port()
    relay.start(*std_args(relay, port, None, "--idle-timeout", "1"),
                ready_ports=[port])
    c = Raw(port, timeout=10)
    assert c.reply()[0].startswith("220 ")
    t0 = time.monotonic()
    assert c.closed()
    assert 0.8 < time.monotonic() - t0 < 6
    assert c.buf == b""
    c.close()
    relay.wait_log(r"smtp connection closed: idle timeout: no activity "
                   r"after 1s: 127\.0\.0\.1:%d" % c.port)
    relay.stop()
    assert relay.log().count(":%d\n" % c.port) == 2


def test_verbose_protocol_trace(relay):
    port = free_port()
    relay.start(*std_args(relay, port, None, "--verbose"),
                ready_ports=[port])
    with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO,
                      timeout=10) as s:
        s.sendmail("a@example.com", ["b@example.com"],
                   "Subject: secret\r\n\r\nthe body text\r\n")
    relay.wait_log(r'info: tx>>: "221 OK"')
    relay.stop()
    log = relay.log()
    assert re.search(r'info: tx>>: "220 %s -- E-MailRelay V\S+ -- Service '
                     r'ready"' % re.escape(DOMAIN), log)
    assert 'info: rx<<: "mail FROM:<a@example.com>"' in log
    assert 'info: tx>>: "250 sender <a@example.com> OK"' in log
    assert 'info: rx<<: "rcpt TO:<b@example.com>"' in log
    assert 'info: tx>>: "354 start mail input -- end with <CRLF>.<CRLF>"' \
        in log
    assert log.count("rx<<: [message content not logged]") == 1
    assert 'info: tx>>: "250 message processed"' in log
    assert "the body text" not in log and "secret" not in log


def test_two_instances_own_spools(relay):
    p1, p2 = free_port(), free_port()
    a = relay.spool("spools/a")
    b = relay.spool("spools/b")
    relay.start("--in-spool-dir", a, "--in-port", p1,
                "--in-interface", "127.0.0.1", "--in-domain", "in.test",
                "--out-spool-dir", b, "--out-port", p2,
                "--out-interface", "127.0.0.1", "--out-domain", "out.test",
                "--log-format", "unit", ready_ports=[p1, p2])
    for port, rcpt, domain in ((p1, "in@example.com", "in.test"),
                               (p2, "out@example.com", "out.test")):
        with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO,
                          timeout=10) as s:
            code, msg = s.ehlo(HELO)
            assert msg.decode().split("\n")[0] == "%s says hello" % domain
            s.sendmail("a@example.com", [rcpt], "Subject: %s\r\n\r\nx\r\n"
                       % rcpt)
    (ina,) = ready(a)
    (inb,) = ready(b)
    assert b"X-MailRelay-To-Remote: in@example.com\r\n" in \
        read(os.path.join(a, ina + ".envelope"))
    assert b"X-MailRelay-To-Remote: out@example.com\r\n" in \
        read(os.path.join(b, inb + ".envelope"))
    assert b"by in.test with ESMTP" in read(os.path.join(a, ina + ".content"))
    assert b"by out.test with ESMTP" in \
        read(os.path.join(b, inb + ".content"))
    relay.wait_log(r"info: \[in\] new content file \[%s\.content\]" % ina)
    relay.wait_log(r"info: \[out\] new content file \[%s\.content\]"
                   % inb)
    relay.stop()


def test_stale_files_recovered_at_start(relay):
    port = free_port()
    spool = relay.spool()
    old = time.time() - 3600
    names = ["emailrelay.1.100.1.envelope.new", "emailrelay.1.100.1.content",
             "emailrelay.1.100.2.content", "emailrelay.1.100.3.content",
             "emailrelay.1.100.3.envelope.busy"]
    for n in names:
        p = os.path.join(spool, n)
        with open(p, "w") as f:
            f.write("X-MailRelay-Format: #2821.8\r\n")
        os.chmod(p, 0o666)   # the relay's user must lock and unlink them
        os.utime(p, (old, old))
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    relay.wait_log(r"spool recovery: returned a claimed message to ready "
                   r"\[emailrelay\.1\.100\.3\.envelope\.busy\]")
    wait_for(lambda: spool_files(spool) == [
        "emailrelay.1.100.3.content", "emailrelay.1.100.3.envelope"], 10,
        "recovery")
    wait_for(lambda: relay.log().count("spool recovery:") >= 4, 10,
             "the recovery lines")
    relay.stop()
    log = relay.log()
    assert log.count("spool recovery:") == 4, log
    assert "removed an incomplete envelope [emailrelay.1.100.1." \
        "envelope.new]" in log
    assert log.count("removed an orphan content file") == 2


def test_ten_thousand_recipients(relay):
    """Recipients travel to queue in several frames; the 10001st is
    refused."""
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    rcpts = ["user%05d@example.com" % i for i in range(10000)]
    c = Raw(port, timeout=30)
    c.reply()
    c.send("EHLO %s\r\nMAIL FROM:<a@example.com>\r\n" % HELO)
    c.reply()
    c.reply()
    for i in range(0, len(rcpts), 500):
        c.send("".join("RCPT TO:<%s>\r\n" % r for r in rcpts[i:i + 500]))
        for r in rcpts[i:i + 500]:
            assert c.reply() == ["250 recipient <%s> OK" % r]
    c.send("RCPT TO:<one-more@example.com>\r\n")
    assert c.reply() == ["452 too many recipients"]
    c.send("DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n")
    assert c.reply()[0].startswith("354 ")
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    c.close()
    (base,) = ready(spool)
    assert read(os.path.join(spool, base + ".envelope")) == \
        expected_envelope("a@example.com", rcpts)
    relay.stop()
