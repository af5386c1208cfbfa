"""--address-verifier programs (SPEC 4, 6.1, 6.5): consulted for every
RCPT and VRFY with six arguments; local, remote (rewritten), invalid,
temporary and abort answers; a timeout; and recipients full of shell
metacharacters reach the program as one plain argument."""

import os
import smtplib

from smtpclient import read, ready
from harness import free_port
from test_filter import outdir, script

MESSAGE = "Subject: verified\r\n\r\nbody\r\n"

VERIFIER = """
echo "$#" > {out}/argc
for a in "$@"; do printf '%s\\n' "$a"; done > {out}/args
case "$1" in
local@*) echo "Local User"; echo "localbox"; exit 0 ;;
remote@*) echo "Remote"; echo "rewritten@elsewhere.example"; exit 1 ;;
temp@*) echo "try again later"; exit 3 ;;
abort@*) exit 100 ;;
slow@*) sleep 30 ;;
*) echo "no such user here"; exit 2 ;;
esac
"""


def start(relay, workdir, *more):
    out = outdir(workdir)
    v = script(workdir, "verify.sh", VERIFIER.format(out=out))
    port = free_port()
    spool = relay.spool()
    relay.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                spool, "--domain", "relay.test", "--address-verifier", v,
                *more, ready_ports=[port])
    return port, spool, out


def client(port):
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                     timeout=30)
    s.ehlo()
    return s


def test_local_and_remote_recipients(relay, workdir):
    port, spool, out = start(relay, workdir)
    with client(port) as s:
        s.mail("a@example.com")
        assert s.rcpt("local@relay.test") == (
            250, b"recipient <local@relay.test>  OK")
        assert s.rcpt("remote@example.com") == (
            250, b"recipient <remote@example.com> OK")
        assert s.data(MESSAGE)[0] == 250
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-ToCount: 2\r\n" in env
    assert b"X-MailRelay-To-Local: localbox\r\n" in env
    assert b"X-MailRelay-To-Remote: rewritten@elsewhere.example\r\n" in env
    assert b"remote@example.com" not in env


def test_verifier_arguments(relay, workdir):
    port, spool, out = start(relay, workdir)
    with client(port) as s:
        s.mail("sender@example.com")
        s.rcpt("local@relay.test")
        sport = s.sock.getsockname()[1]
    assert read(os.path.join(out, "argc")).strip() == b"6"
    args = read(os.path.join(out, "args")).decode().split("\n")
    assert args[:6] == ["local@relay.test", "sender@example.com",
                        "127.0.0.1:%d" % sport, "relay.test", "none", ""]


def test_invalid_and_temporary(relay, workdir):
    port, spool, out = start(relay, workdir)
    with client(port) as s:
        s.mail("a@example.com")
        assert s.rcpt("nobody@relay.test") == (550, b"no such user here")
        assert s.rcpt("temp@relay.test") == (450, b"try again later")
        # The session goes on.
        assert s.rcpt("local@relay.test")[0] == 250
        assert s.data(MESSAGE)[0] == 250
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-ToCount: 1\r\n" in env


def test_abort_closes_the_connection(relay, workdir):
    port, spool, out = start(relay, workdir)
    s = client(port)
    s.mail("a@example.com")
    try:
        code, _ = s.rcpt("abort@relay.test")
        assert code == -1 or code >= 400
    except smtplib.SMTPServerDisconnected:
        pass
    try:
        s.noop()
        closed = False
    except (smtplib.SMTPServerDisconnected, OSError):
        closed = True
    assert closed
    s.close()


def test_timeout_is_temporary(relay, workdir):
    port, spool, out = start(relay, workdir, "--filter-timeout", "1")
    with client(port) as s:
        s.mail("a@example.com")
        code, _ = s.rcpt("slow@relay.test")
        assert code == 450


def test_vrfy(relay, workdir):
    port, spool, out = start(relay, workdir)
    with client(port) as s:
        assert s.verify("local@relay.test") == (250, b"Local User")
        assert s.verify("remote@example.com") == (
            252, b"cannot verify but will accept: "
            b"rewritten@elsewhere.example")
        assert s.verify("nobody@relay.test") == (550, b"no such user here")
    # VRFY has no MAIL FROM: the second argument is empty.
    args = read(os.path.join(out, "args")).decode().split("\n")
    assert args[1] == ""


def test_shell_metacharacters_are_not_interpreted(relay, workdir):
    """A recipient built to break a shell (the CVE-2020-7247 class)
    reaches the verifier as one argument, byte for byte."""
    port, spool, out = start(relay, workdir)
    pwned = os.path.join(out, "pwned")
    rcpts = ['"x;touch %s;"@relay.test' % pwned,
             '"`touch %s`"@relay.test' % pwned,
             '"$(touch %s)"@relay.test' % pwned]
    with client(port) as s:
        s.mail("a@example.com")
        for r in rcpts:
            code, _ = s.docmd("RCPT TO:<%s>" % r)
            assert code == 550
            args = read(os.path.join(out, "args")).decode().split("\n")
            assert args[0] == r
    assert not os.path.exists(pwned)
