"""--filter (SPEC 4, 6.1, 6.2, 14): shell-script filters run by the
lookup process on each message after DATA and before the reply.  A
filter may edit the envelope, reject with its own text and code, take
the message away (exit 100), time out, and sees only PATH and IFS in its
environment and only descriptors 0, 1 and 2; two filters run in order."""

import os
import smtplib
import time

from smtpclient import read, ready
from harness import free_port, wait_for

MESSAGE = "From: a@example.com\r\nSubject: filtered\r\n\r\nbody\r\n"


def script(workdir, name, body):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def outdir(workdir):
    """A directory every filter user may write to."""
    d = os.path.join(workdir, "out")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    return d


def start(relay, *filters, more=()):
    port = free_port()
    spool = relay.spool()
    args = ["--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool]
    for f in filters:
        args += ["--filter", f]
    relay.start(*(args + list(more)), ready_ports=[port])
    return port, spool


def send(port, to=("b@example.com",)):
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=30) as s:
        s.ehlo()
        s.mail("a@example.com")
        for r in to:
            s.rcpt(r)
        return s.data(MESSAGE)


def names(spool):
    return sorted(n for n in os.listdir(spool) if n.startswith("emailrelay."))


def test_filter_edits_envelope(relay, workdir):
    f = script(workdir, "edit.sh",
               'sed -i "s/^X-MailRelay-To-Remote: b@example.com/'
               'X-MailRelay-To-Remote: c@example.com/" "$2"\n'
               'echo "X-Filtered: yes" >> "$1"\nexit 0\n')
    port, spool = start(relay, f)
    assert send(port) == (250, b"message processed")
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-To-Remote: c@example.com\r\n" in env
    assert b"b@example.com" not in env
    assert read(os.path.join(spool, base + ".content")).endswith(
        b"X-Filtered: yes\n")
    relay.stop()
    log = relay.log()
    assert "filter [%s]: [%s]: running %s" % (f, base, f) in log, log
    for word in ("error", "warning"):
        assert word not in log, log


def test_filter_rejects_with_its_code(relay, workdir):
    f = script(workdir, "reject.sh",
               'echo "<<550 no thanks>>"\necho "[[spam score 99]]"\nexit 1\n')
    port, spool = start(relay, f)
    assert send(port) == (550, b"no thanks")
    assert names(spool) == []
    relay.stop()
    assert "rejected by filter: [spam score 99]" in relay.log()


def test_filter_text_without_code_is_452(relay, workdir):
    f = script(workdir, "foobar.sh", 'echo "<<foo bar>>"\nexit 1\n')
    port, spool = start(relay, f)
    assert send(port) == (452, b"foo bar")
    assert names(spool) == []
    relay.stop()
    assert "rejected by filter: [foo bar]" in relay.log()


def test_filter_exit_2_without_text_is_rejected(relay, workdir):
    f = script(workdir, "two.sh", "exit 2\n")
    port, spool = start(relay, f)
    assert send(port) == (452, b"rejected")
    assert names(spool) == []


def test_filter_abandon_after_deleting(relay, workdir):
    """Exit 100 after removing both files: 250, and nothing remains."""
    f = script(workdir, "take.sh", 'rm -f "$1" "$2"\nexit 100\n')
    port, spool = start(relay, f)
    assert send(port) == (250, b"message processed")
    assert names(spool) == []


def test_filter_abandon_leaving_files(relay, workdir):
    """Exit 100 with the files in place: committed as a ready message,
    and the rest of the chain does not run."""
    out = outdir(workdir)
    second = script(workdir, "second.sh", 'touch %s/second\nexit 0\n' % out)
    f = script(workdir, "keep.sh", "exit 100\n")
    port, spool = start(relay, f, second)
    assert send(port) == (250, b"message processed")
    assert len(ready(spool)) == 1
    relay.stop()
    assert not os.path.exists(os.path.join(out, "second"))


def test_filter_timeout(relay, workdir):
    """A filter that sleeps past --filter-timeout is killed with its
    process group: the client gets 452 error, nothing is kept."""
    out = outdir(workdir)
    f = script(workdir, "sleep.sh",
               'echo $$ > %s/pid\nsleep 30 &\necho $! > %s/child\n'
               'wait\nexit 0\n' % (out, out))
    port, spool = start(relay, f, more=["--filter-timeout", "1"])
    t0 = time.monotonic()
    assert send(port) == (452, b"error")
    assert time.monotonic() - t0 < 15
    assert names(spool) == []
    for name in ("pid", "child"):
        pid = int(read(os.path.join(out, name)))
        wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                 "Z" in read("/proc/%d/stat" % pid).split()[2].decode(),
                 5, "the filter process %s to go" % name)
    relay.stop()
    assert "rejected by filter: [timeout]" in relay.log()


def test_filter_environment_and_descriptors(relay, workdir):
    out = outdir(workdir)
    f = script(workdir, "env.sh",
               "env > %s/env\numask > %s/umask\n"
               "exec ls /proc/self/fd > %s/fds\n" % (out, out, out))
    port, spool = start(relay, f)
    assert send(port)[0] == 250
    env = read(os.path.join(out, "env")).decode().split("\n")
    keys = sorted(ln.split("=", 1)[0] for ln in env if "=" in ln)
    # The shell adds PWD itself; nothing else may come from us.
    assert [k for k in keys if k != "PWD"] == ["IFS", "PATH"], env
    assert "PATH=/usr/bin:/bin" in env
    # What the filter inherited, plus the directory ls itself opened.
    fds = sorted(int(x) for x in read(os.path.join(out, "fds")).split())
    assert fds == [0, 1, 2, 3], fds
    assert read(os.path.join(out, "umask")).strip() == b"0077"


def test_filter_arguments_with_spaces_and_quotes(relay_factory, workdir):
    """The spool directory path holds spaces and quotes: the filter gets
    each path as one argument, nothing is interpreted."""
    out = outdir(workdir)
    f = script(workdir, "args.sh",
               'printf "%%s\\n" "$#" "$1" "$2" > %s/args\n'
               'test -f "$1" && test -f "$2" && exit 0\nexit 1\n' % out)
    relay = relay_factory()
    port = free_port()
    spool = relay.spool("sp ool 'a\" $(touch x)")
    relay.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                spool, "--filter", f, ready_ports=[port])
    assert send(port)[0] == 250
    (base,) = ready(spool)
    args = read(os.path.join(out, "args")).decode().split("\n")
    assert args[0] == "2"
    assert args[1] == os.path.join(spool, base + ".content")
    assert args[2] == os.path.join(spool, base + ".envelope.new")
    assert not os.path.exists(os.path.join(workdir, "x"))


def test_filter_chain_runs_in_order(relay, workdir):
    out = outdir(workdir)
    one = script(workdir, "one.sh", 'echo one >> %s/order\nexit 0\n' % out)
    two = script(workdir, "two.sh", 'echo two >> %s/order\nexit 0\n' % out)
    port, spool = start(relay, one, "exit:0", two)
    assert send(port)[0] == 250
    assert send(port)[0] == 250
    assert read(os.path.join(out, "order")) == b"one\ntwo\none\ntwo\n"
    assert len(ready(spool)) == 2


def test_exit_builtin(relay):
    port, spool = start(relay, "exit:1")
    assert send(port) == (452, b"rejected")
    assert names(spool) == []


def test_rescan_exit_starts_a_pass(relay_factory, workdir):
    """Exit 103 (pass + rescan) with forwarding configured starts a
    forwarding pass at once: the message reaches B without a poll."""
    b = relay_factory(sub="b")
    bport = free_port()
    bspool = b.spool()
    b.start("--port", bport, "--interface", "127.0.0.1", "--spool-dir",
            bspool, ready_ports=[bport])
    a = relay_factory()
    f = script(workdir, "rescan.sh", "exit 103\n")
    port, spool = start(a, f, more=["--forward-to", "127.0.0.1:%d" % bport])
    assert send(port)[0] == 250
    wait_for(lambda: names(spool) == [] and len(ready(bspool)) == 1, 15,
             "the rescan pass")
    a.stop()
    assert "forwarding: [rescan]" in a.log()


def test_missing_program_fails(relay, workdir):
    port, spool = start(relay, os.path.join(workdir, "does-not-exist"))
    code, _ = send(port)
    assert code == 452
    assert names(spool) == []


def test_bad_builtin_value_refused_at_start(relay_factory):
    from harness import run
    r = run("--client-filter", "mx:nst=0", "--port", str(free_port()))
    assert r.returncode == 1
    assert "--client-filter" in r.stderr and "nst=" in r.stderr


# --client-filter (SPEC 5, 6.2 client column)

def client_run(relay, spool, fake, *more, expect=0):
    relay.start("--as-client", fake.addr, "--spool-dir", spool,
                *[str(m) for m in more], wait=False)
    assert relay.proc.wait(30) == expect, relay.log()
    relay.stop(expect=expect)


def store(spool, n=1):
    from smtpclient import expected_envelope
    from test_forward import write_spool_entry
    bases = []
    for i in range(n):
        base = "emailrelay.1.%d.%d" % (1700000000 + i, i + 1)
        write_spool_entry(spool, base, b"Subject: %d\r\n\r\nbody\r\n" % i,
                          expected_envelope("a@example.com",
                                            ["r%d@example.com" % i]))
        bases.append(base)
    return bases


def test_client_filter_failure_makes_bad(relay, workdir):
    from test_forward import FakeSmtp
    out = outdir(workdir)
    f = script(workdir, "cf.sh",
               'echo "$2" > %s/arg\necho "<<no route>>"\n'
               'echo "<<routing failed for r0>>"\nexit 1\n' % out)
    fake = FakeSmtp()
    spool = relay.spool()
    (base,) = store(spool)
    client_run(relay, spool, fake, "--client-filter", f)
    fake.close()
    assert fake.connections == 0 and fake.messages == []
    env = read(os.path.join(spool, base + ".envelope.bad"))
    assert env.endswith(b"X-MailRelay-Reason: routing failed for r0\r\n"
                        b"X-MailRelay-ReasonCode: 550\r\n"), env
    assert read(os.path.join(out, "arg")).decode().strip() == \
        os.path.join(spool, base + ".envelope.busy")


def test_client_filter_abandon_after_deleting(relay, workdir):
    from test_forward import FakeSmtp
    f = script(workdir, "gone.sh", 'rm -f "$1" "$2"\nexit 100\n')
    fake = FakeSmtp()
    spool = relay.spool()
    store(spool)
    client_run(relay, spool, fake, "--client-filter", f)
    fake.close()
    assert names(spool) == [] and fake.messages == []
    assert "warning" not in relay.log()


def test_client_filter_sets_forward_to_address(relay, workdir):
    from test_forward import FakeSmtp
    main, other = FakeSmtp(), FakeSmtp()
    f = script(workdir, "route.sh",
               'sed -i "s|^X-MailRelay-ForwardToAddress: .*|'
               'X-MailRelay-ForwardToAddress: %s\\r|" "$2"\nexit 0\n'
               % other.addr)
    spool = relay.spool()
    store(spool)
    client_run(relay, spool, main, "--client-filter", f)
    main.close()
    other.close()
    assert names(spool) == []
    assert main.messages == []
    assert [m[1] for m in other.messages] == [["r0@example.com"]]


def test_client_filter_102_one_message_per_pass(relay):
    """exit:102: each message passes, and the pass ends after it (the
    rate-limiting recipe of SPEC 13)."""
    from test_forward import FakeSmtp
    fake = FakeSmtp()
    spool = relay.spool()
    bases = store(spool, 3)
    client_run(relay, spool, fake, "--client-filter", "exit:102")
    fake.close()
    assert [m[1] for m in fake.messages] == [["r0@example.com"]]
    assert sorted(ready(spool)) == bases[1:]
