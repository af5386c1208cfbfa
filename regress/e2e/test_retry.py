"""--poll-run (SPEC 6.4): once per poll cycle, before the spool is
scanned.  The built-in retry:<n> returns failed messages to ready and
counts the retries in the envelope: a 4xx after the data is retried n
times and then stays failed; a 5xx and "no remote recipients" are never
retried.  A --poll-run program runs each cycle with only PATH and IFS,
the spool directory as its argument, and the pass follows it."""

import os
import re

from smtpclient import expected_envelope, read
from harness import free_port, wait_for
from test_filter import outdir, script
from test_forward import FakeSmtp, write_spool_entry

CONTENT = b"Subject: retry\r\n\r\nbody\r\n"


def start(relay, spool, fake, *more):
    port = free_port()
    relay.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                spool, "--forward-to", fake.addr, "--poll", "1",
                *[str(m) for m in more], ready_ports=[port])


def polls(relay):
    return relay.log().count("forwarding: [poll]")


def wait_polls(relay, n):
    """Until n more poll cycles have passed, each with its pass done."""
    target = polls(relay) + n

    def done():
        log = relay.log()
        ends = log.count("forwarding: no messages to send") + \
            log.count("forwarding: no more messages to send")
        return polls(relay) >= target and \
            ends >= log.count("forwarding: [")
    wait_for(done, 20, "%d more poll cycles" % n)


def local_only_envelope():
    env = expected_envelope("a@example.com", [])
    return env.replace(b"X-MailRelay-ToCount: 0\r\n",
                       b"X-MailRelay-ToCount: 1\r\n"
                       b"X-MailRelay-To-Local: alice\r\n")


def test_retry_temporary_failure_n_times(relay):
    fake = FakeSmtp(data_reply="452 4.2.2 mailbox full")
    spool = relay.spool()
    base = "emailrelay.1.1700000000.1"
    write_spool_entry(spool, base, CONTENT,
                      expected_envelope("a@example.com", ["b@example.com"]))
    start(relay, spool, fake, "--poll-run", "retry:2")
    # The first attempt, then two retries.
    wait_for(lambda: fake.seen.count("DATA") >= 3, 20, "three attempts")
    wait_polls(relay, 3)
    assert fake.seen.count("DATA") == 3
    relay.stop()
    fake.close()
    bad = os.path.join(spool, base + ".envelope.bad")
    env = read(bad)
    pair = (b"X-MailRelay-Reason: 4.2.2 mailbox full\r\n"
            b"X-MailRelay-ReasonCode: 452\r\n")
    assert env.count(pair) == 3, env
    assert env.count(b"X-MailRelay-Retry: ") == 1
    assert b"X-MailRelay-Retry: 2\r\n" in env
    assert env.startswith(expected_envelope("a@example.com",
                                            ["b@example.com"]))
    log = relay.log()
    assert "retry: [%s]: back to ready (retry 1 of 2)" % base in log
    assert "retry: [%s]: back to ready (retry 2 of 2)" % base in log
    assert "retry 3 of" not in log


def test_retry_default_count_and_success(relay):
    """retry: without a count; a message that goes through on a retry
    is gone."""
    fake = FakeSmtp(data_reply="451 4.3.0 try again")
    spool = relay.spool()
    base = "emailrelay.1.1700000000.1"
    write_spool_entry(spool, base, CONTENT,
                      expected_envelope("a@example.com", ["b@example.com"]))
    start(relay, spool, fake, "--poll-run", "retry:")
    wait_for(lambda: fake.seen.count("DATA") >= 2, 20, "a retry")
    fake.data_reply = None
    wait_for(lambda: not os.listdir(spool), 20, "delivery on a retry")
    relay.stop()
    fake.close()
    assert [m[1] for m in fake.messages] == [["b@example.com"]]
    assert "(retry 1 of 5)" in relay.log()


def test_retry_never_permanent_or_no_remote(relay):
    fake = FakeSmtp(data_reply="554 5.7.1 rejected")
    spool = relay.spool()
    perm, local = "emailrelay.1.1700000000.1", "emailrelay.1.1700000000.2"
    write_spool_entry(spool, perm, CONTENT,
                      expected_envelope("a@example.com", ["b@example.com"]))
    write_spool_entry(spool, local, CONTENT, local_only_envelope())
    start(relay, spool, fake, "--poll-run", "retry:5")
    wait_for(lambda: os.path.exists(os.path.join(
        spool, perm + ".envelope.bad")) and os.path.exists(os.path.join(
            spool, local + ".envelope.bad")), 20, "both to fail")
    wait_polls(relay, 3)
    relay.stop()
    fake.close()
    assert fake.seen.count("DATA") == 1
    env = read(os.path.join(spool, perm + ".envelope.bad"))
    assert env.endswith(b"X-MailRelay-End: 1\r\n"
                        b"X-MailRelay-Reason: 5.7.1 rejected\r\n"
                        b"X-MailRelay-ReasonCode: 554\r\n"), env
    env = read(os.path.join(spool, local + ".envelope.bad"))
    assert env.endswith(b"X-MailRelay-End: 1\r\n"
                        b"X-MailRelay-Reason: no remote recipients\r\n"
                        b"X-MailRelay-ReasonCode: \r\n"), env
    assert "back to ready" not in relay.log()


def test_poll_run_program_each_cycle(relay, workdir):
    """The program runs once per cycle, before the pass: a message it
    puts into the spool goes out in the pass of the same cycle."""
    out = outdir(workdir)
    base = "emailrelay.1.1700000000.1"
    with open(os.path.join(out, "content"), "wb") as f:
        f.write(CONTENT)
    with open(os.path.join(out, "envelope"), "wb") as f:
        f.write(expected_envelope("a@example.com", ["b@example.com"]))
    for n in ("content", "envelope"):
        os.chmod(os.path.join(out, n), 0o644)
    prog = script(workdir, "pollrun.sh",
                  'echo "run $#" "$1" >> {out}/runs\n'
                  'env > {out}/env\n'
                  'if [ ! -e {out}/done ]; then\n'
                  '  touch {out}/done\n'
                  '  cp {out}/content "$1/{base}.content"\n'
                  '  cp {out}/envelope "$1/{base}.envelope"\n'
                  'fi\n'
                  'exit 3\n'.format(out=out, base=base))
    fake = FakeSmtp()
    spool = relay.spool()
    start(relay, spool, fake, "--poll-run", prog)
    wait_for(lambda: os.path.exists(os.path.join(out, "runs")) and
             len(read(os.path.join(out, "runs")).splitlines()) >= 3, 20,
             "three poll-runs")
    wait_for(lambda: fake.messages, 10, "the message it queued")
    relay.stop()
    fake.close()
    runs = read(os.path.join(out, "runs")).decode().splitlines()
    assert runs[0] == "run 1 %s" % spool
    env = read(os.path.join(out, "env")).decode().split("\n")
    keys = sorted(ln.split("=", 1)[0] for ln in env if "=" in ln)
    assert [k for k in keys if k != "PWD"] == ["IFS", "PATH"], env
    assert [m[1] for m in fake.messages] == [["b@example.com"]]
    assert os.listdir(spool) == []
    # Program, then the pass that forwarded what it queued, then the
    # next cycle's program.
    log = relay.log()
    first = log.index("poll-run: running %s" % prog)
    sent = log.index("forwarding [%s]" % base)
    second = log.index("poll-run: running %s" % prog, first + 1)
    assert first < sent < second, log
    assert re.search(r"warning: poll-run: .*pollrun\.sh: exit 3", log)


def test_as_client_polls_and_retries(relay):
    """SPEC 13: --as-client with --poll and --poll-run retry: keeps
    polling instead of leaving after its first pass."""
    fake = FakeSmtp(data_reply="452 4.2.2 mailbox full")
    spool = relay.spool()
    base = "emailrelay.1.1700000000.1"
    write_spool_entry(spool, base, CONTENT,
                      expected_envelope("a@example.com", ["b@example.com"]))
    relay.start("--as-client", fake.addr, "--spool-dir", spool, "--poll",
                "1", "--poll-run", "retry:1", wait=False)
    wait_for(lambda: fake.seen.count("DATA") >= 2, 20, "the retry")
    wait_polls(relay, 1)
    assert relay.proc.poll() is None, relay.log()
    relay.stop()
    fake.close()
    assert fake.seen.count("DATA") == 2
    env = read(os.path.join(spool, base + ".envelope.bad"))
    assert b"X-MailRelay-Retry: 1\r\n" in env


def test_retry_only_instance(relay):
    """An instance that polls for retry: alone (SPEC 2.3: no
    --forward-to, no listeners): failed messages go back to ready for
    whoever forwards from that spool."""
    spool = relay.spool()
    temp, perm = "emailrelay.1.1700000000.1", "emailrelay.1.1700000000.2"
    for base, reason in ((temp, b"4.4.1 timed out\r\n"
                          b"X-MailRelay-ReasonCode: 421\r\n"),
                         (perm, b"5.1.1 no such user\r\n"
                          b"X-MailRelay-ReasonCode: 550\r\n")):
        write_spool_entry(spool, base, CONTENT, expected_envelope(
            "a@example.com", ["b@example.com"]) +
            b"X-MailRelay-Reason: " + reason)
        os.rename(os.path.join(spool, base + ".envelope"),
                  os.path.join(spool, base + ".envelope.bad"))
    relay.start("--spool-dir", spool, "--dont-serve", "--poll", "1",
                "--poll-run", "retry:")
    wait_for(lambda: os.path.exists(os.path.join(spool, temp +
                                                 ".envelope")),
             20, "the retry")
    relay.stop()
    env = read(os.path.join(spool, temp + ".envelope"))
    assert env.endswith(b"X-MailRelay-ReasonCode: 421\r\n"
                        b"X-MailRelay-Retry: 1\r\n"), env
    assert os.path.exists(os.path.join(spool, perm + ".envelope.bad"))
    assert "forwarding" not in relay.log()
