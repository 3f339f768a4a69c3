"""What each SSDA903 collection year accepts (docs/ssda903.md lists them, with the DfE's rule numbers).

A collection year runs from 1 April to 31 March and is named by both its calendar years, as the
DfE names it: "2024/25" ends on 31 March 2025. The codes a return may use change between years:
``SEX`` was ``1``/``2`` up to 2023/24 and is ``M``/``F``/``U`` from 2024/25, and the placement
types came and went (H5, P2 and Z1 end with 2024/25; K3 starts in 2024/25; Z11 to Z14 replace Z1 in
2025/26). The newest year's codes hold for later years until the DfE publishes their changes.
"""

import re
from dataclasses import dataclass
from datetime import date

# Stored sex, as ISO/IEC 5218 numbers (which SSDA903 used up to 2023/24): 0 not known.
SEX_NOT_KNOWN, MALE, FEMALE = 0, 1, 2
SEX_LABELS = {MALE: "male", FEMALE: "female", SEX_NOT_KNOWN: "not known"}

_EVERY_YEAR_PLACES = frozenset({
    "A3", "A4", "A5", "A6", "K1", "K2", "P1", "P3", "R1", "R2", "R3", "R5", "S1",
    "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6",
})


@dataclass(frozen=True)
class YearCodes:
    """The codes of the collection years from ``first`` (the calendar year of its 1 April) until
    the next ``YearCodes``."""

    first: int
    sex: dict[str, int]  # the return's code: the stored number
    places: frozenset[str]


_CODES = (
    YearCodes(first=0, sex={"1": MALE, "2": FEMALE}, places=_EVERY_YEAR_PLACES | {"H5", "P2", "Z1"}),
    YearCodes(first=2024, sex={"M": MALE, "F": FEMALE, "U": SEX_NOT_KNOWN},
              places=_EVERY_YEAR_PLACES | {"H5", "P2", "Z1", "K3"}),
    YearCodes(first=2025, sex={"M": MALE, "F": FEMALE, "U": SEX_NOT_KNOWN},
              places=_EVERY_YEAR_PLACES | {"K3", "Z11", "Z12", "Z13", "Z14"}),
)
_NAME = re.compile(r"(\d{4})/(\d{2})")


@dataclass(frozen=True, order=True)
class CollectionYear:
    """One collection year, by the calendar year of its first day.

    >>> year = CollectionYear.named("2024/25")
    >>> year, year.first_day, year.last_day
    (CollectionYear('2024/25'), datetime.date(2024, 4, 1), datetime.date(2025, 3, 31))
    >>> CollectionYear.containing(date(2025, 3, 31)) == year != CollectionYear.containing(date(2025, 4, 1))
    True
    >>> sorted(year.codes.sex), sorted(CollectionYear.named("2023/24").codes.sex)
    (['F', 'M', 'U'], ['1', '2'])
    """

    starts: int

    @classmethod
    def named(cls, name: str) -> "CollectionYear":
        """The year named as the DfE names it, "2024/25"; a ValueError in words for anything else."""
        match = _NAME.fullmatch(name.strip())
        if not match or (int(match[1]) + 1) % 100 != int(match[2]):
            raise ValueError("is not a collection year written as the DfE writes it, like 2024/25")
        return cls(int(match[1]))

    @classmethod
    def containing(cls, day: date) -> "CollectionYear":
        return cls(day.year if day.month >= 4 else day.year - 1)

    @property
    def name(self) -> str:
        return f"{self.starts}/{(self.starts + 1) % 100:02d}"

    @property
    def first_day(self) -> date:
        return date(self.starts, 4, 1)

    @property
    def last_day(self) -> date:
        return date(self.starts + 1, 3, 31)

    @property
    def codes(self) -> YearCodes:
        return [codes for codes in _CODES if codes.first <= self.starts][-1]

    def __repr__(self) -> str:
        return f"CollectionYear({self.name!r})"


def years_of_a_code(code: str, codes_of) -> str:
    """The collection years whose ``codes_of(YearCodes)`` holds ``code``, in words.

    >>> years_of_a_code("H5", lambda codes: codes.places)
    'up to 2024/25'
    >>> years_of_a_code("K3", lambda codes: codes.places)
    'from 2024/25'
    >>> years_of_a_code("1", lambda codes: codes.sex)
    'up to 2023/24'
    >>> years_of_a_code("Q9", lambda codes: codes.places)
    ''
    """
    holding = [index for index, codes in enumerate(_CODES) if code in codes_of(codes)]
    if not holding:
        return ""
    first, last = holding[0], holding[-1]
    if first == 0 and last == len(_CODES) - 1:
        return "in every year"
    if first == 0:
        return f"up to {CollectionYear(_CODES[last + 1].first - 1).name}"
    if last == len(_CODES) - 1:
        return f"from {CollectionYear(_CODES[first].first).name}"
    return f"from {CollectionYear(_CODES[first].first).name} to {CollectionYear(_CODES[last + 1].first - 1).name}"


# The Episodes file's other coded columns, the same in every year so far (the DfE validator's rules
# 143, 144, 145, 178, 149 and 1009); a blank is allowed, as the validator allows it.
EPISODE_CODES = {
    "RNE": frozenset({"S", "L", "P", "T", "B", "U"}),
    "LS": frozenset({"C1", "C2", "D1", "E1", "V2", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3"}),
    "CIN": frozenset({"N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"}),
    "PLACE_PROVIDER": frozenset({"PR0", "PR1", "PR2", "PR3", "PR4", "PR5"}),
    "REC": frozenset({"E11", "E12", "E2", "E3", "E4A", "E4B", "E13", "E41", "E45", "E46", "E47", "E48", "E5",
                      "E6", "E7", "E8", "E9", "E14", "E15", "E16", "E17", "X1"}),
    "REASON_PLACE_CHANGE": frozenset({"CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD",
                                      "LAREQ", "PLACE", "CUSTOD", "OTHER"}),
}
EPISODE_CODE_NAMES = {"RNE": "a reason for a new episode", "LS": "a legal status", "CIN": "a category of need",
                      "PLACE_PROVIDER": "a placement provider code", "REC": "a reason an episode ceased",
                      "REASON_PLACE_CHANGE": "a reason for a placement change"}
# RNE L: the episode changes the legal status only, so the placement goes on.
LEGAL_STATUS_ONLY = "L"
# URN XXXXXXX: the placement has no Ofsted URN (a regional adoption agency's, say).
NO_URN = "XXXXXXX"

# Every placement type of any year: what the database accepts.
EVERY_PLACE_CODE = frozenset().union(*(codes.places for codes in _CODES))
