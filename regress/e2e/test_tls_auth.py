"""The SMTP server's TLS and AUTH (SPEC 4, 7, 15): STARTTLS and implicit
TLS with real clients (smtplib, swaks, openssl s_client), every SASL
mechanism against a secrets file checked by lookup, trusted addresses,
--server-tls-required, --server-auth-config, client certificates checked
against a test CA made with openssl, the STARTTLS injection class,
secrets re-read on change and on SIGHUP, and PAM with a throwaway
account."""

import base64
import hashlib
import hmac
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

import tlsca
from harness import IS_ROOT, SANITIZE, free_port, wait_for
from smtpclient import read, ready

MESSAGE = "Subject: tls\r\n\r\nbody\r\n"

# alice: plain xtext ("alice secret"), bob: plain:b (bob/pass),
# carol: md5 of "e=mc2" (SPEC 7 vector), 127.0.0.2: trusted.
SECRETS = """# test secrets
server plain alice alice+20secret
server plain:b Ym9i cGFzcw==
server md5 carol v1HOpuLIbbvgoJjhueeoqwfvtIp2C+gMA285ke+xxow=
server none 127.0.0.2 trusted-two  # a trusted address
"""


def pki(workdir):
    return tlsca.make_pki(os.path.join(workdir, "pki"))


def secrets(workdir, text=SECRETS, name="secrets"):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def start(relay, workdir, *more, tls="--server-tls", auth=True):
    p = pki(workdir)
    port = free_port()
    spool = relay.spool()
    args = ["--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool, "--domain", "relay.test"]
    if tls:
        args += [tls, "--server-tls-certificate", p["server-keycert"]]
    if auth:
        args += ["--server-auth", secrets(workdir)]
    relay.start(*args, *more, ready_ports=[port])
    return port, spool, p


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client(port, source="127.0.0.1"):
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                     timeout=30, source_address=(source, 0))
    s.ehlo()
    return s


def cram(user, password, digest):
    def obj(challenge=None):
        if challenge is None:
            return None
        return user + " " + hmac.new(password.encode(), challenge,
                                     digest).hexdigest()
    return obj


def test_starttls_and_every_mechanism(relay, workdir):
    port, spool, _ = start(relay, workdir)
    cases = [
        ("PLAIN", "alice", "alice secret", None),
        ("LOGIN", "alice", "alice secret", None),
        ("CRAM-MD5", "alice", "alice secret", hashlib.md5),
        ("CRAM-SHA1", "alice", "alice secret", hashlib.sha1),
        ("CRAM-SHA256", "alice", "alice secret", hashlib.sha256),
        ("CRAM-SHA512", "alice", "alice secret", hashlib.sha512),
        ("PLAIN", "bob", "pass", None),
        ("CRAM-MD5", "carol", "e=mc2", hashlib.md5),
    ]
    for mech, user, pw, digest in cases:
        with client(port) as s:
            assert s.has_extn("starttls")
            s.starttls(context=insecure())
            s.ehlo()
            assert s.esmtp_features["auth"].split() == [
                "CRAM-SHA512", "CRAM-SHA256", "CRAM-SHA1", "CRAM-MD5",
                "PLAIN", "LOGIN"]
            s.user, s.password = user, pw
            if digest is not None:
                obj = cram(user, pw, digest)
            else:
                obj = s.auth_plain if mech == "PLAIN" else s.auth_login
            assert s.auth(mech, obj)[0] == 235, (mech, user)
    # The last session stores a message: Authentication and Received.
    with client(port) as s:
        s.starttls(context=insecure())
        s.ehlo()
        s.login("alice", "alice secret")
        s.sendmail("a@example.com", ["b@example.com"], MESSAGE)
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-Authentication: alice\r\n" in env
    content = read(os.path.join(spool, base + ".content"))
    assert b" by relay.test with ESMTPSA tls TLS_" in content.split(
        b"\r\n")[0]
    assert "successful authentication of remote client using mechanism " \
        "[cram-md5] and md5 secret for [carol]" in relay.log()


def test_md5_secret_is_cram_md5_only(relay, workdir):
    port, _, _ = start(relay, workdir)
    with client(port) as s:
        s.starttls(context=insecure())
        s.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.auth("PLAIN", lambda c=None: "\0carol\0e=mc2")
        assert e.value.smtp_code == 535


def test_wrong_password_is_535_logged_and_slowed(relay, workdir):
    port, _, _ = start(relay, workdir)
    with client(port) as s:
        s.starttls(context=insecure())
        s.ehlo()
        t0 = time.monotonic()
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice", "wrong")
        assert e.value.smtp_code == 535
        assert time.monotonic() - t0 >= 0.9
        # The session goes on and the right password works.
        s.user, s.password = "alice", "alice secret"
        assert s.auth("PLAIN", s.auth_plain)[0] == 235
    log = relay.log()
    assert "warning: failed authentication of remote client using " \
        "mechanism [plain] and plain secret for [alice]: 127.0.0.1:" in log
    assert "wrong" not in log.replace("wrong)", "")


def test_mail_and_vrfy_need_auth(relay, workdir):
    port, spool, _ = start(relay, workdir)
    with client(port) as s:
        assert s.mail("a@example.com") == (530, b"authentication required")
        assert s.verify("b@example.com")[0] == 530
    assert ready(spool) == []


def test_trusted_address_needs_no_auth(relay, workdir):
    port, spool, _ = start(relay, workdir)
    with client(port, source="127.0.0.2") as s:
        s.sendmail("a@example.com", ["b@example.com"], MESSAGE)
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-Authentication: trusted-two\r\n" in env


def test_auth_without_server_auth_is_502(relay, workdir):
    port, _, _ = start(relay, workdir, auth=False)
    with client(port) as s:
        assert not s.has_extn("auth")
        assert s.docmd("AUTH", "PLAIN")[0] == 502


def test_tls_required_refuses_mail_and_auth_before_starttls(relay, workdir):
    port, spool, _ = start(relay, workdir, "--server-tls-required")
    with client(port) as s:
        enc = (530, b"encryption required: use starttls")
        assert s.docmd("AUTH", "PLAIN " + base64.b64encode(
            b"\0alice\0alice secret").decode()) == enc
        assert s.mail("a@example.com") == enc
        s.starttls(context=insecure())
        s.ehlo()
        s.login("alice", "alice secret")
        s.sendmail("a@example.com", ["b@example.com"], MESSAGE)
    assert len(ready(spool)) == 1


def test_auth_config_offers_nothing_before_tls(relay, workdir):
    port, _, _ = start(relay, workdir, "--server-auth-config",
                       "m:;a:plain,login")
    with client(port) as s:
        assert not s.has_extn("auth")
        assert s.docmd("AUTH", "PLAIN")[0] == 504
        s.starttls(context=insecure())
        s.ehlo()
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        s.login("alice", "alice secret")


def test_swaks_tls_auth(relay, workdir):
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed")
    port, spool, _ = start(relay, workdir)
    r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port, "--tls",
                        "--auth", "LOGIN", "--auth-user", "bob",
                        "--auth-password", "pass", "--from", "a@example.com",
                        "--to", "b@example.com", "--helo", "client.test"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout.decode(errors="replace")
    assert b"235 authentication successful" in r.stdout
    assert len(ready(spool)) == 1


def s_client(args, stdin, timeout=30):
    r = subprocess.run(["openssl", "s_client", "-quiet", "-crlf",
                        "-ign_eof", "-verify_return_error"] + args,
                       input=stdin, capture_output=True, timeout=timeout)
    return r


def test_openssl_s_client_starttls(relay, workdir):
    port, _, p = start(relay, workdir)
    r = s_client(["-starttls", "smtp", "-connect", "127.0.0.1:%d" % port,
                  "-CAfile", p["ca"], "-verify_hostname", "localhost"],
                 b"EHLO client.test\nQUIT\n")
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"250-relay.test says hello" in r.stdout
    assert b"STARTTLS" not in r.stdout
    assert b"221 OK" in r.stdout


def test_implicit_tls(relay, workdir):
    port, spool, p = start(relay, workdir, tls="--server-tls-connection")
    r = s_client(["-connect", "127.0.0.1:%d" % port, "-CAfile", p["ca"]],
                 b"QUIT\n")
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert r.stdout.startswith(b"220 relay.test -- E-MailRelay V")
    ctx = ssl.create_default_context(cafile=p["ca"])
    with smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="client.test",
                          context=ctx, timeout=30) as s:
        s.ehlo()
        assert not s.has_extn("starttls")
        s.login("alice", "alice secret")
        s.sendmail("a@example.com", ["b@example.com"], MESSAGE)
    (base,) = ready(spool)
    content = read(os.path.join(spool, base + ".content"))
    assert b"with ESMTPSA tls TLS_" in content.split(b"\r\n")[0]


def tls_session(port, cert=None, key=None):
    """STARTTLS with an optional client certificate; returns the smtplib
    session or raises what the handshake raised."""
    ctx = insecure()
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    s = client(port)
    try:
        s.starttls(context=ctx)
        s.ehlo()
    except Exception:
        s.close()
        raise
    return s


def test_client_certificate_verified(relay, workdir):
    p = pki(workdir)
    port, spool, _ = start(relay, workdir, "--server-tls-verify", p["ca"],
                           auth=False)
    with tls_session(port, p["client"], p["client.key"]) as s:
        s.sendmail("a@example.com", ["b@example.com"], MESSAGE)
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope")).decode()
    cert = open(p["client"]).read().strip().split("\n")
    assert "X-MailRelay-ClientCertificate: " + cert[0] + "\r\n " + \
        cert[1] + "\r\n" in env
    # Self-signed or from another CA: refused; and none at all.
    for c, k in ((p["self"], p["self.key"]), (p["wrong"], p["wrong.key"]),
                 (None, None)):
        with pytest.raises((ssl.SSLError, smtplib.SMTPException,
                            ConnectionError, OSError)):
            s = tls_session(port, c, k)
            # TLS 1.3: the refusal may come with the first read.
            s.noop()
    assert len(ready(spool)) == 1


def test_client_certificate_not_verified(relay, workdir):
    p = pki(workdir)
    port, spool, _ = start(relay, workdir, auth=False)
    with tls_session(port, p["self"], p["self.key"]) as s:
        s.sendmail("a@example.com", ["b@example.com"], MESSAGE)
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-ClientCertificate: \r\n" in env


def test_starttls_injection_is_discarded(relay, workdir):
    port, _, _ = start(relay, workdir, auth=False)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"220 ")
    sock.sendall(b"EHLO client.test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    sock.sendall(b"STARTTLS\r\nRSET\r\n")
    assert f.readline() == b"220 ready to start tls\r\n"
    tls = insecure().wrap_socket(sock)
    tls.settimeout(1.5)
    with pytest.raises(socket.timeout):
        data = tls.recv(1024)
        raise AssertionError("answered the injected command: %r" % data)
    tls.settimeout(10)
    tls.sendall(b"NOOP\r\n")
    assert tls.recv(1024) == b"250 noop\r\n"
    tls.close()


def test_bad_secrets_file_names_file_and_line(relay, workdir):
    path = secrets(workdir, "server plain alice x\n# ok\nserver bogus a b\n")
    port = free_port()
    r = subprocess.run([relay.exe, "--no-daemon", "--port", str(port),
                        "--spool-dir", relay.spool(), "--server-auth",
                        path], capture_output=True, timeout=30)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "emailrelay: error: invalid secrets file: %s:3: " % path in err, \
        err


def login_ok(port, user, pw):
    with client(port) as s:
        s.user, s.password = user, pw
        s.starttls(context=insecure())
        s.ehlo()
        try:
            return s.auth("PLAIN", s.auth_plain)[0] == 235
        except smtplib.SMTPAuthenticationError:
            return False


def test_secrets_reread_on_change_and_sighup(relay, workdir):
    port, _, _ = start(relay, workdir)
    path = os.path.join(workdir, "secrets")
    if IS_ROOT and not SANITIZE:
        # lookup may not read it: the parent opens it for lookup.
        os.chmod(path, 0o600)
    assert login_ok(port, "alice", "alice secret")
    # Another file in its place (as editors save), new password.
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(SECRETS.replace("alice+20secret", "changed"))
    os.chmod(tmp, os.stat(path).st_mode & 0o777)
    os.rename(tmp, path)
    time.sleep(1.1)
    assert login_ok(port, "alice", "changed")
    assert not login_ok(port, "alice", "alice secret")
    assert "re-reading secrets file: " + path in relay.log()
    # SIGHUP: read again at once.
    with open(path, "w") as f:
        f.write(SECRETS.replace("alice+20secret", "after+20hup"))
    os.kill(relay.main_pid(), signal.SIGHUP)
    relay.wait_log("configuration reloaded")
    assert login_ok(port, "alice", "after hup")


# Unique, so that parallel runs on one machine do not share the account.
PAM_USER = "erpam%s" % os.urandom(4).hex()


def test_pam(relay, workdir):
    if not IS_ROOT or SANITIZE:
        pytest.skip("PAM needs the relay to run as root (not root, or "
                    "the sanitizer pass runs it unprivileged)")
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not installed")
    subprocess.run(["userdel", PAM_USER], capture_output=True)
    subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", PAM_USER],
                   check=True, timeout=30)
    try:
        subprocess.run(["chpasswd"], input=b"%s:pam pw 1\n" % PAM_USER.encode(),
                       check=True, timeout=30)
        port = free_port()
        spool = relay.spool()
        p = pki(workdir)
        relay.start("--port", port, "--interface", "127.0.0.1",
                    "--spool-dir", spool, "--server-tls",
                    "--server-tls-certificate", p["server-keycert"],
                    "--server-auth", "pam:", ready_ports=[port])
        with client(port) as s:
            assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        assert login_ok(port, PAM_USER, "pam pw 1")
        t0 = time.monotonic()
        assert not login_ok(port, PAM_USER, "wrong")
        assert time.monotonic() - t0 >= 0.9
        with client(port) as s:
            s.user, s.password = PAM_USER, "pam pw 1"
            s.login(PAM_USER, "pam pw 1")
            s.sendmail("a@example.com", ["b@example.com"], MESSAGE)
        (base,) = ready(spool)
        env = read(os.path.join(spool, base + ".envelope"))
        assert b"X-MailRelay-Authentication: %s\r\n" % PAM_USER.encode() \
            in env
        assert "failed authentication of remote client using mechanism " \
            "[plain] and pam secret for [%s]" % PAM_USER in relay.log()
    finally:
        subprocess.run(["userdel", PAM_USER], capture_output=True,
                       timeout=30)
    with pytest.raises(KeyError):
        pwd.getpwnam(PAM_USER)


def test_forward_with_client_auth_to_second_relay(relay_factory, workdir):
    """A relay forwards over STARTTLS with client AUTH to a second relay
    that requires it; ClientAccountSelector picks the account, and the
    next hop records who authenticated."""
    from test_client_tls import secrets_file, write_entry
    server = relay_factory()
    p = pki(workdir)
    port = free_port()
    sspool = server.spool("next-hop")
    server.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                 sspool, "--server-tls", "--server-tls-certificate",
                 p["server-keycert"], "--server-tls-required",
                 "--server-auth", secrets(workdir), ready_ports=[port])
    client_secrets = secrets_file(workdir, (
        "client plain alice alice+20secret\n"
        "client plain:b Ym9i cGFzcw== for-bob\n"))
    a = relay_factory()
    spool = a.spool()
    write_entry(spool, 1, "", to="one@example.com")
    write_entry(spool, 2, "for-bob", to="two@example.com")
    a.start("--as-client", "127.0.0.1:%d" % port, "--spool-dir", spool,
            "--client-tls", "--client-tls-required", "--client-tls-verify",
            p["ca"], "--client-tls-verify-name", "localhost",
            "--client-auth", client_secrets, wait=False)
    assert a.proc.wait(60) == 0, a.log()
    a.stop(expect=None)
    assert ready(spool) == []
    got = {}
    for base in ready(sspool):
        env = read(os.path.join(sspool, base + ".envelope")).decode()
        to = [ln.split(": ", 1)[1] for ln in env.split("\r\n")
              if ln.startswith("X-MailRelay-To-Remote: ")]
        auth = [ln.split(": ", 1)[1] for ln in env.split("\r\n")
                if ln.startswith("X-MailRelay-Authentication: ")]
        got[to[0]] = auth[0]
        content = read(os.path.join(sspool, base + ".content"))
        assert b"with ESMTPSA tls TLS_" in content.split(b"\r\n")[0]
    assert got == {"one@example.com": "alice", "two@example.com": "bob"}


def test_failed_account_skips_only_its_selector(relay_factory, workdir):
    """A session that fails at AUTH fails its message and skips that
    account for the rest of the pass, not the address: a message for
    another ClientAccountSelector still goes in the same pass."""
    from test_client_tls import secrets_file, write_entry
    server = relay_factory()
    p = pki(workdir)
    port = free_port()
    sspool = server.spool("next-hop")
    server.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                 sspool, "--server-tls", "--server-tls-certificate",
                 p["server-keycert"], "--server-auth", secrets(workdir),
                 ready_ports=[port])
    client_secrets = secrets_file(workdir, (
        "client plain alice alice+20secret\n"
        "client plain bob wrong-password for-bob\n"))
    a = relay_factory()
    spool = a.spool()
    first = write_entry(spool, 1, "for-bob", to="one@example.com")
    write_entry(spool, 2, "for-bob", to="two@example.com")
    write_entry(spool, 3, "", to="three@example.com")
    a.start("--as-client", "127.0.0.1:%d" % port, "--spool-dir", spool,
            "--client-tls", "--client-auth", client_secrets, wait=False)
    assert a.proc.wait(60) == 1, a.log()
    a.stop(expect=None)
    # bob's first message failed, his second was left for the next pass,
    # alice's went.
    assert os.path.exists(os.path.join(spool, first + ".envelope.bad"))
    assert len(ready(spool)) == 1
    (base,) = ready(sspool)
    env = read(os.path.join(sspool, base + ".envelope"))
    assert b"X-MailRelay-To-Remote: three@example.com\r\n" in env
    assert b"X-MailRelay-Authentication: alice\r\n" in env
