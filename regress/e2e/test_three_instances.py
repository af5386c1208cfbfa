"""SPEC 13's three-in-one configuration, run as written with its external
services replaced by loopback ones: dnsmasq (DNSBL, MX and the
smarthost's name, through the system resolver), a real spamd, PAM with a
throwaway account, and a second emailrelay with STARTTLS and AUTH as
the "gmail" smarthost.  The external sender connects from a network
namespace with a 198.18.0.0/15 address, so DNSBL applies to it.

Changed from SPEC 13, as it allows: paths and ports (the exchanger
"other" listens on port 25 of a 127/8 address, as mx: connects to port
25), the smarthost's name, and the poll periods (seconds, not hours);
--log-file is added so that the log survives --close-stderr."""
import base64
import os
import poplib
import random
import shutil
import smtplib
import subprocess
import time

import pytest

from smtpclient import read, ready
from harness import IS_ROOT, SANITIZE, can_connect, free_port, wait_for
from test_forward_dns import port53_dnsmasq, resolv_wrap
from test_lookup_net import dnsmasq, spamd  # noqa: F401
from test_policy import netns  # noqa: F401
from tlsca import make_pki

PAM_USER = "er3i%s" % os.urandom(4).hex()
PAM_PW = "pop pw 3"

EXTERNAL = r"""
import smtplib, sys
addr, port, to = sys.argv[1], int(sys.argv[2]), sys.argv[3]
msg = ("From: someone@sender.test\r\nTo: %s\r\n"
       "Subject: from outside\r\n\r\nhello from the internet\r\n" % to)
with smtplib.SMTP(addr, port, local_hostname="mx.sender.test",
                  timeout=30) as s:
    s.ehlo()
    print(" ".join(sorted(s.esmtp_features)))
    print(s.esmtp_features.get("size", ""))
    s.sendmail("someone@sender.test", [to], msg)
"""


def reversed_name(ip, zone):
    return ".".join(reversed(ip.split("."))) + "." + zone


@pytest.fixture
def pam_user():
    if not IS_ROOT or SANITIZE:
        pytest.skip("PAM and --user root need the relay to run as root "
                    "(not root, or the sanitizer pass runs unprivileged)")
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not installed")
    subprocess.run(["userdel", PAM_USER], capture_output=True)
    subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", PAM_USER],
                   check=True, timeout=30)
    try:
        subprocess.run(["chpasswd"], input=("%s:%s\n" % (PAM_USER, PAM_PW))
                       .encode(), check=True, timeout=30)
        yield PAM_USER
    finally:
        subprocess.run(["userdel", PAM_USER], capture_output=True,
                       timeout=30)


def pop_messages(port, user, password):
    """Every message of user's POP maildrop, without deleting any."""
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        p.user(user)
        p.pass_(password)
        n = len(p.list()[1])
        return [b"\r\n".join(p.retr(i + 1)[1]) for i in range(n)]
    finally:
        p.quit()


def test_three_instances(relay_factory, workdir, netns, dnsmasq, spamd,
                         pam_user):
    ns, hostaddr, clientaddr = netns
    net = "127.%d.%d." % (random.randint(100, 250), random.randint(0, 255))
    other_ip = net + "25"

    # The "gmail" smarthost: STARTTLS required, AUTH required.
    gmail = relay_factory(sub="gmail", user=None)
    gspool = gmail.spool()
    pki = make_pki(os.path.join(workdir, "pki"))
    gsecrets = os.path.join(workdir, "gmail.auth")
    with open(gsecrets, "w") as f:
        f.write("server plain alice@gmail.com Passw0rd\n")
    gport = free_port()
    gmail.start("--port", gport, "--interface", "127.0.0.1", "--spool-dir",
                gspool, "--domain", "smtp.gmail.test", "--server-tls",
                "--server-tls-required", "--server-tls-certificate",
                pki["server-keycert"], "--server-auth", gsecrets,
                ready_ports=[gport])

    dns = port53_dnsmasq(
        dnsmasq, "--local=/example.com/",
        "--mx-host=remote.test,mx.remote.test,10",
        "--host-record=mx.remote.test,%s" % other_ip,
        "--host-record=smtp.gmail.test,127.0.0.1")

    app = os.path.join(workdir, "app")
    os.makedirs(app)
    r = relay_factory(sub="app", user=None)
    in_dir, out_dir, other_dir = (r.spool(n) for n in ("in", "out",
                                                       "other"))
    in_port, out_port, pop_port = free_port(), free_port(), free_port()
    cred = "plain:%s:%s" % (
        base64.b64encode(b"alice@gmail.com").decode().rstrip("="),
        base64.b64encode(b"Passw0rd").decode().rstrip("="))
    assert cred == "plain:YWxpY2VAZ21haWwuY29t:UGFzc3cwcmQ"
    logfile = os.path.join(workdir, "three.log")
    r.start(
        "--log", "--verbose", "--log-time", "--log-format=unit,network",
        "--close-stderr", "--syslog", "--pid-file",
        os.path.join(app, "emailrelay.pid"), "--user", "root",
        "--log-file", logfile,
        "--in-spool-dir", in_dir, "--in-port", in_port,
        "--in-interface", "127.0.0.1," + hostaddr,
        "--in-domain", "example.com",
        "--in-address-verifier", "account:",
        "--in-dnsbl", "dnsbl.example.com",
        "--in-filter", "spam-edit:127.0.0.1:%d" % spamd,
        "--in-filter", "deliver:",
        "--in-server-smtp-config", "+chunking,+smtputf8",
        "--in-size", "100000000",
        "--in-pop", "--in-pop-port", pop_port, "--in-pop-auth", "pam:",
        "--in-pop-by-name",
        "--out-spool-dir", out_dir, "--out-port", out_port,
        "--out-interface", "127.0.0.1",
        "--out-forward-on-disconnect", "--out-forward-to-some",
        "--out-poll", "60", "--out-address-verifier", "account:check",
        "--out-delivery-dir", in_dir, "--out-filter", "msgid:",
        "--out-filter", "deliver:", "--out-filter", "split:",
        "--out-client-filter", "mx:",
        "--out-forward-to", "%s:25" % other_ip,
        "--out-domain", "example.com", "--out-poll-run", "retry:5",
        "--other-spool-dir", other_dir, "--other-port", "25",
        "--other-interface", other_ip, "--other-client-tls",
        "--other-client-auth", cred,
        "--other-forward-to", "smtp.gmail.test:%d" % gport,
        "--other-poll", "2",
        ready_ports=[in_port, out_port, pop_port],
        wrap=resolv_wrap(workdir, dns))
    wait_for(lambda: can_connect(25, host=other_ip), 15, "other's port")
    wait_for(lambda: os.path.exists(os.path.join(app, "emailrelay.pid")),
             10, "the pid file")

    def log():
        with open(logfile, errors="replace") as f:
            return f.read()

    # 1. From the internet to a local account: DNSBL, spamd, deliver:.
    got = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3",
                          "-c", EXTERNAL, hostaddr, str(in_port),
                          "%s@example.com" % pam_user],
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, (got.stderr, log())
    features, size = got.stdout.split("\n")[:2]
    assert {"chunking", "smtputf8", "size"} <= set(features.split())
    assert size == "100000000"
    with open(dns.log) as f:
        assert reversed_name(clientaddr, "dnsbl.example.com") in f.read()
    box = os.path.join(in_dir, pam_user)
    (base,) = wait_for(lambda: ready(box), 20, "delivery into the mailbox")
    assert ready(in_dir) == []
    env = read(os.path.join(box, base + ".envelope"))
    assert b"X-MailRelay-To-Local: %s\r\n" % pam_user.encode() in env
    assert b"X-MailRelay-Client: %s\r\n" % clientaddr.encode() in env
    (msg,) = pop_messages(pop_port, pam_user, PAM_PW)
    assert b"hello from the internet" in msg
    assert b"X-Spam-Checker-Version:" in msg     # spam-edit: rewrote it
    with pytest.raises(poplib.error_proto):
        pop_messages(pop_port, pam_user, "wrong")

    # 2. Outgoing to a local user and a remote one.
    with smtplib.SMTP("127.0.0.1", out_port, local_hostname="pc.example.com",
                      timeout=30) as s:
        assert s.sendmail("%s@example.com" % pam_user,
                          ["%s@example.com" % pam_user, "bob@remote.test"],
                          "From: %s@example.com\r\nTo: bob@remote.test\r\n"
                          "Subject: outgoing\r\n\r\nhello bob\r\n"
                          % pam_user) == {}
    # The local copy goes straight into in's mailbox ...
    wait_for(lambda: len(ready(box)) == 2, 20, "the local copy")
    msgs = pop_messages(pop_port, pam_user, PAM_PW)
    (local,) = [m for m in msgs if b"hello bob" in m]
    assert b"Message-ID:" in local              # msgid: came first
    # ... and the remote one via mx: to other, then over TLS with AUTH
    # to the smarthost.
    (gbase,) = wait_for(lambda: ready(gspool), 40,
                        "the remote copy at the smarthost")
    genv = read(os.path.join(gspool, gbase + ".envelope"))
    assert b"X-MailRelay-To-Remote: bob@remote.test\r\n" in genv
    assert b"X-MailRelay-ToCount: 1\r\n" in genv
    assert b"X-MailRelay-Authentication: alice@gmail.com\r\n" in genv
    gcontent = read(os.path.join(gspool, gbase + ".content"))
    assert b"with ESMTPSA tls TLS_" in gcontent.split(b"\r\n")[0]
    assert b"hello bob" in gcontent and b"Message-ID:" in gcontent
    wait_for(lambda: ready(out_dir) == [] and ready(other_dir) == [], 20,
             "out's and other's spools to empty")
    with open(dns.log) as f:
        q = f.read()
    assert "remote.test" in q and "smtp.gmail.test" in q
    # --log-format unit: every instance's lines carry its name, those
    # of the queue and lookup processes too.
    text = log()
    for line in ("[in] filter [deliver:]: ", "[in] spam-edit: [",
                 "[out] filter [msgid:]: ", "[out] filter [split:]: ",
                 "[out] mx: [", "[other] forwarding: [poll]",
                 "[other] tls session established with smtp.gmail.test:"):
        assert line in text, line
    r.stop()
    gmail.stop()
