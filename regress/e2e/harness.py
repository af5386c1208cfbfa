"""End-to-end harness: runs the real emailrelay binary on loopback ports.

The binary comes from $EMAILRELAY_BUILD (set by the Makefile), default
<repo>/build.  With EMAILRELAY_SANITIZE=1 (the ASan+UBSan pass) and when
running as root, every relay runs as an unprivileged user so that
LeakSanitizer works (it cannot inside a chroot); sanitizer reports in a
relay's stderr fail the test.
"""

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("EMAILRELAY_BUILD", os.path.join(REPO, "build"))
SANITIZE = os.environ.get("EMAILRELAY_SANITIZE") == "1"
IS_ROOT = os.geteuid() == 0
CHILDREN = ("smtp", "queue", "mta", "pop", "lookup", "control")
SAN_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
               "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


def binary(name="emailrelay"):
    path = os.path.join(BUILD, name)
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (run make)" % path)
    return path


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=10.0, what="condition"):
    """Poll cond() until it returns a true value; bounded in time."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def can_connect(port, host="127.0.0.1", family=socket.AF_INET):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect((host, port))
            return True
    except OSError:
        return False


def proc_status(pid):
    """The fields of /proc/PID/status as a dict, or None if gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return dict(line.rstrip("\n").split(":\t", 1)
                        for line in f if ":\t" in line)
    except OSError:
        return None


def proc_title(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def children_of(pid):
    """{name: pid} of the emailrelay children of pid, by process title."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = proc_status(int(entry))
        if st is None or st.get("PPid") != str(pid):
            continue
        title = proc_title(int(entry)) or ""
        m = re.match(r"emailrelay: (\w+)", title)
        if m and m.group(1) in CHILDREN:
            found[m.group(1)] = int(entry)
    return found


class Relay:
    """One emailrelay --no-daemon process with its own spool and ports."""

    def __init__(self, workdir, user=None):
        self.workdir = workdir
        self.user = user          # run as this account (root only)
        self.proc = None
        self.logpath = os.path.join(workdir, "stderr.log")
        self.exe = binary()
        if user is not None:
            self.exe = _public_copy(self.exe)
            pw = pwd.getpwnam(user)
            os.chown(workdir, pw.pw_uid, pw.pw_gid)

    def spool(self, name="spool"):
        path = os.path.join(self.workdir, name)
        os.makedirs(path, exist_ok=True)
        if IS_ROOT:
            if self.user is not None:
                pw = pwd.getpwnam(self.user)
                os.chown(path, pw.pw_uid, pw.pw_gid)
            else:
                os.chown(path, 0, _daemon_gid())
                os.chmod(path, 0o2775)
        return path

    def start(self, *args, wait=True, ready_ports=(), env=None,
              pass_fds=(), new_session=False, wrap=None):
        """Run the relay; wrap is a command prefix such as strace's, and
        new_session puts the tree in its own process group."""
        args = [str(a) for a in args]
        # Each relay its own emailrelayctl socket, not the system's.
        if not any(a.startswith("--control-socket") for a in args):
            args = ["--control-socket", self.control_socket()] + args
        argv = [self.exe, "--no-daemon", "--log"] + args
        self.argv = argv
        self.wrapped = bool(wrap)
        if wrap:
            argv = list(wrap) + argv
        e = dict(os.environ)
        if SANITIZE:
            e.setdefault("ASAN_OPTIONS",
                         "detect_leaks=%d:abort_on_error=0"
                         % (0 if self._chrooted() else 1))
            e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        if env:
            e.update(env)
        self.errf = open(self.logpath, "ab")
        preexec = None
        if self.user is not None:
            pw = pwd.getpwnam(self.user)

            def preexec():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.errf, stderr=self.errf,
                                     cwd=self.workdir, env=e,
                                     preexec_fn=preexec, pass_fds=pass_fds,
                                     start_new_session=new_session)
        if wait:
            self.wait_ready(ready_ports)
        return self

    def control_socket(self):
        """This relay's --control-socket unless the test gives one."""
        return os.path.join(self.workdir, "control.sock")

    def _chrooted(self):
        return IS_ROOT and self.user is None

    def wait_ready(self, ports=(), timeout=15):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("emailrelay exited with %s:\n%s"
                                     % (self.proc.returncode, self.log()))
            if self.main_pid() is None or \
                    len(children_of(self.main_pid())) != len(CHILDREN):
                return False
            return all(can_connect(p) for p in ports)
        wait_for(ready, timeout, "emailrelay to start")
        # Every child has dropped privileges once it reported ready;
        # the parent logs that with --debug only, so wait on /proc.
        if self._chrooted():
            keep_root = "root" in [self.argv[i + 1] for i, a in
                                   enumerate(self.argv[:-1]) if a == "--user"]
            wait_for(lambda: all(
                _dropped(name, pid, keep_root)
                for name, pid in self.children().items()),
                timeout, "children to drop privileges")

    def main_pid(self):
        """The emailrelay parent's pid (not a wrapper's)."""
        if not self.wrapped:
            return self.proc.pid
        try:
            # A wrapper that ends in exec (unshare, sh -c 'exec ...').
            if os.path.samefile("/proc/%d/exe" % self.proc.pid, self.exe):
                return self.proc.pid
        except OSError:
            pass
        for entry in os.listdir("/proc"):
            st = entry.isdigit() and proc_status(int(entry))
            if st and st.get("PPid") == str(self.proc.pid):
                return int(entry)
        return None

    def children(self):
        return children_of(self.main_pid())

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=10):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log()), timeout,
                        "log line %r" % pattern)

    def stop(self, expect=0, timeout=15):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            pid = self.main_pid()
            os.kill(pid if pid is not None else self.proc.pid,
                    signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("emailrelay did not stop on SIGTERM")
        self.errf.close()
        self.check_sanitizer()
        if expect is not None:
            assert code == expect, "exit %s, log:\n%s" % (code, self.log())
        return code

    def check_sanitizer(self):
        text = self.log()
        for marker in SAN_MARKERS:
            assert marker not in text, "sanitizer report:\n" + text


def _dropped(name, pid, keep_root):
    """Whether child name has chrooted and switched user (as far as
    either applies to it)."""
    st = proc_status(pid)
    if st is None:
        return False
    if name != "lookup":
        try:
            if os.readlink("/proc/%d/root" % pid) == "/":
                return False
        except OSError:
            return False
    return keep_root or st.get("Uid", "").split()[0] != "0"


def _daemon_gid():
    import grp
    return grp.getgrnam("daemon").gr_gid


_copies = {}


def _public_copy(path):
    """A copy of the binary that an unprivileged user can execute."""
    if path not in _copies:
        d = tempfile.mkdtemp(prefix="emailrelay-bin-")
        atexit.register(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        dst = os.path.join(d, os.path.basename(path))
        shutil.copy2(path, dst)
        os.chmod(dst, 0o755)
        _copies[path] = dst
    return _copies[path]


def test_user():
    """The account relays run as in this pass (None: the current one)."""
    if IS_ROOT and SANITIZE:
        return "nobody"
    return None


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="emailrelay-test-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def relay_factory(workdir):
    """relay_factory(user=...) makes Relay objects; all are stopped after."""
    made = []

    def make(user="default", sub=None):
        if user == "default":
            user = test_user()
        d = workdir if sub is None else os.path.join(workdir, sub)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        r = Relay(d, user=user)
        made.append(r)
        return r
    yield make
    for r in made:
        if r.proc is not None and r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait()
        if r.proc is not None:
            r.check_sanitizer()


@pytest.fixture
def relay(relay_factory):
    return relay_factory()


def run(*args, timeout=20, user="default", **kw):
    """Run emailrelay to completion (for option errors, help, ...)."""
    exe = binary()
    preexec = None
    if user == "default":
        user = test_user()
    if user is not None:
        exe = _public_copy(exe)
        pw = pwd.getpwnam(user)

        def preexec():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    return subprocess.run([exe] + [str(a) for a in args], timeout=timeout,
                          capture_output=True, text=True,
                          preexec_fn=preexec, stdin=subprocess.DEVNULL, **kw)



