"""Connection policy (SPEC 2.4, 4): remote peers are dropped without a reply
unless --remote-clients.  A remote peer is a network namespace joined by a
veth pair addressed from 198.18.0.0/15 (root only)."""

import shutil
import subprocess
import uuid

import pytest

from harness import IS_ROOT, free_port

CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
data = b""
try:
    while not data.endswith(b"\n"):
        chunk = s.recv(1000)
        if not chunk:
            break
        data += chunk
except OSError as e:
    data += b"<%s>" % type(e).__name__.encode()
sys.stdout.write(repr(data))
"""


@pytest.fixture
def netns():
    """A namespace whose client address is 198.18.x.2, the host side .1."""
    if not IS_ROOT:
        pytest.skip("needs root to create a network namespace")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is not installed")
    tag = uuid.uuid4().hex[:6]
    ns, host, peer = "ert" + tag, "erh" + tag, "erc" + tag
    net = "198.18.%d" % (int(tag[:2], 16) % 250 + 1)

    def ip(*args, check=True):
        return subprocess.run(["ip"] + list(args), check=check,
                              capture_output=True, text=True, timeout=20)
    try:
        ip("netns", "add", ns)
    except subprocess.CalledProcessError as e:
        pytest.skip("cannot create a network namespace: %s" % e.stderr)
    try:
        ip("link", "add", host, "type", "veth", "peer", "name", peer)
        ip("link", "set", peer, "netns", ns)
        ip("addr", "add", net + ".1/24", "dev", host)
        ip("link", "set", host, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", net + ".2/24", "dev",
           peer)
        ip("netns", "exec", ns, "ip", "link", "set", peer, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns, net + ".1", net + ".2"
    finally:
        ip("netns", "del", ns, check=False)
        ip("link", "del", host, check=False)


def connect_from(ns, addr, port):
    r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                        CLIENT, addr, str(port)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("remote_ok", [False, True])
def test_remote_client_policy(relay, netns, remote_ok):
    ns, hostaddr, clientaddr = netns
    port = free_port()
    args = ["--port", port, "--interface", "127.0.0.1," + hostaddr,
            "--spool-dir", relay.spool()]
    if remote_ok:
        args.append("--remote-clients")
    relay.start(*args, ready_ports=[port])
    got = connect_from(ns, hostaddr, port)
    if remote_ok:
        assert got.startswith("b'220 "), got
        relay.wait_log(r"smtp connection from %s:\d+" % clientaddr)
    else:
        assert got in ("b''", "b'<ConnectionResetError>'"), got
        relay.wait_log(r"configured to reject non-local smtp connection: %s"
                       % clientaddr.replace(".", r"\."))
        assert "smtp connection from %s" % clientaddr not in relay.log()
    relay.stop()
