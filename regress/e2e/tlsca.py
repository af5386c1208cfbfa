"""A throwaway PKI made with the openssl command line for the TLS tests.

make_pki(dir) writes, all world-readable (relays under test may run as an
unprivileged user):

  ca.pem                the test CA
  server.key server.pem a server certificate from the CA for "localhost"
                        and 127.0.0.1; server-keycert.pem has both
  client.key client.pem a client certificate from the CA ("client.test")
  other-ca.pem          a second CA that signed nothing we trust
  wrong.key wrong.pem   a "localhost" server certificate from other-ca
  self.key self.pem     a self-signed "localhost" certificate

and returns a dict of those paths by name without the extension (and
"server-keycert").  Key and certificate generation is cached per
directory.
"""

import os
import shutil
import subprocess

import pytest


def _openssl(*args, cwd):
    r = subprocess.run(("openssl",) + args, cwd=cwd, capture_output=True,
                       timeout=60)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (
            " ".join(args), r.stderr.decode(errors="replace")))


def _ca(name, cn, cwd):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
             "-subj", "/CN=" + cn, "-keyout", name + ".key",
             "-out", name + ".pem",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=cwd)


def _leaf(name, cn, ca, san, usage, cwd):
    _openssl("req", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + cn,
             "-keyout", name + ".key", "-out", name + ".csr", cwd=cwd)
    with open(os.path.join(cwd, name + ".ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        f.write("subjectAltName=%s\n" % san)
        f.write("extendedKeyUsage=%s\n" % usage)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
             "-CAkey", ca + ".key", "-CAcreateserial", "-days", "30",
             "-extfile", name + ".ext", "-out", name + ".pem", cwd=cwd)


def make_pki(path):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test "
                    "certificates")
    os.makedirs(path, exist_ok=True)
    names = ("ca", "server", "client", "other-ca", "wrong", "self")
    done = os.path.join(path, ".done")
    if not os.path.exists(done):
        _ca("ca", "emailrelay test CA", path)
        _ca("other-ca", "another test CA", path)
        _leaf("server", "localhost", "ca", "DNS:localhost,IP:127.0.0.1",
              "serverAuth", path)
        _leaf("client", "client.test", "ca", "DNS:client.test",
              "clientAuth", path)
        _leaf("wrong", "localhost", "other-ca",
              "DNS:localhost,IP:127.0.0.1", "serverAuth", path)
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                 "-subj", "/CN=localhost", "-keyout", "self.key",
                 "-out", "self.pem",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                 cwd=path)
        with open(os.path.join(path, "server-keycert.pem"), "w") as out:
            for part in ("server.key", "server.pem"):
                with open(os.path.join(path, part)) as f:
                    out.write(f.read())
        for f in os.listdir(path):
            os.chmod(os.path.join(path, f), 0o644)
        os.chmod(path, 0o755)
        open(done, "w").close()
    paths = {}
    for n in names:
        paths[n] = os.path.join(path, n + ".pem")
        if n not in ("ca", "other-ca"):
            paths[n + ".key"] = os.path.join(path, n + ".key")
    paths["server-keycert"] = os.path.join(path, "server-keycert.pem")
    return paths
