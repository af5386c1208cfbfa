"""SMTP test helpers shared by the end-to-end tests: a raw socket client
that reads whole replies, and the envelope text SPEC 3 expects."""

import os
import socket


def ready(spool):
    """Base names of the ready messages in spool."""
    return sorted(n[:-len(".envelope")] for n in os.listdir(spool)
                  if n.endswith(".envelope"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def expected_envelope(frm, to, content="unknown", utf8=0,
                      client="127.0.0.1"):
    """The #2821.8 envelope of a message from an unauthenticated client
    with remote recipients to."""
    lines = ["X-MailRelay-Format: #2821.8",
             "X-MailRelay-Content: " + content,
             "X-MailRelay-From: " + frm,
             "X-MailRelay-ToCount: %d" % len(to)]
    lines += ["X-MailRelay-To-Remote: " + t for t in to]
    lines += ["X-MailRelay-Authentication: ",
              "X-MailRelay-Client: " + client,
              "X-MailRelay-ClientCertificate: ",
              "X-MailRelay-MailFromAuthIn: ",
              "X-MailRelay-MailFromAuthOut: ",
              "X-MailRelay-ForwardTo: ",
              "X-MailRelay-ForwardToAddress: ",
              "X-MailRelay-ClientAccountSelector: ",
              "X-MailRelay-Utf8MailboxNames: %d" % utf8,
              "X-MailRelay-End: 1"]
    return ("\r\n".join(lines) + "\r\n").encode()


class Raw:
    """A plain socket client that reads whole (multi-line) replies."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.port = self.sock.getsockname()[1]
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("closed with %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        lines = [self.line()]
        while len(lines[-1]) >= 4 and lines[-1][3] == "-":
            lines.append(self.line())
        return lines

    def pending(self, wait=0.3):
        """Whatever arrives within wait seconds (no reply expected)."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                self.buf += chunk
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(10)
        data, self.buf = self.buf, b""
        return data

    def closed(self):
        """True once the server has closed (after any unread replies)."""
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()
