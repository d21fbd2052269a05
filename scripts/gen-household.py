#!/usr/bin/env python3
"""Synthetic household-register batch for mod_verify demos, benchmarks and tests.

Writes a UTF-8 CSV with the header ``id,name,birth_date,indigenous``: unique,
checksum-valid national ID numbers (mostly letter M, Nantou County), synthetic
Chinese names, birth dates 1920-2024 and indigenous status (empty, ``mountain``
or ``plain``). Nobody in it is real.

    gen-household.py --count 100000 --seed 1 --out household.csv
    gen-household.py --count 100000 --seed 1 --out household.csv \\
        --print-sample 300 --print-absent 1

``--print-sample K`` prints K IDs that are in the batch, one per line, then
``--print-absent K`` prints K valid IDs that are *not* in the batch. The same
--count/--seed/--indigenous-rate always give the same file and the same IDs.

The file is also a small library (the single Python copy of the ID rules).
Its name has a hyphen, so load it by path:

    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_household", PATH)
    gh = importlib.util.module_from_spec(spec); spec.loader.exec_module(gh)
    gh.make_id("A", "12345678")   # -> "A123456789" (a valid ID)
    gh.id_valid("a123456789")    # -> True (either letter case)

Python 3 standard library only.
"""

import argparse
import datetime
import os
import random
import sys

__all__ = [
    "LETTER_CODES", "check_digit", "make_id", "id_valid", "id_status",
    "random_id", "absent_ids", "generate", "write_csv", "roc_date",
]

# Letter -> two-digit area code of the Ministry of the Interior.
LETTER_CODES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17,
    "I": 34, "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23,
    "Q": 24, "R": 25, "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30,
    "Y": 31, "Z": 33,
}

# Weights of tens, units, n1..n8 and the check digit.
_WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1)
_DIGITS = frozenset("0123456789")


def _second_value(ch):
    """Numeric value of the second character (a digit, or a letter in the
    old resident-certificate format, which counts the units of its code)."""
    if ch in _DIGITS:
        return ord(ch) - 48
    return LETTER_CODES[ch] % 10


def check_digit(prefix):
    """Check digit (0-9) for the first nine characters of an ID number,
    e.g. check_digit("A12345678") -> 9."""
    p = prefix.upper()
    if len(p) != 9 or p[0] not in LETTER_CODES:
        raise ValueError("need a letter and eight more characters")
    code = LETTER_CODES[p[0]]
    s = (code // 10) * 1 + (code % 10) * 9 + _second_value(p[1]) * 8
    for w, ch in zip(_WEIGHTS[3:], p[2:9]):
        s += w * (ord(ch) - 48)
    return (10 - s % 10) % 10


def make_id(letter, body):
    """A valid ID from its letter and its eight following characters."""
    prefix = letter.upper() + body
    return prefix + str(check_digit(prefix))


def id_status(s):
    """Why @s is not a valid ID number ("ok" when it is). Accepts citizens
    (letter, 1/2), residents (letter, 8/9) and old resident certificates
    (two letters A-D); either letter case."""
    if not s:
        return "empty"
    if len(s) != 10:
        return "length"
    u = s.upper()
    if u[0] not in LETTER_CODES:
        return "letter"
    if u[1] not in "1289ABCD":
        return "kind"
    if not all(c in _DIGITS for c in u[2:]):
        return "digits"
    if check_digit(u[:9]) != ord(u[9]) - 48:
        return "checksum"
    return "ok"


def id_valid(s):
    """True if @s is a valid ID number (see id_status)."""
    return id_status(s) == "ok"


def roc_date(d, sep=""):
    """ROC (Minguo) form of a date: 0650315, or 065/03/15 with sep="/"."""
    return "%03d%s%02d%s%02d" % (d.year - 1911, sep, d.month, sep, d.day)


# --- synthetic people --------------------------------------------------

_SURNAMES = (
    "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高潘簡朱鍾"
    "游彭詹胡施沈余盧梁趙顏柯翁魏孫戴范方宋鄧杜傅侯曹薛丁卓阮馬董温唐藍石"
    "蔣古紀姚連馮歐程湯田康姜白汪鄒尤巫黎涂龔嚴韓袁金童陸夏柳邵錢伍倪于"
)
_GIVEN = (
    "志明家豪俊傑建宏冠宇承恩宗翰宥廷柏翰品睿子軒彥廷哲瑋信宏文雄正義國華"
    "美玲淑芬雅婷怡君佳穎欣怡詩涵宜蓁思妤心怡靜宜惠如秀英麗華月娥玉蘭淑惠"
    "明德振興士豪世昌阿金水木春花秋月碧霞素珍麗卿慧敏佩君郁婷筱涵芷若承翰"
)
# Indigenous personal names in the forms household registers carry.
_INDIGENOUS_NAMES = (
    "瓦歷斯．諾幹", "比令．亞布", "尤幹．達道", "伊斯坦大．貝雅夫", "撒可努",
    "巴奈．母路", "拉娃．谷齡", "瑪雅．達利", "阿道．巴辣夫", "娃利斯",
    "哈尤．尤道", "莎韻．西江", "達努巴克", "伊苞", "吉娃斯．巴萬",
)
_FIRST_DAY = datetime.date(1920, 1, 1).toordinal()
_LAST_DAY = datetime.date(2024, 12, 31).toordinal()
_OTHER_LETTERS = "ABCDEFGHIJKLNOPQRSTUVWXYZ"   # everything but M


def random_id(rng, m_share=0.9):
    """One random valid citizen ID (letter M with probability m_share)."""
    letter = "M" if rng.random() < m_share else rng.choice(_OTHER_LETTERS)
    body = "%d%07d" % (rng.randint(1, 2), rng.randrange(10_000_000))
    return make_id(letter, body)


def generate(count, seed, indigenous_rate=0.1):
    """Rows (id, name, birth_date as datetime.date, indigenous) of a
    deterministic synthetic batch; every ID is valid and unique."""
    rng = random.Random(seed)
    seen = set()
    rows = []
    rand = rng.random
    randrange = rng.randrange
    surnames, given = _SURNAMES, _GIVEN
    ns, ng = len(surnames), len(given)
    span = _LAST_DAY - _FIRST_DAY + 1
    fromordinal = datetime.date.fromordinal
    while len(rows) < count:
        i = random_id(rng)
        if i in seen:
            continue
        seen.add(i)
        r = rand()
        if r < indigenous_rate:
            indigenous = "mountain" if rand() < 0.55 else "plain"
        else:
            indigenous = ""
        if indigenous and rand() < 0.3:
            name = _INDIGENOUS_NAMES[randrange(len(_INDIGENOUS_NAMES))]
        elif rand() < 0.15:
            name = surnames[randrange(ns)] + given[randrange(ng)]
        else:
            name = (surnames[randrange(ns)] + given[randrange(ng)]
                    + given[randrange(ng)])
        birth = fromordinal(_FIRST_DAY + randrange(span))
        rows.append((i, name, birth, indigenous))
    return rows


def absent_ids(rows, k, seed):
    """@k valid IDs (letter M) that are not among @rows."""
    present = {r[0] for r in rows}
    rng = random.Random("absent-%s" % (seed,))
    out = []
    while len(out) < k:
        i = random_id(rng, m_share=1.0)
        if i not in present and i not in out:
            out.append(i)
    return out


def write_csv(rows, path, roc_dates=False):
    """Write @rows as the household CSV (UTF-8, LF line ends)."""
    if roc_dates:
        fmt = roc_date
    else:
        fmt = datetime.date.isoformat
    lines = ["id,name,birth_date,indigenous"]
    lines.extend("%s,%s,%s,%s" % (i, n, fmt(b), ind) for i, n, b, ind in rows)
    lines.append("")
    data = "\n".join(lines).encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Write a synthetic household batch (UTF-8 CSV).")
    ap.add_argument("--count", type=int, required=True, help="rows to write")
    ap.add_argument("--seed", default="1", help="random seed (any string)")
    ap.add_argument("--out", required=True, help="CSV file to write")
    ap.add_argument("--indigenous-rate", type=float, default=0.1,
                    help="share of indigenous residents (default 0.1)")
    ap.add_argument("--roc-dates", action="store_true",
                    help="birth dates as ROC YYYMMDD instead of YYYY-MM-DD")
    ap.add_argument("--print-sample", type=int, default=0, metavar="K",
                    help="print K IDs of the batch to stdout")
    ap.add_argument("--print-absent", type=int, default=0, metavar="K",
                    help="then print K valid IDs that are not in the batch")
    a = ap.parse_args(argv)
    if a.count < 1:
        ap.error("--count must be at least 1")
    if not 0.0 <= a.indigenous_rate <= 1.0:
        ap.error("--indigenous-rate must be between 0 and 1")
    if a.print_sample < 0 or a.print_sample > a.count:
        ap.error("--print-sample must be between 0 and --count")
    if a.print_absent < 0:
        ap.error("--print-absent must not be negative")

    rows = generate(a.count, a.seed, a.indigenous_rate)
    write_csv(rows, a.out, a.roc_dates)
    out = []
    if a.print_sample:
        pick = random.Random("sample-%s" % a.seed).sample(
            range(len(rows)), a.print_sample)
        out.extend(rows[j][0] for j in pick)
    if a.print_absent:
        out.extend(absent_ids(rows, a.print_absent, a.seed))
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
