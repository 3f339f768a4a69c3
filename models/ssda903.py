"""SSDA903 import: the Header, Episodes and Missing tables of the children looked after return, as
CSV files with the return's own column names and dates as dd/mm/YYYY (shared/DOMAIN.md).

``check_return`` reads and checks everything and writes nothing; ``write_return`` then writes the
rows that passed. Every problem names its file, row (the line in the file, the column names being
line 1), column, value and reason. A row is matched to what is already stored, so loading the same
files twice changes nothing:
- a young person by ``CHILD`` (stored as their reference, upper case);
- a placement by ``CHILD`` and ``DECOM``;
- a missing episode by ``CHILD`` and the London date of ``MIS_START``. An episode recorded in the
  app keeps its times of day and places; the import only changes its type or its end date.

Warnings tell of what the DfE's validator queries without refusing (a SEX of U, a return's own
PL_DISTANCE, PL_LA or PL_LOCATION that is not what the DfE derives): the row is imported, and the
warning listed beside the problems.

Codes are checked against those of the return's collection year (models.collection_years): the
year stated, or else the one holding the latest date in the files, named in every message about a
code or a date after its end.

The Header's ``ETHNIC``, ``UPN``, ``MOTHER`` and ``MC_DOB`` are not read: the dashboard needs none
of them, and a UPN identifies a child. Of ``DOB`` only the month is kept.
"""

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO

from sqlalchemy import ARRAY, Text, any_, func, insert, literal, select, update
from sqlalchemy.orm import Session

from geo.coords import LatLng
from geo.grid import dfe_distance_miles
from geo.hexes import cells_of
from geo.postcodes import normalise_postcode
from models import upkeep
from models.base import copy_rows
from models.codes import MissingType
from models.collection_years import (
    EPISODE_CODE_NAMES,
    EPISODE_CODES,
    LEGAL_STATUS_ONLY,
    NO_URN,
    SEX_NOT_KNOWN,
    CollectionYear,
    years_of_a_code,
)
from models.distances import OWN_UPPER_TIER
from models.geography import LocalAuthority, Postcode
from models.imports import ImportOutcome, ImportRun
from models.people import Organisation, User
from models.queries import same_child
from models.safeguarding import MissingEpisode, Placement, YoungPerson
from models.spreadsheet import spreadsheet_text
from models.times import LONDON, london_midnight, london_today

HEADER, EPISODES, MISSING, UASC = "Header", "Episodes", "Missing", "UASC"
REQUIRED_COLUMNS = {
    HEADER: ("CHILD", "SEX", "DOB"),
    EPISODES: ("CHILD", "DECOM", "PLACE", "DEC", "HOME_POST", "PL_POST"),
    MISSING: ("CHILD", "MISSING", "MIS_START", "MIS_END"),
    UASC: ("CHILD", "DUC"),
}
REFERENCE_LENGTH = YoungPerson.__table__.c.reference.type.length
CHILD_PATTERN = re.compile(r"[A-Z0-9_-]+")  # upper-cased before the check
URN_LENGTH = Placement.__table__.c.urn.type.length
DISTANCE_ROUNDING = 0.1  # miles: a return's PL_DISTANCE and the project's figure may differ by this
DATE_FORMAT = "%d/%m/%Y"


@dataclass(frozen=True)
class Problem:
    file: str
    row: int  # the line in the file; the column names are line 1, and 0 is the file as a whole
    column: str
    value: str
    reason: str
    child: str = ""

    @property
    def message(self) -> str:
        """
        >>> Problem("Episodes", 4, "PLACE", "Q9", "is not an SSDA903 placement type").message
        "Episodes row 4, PLACE: 'Q9' is not an SSDA903 placement type"
        """
        where = f"{self.file} row {self.row}" if self.row else self.file
        return f"{where}, {self.column}: {self.value!r} {self.reason}" if self.column else f"{where}: {self.reason}"


@dataclass
class ChildRow:
    row: int
    child: str
    sex: int
    birth: date


@dataclass
class EpisodeRow:
    row: int
    child: str
    started_on: date
    ended_on: date | None
    place_code: str
    home_postcode: str | None
    placement_postcode: str | None
    urn: str | None
    legal_status: str | None = None
    new_episode_reason: str | None = None
    return_distance: Decimal | None = None  # the return's own PL_DISTANCE, if it gave one
    # The episode before it, in the file, whose placement it goes on with (RNE L).
    continues: "EpisodeRow | None" = None


@dataclass
class AsylumRow:
    """A child of the UASC file: an unaccompanied asylum-seeking child, now (DUC blank) or before."""

    row: int
    child: str
    ceased_on: date | None


@dataclass
class MissingRow:
    row: int
    child: str
    missing_type: MissingType
    started_on: date
    ended_on: date | None


@dataclass
class CheckedReturn:
    """The rows that passed every check, and every problem found. Nothing has been written."""

    children: list[ChildRow] = field(default_factory=list)
    episodes: list[EpisodeRow] = field(default_factory=list)
    missing: list[MissingRow] = field(default_factory=list)
    asylum_seeking: list[AsylumRow] | None = None  # None: no UASC file
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # told, not refused
    rows_read: dict[str, int] = field(default_factory=dict)
    postcodes: dict[str, LatLng | None] = field(default_factory=dict)  # None: no grid reference
    year: CollectionYear | None = None

    @property
    def rejected_rows(self) -> int:
        return len({(p.file, p.row) for p in self.problems})


@dataclass
class Written:
    """Rows created, updated and found unchanged, per table."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {table: {"created": 0, "updated": 0, "unchanged": 0}
                                 for table in ("young people", "placements", "missing episodes")})

    def add(self, table: str, outcome: str, number: int = 1) -> None:
        self.counts[table][outcome] += number


def rejected_csv(problems: list[Problem], warnings: list[Problem] = (), year: CollectionYear | None = None) -> str:
    """The problems, then the warnings, as CSV, one line each, in file and row order; ``kind``
    says which (a warning's row was imported), and each line names the collection year whose
    codes it was checked against, so that the file says so wherever it is sent."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("file", "row", "CHILD", "column", "value", "reason", "kind", "collection_year"))
    order = {HEADER: 0, EPISODES: 1, MISSING: 2, UASC: 3}
    for kind, listed in (("problem", problems), ("warning", warnings)):
        for p in sorted(listed, key=lambda p: (order.get(p.file, 4), p.row)):
            writer.writerow((p.file, p.row, spreadsheet_text(p.child), p.column, spreadsheet_text(p.value), p.reason,
                             kind, year.name if year else ""))
    return out.getvalue()


_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def read_date(value: str) -> date | None:
    """A date written dd/mm/YYYY (or d/m/YYYY), or None: a fifth of the time of strptime, for
    the 375,000 dates of a city's return.

    >>> read_date("14/03/2010"), read_date("1/2/2010"), read_date("31/02/2010"), read_date("2010-03-14")
    (datetime.date(2010, 3, 14), datetime.date(2010, 2, 1), None, None)
    """
    match = _DATE.fullmatch(value)
    if match is None:
        return None
    try:
        return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None


def _text_in(column, values) -> object:
    """``column`` is one of ``values``, sent as one text array rather than a parameter each."""
    return column == any_(literal(sorted(values), ARRAY(Text)))


# ---- reading ------------------------------------------------------------------------------------


class _Rows:
    """One file's rows, with the problems and warnings of the row being read."""

    def __init__(self, name: str, problems: list[Problem], warnings: list[Problem]):
        self.name, self.problems, self.warnings = name, problems, warnings
        self.year: CollectionYear | None = None  # set once every file is read
        self.today = london_today()

    def read(self, text: IO[str] | None) -> list[tuple[int, dict[str, str]]]:
        if text is None:
            return []
        reader = csv.reader(text)
        columns = [column.strip().upper() for column in next(reader, [])]
        lacking = [c for c in REQUIRED_COLUMNS[self.name] if c not in columns]
        for column in lacking:
            self.problems.append(Problem(self.name, 1, column, "", "is a column the file does not have"))
        if lacking:
            return []
        rows = []
        try:
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue  # blank lines, as spreadsheets leave at the end
                cells += [""] * (len(columns) - len(cells))
                rows.append((reader.line_num, {column: cell.strip() for column, cell in zip(columns, cells)}))
        except csv.Error as error:  # a cell over the csv module's limit of 131,072 characters
            self.problems.append(Problem(self.name, reader.line_num, "", "", f"cannot be read as CSV: {error}"))
            return []
        return rows

    def problem(self, row: int, column: str, value: str, reason: str, child: str = "") -> None:
        self.problems.append(Problem(self.name, row, column, value, reason, child))

    def header_birth(self, row: int, values: dict, births: dict[str, date], child: str) -> date | None:
        """The child's DOB in the Header file, after checking the row's own DOB, if it gives one, against it."""
        birth = births.get(child)
        if values.get("DOB") and birth and self.date(row, values, "DOB", child) not in (birth, False):
            self.problem(row, "DOB", values["DOB"], f"is not the DOB in the Header file ({birth:{DATE_FORMAT}})", child)
        return birth

    def warn(self, row: int, column: str, value: str, reason: str, child: str = "") -> None:
        self.warnings.append(Problem(self.name, row, column, value, reason, child))

    def date(self, row: int, values: dict, column: str, child: str, blank_ok: bool = False) -> date | None | bool:
        """The column's date; None when blank and allowed; False (after a problem) when wrong."""
        value = values.get(column, "")
        if not value:
            if blank_ok:
                return None
            self.problem(row, column, value, "is missing: give a date as dd/mm/YYYY", child)
            return False
        day = read_date(value)
        if day is None:
            self.problem(row, column, value, "is not a date as dd/mm/YYYY", child)
            return False
        if day > self.today:
            self.problem(row, column, value, "is in the future", child)
            return False
        if day > self.year.last_day:
            self.problem(row, column, value, f"is after the end of the {self.year.name} collection year "
                         f"({self.year.last_day:{DATE_FORMAT}}): is this a later year's return?", child)
            return False
        return day


def check_return(session: Session, organisation: Organisation, header: IO[str],
                 episodes: IO[str] | None = None, missing: IO[str] | None = None,
                 year: CollectionYear | None = None, uasc: IO[str] | None = None) -> CheckedReturn:
    """Read and check the tables (all but the Header may be left out) against each other, against
    what is stored and against the codes of ``year`` (None: the collection year of the latest date
    in the files). Writes nothing."""
    result = CheckedReturn()
    every_file = header_rows, episode_rows, missing_rows, uasc_rows = tuple(
        _Rows(name, result.problems, result.warnings) for name in (HEADER, EPISODES, MISSING, UASC))
    raw_header, raw_episodes, raw_missing = header_rows.read(header), episode_rows.read(episodes), missing_rows.read(missing)
    raw_uasc = uasc_rows.read(uasc)
    result.rows_read = {HEADER: len(raw_header), EPISODES: len(raw_episodes), MISSING: len(raw_missing)}
    if uasc is not None:
        result.rows_read[UASC] = len(raw_uasc)
    result.year = year or _year_of_the_dates(raw_episodes, raw_missing)
    for rows in every_file:
        rows.year = result.year

    children, births, refused_children = _check_header(session, organisation, header_rows, raw_header)
    result.children = list(children.values())
    known = set(children)

    def belongs(rows: _Rows, row: int, child: str) -> bool:
        if child in known:
            return True
        if not child:
            rows.problem(row, "CHILD", child, "is missing")
        elif child in refused_children:
            rows.problem(row, "CHILD", child, "has a problem in the Header file, so this row is not imported", child)
        else:
            rows.problem(row, "CHILD", child, "is not in the Header file", child)
        return False

    result.postcodes, listed = _postcode_points(session, raw_episodes)
    result.episodes = _check_episodes(episode_rows, raw_episodes, belongs, result.postcodes, listed,
                                      organisation.local_authority_code)
    stored = _stored_episodes(session, organisation, known)
    result.missing = _check_missing(missing_rows, raw_missing, belongs, births, stored)
    if uasc is not None:
        result.asylum_seeking = _check_uasc(uasc_rows, raw_uasc, belongs, births)
    return result


def _check_uasc(rows: _Rows, raw, belongs, births: dict[str, date]) -> list[AsylumRow]:
    """The UASC file: each child once, of the Header, with her DOB if given, and the day her
    status ceased (DUC) if it has."""
    accepted: dict[str, AsylumRow] = {}
    for row, values in raw:
        child = values["CHILD"].upper()
        before = len(rows.problems)
        if belongs(rows, row, child) and child in accepted:
            rows.problem(row, "CHILD", values["CHILD"], "is in the UASC file more than once", child)
        ceased = rows.date(row, values, "DUC", child, blank_ok=True)
        birth = rows.header_birth(row, values, births, child)
        if ceased and birth and ceased < birth:
            rows.problem(row, "DUC", values["DUC"], "is before the child's DOB", child)
        if len(rows.problems) == before:
            accepted[child] = AsylumRow(row, child, ceased)
    return list(accepted.values())


def _year_of_the_dates(raw_episodes, raw_missing) -> CollectionYear:
    """The collection year holding the latest episode or missing date in the files (today's when
    there is none): dates that cannot be read are left to the checks that name them."""
    today = london_today()
    days = (read_date(values.get(column, "")) for raw, columns in ((raw_episodes, ("DECOM", "DEC")),
                                                                    (raw_missing, ("MIS_START", "MIS_END")))
            for _, values in raw for column in columns)
    return CollectionYear.containing(max((day for day in days if day is not None and day <= today), default=today))


def _code_problem(code: str, codes_of, what: str, year: CollectionYear) -> str:
    """Why ``code`` is refused in ``year``, naming the years that accept it, if any.

    >>> _code_problem("1", lambda codes: codes.sex, "a sex code", CollectionYear.named("2024/25"))
    'is not a sex code of 2024/25, whose codes are F, M and U (1 is one up to 2023/24)'
    >>> _code_problem("Q9", lambda codes: codes.places, "a placement type", CollectionYear.named("2025/26"))
    'is not a placement type of 2025/26'
    """
    reason = f"is not {what} of {year.name}"
    accepted = sorted(codes_of(year.codes))
    if len(accepted) <= 5:
        reason += f", whose codes are {', '.join(accepted[:-1])} and {accepted[-1]}"
    other_years = years_of_a_code(code, codes_of)
    return reason + (f" ({code} is one {other_years})" if other_years else "")


def _check_header(session, organisation, rows: _Rows, raw) -> tuple[dict[str, ChildRow], dict[str, date], set[str]]:
    children: dict[str, ChildRow] = {}
    births: dict[str, date] = {}
    refused: set[str] = set()
    for row, values in raw:
        child = values["CHILD"].upper()
        before = len(rows.problems)
        if not child:
            rows.problem(row, "CHILD", child, "is missing")
        elif len(child) > REFERENCE_LENGTH:
            rows.problem(row, "CHILD", values["CHILD"], f"is longer than {REFERENCE_LENGTH} characters", child)
        elif not CHILD_PATTERN.fullmatch(child):
            rows.problem(row, "CHILD", values["CHILD"], "holds characters other than letters, digits, - and _", child)
        elif child in children or child in refused:
            rows.problem(row, "CHILD", values["CHILD"], "is in the Header file more than once", child)
        sexes = rows.year.codes.sex
        sex = values["SEX"].upper()
        if sex not in sexes:
            rows.problem(row, "SEX", values["SEX"], _code_problem(sex, lambda codes: codes.sex, "a sex code", rows.year), child)
        elif sexes[sex] == SEX_NOT_KNOWN:
            rows.warn(row, "SEX", values["SEX"], "is not known: imported, though the DfE's validator queries every "
                      "U (its rule 232)", child)
        birth = rows.date(row, values, "DOB", child)
        if len(rows.problems) > before:
            if child and child not in children:
                refused.add(child)
            continue
        children[child] = ChildRow(row, child, sexes[sex], birth)
        births[child] = birth
    return children, births, refused


@dataclass(frozen=True)
class _Listed:
    """What the directory says of a postcode that the DfE derives its columns from."""

    easting: float | None
    northing: float | None
    placement_authority: str | None  # PL_LA as the DfE derives it: the upper tier, or SCO, WAL, NIR


# The DfE's PL_LA for placements outside England, by the first letter of the district's code.
_NATIONS = {"S": "SCO", "W": "WAL", "N": "NIR"}


def _postcode_points(session, raw_episodes) -> tuple[dict[str, LatLng | None], dict[str, _Listed]]:
    """Where each postcode the Episodes name is, for those in the directory: None for the 24,159 it
    lists without a grid reference (the Channel Islands, the Isle of Man, some in Northern Ireland),
    which are valid postcodes whose distance is not known, as the DfE counts them. And what the
    directory says of each, for the columns the DfE derives (PL_DISTANCE, PL_LA)."""
    wanted = {normalise_postcode(values.get(column, "")) for _, values in raw_episodes
              for column in ("HOME_POST", "PL_POST")} - {None}
    if not wanted:
        return {}, {}
    rows = session.execute(
        select(Postcode.postcode, func.ST_Y(Postcode.location), func.ST_X(Postcode.location), Postcode.easting,
               Postcode.northing, Postcode.local_authority_code, LocalAuthority.upper_tier_code)
        .outerjoin(LocalAuthority, LocalAuthority.code == Postcode.local_authority_code)
        .where(_text_in(Postcode.postcode, wanted))
    ).all()
    points = {row.postcode: None if row[1] is None else LatLng(row[1], row[2]) for row in rows}
    listed = {}
    for row in rows:
        district = row.local_authority_code or ""
        upper = _NATIONS.get(district[:1]) or row.upper_tier_code or (district if district.startswith(OWN_UPPER_TIER)
                                                                         else None)
        listed[row.postcode] = _Listed(row.easting, row.northing, upper)
    return points, listed


def return_miles(typed: str) -> Decimal | None:
    """A return's own PL_DISTANCE, in miles to one decimal place, or None when it gives none that
    can be one (the DfE's range is 0.0 to 999.9).

    >>> return_miles("2.5"), return_miles("12"), return_miles(""), return_miles("far"), return_miles("1000")
    (Decimal('2.5'), Decimal('12.0'), None, None, None)
    """
    try:
        miles = Decimal(typed).quantize(Decimal("0.1"))
    except (ArithmeticError, ValueError):
        return None
    return miles if miles.is_finite() and Decimal(0) <= miles <= Decimal("999.9") else None


def _derived_column_warnings(rows: _Rows, row: int, values: dict, postcodes: dict, listed: dict[str, _Listed],
                             authority: str, child: str) -> None:
    """A return's own PL_DISTANCE, PL_LA and PL_LOCATION (some systems export them) set against
    what the DfE derives from the directory: told by row where they differ (a distance by more than
    rounding), never refused."""
    home, placement = (listed.get(postcodes[column]) for column in ("HOME_POST", "PL_POST"))
    typed = values.get("PL_DISTANCE", "")
    theirs = return_miles(typed)
    if typed and theirs is None:
        rows.warn(row, "PL_DISTANCE", typed, "is not a distance in miles from 0.0 to 999.9, like 2.5: left aside", child)
    elif theirs is not None and (home is None or placement is None or home.easting is None or placement.easting is None):
        rows.warn(row, "PL_DISTANCE", typed, "is given, but HOME_POST and PL_POST do not both have a grid "
                  "reference in the ONS Postcode Directory: the DfE records no distance", child)
    elif theirs is not None:
        ours = dfe_distance_miles(home.easting, home.northing, placement.easting, placement.northing)
        if round(abs(float(theirs) - ours), 1) > DISTANCE_ROUNDING:
            rows.warn(row, "PL_DISTANCE", typed, f"is not the {ours:.1f} miles between HOME_POST and PL_POST by "
                      "the DfE's formula on the ONS Postcode Directory's grid references", child)
    ours_la = placement.placement_authority if placement else None
    typed_la = values.get("PL_LA", "").upper()
    if typed_la and ours_la and typed_la != ours_la:
        rows.warn(row, "PL_LA", values["PL_LA"], f"is not {ours_la}, the authority of PL_POST as the DfE derives it "
                  "from the ONS Postcode Directory", child)
    typed_location = values.get("PL_LOCATION", "").upper()
    if typed_location and ours_la:
        ours_location = "IN" if ours_la == authority else "OUT"
        if typed_location != ours_location:
            rows.warn(row, "PL_LOCATION", values["PL_LOCATION"], f"is not {ours_location}: PL_POST is in {ours_la}, "
                      f"{'the' if ours_location == 'IN' else 'not the'} responsible authority ({authority})", child)


def _check_episodes(rows: _Rows, raw, belongs, points: dict[str, LatLng | None], listed: dict[str, _Listed],
                    authority: str) -> list[EpisodeRow]:
    accepted: list[EpisodeRow] = []
    starts: set[tuple[str, date]] = set()
    for row, values in raw:
        child = values["CHILD"].upper()
        before = len(rows.problems)
        belongs(rows, row, child)
        started = rows.date(row, values, "DECOM", child)
        ended = rows.date(row, values, "DEC", child, blank_ok=True)
        if started and ended and ended < started:
            rows.problem(row, "DEC", values["DEC"], f"is before DECOM ({values['DECOM']})", child)
        if started and (child, started) in starts:
            rows.problem(row, "DECOM", values["DECOM"], "starts another episode of this CHILD on the same day", child)
        place = values["PLACE"].upper()
        if place not in rows.year.codes.places:
            rows.problem(row, "PLACE", values["PLACE"],
                         _code_problem(place, lambda codes: codes.places, "a placement type", rows.year), child)
        postcodes = {}
        for column in ("HOME_POST", "PL_POST"):
            typed = values[column]
            postcode = normalise_postcode(typed) if typed else None
            if typed and postcode is None:
                rows.problem(row, column, typed, "is not a UK postcode", child)
            elif postcode and postcode not in points:
                rows.problem(row, column, typed, "is not in the ONS Postcode Directory", child)
            postcodes[column] = postcode
        coded = {column: values.get(column, "").upper() for column in EPISODE_CODES}
        for column, code in coded.items():
            if code and code not in EPISODE_CODES[column]:
                rows.problem(row, column, values[column], f"is not {EPISODE_CODE_NAMES[column]} of {rows.year.name}", child)
        urn = values.get("URN", "")
        if len(urn) > URN_LENGTH:
            rows.problem(row, "URN", urn, f"is longer than {URN_LENGTH} characters", child)
        if len(rows.problems) > before:
            continue
        _derived_column_warnings(rows, row, values, postcodes, listed, authority, child)
        starts.add((child, started))
        accepted.append(EpisodeRow(row, child, started, ended, place, postcodes["HOME_POST"], postcodes["PL_POST"],
                                   None if urn.upper() == NO_URN else urn or None,
                                   coded["LS"] or None, coded["RNE"] or None, return_miles(values.get("PL_DISTANCE", ""))))
    return _check_episode_order(rows, accepted)


def _check_episode_order(rows: _Rows, episodes: list[EpisodeRow]) -> list[EpisodeRow]:
    """Each child's episodes in order of DECOM: only the latest may be open (the DfE validator's
    rule 142), and an episode that changes only the legal status (RNE L) goes on with the
    placement of the episode that ends as it begins, which must be the same placement."""
    by_child: dict[str, list[EpisodeRow]] = defaultdict(list)
    for episode in episodes:
        by_child[episode.child].append(episode)
    refused: set[int] = set()
    for child, own in by_child.items():
        own.sort(key=lambda episode: episode.started_on)
        for episode, later in zip(own, own[1:]):
            if episode.ended_on is None:
                rows.problem(episode.row, "DEC", "", f"is blank, but this CHILD has a later episode (DECOM "
                             f"{later.started_on:{DATE_FORMAT}}): only the latest episode may be open", child)
                refused.add(episode.row)
        for previous, episode in zip(own, own[1:]):
            if episode.new_episode_reason != LEGAL_STATUS_ONLY or previous.ended_on != episode.started_on:
                continue
            for column, theirs, ours in (("PLACE", previous.place_code, episode.place_code),
                                         ("PL_POST", previous.placement_postcode, episode.placement_postcode)):
                if theirs != ours:
                    rows.problem(episode.row, column, ours or "", f"is not the {theirs or 'blank'} of the episode "
                                 f"before, though RNE is L (a change of legal status only)", child)
                    refused.add(episode.row)
            if episode.row not in refused and previous.row not in refused:
                episode.continues = previous
    return [episode for episode in episodes if episode.row not in refused]


@dataclass(frozen=True)
class _Stored:
    """A missing episode already in the database."""

    id: int
    child: str
    started_at: datetime
    ended_at: datetime | None
    missing_type: str


def _stored_episodes(session, organisation, children: set[str]) -> dict[str, list[_Stored]]:
    stored: dict[str, list[_Stored]] = defaultdict(list)
    if not children:
        return stored
    rows = session.execute(
        select(MissingEpisode.id, YoungPerson.reference, MissingEpisode.started_at, MissingEpisode.ended_at,
               MissingEpisode.missing_type)
        .join(YoungPerson, same_child(YoungPerson, MissingEpisode))
        .where(MissingEpisode.organisation_id == organisation.id, YoungPerson.organisation_id == organisation.id,
               _text_in(YoungPerson.reference, children))
    )
    for row in rows:
        stored[row.reference].append(_Stored(row.id, row.reference, row.started_at, row.ended_at, row.missing_type))
    return stored


def _london_day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def episode_times(row: MissingRow, existing: _Stored | None) -> tuple[datetime, datetime | None]:
    """The start and end an imported episode is stored with. A stored episode keeps its times of day
    where its dates agree with the file."""
    if existing is None:
        return london_midnight(row.started_on), london_midnight(row.ended_on) if row.ended_on else None
    started = existing.started_at
    if row.ended_on is None:
        return started, None
    if existing.ended_at is not None and _london_day(existing.ended_at) == row.ended_on:
        return started, existing.ended_at
    return started, max(started, london_midnight(row.ended_on))


def _overlap(a: tuple[datetime, datetime | None], b: tuple[datetime, datetime | None]) -> bool:
    """Whether two [start, end) ranges share a moment, as PostgreSQL's ``&&`` on tstzrange: an
    episode that ends as it starts is empty and overlaps nothing, and no end is open."""
    (a_start, a_end), (b_start, b_end) = a, b
    if a_start == a_end or b_start == b_end:
        return False
    return (b_end is None or a_start < b_end) and (a_end is None or b_start < a_end)


def _as_dates(span: tuple[datetime, datetime | None]) -> str:
    start, end = span
    return f"{_london_day(start):{DATE_FORMAT}} to " + (f"{_london_day(end):{DATE_FORMAT}}" if end else "(still open)")


def _check_missing(rows: _Rows, raw, belongs, births: dict[str, date],
                   stored: dict[str, list[_Stored]]) -> list[MissingRow]:
    read: list[MissingRow] = []
    for row, values in raw:
        child = values["CHILD"].upper()
        before = len(rows.problems)
        belongs(rows, row, child)
        kind = values["MISSING"].upper()
        if kind not in {t.value for t in MissingType}:
            rows.problem(row, "MISSING", values["MISSING"], "is not M (missing) or A (away from placement)", child)
        started = rows.date(row, values, "MIS_START", child)
        ended = rows.date(row, values, "MIS_END", child, blank_ok=True)
        if started and ended and ended < started:
            rows.problem(row, "MIS_END", values["MIS_END"], f"is before MIS_START ({values['MIS_START']})", child)
        birth = rows.header_birth(row, values, births, child)
        if started and birth and started < birth:
            rows.problem(row, "MIS_START", values["MIS_START"], "is before the child's DOB", child)
        if len(rows.problems) == before:
            read.append(MissingRow(row, child, MissingType(kind), started, ended))

    # Overlaps, child by child in order of start: a row is refused when it overlaps a stored episode
    # it does not update, or an earlier row that was accepted.
    accepted: list[MissingRow] = []
    by_child: dict[str, list[MissingRow]] = defaultdict(list)
    for episode in read:
        by_child[episode.child].append(episode)
    for child, episodes in by_child.items():
        on_day: dict[date, list[_Stored]] = defaultdict(list)
        for stored_episode in stored.get(child, []):
            on_day[_london_day(stored_episode.started_at)].append(stored_episode)
        # A stored episode stands until an accepted row updates it: only then does its new span
        # replace the old one, so a refused row never leaves a clash behind.
        taken: list[tuple[tuple[datetime, datetime | None], str]] = []
        updated: set[date] = set()
        seen_starts: set[date] = set()
        for episode in sorted(episodes, key=lambda e: (e.started_on, e.row)):
            start_value = f"{episode.started_on:{DATE_FORMAT}}"
            if episode.started_on in seen_starts:
                rows.problem(episode.row, "MIS_START", start_value, "starts another episode of this CHILD on the same day", child)
                continue
            matches = on_day.get(episode.started_on, [])
            if len(matches) > 1:
                rows.problem(episode.row, "MIS_START", start_value,
                             f"matches {len(matches)} episodes already recorded that day: correct them in the app first", child)
                continue
            span = episode_times(episode, matches[0] if matches else None)
            standing = [((s.started_at, s.ended_at), f"an episode already recorded ({_as_dates((s.started_at, s.ended_at))})")
                        for day, same_day in on_day.items() if day != episode.started_on and day not in updated
                        for s in same_day]
            clash = next((what for other, what in taken + standing if _overlap(span, other)), None)
            if clash:
                rows.problem(episode.row, "MIS_START", start_value, f"overlaps {clash}", child)
                continue
            seen_starts.add(episode.started_on)
            updated.add(episode.started_on)
            taken.append((span, f"the episode in row {episode.row} ({_as_dates(span)})"))
            accepted.append(episode)
    return sorted(accepted, key=lambda e: e.row)


# ---- writing ------------------------------------------------------------------------------------


def write_return(session: Session, checked: CheckedReturn, organisation: Organisation) -> Written:
    """Create or update the young people, placements and missing episodes that passed the checks.
    The caller commits, or rolls back to write nothing."""
    written = Written()
    people = _write_people(session, checked, organisation, written)
    _write_placements(session, checked, people, organisation, written)
    _write_missing(session, checked, people, organisation, written)
    return written


def _row_values(point: LatLng | None) -> dict:
    return {"location": point.wkt if point else None, "cells": cells_of(point) if point else None}


def _renew(session, organisation: Organisation, table: str) -> None:
    """The organisation's token of ``table``, after statements that wrote it (models.upkeep)."""
    upkeep.renew_data_versions(session.connection(), organisation.id, [table])


def _write_people(session, checked: CheckedReturn, organisation: Organisation, written: Written) -> dict[str, int]:
    # The home is the HOME_POST of each child's latest episode that has one.
    homes: dict[str, str] = {}
    for episode in sorted(checked.episodes, key=lambda e: e.started_on):
        if episode.home_postcode:
            homes[episode.child] = episode.home_postcode
    stored = {person.reference: person for person in session.scalars(
        select(YoungPerson).where(YoungPerson.organisation_id == organisation.id,
                                  _text_in(YoungPerson.reference, {c.child for c in checked.children})))}
    # The UASC file, when given, says of every child of the Header whether she is or was one.
    asylum = None if checked.asylum_seeking is None else {row.child: row for row in checked.asylum_seeking}
    new_rows, changes = [], []
    for child in checked.children:
        wanted = {"sex": child.sex, "birth_month": child.birth.replace(day=1),
                  "responsible_authority_code": organisation.local_authority_code}
        if asylum is not None:
            listed = asylum.get(child.child)
            wanted.update(asylum_seeking=listed is not None, asylum_seeking_ceased_on=listed.ceased_on if listed else None)
        home = homes.get(child.child)
        person = stored.get(child.child)
        if home and (person is None or person.home_postcode != home):
            point = checked.postcodes[home]
            wanted.update(home_postcode=home, home_location=point.wkt if point else None,
                          home_cells=cells_of(point) if point else None)
        if person is None:
            new_rows.append({"reference": child.child, "organisation_id": organisation.id, **wanted})
            continue
        differs = {key: value for key, value in wanted.items() if getattr(person, key) != value}
        if differs:
            changes.append({"id": person.id, **differs})
        else:
            written.add("young people", "unchanged")
    ids = {person.reference: person.id for person in stored.values()}
    if new_rows:
        created = session.execute(insert(YoungPerson).returning(YoungPerson.reference, YoungPerson.id)
                                  .execution_options(upkeep_by_caller=True), new_rows)
        ids.update(dict(created.all()))
        written.add("young people", "created", len(new_rows))
    for change in changes:  # few, and each may set different columns
        session.execute(update(YoungPerson).where(YoungPerson.organisation_id == organisation.id,
                                                  YoungPerson.id == change.pop("id")).values(**change)
                        .execution_options(upkeep_by_caller=True))
    if new_rows or changes:
        _renew(session, organisation, "young_people")
    written.add("young people", "updated", len(changes))
    return ids


def placements_of(episodes: list[EpisodeRow]) -> list[tuple[EpisodeRow, EpisodeRow]]:
    """The first and last episode of each placement: an episode that changes only the legal status
    goes on with the placement of the one before it."""
    first_of: dict[int, EpisodeRow] = {}
    last: dict[int, EpisodeRow] = {}
    for episode in sorted(episodes, key=lambda episode: episode.started_on):
        first = first_of[episode.continues.row] if episode.continues else episode
        first_of[episode.row] = first
        last[first.row] = episode
    return [(first_of[row], episode) for row, episode in last.items()]


def _write_placements(session, checked: CheckedReturn, people: dict[str, int], organisation: Organisation,
                      written: Written) -> None:
    # All the organisation's placements, kept for the children in the file: a list of their ids
    # in the query let the planner, which cannot see the rows this transaction wrote, join 100,000
    # placements to 25,000 ids one pair at a time (100 s and more instead of 1).
    children = set(people.values())
    stored = {(row.young_person_id, row.started_on): row for row in session.execute(
        select(Placement.id, Placement.young_person_id, Placement.started_on, Placement.ended_on,
               Placement.place_code, Placement.postcode, Placement.urn, Placement.legal_status, Placement.home_postcode,
               Placement.return_distance_miles)
        .where(Placement.organisation_id == organisation.id)) if row.young_person_id in children}
    stored_of_child: dict[int, list] = defaultdict(list)
    for row in stored.values():
        stored_of_child[row.young_person_id].append(row)
    new_rows = []
    for first, last in placements_of(checked.episodes):
        person_id = people[first.child]
        wanted = {"place_code": first.place_code, "ended_on": last.ended_on, "postcode": first.placement_postcode,
                  "urn": first.urn, "legal_status": last.legal_status, "home_postcode": first.home_postcode,
                  "return_distance_miles": first.return_distance}
        existing = stored.get((person_id, first.started_on))
        if existing is None and first.new_episode_reason == LEGAL_STATUS_ONLY:
            # The placement began before this return: the one stored that spans the episode's start.
            existing = next((row for row in stored_of_child[person_id] if row.started_on < first.started_on
                             and (row.ended_on is None or row.ended_on >= first.started_on)), None)
            if existing is not None:
                wanted = {"ended_on": last.ended_on, "legal_status": last.legal_status}
        if existing is None:
            new_rows.append({"organisation_id": organisation.id, "young_person_id": person_id,
                             "started_on": first.started_on, **wanted,
                             **_row_values(checked.postcodes.get(first.placement_postcode))})
            continue
        differs = {key: value for key, value in wanted.items() if getattr(existing, key) != value}
        if not differs:
            written.add("placements", "unchanged")
            continue
        if "postcode" in differs:
            differs.update(_row_values(checked.postcodes.get(first.placement_postcode)))
        session.execute(update(Placement).where(Placement.organisation_id == organisation.id,
                                                Placement.id == existing.id).values(**differs))
        written.add("placements", "updated")
    if new_rows:
        columns = tuple(new_rows[0])
        copy_rows(session.connection(), Placement.__tablename__, columns, (tuple(row.values()) for row in new_rows))
        written.add("placements", "created", len(new_rows))


def _write_missing(session, checked: CheckedReturn, people: dict[str, int], organisation: Organisation,
                   written: Written) -> None:
    stored = _stored_episodes(session, organisation, {episode.child for episode in checked.missing})
    by_day = {(s.child, _london_day(s.started_at)): s for episodes in stored.values() for s in episodes}
    new_rows, updated = [], False
    for episode in checked.missing:
        existing = by_day.get((episode.child, episode.started_on))
        started, ended = episode_times(episode, existing)
        if existing is None:
            new_rows.append((organisation.id, people[episode.child], episode.missing_type.value, started, ended))
        elif existing.ended_at == ended and existing.missing_type == episode.missing_type:
            written.add("missing episodes", "unchanged")
        else:
            # Neither column places the episode in the monthly totals: only the token is renewed.
            session.execute(update(MissingEpisode).where(MissingEpisode.organisation_id == organisation.id,
                                                         MissingEpisode.id == existing.id)
                            .values(missing_type=episode.missing_type, ended_at=ended)
                            .execution_options(upkeep_by_caller=True))
            written.add("missing episodes", "updated")
            updated = True
    if updated:
        _renew(session, organisation, "missing_episodes")
    if new_rows:  # copy_rows keeps the totals and tokens of what it copies in
        copy_rows(session.connection(), MissingEpisode.__tablename__,
                  ("organisation_id", "young_person_id", "missing_type", "started_at", "ended_at"), new_rows)
        written.add("missing episodes", "created", len(new_rows))


# ---- one import, from the web page or the command line ---------------------------------------

FILES = (HEADER, EPISODES, MISSING, UASC)


def import_return(session: Session, organisation: Organisation, files: dict[str, tuple[str, bytes]],
                  valid_rows_only: bool = False, user: User | None = None,
                  year: CollectionYear | None = None) -> ImportRun:
    """Check ``files`` ({"Header": (file name, content), ...}; Header required) against the codes
    of ``year`` (None: the year of the files' latest date) and write them when every row passes, or
    only the rows that pass when ``valid_rows_only``. Either way the run is recorded. The caller
    commits."""
    if organisation.local_authority_code is None:
        raise ValueError(f"{organisation.name} is not a local authority: only a local authority imports SSDA903")
    texts, problems = {}, []
    for name in FILES:
        if name not in files:
            continue
        try:
            text = files[name][1].decode("utf-8-sig")
        except UnicodeDecodeError as error:
            problems.append(Problem(name, 0, "", files[name][0], f"is not UTF-8 text (byte {error.start}): save it as CSV UTF-8"))
            continue
        if "\x00" in text:  # PostgreSQL text cannot hold it; no CSV written as text has one
            problems.append(Problem(name, 0, "", files[name][0], "holds a NUL byte: it is not a text CSV file"))
            continue
        texts[name] = io.StringIO(text, newline="")
    if HEADER not in texts:
        checked = CheckedReturn(problems=problems)
    else:
        checked = check_return(session, organisation, texts[HEADER], texts.get(EPISODES), texts.get(MISSING), year,
                               texts.get(UASC))
        checked.problems[:0] = problems
    if checked.problems and not valid_rows_only or HEADER not in texts:
        outcome, written = ImportOutcome.REFUSED, Written()
    else:
        written = write_return(session, checked, organisation)
        outcome = ImportOutcome.VALID_ROWS_IMPORTED if checked.problems else ImportOutcome.IMPORTED
    run = ImportRun(organisation_id=organisation.id, user_id=user.id if user else None, source="SSDA903",
                    file_names=", ".join(f"{name}: {files[name][0]}" for name in FILES if name in files),
                    valid_rows_only=valid_rows_only, outcome=outcome, rows_read=checked.rows_read,
                    counts=written.counts, problem_count=len(checked.problems),
                    problems_csv=rejected_csv(checked.problems, checked.warnings, checked.year),
                    collection_year=checked.year.name if checked.year else None)
    session.add(run)
    session.flush()
    return run
