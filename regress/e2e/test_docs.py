"""The manual pages agree with the specification and with the program.

- every option named in SPEC section 2.1 has exactly one entry in
  emailrelay.conf.5 (".It Cm name") and in emailrelay.8 (".It Fl x , Fl -name"
  or ".It Fl -name"), and nothing else has one;
- `emailrelay --help --verbose` lists the same options, with the same short
  letters as emailrelay.8;
- both pages are clean under `mandoc -T lint -W warning`.

SPEC.md lives outside the repository, in ../shared/ beside it (development
and CI); when it is absent only the comparisons with it are skipped.
"""

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO.parent / "shared" / "SPEC.md"
MAN8 = REPO / "emailrelay.8"
MAN5 = REPO / "emailrelay.conf.5"

# SPEC 2.1 gives no letter for --hidden; E-MailRelay's is -H.
EXTRA_LETTERS = {"hidden": "H"}

# "--name" in running text: two dashes, then a lower-case word.
LONG_RE = re.compile(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)")
# "`--name <arg>` (-x" or "`--name[=...]` (-x, default ..." in SPEC 2.1.
SPEC_LETTER_RE = re.compile(
    r"`--([a-z0-9][a-z0-9-]*)[^`]*` \(-([A-Za-z0-9])[,;:)]")
# ".It Fl x , Fl -name ..." or ".It Fl -name ..." in emailrelay.8.
MAN8_ITEM_RE = re.compile(
    r"^\.It Fl (?:([A-Za-z0-9]) , Fl )?-([a-z0-9][a-z0-9-]*)(?![a-z0-9-])")
# ".It Cm name ..." in emailrelay.conf.5.
MAN5_ITEM_RE = re.compile(r"^\.It Cm ([a-z0-9][a-z0-9-]*)(?![a-z0-9-])")
# An option line of --help --verbose: optional "-x, " then "--name".
HELP_ITEM_RE = re.compile(
    r"^\s*(?:-([A-Za-z0-9]), )?--([a-z0-9][a-z0-9-]*)(?![a-z0-9-])")


def spec_section_21():
    if not SPEC.is_file():
        pytest.skip(f"SPEC.md not found at {SPEC}: comparison with the "
                    "specification skipped")
    text = SPEC.read_text(encoding="utf-8")
    m = re.search(r"^### 2\.1 Options\n(.*?)^#{2,3} ", text,
                  re.MULTILINE | re.DOTALL)
    assert m, f"no section '### 2.1 Options' in {SPEC}"
    return m.group(1)


def spec_options():
    names = set(LONG_RE.findall(spec_section_21()))
    # Sanity: the parse found the section and its implied expansions.
    assert {"as-client", "no-syslog", "log-format", "localedir"} <= names
    return names


def spec_letters():
    letters = dict(SPEC_LETTER_RE.findall(spec_section_21()))
    letters.update(EXTRA_LETTERS)
    return letters


def man8_items():
    """[(name, letter or None)] for each option entry, in order."""
    items = []
    for line in MAN8.read_text(encoding="utf-8").splitlines():
        m = MAN8_ITEM_RE.match(line)
        if m:
            items.append((m.group(2), m.group(1)))
    return items


def man5_items():
    items = []
    for line in MAN5.read_text(encoding="utf-8").splitlines():
        m = MAN5_ITEM_RE.match(line)
        if m:
            items.append(m.group(1))
    return items


def help_items():
    """[(name, letter or None)] from emailrelay --help --verbose."""
    build = Path(os.environ.get("EMAILRELAY_BUILD", REPO / "build"))
    exe = build / "emailrelay"
    assert exe.is_file() and os.access(exe, os.X_OK), \
        f"{exe} not built (run make, or set EMAILRELAY_BUILD)"
    p = subprocess.run([str(exe), "--help", "--verbose"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, \
        f"--help --verbose exited {p.returncode}: {p.stderr}"
    items = []
    for line in p.stdout.splitlines():
        m = HELP_ITEM_RE.match(line)
        if m:
            items.append((m.group(2), m.group(1)))
    assert items, f"no option lines in --help --verbose output:\n{p.stdout}"
    return items


def duplicates(names):
    return sorted(n for n, k in Counter(names).items() if k > 1)


def set_diff(what_a, a, what_b, b):
    """Message naming what is in one set and not the other."""
    return (f"in {what_a} but not {what_b}: {sorted(a - b)}; "
            f"in {what_b} but not {what_a}: {sorted(b - a)}")


def test_spec_parse_covers_every_option_group():
    names = spec_options()
    # One name from each group of SPEC 2.1, and the expected total.
    for n in ("spool-dir", "prompt-timeout", "no-smtp", "pop-no-delete",
              "admin-terminate", "server-auth-config", "tls-config",
              "control-socket", "close-stderr", "show"):
        assert n in names, n
    assert len(names) >= 76, sorted(names)


def test_conf5_one_entry_per_option():
    items = man5_items()
    assert not duplicates(items), \
        f"emailrelay.conf.5: options listed twice: {duplicates(items)}"
    spec = spec_options()
    assert set(items) == spec, set_diff("emailrelay.conf.5", set(items),
                                        "SPEC 2.1", spec)


def test_man8_one_entry_per_option():
    names = [n for n, _ in man8_items()]
    assert not duplicates(names), \
        f"emailrelay.8: options listed twice: {duplicates(names)}"
    conf5 = set(man5_items())
    assert set(names) == conf5, set_diff("emailrelay.8", set(names),
                                         "emailrelay.conf.5", conf5)
    spec = spec_options()
    assert set(names) == spec, set_diff("emailrelay.8", set(names),
                                        "SPEC 2.1", spec)


def test_man8_letters_match_spec():
    letters = {n: c for n, c in man8_items() if c is not None}
    assert not duplicates(letters.values()), \
        f"short letters used twice: {duplicates(letters.values())}"
    spec = spec_letters()
    assert letters == spec, set_diff(
        "emailrelay.8", set(letters.items()), "SPEC 2.1", set(spec.items()))


def test_help_lists_every_option():
    # A set: an indented continuation line may start with "--name" too.
    names = {n for n, _ in help_items()}
    conf5 = set(man5_items())
    assert names == conf5, set_diff("--help --verbose", names,
                                    "emailrelay.conf.5", conf5)
    spec = spec_options()
    assert names == spec, set_diff("--help --verbose", names, "SPEC 2.1",
                                   spec)


def test_help_letters_match_man8():
    helpl = {n: c for n, c in help_items() if c is not None}
    man8 = {n: c for n, c in man8_items() if c is not None}
    assert helpl == man8, set_diff("--help --verbose", set(helpl.items()),
                                   "emailrelay.8", set(man8.items()))


@pytest.mark.parametrize("page", [MAN8, MAN5], ids=lambda p: p.name)
def test_mandoc_lint_clean(page):
    mandoc = shutil.which("mandoc")
    assert mandoc, "mandoc not installed (apt-get install mandoc)"
    p = subprocess.run([mandoc, "-T", "lint", "-W", "warning", str(page)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    out = (p.stdout + p.stderr).strip()
    assert p.returncode == 0 and out == "", \
        f"mandoc exited {p.returncode}:\n{out}"


def test_pages_have_fixed_date():
    for page in (MAN8, MAN5):
        dd = [l for l in page.read_text(encoding="utf-8").splitlines()
              if l.startswith(".Dd ")]
        assert len(dd) == 1, page.name
        assert re.fullmatch(r"\.Dd [A-Z][a-z]+ [1-9][0-9]?, [0-9]{4}",
                            dd[0]), f"{page.name}: {dd[0]}"
