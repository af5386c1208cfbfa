"""Host names in --forward-to, --as-client and ForwardToAddress (SPEC 5),
resolved by the lookup process with the system's resolver configuration
against a real DNS server (dnsmasq), and split: with mx: routing the
parts of one submitted message to two exchangers."""
import os
import random
import shutil
import subprocess

import pytest

from smtpclient import read, ready
from harness import IS_ROOT, free_port, wait_for
from test_forward import (a_args, check_arrived, spool_files, start_b,
                          store_one, submit, write_spool_entry)
from test_lookup_net import dnsmasq, envelope, message, sink  # noqa: F401


def resolv_wrap(workdir, dns):
    """A command prefix that runs the relay in its own mount namespace
    with /etc/resolv.conf naming only dns (which must listen on port
    53: resolv.conf has no port)."""
    if not IS_ROOT:
        pytest.skip("needs root for a mount namespace")
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed (apt: util-linux)")
    conf = os.path.join(workdir, "resolv.conf")
    with open(conf, "w") as f:
        f.write("nameserver %s\noptions timeout:1 attempts:2\n"
                % dns.address)
    os.chmod(conf, 0o644)
    probe = subprocess.run(["unshare", "-m", "true"],
                           stderr=subprocess.PIPE)
    if probe.returncode != 0:
        pytest.skip("unshare -m: %s" % probe.stderr.decode().strip())
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/resolv.conf && exec "$@"', conf]


def port53_dnsmasq(dnsmasq, *records):
    """dnsmasq on port 53 of a random 127/8 address (root only)."""
    if not IS_ROOT:
        pytest.skip("needs root for DNS on port 53")
    addr = "127.%d.%d.%d" % (random.randint(100, 250),
                             random.randint(0, 255), random.randint(2, 250))
    return dnsmasq("--local=/test/", *records, address=addr, port=53)


def test_forward_to_localhost(relay_factory):
    """"localhost" is the loopback host without DNS (RFC 6761)."""
    b, bport, bspool = start_b(relay_factory)
    a = relay_factory()
    aspool = a.spool()
    base, content_a = store_one(a, aspool)
    a.start("--as-client", "localhost:%d" % bport, "--spool-dir", aspool,
            "--domain", "relay-a.test", wait=False)
    assert a.proc.wait(20) == 0, a.log()
    assert spool_files(aspool) == []
    (base_b,) = ready(bspool)
    check_arrived(bspool, base_b, content_a)
    a.stop()
    b.stop()


def test_forward_to_host_name(relay_factory, dnsmasq, workdir):
    """--forward-to smarthost.test:PORT: the A record from dnsmasq is
    where the message goes; the query shows in dnsmasq's log."""
    b, bport, bspool = start_b(relay_factory)
    dns = port53_dnsmasq(dnsmasq, "--host-record=smarthost.test,127.0.0.1")
    a = relay_factory(user=None)
    aspool = a.spool()
    port = free_port()
    a.start(*a_args(a, port, aspool, "--forward-to",
                    "smarthost.test:%d" % bport, "--forward-on-disconnect"),
            ready_ports=[port], wrap=resolv_wrap(workdir, dns))
    submit(port)
    wait_for(lambda: spool_files(aspool) == [] and len(ready(bspool)) == 1,
             20, "the message to reach the smarthost")
    assert "forwarding to smarthost.test:%d" % bport in a.log()
    with open(dns.log) as f:
        assert "smarthost.test" in f.read()
    a.stop()
    b.stop()


def test_unknown_host_name_keeps_the_message(relay_factory, dnsmasq,
                                             workdir):
    """A name that does not resolve is a connection failure: the message
    stays ready (no .bad) and the reason is logged."""
    dns = port53_dnsmasq(dnsmasq)
    a = relay_factory(user=None)
    aspool = a.spool()
    base, _ = store_one(a, aspool)
    a.start("--as-client", "nosuch.test:25", "--spool-dir", aspool,
            wait=False, wrap=resolv_wrap(workdir, dns))
    assert a.proc.wait(30) == 1, a.log()
    a.stop(expect=1)
    assert ready(aspool) == [base]
    assert "cannot connect to nosuch.test:25: cannot resolve host name: " \
        "no such domain" in a.log()


def test_forward_to_address_host_name(relay_factory, dnsmasq, workdir):
    """A ForwardToAddress holding a host name is resolved like
    --forward-to, and wins over it."""
    dns = port53_dnsmasq(dnsmasq, "--host-record=mx.dest.test,127.0.0.2")
    sport = free_port()
    dest = sink(relay_factory, "dest", "127.0.0.2", sport)
    fallback = sink(relay_factory, "fallback", "127.0.0.1", free_port())
    a = relay_factory(sub="a", user=None)
    spool = a.spool()
    write_spool_entry(spool, "emailrelay.1.1700000000.1",
                      message("routed by name").encode(),
                      envelope("bob@dest.test", "dest.test",
                               "mx.dest.test:%d" % sport))
    port = free_port()
    a.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool, "--forward-to", "127.0.0.1:%d" % free_port(),
            "--poll", "1", ready_ports=[port],
            wrap=resolv_wrap(workdir, dns))
    wait_for(lambda: spool_files(spool) == [], 30, "the message to leave")
    (base,) = wait_for(lambda: ready(dest), 10, "mail at mx.dest.test")
    assert b"routed by name" in read(os.path.join(dest, base + ".content"))
    assert ready(fallback) == []
    a.stop()


def test_split_then_mx_two_domains(relay_factory, dnsmasq):
    """One message submitted over SMTP to recipients in two domains:
    split: makes a part per domain, mx: routes each part to port 25 of
    the exchanger dnsmasq names for it, and each exchanger gets only its
    own recipients."""
    if not IS_ROOT:
        pytest.skip("needs root: the exchangers listen on port 25")
    net = "127.%d.%d." % (random.randint(100, 250), random.randint(0, 255))
    ip1, ip2 = net + "2", net + "3"
    dns = dnsmasq("--local=/one.test/", "--local=/two.test/",
                  "--mx-host=one.test,mx.one.test,10",
                  "--host-record=mx.one.test,%s" % ip1,
                  "--mx-host=two.test,mx.two.test,10",
                  "--host-record=mx.two.test,%s" % ip2)
    one = sink(relay_factory, "one", ip1, 25, user=None)
    two = sink(relay_factory, "two", ip2, 25, user=None)
    a = relay_factory(sub="a")
    spool = a.spool()
    port = free_port()
    a.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool, "--domain", "relay-a.test", "--filter", "split:",
            "--client-filter", "mx:127.0.0.1:%d" % dns.port,
            "--forward-to", "127.0.0.1:%d" % free_port(),
            "--forward-on-disconnect", ready_ports=[port])
    submit(port, to=("a@one.test", "b@two.test", "c@ONE.test"),
           msg=message("split and routed"))
    wait_for(lambda: spool_files(spool) == [], 30, "both parts to leave")
    got = {}
    for name, sp in (("one", one), ("two", two)):
        (base,) = wait_for(lambda: ready(sp), 10, "mail in " + name)
        env = read(os.path.join(sp, base + ".envelope"))
        got[name] = sorted(line.split(b": ", 1)[1] for line in
                           env.split(b"\r\n")
                           if line.startswith(b"X-MailRelay-To-"))
        assert b"split and routed" in read(os.path.join(sp, base +
                                                        ".content"))
    assert got == {"one": [b"a@one.test", b"c@ONE.test"],
                   "two": [b"b@two.test"]}
    a.stop()
