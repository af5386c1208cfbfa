"""DNSBL before the greeting (SPEC 4, 6.6) against dnsmasq on a loopback
port, with the client in a network namespace addressed from
198.18.0.0/15 so that it is not exempt as local: a listed client is
dropped without a reply, an unlisted one served, threshold 0 only logs,
and an unresponsive DNS server lets the client in after the timeout, or
keeps it out with a negative timeout.  Loopback clients are never
checked."""

import socket

from harness import free_port
from test_lookup_net import dnsmasq  # noqa: F401
from test_policy import connect_from, netns  # noqa: F401


def reversed_name(ip, zone):
    return ".".join(reversed(ip.split("."))) + "." + zone


def start(relay, hostaddr, dnsbl, remote_clients=True):
    port = free_port()
    relay.start("--port", port, "--interface", "127.0.0.1," + hostaddr,
                "--spool-dir", relay.spool(), "--dnsbl", dnsbl,
                *(["--remote-clients"] if remote_clients else []),
                ready_ports=[port])
    return port


def dropped(got):
    return got in ("b''", "b'<ConnectionResetError>'")


def test_listed_client_is_dropped(relay, netns, dnsmasq):
    ns, hostaddr, clientaddr = netns
    dns = dnsmasq("--local=/bl.test/", "--address=/%s/127.0.0.2"
                  % reversed_name(clientaddr, "bl.test"))
    port = start(relay, hostaddr, "bl.test,1,5000,127.0.0.1:%d" % dns.port)
    got = connect_from(ns, hostaddr, port)
    assert dropped(got), got
    relay.wait_log(r"dnsbl: client %s blocked by bl\.test"
                   % clientaddr.replace(".", r"\."))
    # Loopback is never checked, so the same relay serves it.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        assert s.recv(100).startswith(b"220 ")


def test_unlisted_client_is_served(relay, netns, dnsmasq):
    ns, hostaddr, clientaddr = netns
    dns = dnsmasq("--local=/bl.test/",
                  "--address=/%s/127.0.0.2" % reversed_name("192.0.2.1",
                                                            "bl.test"))
    port = start(relay, hostaddr, "bl.test,1,5000,127.0.0.1:%d" % dns.port)
    got = connect_from(ns, hostaddr, port)
    assert got.startswith("b'220 "), got
    assert "blocked" not in relay.log()
    # The question was asked.
    with open(dns.log) as f:
        assert reversed_name(clientaddr, "bl.test") in f.read()


def test_dnsbl_serves_remote_clients(relay, netns, dnsmasq):
    """--dnsbl without --remote-clients (SPEC 13's "in" relay): the
    block list decides, not the local-address policy."""
    ns, hostaddr, clientaddr = netns
    dns = dnsmasq("--local=/bl.test/")
    port = start(relay, hostaddr, "bl.test,1,5000,127.0.0.1:%d" % dns.port,
                 remote_clients=False)
    got = connect_from(ns, hostaddr, port)
    assert got.startswith("b'220 "), got
    assert "configured to reject" not in relay.log()
    with open(dns.log) as f:
        assert reversed_name(clientaddr, "bl.test") in f.read()


def test_threshold_zero_only_logs(relay, netns, dnsmasq):
    ns, hostaddr, clientaddr = netns
    dns = dnsmasq("--local=/bl.test/", "--address=/%s/127.0.0.2"
                  % reversed_name(clientaddr, "bl.test"))
    port = start(relay, hostaddr, "bl.test,0,5000,127.0.0.1:%d" % dns.port)
    got = connect_from(ns, hostaddr, port)
    assert got.startswith("b'220 "), got
    relay.wait_log(r"dnsbl: client %s listed by bl\.test"
                   % clientaddr.replace(".", r"\."))


def silent_dns():
    """A UDP socket that never answers: a DNS server that is down."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def test_dns_timeout_allows(relay, netns):
    ns, hostaddr, clientaddr = netns
    with silent_dns() as dns:
        port = start(relay, hostaddr, "bl.test,1,500,127.0.0.1:%d"
                     % dns.getsockname()[1])
        got = connect_from(ns, hostaddr, port)
    assert got.startswith("b'220 "), got


def test_dns_timeout_negative_refuses(relay, netns):
    ns, hostaddr, clientaddr = netns
    with silent_dns() as dns:
        port = start(relay, hostaddr, "bl.test,1,-500,127.0.0.1:%d"
                     % dns.getsockname()[1])
        got = connect_from(ns, hostaddr, port)
    assert dropped(got), got
    assert "smtp connection closed: client address blocked" in relay.log()
