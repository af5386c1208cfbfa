"""emailrelayctl and the control socket (SPEC 10): every command against
a running daemon with its effect checked in the spool directory, on the
SMTP port, at a second relay as next hop or in the log; -j output parsed
with json.loads; -o openmetrics; show queue -d on a stopped daemon's
spool; the socket's mode and the peer check (a user outside the spool's
group is refused, by the file mode and by the daemon itself); garbage
and oversized frames drop only that client while the daemon goes on
serving; a missing socket gives a clear error."""

import grp
import json
import os
import pwd
import smtplib
import socket
import stat
import struct
import subprocess
import time

import pytest

from harness import IS_ROOT, _public_copy, binary, free_port, wait_for
from smtpclient import ready

MESSAGE = ("From: a@example.com\r\nTo: b@example.com\r\nSubject: ctl\r\n"
           "\r\nhello\r\n")


def ctl(relay, *args, user=None, spool=None, timeout=20):
    """Run emailrelayctl against relay's socket; user runs it unprivileged
    (root only)."""
    exe = binary("emailrelayctl")
    argv = ["-s", relay.control_socket()]
    if spool is not None:
        argv += ["-d", spool]
    preexec = None
    if user is not None:
        exe = _public_copy(exe)
        pw = pwd.getpwnam(user)

        def preexec():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    return subprocess.run([exe] + argv + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, preexec_fn=preexec)


def ok(relay, *args, **kw):
    r = ctl(relay, *args, **kw)
    assert r.returncode == 0, "%s: %s%s" % (args, r.stdout, r.stderr)
    return r.stdout


def send(port, rcpt="b@example.com"):
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.sendmail("a@example.com", [rcpt], MESSAGE)


def start(relay, *extra):
    port = free_port()
    spool = relay.spool()
    relay.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                spool, *extra, ready_ports=[port])
    wait_for(lambda: os.path.exists(relay.control_socket()), 10,
             "the control socket")
    return port, spool


def test_socket_mode_and_group(relay):
    port, spool = start(relay)
    st = os.stat(relay.control_socket())
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    if IS_ROOT and relay.user is None:
        assert st.st_uid == 0
        assert st.st_gid == os.stat(spool).st_gid
    assert "control server on %s" % relay.control_socket() in relay.log()
    relay.stop()
    # The socket goes with the daemon.
    assert not os.path.exists(relay.control_socket())


def test_show_queue_message_json(relay):
    port, spool = start(relay)
    assert ok(relay, "show", "queue").strip() == "no messages"
    send(port, "one@example.com")
    send(port, "two@example.com")
    ids = ready(spool)
    assert len(ids) == 2
    text = ok(relay, "show", "queue")
    assert ids[0] in text and ids[1] in text
    assert text.index(ids[0]) < text.index(ids[1])   # oldest first
    q = json.loads(ok(relay, "-j", "show", "queue"))
    assert [e["id"] for e in q] == ids
    assert q[0]["state"] == "ready"
    assert q[0]["from"] == "a@example.com"
    assert q[0]["recipients"] == ["one@example.com"]
    size = os.path.getsize(os.path.join(spool, ids[0] + ".content"))
    assert q[0]["size"] == size
    assert 0 <= q[0]["age"] < 600
    m = json.loads(ok(relay, "-j", "show", "message", ids[1]))
    assert m["id"] == ids[1]
    assert "X-MailRelay-To-Remote: two@example.com" in m["envelope"]
    text = ok(relay, "show", "message", ids[0])
    assert "X-MailRelay-From: a@example.com" in text
    # An unknown id is refused, a malformed one is a usage error.
    r = ctl(relay, "show", "message", "emailrelay.1.2.3")
    assert r.returncode == 1 and "no such message" in r.stderr
    r = ctl(relay, "show", "message", "../etc/passwd")
    assert r.returncode == 2
    relay.stop()


def test_stats_openmetrics_monitor(relay):
    port, spool = start(relay)
    send(port)
    stats = json.loads(ok(relay, "-j", "show", "stats"))
    assert stats["connections"] >= 1
    assert stats["messages_accepted"] == 1
    assert stats["messages_rejected"] == 0
    assert stats["bytes_received"] == os.path.getsize(
        os.path.join(spool, ready(spool)[0] + ".content"))
    assert stats["queue_ready"] == 1 and stats["queue_failed"] == 0
    om = ok(relay, "-o", "openmetrics", "show", "stats")
    lines = om.splitlines()
    assert lines[-1] == "# EOF"
    assert "emailrelay_messages_accepted_total 1" in lines
    assert 'emailrelay_queue_messages{state="ready"} 1' in lines
    assert "# TYPE emailrelay_connections counter" in lines
    mon = ok(relay, "-j", "-n", "2", "monitor", timeout=30).splitlines()
    assert len(mon) == 2
    assert json.loads(mon[0])["messages_accepted"] == 1
    # Not a tty: monitor is bounded even without -n.
    mon = ctl(relay, "monitor", timeout=60)
    assert mon.returncode == 0 and 1 <= len(mon.stdout.splitlines()) <= 10
    relay.stop()


def test_pause_resume_forward_and_forward(relay_factory):
    sink = relay_factory(sub="sink")
    sport, sspool = start(sink)
    relay = relay_factory(sub="main")
    port, spool = start(relay, "--forward-to", "127.0.0.1:%d" % sport)
    assert ok(relay, "pause", "forward").strip() == "forwarding paused"
    send(port)
    r = ctl(relay, "forward")
    assert r.returncode == 1 and "paused" in r.stderr
    assert json.loads(ok(relay, "-j", "show", "stats"))["forward_paused"] \
        == 1
    assert len(ready(spool)) == 1 and ready(sspool) == []
    ok(relay, "resume", "forward")
    wait_for(lambda: ready(spool) == [] and len(ready(sspool)) == 1, 20,
             "the message at the next hop")
    send(port)
    assert len(ready(spool)) == 1
    out = json.loads(ok(relay, "-j", "forward"))
    assert out["status"] == "ok"
    wait_for(lambda: ready(spool) == [] and len(ready(sspool)) == 2, 20,
             "the second message at the next hop")
    stats = json.loads(ok(relay, "-j", "show", "stats"))
    assert stats["messages_forwarded"] == 2
    r = ctl(relay, "forward", "nosuch")
    assert r.returncode == 1 and "no such instance" in r.stderr
    relay.stop()
    sink.stop()


def test_pause_forward_holds_immediate(relay_factory):
    """--immediate forwards during the submission; paused, the message is
    only stored, and the resume pass sends it."""
    sink = relay_factory(sub="sink")
    sport, sspool = start(sink)
    relay = relay_factory(sub="main")
    port, spool = start(relay, "--forward-to", "127.0.0.1:%d" % sport,
                        "--immediate")
    send(port)
    assert ready(spool) == [] and len(ready(sspool)) == 1
    ok(relay, "pause", "forward")
    send(port)
    assert len(ready(spool)) == 1 and len(ready(sspool)) == 1
    ok(relay, "resume", "forward")
    wait_for(lambda: ready(spool) == [] and len(ready(sspool)) == 2, 20,
             "the held message at the next hop")
    relay.stop()
    sink.stop()


def test_retry_and_remove(relay):
    port, spool = start(relay)
    r = ctl(relay, "forward")
    assert r.returncode == 1 and "no remote server" in r.stderr
    send(port)
    send(port)
    a, b = ready(spool)
    # Fail both as a forwarder would.
    for i in (a, b):
        os.rename(os.path.join(spool, i + ".envelope"),
                  os.path.join(spool, i + ".envelope.bad"))
    q = json.loads(ok(relay, "-j", "show", "queue"))
    assert [e["state"] for e in q] == ["bad", "bad"]
    assert "1 message made ready" in ok(relay, "retry", a)
    assert ready(spool) == [a]
    r = ctl(relay, "retry", a)
    assert r.returncode == 1 and "has not failed" in r.stderr
    assert "1 message made ready" in ok(relay, "retry", "all")
    assert ready(spool) == [a, b]
    os.rename(os.path.join(spool, b + ".envelope"),
              os.path.join(spool, b + ".envelope.bad"))
    assert "removed" in ok(relay, "remove", a)
    assert "removed" in ok(relay, "remove", b)
    assert os.listdir(spool) == []
    r = ctl(relay, "remove", a)
    assert r.returncode == 1 and "no such message" in r.stderr
    relay.stop()


def smtp_greeting(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.settimeout(10)
        return s.recv(512)


def test_pause_resume_smtp(relay):
    port, spool = start(relay)
    assert smtp_greeting(port).startswith(b"220 ")
    ok(relay, "pause", "smtp")
    assert smtp_greeting(port).startswith(b"421 ")
    assert json.loads(ok(relay, "-j", "show", "stats"))["smtp_paused"] == 1
    ok(relay, "resume", "smtp")
    assert smtp_greeting(port).startswith(b"220 ")
    send(port)
    assert len(ready(spool)) == 1
    relay.stop()


def test_log_reload_stop(relay):
    port, spool = start(relay)
    send(port)
    assert "rx<<:" not in relay.log()
    ok(relay, "log", "verbose")
    send(port)
    wait_for(lambda: 'rx<<: "mail FROM:<a@example.com>' in relay.log(), 10,
             "the verbose trace")
    # "log verbose" outlasts a reload.
    ok(relay, "reload")
    relay.wait_log("configuration reloaded")
    n = relay.log().count("rx<<:")
    send(port)
    wait_for(lambda: relay.log().count("rx<<:") > n, 10,
             "the verbose trace after the reload")
    ok(relay, "log", "brief")
    n = relay.log().count("rx<<:")
    send(port)
    assert relay.log().count("rx<<:") == n
    ok(relay, "reload")
    wait_for(lambda: relay.log().count("configuration reloaded") == 2, 10,
             "the second reload")
    send(port)
    assert relay.log().count("rx<<:") == n
    assert ok(relay, "stop").strip() == "ok"
    assert relay.proc.wait(15) == 0
    assert "emailrelayctl: stop" in relay.log()
    relay.stop()
    # The stopped daemon's spool, read directly.
    assert not os.path.exists(relay.control_socket())
    q = json.loads(ok(relay, "-j", "show", "queue", spool=spool))
    assert sorted(e["id"] for e in q) == ready(spool)
    assert len(q) == 5 and q[0]["from"] == "a@example.com"
    text = ok(relay, "show", "queue", spool=spool)
    assert all(i in text for i in ready(spool))
    m = json.loads(ok(relay, "-j", "show", "message", q[0]["id"],
                      spool=spool))
    assert "X-MailRelay-From: a@example.com" in m["envelope"]
    # Commands that need the daemon still fail clearly.
    r = ctl(relay, "show", "stats", spool=spool)
    assert r.returncode == 1
    assert "cannot connect to %s: No such file or directory" % \
        relay.control_socket() in r.stderr


def test_missing_socket_and_usage(workdir):
    exe = binary("emailrelayctl")
    path = os.path.join(workdir, "nope.sock")
    r = subprocess.run([exe, "-s", path, "show", "queue"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert r.stderr.strip() == ("emailrelayctl: cannot connect to %s: "
                                "No such file or directory" % path)
    for args in ([], ["bogus"], ["show"], ["pause", "pop"],
                 ["log", "loud"], ["retry"], ["-o", "prom", "show", "stats"],
                 ["-o", "openmetrics", "show", "queue"]):
        r = subprocess.run([exe, "-s", path] + args, capture_output=True,
                           text=True, timeout=20)
        assert r.returncode == 2, args
        assert "usage:" in r.stderr


def raw(relay):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(relay.control_socket())
    return s


def closed_by_peer(s):
    """Whether the daemon closes s (reads until EOF, bounded)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if s.recv(65536) == b"":
                return True
        except ConnectionResetError:
            return True
    return False


def test_garbage_drops_only_that_client(relay):
    port, spool = start(relay)
    send(port)
    keep = raw(relay)           # an idle client that stays connected
    bad = raw(relay)
    bad.sendall(b"\xff" * 64)   # a frame length far over the limit
    assert closed_by_peer(bad)
    bad.close()
    # A frame of a type that is not a control request (MSG_LOG_NOTIFY).
    bad = raw(relay)
    body = struct.pack("=I", 0) + struct.pack("=I", 2) + b"hi"
    bad.sendall(struct.pack("=IHHQ", 16 + len(body), 8, 0, 1) + body)
    assert closed_by_peer(bad)
    bad.close()
    # An oversized stream of zeros: bounded, then dropped.
    bad = raw(relay)
    try:
        bad.sendall(b"\0" * (256 * 1024))
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert closed_by_peer(bad)
    bad.close()
    relay.wait_log("client")
    # The daemon goes on: the idle client and a new one are served.
    q = json.loads(ok(relay, "-j", "show", "queue"))
    assert len(q) == 1
    keep.close()
    send(port)
    assert len(ready(spool)) == 2
    assert relay.proc.poll() is None
    relay.stop()


def test_non_member_refused(relay):
    if not IS_ROOT:
        print("skipped: needs root to run emailrelayctl as another user")
        pytest.skip("needs root to run emailrelayctl as another user")
    port, spool = start(relay)
    gid = os.stat(spool).st_gid
    # An account outside the socket's group, not the daemon's own.
    user = "nobody" if relay.user != "nobody" else "daemon"
    pw = pwd.getpwnam(user)
    assert pw.pw_gid != gid and user not in grp.getgrgid(gid).gr_mem
    r = ctl(relay, "show", "queue", user=user)
    assert r.returncode == 1
    assert "cannot connect to %s: Permission denied" % \
        relay.control_socket() in r.stderr
    # With the file opened up, the daemon's own check still refuses.
    os.chmod(relay.control_socket(), 0o666)
    r = ctl(relay, "stop", user=user)
    assert r.returncode == 1
    assert "closed by the daemon" in r.stderr
    relay.wait_log(r"connection from uid %d refused" % pw.pw_uid)
    assert relay.proc.poll() is None
    # Root still gets in.
    assert ok(relay, "show", "queue").strip() == "no messages"
    relay.stop()
