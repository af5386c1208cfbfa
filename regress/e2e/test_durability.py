"""Durability of the receive path (SPEC 3): no 250 before the message is
on disk, nothing acknowledged lost to a crash, nothing half-written ever
ready for forwarding."""

import os
import re
import shutil
import signal
import smtplib
import threading

import pytest

from harness import SANITIZE, free_port, proc_status, wait_for

CLIENTS = 10


def message(token):
    return ("From: a@example.com\r\nTo: b@example.com\r\n"
            "Subject: %s\r\n\r\nbody of %s\r\n.leading dot\r\n"
            "last line\r\n" % (token, token))


def ready_messages(spool):
    """{token: content} of every ready envelope's content in spool."""
    found = {}
    for name in os.listdir(spool):
        if not name.endswith(".envelope"):
            continue
        base = name[:-len(".envelope")]
        with open(os.path.join(spool, base + ".content"), "rb") as f:
            content = f.read().decode()
        m = re.search(r"^Subject: (\S+)\r$", content, re.M)
        assert m, "ready message without our subject: %r" % content
        assert m.group(1) not in found
        found[m.group(1)] = content
    return found


def test_acknowledged_messages_survive_kill_9(relay):
    port = free_port()
    spool = relay.spool()
    args = ["--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool]
    relay.start(*args, ready_ports=[port], new_session=True)

    acked, attempted = set(), set()
    lock = threading.Lock()
    stop = threading.Event()

    def client(n):
        for i in range(10000):
            if stop.is_set():
                return
            token = "c%d-m%d" % (n, i)
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                    with lock:
                        attempted.add(token)
                    s.sendmail("a@example.com", ["b@example.com"],
                               message(token))
                with lock:
                    acked.add(token)
            except (OSError, smtplib.SMTPException):
                return

    threads = [threading.Thread(target=client, args=(n,))
               for n in range(CLIENTS)]
    for t in threads:
        t.start()
    tree = list(relay.children().values())
    try:
        wait_for(lambda: len(acked) >= 50, 60, "50 acknowledged messages")
    finally:
        # The whole tree at once, while the clients are still sending.
        os.killpg(relay.proc.pid, signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(30)
    relay.proc.wait(10)
    relay.errf.close()
    # SIGKILL is asynchronous: the children may still hold the listener.
    wait_for(lambda: all((proc_status(p) or {}).get("State", "Z")[0] == "Z"
                         for p in tree), 20, "the killed children to exit")

    # Restart on the same spool: recovery must not lose or expose anything.
    again = relay.__class__(relay.workdir, user=relay.user)
    again.logpath = os.path.join(relay.workdir, "stderr2.log")
    again.start(*args, ready_ports=[port])
    again.stop()

    ready = ready_messages(spool)
    missing = acked - set(ready)
    assert not missing, "acknowledged but lost: %s" % sorted(missing)[:10]
    for token, content in ready.items():
        assert token in attempted, "never sent: %s" % token
        body = content.split("\r\n", 1)[1]   # after our Received line
        assert content.startswith("Received: ")
        # smtplib dot-stuffs the ".leading" line; the relay unstuffs it.
        assert body == message(token), token


def test_fsync_order_before_250(relay):
    """Under strace: for the message, the content is fsync'd, then the
    envelope, then it is renamed to ready and the directory fsync'd, and
    only then does the client get its 250."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    if SANITIZE:
        pytest.skip("ptrace and the sanitizer runtime do not mix; the plain "
                    "pass covers this")
    port = free_port()
    spool = relay.spool()
    trace = os.path.join(relay.workdir, "strace.out")
    relay.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                spool, ready_ports=[port],
                wrap=[strace, "-f", "-ttt", "-y", "-s", "80", "-o", trace,
                      "-e", "trace=fsync,fdatasync,rename,renameat,"
                      "renameat2,write,writev,sendto,sendmsg"])
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.sendmail("a@example.com", ["b@example.com"], message("one"))
    relay.stop()

    lines = open(trace).read().splitlines()
    env = [n for n in os.listdir(spool) if n.endswith(".envelope")]
    assert len(env) == 1
    base = env[0][:-len(".envelope")]

    def first(pattern, after=-1):
        rx = re.compile(pattern)
        for i, line in enumerate(lines):
            if i > after and rx.search(line):
                return i
        raise AssertionError("no %r after line %d in:\n%s"
                             % (pattern, after, "\n".join(lines[-60:])))

    b = re.escape(base)
    c = first(r"f(data)?sync\(\d+<[^>]*%s\.content>" % b)
    e = first(r"f(data)?sync\(\d+<[^>]*%s\.envelope\.new>" % b, c)
    r = first(r"rename(at2?)?\(.*%s\.envelope\.new.*%s\.envelope\"" % (b, b),
              e)
    d = first(r"f(data)?sync\(\d+<%s>" % re.escape(os.path.realpath(spool)),
              r)
    first(r"(write|writev|sendto|sendmsg)\(\d+<(TCP|socket)[^>]*>.*250 ", d)
