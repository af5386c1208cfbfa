"""The SMTP client's TLS and AUTH (SPEC 5, 7): STARTTLS when offered,
implicit TLS, server certificate verification against a test CA (good,
wrong CA, self-signed), the certificate name check, SNI,
--client-tls-required, a client certificate, AUTH with PLAIN, LOGIN,
CRAM-MD5 (from a password and from an md5 state) and XOAUTH2 against a
scripted next hop that checks the exact credentials, the inline
--client-auth form, accounts chosen by ClientAccountSelector, the
failure paths, and STARTTLS injection on the client side.

The next hop is a small threaded SMTP server in this file on Python's
ssl module; messages go out with --as-client from hand-written spool
entries."""

import base64
import hashlib
import hmac
import json
import os
import select
import socket
import ssl
import threading

import tlsca
from smtpclient import expected_envelope, read

CONTENT = b"Subject: client tls\r\n\r\nbody line\r\n"
NO_SELECTOR = b"X-MailRelay-ClientAccountSelector: \r\n"

# The SPEC 7 md5 test vector: the hashed state of "password123".
MD5_STATE = "9N2IRYVXqu7SkOW1Xat+wpR9NbA2R6fb61XlmqW+46E="


def xoauth2(user, token):
    return "user=%s\x01auth=Bearer %s\x01\x01" % (user, token)


class Conn:
    """What the fake next hop saw on one connection."""

    def __init__(self):
        self.tls = False
        self.cmds = []          # (under tls, command line)
        self.sni = None
        self.peer_cert = None   # the client's certificate, if any
        self.auth = None        # (mechanism, user) after a 235
        self.auth_failed = None
        self.error = None       # what ended it abnormally
        self.early = False      # the client talked before our reply
        self.mail = []          # MAIL lines


class Lines:
    """CRLF lines over a plain or TLS socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def more_within(self, seconds):
        """Whether the client sent more without waiting for a reply."""
        if self.buf:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        r, _, _ = select.select([self.sock], [], [], seconds)
        return bool(r)


class FakeNextHop(threading.Thread):
    """A scripted next hop.  mode: "plain" (no STARTTLS), "starttls"
    (offered) or "implicit" (TLS from the first byte).  cert: the pki
    name of the server certificate.  mechs: AUTH mechanisms offered
    (after TLS only with auth_tls_only); accounts {user: password} for
    PLAIN, LOGIN and CRAM-MD5, tokens {user: token} for XOAUTH2.  ask_ca:
    ask for a client certificate checked against this CA.  inject: bytes
    sent in the clear right behind "220 go ahead" in the same write."""

    def __init__(self, pki, mode="starttls", cert="server", mechs=(),
                 accounts=None, tokens=None, ask_ca=None, inject=b"",
                 auth_tls_only=False):
        super().__init__(daemon=True)
        self.mode = mode
        self.mechs = list(mechs)
        self.accounts = accounts or {}
        self.tokens = tokens or {}
        self.inject = inject
        self.auth_tls_only = auth_tls_only
        self.conns = []
        self.messages = []      # (from, [rcpt], data, auth user)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki[cert], pki[cert + ".key"])
        if ask_ca is not None:
            self.ctx.verify_mode = ssl.CERT_OPTIONAL
            self.ctx.load_verify_locations(ask_ca)
        self.ctx.sni_callback = self._sni
        self._current = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.start()

    def _sni(self, sslobj, name, ctx):
        if self._current is not None:
            self._current.sni = name

    def run(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            c = Conn()
            self._current = c
            self.conns.append(c)
            raw.settimeout(15)
            try:
                self.serve(raw, c)
            except (OSError, ValueError, ssl.SSLError) as e:
                c.error = repr(e)
            finally:
                raw.close()

    def _tls(self, raw, c):
        s = self.ctx.wrap_socket(raw, server_side=True)
        c.tls = True
        c.peer_cert = s.getpeercert()
        return s

    def ehlo_reply(self, c):
        lines = ["fake.test", "8BITMIME", "SIZE 1000000"]
        if self.mode == "starttls" and not c.tls:
            lines.append("STARTTLS")
        if self.mechs and (c.tls or not self.auth_tls_only):
            lines.append("AUTH " + " ".join(self.mechs))
        return "\r\n".join("250%s%s" % ("-" if i < len(lines) - 1
                                         else " ", t)
                           for i, t in enumerate(lines)) + "\r\n"

    def serve(self, raw, c):
        sock = raw
        if self.mode == "implicit":
            sock = self._tls(raw, c)
        f = Lines(sock)
        f.send("220 fake.test ESMTP\r\n")
        frm, rcpts = None, []
        while True:
            cmd = f.line()
            if cmd is None:
                return
            c.cmds.append((c.tls, cmd))
            verb = cmd[:4].upper()
            if verb == "EHLO":
                if self.inject and c.tls:
                    c.early = f.more_within(0.5)
                f.send(self.ehlo_reply(c))
            elif verb == "STAR" and self.mode == "starttls" and not c.tls:
                # the reply and the injected bytes in one write
                f.send(b"220 go ahead\r\n" + self.inject)
                if f.buf:
                    c.early = True
                sock = self._tls(raw, c)
                f = Lines(sock)
            elif verb == "AUTH":
                self.auth(f, c, cmd)
            elif verb == "MAIL":
                frm, rcpts = cmd[10:].split(">")[0].strip("<"), []
                c.mail.append(cmd)
                f.send("250 OK\r\n")
            elif verb == "RCPT":
                rcpts.append(cmd[8:].strip("<>"))
                f.send("250 OK\r\n")
            elif verb == "DATA":
                f.send("354 go ahead\r\n")
                data = b""
                while True:
                    line = f.line()
                    if line is None or line == ".":
                        break
                    data += line.encode() + b"\r\n"
                self.messages.append((frm, rcpts, data,
                                      c.auth[1] if c.auth else None))
                f.send("250 OK queued\r\n")
            elif verb == "RSET":
                f.send("250 OK\r\n")
            elif verb == "QUIT":
                f.send("221 bye\r\n")
                return
            else:
                f.send("502 unknown\r\n")

    def auth(self, f, c, cmd):
        words = cmd.split(" ")
        mech = words[1].upper() if len(words) > 1 else ""
        initial = words[2] if len(words) > 2 else None
        offered = c.tls or not self.auth_tls_only
        if mech not in self.mechs or not offered:
            f.send("504 5.5.4 unrecognised authentication type\r\n")
            return

        def ask(challenge):
            f.send("334 %s\r\n" % base64.b64encode(challenge).decode())
            return base64.b64decode(f.line() or "")

        user, ok = None, False
        if mech == "PLAIN":
            resp = base64.b64decode(initial) if initial else ask(b"")
            parts = resp.split(b"\0")
            if len(parts) == 3 and parts[0] == b"":
                user = parts[1].decode()
                ok = self.accounts.get(user) == parts[2].decode()
        elif mech == "LOGIN":
            user = ask(b"Username:").decode()
            ok = self.accounts.get(user) == ask(b"Password:").decode()
        elif mech == "CRAM-MD5":
            challenge = b"<31415.926535@fake.test>"
            user, _, digest = ask(challenge).decode().partition(" ")
            pw = self.accounts.get(user)
            ok = pw is not None and digest == hmac.new(
                pw.encode(), challenge, hashlib.md5).hexdigest()
        elif mech == "XOAUTH2":
            resp = base64.b64decode(initial or "").decode()
            fields = dict(p.split("=", 1) for p in resp.split("\x01") if p)
            user = fields.get("user")
            ok = resp.endswith("\x01\x01") and user in self.tokens and \
                fields.get("auth") == "Bearer " + self.tokens[user]
            if not ok:
                err = json.dumps({"status": "401", "schemes": "bearer"})
                f.send("334 %s\r\n" % base64.b64encode(
                    err.encode()).decode())
                f.line()        # the client's empty response
        if ok:
            c.auth = (mech, user)
            f.send("235 2.7.0 authentication successful\r\n")
        else:
            c.auth_failed = (mech, user)
            f.send("535 5.7.8 authentication credentials invalid\r\n")

    def close(self):
        self.sock.close()


def pki(workdir):
    return tlsca.make_pki(os.path.join(workdir, "pki"))


def write_entry(spool, n, selector="", to="b@example.com"):
    """A ready message by hand, owned like the spool; returns its name."""
    base = "emailrelay.1.17000000%02d.%d" % (n, n)
    env = expected_envelope("a@example.com", [to])
    if selector:
        env = env.replace(NO_SELECTOR, (
            "X-MailRelay-ClientAccountSelector: %s\r\n" %
            selector).encode())
    st = os.stat(spool)
    for name, data in ((base + ".content", CONTENT),
                       (base + ".envelope", env)):
        p = os.path.join(spool, name)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, st.st_uid, st.st_gid)
        os.chmod(p, 0o660)
    return base


def secrets_file(workdir, text, name="client.auth"):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def spool_files(spool):
    return sorted(n for n in os.listdir(spool) if n.startswith("emailrelay."))


def as_client(relay, hop, spool, *more, expect=0):
    """One --as-client pass to hop with --verbose; returns the log."""
    relay.start("--as-client", hop.addr, "--spool-dir", spool, "--verbose",
                "--domain", "relay-a.test", *[str(m) for m in more],
                wait=False)
    code = relay.proc.wait(30)
    relay.stop(expect=None)
    assert code == expect, "exit %s:\n%s" % (code, relay.log())
    return relay.log()


def bad_reason(spool, base):
    """The Reason and ReasonCode of a .bad envelope."""
    env = read(os.path.join(spool, base + ".envelope.bad"))
    tail = env.split(b"X-MailRelay-End: 1\r\n", 1)[1].decode()
    fields = dict(line.split(": ", 1) if ": " in line else (line[:-1], "")
                  for line in tail.split("\r\n") if line)
    return fields["X-MailRelay-Reason"], fields["X-MailRelay-ReasonCode"]


def delivered(hop, spool, n=1):
    assert spool_files(spool) == []
    assert len(hop.messages) == n
    assert hop.messages[0][2] == CONTENT


def test_starttls_when_offered(relay_factory, workdir):
    p = pki(workdir)
    hop = FakeNextHop(p, "starttls")
    a = relay_factory()
    spool = a.spool()
    write_entry(spool, 1)
    log = as_client(a, hop, spool, "--client-tls")
    hop.close()
    delivered(hop, spool)
    (c,) = hop.conns
    assert c.tls
    assert [cmd for _, cmd in c.cmds[:3]] == [
        "EHLO relay-a.test", "STARTTLS", "EHLO relay-a.test"]
    # everything after STARTTLS went under TLS
    assert all(tls for tls, _ in c.cmds[2:])
    assert "tls session established with %s: TLSv1." % hop.addr in log
    assert "(server certificate verified)" not in log
    assert c.peer_cert is None

    # without --client-tls, STARTTLS is not used
    hop = FakeNextHop(p, "starttls")
    b = relay_factory(sub="b")
    spool = b.spool()
    write_entry(spool, 2)
    as_client(b, hop, spool)
    hop.close()
    delivered(hop, spool)
    assert not hop.conns[0].tls
    assert "STARTTLS" not in [cmd for _, cmd in hop.conns[0].cmds]


def test_implicit_tls_and_sni(relay_factory, workdir):
    p = pki(workdir)
    hop = FakeNextHop(p, "implicit")
    a = relay_factory()
    spool = a.spool()
    write_entry(spool, 1)
    log = as_client(a, hop, spool, "--client-tls-connection",
                    "--client-tls-server-name", "smtp.example.test")
    hop.close()
    delivered(hop, spool)
    (c,) = hop.conns
    assert c.tls and c.cmds[0] == (True, "EHLO relay-a.test")
    assert "STARTTLS" not in [cmd for _, cmd in c.cmds]
    assert c.sni == "smtp.example.test"
    assert "tls session established" in log


def test_server_certificate_verification(relay_factory, workdir):
    p = pki(workdir)
    # signed by the CA we trust: delivered
    hop = FakeNextHop(p, "starttls", cert="server")
    a = relay_factory(sub="good")
    spool = a.spool()
    write_entry(spool, 1)
    log = as_client(a, hop, spool, "--client-tls", "--client-tls-verify",
                    p["ca"])
    hop.close()
    delivered(hop, spool)
    assert "(server certificate verified)" in log

    # a certificate from another CA (STARTTLS), and a self-signed one
    # (implicit TLS): .bad
    for name, mode, opt in (("wrong", "starttls", "--client-tls"),
                            ("self", "implicit", "--client-tls-connection")):
        hop = FakeNextHop(p, mode, cert=name)
        r = relay_factory(sub=name)
        spool = r.spool()
        base = write_entry(spool, 2)
        log = as_client(r, hop, spool, opt, "--client-tls-verify", p["ca"],
                        expect=1)
        hop.close()
        assert hop.messages == []
        assert spool_files(spool) == [base + ".content",
                                      base + ".envelope.bad"]
        reason, code = bad_reason(spool, base)
        assert reason.startswith("tls error: "), reason
        assert "verif" in reason or "certificate" in reason, reason
        assert code == ""
        assert "smtp client error: tls error: " in log
        assert not any(cmd.startswith("MAIL") for _, cmd in
                       hop.conns[0].cmds)
        assert not hop.conns[0].tls

    # no verification asked for: the self-signed one is fine
    hop = FakeNextHop(p, "implicit", cert="self")
    r = relay_factory(sub="noverify")
    spool = r.spool()
    write_entry(spool, 3)
    log = as_client(r, hop, spool, "--client-tls-connection")
    hop.close()
    delivered(hop, spool)
    assert "(server certificate verified)" not in log


def test_verify_name(relay_factory, workdir):
    p = pki(workdir)
    hop = FakeNextHop(p, "starttls")
    a = relay_factory(sub="match")
    spool = a.spool()
    write_entry(spool, 1)
    as_client(a, hop, spool, "--client-tls", "--client-tls-verify",
              p["ca"], "--client-tls-verify-name", "localhost")
    hop.close()
    delivered(hop, spool)

    hop = FakeNextHop(p, "starttls")
    b = relay_factory(sub="mismatch")
    spool = b.spool()
    base = write_entry(spool, 2)
    as_client(b, hop, spool, "--client-tls", "--client-tls-verify",
              p["ca"], "--client-tls-verify-name", "mx.other.test",
              expect=1)
    hop.close()
    assert hop.messages == []
    reason, code = bad_reason(spool, base)
    assert reason.startswith("tls error: ") and "mx.other.test" in reason, \
        reason
    assert code == ""


def test_tls_required_but_not_offered(relay_factory, workdir):
    p = pki(workdir)
    hop = FakeNextHop(p, "plain")
    a = relay_factory()
    spool = a.spool()
    base = write_entry(spool, 1)
    log = as_client(a, hop, spool, "--client-tls-required", expect=1)
    hop.close()
    assert hop.messages == []
    assert bad_reason(spool, base) == (
        "tls required but not offered by the server", "")
    assert [cmd for _, cmd in hop.conns[0].cmds][:1] == ["EHLO relay-a.test"]
    assert not any(cmd.startswith("MAIL") for _, cmd in hop.conns[0].cmds)
    assert "smtp client error: tls required but not offered by the " \
        "server" in log


def test_client_certificate(relay_factory, workdir):
    p = pki(workdir)
    hop = FakeNextHop(p, "starttls", ask_ca=p["ca"])
    a = relay_factory(sub="with")
    spool = a.spool()
    write_entry(spool, 1)
    as_client(a, hop, spool, "--client-tls", "--client-tls-certificate",
              p["client.key"], "--client-tls-certificate", p["client"])
    hop.close()
    delivered(hop, spool)
    cert = hop.conns[0].peer_cert
    assert cert is not None
    assert dict(x[0] for x in cert["subject"])["commonName"] == "client.test"

    # none configured: none presented, still delivered
    hop = FakeNextHop(p, "starttls", ask_ca=p["ca"])
    b = relay_factory(sub="without")
    spool = b.spool()
    write_entry(spool, 2)
    as_client(b, hop, spool, "--client-tls")
    hop.close()
    delivered(hop, spool)
    assert hop.conns[0].tls and not hop.conns[0].peer_cert


def test_auth_each_mechanism(relay_factory, workdir):
    """Each mechanism alone on offer, under STARTTLS; the next hop checks
    the exact credentials, and the verbose log shows none of them."""
    p = pki(workdir)
    password = "pa ss+word"
    token = "ya29.tok3n-value"
    secrets = secrets_file(workdir, (
        "# client accounts\n"
        "client plain carol@example.com pa+20ss+2Bword\n"
        "client md5 dave %s md5\n"
        "client oauth erin@example.com %s oauth\n") % (
            MD5_STATE, base64.b64encode(xoauth2(
                "erin@example.com", token).encode()).decode()))
    cases = [
        ("PLAIN", "", "carol@example.com"),
        ("LOGIN", "", "carol@example.com"),
        ("CRAM-MD5", "", "carol@example.com"),
        ("CRAM-MD5", "md5", "dave"),
        ("XOAUTH2", "oauth", "erin@example.com"),
    ]
    for i, (mech, selector, user) in enumerate(cases):
        hop = FakeNextHop(p, "starttls", mechs=[mech], auth_tls_only=True,
                          accounts={"carol@example.com": password,
                                    "dave": "password123"},
                          tokens={"erin@example.com": token})
        r = relay_factory(sub="m%d" % i)
        spool = r.spool()
        write_entry(spool, i + 1, selector)
        log = as_client(r, hop, spool, "--client-tls", "--client-auth",
                        secrets)
        hop.close()
        assert hop.conns[0].auth_failed is None, (mech, log)
        delivered(hop, spool)
        assert hop.conns[0].auth == (mech, user)
        assert hop.messages[0][3] == user
        # AUTH went under TLS, after the second EHLO
        auth = [(tls, cmd) for tls, cmd in hop.conns[0].cmds
                if cmd.startswith("AUTH")]
        assert auth and all(tls for tls, _ in auth), auth
        for secret in (password, "pa+20ss+2Bword", token, MD5_STATE,
                       base64.b64encode(password.encode()).decode(),
                       base64.b64encode(("\0carol@example.com\0" +
                                         password).encode()).decode()):
            assert secret not in log, (mech, secret)
        assert "[authentication response not logged]" in log or \
            "[initial response not logged]" in log


def test_auth_inline_plain(relay_factory, workdir):
    p = pki(workdir)
    hop = FakeNextHop(p, "plain", mechs=["PLAIN", "LOGIN"],
                      accounts={"frank@example.com": "inline secret"})
    a = relay_factory()
    spool = a.spool()
    write_entry(spool, 1)
    inline = "plain:%s:%s" % (
        base64.b64encode(b"frank@example.com").decode(),
        base64.b64encode(b"inline secret").decode())
    as_client(a, hop, spool, "--client-auth", inline)
    hop.close()
    delivered(hop, spool)
    assert hop.conns[0].auth == ("PLAIN", "frank@example.com")


def test_auth_config_lists(relay_factory, workdir):
    """--client-auth-config: m: picks LOGIN out of all on offer; with
    m:;a:plain nothing is allowed before TLS, so a server without
    STARTTLS fails the message."""
    p = pki(workdir)
    secrets = secrets_file(workdir, "client plain gina g-pass\n")
    hop = FakeNextHop(p, "plain", mechs=["CRAM-MD5", "PLAIN", "LOGIN"],
                      accounts={"gina": "g-pass"})
    a = relay_factory(sub="m")
    spool = a.spool()
    write_entry(spool, 1)
    as_client(a, hop, spool, "--client-auth", secrets,
              "--client-auth-config", "m:login")
    hop.close()
    delivered(hop, spool)
    assert hop.conns[0].auth == ("LOGIN", "gina")

    # without a list: CRAM-MD5 first
    hop = FakeNextHop(p, "plain", mechs=["PLAIN", "LOGIN", "CRAM-MD5"],
                      accounts={"gina": "g-pass"})
    b = relay_factory(sub="default")
    spool = b.spool()
    write_entry(spool, 2)
    as_client(b, hop, spool, "--client-auth", secrets)
    hop.close()
    delivered(hop, spool)
    assert hop.conns[0].auth == ("CRAM-MD5", "gina")

    hop = FakeNextHop(p, "plain", mechs=["PLAIN"], accounts={"gina": "x"})
    c = relay_factory(sub="tlsonly")
    spool = c.spool()
    base = write_entry(spool, 3)
    as_client(c, hop, spool, "--client-auth", secrets,
              "--client-auth-config", "m:;a:plain", expect=1)
    hop.close()
    assert hop.messages == []
    assert not any(cmd.startswith("AUTH") for _, cmd in hop.conns[0].cmds)
    assert bad_reason(spool, base) == (
        "cannot authenticate: no usable mechanism offered by the server",
        "")


def test_selectors_choose_accounts(relay_factory, workdir):
    """Two messages with different ClientAccountSelector values go on
    separate connections, each authenticated as its own account; a
    selector without an account fails its message; "= =" means no AUTH."""
    p = pki(workdir)
    secrets = secrets_file(workdir, (
        "client plain default-user d-pass\n"
        "client plain alice a-pass sel-alice\n"
        "client plain:b Ym9i Yi1wYXNz sel-bob\n"
        "client plain = = sel-none\n"))
    hop = FakeNextHop(p, "starttls", mechs=["PLAIN"],
                      accounts={"alice": "a-pass", "bob": "b-pass",
                                "default-user": "d-pass"})
    a = relay_factory()
    spool = a.spool()
    write_entry(spool, 1, "sel-alice", to="to-alice@example.com")
    write_entry(spool, 2, "sel-bob", to="to-bob@example.com")
    write_entry(spool, 3, "", to="to-default@example.com")
    write_entry(spool, 4, "sel-none", to="to-none@example.com")
    missing = write_entry(spool, 5, "sel-missing",
                          to="to-missing@example.com")
    log = as_client(a, hop, spool, "--client-tls", "--client-auth", secrets,
                    expect=1)
    hop.close()
    got = sorted((m[1][0], m[3]) for m in hop.messages)
    assert got == [("to-alice@example.com", "alice"),
                   ("to-bob@example.com", "bob"),
                   ("to-default@example.com", "default-user"),
                   ("to-none@example.com", None)], log
    # one connection per selector
    assert sorted(str(c.auth) for c in hop.conns) == sorted(str(x) for x in [
        ("PLAIN", "alice"), ("PLAIN", "bob"), ("PLAIN", "default-user"),
        None, None]), [(c.auth, c.cmds) for c in hop.conns]
    assert spool_files(spool) == [missing + ".content",
                                  missing + ".envelope.bad"]
    assert bad_reason(spool, missing) == (
        "cannot authenticate: no client account for selector "
        "[sel-missing]", "")


def test_auth_failures(relay_factory, workdir):
    p = pki(workdir)
    secrets = secrets_file(workdir, "client plain henry wrong-pass\n"
                           "client oauth ivy %s tok\n" % base64.b64encode(
                               xoauth2("ivy", "bad-token").encode()).decode())
    # rejected credentials: .bad with the server's reply, no code
    hop = FakeNextHop(p, "plain", mechs=["PLAIN"],
                      accounts={"henry": "right-pass"})
    a = relay_factory(sub="rejected")
    spool = a.spool()
    base = write_entry(spool, 1)
    log = as_client(a, hop, spool, "--client-auth", secrets, expect=1)
    hop.close()
    assert hop.messages == [] and hop.conns[0].auth_failed
    assert bad_reason(spool, base) == (
        "authentication failed: 535 5.7.8 authentication credentials "
        "invalid", "")
    assert "smtp client error: authentication failed: 535" in log
    assert "wrong-pass" not in log

    # XOAUTH2 refused after its error challenge
    hop = FakeNextHop(p, "plain", mechs=["XOAUTH2"], tokens={"ivy": "good"})
    b = relay_factory(sub="oauth")
    spool = b.spool()
    base = write_entry(spool, 2, "tok")
    as_client(b, hop, spool, "--client-auth", secrets, expect=1)
    hop.close()
    assert hop.conns[0].auth_failed == ("XOAUTH2", "ivy")
    assert bad_reason(spool, base)[0].startswith(
        "authentication failed: 535 ")

    # nothing usable on offer: a clear failure, nothing sent
    hop = FakeNextHop(p, "plain", mechs=["GSSAPI", "NTLM"])
    c = relay_factory(sub="nomech")
    spool = c.spool()
    base = write_entry(spool, 3)
    log = as_client(c, hop, spool, "--client-auth", secrets, expect=1)
    hop.close()
    assert not any(cmd.startswith(("AUTH", "MAIL"))
                   for _, cmd in hop.conns[0].cmds)
    assert bad_reason(spool, base) == (
        "cannot authenticate: no usable mechanism offered by the server",
        "")
    assert "smtp client error: cannot authenticate: no usable mechanism" \
        in log

    # a server without AUTH: on without it
    hop = FakeNextHop(p, "plain")
    d = relay_factory(sub="noauth")
    spool = d.spool()
    write_entry(spool, 4)
    as_client(d, hop, spool, "--client-auth", secrets)
    hop.close()
    delivered(hop, spool)
    assert hop.conns[0].auth is None


def test_starttls_injection(relay_factory, workdir):
    """Plaintext a next hop sends behind "220 go ahead" in the same write
    is discarded, not taken as the TLS-protected EHLO reply: the client
    waits for the real reply (which offers SIZE) before MAIL."""
    p = pki(workdir)
    hop = FakeNextHop(p, "starttls",
                      inject=b"250-evil.test\r\n250 8BITMIME\r\n")
    a = relay_factory()
    spool = a.spool()
    write_entry(spool, 1)
    log = as_client(a, hop, spool, "--client-tls")
    hop.close()
    delivered(hop, spool)
    c = hop.conns[0]
    assert c.tls and not c.early, c.cmds
    (mail,) = c.mail
    assert " SIZE=" in mail, mail
    assert "discarding %d octet(s) sent in the clear before the tls " \
        "handshake" % len(hop.inject) in log
