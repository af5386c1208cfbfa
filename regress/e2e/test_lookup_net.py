"""The built-ins the lookup process runs over the network (SPEC 6.3, 6.5,
6.6): spam: and spam-edit: against a real spamd (SpamAssassin), net:
filters and verifiers against a small line server in this file, the
account: verifier on the system's own accounts, and the mx: routing
client filter with a real DNS server (dnsmasq) for its records."""

import os
import pwd
import shutil
import signal
import smtplib
import socket
import socketserver
import subprocess
import tempfile
import threading
import time

import pytest

from smtpclient import read, ready
from harness import can_connect, free_port, wait_for
from test_forward import spool_files, write_spool_entry

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def message(body, subject="test"):
    """A message with the headers that keep a clean one below 5.0."""
    return ("Date: Mon, 23 Nov 2026 19:20:03 +0000\r\n"
            "From: Alice <alice@example.com>\r\n"
            "To: Bob <bob@example.com>\r\n"
            "Message-ID: <%d.%s@example.com>\r\n"
            "Subject: %s\r\n\r\n%s\r\n"
            % (time.time_ns(), subject.replace(" ", "-"), subject, body))


def send(port, body, to=("bob@example.com",)):
    """Send one message; returns the reply code and text to the data."""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=60) as s:
        s.ehlo()
        s.mail("alice@example.com")
        for t in to:
            assert s.rcpt(t)[0] == 250
        return s.data(body)


def start_relay(relay, *more):
    port = free_port()
    spool = relay.spool()
    relay.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                spool, "--domain", "relay.test", *more, ready_ports=[port])
    return port, spool


# -- spamd ----------------------------------------------------------------

@pytest.fixture(scope="module")
def spamd():
    """A real spamd on a loopback port for the whole module."""
    exe = shutil.which("spamd") or (
        "/usr/sbin/spamd" if os.access("/usr/sbin/spamd", os.X_OK)
        else None)
    if exe is None:
        pytest.skip("spamd is not installed (apt: spamd, spamassassin)")
    d = tempfile.mkdtemp(prefix="emailrelay-spamd-")
    port = free_port()
    argv = [exe, "--listen=127.0.0.1:%d" % port, "--allowed-ips=127.0.0.1",
            "--pidfile=%s" % os.path.join(d, "spamd.pid"), "--local",
            "--nouser-config", "--max-children=2", "--syslog=stderr"]
    if os.geteuid() == 0:
        argv.append("--username=nobody")
    log = open(os.path.join(d, "spamd.log"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=log, start_new_session=True)
    try:
        wait_for(lambda: p.poll() is not None or can_connect(port), 90,
                 "spamd to listen")
        if p.poll() is not None:
            pytest.skip("spamd did not start: %s"
                        % read(os.path.join(d, "spamd.log"))[-500:])
        yield port
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def test_spam_rejects_gtube(relay, spamd):
    port, spool = start_relay(relay, "--filter",
                              "spam:127.0.0.1:%d" % spamd)
    assert send(port, message(GTUBE, "gtube")) == (550, b"spam detected")
    relay.wait_log(r"rejected by filter: \[spam detected \(score "
                   r"[0-9.]+/[0-9.]+\)\]")
    # Refused: nothing is kept.
    assert spool_files(spool) == []


def test_spam_passes_clean_message(relay, spamd):
    port, spool = start_relay(relay, "--filter",
                              "spam:127.0.0.1:%d" % spamd)
    body = message("Lunch tomorrow at noon?", "lunch")
    assert send(port, body)[0] == 250
    (base,) = ready(spool)
    content = read(os.path.join(spool, base + ".content"))
    # spam: only looks: the content is as received.
    assert content.endswith(body.encode())
    assert b"X-Spam-" not in content


def test_spam_edit_rewrites_content(relay, spamd):
    port, spool = start_relay(relay, "--filter",
                              "spam-edit:127.0.0.1:%d" % spamd)
    assert send(port, message(GTUBE, "gtube"))[0] == 250
    assert send(port, message("Lunch tomorrow at noon?", "lunch"))[0] == 250
    bases = ready(spool)
    assert len(bases) == 2
    contents = [read(os.path.join(spool, b + ".content")) for b in bases]
    spam = [c for c in contents if b"gtube" in c]
    ham = [c for c in contents if b"lunch" in c]
    assert len(spam) == 1 and len(ham) == 1
    assert b"X-Spam-Flag: YES" in spam[0]
    assert b"X-Spam-Status: Yes" in spam[0]
    assert b"X-Spam-Status: No" in ham[0]
    # Our own Received line survives spamd's rewrite.
    assert b"Received: from client.test" in ham[0]


def test_spam_no_spamd_fails_temporarily(relay):
    dead = free_port()
    port, spool = start_relay(relay, "--filter", "spam:127.0.0.1:%d" % dead)
    assert send(port, message("hello")) == (451, b"spam filter error")
    assert spool_files(spool) == []
    relay.wait_log(r"spamd 127\.0\.0\.1:%d: spamd: cannot connect" % dead)


# -- net: line servers ------------------------------------------------------

class LineServer(socketserver.ThreadingTCPServer):
    """A loopback line server: answer(line) gives each response line."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer, once=False):
        self.answer = answer
        self.once = once          # close after each answer
        self.connections = 0
        self.requests = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), LineHandler)
        self.thread = threading.Thread(target=self.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server_address[1]

    def close(self):
        self.shutdown()
        self.server_close()
        self.thread.join(10)


class LineHandler(socketserver.StreamRequestHandler):
    timeout = 60

    def handle(self):
        with self.server.lock:
            self.server.connections += 1
        for _ in range(1000):
            line = self.rfile.readline(8192)
            if not line:
                return
            line = line.rstrip(b"\n").decode()
            with self.server.lock:
                self.server.requests.append(line)
            self.wfile.write((self.server.answer(line) + "\n").encode())
            self.wfile.flush()
            if self.server.once:
                return


@pytest.fixture
def line_server():
    made = []

    def make(answer, once=False):
        s = LineServer(answer, once)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def net_filter_answer(path):
    """ok for a message that says "please pass", else a failure."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "451 cannot read\t%s" % e
    if b"please pass" in data:
        return "ok"
    return "550 not wanted here\tnet filter said no"


def test_net_filter(relay, line_server):
    srv = line_server(net_filter_answer)
    port, spool = start_relay(relay, "--filter", "net:127.0.0.1:%d"
                              % srv.port)
    assert send(port, message("please pass"))[0] == 250
    assert send(port, message("something else")) == (
        550, b"not wanted here")
    relay.wait_log(r"rejected by filter: \[net filter said no\]")
    assert send(port, message("please pass again"))[0] == 250
    assert len(ready(spool)) == 2
    # One request per message, each the content path; the connection
    # was kept open between them.
    assert len(srv.requests) == 3
    for r in srv.requests:
        assert r.startswith(spool + "/emailrelay.")
        assert r.endswith(".content")
    assert srv.connections == 1


def test_net_filter_concurrent_messages(relay, line_server):
    """Messages filtered at the same time share a few kept
    connections; every one gets its own answer."""
    srv = line_server(net_filter_answer)
    port, spool = start_relay(relay, "--filter", "net:127.0.0.1:%d"
                              % srv.port)
    results = {}

    def one(i):
        body = message("please pass %d" % i if i % 2 == 0 else "no %d" % i)
        results[i] = send(port, body)[0]
    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {i: 250 if i % 2 == 0 else 550 for i in range(12)}
    assert len(ready(spool)) == 6
    assert len(srv.requests) == 12
    assert 1 <= srv.connections <= 8


def test_net_filter_reconnects(relay, line_server):
    """The server closes the connection after each answer: the next
    message goes over a new one."""
    srv = line_server(net_filter_answer, once=True)
    port, spool = start_relay(relay, "--filter", "net:127.0.0.1:%d"
                              % srv.port)
    for i in range(3):
        assert send(port, message("please pass %d" % i))[0] == 250
    assert len(ready(spool)) == 3
    assert len(srv.requests) == 3
    assert srv.connections == 3


class UnixLineServer(socketserver.ThreadingUnixStreamServer):
    """The same line server on a unix socket."""
    daemon_threads = True

    def __init__(self, path, answer):
        self.answer = answer
        self.once = False
        self.connections = 0
        self.requests = []
        self.lock = threading.Lock()
        super().__init__(path, LineHandler)
        os.chmod(path, 0o777)
        self.thread = threading.Thread(target=self.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.shutdown()
        self.server_close()
        self.thread.join(10)


def test_net_filter_unix_socket_and_localhost(relay, line_server, workdir):
    """net:/path (a unix socket) and net:localhost:<port> in one chain."""
    path = os.path.join(workdir, "filter.s")
    usrv = UnixLineServer(path, net_filter_answer)
    tsrv = line_server(net_filter_answer)
    try:
        port, spool = start_relay(relay, "--filter", "net:" + path,
                                  "--filter", "net:localhost:%d"
                                  % tsrv.port)
        assert send(port, message("please pass"))[0] == 250
        assert send(port, message("no")) == (550, b"not wanted here")
    finally:
        usrv.close()
    assert len(usrv.requests) == 2
    # The second filter saw only the message the first one passed.
    assert len(tsrv.requests) == 1
    assert len(ready(spool)) == 1


def test_net_filter_down_fails(relay):
    dead = free_port()
    port, spool = start_relay(relay, "--filter", "net:127.0.0.1:%d" % dead)
    assert send(port, message("hello")) == (451, b"filter error")
    assert spool_files(spool) == []


def net_verify_answer(line):
    to, frm, ip, domain, mech, name = line.split("|")
    user = to.split("@")[0]
    if user == "local":
        return "0|localbox|Local User"
    if user == "remote":
        return "1|rewritten@elsewhere.example"
    if user == "temp":
        return "3|try again later"
    return "2|no such user here"


def test_net_verifier(relay, line_server):
    srv = line_server(net_verify_answer)
    port, spool = start_relay(relay, "--address-verifier",
                              "net:127.0.0.1:%d" % srv.port)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=30) as s:
        s.ehlo()
        s.mail("sender@example.com")
        assert s.rcpt("local@relay.test") == (
            250, b"recipient <local@relay.test>  OK")
        assert s.rcpt("remote@example.com") == (
            250, b"recipient <remote@example.com> OK")
        assert s.rcpt("nobody@relay.test") == (550, b"no such user here")
        assert s.rcpt("temp@relay.test") == (450, b"try again later")
        assert s.data(message("verified"))[0] == 250
        sport = s.sock.getsockname()[1]
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-To-Local: localbox\r\n" in env
    assert b"X-MailRelay-To-Remote: rewritten@elsewhere.example\r\n" in env
    assert srv.requests[0] == ("local@relay.test|sender@example.com|"
                               "127.0.0.1:%d|relay.test|none|" % sport)
    assert srv.connections == 1


# -- account: -------------------------------------------------------------

def test_account_verifier(relay):
    """The system's own accounts: daemon (uid 1) and bin (uid 2)."""
    try:
        daemon = pwd.getpwnam("daemon")
        pwd.getpwnam("bin")
    except KeyError:
        pytest.skip("no daemon and bin accounts on this system")
    uid = daemon.pw_uid
    port, spool = start_relay(relay, "--address-verifier",
                              "account:%d-%d;lowercase" % (uid, uid))
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=30) as s:
        s.ehlo()
        s.mail("sender@example.com")
        assert s.rcpt("DAEMON@relay.test") == (
            250, b"recipient <DAEMON@relay.test>  OK")
        # Outside the uid range, root, no such account, another domain.
        for r in ("bin@relay.test", "root@relay.test",
                  "no-such-account-here@relay.test", "daemon@other.test"):
            assert s.rcpt(r) == (550, b"mailbox unavailable"), r
        assert s.data(message("to an account"))[0] == 250
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-To-Local: daemon\r\n" in env
    assert b"X-MailRelay-ToCount: 1\r\n" in env


def test_account_verifier_check(relay):
    try:
        daemon = pwd.getpwnam("daemon")
    except KeyError:
        pytest.skip("no daemon account on this system")
    uid = daemon.pw_uid
    port, spool = start_relay(relay, "--address-verifier",
                              "account:check;%d-%d" % (uid, uid))
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=30) as s:
        s.ehlo()
        s.mail("sender@example.com")
        assert s.rcpt("daemon@relay.test")[1].endswith(b"  OK")
        assert s.rcpt("someone@other.test") == (
            250, b"recipient <someone@other.test> OK")


def test_deliver_with_account_verifier(relay):
    """account: names the local mailbox and deliver: puts the message
    there: a plain mailbox directory gets the envelope and content pair,
    a maildir only the content, in new/; the original is gone."""
    try:
        daemon = pwd.getpwnam("daemon")
        binacct = pwd.getpwnam("bin")
    except KeyError:
        pytest.skip("no daemon and bin accounts on this system")
    lo = min(daemon.pw_uid, binacct.pw_uid)
    hi = max(daemon.pw_uid, binacct.pw_uid)
    deliv = relay.spool("mail")
    for sub in ("new", "tmp", "cur"):
        relay.spool(os.path.join("mail", "bin", sub))
    port, spool = start_relay(relay, "--address-verifier",
                              "account:%d-%d" % (lo, hi), "--filter",
                              "deliver:", "--delivery-dir", deliv)
    assert send(port, "for two accounts",
                to=("daemon@relay.test", "bin@relay.test"))[0] == 250
    assert ready(spool) == []
    (base,) = ready(os.path.join(deliv, "daemon"))
    env = read(os.path.join(deliv, "daemon", base + ".envelope"))
    assert b"X-MailRelay-To-Local: daemon\r\n" in env
    assert b"X-MailRelay-ToCount: 1\r\n" in env
    assert b"for two accounts" in read(os.path.join(deliv, "daemon",
                                                    base + ".content"))
    (new,) = os.listdir(os.path.join(deliv, "bin", "new"))
    assert b"for two accounts" in read(os.path.join(deliv, "bin", "new",
                                                    new))
    assert sorted(os.listdir(os.path.join(deliv, "bin"))) == \
        ["cur", "new", "tmp"]
    assert os.listdir(os.path.join(deliv, "bin", "cur")) == []
    relay.stop()


def test_account_check_and_remote_refused(relay_factory):
    from harness import run
    r = run("--spool-dir", "/tmp", "--address-verifier",
            "account:check;remote")
    assert r.returncode == 1
    assert "check and remote cannot be combined" in r.stderr


# -- mx: with dnsmasq ------------------------------------------------------

class Dnsmasq:
    def __init__(self, workdir, *records, address="127.0.0.1", port=None):
        exe = shutil.which("dnsmasq") or (
            "/usr/sbin/dnsmasq" if os.access("/usr/sbin/dnsmasq", os.X_OK)
            else None)
        if exe is None:
            pytest.skip("dnsmasq is not installed (apt: dnsmasq-base)")
        self.address = address
        self.port = port or free_udp_port()
        self.log = os.path.join(workdir, "dnsmasq-%s-%d.log"
                                % (address, self.port))
        argv = [exe, "--keep-in-foreground", "--port=%d" % self.port,
                "--listen-address=%s" % address, "--bind-interfaces",
                "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--pid-file=%s" % os.path.join(
                    workdir, "dnsmasq-%s-%d.pid" % (address, self.port)),
                "--log-facility=%s" % self.log, "--log-queries"]
        if os.geteuid() == 0:
            argv.append("--user=root")
        argv += list(records)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)
        wait_for(lambda: self.proc.poll() is not None or self.answers(), 20,
                 "dnsmasq to answer")
        if self.proc.poll() is not None:
            pytest.skip("dnsmasq did not start: %s"
                        % self.proc.stderr.read().decode()[-300:])

    def answers(self):
        """Whether a DNS question on the port gets any reply."""
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x04test\x00\x00\x01\x00\x01")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            try:
                s.sendto(q, (self.address, self.port))
                return len(s.recv(512)) > 0
            except OSError:
                return False

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stderr.close()


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dnsmasq(workdir):
    made = []

    def make(*records, **kw):
        d = Dnsmasq(workdir, *records, **kw)
        made.append(d)
        return d
    yield make
    for d in made:
        d.close()


def envelope(to, forward_to, forward_to_address=""):
    lines = ["X-MailRelay-Format: #2821.8",
             "X-MailRelay-Content: 7bit",
             "X-MailRelay-From: alice@example.com",
             "X-MailRelay-ToCount: 1",
             "X-MailRelay-To-Remote: " + to,
             "X-MailRelay-Authentication: ",
             "X-MailRelay-Client: 127.0.0.1",
             "X-MailRelay-ClientCertificate: ",
             "X-MailRelay-MailFromAuthIn: ",
             "X-MailRelay-MailFromAuthOut: ",
             "X-MailRelay-ForwardTo: " + forward_to,
             "X-MailRelay-ForwardToAddress: " + forward_to_address,
             "X-MailRelay-ClientAccountSelector: ",
             "X-MailRelay-Utf8MailboxNames: 0",
             "X-MailRelay-End: 1"]
    return ("\r\n".join(lines) + "\r\n").encode()


def sink(relay_factory, name, ip, port, user="default"):
    """A storing emailrelay listening on ip:port."""
    r = relay_factory(sub=name, user=user)
    spool = r.spool()
    r.start("--port", port, "--interface", ip, "--domain", name + ".test",
            "--spool-dir", spool)
    wait_for(lambda: can_connect(port, host=ip), 15, "sink " + name)
    return spool


def test_mx_routes_two_domains(relay_factory, dnsmasq):
    """Two domains whose MX records name exchangers on 127.0.0.2 and
    127.0.0.3: each message reaches its own sink, not --forward-to; a
    domain without MX goes to its own address (implicit MX)."""
    sport = free_port()
    dns = dnsmasq("--local=/one.test/", "--local=/two.test/",
                  "--local=/three.test/",
                  "--mx-host=one.test,mx.one.test,10",
                  "--host-record=mx.one.test,127.0.0.2",
                  "--mx-host=two.test,mx-b.two.test,20",
                  "--mx-host=two.test,mx-a.two.test,10",
                  "--host-record=mx-a.two.test,127.0.0.3",
                  "--host-record=mx-b.two.test,127.0.0.2",
                  "--host-record=three.test,127.0.0.4")
    one = sink(relay_factory, "one", "127.0.0.2", sport)
    two = sink(relay_factory, "two", "127.0.0.3", sport)
    three = sink(relay_factory, "three", "127.0.0.4", sport)
    fallback = sink(relay_factory, "fallback", "127.0.0.1", free_port())
    a = relay_factory(sub="a")
    spool = a.spool()
    msgs = {"one": "emailrelay.1.1700000000.1",
            "two": "emailrelay.1.1700000000.2",
            "three": "emailrelay.1.1700000000.3"}
    for dom, base in msgs.items():
        write_spool_entry(spool, base,
                          message("for %s" % dom, dom).encode(),
                          envelope("bob@%s.test" % dom,
                                   "%s.test:%d" % (dom, sport)))
    port = free_port()
    a.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool, "--client-filter", "mx:127.0.0.1:%d" % dns.port,
            "--forward-to", "127.0.0.1:%d" % free_port(), "--poll", "1",
            ready_ports=[port])
    wait_for(lambda: spool_files(spool) == [], 30, "all messages to leave")
    for dom, sp in (("one", one), ("two", two), ("three", three)):
        (base,) = wait_for(lambda: ready(sp), 10, "mail in " + dom)
        content = read(os.path.join(sp, base + ".content"))
        assert ("for %s" % dom).encode() in content
    assert ready(fallback) == []
    a.stop()


def test_mx_failures(relay_factory, dnsmasq, workdir):
    """No such domain: .bad with a routing failure; 0.0.0.0 clears the
    routing (the message goes to --forward-to); a DNS server that never
    answers leaves the message ready."""
    dns = dnsmasq("--local=/one.test/", "--local=/zero.test/",
                  "--mx-host=zero.test,mx.zero.test,10",
                  "--host-record=mx.zero.test,0.0.0.0")
    fport = free_port()
    fallback = sink(relay_factory, "fallback", "127.0.0.1", fport)
    a = relay_factory(sub="a")
    spool = a.spool()
    write_spool_entry(spool, "emailrelay.1.1700000000.1",
                      message("nowhere").encode(),
                      envelope("bob@nosuch.one.test", "nosuch.one.test"))
    write_spool_entry(spool, "emailrelay.1.1700000000.2",
                      message("cleared").encode(),
                      envelope("bob@zero.test", "zero.test",
                               "127.0.0.9:25"))
    port = free_port()
    a.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool, "--client-filter", "mx:127.0.0.1:%d" % dns.port,
            "--forward-to", "127.0.0.1:%d" % fport, "--forward",
            ready_ports=[port])
    bad = os.path.join(spool, "emailrelay.1.1700000000.1.envelope.bad")
    wait_for(lambda: os.path.exists(bad), 20, "the .bad envelope")
    env = read(bad)
    assert b"X-MailRelay-Reason: routing failed: no such domain" in env
    assert b"X-MailRelay-ReasonCode: 550" in env
    (base,) = wait_for(lambda: ready(fallback), 20, "the cleared message")
    assert b"cleared" in read(os.path.join(fallback, base + ".content"))
    a.stop()

    # A DNS server that never answers: the message stays ready.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        mute.bind(("127.0.0.1", 0))
        b = relay_factory(sub="b")
        bspool = b.spool()
        write_spool_entry(bspool, "emailrelay.1.1700000000.3",
                          message("later").encode(),
                          envelope("bob@one.test", "one.test"))
        port = free_port()
        b.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                bspool, "--client-filter", "mx:nst=1;rt=2;127.0.0.1:%d"
                % mute.getsockname()[1], "--forward-to",
                "127.0.0.1:%d" % fport, "--forward", ready_ports=[port])
        b.wait_log(r"routing deferred: DNS timeout", timeout=20)
        b.wait_log(r"forwarding: no more messages to send", timeout=20)
        assert ready(bspool) == ["emailrelay.1.1700000000.3"]
        env = read(os.path.join(bspool,
                                "emailrelay.1.1700000000.3.envelope"))
        assert b"X-MailRelay-ForwardToAddress: \r\n" in env
        b.stop()
