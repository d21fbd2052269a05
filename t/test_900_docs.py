"""The documents stay true to the code: the compliance matrix names tests
that exist and covers every clause of the regulation, every error-log
message number is documented once, and the README starts with the two
commands a newcomer needs."""

import glob
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(REPO, "docs")
COMPLIANCE = os.path.join(DOCS, "compliance.md")
LOG_MESSAGES = os.path.join(DOCS, "log-messages.md")
README = os.path.join(REPO, "README.md")
# CI checks the repository out with shared/ beside it
REGULATION = os.path.join(os.path.dirname(REPO), "shared", "mission",
                          "REGULATION.md")

STATUSES = {"done", "partial", "organisational"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def table_rows(text):
    """Cells of every markdown table row that is not a header rule."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")):
            continue
        cells = [c.strip() for c in line[1:-1].split("|")]
        if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
            continue
        rows.append(cells)
    return rows


def matrix_rows():
    """{clause: cells} of the compliance matrix (each clause once)."""
    rows = {}
    for cells in table_rows(read(COMPLIANCE)):
        if re.fullmatch(r"R\d+(\.\d+)*", cells[0]):
            assert cells[0] not in rows, "clause %s has two rows" % cells[0]
            assert len(cells) == 5, "row %s: %d cells" % (cells[0],
                                                          len(cells))
            rows[cells[0]] = cells
    return rows


# -- the compliance matrix --------------------------------------------

TEST_REF_RE = re.compile(r"\bt/((?:[\w-]+/)*[\w-]+\.(?:py|c))"
                         r"(?:::(\w+))?")


def test_compliance_matrix_names_existing_tests():
    text = read(COMPLIANCE)
    refs = TEST_REF_RE.findall(text)
    assert refs, "no test references found in docs/compliance.md"
    missing = []
    for path, func in refs:
        full = os.path.join(REPO, "t", path)
        if not os.path.isfile(full):
            missing.append("t/%s: no such file" % path)
            continue
        if func:
            assert path.endswith(".py"), "t/%s::%s" % (path, func)
            if not re.search(r"^def %s\(" % re.escape(func), read(full),
                             re.M):
                missing.append("t/%s::%s: no such test" % (path, func))
    assert not missing, ("docs/compliance.md cites tests that do not "
                         "exist:\n" + "\n".join(sorted(set(missing))))
    # every "done" row is proved by at least one test
    for clause, cells in matrix_rows().items():
        status = cells[4].strip("* ")
        assert status in STATUSES, "%s: status %r" % (clause, cells[4])
        if status == "done":
            assert TEST_REF_RE.search(cells[3]), \
                "%s is 'done' but cites no test" % clause


def test_every_clause_in_matrix():
    if not os.path.exists(REGULATION):
        pytest.skip("%s is absent (CI provides shared/ beside the "
                    "repository)" % REGULATION)
    clauses = re.findall(r"\*\*(R\d+(?:\.\d+)*)\b", read(REGULATION))
    assert len(clauses) >= 20, "clause ids not found in " + REGULATION
    rows = matrix_rows()
    missing = [c for c in clauses if c not in rows]
    assert not missing, ("clauses without a row in docs/compliance.md: "
                         + ", ".join(missing))
    unknown = sorted(set(rows) - set(clauses))
    assert not unknown, ("rows of docs/compliance.md for clauses the "
                         "regulation does not have: " + ", ".join(unknown))


# -- error-log message numbers ------------------------------------------

LEVELS = {"EMERG": "emerg", "ALERT": "alert", "CRIT": "crit", "ERR": "error",
          "WARNING": "warn", "NOTICE": "notice", "INFO": "info",
          "DEBUG": "debug"}


def code_lognos():
    """{n: [(file, line, level)]} of every VERIFY_LOGNO(n) in the httpd
    glue and every VERIFY_MSGNO(n) in the library (which logs through a
    callback the glue maps to the error log)."""
    found = {}
    for path in sorted(glob.glob(os.path.join(REPO, "mod_verify", "*.c"))):
        text = read(path)
        for m in re.finditer(r"VERIFY_(LOG|MSG)NO\((\d+)\)", text):
            # the level is the APLOG_ (VERIFY_LOG_) constant of the call
            call = text.rfind("ap_log_" if m.group(1) == "LOG" else "WLOG(",
                              0, m.start())
            lv = [x for x in re.findall(r"(?:APLOG|VERIFY_LOG)_(\w+)",
                                        text[call:m.start()])
                  if x in LEVELS] if call >= 0 else []
            level = LEVELS[lv[0]] if lv else None
            line = text.count("\n", 0, m.start()) + 1
            found.setdefault(int(m.group(2)), []).append(
                ("%s:%d" % (os.path.relpath(path, REPO), line), level))
    return found


def doc_lognos():
    """{n: [cells]} of the rows `| VFYn | level | ...` of the doc."""
    rows = {}
    for cells in table_rows(read(LOG_MESSAGES)):
        m = re.fullmatch(r"VFY(\d+)", cells[0])
        if m:
            rows.setdefault(int(m.group(1)), []).append(cells)
    return rows


def test_log_messages_listed():
    code = code_lognos()
    docs = doc_lognos()
    assert code, "no VERIFY_LOGNO(n) found in mod_verify/*.c"
    twice = {n: [w for w, _ in v] for n, v in code.items() if len(v) > 1}
    assert not twice, "message numbers used more than once: %r" % twice
    undocumented = sorted(set(code) - set(docs))
    assert not undocumented, ("VFY numbers without a row in "
                              "docs/log-messages.md: %s" % undocumented)
    unused = sorted(set(docs) - set(code))
    assert not unused, ("rows of docs/log-messages.md for numbers the "
                        "code does not use: %s" % unused)
    dup_rows = sorted(n for n, v in docs.items() if len(v) > 1)
    assert not dup_rows, "VFY numbers with two rows: %s" % dup_rows
    wrong = []
    for n, [(where, level)] in sorted(code.items()):
        doc_level = docs[n][0][1].strip("* ").lower()
        if level and doc_level != level:
            wrong.append("VFY%d: %s in %s, %s in the doc"
                         % (n, level, where, doc_level))
    assert not wrong, "levels differ:\n" + "\n".join(wrong)


# -- README -------------------------------------------------------------

def make_mentions(text):
    """(offset, target) of every make command in README.md: lines of
    fenced code blocks and inline code spans. A bare `make` is the
    default target."""
    out = []
    fenced = False
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            m = re.match(r"\s*(?:\$\s+)?make\b(?:\s+([A-Za-z][\w-]*))?",
                         line)
            if m:
                out.append((offset + m.start(), m.group(1) or "all"))
        else:
            for m in re.finditer(r"`(?:\$\s+)?make\b(?:\s+([A-Za-z][\w-]*))?"
                                 r"[^`]*`", line):
                out.append((offset + m.start(), m.group(1) or "all"))
        offset += len(line)
    return out


def test_readme_two_commands():
    mentions = make_mentions(read(README))
    targets = [t for _, t in mentions]
    assert "demo" in targets, "README.md does not mention `make demo`"
    assert "test" in targets, "README.md does not mention `make test`"
    first = {t: min(o for o, x in mentions if x == t) for t in
             ("demo", "test")}
    before = [t for o, t in mentions
              if t not in ("demo", "test") and o < max(first.values())]
    assert not before, ("README.md mentions make %s before `make demo` "
                        "and `make test`" % ", ".join(before))
