"""emailrelay-passwd (SPEC 7): the hashed form of a password for "md5"
secrets.  The four vectors of SPEC 7 (checked against E-MailRelay's own
tool) must match exactly; other passwords are checked against an
independent pure-Python MD5 compression function, and the printed state is
shown to give the same CRAM-MD5 digest as Python's hmac with the password."""

import base64
import hashlib
import hmac
import math
import struct
import subprocess

import pytest

from harness import SAN_MARKERS, binary

VECTORS = [
    ("password123", "9N2IRYVXqu7SkOW1Xat+wpR9NbA2R6fb61XlmqW+46E="),
    ("e=mc2", "v1HOpuLIbbvgoJjhueeoqwfvtIp2C+gMA285ke+xxow="),
    ("my password", "x6UJKQF9f7HfhS1M+PW4s8rXIoT+L+WoqLz+rBwSKbw="),
    ("foobar", "3pIN0aPbd5aN0S4ogKA3w2P3P9XH0hXchLP1W+adpQE="),
]


def run(data, args=()):
    p = subprocess.run([binary("emailrelay-passwd")] + list(args),
                       input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    for marker in SAN_MARKERS:
        assert marker.encode() not in p.stderr, p.stderr.decode()
    return p


# RFC 1321 compression, written from the RFC, to check the tool against.
_S = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + \
     [6, 10, 15, 21] * 4
_K = [int(abs(math.sin(i + 1)) * 2 ** 32) & 0xffffffff for i in range(64)]
_INIT = (0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476)


def _compress(state, block):
    m = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | ~d), (7 * i) % 16
        t = (a + (f & 0xffffffff) + _K[i] + m[g]) & 0xffffffff
        a, d, c = d, c, b
        b = (b + ((t << _S[i]) | (t >> (32 - _S[i])))) & 0xffffffff
    return tuple((x + y) & 0xffffffff for x, y in zip(state, (a, b, c, d)))


def hashed_form(password):
    key = password
    if len(key) > 64:
        key = hashlib.md5(key).digest()
    key = key.ljust(64, b"\0")
    inner = _compress(_INIT, bytes(k ^ 0x36 for k in key))
    outer = _compress(_INIT, bytes(k ^ 0x5c for k in key))
    return base64.b64encode(struct.pack("<8I", *(inner + outer))).decode()


def _md5_from(state, data):
    """MD5 of data continued from a state after one 64-byte block."""
    total = 64 + len(data)
    msg = data + b"\x80"
    msg += b"\0" * ((56 - len(msg) % 64) % 64) + struct.pack("<Q", total * 8)
    for i in range(0, len(msg), 64):
        state = _compress(state, msg[i:i + 64])
    return struct.pack("<4I", *state)


def cram_md5_from_hashed(hashed, challenge):
    words = struct.unpack("<8I", base64.b64decode(hashed))
    inner = _md5_from(words[:4], challenge)
    return _md5_from(words[4:], inner)


def test_python_reference_is_sound():
    # The reference itself reproduces RFC 1321's "abc" digest.
    msg = b"abc\x80" + b"\0" * 52 + struct.pack("<Q", 24)
    assert struct.pack("<4I", *_compress(_INIT, msg)).hex() == \
        "900150983cd24fb0d6963f7d28e17f72"
    assert hashed_form(b"foobar") == VECTORS[3][1]


@pytest.mark.parametrize("password,expected", VECTORS)
def test_spec_vectors(password, expected):
    p = run(password.encode() + b"\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == expected.encode() + b"\n"
    assert p.stderr == b""


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_line_ending_is_not_part_of_the_password(ending):
    p = run(b"e=mc2" + ending)
    assert p.returncode == 0
    assert p.stdout == b"v1HOpuLIbbvgoJjhueeoqwfvtIp2C+gMA285ke+xxow=\n"


def test_only_the_first_line_is_read():
    p = run(b"my password\nfoobar\n")
    assert p.returncode == 0
    assert p.stdout == b"x6UJKQF9f7HfhS1M+PW4s8rXIoT+L+WoqLz+rBwSKbw=\n"


@pytest.mark.parametrize("password", [
    b"x", b"p\xc3\xa4ssw\xc3\xb6rd", b"with spaces and\ttab",
    b"a" * 63, b"b" * 64, b"c" * 65, b"long key " * 100])
def test_against_reference(password):
    p = run(password + b"\n")
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode().strip()
    assert len(out) == 44
    assert out == hashed_form(password)


@pytest.mark.parametrize("password", [b"tanstaaftanstaaf", b"d" * 100])
def test_hash_verifies_cram_md5(password):
    p = run(password + b"\n")
    hashed = p.stdout.decode().strip()
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    assert cram_md5_from_hashed(hashed, challenge) == \
        hmac.new(password, challenge, "md5").digest()
    if password == b"tanstaaftanstaaf":
        # RFC 2195's example.
        assert cram_md5_from_hashed(hashed, challenge).hex() == \
            "b913a602c7eda7a495b4e6e7334d3890"


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n"])
def test_empty_input_is_a_usage_error(data):
    p = run(data)
    assert p.returncode == 1
    assert p.stdout == b""
    assert b"usage: emailrelay-passwd" in p.stderr


def test_arguments():
    p = run(b"foobar\n", ["--bogus"])
    assert p.returncode == 1
    assert p.stdout == b""
    assert b"usage:" in p.stderr
    p = run(b"", ["--help"])
    assert p.returncode == 0
    assert p.stdout.startswith(b"usage: emailrelay-passwd")


def test_too_long_password_is_refused():
    p = run(b"a" * 1024 + b"\n")
    assert p.returncode == 0
    assert p.stdout.decode().strip() == hashed_form(b"a" * 1024)
    p = run(b"a" * 1025 + b"\n")
    assert p.returncode == 1
    assert p.stdout == b""
    assert b"too long" in p.stderr
