#!/usr/bin/python3
"""The fsync ceiling: messages per second that a spool can make durable one
at a time, doing what SPEC 3 requires per message (write and fsync the
content, write and fsync the envelope, rename it, fsync the directory),
with nothing shared between messages.  Prints one number.

usage: fsync_ceiling.py DIR [N [SIZE]]
"""

import os
import sys
import time


def main():
    d = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
    body = b"x" * (size - 2) + b"\r\n"
    env = b"X-MailRelay-Format: #2821.8\r\n" + b"X" * 400 + b"\r\n"
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    t0 = time.monotonic()
    for i in range(n):
        base = os.path.join(d, "ceiling.%d.%d" % (os.getpid(), i))
        fd = os.open(base + ".content", os.O_WRONLY | os.O_CREAT, 0o660)
        os.write(fd, body)
        os.fsync(fd)
        os.close(fd)
        fd = os.open(base + ".envelope.new", os.O_WRONLY | os.O_CREAT,
                     0o660)
        os.write(fd, env)
        os.fsync(fd)
        os.close(fd)
        os.rename(base + ".envelope.new", base + ".envelope")
        os.fsync(dfd)
    elapsed = time.monotonic() - t0
    for i in range(n):
        base = os.path.join(d, "ceiling.%d.%d" % (os.getpid(), i))
        os.unlink(base + ".content")
        os.unlink(base + ".envelope")
    os.close(dfd)
    print("%.1f" % (n / elapsed))


if __name__ == "__main__":
    main()
