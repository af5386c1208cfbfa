"""The admin port (SPEC 9, 13, 14, 15): every command over a raw socket,
each with its effect checked where it shows, in the spool directory, on
the SMTP port or at a fake next hop: list and failures name what the
spool holds, unfail-all renames ".bad" envelopes back to ready, forward
and flush send the messages (flush answers only once the next hop has
them), smtp disable turns new SMTP connections away with 421 while an
open session finishes its message, terminate stops the daemon only with
--admin-terminate, 30 unrecognised commands end the session, and remote
clients are refused unless --remote-clients.  dnsbl stop lets a listed
client in (for a while or until dnsbl start), status counts the
connections to the next hop, and notify reports every forwarding pass,
whatever started it.  The dial-up hook of SPEC
13, "echo forward | nc -q 1 127.0.0.1 PORT", runs with netcat when it is
installed."""

import os
import re
import select
import shutil
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from harness import can_connect, free_port, wait_for
from smtpclient import ready
from test_dnsbl import dropped, reversed_name
from test_lookup_net import dnsmasq  # noqa: F401
from test_policy import connect_from, netns  # noqa: F401

PROMPT = b"E-MailRelay> "
MESSAGE = ("From: a@example.com\r\nTo: b@example.com\r\nSubject: adm\r\n"
           "\r\nhi\r\n")


class Admin:
    """A raw admin-port client: send a line, read up to the prompt."""

    def __init__(self, port, host="127.0.0.1", timeout=20):
        self.sock = socket.create_connection((host, port), timeout)
        self.local = "%s:%d" % self.sock.getsockname()[:2]
        self.buf = b""

    def fill(self):
        chunk = self.sock.recv(4096)
        if not chunk:
            raise EOFError("closed with %r" % self.buf)
        self.buf += chunk

    def until(self, marker, timeout=20):
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            assert time.monotonic() < deadline, "no %r in %r" % (
                marker, self.buf)
            self.fill()
        data, self.buf = self.buf.split(marker, 1)
        return data

    def cmd(self, line):
        """The answer to line: its text lines, without the prompt."""
        self.sock.sendall(line.encode() + b"\r\n")
        text = self.until(PROMPT).decode()
        assert text == "" or text.endswith("\r\n"), text
        return text[:-2].split("\r\n") if text else []

    def closed(self, timeout=20):
        """Whatever comes until the relay closes the connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.fill()
            except EOFError:
                data, self.buf = self.buf, b""
                return data
        raise AssertionError("not closed: %r" % self.buf)

    def close(self):
        self.sock.close()


class Sink(threading.Thread):
    """A next hop that records each message.  While gate is clear it
    holds the reply to the data (arrived counts the messages waiting
    there); data_reply replaces the 250."""

    def __init__(self, data_reply=None):
        super().__init__(daemon=True)
        self.data_reply = data_reply
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = 0
        self.messages = []
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
                    self.serve(conn.makefile("rwb"))
                except (OSError, ValueError):
                    pass

    def serve(self, f):
        def reply(text):
            f.write(text.encode() + b"\r\n")
            f.flush()
        reply("220 sink.test ESMTP")
        for _ in range(1000):
            line = f.readline()
            if not line:
                return
            verb = line[:4].decode("latin-1").upper()
            if verb == "EHLO":
                reply("250-sink.test\r\n250 8BITMIME")
            elif verb == "DATA":
                reply("354 go ahead")
                data = b""
                for _ in range(100000):
                    chunk = f.readline()
                    if not chunk or chunk == b".\r\n":
                        break
                    data += chunk
                self.arrived += 1
                self.gate.wait(30)
                if self.data_reply is not None:
                    reply(self.data_reply)
                else:
                    self.messages.append(data)
                    reply("250 OK queued")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:
                reply("250 OK")

    def close(self):
        self.sock.close()


def start(relay, *more, terminate=False):
    """A relay with an admin port; returns (smtp port, admin port, spool)."""
    sport, aport = free_port(), free_port()
    spool = relay.spool()
    args = ["--port", sport, "--admin", aport, "--interface", "127.0.0.1",
            "--spool-dir", spool] + list(more)
    if terminate:
        args.append("--admin-terminate")
    relay.start(*args, ready_ports=[sport, aport])
    return sport, aport, spool


def submit(port, n=1):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        for _ in range(n):
            assert s.sendmail("a@example.com", ["b@example.com"],
                              MESSAGE) == {}


def bad(spool):
    return sorted(n[:-len(".envelope.bad")] for n in os.listdir(spool)
                  if n.endswith(".envelope.bad"))


def counts(report):
    """The "IN started: n" style lines of a status report."""
    return dict((k, int(v)) for k, v in (line.split(": ") for line in report
                if re.match(r"(IN|OUT) (started|finished): ", line)))


def test_commands(relay):
    """help, pid, info, usage answers, an empty line, status, dnsbl and
    quit, and the log lines of the connection."""
    sport, aport, spool = start(relay)
    a = Admin(aport)
    # No prompt before the first command: the first bytes are the answer.
    a.sock.sendall(b"help\r\n")
    a.until(b"commands: ")
    (rest,) = a.until(PROMPT).decode().splitlines()
    assert rest.split(", ") == [
        "dnsbl", "failures", "flush", "forward", "help", "info", "list",
        "notify", "pid", "quit", "smtp", "status", "unfail-all"]
    assert a.cmd("pid") == [str(relay.main_pid())]
    assert re.fullmatch(r"\d+\.\d+\.\d+", a.cmd("info version")[0])
    assert a.cmd("info") == ["usage: info {version}"]
    assert a.cmd("smtp") == ["usage: smtp {disable|enable}"]
    assert a.cmd("smtp sideways") == ["usage: smtp {disable|enable}"]
    for bad_args in ("dnsbl", "dnsbl sideways", "dnsbl start 5",
                     "dnsbl stop soon", "dnsbl stop -1", "dnsbl stop 1 2"):
        assert a.cmd(bad_args) == [
            "usage: dnsbl {start|stop [<seconds>]}"], bad_args
    assert a.cmd("") == []
    assert a.cmd("HeLp")[0].startswith("commands: ")
    # No forwarding address: nothing to forward to.
    for c in ("forward", "flush"):
        assert a.cmd(c) == [
            "error: no remote server configured: use --forward-to"]
    # Without --dnsbl the switch is harmless, and logged.
    assert a.cmd("dnsbl stop 60") == ["OK"]
    assert a.cmd("dnsbl start") == ["OK"]
    relay.wait_log(r"dnsbl checking stopped for 60s")
    relay.wait_log(r"dnsbl checking started")
    # status: both listeners, the counts, this connection and an open
    # SMTP one (the counts include the harness's probes of the ports).
    before = counts(a.cmd("status"))
    smtp = socket.create_connection(("127.0.0.1", sport), 10)
    assert smtp.recv(100).startswith(b"220 ")
    smtp_local = "%s:%d" % smtp.getsockname()[:2]
    report = a.cmd("status")
    assert report[:2] == ["LISTEN: 127.0.0.1:%d" % sport,
                          "LISTEN: 127.0.0.1:%d" % aport], report
    # The client connection counts come next: nothing forwarded yet.
    assert report[2:4] == ["OUT started: 0", "OUT finished: 0"], report
    report = report[:2] + report[4:]
    assert report[2:4] == ["IN started: %d" % (before["IN started"] + 1),
                           "IN finished: %d" % before["IN finished"]]
    assert sorted(report[4:]) == sorted([
        "IN: 127.0.0.1:%d <- %s" % (aport, a.local),
        "IN: 127.0.0.1:%d <- %s" % (sport, smtp_local)]), report
    smtp.close()
    wait_for(lambda: counts(a.cmd("status"))["IN finished"] ==
             before["IN finished"] + 1, 10,
             "the closed SMTP connection in the report")
    # quit closes without a word.
    a.sock.sendall(b"quit\r\n")
    assert a.closed() == b""
    relay.wait_log(r"admin connection closed: quit: %s" % re.escape(a.local))
    relay.stop()
    log = relay.log()
    assert "admin server on 127.0.0.1:%d" % aport in log
    assert "admin connection from %s" % a.local in log
    for word in (": error:", ": warning:"):
        assert word not in log, log


def test_list_failures_unfail_all(relay):
    sport, aport, spool = start(relay)
    a = Admin(aport)
    assert a.cmd("list") == ["<none>"]
    assert a.cmd("failures") == ["<none>"]
    submit(sport, 3)
    ids = ready(spool)
    assert len(ids) == 3
    # Oldest first, as the spool names them.
    assert a.cmd("list") == ids
    # A failed message, as a forwarding pass leaves it.
    os.rename(os.path.join(spool, ids[1] + ".envelope"),
              os.path.join(spool, ids[1] + ".envelope.bad"))
    assert a.cmd("list") == [ids[0], ids[2]]
    assert a.cmd("failures") == [ids[1]]
    assert a.cmd("unfail-all") == [""]
    assert bad(spool) == []
    assert ready(spool) == ids
    assert a.cmd("failures") == ["<none>"]
    assert a.cmd("list") == ids
    a.close()
    relay.wait_log(r"unfail-all: 1 failed message made ready")
    relay.stop()


def test_list_many(relay):
    """A list longer than one frame between the processes comes whole."""
    sport, aport, spool = start(relay)
    submit(sport, 1)
    (base,) = ready(spool)
    content = os.path.join(spool, base + ".content")
    envelope = os.path.join(spool, base + ".envelope")
    pid, t, _ = base.split(".")[1:]
    with open(envelope, "rb") as f:
        env = f.read()
    made = []
    for seq in range(1000, 1700):
        name = "emailrelay.%s.%s.%d" % (pid, t, seq)
        os.link(content, os.path.join(spool, name + ".content"))
        with open(os.path.join(spool, name + ".envelope"), "wb") as f:
            f.write(env)
        made.append(name)
    a = Admin(aport)
    assert a.cmd("list") == [base] + made
    a.close()
    relay.stop()


def test_flush_answers_after_the_sink_has_them(relay_factory):
    sink = Sink()
    relay = relay_factory()
    sport, aport, spool = start(relay, "--forward-to", sink.addr)
    submit(sport, 2)
    ids = ready(spool)
    a, b = Admin(aport), Admin(aport)
    assert a.cmd("notify") == []
    # The sink holds the first message: no answer yet, and a second
    # flush meanwhile is told so.
    sink.gate.clear()
    a.sock.sendall(b"flush\r\n")
    wait_for(lambda: sink.arrived == 1, 15, "the first message at the sink")
    assert b.cmd("flush") == ["error: still working"]
    assert select.select([a.sock], [], [], 0)[0] == [] and a.buf == b""
    sink.gate.set()
    assert a.until(PROMPT) == b"OK\r\n"
    # The answer came after the messages reached the sink.
    assert len(sink.messages) == 2
    assert all(b"Subject: adm\r\n" in m for m in sink.messages)
    assert os.listdir(spool) == []
    # The events of that pass follow the answer.
    a.until(b"EVENT: forward: start\r\n" + PROMPT)
    a.until(b"EVENT: forward: end\r\n" + PROMPT)
    assert b.cmd("flush") == ["error: no messages to send"]
    a.close()
    b.close()
    relay.wait_log(r"forwarding: \[admin\]")
    for i in ids:
        assert "forwarding [%s]" % i in relay.log()
    relay.stop()
    sink.close()


def test_flush_failure_and_forward(relay_factory):
    sink = Sink(data_reply="554 5.7.1 not today")
    relay = relay_factory()
    sport, aport, spool = start(relay, "--forward-to", sink.addr)
    submit(sport, 1)
    (base,) = ready(spool)
    a = Admin(aport)
    (answer,) = a.cmd("flush")
    assert answer.startswith("error: ") and "not today" in answer, answer
    assert bad(spool) == [base]
    assert a.cmd("failures") == [base]
    assert a.cmd("list") == ["<none>"]
    # Unfail it, let the sink take it, and forward: OK at once, the
    # message leaves soon after.
    sink.data_reply = None
    assert a.cmd("unfail-all") == [""]
    assert a.cmd("list") == [base]
    assert a.cmd("forward") == ["OK"]
    wait_for(lambda: os.listdir(spool) == [] and len(sink.messages) == 1,
             15, "the message to reach the sink")
    a.close()
    relay.stop()
    sink.close()


def test_flush_without_connection(relay):
    """Nothing listens at the forwarding address: the message stays."""
    sport, aport, spool = start(relay, "--forward-to",
                                "127.0.0.1:%d" % free_port())
    submit(sport, 1)
    (base,) = ready(spool)
    a = Admin(aport)
    assert a.cmd("flush") == ["error: 1 of 1 messages not sent"]
    assert ready(spool) == [base]
    a.close()
    relay.stop()


def test_echo_forward_nc(relay_factory):
    """SPEC 13: the dial-up hook."""
    nc = shutil.which("nc")
    if nc is None:
        pytest.skip("netcat (nc) is not installed")
    sink = Sink()
    relay = relay_factory()
    sport, aport, spool = start(relay, "--forward-to", sink.addr)
    submit(sport, 1)
    r = subprocess.run("echo forward | %s -q 1 127.0.0.1 %d" % (nc, aport),
                       shell=True, capture_output=True, timeout=30)
    assert r.stdout == b"OK\r\n" + PROMPT, r
    wait_for(lambda: os.listdir(spool) == [] and len(sink.messages) == 1,
             15, "the message to reach the sink")
    relay.wait_log(r"forwarding: \[admin\]")
    relay.stop()
    sink.close()


def test_smtp_disable(relay):
    sport, aport, spool = start(relay)
    open_session = smtplib.SMTP("127.0.0.1", sport, timeout=10)
    open_session.ehlo("client.test")
    assert open_session.mail("a@example.com")[0] == 250
    assert open_session.rcpt("b@example.com")[0] == 250
    a = Admin(aport)
    assert a.cmd("smtp disable") == ["OK"]
    for _ in range(2):
        s = socket.create_connection(("127.0.0.1", sport), 10)
        data = b""
        for _ in range(100):
            chunk = s.recv(1000)
            if not chunk:
                break
            data += chunk
        s.close()
        assert data == b"421 service not available\r\n"
    # The session that was open goes on.
    assert open_session.data(MESSAGE)[0] == 250
    open_session.quit()
    assert len(ready(spool)) == 1
    assert a.cmd("smtp enable") == ["OK"]
    submit(sport, 1)
    assert len(ready(spool)) == 2
    a.close()
    relay.wait_log("smtp connection closed: smtp disabled: ")
    relay.stop()


def test_terminate_refused_without_option(relay):
    sport, aport, spool = start(relay)
    a = Admin(aport)
    assert "terminate" not in a.cmd("help")[0]
    assert a.cmd("terminate") == ["error: unrecognised command"]
    assert a.cmd("pid") == [str(relay.main_pid())]
    assert relay.proc.poll() is None
    a.close()
    relay.stop()


def test_terminate(relay):
    sport, aport, spool = start(relay, terminate=True)
    a = Admin(aport)
    assert a.cmd("help")[0].endswith(", status, terminate, unfail-all")
    a.sock.sendall(b"terminate\r\n")
    assert a.closed() == b""
    assert relay.proc.wait(15) == 0, relay.log()
    relay.stop()
    assert "admin terminate request" in relay.log()


def test_unrecognised_commands_close(relay):
    sport, aport, spool = start(relay)
    a = Admin(aport)
    for i in range(29):
        assert a.cmd("bogus %d" % i) == ["error: unrecognised command"]
    assert a.cmd("pid") == [str(relay.main_pid())]
    a.sock.sendall(b"bogus again\r\n")
    assert a.closed() == b"error: unrecognised command\r\n"
    relay.wait_log(r"admin connection closed: too many unrecognised "
                   r"commands: ")
    # A long line is one more unrecognised command, not a crash.
    b = Admin(aport)
    assert b.cmd("x" * 5000) == ["error: unrecognised command"]
    assert b.cmd("pid") == [str(relay.main_pid())]
    b.close()
    relay.stop()


CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"pid\r\n")
data = b""
try:
    while not data.endswith(b"> "):
        chunk = s.recv(1000)
        if not chunk:
            break
        data += chunk
except OSError as e:
    data += b"<%s>" % type(e).__name__.encode()
sys.stdout.write(repr(data))
"""


@pytest.mark.parametrize("remote_ok", [False, True])
def test_remote_client(relay, netns, remote_ok):  # noqa: F811
    ns, hostaddr, clientaddr = netns
    sport, aport = free_port(), free_port()
    args = ["--port", sport, "--admin", aport, "--interface",
            "127.0.0.1,admin=" + hostaddr, "--spool-dir", relay.spool()]
    if remote_ok:
        args.append("--remote-clients")
    relay.start(*args, ready_ports=[sport])
    wait_for(lambda: "admin server on %s:%d" % (hostaddr, aport)
             in relay.log(), 10, "the admin listener")
    r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                        CLIENT, hostaddr, str(aport)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    if remote_ok:
        assert r.stdout == repr(b"%d\r\n" % relay.main_pid() + PROMPT)
        relay.wait_log(r"admin connection from %s:\d+" % clientaddr)
    else:
        assert r.stdout in ("b''", "b'<ConnectionResetError>'"), r.stdout
        relay.wait_log(r"configured to reject non-local admin connection: "
                       r"%s" % clientaddr.replace(".", r"\."))
        assert "admin connection from %s" % clientaddr not in relay.log()
    relay.stop()


def start_dnsbl(relay, netns, dnsmasq):  # noqa: F811
    """A relay with an admin port and --dnsbl against dnsmasq, which
    lists the namespace's client; returns (ns, hostaddr, smtp port,
    admin client)."""
    ns, hostaddr, clientaddr = netns
    dns = dnsmasq("--local=/bl.test/", "--address=/%s/127.0.0.2"
                  % reversed_name(clientaddr, "bl.test"))
    sport, aport = free_port(), free_port()
    relay.start("--port", sport, "--admin", aport, "--interface",
                "127.0.0.1," + hostaddr, "--spool-dir", relay.spool(),
                "--remote-clients", "--dnsbl",
                "bl.test,1,5000,127.0.0.1:%d" % dns.port,
                ready_ports=[sport, aport])
    wait_for(lambda: can_connect(sport, host=hostaddr), 10,
             "the smtp listener on " + hostaddr)
    got = connect_from(ns, hostaddr, sport)
    assert dropped(got), got
    return ns, hostaddr, sport, Admin(aport)


def test_dnsbl_stop_start(relay, netns, dnsmasq):  # noqa: F811
    ns, hostaddr, sport, a = start_dnsbl(relay, netns, dnsmasq)
    assert a.cmd("dnsbl stop") == ["OK"]
    relay.wait_log(r"dnsbl checking stopped\n")
    for _ in range(2):
        got = connect_from(ns, hostaddr, sport)
        assert got.startswith("b'220 "), got
    assert a.cmd("dnsbl start") == ["OK"]
    relay.wait_log(r"dnsbl checking started")
    got = connect_from(ns, hostaddr, sport)
    assert dropped(got), got
    a.close()
    relay.stop()
    log = relay.log()
    # Blocked twice, never while stopped.
    assert log.count("blocked by bl.test") == 2, log


def test_dnsbl_stop_times_out(relay, netns, dnsmasq):  # noqa: F811
    ns, hostaddr, sport, a = start_dnsbl(relay, netns, dnsmasq)
    assert a.cmd("dnsbl stop 1") == ["OK"]
    got = connect_from(ns, hostaddr, sport)
    assert got.startswith("b'220 ") or \
        "dnsbl checking started" in relay.log(), got
    # Checking resumes by itself, without another command.
    relay.wait_log(r"dnsbl checking started \(the stop timed out\)", 10)
    got = connect_from(ns, hostaddr, sport)
    assert dropped(got), got
    a.close()
    relay.stop()


def sink_relay(relay_factory):
    """A second emailrelay that stores what it gets; (addr, spool)."""
    sink = relay_factory(sub="sink")
    port = free_port()
    spool = sink.spool()
    sink.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
               spool, ready_ports=[port])
    return "127.0.0.1:%d" % port, spool


def test_status_out_counts(relay_factory):
    """OUT started and finished count the connections to the next hop."""
    addr, sink_spool = sink_relay(relay_factory)
    relay = relay_factory()
    sport, aport, spool = start(relay, "--forward-to", addr)
    a = Admin(aport)
    before = counts(a.cmd("status"))
    assert before["OUT started"] == before["OUT finished"] == 0, before
    submit(sport, 1)
    assert a.cmd("flush") == ["OK"]
    assert len(ready(sink_spool)) == 1
    after = counts(a.cmd("status"))
    assert after["OUT started"] == 1, after
    # The idle connection is closed a little later.
    wait_for(lambda: counts(a.cmd("status"))["OUT finished"] == 1, 15,
             "the connection to the next hop to finish")
    assert counts(a.cmd("status"))["OUT started"] == 1
    a.close()
    relay.stop()


def events(a, n, timeout=20):
    """The next n "EVENT: " lines, each followed by a prompt."""
    got = []
    for _ in range(n):
        line = a.until(PROMPT, timeout).decode()
        assert line.startswith("EVENT: ") and line.endswith("\r\n"), line
        got.append(line[len("EVENT: "):-2])
    return got


def next_pass(a):
    """The events of the next whole pass (the end of one that was under
    way at "notify" is skipped)."""
    ev = events(a, 1)
    if ev == ["forward: end"]:
        ev = []
    return ev + events(a, 2 - len(ev))


def test_notify_poll(relay_factory):
    """A pass that --poll starts is reported, with or without messages."""
    addr, sink_spool = sink_relay(relay_factory)
    relay = relay_factory()
    sport, aport, spool = start(relay, "--forward-to", addr, "--poll", "1")
    a = Admin(aport)
    assert a.cmd("notify") == []
    # No startup pass without --forward: these are the poll's.
    assert next_pass(a) == ["forward: start", "forward: end"]
    relay.wait_log(r"forwarding: \[poll\]")
    # A message goes with one of the next passes; its end comes after.
    submit(sport, 1)
    for _ in range(20):
        ev = events(a, 2)
        assert ev == ["forward: start", "forward: end"], ev
        if not ready(spool):
            break
    assert ready(spool) == [] and len(ready(sink_spool)) == 1
    assert "forwarding: [admin]" not in relay.log()
    a.close()
    relay.stop()


def test_notify_forward(relay_factory):
    """A pass that "forward" starts, seen by another admin client."""
    addr, sink_spool = sink_relay(relay_factory)
    relay = relay_factory()
    sport, aport, spool = start(relay, "--forward-to", addr)
    listener, a = Admin(aport), Admin(aport)
    assert listener.cmd("notify") == []
    submit(sport, 2)
    assert a.cmd("forward") == ["OK"]
    assert events(listener, 2) == ["forward: start", "forward: end"]
    # The end comes once the pass has settled its messages.
    assert ready(spool) == [] and len(ready(sink_spool)) == 2
    # Nothing more: one pass, two events.
    assert listener.cmd("pid") == [str(relay.main_pid())]
    relay.wait_log(r"forwarding: \[admin\]")
    listener.close()
    a.close()
    relay.stop()


@pytest.mark.parametrize("option", ["--immediate",
                                    "--forward-on-disconnect"])
def test_notify_other_triggers(relay_factory, option):
    addr, sink_spool = sink_relay(relay_factory)
    relay = relay_factory()
    sport, aport, spool = start(relay, "--forward-to", addr, option)
    a = Admin(aport)
    assert a.cmd("notify") == []
    submit(sport, 1)
    assert events(a, 2) == ["forward: start", "forward: end"]
    assert ready(spool) == [] and len(ready(sink_spool)) == 1
    a.close()
    relay.stop()
