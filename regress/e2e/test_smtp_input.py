"""Input the SMTP server must take in its stride (SPEC 3, 4, 14, 15):
real clients (swaks), BDAT with BINARYMIME, SMTPUTF8, SMTP smuggling
attempts, bad command lines, one bad client among good ones, and a full
disk.  Every test checks the exact replies and what the spool holds."""

import contextlib
import grp
import os
import pwd
import re
import shutil
import smtplib
import subprocess

import pytest

from smtpclient import Raw, expected_envelope, read, ready
from harness import IS_ROOT, free_port, run, wait_for

DOMAIN = "relay.test"
HELO = "client.test"

DAYS = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
MONTHS = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
RECEIVED = re.compile(
    (r"Received: from %s \(\[127\.0\.0\.1\]\) by %s with ESMTP ; "
     r"%s, ([1-9]|[12][0-9]|3[01]) %s \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n"
     % (re.escape(HELO), re.escape(DOMAIN), DAYS, MONTHS)).encode())

R_DATA = "354 start mail input -- end with <CRLF>.<CRLF>"
R_SEQ = "503 command out of sequence -- use RSET to resynchronise"
R_NOTIMPL = "502 command not implemented"     # SPEC 4 and 14, verbatim


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


def only_ready_pairs(spool, count):
    """Asserts spool holds exactly count messages, each one content and one
    ready envelope and nothing else; returns their base names."""
    bases = ready(spool)
    assert len(bases) == count, spool_files(spool)
    want = sorted([b + ".content" for b in bases] +
                  [b + ".envelope" for b in bases])
    assert spool_files(spool) == want
    return bases


def split_received(content):
    """(Received line, the rest) after checking there is exactly one."""
    first, rest = content.split(b"\r\n", 1)
    first += b"\r\n"
    assert RECEIVED.fullmatch(first), first
    assert not re.search(rb"(^|\n)Received:", rest), rest
    return first, rest


def greet(c, helo=HELO):
    assert c.reply()[0].startswith("220 %s -- E-MailRelay V" % DOMAIN)
    c.send("EHLO %s\r\n" % helo)
    return c.reply()


def envelope_of(spool, base):
    return read(os.path.join(spool, base + ".envelope"))


def content_of(spool, base):
    return read(os.path.join(spool, base + ".content"))


# 1. swaks, with and without PIPELINING.

SWAKS_DATA = ("From: a@example.com\nTo: b@example.com\nSubject: swaks %s\n"
              "\nfirst line\n.leading dot\n\nlast line")


def swaks(port, workdir, tag, *more):
    path = os.path.join(workdir, "swaks-%s.txt" % tag)
    with open(path, "w") as f:
        f.write(SWAKS_DATA % tag)
    argv = ["swaks", "--server", "127.0.0.1", "--port", str(port),
            "--helo", HELO, "--from", "a@example.com",
            "--to", "b@example.com", "--timeout", "10",
            "--data", "@" + path] + list(more)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.skipif(shutil.which("swaks") is None,
                    reason="swaks is not installed (apt: swaks)")
def test_swaks_plain_and_pipelined(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    seen = set()
    for count, (tag, more) in enumerate((("plain", []),
                                         ("pipelined", ["--pipeline"])), 1):
        out = swaks(port, relay.workdir, tag, *more)
        # swaks shows the dialogue: " -> " sent, "<-  " received.
        assert "<-  250 message processed" in out, out
        assert "<-  221 OK" in out, out
        if more:
            # Pipelined: MAIL, RCPT and DATA went out in one write.
            assert re.search(r" -> MAIL FROM:<a@example.com>\n"
                             r" -> RCPT TO:<b@example.com>\n"
                             r" -> DATA\n", out), out
        else:
            assert re.search(r" -> MAIL FROM:<a@example.com>\n"
                             r"<-  250 sender <a@example.com> OK\n", out), out
        bases = only_ready_pairs(spool, count)
        (base,) = [b for b in bases if b not in seen]
        seen.add(base)
        assert envelope_of(spool, base) == \
            expected_envelope("a@example.com", ["b@example.com"])
        content = content_of(spool, base)
        _, rest = split_received(content)
        # CRLF throughout, the leading dot unstuffed, nothing else (swaks
        # ends the last line itself).
        assert rest == ((SWAKS_DATA % tag).replace("\n", "\r\n") +
                        "\r\n").encode()
        assert re.search(rb"[^\r]\n|\r[^\n]", content) is None
    relay.stop()


# 2. BDAT and BINARYMIME.

def test_bdat_binarymime(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool, "--server-smtp-config",
                          "+chunking"), ready_ports=[port])
    c = Raw(port)
    assert greet(c) == ["250-%s says hello" % DOMAIN, "250-VRFY",
                        "250-CHUNKING", "250-BINARYMIME", "250-PIPELINING",
                        "250 8BITMIME"]
    c.send("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n")
    assert c.reply() == ["250 sender <a@b.example> OK"]
    c.send("RCPT TO:<c@d.example>\r\n")
    assert c.reply() == ["250 recipient <c@d.example> OK"]
    c.send("DATA\r\n")
    assert c.reply() == [R_SEQ]
    chunks = [
        b"Subject: binary\r\n\r\nbare lf\nbare cr\rnul\x00here\r\n",
        # Looks like the end of DATA and a command: octets all the same.
        b"\r\n.\r\nQUIT\r\n\x00\x01\x02\xff\xfe\r",
        b"\n.\n\r.\r" + bytes(range(256)) + b"\ntail",
    ]
    c.send(b"BDAT %d\r\n" % len(chunks[0]) + chunks[0])
    assert c.reply() == ["250 %d bytes received" % len(chunks[0])]
    # The rest pipelined in one write.
    c.send(b"BDAT %d\r\n" % len(chunks[1]) + chunks[1] +
           b"BDAT %d LAST\r\n" % len(chunks[2]) + chunks[2] + b"QUIT\r\n")
    assert c.reply() == ["250 %d bytes received" % len(chunks[1])]
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    assert c.closed()
    c.close()
    (base,) = only_ready_pairs(spool, 1)
    assert envelope_of(spool, base) == \
        expected_envelope("a@b.example", ["c@d.example"],
                          content="binarymime")
    _, rest = split_received(content_of(spool, base))
    assert rest == b"".join(chunks)
    relay.stop()


def test_bdat_not_offered_without_chunking(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    c = Raw(port)
    reply = greet(c)
    assert "250-CHUNKING" not in reply and "250-BINARYMIME" not in reply
    c.send("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n")
    assert c.reply() == ["555 unsupported parameter"]
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n")
    assert c.reply() == ["250 sender <a@b.example> OK"]
    assert c.reply() == ["250 recipient <c@d.example> OK"]
    c.send("BDAT 3 LAST\r\n")
    assert c.reply() == ["500 command unrecognized"]
    c.send("RSET\r\nQUIT\r\n")
    assert c.reply() == ["250 state reset"]
    assert c.reply() == ["221 OK"]
    c.close()
    wait_for(lambda: spool_files(spool) == [], 10, "RSET to clean up")
    relay.stop()


# 3. SMTPUTF8.

UTF8_FROM = "j\u00f6s\u00e9@b.example"
UTF8_TO = "\u00fcn\u00ef\u00e7\u00f8d\u00e9@d.example"


def test_smtputf8(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool, "--server-smtp-config",
                          "+smtputf8"), ready_ports=[port])
    c = Raw(port)
    assert greet(c) == ["250-%s says hello" % DOMAIN, "250-VRFY",
                        "250-PIPELINING", "250-SMTPUTF8", "250 8BITMIME"]
    c.send("MAIL FROM:<%s> SMTPUTF8 BODY=8BITMIME\r\n" % UTF8_FROM)
    assert c.reply() == ["250 sender <%s> OK" % UTF8_FROM]
    c.send("RCPT TO:<%s>\r\n" % UTF8_TO)
    assert c.reply() == ["250 recipient <%s> OK" % UTF8_TO]
    body = ("From: <%s>\r\nTo: <%s>\r\nSubject: gr\u00fc\u00dfe\r\n\r\n"
            "\u00e9t\u00e9\r\n" % (UTF8_FROM, UTF8_TO)).encode()
    c.send(b"DATA\r\n")
    assert c.reply() == [R_DATA]
    c.send(body + b".\r\n")
    assert c.reply() == ["250 message processed"]
    c.send("QUIT\r\n")
    assert c.reply() == ["221 OK"]
    c.close()
    (base,) = only_ready_pairs(spool, 1)
    assert envelope_of(spool, base) == \
        expected_envelope(UTF8_FROM, [UTF8_TO], content="8bit", utf8=1)
    _, rest = split_received(content_of(spool, base))
    assert rest == body
    relay.stop()


def test_smtputf8_parameter_refused_when_not_offered(relay):
    """RFC 6531 3.4: SMTPUTF8 only after the server offered it; without
    +smtputf8 it is an unknown MAIL parameter, 555 (RFC 5321 4.1.1.11)."""
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    c = Raw(port)
    reply = greet(c)
    assert "250-SMTPUTF8" not in reply and "250 SMTPUTF8" not in reply
    c.send("MAIL FROM:<%s> SMTPUTF8\r\n" % UTF8_FROM)
    assert c.reply() == ["555 unsupported parameter"]
    c.send("MAIL FROM:<a@b.example> SMTPUTF8\r\n")
    assert c.reply() == ["555 unsupported parameter"]
    # Nothing was started: the session goes on.
    assert spool_files(spool) == []
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
           "Subject: ascii\r\n\r\nx\r\n.\r\nQUIT\r\n")
    assert c.reply() == ["250 sender <a@b.example> OK"]
    assert c.reply() == ["250 recipient <c@d.example> OK"]
    assert c.reply() == [R_DATA]
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    c.close()
    (base,) = only_ready_pairs(spool, 1)
    assert envelope_of(spool, base) == \
        expected_envelope("a@b.example", ["c@d.example"])
    relay.stop()


# 4. SMTP smuggling.

SMUGGLED = ("MAIL FROM:<evil%d@x.example>\r\nRCPT TO:<victim@y.example>\r\n"
            "DATA\r\nSubject: smuggled\r\n\r\nforged\r\n")


def test_smuggling_only_crlf_dot_crlf_ends(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    c = Raw(port)
    greet(c)
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    assert c.reply() == ["250 sender <a@b.example> OK"]
    assert c.reply() == ["250 recipient <c@d.example> OK"]
    assert c.reply() == [R_DATA]
    data = (b"Subject: innocent\r\n\r\nhello\r\n"
            b"one\n.\n" + (SMUGGLED % 1).encode() +
            b"two\r.\r" + (SMUGGLED % 2).encode() +
            b"three\r\n.\n" + (SMUGGLED % 3).encode() +
            b"four\n.\r\n" + (SMUGGLED % 4).encode() +
            b"five\r\n.\r" + (SMUGGLED % 5).encode() +
            b"end\r\n")
    c.send(data)
    # Not one of those was the end of the data: no reply at all.
    assert c.pending(0.5) == b""
    c.send(".\r\nQUIT\r\n")
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    assert c.closed()
    c.close()
    (base,) = only_ready_pairs(spool, 1)
    assert envelope_of(spool, base) == \
        expected_envelope("a@b.example", ["c@d.example"])
    _, rest = split_received(content_of(spool, base))
    # As the client sent it: bare LF and CR kept, the lone dots kept
    # (nothing follows them on their line: not stuffing), the smuggled text
    # inside.  Only ".\rMAIL ..." at the start of a CRLF line is a
    # dot-stuffed line (RFC 5321 4.5.2) and loses its dot.
    assert rest == data.replace(b"five\r\n.\r", b"five\r\n\r")
    for i in range(1, 6):
        assert b"<evil%d@x.example>" % i in rest
    relay.stop()
    assert relay.log().count("new envelope file") == 1


def test_dot_stuffing_at_crlf_lines(relay):
    """The counterpart: CRLF lines are unstuffed and CRLF.CRLF ends at once,
    even when it arrives with the next transaction in the same write."""
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    c = Raw(port)
    greet(c)
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    for _ in range(3):
        c.reply()
    c.send("Subject: dots\r\n\r\n..\r\n...x\r\n.y\r\n.\r\n"
           "MAIL FROM:<e@b.example>\r\nRCPT TO:<f@d.example>\r\nDATA\r\n"
           ".\r\nQUIT\r\n")
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["250 sender <e@b.example> OK"]
    assert c.reply() == ["250 recipient <f@d.example> OK"]
    assert c.reply() == [R_DATA]
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    c.close()
    bases = only_ready_pairs(spool, 2)
    rests = {}
    for b in bases:
        env = envelope_of(spool, b)
        rests[env.split(b"X-MailRelay-From: ")[1].split(b"\r\n")[0]] = \
            split_received(content_of(spool, b))[1]
    assert rests == {b"a@b.example": b"Subject: dots\r\n\r\n.\r\n..x\r\ny\r\n",
                     b"e@b.example": b""}
    relay.stop()


def test_crlf_split_across_a_long_line(relay):
    """A 64 KiB line reaches the engine in pieces; when its CR ends one
    piece and its LF starts the next, it is still a CRLF line, so the
    "." CRLF after it ends the message."""
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    c = Raw(port)
    greet(c)
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    for _ in range(3):
        c.reply()
    long_line = b"L" * (64 * 1024 - 1) + b"\r\n"
    c.send(long_line + b".\r\nQUIT\r\n")
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    c.close()
    (base,) = only_ready_pairs(spool, 1)
    assert split_received(content_of(spool, base))[1] == long_line
    relay.stop()


# 5. Bad input on one connection.

def test_bad_commands_on_one_connection(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    c = Raw(port)
    assert c.reply() == ["220 %s -- E-MailRelay V%s -- Service ready"
                         % (DOMAIN, version())]
    c.send("MAIL FROM:<a@b.example>\r\n")
    assert c.reply() == [R_SEQ]
    c.send("EHLO %s\r\n" % HELO)
    assert c.reply()[-1] == "250 8BITMIME"
    # 2000 octets with the CRLF: refused, nothing started.
    line = "MAIL FROM:<" + "a" * 1976 + "@b.example>"
    assert len(line) + 2 == 2000
    c.send(line + "\r\n")
    assert c.reply() == ["500 line too long"]
    c.send("NOOP\r\n")
    assert c.reply() == ["250 noop"]
    assert spool_files(spool) == []
    # The same in small pieces, then a plain 2000-octet command.
    for i in range(0, 2000, 100):
        c.send(("NOOP " + "z" * 1993 + "\r\n")[i:i + 100])
    assert c.reply() == ["500 line too long"]
    c.send("NOOP\r\n")
    assert c.reply() == ["250 noop"]
    c.send("XYZZY plugh\r\n")
    assert c.reply() == ["500 command unrecognized"]
    c.send("RCPT TO:<x@y>\r\n")
    assert c.reply() == [R_SEQ]
    c.send("HELP\r\n")
    assert c.reply() == [R_NOTIMPL]
    c.send("HELP DATA\r\n")
    assert c.reply() == [R_NOTIMPL]
    c.send("EXPN staff\r\n")
    assert c.reply() == [R_NOTIMPL]
    # Still a working session: a message goes through.
    c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n"
           "Subject: after\r\n\r\nok\r\n.\r\nQUIT\r\n")
    assert c.reply() == ["250 sender <a@b.example> OK"]
    assert c.reply() == ["250 recipient <x@y.example> OK"]
    assert c.reply() == [R_DATA]
    assert c.reply() == ["250 message processed"]
    assert c.reply() == ["221 OK"]
    c.close()
    (base,) = only_ready_pairs(spool, 1)
    assert split_received(content_of(spool, base))[1] == \
        b"Subject: after\r\n\r\nok\r\n"
    relay.stop()


# 6. One stuck client and one bad client do not stop the others.

def test_others_served_while_one_stalls_and_one_babbles(relay):
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    stall = Raw(port)
    greet(stall)
    stall.send("MAIL FROM:<slow@b.example>\r\nRCPT TO:<s@d.example>\r\n"
               "DATA\r\n")
    assert stall.reply() == ["250 sender <slow@b.example> OK"]
    assert stall.reply() == ["250 recipient <s@d.example> OK"]
    assert stall.reply() == [R_DATA]
    # Half a message and half a line; then nothing for a while.
    stall.send("Subject: slow\r\n\r\n" + "s" * 5000 + "\r\n.")

    bad = Raw(port)
    assert bad.reply()[0].startswith("220 ")
    bad.send(b"\x00\xff" * 30000)       # 60000 octets and no line end
    quiet = Raw(port)                    # connected, says nothing
    assert quiet.reply()[0].startswith("220 ")

    (stalled,) = spool_files(spool)     # its content file, from MAIL on
    with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO,
                      timeout=10) as s:
        assert s.sendmail("good@b.example", ["g@d.example"],
                          "Subject: good\r\n\r\nserved\r\n") == {}
    (good,) = ready(spool)
    assert spool_files(spool) == sorted([stalled, good + ".content",
                                         good + ".envelope"])
    assert envelope_of(spool, good) == \
        expected_envelope("good@b.example", ["g@d.example"])
    assert split_received(content_of(spool, good))[1] == \
        b"Subject: good\r\n\r\nserved\r\n"

    # The bad client gets its answers and, at the 8th error, is closed.
    bad.send(b"\r\n" + b"\x01GARBAGE\x02\r\n" * 7)
    assert bad.reply() == ["500 line too long"]
    for _ in range(7):
        assert bad.reply() == ["500 command unrecognized"]
    assert bad.closed()
    bad.close()

    # The stalled one finishes: ".x" was stuffing, then the real end.
    stall.send("x\r\n.\r\nQUIT\r\n")
    assert stall.reply() == ["250 message processed"]
    assert stall.reply() == ["221 OK"]
    stall.close()
    quiet.send("QUIT\r\n")
    assert quiet.reply() == ["221 OK"]
    quiet.close()
    bases = only_ready_pairs(spool, 2)
    (slow,) = [b for b in bases if b != good]
    assert split_received(content_of(spool, slow))[1] == \
        b"Subject: slow\r\n\r\n" + b"s" * 5000 + b"\r\nx\r\n"
    relay.stop()


# 7. A full disk.

@contextlib.contextmanager
def small_spool(relay, size):
    """A tmpfs of the given size mounted as the relay's spool directory.
    MAIL wants 1 MiB free beyond any SIZE= (queue/store.c), so the tests
    use a few MiB rather than a few hundred KiB."""
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root")
    path = os.path.join(relay.workdir, "spool")
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                        "tmpfs", path], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.strip())
    try:
        # The owner and mode relay.spool() gives (the mount hid them).
        assert relay.spool() == path
        if relay.user is None:
            assert os.stat(path).st_gid == grp.getgrnam("daemon").gr_gid
        else:
            assert os.stat(path).st_uid == pwd.getpwnam(relay.user).pw_uid
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)


def fill(spool, leave=0):
    """Write a filler file until ENOSPC (then give back leave octets)."""
    path = os.path.join(spool, "filler")
    block = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as e:
                assert e.errno == 28, e     # ENOSPC
                break
        os.fsync(fd)
        if leave:
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return path


def free_octets(spool):
    st = os.statvfs(spool)
    return st.f_bavail * st.f_frsize


def left_behind(spool):
    return [n for n in spool_files(spool)
            if not n.endswith(".envelope")]


def submit_ok(port, spool, tag):
    with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO,
                      timeout=10) as s:
        assert s.sendmail("a@b.example", ["c@d.example"],
                          "Subject: %s\r\n\r\nstored\r\n" % tag) == {}
    (base,) = only_ready_pairs(spool, 1)
    assert split_received(content_of(spool, base))[1] == \
        ("Subject: %s\r\n\r\nstored\r\n" % tag).encode()
    return base


def test_full_disk_refuses_mail(relay):
    port = free_port()
    with small_spool(relay, "4m") as spool:
        relay.start(*std_args(relay, port, spool), ready_ports=[port])
        filler = fill(spool)
        assert free_octets(spool) == 0
        c = Raw(port)
        greet(c)
        c.send("MAIL FROM:<a@b.example>\r\n")
        assert c.reply() == ["452 insufficient storage"]
        assert spool_files(spool) == []
        # A transaction was never started.
        c.send("RCPT TO:<c@d.example>\r\n")
        assert c.reply() == [R_SEQ]
        relay.wait_log(r"not enough free space")
        # With room again the same session goes on.
        os.unlink(filler)
        c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
               "DATA\r\nSubject: later\r\n\r\nok\r\n.\r\nQUIT\r\n")
        assert c.reply() == ["250 sender <a@b.example> OK"]
        assert c.reply() == ["250 recipient <c@d.example> OK"]
        assert c.reply() == [R_DATA]
        assert c.reply() == ["250 message processed"]
        assert c.reply() == ["221 OK"]
        c.close()
        (base,) = only_ready_pairs(spool, 1)
        os.unlink(os.path.join(spool, base + ".envelope"))
        os.unlink(os.path.join(spool, base + ".content"))
        submit_ok(port, spool, "new session")
        relay.stop()


def test_disk_fills_during_data(relay):
    port = free_port()
    with small_spool(relay, "4m") as spool:
        relay.start(*std_args(relay, port, spool), ready_ports=[port])
        c = Raw(port)
        greet(c)
        c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
               "DATA\r\n")
        assert c.reply() == ["250 sender <a@b.example> OK"]
        assert c.reply() == ["250 recipient <c@d.example> OK"]
        assert c.reply() == [R_DATA]
        (content,) = spool_files(spool)
        assert content.endswith(".content")
        # MAIL passed the free-space check; now only a little is left.
        filler = fill(spool, leave=64 * 1024)
        assert 0 < free_octets(spool) <= 64 * 1024
        line = "x" * 78 + "\r\n"
        c.send("Subject: big\r\n\r\n" + line * 4000 + ".\r\n")
        assert c.reply() == ["452 cannot store message content"]
        wait_for(lambda: left_behind(spool) == [], 10,
                 "the content file to go")
        assert ready(spool) == []
        assert spool_files(spool) == []
        relay.wait_log(r"cannot write message content: No space left on "
                       r"device")
        # The session is usable again once there is room.
        os.unlink(filler)
        c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
               "DATA\r\nSubject: small\r\n\r\nok\r\n.\r\nQUIT\r\n")
        assert c.reply() == ["250 sender <a@b.example> OK"]
        assert c.reply() == ["250 recipient <c@d.example> OK"]
        assert c.reply() == [R_DATA]
        assert c.reply() == ["250 message processed"]
        assert c.reply() == ["221 OK"]
        c.close()
        (base,) = only_ready_pairs(spool, 1)
        assert split_received(content_of(spool, base))[1] == \
            b"Subject: small\r\n\r\nok\r\n"
        relay.stop()


def test_disk_full_for_the_envelope(relay):
    """The content fits, the envelope does not: queue's commit fails, the
    client gets 452 and no file is left (no Received line here, so the
    content is exactly what was sent)."""
    port = free_port()
    with small_spool(relay, "4m") as spool:
        relay.start(*std_args(relay, port, spool, "--anonymous=content"),
                    ready_ports=[port])
        c = Raw(port)
        greet(c)
        c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
               "DATA\r\n")
        assert c.reply() == ["250 sender <a@b.example> OK"]
        assert c.reply() == ["250 recipient <c@d.example> OK"]
        assert c.reply() == [R_DATA]
        (content,) = spool_files(spool)
        # 64 KiB, the size smtpd writes at a time, all of it on disk.
        line = "y" * 62 + "\r\n"
        c.send(line * 1024)
        wait_for(lambda: os.stat(os.path.join(spool, content)).st_size ==
                 64 * 1024, 10, "the content to be written")
        fill(spool)
        c.send(".\r\n")
        assert c.reply() == ["452 cannot store message"]
        wait_for(lambda: spool_files(spool) == [], 10, "the files to go")
        relay.wait_log(r"queue: cannot write emailrelay\.\S+\.envelope\.new"
                       r": No space left on device")
        c.send("QUIT\r\n")
        assert c.reply() == ["221 OK"]
        c.close()
        os.unlink(os.path.join(spool, "filler"))
        relay.stop()
