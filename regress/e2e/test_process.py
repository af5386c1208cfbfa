"""The parent and its six children: start-up, privileges, listeners,
signals, exit codes (SPEC sections 1, 2 and 11)."""

import os
import pwd
import re
import signal
import socket
import subprocess
import time

import pytest

from harness import (CHILDREN, IS_ROOT, SANITIZE, binary, can_connect,
                     children_of, free_port, proc_status, run, wait_for)

NOT_CLEAN = re.compile(r"error|warning|exception|core", re.I)


def std_args(relay, port, spool=None):
    return ["--port", port, "--interface", "127.0.0.1",
            "--spool-dir", spool or relay.spool()]


def test_seven_processes_dropped_and_chrooted(relay):
    if not IS_ROOT or relay.user is not None:
        pytest.skip("needs root: checks the privilege drop and chroots")
    port = free_port()
    spool = relay.spool()
    relay.start(*std_args(relay, port, spool), ready_ports=[port])
    kids = relay.children()
    assert sorted(kids) == sorted(CHILDREN)
    daemon = pwd.getpwnam("daemon")
    for name, pid in kids.items():
        st = proc_status(pid)
        assert st["Uid"].split() == [str(daemon.pw_uid)] * 4, name
        assert st["Gid"].split() == [str(daemon.pw_gid)] * 4, name
        assert st["Groups"].split() == [str(daemon.pw_gid)], name
        # A process that is not dumpable has its /proc files owned by root.
        assert os.stat("/proc/%d/status" % pid).st_uid == 0, name
        root = os.readlink("/proc/%d/root" % pid)
        if name in ("smtp", "mta", "control"):
            assert root == "/var/lib/emailrelay/empty", name
        elif name in ("queue", "pop"):
            assert root == os.path.realpath(spool), name
        else:
            assert root == "/", name
        assert proc_status(relay.proc.pid)["Uid"].split()[0] == "0"
    relay.stop()
    assert not NOT_CLEAN.search(relay.log()), relay.log()


def test_queue_and_pop_chroot_to_common_ancestor(relay):
    if not IS_ROOT or relay.user is not None:
        pytest.skip("needs root: checks the chroots")
    p1, p2 = free_port(), free_port()
    a = relay.spool("spools/a")
    b = relay.spool("spools/b")
    relay.start("--in-spool-dir", a, "--in-port", p1,
                "--in-interface", "127.0.0.1", "--out-spool-dir", b,
                "--out-port", p2, "--out-interface", "127.0.0.1",
                ready_ports=[p1, p2])
    kids = relay.children()
    common = os.path.realpath(os.path.join(relay.workdir, "spools"))
    for name in ("queue", "pop"):
        assert os.readlink("/proc/%d/root" % kids[name]) == common
    relay.stop()


def test_non_root_runs_same_processes_unprivileged(relay_factory):
    if IS_ROOT:
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("no 'nobody' account to run as")
        relay = relay_factory(user="nobody")
    else:
        relay = relay_factory(user=None)
    port = free_port()
    relay.start(*std_args(relay, port), ready_ports=[port])
    kids = relay.children()
    assert sorted(kids) == sorted(CHILDREN)
    uid = str(pwd.getpwnam(relay.user).pw_uid if relay.user
              else os.geteuid())
    for name, pid in kids.items():
        assert proc_status(pid)["Uid"].split()[0] == uid, name
        assert os.readlink("/proc/%d/root" % pid) == "/", name
    relay.wait_log(r"info: not started as root: privileges are not dropped")
    assert relay.log().count("privileges are not dropped") == 1
    relay.stop()


def test_listener_log_and_clean_stop(relay):
    port = free_port()
    pidfile = os.path.join(relay.workdir, "run", "sub", "emailrelay.pid")
    relay.start(*std_args(relay, port), "--pid-file", pidfile,
                ready_ports=[port])
    assert "emailrelay: info: smtp server on 127.0.0.1:%d" % port \
        in relay.log()
    with open(pidfile) as f:
        assert int(f.read().strip()) == relay.proc.pid
    kids = list(relay.children().values())
    t0 = time.monotonic()
    relay.stop(expect=0)
    assert time.monotonic() - t0 < 5
    assert not os.path.exists(pidfile)
    for pid in kids:
        assert proc_status(pid) is None or \
            proc_status(pid).get("State", "").startswith("Z") is False
        assert not os.path.exists("/proc/%d" % pid)
    assert not NOT_CLEAN.search(relay.log()), relay.log()


def test_sigint_stops_like_sigterm(relay):
    port = free_port()
    relay.start(*std_args(relay, port), ready_ports=[port])
    relay.proc.send_signal(signal.SIGINT)
    assert relay.proc.wait(10) == 0
    assert not can_connect(port)


def test_killed_child_brings_daemon_down(relay):
    port = free_port()
    pidfile = os.path.join(relay.workdir, "emailrelay.pid")
    relay.start(*std_args(relay, port), "--pid-file", pidfile,
                ready_ports=[port])
    kids = relay.children()
    os.kill(kids["mta"], signal.SIGKILL)
    code = relay.proc.wait(10)
    assert code == 1
    assert re.search(r"error: lost child mta status=137", relay.log())
    assert relay.log().count("lost child") == 1
    for pid in kids.values():
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 5,
                 "child %d to go" % pid)
    assert not os.path.exists(pidfile)
    relay.stop(expect=None)


def test_sighup_reloads_and_keeps_serving(relay):
    port = free_port()
    relay.start(*std_args(relay, port), ready_ports=[port])
    kids = relay.children()
    relay.proc.send_signal(signal.SIGHUP)
    relay.wait_log(r"info: configuration reloaded")
    assert relay.proc.poll() is None
    assert relay.children() == kids
    assert can_connect(port)
    relay.stop()


def test_two_instances_serve_both_ports(relay):
    p1, p2 = free_port(), free_port()
    a, b = relay.spool("a"), relay.spool("b")
    relay.start("--in-spool-dir", a, "--in-port", p1,
                "--in-interface", "127.0.0.1", "--out-spool-dir", b,
                "--out-port", p2, "--out-interface", "127.0.0.1",
                "--log-format", "unit", ready_ports=[p1, p2])
    log = relay.log()
    assert "info: [in] smtp server on 127.0.0.1:%d" % p1 in log
    assert "info: [out] smtp server on 127.0.0.1:%d" % p2 in log
    relay.stop()


def test_ipv6_and_unix_listeners(relay):
    if not can_bind_ipv6():
        pytest.skip("no IPv6 loopback on this machine")
    port = free_port(socket.AF_INET6, "::1")
    path = os.path.join(relay.workdir, "smtp.sock")
    relay.start("--port", port, "--interface", "::1," + path,
                "--spool-dir", relay.spool())
    wait_for(lambda: can_connect(port, "::1", socket.AF_INET6), 10, "::1")
    assert "smtp server on ::1.%d" % port in relay.log()
    assert "smtp server on %s" % path in relay.log()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
    relay.stop()
    assert not os.path.exists(path)


def test_inherited_listening_descriptor(relay):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    port = sock.getsockname()[1]
    fd = sock.fileno()
    relay.start("--port", 1, "--interface", "smtp=fd#%d" % fd,
                "--spool-dir", relay.spool(), pass_fds=[fd])
    sock.close()
    assert "smtp server on 127.0.0.1:%d" % port in relay.log()
    assert can_connect(port)
    relay.stop()


def can_bind_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_daemon_mode_writes_pid_file_and_stops(workdir):
    if SANITIZE and IS_ROOT:
        pytest.skip("daemon mode runs chrooted children as root here, "
                    "where LeakSanitizer cannot run; covered by the "
                    "plain pass")
    port = free_port()
    spool = os.path.join(workdir, "spool")
    os.mkdir(spool)
    pidfile = os.path.join(workdir, "pid", "emailrelay.pid")
    r = subprocess.run([binary(), "--log", "--close-stderr", "--port",
                        str(port), "--interface", "127.0.0.1",
                        "--spool-dir", spool, "--pid-file", pidfile],
                       capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    pid = int(wait_for(lambda: os.path.exists(pidfile) and
                       open(pidfile).read().strip(), 10, "pid file"))
    try:
        wait_for(lambda: len(children_of(pid)) == len(CHILDREN), 10,
                 "children")
        wait_for(lambda: can_connect(port), 10, "listener")
        assert proc_status(pid)["PPid"] != str(os.getpid())
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not os.path.exists("/proc/%d" % pid), 10, "daemon end")
    assert not os.path.exists(pidfile)


# Exit codes and error wording (SPEC 1 and 14).

def test_unknown_option_exit_1():
    r = run("--foo")
    assert r.returncode == 1
    assert 'emailrelay: error: invalid option: "--foo"' in r.stderr
    assert 'try "emailrelay --help --verbose"' in r.stderr


def test_bad_port_value_exit_1():
    r = run("--port", "abc")
    assert r.returncode == 1
    assert "usage error" in r.stderr
    assert "--port" in r.stderr and "abc" in r.stderr


def test_bad_config_line_names_file_and_line(workdir):
    conf = os.path.join(workdir, "emailrelay.conf")
    with open(conf, "w") as f:
        f.write("# a comment\n\nlog\nport 10025\nno-such-option 1\n")
    r = run(conf)
    assert r.returncode == 1
    assert "%s:5:" % conf in r.stderr
    assert "no-such-option" in r.stderr


def test_config_file_is_used(relay):
    port = free_port()
    conf = os.path.join(relay.workdir, "emailrelay.conf")
    with open(conf, "w") as f:
        f.write("# test\nport %d\ninterface 127.0.0.1\nspool-dir %s\n"
                % (port, relay.spool()))
    relay.start(conf, ready_ports=[port])
    assert "smtp server on 127.0.0.1:%d" % port in relay.log()
    relay.stop()


def test_port_in_use_exit_2(workdir):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        spool = os.path.join(workdir, "spool")
        os.mkdir(spool)
        r = run("--no-daemon", "--port", port, "--interface", "127.0.0.1",
                "--spool-dir", spool)
    assert r.returncode == 2
    assert "127.0.0.1:%d" % port in r.stderr


def test_missing_spool_exit_1(workdir):
    r = run("--no-daemon", "--port", free_port(), "--interface",
            "127.0.0.1", "--spool-dir", os.path.join(workdir, "nope"))
    assert r.returncode == 1
    assert "spool directory" in r.stderr


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0 and "usage:" in r.stdout
    short = r.stdout
    r = run("--help", "--verbose")
    assert r.returncode == 0 and len(r.stdout) > len(short)
    assert "--forward-to" in r.stdout
    r = run("--version")
    assert r.returncode == 0
    assert re.match(r"E-MailRelay V\S+\n$", r.stdout)
    r = run("--version", "--verbose")
    assert r.returncode == 0
    for line in ("TLS library: ", "Unix domain sockets: enabled",
                 "POP server: enabled", "Admin server: enabled"):
        assert line in r.stdout


def test_log_file_time_and_daily_name(relay):
    port = free_port()
    pattern = os.path.join(relay.workdir, "log-%d.txt")
    relay.start(*std_args(relay, port), "--log-time", "--log-file",
                pattern, ready_ports=[port])
    relay.stop()
    name = pattern.replace("%d", time.strftime("%Y%m%d"))
    with open(name) as f:
        text = f.read()
    assert re.search(r"^emailrelay: \d{8}\.\d{6}\.\d{3}: info: smtp server "
                     r"on 127\.0\.0\.1:%d$" % port, text, re.M), text


@pytest.mark.parametrize("user", ["root", "nobody"])
def test_user_option(relay, user):
    if not IS_ROOT or relay.user is not None:
        pytest.skip("needs root: --user switches accounts")
    port = free_port()
    relay.start(*std_args(relay, port), "--user", user, ready_ports=[port])
    uid = pwd.getpwnam(user).pw_uid
    for name, pid in relay.children().items():
        if user != "root":
            wait_for(lambda: proc_status(pid)["Uid"].split()[0] == str(uid),
                     5, "%s to drop privileges" % name)
        assert proc_status(pid)["Uid"].split() == [str(uid)] * 4, name
        if name == "smtp":
            wait_for(lambda: os.readlink("/proc/%d/root" % pid) ==
                     "/var/lib/emailrelay/empty", 5, "smtp chroot")
    relay.stop()


def test_unknown_user_exit_1(workdir):
    if not IS_ROOT:
        pytest.skip("needs root: --user is only looked up by root")
    r = run("--no-daemon", "--user", "no-such-user-x", "--spool-dir",
            workdir, user=None)
    assert r.returncode == 1
    assert "no-such-user-x" in r.stderr


def test_sighup_applies_a_changed_config_file(relay):
    port = free_port()
    spool = relay.spool()
    conf = os.path.join(relay.workdir, "emailrelay.conf")
    base = "port %d\ninterface 127.0.0.1\nspool-dir %s\n" % (port, spool)
    with open(conf, "w") as f:
        f.write(base)
    relay.start(conf, ready_ports=[port])

    def noop():
        with socket.create_connection(("127.0.0.1", port), 10) as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"NOOP\r\nQUIT\r\n")
            assert f.readline().startswith(b"250 ")
            f.readline()
    noop()
    assert 'rx<<: "NOOP"' not in relay.log()
    with open(conf, "w") as f:
        f.write(base + "verbose\n")
    relay.proc.send_signal(signal.SIGHUP)
    relay.wait_log(r"info: configuration reloaded")
    noop()
    relay.wait_log(r'rx<<: "NOOP"')

    # A new instance needs a restart: the reload is refused, all goes on.
    with open(conf, "w") as f:
        f.write(base + "verbose\nother-spool-dir %s\n" % spool)
    relay.proc.send_signal(signal.SIGHUP)
    relay.wait_log(r"warning: reload failed: the instances cannot change")
    noop()
    relay.stop()


@pytest.mark.parametrize("option", ["--no-smtp", "--dont-serve"])
def test_no_listener_options(relay, option):
    port = free_port()
    relay.start(*std_args(relay, port), option)
    assert sorted(relay.children()) == sorted(CHILDREN)
    assert not can_connect(port)
    assert "smtp server on" not in relay.log()
    relay.stop()


def test_mta_chroot_reaches_a_unix_smarthost(relay):
    if not IS_ROOT or relay.user is not None:
        pytest.skip("needs root: checks the chroot")
    port = free_port()
    sockdir = os.path.join(relay.workdir, "sockets")
    os.mkdir(sockdir)
    relay.start(*std_args(relay, port), "--forward-to",
                os.path.join(sockdir, "smarthost.sock"), "--poll", "3600",
                ready_ports=[port])
    kids = relay.children()
    assert os.readlink("/proc/%d/root" % kids["mta"]) == sockdir
    assert os.readlink("/proc/%d/root" % kids["smtp"]) == \
        "/var/lib/emailrelay/empty"
    relay.stop()
