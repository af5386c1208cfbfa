"""The command lines and configuration-file sections of SPEC 13, run as
written with paths, ports and host names changed to test ones.  Those
with their own tests elsewhere: --as-client (test_forward.py), --poll
with --poll-run retry: (test_retry.py), --filter and exit:102
(test_filter.py), POP (test_pop.py), spam: and spam-edit:
(test_lookup_net.py), echo forward | nc (test_admin.py), the
three-in-one configuration (test_three_instances.py)."""
import os
import pwd
import re
import smtplib
import socket

import pytest

from smtpclient import read, ready
from harness import free_port, wait_for
from test_forward import (FakeSmtp, check_arrived, spool_files, store_one,
                          submit, write_spool_entry)
from test_forward_route import FakeSocks
from tlsca import make_pki

MESSAGE = ("From: a@example.com\r\nTo: b@example.com\r\nSubject: spec 13"
           "\r\n\r\nbody\r\n")


def greeting_and_ehlo(port):
    with smtplib.SMTP(local_hostname="client.test", timeout=10) as s:
        _, welcome = s.connect("127.0.0.1", port)
        code, text = s.ehlo()
        return welcome, code, text


@pytest.mark.parametrize("form", ["as-server", "log-no-daemon"])
def test_minimal_servers(relay, form):
    """emailrelay --as-server --port 10025 --spool-dir /tmp, and
    emailrelay --log --no-daemon --port 10025 --spool-dir /tmp."""
    spool = relay.spool()
    port = free_port()
    args = (["--as-server"] if form == "as-server" else
            ["--log", "--no-daemon"])
    relay.start(*args, "--port", port, "--spool-dir", spool,
                ready_ports=[port])
    submit(port)
    (base,) = ready(spool)
    assert b"Subject:" not in read(os.path.join(spool, base +
                                                ".envelope"))
    relay.stop()


def test_poll_forward_to_host_name(relay_factory):
    """emailrelay --as-server --poll 60 --forward-to smtp.example.com:25,
    the smarthost named "localhost": a pass at start-up is not made
    (that is --forward's job), so the poll period here is 1 s."""
    b = relay_factory(sub="b")
    bspool = b.spool()
    bport = free_port()
    b.start("--port", bport, "--interface", "127.0.0.1", "--spool-dir",
            bspool, "--domain", "relay-b.test", ready_ports=[bport])
    a = relay_factory()
    aspool = a.spool()
    base, content = store_one(a, aspool)
    a.start("--as-server", "--poll", "1", "--forward-to",
            "localhost:%d" % bport, "--spool-dir", aspool, "--port",
            free_port(), "--domain", "relay-a.test")
    wait_for(lambda: spool_files(aspool) == [] and len(ready(bspool)) == 1,
             20, "the poll to forward the message")
    check_arrived(bspool, ready(bspool)[0], content)
    a.stop()
    b.stop()


def test_remote_clients_account_verifier(relay):
    """emailrelay --as-server -v -r --domain=example.com
    --address-verifier=account: with the default uid range 1000-32767."""
    users = [p for p in pwd.getpwall() if 1000 <= p.pw_uid <= 32767 and
             re.fullmatch(r"[a-z_][a-z0-9_-]*", p.pw_name)]
    spool = relay.spool()
    port = free_port()
    relay.start("--as-server", "-v", "-r", "--domain=example.com",
                "--address-verifier=account:", "--port", port,
                "--spool-dir", spool, ready_ports=[port])
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=10) as s:
        s.ehlo()
        s.mail("a@example.com")
        # root's uid is outside the range; no such account; another domain.
        for rcpt in ("root@example.com", "no-such-account-x@example.com",
                     "someone@other.test"):
            assert s.rcpt(rcpt)[0] == 550, rcpt
        if not users:
            pytest.skip("no account with a uid in 1000-32767 here")
        name = users[0].pw_name
        assert s.rcpt("%s@example.com" % name)[0] == 250
        assert s.data(MESSAGE)[0] == 250
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-To-Local: %s\r\n" % name.encode() in env
    relay.stop()


def smarthost(relay_factory, workdir, secrets_line):
    """A "gmail" relay: STARTTLS and AUTH required."""
    g = relay_factory(sub="gmail")
    spool = g.spool()
    pki = make_pki(os.path.join(workdir, "pki"))
    path = os.path.join(workdir, "gmail-server.auth")
    with open(path, "w") as f:
        f.write(secrets_line)
    os.chmod(path, 0o644)
    port = free_port()
    g.start("--port", port, "--interface", "127.0.0.1", "--spool-dir", spool,
            "--domain", "smtp.gmail.test", "--server-tls",
            "--server-tls-required", "--server-tls-certificate",
            pki["server-keycert"], "--server-auth", path, ready_ports=[port])
    return g, port, spool


def client_secrets(workdir, text):
    path = os.path.join(workdir, "emailrelay.auth")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def test_as_proxy_to_tls_auth_smarthost(relay_factory, workdir):
    """emailrelay --as-proxy=smtp.gmail.com:587 --client-tls
    --client-auth=/etc/emailrelay.auth, with the secrets line of SPEC 13
    (client plain name@gmail.com apppassword)."""
    g, gport, gspool = smarthost(relay_factory, workdir,
                                 "server plain name@gmail.com apppassword\n")
    auth = client_secrets(workdir,
                          "client plain name@gmail.com apppassword\n")
    p = relay_factory(sub="proxy")
    pspool = p.spool()
    port = free_port()
    p.start("--as-proxy=localhost:%d" % gport, "--client-tls",
            "--client-auth=%s" % auth, "--port", port, "--spool-dir",
            pspool, ready_ports=[port])
    submit(port)
    wait_for(lambda: spool_files(pspool) == [] and len(ready(gspool)) == 1,
             20, "the message to pass through the proxy")
    (base,) = ready(gspool)
    env = read(os.path.join(gspool, base + ".envelope"))
    assert b"X-MailRelay-Authentication: name@gmail.com\r\n" in env
    content = read(os.path.join(gspool, base + ".content"))
    assert b"with ESMTPSA tls TLS_" in content.split(b"\r\n")[0]
    p.stop()
    g.stop()


def test_anonymous_proxy_through_socks(relay):
    """emailrelay --port 587 --as-proxy=smtp.example.com:25@localhost:9050
    --domain=anon.net --anonymous --connection-timeout=300: the name
    goes to the proxy (SOCKS 4a), nothing identifies the software or
    the client."""
    proxy = FakeSocks()
    socks_port = proxy.addr.rsplit(":", 1)[1]
    spool = relay.spool()
    port = free_port()
    relay.start("--port", port,
                "--as-proxy=smtp.example.com:25@localhost:%s" % socks_port,
                "--domain=anon.net", "--anonymous",
                "--connection-timeout=300", "--spool-dir", spool,
                ready_ports=[port])
    welcome, code, text = greeting_and_ehlo(port)
    assert welcome == b"greeting"           # SPEC 14, --anonymous=server
    assert text.startswith(b"smtp says hello"), text
    assert b"VRFY" not in text
    submit(port)
    wait_for(lambda: spool_files(spool) == [], 15, "the message to go")
    relay.stop()
    proxy.close()
    assert proxy.requests == [b"\x04\x01\x00\x19\x00\x00\x00\x01\x00"
                              b"smtp.example.com\x00"]
    ((frm, rcpts, data),) = proxy.messages
    assert not data.startswith(b"Received:"), data[:100]


def test_dnsbl_list_serves_local_clients(relay):
    """emailrelay -r --dnsbl=zen.spamhaus.org,bl.mailspike.net: local
    clients are never checked, so no DNS is needed to serve them."""
    spool = relay.spool()
    port = free_port()
    relay.start("-r", "--dnsbl=zen.spamhaus.org,bl.mailspike.net",
                "--port", port, "--spool-dir", spool, ready_ports=[port])
    submit(port)
    assert len(ready(spool)) == 1
    relay.stop()
    assert "dnsbl" not in relay.log()


def test_log_format_address(relay):
    """emailrelay --log-format address ...: session lines carry the
    client's address."""
    spool = relay.spool()
    port = free_port()
    relay.start("--log-format", "address", "--port", port, "--spool-dir",
                spool, "--interface", "127.0.0.1", ready_ports=[port])
    submit(port)
    relay.stop()
    assert re.search(r"info: 127\.0\.0\.1; smtp connection from "
                     r"127\.0\.0\.1:\d+", relay.log()), relay.log()


def test_retry_section_beside_main_instance(relay, workdir):
    """The configuration-file section "retry cycle independent of
    forwarding" (retry-spool-dir, retry-dont-serve, retry-poll 1h,
    retry-poll-run retry:) on the spool of the main instance, whose
    --poll forwards what it returns to ready.  The retry period is 1 s
    here instead of an hour."""
    fake = FakeSmtp()
    spool = relay.spool()
    base = "emailrelay.1.1700000000.1"
    write_spool_entry(spool, base, MESSAGE.encode(), (
        "X-MailRelay-Format: #2821.8\r\nX-MailRelay-Content: 7bit\r\n"
        "X-MailRelay-From: a@example.com\r\nX-MailRelay-ToCount: 1\r\n"
        "X-MailRelay-To-Remote: b@example.com\r\n"
        "X-MailRelay-Authentication: \r\nX-MailRelay-Client: 127.0.0.1\r\n"
        "X-MailRelay-ClientCertificate: \r\n"
        "X-MailRelay-MailFromAuthIn: \r\nX-MailRelay-MailFromAuthOut: \r\n"
        "X-MailRelay-ForwardTo: \r\nX-MailRelay-ForwardToAddress: \r\n"
        "X-MailRelay-ClientAccountSelector: \r\n"
        "X-MailRelay-Utf8MailboxNames: 0\r\nX-MailRelay-End: 1\r\n"
        "X-MailRelay-Reason: 4.4.1 timed out\r\n"
        "X-MailRelay-ReasonCode: 421\r\n").encode())
    os.rename(os.path.join(spool, base + ".envelope"),
              os.path.join(spool, base + ".envelope.bad"))
    conf = os.path.join(workdir, "emailrelay.conf")
    port = free_port()
    with open(conf, "w") as f:
        f.write("spool-dir %s\nport %d\ninterface 127.0.0.1\n"
                "forward-to %s\npoll 1\n\n"
                "# retry cycle independent of forwarding\n"
                "retry-spool-dir %s\nretry-dont-serve\nretry-poll 1\n"
                "retry-poll-run retry:\n" % (spool, port, fake.addr, spool))
    relay.start(conf, ready_ports=[port])
    wait_for(lambda: len(fake.messages) == 1, 30,
             "the retried message to be forwarded")
    wait_for(lambda: spool_files(spool) == [], 10, "the spool to empty")
    relay.stop()
    fake.close()
    assert fake.messages[0][1] == ["b@example.com"]
    # Only the main instance listens.
    assert len(re.findall(r"smtp server on", relay.log())) == 1


def test_smarthost_section_in_config_file(relay_factory, workdir):
    """The "Gmail / Microsoft 365 smarthost" section: forward-to,
    client-tls, client-auth with a plain line and an oauth:b line (the
    plain one is used: no selector)."""
    g, gport, gspool = smarthost(relay_factory, workdir,
                                 "server plain name@gmail.com apppassword\n")
    auth = client_secrets(
        workdir, "client plain name@gmail.com apppassword\n"
        "client oauth:b me@example.onmicrosoft.com dG9rZW4= m365\n")
    a = relay_factory(sub="a")
    spool = a.spool()
    port = free_port()
    conf = os.path.join(workdir, "emailrelay.conf")
    with open(conf, "w") as f:
        f.write("spool-dir %s\nport %d\ninterface 127.0.0.1\n"
                "forward-on-disconnect\n\n"
                "# Gmail / Microsoft 365 smarthost\n"
                "forward-to localhost:%d\nclient-tls\n"
                "client-auth %s\n" % (spool, port, gport, auth))
    a.start(conf, ready_ports=[port])
    submit(port)
    wait_for(lambda: spool_files(spool) == [] and len(ready(gspool)) == 1,
             20, "the message at the smarthost")
    env = read(os.path.join(gspool, ready(gspool)[0] + ".envelope"))
    assert b"X-MailRelay-Authentication: name@gmail.com\r\n" in env
    a.stop()
    g.stop()


def test_admin_dial_up_hook_config(relay, workdir):
    """"admin 10026" and "interface admin=127.0.0.1" in the
    configuration file: the admin port listens on loopback only."""
    fake = FakeSmtp()
    spool = relay.spool()
    port, aport = free_port(), free_port()
    conf = os.path.join(workdir, "emailrelay.conf")
    with open(conf, "w") as f:
        f.write("spool-dir %s\nport %d\nforward-to %s\nadmin %d\n"
                "interface admin=127.0.0.1\n"
                % (spool, port, fake.addr, aport))
    relay.start(conf, ready_ports=[port, aport])
    submit(port)
    with socket.create_connection(("127.0.0.1", aport), timeout=10) as s:
        s.sendall(b"forward\n")
        s.shutdown(socket.SHUT_WR)
        got = b""
        while len(got) < 1000:
            chunk = s.recv(100)
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"OK"), got
    wait_for(lambda: len(fake.messages) == 1, 15, "the forwarded message")
    relay.stop()
    fake.close()
    assert re.search(r"admin server on 127\.0\.0\.1:%d" % aport,
                     relay.log()), relay.log()
