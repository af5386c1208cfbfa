"""emailrelay-submit and its sendmail personality (SPEC sections 1 and 3):
messages written straight into a spool directory, byte-compatible with
what the daemon writes, and nothing left behind on any failure."""

import errno
import fcntl
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess

import pytest

from harness import IS_ROOT, SAN_MARKERS, SANITIZE, binary, wait_for

DEFAULT_SPOOL = "/var/spool/emailrelay"
RECEIVED = re.compile(
    rb"Received: by (\S+) with local \(from userid (\d+)\) ; "
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([1-9]\d?) "
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    rb"\d\d:\d\d:\d\d [+-]\d{4}\r\n")
NAME = re.compile(r"^emailrelay\.\d+\.\d+\.\d+\.(content|envelope(\.new|"
                  r"\.busy|\.bad)?)$")

EX_USAGE, EX_DATAERR, EX_NOINPUT = 64, 65, 66
EX_CANTCREAT, EX_IOERR, EX_TEMPFAIL = 73, 74, 75


def submit_exe():
    return binary("emailrelay-submit")


def host_name():
    return "".join(c if 32 < ord(c) < 127 else "-"
                   for c in socket.gethostname()) or "localhost"


def login_name():
    return pwd.getpwuid(os.getuid()).pw_name


def _env(extra=None):
    e = dict(os.environ)
    e.pop("EMAILRELAY_SPOOL_DIR", None)
    if SANITIZE:
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    if extra:
        e.update(extra)
    return e


def _preexec(user=None, umask=None):
    if user is None and umask is None:
        return None
    if isinstance(user, int):
        ids = (user, user)      # a uid without a passwd entry
    elif user is not None:
        pw = pwd.getpwnam(user)
        ids = (pw.pw_uid, pw.pw_gid)
    else:
        ids = None

    def fn():
        if umask is not None:
            os.umask(umask)
        if ids is not None:
            os.setgroups([])
            os.setgid(ids[1])
            os.setuid(ids[0])
    return fn


def check_clean_stderr(text):
    for marker in SAN_MARKERS:
        assert marker not in text, "sanitizer report:\n" + text


def run(args, input=b"", exe=None, env=None, user=None, umask=None,
        timeout=30):
    """Run the tool to completion; stdout and stderr as text."""
    if isinstance(input, str):
        input = input.encode()
    p = subprocess.run([exe or submit_exe()] + [str(a) for a in args],
                       input=input, capture_output=True, timeout=timeout,
                       env=_env(env), preexec_fn=_preexec(user, umask))
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    check_clean_stderr(err)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def spool_listing(spool):
    """(content names, ready envelope names, other names) in spool."""
    names = sorted(os.listdir(spool))
    content = [n for n in names if n.endswith(".content")]
    ready = [n for n in names if n.endswith(".envelope")]
    other = [n for n in names if n not in content and n not in ready]
    return content, ready, other


def one_message(spool):
    """The single message in spool: (base, content bytes, envelope bytes)."""
    content, ready, other = spool_listing(spool)
    assert len(content) == 1 and len(ready) == 1 and other == [], \
        os.listdir(spool)
    base = content[0][:-len(".content")]
    assert ready[0] == base + ".envelope"
    assert NAME.match(content[0]) and NAME.match(ready[0])
    with open(os.path.join(spool, content[0]), "rb") as f:
        c = f.read()
    with open(os.path.join(spool, ready[0]), "rb") as f:
        e = f.read()
    return base, c, e


def assert_empty(spool):
    assert os.listdir(spool) == [], os.listdir(spool)


def expected_envelope(sender, rcpts, content="7bit", auth_in="",
                      auth_out="", utf8=0):
    lines = ["X-MailRelay-Format: #2821.8",
             "X-MailRelay-Content: " + content,
             "X-MailRelay-From: " + sender,
             "X-MailRelay-ToCount: %d" % len(rcpts)]
    lines += ["X-MailRelay-To-Remote: " + r for r in rcpts]
    lines += ["X-MailRelay-Authentication: ",
              "X-MailRelay-Client: 127.0.0.1",
              "X-MailRelay-ClientCertificate: ",
              "X-MailRelay-MailFromAuthIn: " + auth_in,
              "X-MailRelay-MailFromAuthOut: " + auth_out,
              "X-MailRelay-ForwardTo: ",
              "X-MailRelay-ForwardToAddress: ",
              "X-MailRelay-ClientAccountSelector: ",
              "X-MailRelay-Utf8MailboxNames: %d" % utf8,
              "X-MailRelay-End: 1"]
    return ("\r\n".join(lines) + "\r\n").encode()


def split_received(content, uid=None):
    """Check the first line is our Received line; return the rest."""
    m = RECEIVED.match(content)
    assert m, content[:200]
    assert m.group(1).decode() == host_name()
    assert int(m.group(2)) == (os.getuid() if uid is None else uid)
    return content[m.end():]


def headers_of(body):
    """Header section of stored content (after Received) as a list."""
    head = body.split(b"\r\n\r\n", 1)[0]
    return head.split(b"\r\n")


@pytest.fixture
def spool(workdir):
    d = os.path.join(workdir, "spool")
    os.mkdir(d)
    os.chmod(d, 0o755)
    return d


@pytest.fixture
def sendmail(workdir):
    """A symlink named sendmail to the tool, in its own directory."""
    d = os.path.join(workdir, "bin")
    os.mkdir(d)
    link = os.path.join(d, "sendmail")
    os.symlink(submit_exe(), link)
    return link


def run_sendmail(link, spool, args, input, **kw):
    env = {"EMAILRELAY_SPOOL_DIR": spool}
    env.update(kw.pop("env", {}))
    return run(args, input=input, exe=link, env=env, **kw)


# ---- emailrelay-submit ------------------------------------------------


def test_stdin_message_spooled_byte_exact(spool):
    msg = b"Subject: hello\nFrom: me@example.com\n\nline one\r\nline two\n"
    r = run(["-v", "-s", spool, "-f", "me@example.com", "you@example.com",
             "<them@example.org>"], input=msg)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    base, content, env = one_message(spool)
    # -v prints the path of the new content file, nothing else
    assert r.stdout == os.path.join(spool, base + ".content") + "\n"
    assert env == expected_envelope(
        "me@example.com", ["you@example.com", "them@example.org"])
    body = split_received(content)
    assert body == (b"Subject: hello\r\nFrom: me@example.com\r\n\r\n"
                    b"line one\r\nline two\r\n")
    for name in os.listdir(spool):
        mode = stat.S_IMODE(os.stat(os.path.join(spool, name)).st_mode)
        assert mode == 0o660, (name, oct(mode))


def test_input_file_8bit_no_final_newline_and_auth_fields(spool, workdir):
    path = os.path.join(workdir, "msg.txt")
    text = "Subject: caf\u00e9\n\nna\u00efve\nlast line".encode("utf-8")
    with open(path, "wb") as f:
        f.write(text)
    r = run(["--input-file", path, "--spool-dir", spool, "--from",
             "a@example.com", "--from-auth-in", "alice smith+x=y",
             "--from-auth-out", "<>", "b@example.com"],
            input=b"this stdin must not be read\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    _, content, env = one_message(spool)
    assert env == expected_envelope(
        "a@example.com", ["b@example.com"], content="8bit",
        auth_in="alice+20smith+2Bx+3Dy", auth_out="<>")
    assert split_received(content) == (
        "Subject: caf\u00e9\r\n\r\nna\u00efve\r\nlast line\r\n"
        .encode("utf-8"))


def test_7bit_only_for_pure_ascii_and_cr_kept(spool):
    # a lone CR is content, CRLF stays CRLF, LF becomes CRLF
    r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
            input=b"A: b\n\nx\ry\r\nz\n")
    assert r.returncode == 0, r.stderr
    _, content, env = one_message(spool)
    assert b"X-MailRelay-Content: 7bit\r\n" in env
    assert split_received(content) == b"A: b\r\n\r\nx\ry\r\nz\r\n"
    assert content.endswith(b"\r\n")


def test_dot_line_does_not_end_input_in_submit_mode(spool):
    r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
            input=b"Subject: x\n\none\n.\ntwo\n")
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    assert split_received(content) == b"Subject: x\r\n\r\none\r\n.\r\ntwo\r\n"


def test_default_sender_and_bare_recipient_qualified(spool):
    r = run(["-s", spool, "root", "x@example.com", "x@example.com"],
            input=b"hi\n")
    assert r.returncode == 0, r.stderr
    _, _, env = one_message(spool)
    me = "%s@%s" % (login_name(), host_name())
    # a repeated recipient is stored once
    assert env == expected_envelope(me, ["root@" + host_name(),
                                         "x@example.com"])


def test_null_sender_and_utf8_recipient(spool):
    r = run(["-s", spool, "-f", "<>", "j\u00f6rg@example.com"],
            input=b"x\n")
    assert r.returncode == 0, r.stderr
    _, _, env = one_message(spool)
    assert env == expected_envelope("", ["j\u00f6rg@example.com"], utf8=1)


def test_long_lines_streamed(spool):
    line = b"x" * (3 * 1024 * 1024)
    msg = b"Subject: big\n\n" + line + b"\n" + line
    r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
            input=msg)
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    assert split_received(content) == (b"Subject: big\r\n\r\n" + line +
                                       b"\r\n" + line + b"\r\n")


@pytest.mark.parametrize("mask", [0o000, 0o077])
def test_files_are_0660_whatever_the_umask(spool, mask):
    r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
            input=b"x\n", umask=mask)
    assert r.returncode == 0, r.stderr
    names = os.listdir(spool)
    assert len(names) == 2
    for name in names:
        assert stat.S_IMODE(os.stat(os.path.join(spool, name)).st_mode) \
            == 0o660, name


def test_help_and_version():
    r = run(["--help"])
    assert r.returncode == 0
    assert r.stdout.startswith("usage: emailrelay-submit [options] "
                               "<to-address>")
    for word in ("--from", "--spool-dir", "--input-file", "--verbose",
                 "--from-auth-in", "--from-auth-out", "install setgid",
                 "Received: by <hostname> with local", "<login>@<hostname>",
                 "EMAILRELAY_SPOOL_DIR"):
        assert word.lower() in r.stdout.lower(), word
    r = run(["-V"])
    assert r.returncode == 0
    assert re.match(r"E-MailRelay V\d", r.stdout)


# ---- errors: the exit code, a clear message, and an empty spool -------


def test_no_recipients_is_usage_error(spool):
    r = run(["-s", spool, "-f", "a@example.com"], input=b"x\n")
    assert r.returncode == EX_USAGE
    assert "usage error: no recipients" in r.stderr
    assert_empty(spool)


@pytest.mark.parametrize("args", [
    ["bad address@example.com"],
    ["-f", "a b@example.com", "x@example.com"],
    ["<unterminated@example.com"],
    ["--no-such-option", "x@example.com"],
    ["-s"],
])
def test_bad_arguments_are_usage_errors(spool, args):
    args = args if args == ["-s"] else ["-s", spool] + args
    r = run(args, input=b"x\n")
    assert r.returncode == EX_USAGE, r.stderr
    assert "error" in r.stderr
    assert_empty(spool)


def test_missing_input_file(spool, workdir):
    missing = os.path.join(workdir, "no-such-file")
    r = run(["-s", spool, "-x", missing, "a@example.com"])
    assert r.returncode == EX_NOINPUT
    assert "cannot open input file" in r.stderr and missing in r.stderr
    assert_empty(spool)


def test_input_file_that_is_a_directory(spool, workdir):
    r = run(["-s", spool, "-x", workdir, "a@example.com"])
    assert r.returncode == EX_NOINPUT
    assert "Is a directory" in r.stderr
    assert_empty(spool)


def test_read_error_midway_leaves_nothing(spool):
    # reading /proc/self/mem at offset 0 fails with EIO after the content
    # file has been created: it must be removed again
    r = run(["-s", spool, "-x", "/proc/self/mem", "-f", "a@example.com",
             "b@example.com"])
    assert r.returncode == EX_IOERR, r.stderr
    assert "cannot read /proc/self/mem" in r.stderr
    assert_empty(spool)


def test_missing_spool_directory(workdir):
    spool = os.path.join(workdir, "no-spool")
    r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
            input=b"x\n")
    assert r.returncode == EX_CANTCREAT
    assert "cannot open spool directory" in r.stderr
    assert not os.path.exists(spool)


def _public_exe(workdir):
    """A copy of the tool any user may run."""
    d = os.path.join(workdir, "pubbin")
    os.mkdir(d)
    os.chmod(d, 0o755)
    dst = os.path.join(d, "emailrelay-submit")
    shutil.copy2(submit_exe(), dst)
    os.chmod(dst, 0o755)
    return dst


def test_unwritable_spool(spool, workdir):
    if IS_ROOT:
        # root bypasses permission checks: run as an ordinary user
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("no 'nobody' account to run as")
        r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
                input=b"x\n", exe=_public_exe(workdir), user="nobody")
    else:
        os.chmod(spool, 0o555)
        try:
            r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
                    input=b"x\n")
        finally:
            os.chmod(spool, 0o755)
    assert r.returncode == EX_CANTCREAT, r.stderr
    assert "cannot create a content file" in r.stderr
    assert "Permission denied" in r.stderr
    assert_empty(spool)


def test_user_without_login_name_must_give_sender(spool, workdir):
    if not IS_ROOT:
        pytest.skip("needs root to run as a uid without a passwd entry")
    uid = next(u for u in range(54321, 60000) if not _has_uid(u))
    exe = _public_exe(workdir)
    os.chmod(spool, 0o777)
    r = run(["-s", spool, "b@example.com"], input=b"x\n", exe=exe,
            user=uid)
    assert r.returncode == 67, r.stderr     # EX_NOUSER
    assert "give the sender with -f" in r.stderr
    assert_empty(spool)
    r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
            input=b"x\n", exe=exe, user=uid)
    assert r.returncode == 0, r.stderr
    _, content, env = one_message(spool)
    assert env == expected_envelope("a@example.com", ["b@example.com"])
    split_received(content, uid=uid)


def _has_uid(uid):
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


@pytest.fixture
def small_fs(workdir):
    """A 64 KiB tmpfs (root only)."""
    if not IS_ROOT:
        pytest.skip("needs root to mount a small tmpfs")
    d = os.path.join(workdir, "small")
    os.mkdir(d)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755",
                        "tmpfs", d], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip("cannot mount a tmpfs: " + p.stderr.strip())
    try:
        yield d
    finally:
        subprocess.run(["umount", d], check=True)


def test_full_filesystem_before_writing(small_fs, workdir):
    path = os.path.join(workdir, "big.txt")
    with open(path, "wb") as f:
        f.write(b"x" * 100 + b"\n" * (1024 * 1024))
    r = run(["-s", small_fs, "-x", path, "-f", "a@example.com",
             "b@example.com"])
    assert r.returncode == EX_TEMPFAIL, r.stderr
    assert "is full" in r.stderr
    assert_empty(small_fs)


def test_full_filesystem_while_writing(small_fs):
    # from a pipe the size is unknown: the write fails with ENOSPC
    r = run(["-s", small_fs, "-f", "a@example.com", "b@example.com"],
            input=b"y" * (1024 * 1024) + b"\n")
    assert r.returncode == EX_TEMPFAIL, r.stderr
    assert "No space left on device" in r.stderr
    assert_empty(small_fs)


def _ofd_locked(path):
    """True if another open file description holds a lock on path."""
    fd = os.open(path, os.O_RDWR)
    try:
        lk = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, lk)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                return True
            raise
        return False
    finally:
        os.close(fd)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_reading_removes_content(spool, sig):
    p = subprocess.Popen([submit_exe(), "-s", spool, "-f", "a@example.com",
                          "b@example.com"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=_env())
    try:
        p.stdin.write(b"Subject: half\n\nsome")
        p.stdin.flush()
        names = wait_for(lambda: os.listdir(spool), 10,
                         "the content file")
        # while the input is read: a locked content file, no envelope
        assert len(names) == 1 and names[0].endswith(".content"), names
        assert _ofd_locked(os.path.join(spool, names[0]))
        p.send_signal(sig)
        assert p.wait(10) == -sig
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.stdin.close()
    check_clean_stderr(err)
    assert "message not submitted" in err
    assert_empty(spool)


# ---- setgid installation ----------------------------------------------


@pytest.fixture
def setgid_exe(workdir):
    """A copy installed setgid daemon, and the account to run it as."""
    if not IS_ROOT:
        pytest.skip("needs root to install a setgid copy")
    if SANITIZE:
        # A setgid process is not dumpable: the sanitizer runtime can read
        # neither its options nor /proc/self, and LeakSanitizer dies.
        pytest.skip("sanitizers cannot run a setgid program as a user")
    try:
        pwd.getpwnam("nobody")
        gid = grp.getgrnam("daemon").gr_gid
    except KeyError:
        pytest.skip("needs the 'nobody' account and the 'daemon' group")
    d = os.path.join(workdir, "sgid")
    os.mkdir(d)
    os.chmod(d, 0o755)
    if os.statvfs(d).f_flag & os.ST_NOSUID:
        pytest.skip("the temporary directory is mounted nosuid")
    exe = os.path.join(d, "emailrelay-submit")
    shutil.copy2(submit_exe(), exe)
    os.chown(exe, 0, gid)
    os.chmod(exe, 0o2755)
    sm = os.path.join(d, "sendmail")
    os.symlink(exe, sm)
    return exe, sm, gid


def _group_spool(workdir, gid):
    d = os.path.join(workdir, "gspool")
    os.mkdir(d)
    os.chown(d, 0, gid)
    os.chmod(d, 0o2770)
    return d


def test_setgid_refuses_other_spool_for_users(workdir, setgid_exe):
    exe, _, gid = setgid_exe
    spool = _group_spool(workdir, gid)
    # the group could write there; a user may still not choose it
    r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
            input=b"x\n", exe=exe, user="nobody")
    assert r.returncode == EX_USAGE, r.stderr
    assert "only root may choose a spool directory" in r.stderr
    assert_empty(spool)
    # root running the setgid program may
    r = run(["-s", spool, "-f", "a@example.com", "b@example.com"],
            input=b"x\n", exe=exe)
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    split_received(content, uid=0)


def test_setgid_ignores_spool_environment(workdir, setgid_exe):
    _, sm, gid = setgid_exe
    if os.path.exists(DEFAULT_SPOOL):
        pytest.skip("%s exists: a message would really be queued"
                    % DEFAULT_SPOOL)
    spool = _group_spool(workdir, gid)
    r = run(["a@example.com"], input=b"x\n", exe=sm, user="nobody",
            env={"EMAILRELAY_SPOOL_DIR": spool})
    # it went for the default spool, not the one in the environment
    assert r.returncode == EX_CANTCREAT, r.stderr
    assert DEFAULT_SPOOL in r.stderr
    assert_empty(spool)


def test_setgid_opens_input_with_real_group(workdir, setgid_exe):
    exe, _, gid = setgid_exe
    path = os.path.join(workdir, "group-only.txt")
    with open(path, "w") as f:
        f.write("secret of the daemon group\n")
    os.chown(path, 0, gid)
    os.chmod(path, 0o640)
    r = run(["-x", path, "a@example.com"], exe=exe, user="nobody")
    assert r.returncode == EX_NOINPUT, r.stderr
    assert "Permission denied" in r.stderr


# ---- sendmail personality ---------------------------------------------


def test_sendmail_t_to_cc_bcc(sendmail, spool):
    msg = (b"From: Me <me@example.com>\n"
           b"To: \"Doe, Jane\" <jane@example.com>,\n"
           b"  bob@example.org (Bob)\n"
           b"Cc: team: carol@example.net;\n"
           b"Bcc: hidden@example.com,\n"
           b"\tother-hidden@example.com\n"
           b"Subject: t\n"
           b"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
           b"Message-ID: <m1@example.com>\n"
           b"\n"
           b"Bcc: this body line stays\n")
    r = run_sendmail(sendmail, spool, ["-t", "-f", "me@example.com",
                                       "-oi"], msg)
    assert r.returncode == 0, r.stderr
    _, content, env = one_message(spool)
    assert env == expected_envelope("me@example.com", [
        "jane@example.com", "bob@example.org", "carol@example.net",
        "hidden@example.com", "other-hidden@example.com"])
    body = split_received(content)
    # the Bcc field and its continuation line are gone, all else is kept
    assert body == (b"From: Me <me@example.com>\r\n"
                    b"To: \"Doe, Jane\" <jane@example.com>,\r\n"
                    b"  bob@example.org (Bob)\r\n"
                    b"Cc: team: carol@example.net;\r\n"
                    b"Subject: t\r\n"
                    b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                    b"Message-ID: <m1@example.com>\r\n"
                    b"\r\n"
                    b"Bcc: this body line stays\r\n")


def test_sendmail_t_adds_command_line_recipients(sendmail, spool):
    msg = b"To: a@example.com\nSubject: s\n\nx\n"
    r = run_sendmail(sendmail, spool, ["-t", "-fme@example.com",
                                       "extra@example.com"], msg)
    assert r.returncode == 0, r.stderr
    _, _, env = one_message(spool)
    assert env == expected_envelope("me@example.com",
                                    ["extra@example.com", "a@example.com"])


def test_sendmail_without_t_ignores_header_recipients(sendmail, spool):
    msg = b"To: a@example.com\nBcc: b@example.com\n\nx\n"
    r = run_sendmail(sendmail, spool, ["-r", "me@example.com",
                                       "c@example.com"], msg)
    assert r.returncode == 0, r.stderr
    _, content, env = one_message(spool)
    assert env == expected_envelope("me@example.com", ["c@example.com"])
    assert b"Bcc" not in content
    assert b"b@example.com" not in content


def test_sendmail_t_without_recipients_leaves_nothing(sendmail, spool):
    r = run_sendmail(sendmail, spool, ["-t"],
                     b"Subject: nobody to send to\n\nx\n")
    assert r.returncode == EX_USAGE
    assert "no recipients" in r.stderr
    assert_empty(spool)


def test_sendmail_t_bad_header_address_leaves_nothing(sendmail, spool):
    r = run_sendmail(sendmail, spool, ["-t"],
                     b"To: John Smith john@example.com\n\nx\n")
    assert r.returncode == EX_DATAERR
    assert "invalid address in the recipient header" in r.stderr
    assert_empty(spool)


def test_sendmail_F_adds_from_date_message_id(sendmail, spool):
    r = run_sendmail(sendmail, spool, ["-F", "Cron Daemon", "-f",
                                       "cron@example.com", "root"],
                     b"Subject: cron\n\noutput\n")
    assert r.returncode == 0, r.stderr
    _, content, env = one_message(spool)
    assert env == expected_envelope("cron@example.com",
                                    ["root@" + host_name()])
    head = headers_of(split_received(content))
    assert head[0] == b"Subject: cron"
    assert b"From: Cron Daemon <cron@example.com>" in head
    assert any(re.match(rb"Date: \w{3}, \d{1,2} \w{3} \d{4} ", h)
               for h in head)
    assert any(re.match(rb"Message-ID: <[^<>@\s]+@[^<>@\s]+>$", h)
               for h in head)
    assert content.endswith(b"\r\n\r\noutput\r\n")


def test_sendmail_F_quotes_special_name_and_keeps_existing_from(
        sendmail, spool):
    r = run_sendmail(sendmail, spool, ["-FJ. \"Q\" Doe", "-f",
                                       "j@example.com", "x@example.com"],
                     b"Subject: a\n\nb\n")
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    assert b'From: "J. \\"Q\\" Doe" <j@example.com>\r\n' in content
    os.unlink(os.path.join(spool, os.listdir(spool)[0]))
    os.unlink(os.path.join(spool, os.listdir(spool)[0]))
    r = run_sendmail(sendmail, spool, ["-F", "Ignored", "x@example.com"],
                     b"from: Real <real@example.com>\n\nb\n")
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    assert b"Ignored" not in content
    assert content.count(b"rom: ") == 1


def test_sendmail_message_without_header(sendmail, spool):
    r = run_sendmail(sendmail, spool, ["-f", "a@example.com",
                                       "b@example.com"], b"just text\n")
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    body = split_received(content)
    # the added fields, then an empty line, then the text as body
    assert body.startswith(b"From: a@example.com\r\nDate: ")
    assert body.endswith(b"\r\n\r\njust text\r\n")


def test_sendmail_dot_line_ends_input(sendmail, spool):
    msg = b"Subject: d\n\nbefore\n..stays\n.\nafter the dot\n"
    r = run_sendmail(sendmail, spool, ["-f", "a@example.com",
                                       "b@example.com"], msg)
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    assert content.endswith(b"\r\n\r\nbefore\r\n..stays\r\n")
    assert b"after the dot" not in content


def test_sendmail_dot_line_crlf_ends_input(sendmail, spool):
    msg = b"Subject: d\r\n\r\nbefore\r\n.\r\nafter\r\n"
    r = run_sendmail(sendmail, spool, ["-f", "a@example.com",
                                       "b@example.com"], msg)
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    assert content.endswith(b"\r\n\r\nbefore\r\n")


@pytest.mark.parametrize("flag", ["-i", "-oi"])
def test_sendmail_i_keeps_dot_lines(sendmail, spool, flag):
    msg = b"Subject: d\n\nbefore\n.\nafter the dot\n"
    r = run_sendmail(sendmail, spool, [flag, "-f", "a@example.com",
                                       "b@example.com"], msg)
    assert r.returncode == 0, r.stderr
    _, content, _ = one_message(spool)
    assert content.endswith(b"\r\n\r\nbefore\r\n.\r\nafter the dot\r\n")


def test_sendmail_ignores_common_mua_and_cron_options(sendmail, spool):
    # what Debian cron, mutt and git send-email pass
    r = run_sendmail(sendmail, spool, [
        "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-odi", "-odb", "-v",
        "-oQ/elsewhere", "-N", "never", "-U", "-bm", "-f", "a@example.com",
        "--", "b@example.com"], b"Subject: s\n\nx\n")
    assert r.returncode == 0, r.stderr
    _, _, env = one_message(spool)
    assert env == expected_envelope("a@example.com", ["b@example.com"])


@pytest.mark.parametrize("args,text", [
    (["-bs"], "-bs"),
    (["-bp"], "-bp"),
    (["-q"], "-q"),
    (["-Z", "b@example.com"], "invalid option"),
    (["-f"], "requires a value"),
])
def test_sendmail_refused_options(sendmail, spool, args, text):
    r = run_sendmail(sendmail, spool, args, b"x\n")
    assert r.returncode == EX_USAGE, r.stderr
    assert text in r.stderr
    assert r.stderr.startswith("sendmail: usage error: ")
    assert_empty(spool)


def test_sendmail_help_documents_choices(sendmail):
    r = run(["--help"], exe=sendmail)
    assert r.returncode == 0
    assert r.stdout.startswith("usage: sendmail ")
    for word in ("-t", "-oi", "-bs", "-odb", "EMAILRELAY_SPOOL_DIR",
                 "Bcc"):
        assert word in r.stdout, word


def test_emailrelay_sendmail_name_is_sendmail_mode(workdir, spool):
    d = os.path.join(workdir, "bin2")
    os.mkdir(d)
    link = os.path.join(d, "emailrelay-sendmail")
    os.symlink(submit_exe(), link)
    r = run_sendmail(link, spool, ["-t"], b"To: a@example.com\n\nx\n")
    assert r.returncode == 0, r.stderr
    _, _, env = one_message(spool)
    assert b"X-MailRelay-To-Remote: a@example.com\r\n" in env


def test_sendmail_default_spool_without_environment(sendmail, spool):
    if os.path.exists(DEFAULT_SPOOL):
        pytest.skip("%s exists: a message would really be queued"
                    % DEFAULT_SPOOL)
    r = run(["-f", "a@example.com", "b@example.com"], input=b"x\n",
            exe=sendmail, env={"EMAILRELAY_SPOOL_DIR": ""})
    assert r.returncode == EX_CANTCREAT, r.stderr
    assert "cannot open spool directory \"%s\"" % DEFAULT_SPOOL in r.stderr
    assert_empty(spool)
