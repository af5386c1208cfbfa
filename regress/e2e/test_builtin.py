"""The file-only built-in filters (SPEC 6.3) in the filter chains:
copy: into the spool's sub-directories (maildirs get the content in new/,
postmaster and dot-names are skipped, the original goes unless nodelete;
copy:pop leaves the content in the spool for the mailboxes' envelopes,
and recovery keeps it), deliver: into --delivery-dir mailboxes named by
the verifier (a name with "../" or "/" is refused), split: and split:raw
(one message per domain with ForwardTo and the SplitGroup lines, content
hard-linked; every part is forwarded, on the server and the client side),
msgid:, and a chain that mixes programs and built-ins in order."""

import os
import re
import smtplib
import time

from smtpclient import expected_envelope, read, ready
from harness import free_port, wait_for
from test_filter import outdir, script

MESSAGE = "From: a@example.com\r\nSubject: built-in\r\n\r\nbody\r\n"

VERIFIER = """
case "$1" in
alice@*) echo "Alice"; echo "alice"; exit 0 ;;
bob@*) echo "Bob"; echo "bob"; exit 0 ;;
carol@*) echo "Carol"; echo "carol"; exit 0 ;;
evil@*) echo "Evil"; echo "../evil"; exit 0 ;;
slash@*) echo "Slash"; echo "a/b"; exit 0 ;;
*) echo "Remote"; echo "$1"; exit 1 ;;
esac
"""


def start(relay, *filters, more=(), client_filters=()):
    port = free_port()
    spool = relay.spool()
    args = ["--port", port, "--interface", "127.0.0.1", "--spool-dir",
            spool, "--domain", "relay.test"]
    for f in filters:
        args += ["--filter", f]
    for f in client_filters:
        args += ["--client-filter", f]
    relay.start(*(args + [str(m) for m in more]), ready_ports=[port])
    return port, spool


def send(port, to=("b@example.com",), msg=MESSAGE):
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                      timeout=30) as s:
        s.ehlo()
        s.mail("a@example.com")
        for r in to:
            code, text = s.rcpt(r)
            assert code == 250, (r, code, text)
        return s.data(msg)


def names(d):
    return sorted(n for n in os.listdir(d) if n.startswith("emailrelay."))


def mailbox(relay, name, maildir=False):
    """A sub-directory of the spool the relay's user may write to."""
    path = relay.spool(os.path.join("spool", name))
    if maildir:
        for sub in ("new", "tmp", "cur"):
            relay.spool(os.path.join("spool", name, sub))
    return path


def header_block(content):
    return content.split(b"\r\n\r\n", 1)[0]


# copy:

def test_copy_into_subdirectories(relay):
    alice = mailbox(relay, "alice")
    bob = mailbox(relay, "bob")
    carol = mailbox(relay, "carol", maildir=True)
    postmaster = mailbox(relay, "postmaster")
    hidden = mailbox(relay, ".hidden")
    port, spool = start(relay, "copy:")
    assert send(port) == (250, b"message processed")
    # The original is gone: the copies are the message now.
    assert names(spool) == []
    (base,) = ready(alice)
    assert ready(bob) == [base]
    for d in (alice, bob):
        assert names(d) == [base + ".content", base + ".envelope"]
        assert read(os.path.join(d, base + ".envelope")) == \
            expected_envelope("a@example.com", ["b@example.com"])
        content = read(os.path.join(d, base + ".content"))
        assert content.endswith(MESSAGE.encode())
        assert content.startswith(b"Received: ")
    (new,) = os.listdir(os.path.join(carol, "new"))
    assert re.match(r"\d+\.\d+\.[^.]+.*\.\d+$", new), new
    assert read(os.path.join(carol, "new", new)) == \
        read(os.path.join(alice, base + ".content"))
    assert os.listdir(os.path.join(carol, "tmp")) == []
    assert os.listdir(postmaster) == [] and os.listdir(hidden) == []
    relay.stop()
    assert "warning" not in relay.log()


def test_copy_nodelete_keeps_the_original(relay):
    alice = mailbox(relay, "alice")
    port, spool = start(relay, "copy:nodelete")
    assert send(port)[0] == 250
    (base,) = ready(spool)
    assert ready(alice) == [base]
    assert read(os.path.join(spool, base + ".content")) == \
        read(os.path.join(alice, base + ".content"))


def test_copy_without_subdirectories_keeps_the_message(relay):
    """Nowhere to copy to: deleting would lose the message."""
    port, spool = start(relay, "copy:")
    assert send(port)[0] == 250
    assert len(ready(spool)) == 1


def test_copy_pop_leaves_content_for_the_mailboxes(relay):
    """copy:pop: envelopes only in the mailboxes; the content stays in
    the spool (POP serves it from there, SPEC 8) and recovery does not
    take it for an orphan, while a real orphan goes."""
    alice = mailbox(relay, "alice")
    bob = mailbox(relay, "bob")
    port, spool = start(relay, "copy:pop")
    assert send(port)[0] == 250
    (base,) = ready(alice)
    assert names(alice) == [base + ".envelope"]
    assert names(bob) == [base + ".envelope"]
    assert names(spool) == [base + ".content"]
    relay.stop()

    # Two minutes old: recovery at the next start would remove either.
    orphan = "emailrelay.1.1700000000.7.content"
    with open(os.path.join(spool, orphan), "wb") as f:
        f.write(b"Subject: orphan\r\n\r\n")
    st = os.stat(spool)
    os.chown(os.path.join(spool, orphan), st.st_uid, st.st_gid)
    os.chmod(os.path.join(spool, orphan), 0o660)
    old = time.time() - 120
    for n in (base + ".content", orphan):
        os.utime(os.path.join(spool, n), (old, old))
    before = len(relay.log())
    relay.start("--port", port, "--interface", "127.0.0.1", "--spool-dir",
                spool, ready_ports=[port])
    relay.wait_log(r"removed an orphan content file \[%s\]" %
                   re.escape(orphan))
    relay.stop()
    assert names(spool) == [base + ".content"]
    assert base not in relay.log()[before:]


# deliver:

def start_deliver(relay, workdir, *filters, more=()):
    v = script(workdir, "verify.sh", VERIFIER)
    deliv = relay.spool("mail")
    port, spool = start(relay, *filters, more=["--address-verifier", v,
                                               "--delivery-dir", deliv] +
                        list(more))
    return port, spool, deliv


def test_deliver_to_local_mailboxes(relay, workdir):
    port, spool, deliv = start_deliver(relay, workdir, "deliver:")
    os.makedirs(os.path.join(deliv, "carol"))
    for sub in ("new", "tmp", "cur"):
        relay.spool(os.path.join("mail", "carol", sub))
    assert send(port, to=("alice@relay.test", "bob@relay.test",
                          "carol@relay.test"))[0] == 250
    # Only local recipients: the original is gone once delivered.
    assert names(spool) == []
    for box in ("alice", "bob"):
        (base,) = ready(os.path.join(deliv, box))
        env = read(os.path.join(deliv, box, base + ".envelope"))
        assert b"X-MailRelay-ToCount: 1\r\n" in env
        assert (b"X-MailRelay-To-Local: %s\r\n" % box.encode()) in env
        assert env.count(b"To-Local") == 1
        assert read(os.path.join(deliv, box, base + ".content")).endswith(
            MESSAGE.encode())
    (new,) = os.listdir(os.path.join(deliv, "carol", "new"))
    assert read(os.path.join(deliv, "carol", "new", new)).endswith(
        MESSAGE.encode())
    # Local and remote: delivered, and the rest goes on to forwarding.
    assert send(port, to=("alice@relay.test", "x@example.com"))[0] == 250
    (base,) = ready(spool)
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"To-Local" not in env
    assert b"X-MailRelay-To-Remote: x@example.com\r\n" in env
    assert base in ready(os.path.join(deliv, "alice"))
    relay.stop()
    assert "warning" not in relay.log()


def test_deliver_refuses_bad_mailbox_names(relay, workdir):
    """A mailbox name from the verifier holding "../" or "/" is refused
    before anything is written; nothing outside the delivery directory
    is created, and the client is refused."""
    port, spool, deliv = start_deliver(relay, workdir, "deliver:")
    for who in ("evil", "slash"):
        code, text = send(port, to=("%s@relay.test" % who,))
        assert code == 553, (code, text)
    assert names(spool) == []
    assert os.listdir(deliv) == []
    assert not os.path.exists(os.path.join(os.path.dirname(deliv), "evil"))
    # A mailbox that is a symlink is never followed.
    elsewhere = outdir(workdir)
    os.symlink(elsewhere, os.path.join(deliv, "bob"))
    assert send(port, to=("bob@relay.test",))[0] == 452
    assert os.listdir(elsewhere) == []
    assert names(spool) == []
    relay.stop()
    assert "mailbox name not allowed" in relay.log()


def test_deliver_defaults_to_the_spool(relay, workdir):
    v = script(workdir, "verify.sh", VERIFIER)
    port, spool = start(relay, "deliver:", more=["--address-verifier", v])
    assert send(port, to=("bob@relay.test",))[0] == 250
    assert names(spool) == []
    assert len(ready(os.path.join(spool, "bob"))) == 1


# split:

def check_split(spool, groups, raw=False):
    """groups: [(forward_to, [recipients])] in order, the first one the
    original's.  Returns the bases, the original first."""
    bases = ready(spool)
    assert len(bases) == len(groups), bases
    envs = {b: read(os.path.join(spool, b + ".envelope")) for b in bases}
    found = {}
    for b, env in envs.items():
        m = re.search(rb"X-MailRelay-ForwardTo: ([^\r]*)\r\n", env)
        found[m.group(1).decode()] = b
    assert sorted(found) == sorted(g[0] for g in groups), found
    original = found[groups[0][0]]
    for dom, rcpts in groups:
        env = envs[found[dom]]
        assert env.count(b"X-MailRelay-To-Remote: ") == len(rcpts), env
        for r in rcpts:
            assert (b"X-MailRelay-To-Remote: %s\r\n" % r.encode()) in env
        assert env.endswith(
            b"X-MailRelay-End: 1\r\nX-MailRelay-SplitGroupCount: %d\r\n"
            b"X-MailRelay-SplitGroup: %s\r\n"
            % (len(groups), original.encode())), env
    # One content, hard-linked.
    inodes = {os.stat(os.path.join(spool, b + ".content")).st_ino
              for b in bases}
    assert len(inodes) == 1
    assert os.stat(os.path.join(spool, original + ".content")).st_nlink \
        == len(groups)
    return [original] + [found[g[0]] for g in groups[1:]]


def test_split_by_domain(relay):
    port, spool = start(relay, "split:")
    assert send(port, to=("a@one.test", "c@two.test", "b@ONE.test",
                          "d@three.test"))[0] == 250
    check_split(spool, [("one.test", ["a@one.test", "b@ONE.test"]),
                        ("two.test", ["c@two.test"]),
                        ("three.test", ["d@three.test"])])
    # One domain only: just ForwardTo, no split lines.
    assert send(port, to=("x@Four.test",))[0] == 250
    (base,) = [b for b in ready(spool)
               if b"four.test" in read(os.path.join(spool,
                                                    b + ".envelope"))]
    env = read(os.path.join(spool, base + ".envelope"))
    assert b"X-MailRelay-ForwardTo: four.test\r\n" in env
    assert b"SplitGroup" not in env


def test_split_raw_keeps_case(relay):
    port, spool = start(relay, "split:raw")
    assert send(port, to=("a@one.test", "b@ONE.test"))[0] == 250
    check_split(spool, [("one.test", ["a@one.test"]),
                        ("ONE.test", ["b@ONE.test"])])


def test_split_parts_are_all_forwarded(relay):
    """Each part shares the original's content inode (and so its lock):
    every one still reaches the next hop, without waiting for a poll."""
    from test_forward import FakeSmtp
    fake = FakeSmtp()
    port, spool = start(relay, "split:", more=["--forward-to", fake.addr])
    assert send(port, to=("a@one.test", "b@two.test", "c@three.test"))[0] \
        == 250
    wait_for(lambda: names(spool) == [], 20, "every part to be forwarded")
    fake.close()
    assert sorted(r for m in fake.messages for r in m[1]) == \
        ["a@one.test", "b@two.test", "c@three.test"]
    relay.stop()


def test_client_split_then_forward(relay):
    """split: as a client filter: the parts are claimed with the
    original and forwarded in the same --as-client run."""
    from test_forward import FakeSmtp, write_spool_entry
    fake = FakeSmtp()
    spool = relay.spool()
    write_spool_entry(spool, "emailrelay.1.1700000000.1",
                      b"Subject: s\r\n\r\nbody\r\n",
                      expected_envelope("a@example.com",
                                        ["a@one.test", "b@two.test"]))
    relay.start("--as-client", fake.addr, "--spool-dir", spool,
                "--client-filter", "split:", wait=False)
    assert relay.proc.wait(30) == 0, relay.log()
    relay.stop()
    fake.close()
    assert names(spool) == []
    assert sorted(m[1] for m in fake.messages) == [["a@one.test"],
                                                   ["b@two.test"]]


# msgid:

def test_msgid_added_only_when_absent(relay):
    port, spool = start(relay, "msgid:")
    assert send(port)[0] == 250
    with_id = ("From: a@example.com\r\nMessage-Id: <given@example.com>\r\n"
               "Subject: has one\r\n\r\nbody\r\nMessage-ID: <in@body>\r\n")
    assert send(port, msg=with_id)[0] == 250
    first, second = ready(spool)
    c1 = read(os.path.join(spool, first + ".content"))
    c2 = read(os.path.join(spool, second + ".content"))
    assert re.search(rb"\r\nSubject: built-in\r\nMessage-ID: "
                     rb"<[^@>\s]+@relay\.test>\r\n\r\nbody\r\n$", c1), c1
    assert header_block(c1).lower().count(b"message-id:") == 1
    assert c2.endswith(with_id.encode())
    assert c2.lower().count(b"message-id:") == 2


# A chain of programs and built-ins.

def test_chain_mixes_programs_and_builtins_in_order(relay, workdir):
    """Programs and built-ins run in the order given: the first program
    sees no Message-ID, the second sees the one msgid: added, and the
    message is then split."""
    out = outdir(workdir)
    one = script(workdir, "one.sh",
                 'grep -ci "^message-id:" "$1" > %s/one\nexit 0\n' % out)
    two = script(workdir, "two.sh",
                 'grep -ci "^message-id:" "$1" > %s/two\n'
                 'grep -c "^X-MailRelay-To-Remote:" "$2" >> %s/two\n'
                 'exit 0\n' % (out, out))
    port, spool = start(relay, one, "msgid:", two, "split:")
    assert send(port, to=("a@one.test", "b@two.test"))[0] == 250
    assert read(os.path.join(out, "one")).split() == [b"0"]
    # Two saw the id, and both recipients: split: came after it.
    assert read(os.path.join(out, "two")).split() == [b"1", b"2"]
    bases = check_split(spool, [("one.test", ["a@one.test"]),
                                ("two.test", ["b@two.test"])])
    content = read(os.path.join(spool, bases[0] + ".content"))
    assert header_block(content).count(b"Message-ID: <") == 1
    relay.stop()
    log = relay.log()
    assert log.index("running %s" % one) < log.index("running %s" % two)


def test_builtin_failure_refuses_the_message(relay, workdir):
    """A built-in that cannot do its work fails like a program: the
    client gets its 452, nothing is kept, the log says why."""
    port, spool, deliv = start_deliver(relay, workdir, "deliver:")
    with open(os.path.join(deliv, "alice"), "w") as f:
        f.write("a file where the mailbox would be\n")
    assert send(port, to=("alice@relay.test", "bob@relay.test")) == \
        (452, b"filter failed")
    assert names(spool) == []
    # All or nothing: bob got no copy either.
    assert not os.path.exists(os.path.join(deliv, "bob")) or \
        names(os.path.join(deliv, "bob")) == []
    relay.stop()
    assert re.search(r"rejected by filter: \[deliver: alice: ", relay.log())
