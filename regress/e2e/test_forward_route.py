"""Forwarding, the remaining triggers and routes (SPEC 5): --immediate
(forward before the 250, a failure answered 452 and kept .bad),
--client-interface, SOCKS 4 and 4a (a scripted proxy that checks the
request bytes, and OpenSSH's dynamic forwarding as a real one), parallel
sessions for different addresses, and messages waiting for a connection
that fails going back to ready."""

import os
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from smtpclient import expected_envelope, read, ready
from harness import IS_ROOT, free_port, wait_for
from test_forward import (MESSAGE, FakeSmtp, a_args, bad_envelope,
                          spool_files, start_b, submit, write_spool_entry)


def send(port, to=("b@example.com",)):
    """Submit MESSAGE; returns the time the reply to the data came."""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=20) as s:
        s.sendmail("a@example.com", list(to), MESSAGE)
        return time.monotonic()


# --immediate

def test_immediate_forwards_before_the_250(relay_factory):
    """When the client has its 250 the message is already in B's spool
    and gone from A's: nothing to wait for."""
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--immediate", "--forward-to",
                    "127.0.0.1:%d" % bport), ready_ports=[aport])
    with smtplib.SMTP("127.0.0.1", aport, local_hostname="client.test",
                      timeout=20) as s:
        s.ehlo()
        s.mail("a@example.com")
        s.rcpt("b@example.com")
        code, text = s.data(MESSAGE)
        assert (code, text) == (250, b"message processed")
        assert spool_files(aspool) == []
        (base_b,) = ready(bspool)
    content = read(os.path.join(bspool, base_b + ".content"))
    assert content.endswith(b"\r\n" + MESSAGE.encode())
    a.stop()
    b.stop()
    assert "forwarding to 127.0.0.1:%d" % bport in a.log()
    for word in ("error", "warning"):
        assert word not in a.log(), a.log()


def test_immediate_rejection_is_452_and_kept_bad(relay_factory):
    fake = FakeSmtp(data_reply="554 5.6.0 content refused")
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--immediate", "--forward-to",
                    fake.addr), ready_ports=[aport])
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(aport)
    assert e.value.smtp_code == 452
    assert e.value.smtp_error == b"5.6.0 content refused"
    a.stop()
    fake.close()
    name = bad_envelope(aspool)
    assert name is not None, spool_files(aspool)
    env = read(os.path.join(aspool, name))
    assert env == expected_envelope("a@example.com", ["b@example.com"]) + \
        b"X-MailRelay-Reason: 5.6.0 content refused\r\n" \
        b"X-MailRelay-ReasonCode: 554\r\n"


def test_immediate_connect_failure_is_452_and_kept_bad(relay_factory):
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    dead = free_port()
    a.start(*a_args(a, aport, aspool, "--immediate", "--forward-to",
                    "127.0.0.1:%d" % dead), ready_ports=[aport])
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(aport)
    assert e.value.smtp_code == 452
    a.stop()
    name = bad_envelope(aspool)
    assert name is not None, spool_files(aspool)
    env = read(os.path.join(aspool, name))
    assert env.endswith(b"X-MailRelay-ReasonCode: \r\n"), env
    assert "cannot connect to 127.0.0.1:%d" % dead in a.log()


# --client-interface

def test_client_interface(relay_factory):
    """The connection to B comes from the --client-interface address,
    as B's Received line and envelope show."""
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--forward-on-disconnect",
                    "--forward-to", "127.0.0.1:%d" % bport,
                    "--client-interface", "127.0.0.2"),
            ready_ports=[aport])
    submit(aport)
    wait_for(lambda: spool_files(aspool) == [] and len(ready(bspool)) == 1,
             15, "the message to reach B")
    (base_b,) = ready(bspool)
    env = read(os.path.join(bspool, base_b + ".envelope"))
    assert b"X-MailRelay-Client: 127.0.0.2\r\n" in env
    content = read(os.path.join(bspool, base_b + ".content"))
    assert b"([127.0.0.2])" in content.split(b"\r\n", 1)[0]
    a.stop()
    b.stop()


def test_client_interface_wrong_family(relay_factory):
    """An IPv6 --client-interface cannot reach an IPv4 next hop: a
    connect failure, the message stays ready."""
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--forward-on-disconnect",
                    "--forward-to", "127.0.0.1:25",
                    "--client-interface", "::"), ready_ports=[aport])
    submit(aport)
    a.wait_log(r"cannot connect to 127\.0\.0\.1:25: --client-interface :: "
               r"cannot reach an IPv4 address")
    a.wait_log(r"forwarding: no more messages to send")
    a.stop()
    assert len(ready(aspool)) == 1


# SOCKS

class FakeSocks(FakeSmtp):
    """A SOCKS 4 proxy that records each request and, when it grants
    one, serves SMTP itself on the same connection."""

    def __init__(self, grant=True, **kw):
        self.grant = grant
        self.requests = []
        super().__init__(**kw)

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                try:
                    f = conn.makefile("rwb")
                    req = f.read(8)
                    rest = b""
                    nuls = 2 if req[4:7] == b"\0\0\0" and req[7] else 1
                    while rest.count(b"\0") < nuls:
                        c = f.read(1)
                        if not c:
                            break
                        rest += c
                    self.requests.append(req + rest)
                    f.write(bytes([0, 90 if self.grant else 91]) +
                            b"\0" * 6)
                    f.flush()
                    if self.grant:
                        self.serve(f)
                except (OSError, ValueError):
                    pass


def test_socks4a_request(relay_factory):
    """A host name goes to the proxy as SOCKS 4a: DSTIP 0.0.0.1, empty
    user id, then the name; the session then runs through the proxy."""
    proxy = FakeSocks()
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--forward-on-disconnect",
                    "--forward-to", "smtp.example.com:587@" + proxy.addr),
            ready_ports=[aport])
    submit(aport)
    wait_for(lambda: spool_files(aspool) == [], 15, "the message to go")
    a.stop()
    proxy.close()
    assert proxy.requests == [b"\x04\x01\x02\x4b\x00\x00\x00\x01\x00"
                              b"smtp.example.com\x00"]
    assert [m[1] for m in proxy.messages] == [["b@example.com",
                                               "c@other.example"]]


def test_socks_proxy_by_host_name(relay_factory):
    """The proxy itself may be named: lookup resolves it ("localhost"
    without DNS, RFC 6761) and the host name still goes to the proxy."""
    proxy = FakeSocks()
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    pport = proxy.addr.rsplit(":", 1)[1]
    a.start(*a_args(a, aport, aspool, "--forward-on-disconnect",
                    "--forward-to", "smtp.example.com:25@localhost:" +
                    pport), ready_ports=[aport])
    submit(aport)
    wait_for(lambda: spool_files(aspool) == [], 15, "the message to go")
    a.stop()
    proxy.close()
    assert proxy.requests == [b"\x04\x01\x00\x19\x00\x00\x00\x01\x00"
                              b"smtp.example.com\x00"]


def test_socks4_request_for_an_address(relay_factory):
    proxy = FakeSocks()
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--forward-on-disconnect",
                    "--forward-to", "192.0.2.7:25@" + proxy.addr),
            ready_ports=[aport])
    submit(aport)
    wait_for(lambda: spool_files(aspool) == [], 15, "the message to go")
    a.stop()
    proxy.close()
    assert proxy.requests == [b"\x04\x01\x00\x19\xc0\x00\x02\x07\x00"]


def test_socks_refused_leaves_message_ready(relay_factory):
    proxy = FakeSocks(grant=False)
    a = relay_factory()
    aport = free_port()
    aspool = a.spool()
    a.start(*a_args(a, aport, aspool, "--forward-on-disconnect",
                    "--forward-to", "smtp.example.com:25@" + proxy.addr),
            ready_ports=[aport])
    submit(aport)
    a.wait_log(r"cannot connect to smtp\.example\.com:25@%s: socks: "
               r"request rejected by the proxy" % proxy.addr)
    a.wait_log(r"forwarding: no more messages to send")
    a.stop()
    proxy.close()
    assert len(ready(aspool)) == 1
    assert proxy.messages == []


def ssh_socks(workdir):
    """OpenSSH's dynamic forwarding on loopback (a private sshd and an
    ssh -D client, TESTING.md); returns (socks port, processes)."""
    if not IS_ROOT:
        pytest.skip("a private sshd for SOCKS needs root")
    if not os.path.exists("/usr/sbin/sshd") or shutil.which("ssh") is None:
        pytest.skip("openssh-server and openssh-client are not installed")
    d = os.path.join(workdir, "ssh")
    os.makedirs(d)
    os.makedirs("/run/sshd", exist_ok=True)
    for name in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-f", os.path.join(d, name)], check=True)
    shutil.copy(os.path.join(d, "user.pub"), os.path.join(d, "authorized"))
    sshport, socksport = free_port(), free_port()
    with open(os.path.join(d, "sshd_config"), "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\n"
                "AuthorizedKeysFile %s\nPasswordAuthentication no\n"
                "StrictModes no\nUsePAM no\nPidFile %s\n"
                "PermitRootLogin prohibit-password\n"
                "AllowTcpForwarding yes\n"
                % (sshport, os.path.join(d, "host"),
                   os.path.join(d, "authorized"),
                   os.path.join(d, "sshd.pid")))
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f",
                             os.path.join(d, "sshd_config")],
                            stderr=subprocess.DEVNULL)
    procs = [sshd]
    wait_for(lambda: port_open(sshport), 10, "sshd")
    ssh = subprocess.Popen(
        ["ssh", "-N", "-D", "127.0.0.1:%d" % socksport, "-p", str(sshport),
         "-i", os.path.join(d, "user"), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         "root@127.0.0.1"], stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    procs.append(ssh)
    wait_for(lambda: port_open(socksport), 15, "ssh -D")
    return socksport, procs


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def test_socks4a_through_openssh(relay_factory, workdir):
    """A real SOCKS 4a proxy resolves "localhost" for us and carries
    the session to B."""
    socksport, procs = ssh_socks(workdir)
    try:
        b, bport, bspool = start_b(relay_factory)
        a = relay_factory()
        aport = free_port()
        aspool = a.spool()
        target = "localhost:%d@127.0.0.1:%d" % (bport, socksport)
        a.start(*a_args(a, aport, aspool, "--forward-on-disconnect",
                        "--forward-to", target), ready_ports=[aport])
        submit(aport)
        wait_for(lambda: spool_files(aspool) == [] and
                 len(ready(bspool)) == 1, 20, "the message to reach B")
        (base_b,) = ready(bspool)
        content = read(os.path.join(bspool, base_b + ".content"))
        assert content.endswith(b"\r\n" + MESSAGE.encode())
        a.stop()
        b.stop()
        assert "forwarding to %s" % target in a.log()
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


# Parallel sessions and waiting messages

def test_stalled_address_does_not_hold_up_another(relay_factory):
    """Two messages for two addresses: the first address answers MAIL
    never, yet the second message arrives while that session waits,
    and the first fails at --response-timeout."""
    stall, good = FakeSmtp(hang="MAIL"), FakeSmtp()
    a = relay_factory()
    aspool = a.spool()
    first = "emailrelay.1.1700000000.1"
    env = expected_envelope("a@example.com", ["slow@example.com"])
    write_spool_entry(aspool, first, b"Subject: slow\r\n\r\nbody\r\n",
                      env.replace(b"X-MailRelay-ForwardToAddress: \r\n",
                                  b"X-MailRelay-ForwardToAddress: %s\r\n"
                                  % stall.addr.encode()))
    write_spool_entry(aspool, "emailrelay.1.1700000001.2",
                      b"Subject: fast\r\n\r\nbody\r\n",
                      expected_envelope("a@example.com",
                                        ["fast@example.com"]))
    a.start("--as-client", good.addr, "--response-timeout", "8",
            "--spool-dir", aspool, wait=False)
    wait_for(lambda: len(good.messages) == 1, 6, "the second message")
    assert "MAIL" in stall.seen and stall.messages == []
    assert a.proc.poll() is None
    assert a.proc.wait(30) == 1, a.log()
    a.stop(expect=1)
    stall.close()
    good.close()
    assert spool_files(aspool) == [first + ".content",
                                   first + ".envelope.bad"]
    env = read(os.path.join(aspool, first + ".envelope.bad"))
    assert env.endswith(b"X-MailRelay-Reason: response timeout\r\n"
                        b"X-MailRelay-ReasonCode: \r\n"), env


def test_waiting_messages_go_back_to_ready(relay_factory):
    """Three messages for one address whose server stops answering in
    the first: that one fails, the two waiting behind it on the same
    connection were never tried and are ready again, untouched."""
    fake = FakeSmtp(hang="RCPT")
    a = relay_factory()
    aspool = a.spool()
    bases = ["emailrelay.1.170000000%d.%d" % (i, i) for i in range(3)]
    for i, base in enumerate(bases):
        write_spool_entry(aspool, base, b"Subject: %d\r\n\r\nbody\r\n" % i,
                          expected_envelope("a@example.com",
                                            ["r%d@example.com" % i]))
    a.start("--as-client", fake.addr, "--response-timeout", "2",
            "--spool-dir", aspool, wait=False)
    assert a.proc.wait(30) == 1, a.log()
    a.stop(expect=1)
    fake.close()
    assert fake.connections == 1
    assert spool_files(aspool) == [
        bases[0] + ".content", bases[0] + ".envelope.bad",
        bases[1] + ".content", bases[1] + ".envelope",
        bases[2] + ".content", bases[2] + ".envelope"]
    for i in (1, 2):
        assert read(os.path.join(aspool, bases[i] + ".envelope")) == \
            expected_envelope("a@example.com", ["r%d@example.com" % i])


def test_many_messages_in_order_on_one_connection(relay_factory):
    """Twenty messages for one address go over one connection, oldest
    first, although several are handed to mta at once."""
    fake = FakeSmtp()
    a = relay_factory()
    aspool = a.spool()
    for i in range(20):
        write_spool_entry(aspool, "emailrelay.1.%d.%d" % (1700000000 + i, i),
                          b"Subject: %d\r\n\r\nbody\r\n" % i,
                          expected_envelope("a@example.com",
                                            ["r%02d@example.com" % i]))
    a.start("--as-client", fake.addr, "--spool-dir", aspool, wait=False)
    assert a.proc.wait(30) == 0, a.log()
    a.stop()
    fake.close()
    assert spool_files(aspool) == []
    assert fake.connections == 1
    assert [m[1] for m in fake.messages] == [
        ["r%02d@example.com" % i] for i in range(20)]
