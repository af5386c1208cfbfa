"""SIGHUP reloads TLS certificates and keys (SPEC 11 and 15): the parent
opens the files again and hands them to smtp and mta, which are
chrooted and unprivileged by then; sessions already open go on, and a
broken file keeps the certificate that was loaded before."""
import hashlib
import os
import shutil
import signal
import smtplib
import ssl

from smtpclient import read, ready
from harness import free_port, wait_for
from tlsca import make_pki

MESSAGE = "From: a@example.com\r\nSubject: reload\r\n\r\nbody\r\n"


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def der_of(pem_path):
    with open(pem_path) as f:
        text = f.read()
    start = text.index("-----BEGIN CERTIFICATE-----")
    end = text.index("-----END CERTIFICATE-----") + 25
    return ssl.PEM_cert_to_DER_cert(text[start:end])


def served_cert(port):
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=10) as s:
        s.starttls(context=insecure())
        return hashlib.sha256(s.sock.getpeercert(True)).hexdigest()


def sha(der):
    return hashlib.sha256(der).hexdigest()


def replace(src, dst):
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o644)
    os.rename(tmp, dst)


def test_sighup_reloads_server_certificate(relay, workdir):
    a = make_pki(os.path.join(workdir, "pki-a"))
    b = make_pki(os.path.join(workdir, "pki-b"))
    cert = os.path.join(workdir, "server.pem")
    replace(a["server-keycert"], cert)
    port = free_port()
    relay.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                relay.spool(), "--server-tls", "--server-tls-certificate",
                cert, ready_ports=[port])
    assert served_cert(port) == sha(der_of(a["server"]))

    # A session under TLS from before the reload.
    old = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                       timeout=10)
    old.starttls(context=insecure())
    assert old.ehlo()[0] == 250

    replace(b["server-keycert"], cert)
    os.kill(relay.main_pid(), signal.SIGHUP)
    want = sha(der_of(b["server"]))
    wait_for(lambda: served_cert(port) == want, 15, "the new certificate")
    # The old session goes on with its own.
    assert old.noop()[0] == 250
    assert old.sendmail("a@example.com", ["b@example.com"], MESSAGE) == {}
    old.quit()

    # A broken file: the certificate loaded before stays.
    with open(cert, "w") as f:
        f.write("not a certificate\n")
    os.kill(relay.main_pid(), signal.SIGHUP)
    relay.wait_log(r"smtp server: tls: reload failed, keeping the files "
                   r"read before: .*server\.pem")
    assert served_cert(port) == want
    relay.stop()


def test_sighup_reloads_client_certificate(relay_factory, workdir):
    """mta's client certificate, seen by the next hop, which verifies it
    against both CAs and records it in the envelope."""
    a = make_pki(os.path.join(workdir, "pki-a"))
    b = make_pki(os.path.join(workdir, "pki-b"))
    cas = os.path.join(workdir, "cas.pem")
    with open(cas, "w") as out:
        for p in (a["ca"], b["ca"]):
            with open(p) as f:
                out.write(f.read())
    os.chmod(cas, 0o644)
    hop = relay_factory(sub="hop")
    hspool = hop.spool()
    hport = free_port()
    hop.start("--port", hport, "--interface", "127.0.0.1", "--spool-dir",
              hspool, "--server-tls", "--server-tls-certificate",
              a["server-keycert"], "--server-tls-verify", cas,
              ready_ports=[hport])

    key = os.path.join(workdir, "client.key")
    crt = os.path.join(workdir, "client.pem")
    replace(a["client.key"], key)
    replace(a["client"], crt)
    r = relay_factory(sub="r")
    spool = r.spool()
    port = free_port()
    r.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool, "--forward-on-disconnect", "--forward-to",
            "127.0.0.1:%d" % hport, "--client-tls",
            "--client-tls-certificate", key, "--client-tls-certificate",
            crt, ready_ports=[port])

    def send_and_cert(n):
        with smtplib.SMTP("127.0.0.1", port, local_hostname="c.test",
                          timeout=10) as s:
            assert s.sendmail("a@example.com", ["b@example.com"],
                              MESSAGE) == {}
        got = wait_for(lambda: len(ready(hspool)) == n and ready(hspool),
                       20, "message %d at the next hop" % n)
        envs = [read(os.path.join(hspool, x + ".envelope")) for x in got]
        return envs

    def body_line(pem):
        with open(pem) as f:
            return f.read().split("\n")[1].encode()

    (env,) = send_and_cert(1)
    assert body_line(a["client"]) in env
    # The idle connection to the next hop closes before the next one.
    hop.wait_log(r"smtp connection closed: smtp protocol done", timeout=15)

    replace(b["client.key"], key)
    replace(b["client"], crt)
    os.kill(r.main_pid(), signal.SIGHUP)
    r.wait_log(r"configuration reloaded")
    envs = send_and_cert(2)
    assert sum(body_line(b["client"]) in e for e in envs) == 1
    assert sum(body_line(a["client"]) in e for e in envs) == 1
    r.stop()
    hop.stop()
