"""Test people: valid (and deliberately invalid) national ID numbers,
Person and the People generator, and the household CSV files the
importer reads."""

import datetime
import random

# ---------------------------------------------------------------------------
# National ID numbers
# ---------------------------------------------------------------------------

LETTER_CODES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17,
    "I": 34, "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23,
    "Q": 24, "R": 25, "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30,
    "Y": 31, "Z": 33,
}
WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1)


def id_check_digit(letter, digits8):
    """Check digit for a letter and the eight digits n1..n8."""
    t, u = divmod(LETTER_CODES[letter.upper()], 10)
    s = t * 1 + u * 9 + sum(int(d) * w for d, w in zip(digits8, WEIGHTS))
    return (10 - s % 10) % 10


def id_valid(s):
    """True for a valid citizen or new-style resident number."""
    if len(s) != 10:
        return False
    letter, rest = s[0].upper(), s[1:]
    if letter not in LETTER_CODES or not rest.isdigit() or not rest.isascii():
        return False
    if rest[0] not in "1289":
        return False
    return id_check_digit(letter, rest[:8]) == int(rest[8])


def make_id(rng, kind="citizen", letter=None):
    """A random valid ID: citizen (n1 in 1,2) or resident (n1 in 8,9)."""
    letter = letter or rng.choice(sorted(LETTER_CODES))
    first = rng.choice("12" if kind == "citizen" else "89")
    body = first + "".join(rng.choice("0123456789") for _ in range(7))
    return letter + body + str(id_check_digit(letter, body))


def bad_checksum(valid_id):
    """The same ID with a wrong check digit."""
    c = int(valid_id[-1])
    return valid_id[:-1] + str((c + 1 + random.randrange(9)) % 10)


def mask_id(s):
    """What the audit log and messages may show of an ID."""
    return s[:3] + "*****" + s[-2:]


# ---------------------------------------------------------------------------
# People and household CSV files
# ---------------------------------------------------------------------------

SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周"
GIVEN = "怡君雅婷家豪志明淑芬美玲建宏俊傑宗翰冠宇佳穎欣怡承恩柏翰詩涵"
ASCII_NAMES = ["Wang Xiao-Ming", "Lin Mei-Hua", "Chen Yu-Ting", "Huang Kai-Wen",
               "Tsai Pei-Shan", "Liu Chih-Hao", "Yang Shu-Fen", "Hsu Po-Yu"]


class Person:
    """One household record as the test knows it."""

    def __init__(self, pid, name, birth, indigenous=""):
        self.id = pid                 # normalised (upper case)
        self.name = name
        self.birth = birth            # datetime.date
        self.indigenous = indigenous  # "", "mountain", "plain"

    def __repr__(self):
        return "Person(%s)" % mask_id(self.id)


class People:
    """A generator of unique people (IDs never repeat within one run)."""

    used = set()

    def __init__(self, seed=None):
        self.rng = random.Random(seed)

    def new_id(self, kind="citizen"):
        while True:
            pid = make_id(self.rng, kind)
            if pid not in People.used:
                People.used.add(pid)
                return pid

    def person(self, kind="citizen", indigenous="", ascii_name=False,
               birth=None):
        if ascii_name:
            name = self.rng.choice(ASCII_NAMES) + " " + self.rng.choice(
                ["Jr", "II", "III"]) + "%03d" % self.rng.randrange(1000)
        else:
            name = (self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
                    + self.rng.choice(GIVEN))
        if birth is None:
            # 1935..2015, never a date that could occur in timestamps,
            # approval periods or batch dates of the test run.
            birth = datetime.date(self.rng.randrange(1935, 2016),
                                  self.rng.randrange(1, 13),
                                  self.rng.randrange(1, 29))
        return Person(self.new_id(kind), name, birth, indigenous)

    def batch(self, n, kinds=("citizen", "resident")):
        out = []
        for i in range(n):
            indig = ("", "", "mountain", "plain")[i % 4]
            out.append(self.person(kind=kinds[i % len(kinds)],
                                   indigenous=indig, ascii_name=(i % 5 == 0)))
        return out


def roc_date(d, slash=False):
    y = d.year - 1911
    if slash:
        return "%d/%02d/%02d" % (y, d.month, d.day)
    return "%03d%02d%02d" % (y, d.month, d.day)


INDIG_ZH = {"": "", "mountain": "山地", "plain": "平地"}


def household_csv(people, chinese=False, dates="iso", crlf=False, bom=False,
                  extra_lines=()):
    """The text of a household CSV for @people.

    dates: "iso", "roc" (YYYMMDD) or "roc_slash" (YYY/MM/DD).
    extra_lines: (index, raw line) inserted before data row @index
    (0-based), for faulty batches.
    """
    if chinese:
        rows = ["統一編號,姓名,出生日期,原住民身分別"]
    else:
        rows = ["id,name,birth_date,indigenous"]
    data = []
    for p in people:
        if dates == "iso":
            bd = p.birth.isoformat()
        else:
            bd = roc_date(p.birth, slash=(dates == "roc_slash"))
        ind = INDIG_ZH[p.indigenous] if chinese else p.indigenous
        data.append("%s,%s,%s,%s" % (p.id, p.name, bd, ind))
    for idx, raw in sorted(extra_lines, key=lambda x: -x[0]):
        data.insert(idx, raw)
    nl = "\r\n" if crlf else "\n"
    text = nl.join(rows + data) + nl
    return ("\ufeff" if bom else "") + text
