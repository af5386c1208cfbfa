"""The POP3 server (SPEC 8): poplib against messages submitted over SMTP
(STAT, LIST, UIDL, TOP, RETR, DELE, QUIT and the spool files they read
and delete), --pop-no-delete, sessions cut before QUIT, SASL and failed
logins, remote clients, STLS and implicit TLS, --pop-by-name with shared content and
maildir mailboxes, hostile user names, a 50 MB RETR that streams in
bounded memory, and the real clients fetchmail and mpop."""

import base64
import hashlib
import hmac
import os
import poplib
import shutil
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

import tlsca
from harness import IS_ROOT, SANITIZE, free_port, proc_status, wait_for
from smtpclient import expected_envelope, read
from test_policy import connect_from, netns  # noqa: F401

SECRETS = """server plain alice secret1
server plain bob secret2
server plain carol secret3
server plain dave/x secret4
server plain .. secret5
server plain .hidden secret6
server plain eve+01x secret7
"""


def messages(n, tag="m"):
    """n distinct messages; each has a line that needs dot-stuffing."""
    out = []
    for i in range(n):
        out.append(("Subject: %s%d\r\nFrom: a@x.test\r\n\r\n"
                    "body of %s%d\r\n.leading dot\r\n..two dots\r\n"
                    "last line\r\n" % (tag, i, tag, i)))
    return out


def secrets(workdir):
    path = os.path.join(workdir, "pop.auth")
    with open(path, "w") as f:
        f.write(SECRETS)
    os.chmod(path, 0o644)
    return path


def start(relay, workdir, *more):
    sport, pport = free_port(), free_port()
    spool = relay.spool()
    relay.start("--port", sport, "--interface", "127.0.0.1", "--spool-dir",
                spool, "--pop", "--pop-port", pport, "--pop-auth",
                secrets(workdir), *more, ready_ports=[sport, pport])
    return sport, pport, spool


def submit(sport, texts):
    with smtplib.SMTP("127.0.0.1", sport, timeout=30) as s:
        for t in texts:
            s.sendmail("a@x.test", ["b@y.test"], t)


def contents(spool):
    """{content file name: bytes} of the ready messages, oldest first."""
    names = sorted((n for n in os.listdir(spool) if n.endswith(".envelope")),
                   key=lambda n: [int(n.split(".")[i]) for i in (2, 3, 1)])
    return [(n[:-len(".envelope")] + ".content",
             read(os.path.join(spool, n[:-len(".envelope")] + ".content")))
            for n in names]


def login(pport, user="alice", password="secret1"):
    p = poplib.POP3("127.0.0.1", pport, timeout=30)
    p.user(user)
    p.pass_(password)
    return p


def joined(lines):
    return b"".join(line + b"\r\n" for line in lines)


def mailbox(relay, spool, name, maildir=False):
    """A sub-directory of the spool the relay's user may delete in."""
    path = os.path.join(spool, name)
    dirs = [path] + ([os.path.join(path, d) for d in ("new", "cur", "tmp")]
                     if maildir else [])
    for d in dirs:
        os.makedirs(d, exist_ok=True)
        if IS_ROOT:
            src = os.stat(spool)
            os.chown(d, src.st_uid, src.st_gid)
            os.chmod(d, 0o2775)
    return path


def place(directory, base, content=None, envelope=True, state=""):
    if content is not None:
        with open(os.path.join(directory, base + ".content"), "wb") as f:
            f.write(content)
    if envelope:
        with open(os.path.join(directory, base + ".envelope" + state),
                  "wb") as f:
            f.write(expected_envelope("a@x.test", ["b@y.test"]))


def test_poplib_session(relay, workdir):
    sport, pport, spool = start(relay, workdir)
    submit(sport, messages(3))
    files = contents(spool)
    assert len(files) == 3
    p = login(pport)
    count, octets = p.stat()
    assert count == 3
    assert octets == sum(len(c) for _, c in files)
    _, listing, _ = p.list()
    assert listing == [b"%d %d" % (i + 1, len(c))
                       for i, (_, c) in enumerate(files)]
    _, uids, _ = p.uidl()
    assert uids == [b"%d %s" % (i + 1, n.encode())
                    for i, (n, _) in enumerate(files)]
    for i, (_, c) in enumerate(files):
        resp, lines, _ = p.retr(i + 1)
        assert resp == b"+OK %d octets" % len(c)
        # poplib undoes the dot-stuffing: the content comes back as stored
        assert joined(lines) == c
    _, top, _ = p.top(2, 1)
    head, body = files[1][1].split(b"\r\n\r\n", 1)
    assert joined(top) == head + b"\r\n\r\n" + body.split(b"\r\n")[0] + \
        b"\r\n"
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(3).startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    assert p.stat() == (1, len(files[1][1]))
    # nothing is deleted before QUIT
    assert len(contents(spool)) == 3
    assert p.quit().startswith(b"+OK")
    left = os.listdir(spool)
    for name, _ in (files[0], files[2]):
        base = name[:-len(".content")]
        assert base + ".content" not in left
        assert base + ".envelope" not in left
    assert contents(spool) == [files[1]]
    # the unique id of what is left is the same in the next session
    p = login(pport)
    assert p.uidl()[1] == [b"1 " + files[1][0].encode()]
    p.quit()
    relay.wait_log(r"pop connection closed: pop protocol done")


def test_rset_and_noop(relay, workdir):
    sport, pport, spool = start(relay, workdir)
    submit(sport, messages(2))
    p = login(pport)
    p.dele(1)
    assert p.stat()[0] == 1
    assert p.noop().startswith(b"+OK")
    assert p.rset().startswith(b"+OK")
    assert p.stat()[0] == 2
    p.quit()
    assert len(contents(spool)) == 2


def test_pop_no_delete(relay, workdir):
    sport, pport, spool = start(relay, workdir, "--pop-no-delete")
    submit(sport, messages(2))
    before = contents(spool)
    p = login(pport)
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(2).startswith(b"+OK")
    assert p.quit().startswith(b"+OK")
    assert contents(spool) == before
    p = login(pport)
    assert p.stat()[0] == 2
    p.quit()


def test_cut_session_deletes_nothing(relay, workdir):
    sport, pport, spool = start(relay, workdir)
    submit(sport, messages(2))
    before = contents(spool)
    closed = relay.log().count("pop connection closed")
    p = login(pport)
    p.dele(1)
    p.dele(2)
    p.close()                   # gone without QUIT
    wait_for(lambda: relay.log().count("pop connection closed") > closed,
             what="the session to end")
    assert contents(spool) == before
    p = login(pport)
    assert p.stat()[0] == 2
    p.quit()


def test_new_messages_wait_for_the_next_session(relay, workdir):
    sport, pport, spool = start(relay, workdir)
    submit(sport, messages(1, "a"))
    p = login(pport)
    assert p.stat()[0] == 1
    submit(sport, messages(1, "b"))
    assert p.stat()[0] == 1
    assert p.list()[1] == [b"1 %d" % len(contents(spool)[0][1])]
    p.quit()
    p = login(pport)
    assert p.stat()[0] == 2
    p.quit()


def test_only_ready_messages_are_listed(relay, workdir):
    _, pport, spool = start(relay, workdir)
    body = b"Subject: x\r\n\r\nx\r\n"
    place(spool, "emailrelay.1.1000.1", body)                   # ready
    place(spool, "emailrelay.1.1000.2", body, state=".new")
    place(spool, "emailrelay.1.1000.3", body, state=".busy")
    place(spool, "emailrelay.1.1000.4", body, state=".bad")
    place(spool, "emailrelay.1.1000.5", body, envelope=False)   # orphan
    place(spool, "emailrelay.1.1000.6", None)                   # no content
    p = login(pport)
    assert p.uidl()[1] == [b"1 emailrelay.1.1000.1.content"]
    p.quit()


def test_wrong_password(relay, workdir):
    _, pport, spool = start(relay, workdir)
    p = poplib.POP3("127.0.0.1", pport, timeout=30)
    port = p.sock.getsockname()[1]
    p.user("alice")
    t0 = time.monotonic()
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("wrong")
    assert time.monotonic() - t0 >= 0.8       # the delay
    assert str(e.value).startswith("b'-ERR")
    relay.wait_log(r"warning: .*failed authentication of remote client "
                   r"using mechanism \[plain\] and plain secret for "
                   r"\[alice\]: 127\.0\.0\.1:%d" % port)
    # the session goes on: a right password now works
    p.user("alice")
    assert p.pass_("secret1").startswith(b"+OK")
    p.quit()
    with pytest.raises(poplib.error_proto):
        login(pport, "nobody", "secret1")
    relay.wait_log(r"and no secret for \[nobody\]")


def sasl(p, line):
    p._putcmd(line)
    return p._getresp()


def test_sasl_mechanisms(relay, workdir):
    _, pport, spool = start(relay, workdir)
    place(spool, "emailrelay.1.1000.1", b"Subject: x\r\n\r\nx\r\n")
    p = poplib.POP3("127.0.0.1", pport, timeout=30)
    caps = p.capa()
    assert "USER" in caps
    assert "PLAIN" in caps["SASL"] and "CRAM-MD5" in caps["SASL"]
    resp = sasl(p, "AUTH PLAIN " + base64.b64encode(
        b"\0bob\0secret2").decode())
    assert resp.startswith(b"+OK")
    assert p.stat()[0] == 1
    p.quit()
    p = poplib.POP3("127.0.0.1", pport, timeout=30)
    p._putcmd("AUTH CRAM-MD5")
    line = p._getline()[0]
    assert line.startswith(b"+ ")
    challenge = base64.b64decode(line[2:])
    digest = hmac.new(b"secret3", challenge, hashlib.md5).hexdigest()
    resp = sasl(p, base64.b64encode(b"carol " + digest.encode()).decode())
    assert resp.startswith(b"+OK")
    p.quit()
    relay.wait_log(r"successful authentication of remote client using "
                   r"mechanism \[cram-md5\] and plain secret for \[carol\]")


def test_user_only_with_plain(relay, workdir):
    _, pport, _ = start(relay, workdir, "--server-auth-config",
                        "m:cram-sha256")
    p = poplib.POP3("127.0.0.1", pport, timeout=30)
    caps = p.capa()
    assert "USER" not in caps
    assert caps["SASL"] == ["CRAM-SHA256"]
    with pytest.raises(poplib.error_proto):
        p.user("alice")
    p.quit()


def test_maildrop_locked(relay, workdir):
    sport, pport, spool = start(relay, workdir)
    submit(sport, messages(1))
    p = login(pport)
    with pytest.raises(poplib.error_proto) as e:
        login(pport, "bob", "secret2")
    assert "locked" in str(e.value)
    p.quit()
    login(pport, "bob", "secret2").quit()


@pytest.mark.parametrize("remote_ok", [False, True])
def test_remote_client_policy(relay, workdir, netns, remote_ok):
    ns, hostaddr, clientaddr = netns
    pport = free_port()
    args = ["--port", free_port(), "--interface", "127.0.0.1," + hostaddr,
            "--spool-dir", relay.spool(), "--pop", "--pop-port", pport,
            "--pop-auth", secrets(workdir)]
    if remote_ok:
        args.append("--remote-clients")
    relay.start(*args, ready_ports=[pport])
    got = connect_from(ns, hostaddr, pport)
    if remote_ok:
        assert got.startswith("b'+OK POP3 server ready"), got
        relay.wait_log(r"pop connection from %s:\d+" % clientaddr)
    else:
        assert got in ("b''", "b'<ConnectionResetError>'"), got
        relay.wait_log(r"configured to reject non-local pop connection: %s"
                       % clientaddr.replace(".", r"\."))
        assert "pop connection from %s" % clientaddr not in relay.log()


def tls_start(relay, workdir, *mode):
    pki = tlsca.make_pki(os.path.join(workdir, "pki"))
    sport, pport, spool = start(relay, workdir, *mode,
                                "--server-tls-certificate",
                                pki["server-keycert"])
    ctx = ssl.create_default_context(cafile=pki["ca"])
    ctx.check_hostname = False
    return sport, pport, spool, ctx


def test_stls(relay, workdir):
    sport, pport, spool, ctx = tls_start(relay, workdir, "--server-tls")
    submit(sport, messages(1))
    (name, content), = contents(spool)
    p = poplib.POP3("127.0.0.1", pport, timeout=30)
    assert "STLS" in p.capa()
    assert p.stls(context=ctx).startswith(b"+OK")
    assert "STLS" not in p.capa()
    p.user("alice")
    p.pass_("secret1")
    assert joined(p.retr(1)[1]) == content
    p.dele(1)
    p.quit()
    assert contents(spool) == []


def test_tls_required(relay, workdir):
    sport, pport, spool, ctx = tls_start(relay, workdir, "--server-tls",
                                         "--server-tls-required")
    p = poplib.POP3("127.0.0.1", pport, timeout=30)
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
    with pytest.raises(poplib.error_proto) as e:
        p.user("alice")
    assert "stls" in str(e.value)
    p.stls(context=ctx)
    assert "USER" in p.capa()
    p.user("alice")
    assert p.pass_("secret1").startswith(b"+OK")
    p.quit()


def test_implicit_tls(relay, workdir):
    sport, pport, spool, ctx = tls_start(relay, workdir,
                                         "--server-tls-connection")
    place(spool, "emailrelay.1.1000.1", b"Subject: x\r\n\r\n.x\r\n")
    p = poplib.POP3_SSL("127.0.0.1", pport, context=ctx, timeout=30)
    assert p.getwelcome().startswith(b"+OK POP3 server ready")
    assert "STLS" not in p.capa()
    p.user("alice")
    p.pass_("secret1")
    assert joined(p.retr(1)[1]) == b"Subject: x\r\n\r\n.x\r\n"
    p.quit()


def test_by_name(relay, workdir):
    _, pport, spool = start(relay, workdir, "--pop-by-name")
    alice = mailbox(relay, spool, "alice")
    bob = mailbox(relay, spool, "bob")
    shared = b"Subject: shared\r\n\r\nfor both\r\n"
    own = b"Subject: own\r\n\r\nfor alice\r\n"
    # copy:pop style: envelopes in the mailboxes, content in the spool
    place(spool, "emailrelay.1.1000.1", shared, envelope=False)
    place(alice, "emailrelay.1.1000.1")
    place(bob, "emailrelay.1.1000.1")
    place(alice, "emailrelay.1.1000.2", own)
    # in the spool itself: seen by nobody with --pop-by-name
    place(spool, "emailrelay.1.1000.3", b"Subject: main\r\n\r\nx\r\n")

    p = login(pport, "alice", "secret1")
    assert p.uidl()[1] == [b"1 emailrelay.1.1000.1.content",
                           b"2 emailrelay.1.1000.2.content"]
    assert joined(p.retr(1)[1]) == shared
    assert joined(p.retr(2)[1]) == own
    p.dele(1)
    p.dele(2)
    p.quit()
    assert sorted(os.listdir(alice)) == []
    # bob's copy still needs the content
    assert os.path.exists(os.path.join(spool, "emailrelay.1.1000.1.content"))

    p = login(pport, "bob", "secret2")
    assert p.stat() == (1, len(shared))
    assert joined(p.retr(1)[1]) == shared
    p.dele(1)
    p.quit()
    assert sorted(os.listdir(bob)) == []
    assert not os.path.exists(
        os.path.join(spool, "emailrelay.1.1000.1.content"))
    assert os.path.exists(os.path.join(spool, "emailrelay.1.1000.3.content"))

    # a user without a mailbox has an empty maildrop
    p = login(pport, "carol", "secret3")
    assert p.stat() == (0, 0)
    p.quit()


def test_by_name_maildir(relay, workdir):
    _, pport, spool = start(relay, workdir, "--pop-by-name")
    box = mailbox(relay, spool, "carol", maildir=True)
    first = b"Subject: one\r\n\r\n.dot\r\n"
    second = b"Subject: two\r\n\r\ntwo\r\n"
    with open(os.path.join(box, "new", "1700000000.1.host.1"), "wb") as f:
        f.write(first)
    with open(os.path.join(box, "cur", "1700000001.1.host.2:2,S"),
              "wb") as f:
        f.write(second)
    with open(os.path.join(box, "tmp", "1700000002.1.host.3"), "wb") as f:
        f.write(b"Subject: being written\r\n\r\n")
    p = login(pport, "carol", "secret3")
    assert p.uidl()[1] == [b"1 1700000000.1.host.1",
                           b"2 1700000001.1.host.2"]
    assert joined(p.retr(1)[1]) == first
    assert joined(p.retr(2)[1]) == second
    p.dele(1)
    p.quit()
    assert os.listdir(os.path.join(box, "new")) == []
    assert os.listdir(os.path.join(box, "cur")) == ["1700000001.1.host.2:2,S"]
    assert os.listdir(os.path.join(box, "tmp")) == ["1700000002.1.host.3"]


def test_by_name_hostile_user_names(relay, workdir):
    _, pport, spool = start(relay, workdir, "--pop-by-name")
    # targets a path could reach if the name were used as it is
    os.makedirs(os.path.join(spool, "dave"), exist_ok=True)
    place(os.path.join(spool, "dave"), "emailrelay.1.1000.1",
          b"Subject: x\r\n\r\nx\r\n")
    place(spool, "emailrelay.1.1000.2", b"Subject: y\r\n\r\ny\r\n")
    for user, password in (("dave/x", "secret4"), ("..", "secret5"),
                           (".hidden", "secret6"), ("eve\x01x", "secret7")):
        with pytest.raises(poplib.error_proto) as e:
            login(pport, user, password)
        assert "invalid mailbox name" in str(e.value), repr(user)
    wait_for(lambda: relay.log().count("invalid mailbox name") == 4,
             what="four warnings")
    assert "invalid mailbox name [eve\\001x]" in relay.log()
    assert len(os.listdir(spool)) >= 3


def test_large_message_streams(relay, workdir):
    """RETR of a 50 MB message: the pop process reads it in chunks as the
    client takes them, so its peak RSS stays small."""
    _, pport, spool = start(relay, workdir)
    line = b"0123456789" * 7 + b"\r\n"
    dotted = b".starts with a dot\r\n"
    block = (line * 99 + dotted) * 64
    size = 50 * 1024 * 1024
    base = "emailrelay.1.1000.1"
    digest = hashlib.sha256()
    with open(os.path.join(spool, base + ".content"), "wb") as f:
        f.write(b"Subject: big\r\n\r\n")
        digest.update(b"Subject: big\r\n\r\n")
        written = 16
        while written + len(block) <= size:
            f.write(block)
            digest.update(block)
            written += len(block)
    place(spool, base)
    pop = relay.children()["pop"]
    s = socket.create_connection(("127.0.0.1", pport), timeout=60)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"USER alice\r\nPASS secret1\r\n")
    assert f.readline().startswith(b"+OK")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"RETR 1\r\n")
    assert f.readline() == b"+OK %d octets\r\n" % written
    got = hashlib.sha256()
    total = 0
    stalled = False
    while True:
        data = f.readline()
        assert data, "connection closed during RETR"
        if data == b".\r\n":
            break
        if data.startswith(b"."):
            data = data[1:]
        got.update(data)
        total += len(data)
        if not stalled and total > 8 * 1024 * 1024:
            # a slow reader: the server must wait, not buffer the rest
            time.sleep(1)
            stalled = True
    assert total == written
    assert got.hexdigest() == digest.hexdigest()
    hwm = int(proc_status(pop)["VmHWM"].split()[0])
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()
    if SANITIZE:
        return                  # shadow memory makes RSS meaningless
    assert hwm < 20 * 1024, "pop VmHWM %d kB" % hwm


def fetchmail_rc(workdir, pport, mda):
    rc = os.path.join(workdir, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('set no bouncemail\n'
                'set no syslog\n'
                'poll 127.0.0.1 with proto POP3 port %d timeout 30\n'
                '  auth password\n'
                '  user "alice" there with password "secret1"\n'
                '  mda "%s"\n'
                '  fetchall\n'
                '  sslproto ""\n' % (pport, mda))
    os.chmod(rc, 0o600)
    return rc


def test_fetchmail(relay, workdir):
    if shutil.which("fetchmail") is None:
        pytest.skip("fetchmail is not installed (apt install fetchmail)")
    sport, pport, spool = start(relay, workdir)
    texts = messages(3, "fetched")
    submit(sport, texts)
    mbox = os.path.join(workdir, "mbox")
    deliver = os.path.join(workdir, "deliver.sh")
    with open(deliver, "w") as f:
        f.write('#!/bin/sh\n{ echo "From fetchmail Thu Jan  1 00:00:00 '
                '1970"; cat; echo; } >> %s\n' % mbox)
    os.chmod(deliver, 0o755)
    rc = fetchmail_rc(workdir, pport, deliver)
    env = dict(os.environ, HOME=workdir)
    r = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "--idfile",
                        os.path.join(workdir, "fetchids"), "--pidfile",
                        os.path.join(workdir, "fetchmail.pid")],
                       capture_output=True, text=True, timeout=120, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    text = read(mbox).replace(b"\r\n", b"\n")
    assert text.count(b"\nFrom fetchmail ") + text.startswith(
        b"From fetchmail ") == 3
    for i in range(3):
        assert b"Subject: fetched%d\n" % i in text
        assert b"body of fetched%d\n" % i in text
    assert b"\n.leading dot\n..two dots\n" in text
    # fetchmail deletes what it fetched
    assert contents(spool) == []


def test_mpop(relay, workdir):
    if shutil.which("mpop") is None:
        pytest.skip("mpop is not installed (apt install mpop)")
    sport, pport, spool = start(relay, workdir)
    texts = messages(3, "mpop")
    submit(sport, texts)
    stored = [c for _, c in contents(spool)]
    maildir = os.path.join(workdir, "Maildir")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(maildir, d))
    conf = os.path.join(workdir, "mpoprc")
    with open(conf, "w") as f:
        f.write("account default\n"
                "host 127.0.0.1\n"
                "port %d\n"
                "timeout 30\n"
                "tls off\n"
                "auth user\n"
                "user alice\n"
                "password secret1\n"
                "delivery maildir %s\n"
                "keep off\n"
                "uidls_file %s\n" % (pport, maildir,
                                     os.path.join(workdir, "uidls")))
    os.chmod(conf, 0o600)
    r = subprocess.run(["mpop", "-C", conf, "-q"], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, HOME=workdir))
    assert r.returncode == 0, r.stdout + r.stderr
    got = sorted(read(os.path.join(maildir, "new", n))
                 for n in os.listdir(os.path.join(maildir, "new")))
    assert len(got) == 3
    want = sorted(c.replace(b"\r\n", b"\n") for c in stored)
    # mpop stores LF line ends and may add a header of its own on top
    for g, w in zip(got, want):
        assert g.replace(b"\r\n", b"\n").endswith(w)
    assert contents(spool) == []
    assert wait_for(lambda: "pop connection closed" in relay.log())
