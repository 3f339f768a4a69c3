"""Input errors that name the field, the value and the reason, collected before anything is written."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from models.codes import CONCERN_CODES, NO_FACTORS

LARGEST_ID = 2**31 - 1  # ids are PostgreSQL integers


@dataclass(frozen=True)
class FieldError:
    """A problem with one field. ``message`` names the field and the value, for the API and
    imports; ``plain`` is what a person at a form reads beside the field (webapp.contexts.show_errors
    builds one from the field's label and ``reason`` when none is given)."""

    field: str
    value: object
    reason: str
    plain: str | None = None

    @property
    def message(self) -> str:
        """
        >>> FieldError("location", "XX1 1XX", "is not in the ONS Postcode Directory").message
        "location: 'XX1 1XX' is not in the ONS Postcode Directory"
        """
        return f"{self.field}: {self.value!r} {self.reason}"


class InvalidInput(ValueError):
    """One or more fields are wrong; nothing has been written."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


def record_id(text: object) -> int | None:
    """A form's record number, or None if it is not one a table could hold.

    >>> record_id(" 42 "), record_id("4x"), record_id("٤٢"), record_id(2**31)
    (42, None, None, None)
    """
    text = str(text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) <= LARGEST_ID else None


def choice(errors: list[FieldError], field: str, text: str | None, choices: type[StrEnum]):
    """The member of ``choices`` whose value is ``text``, or None with the problem added to ``errors``.

    >>> from models.codes import CaseStage
    >>> errors = []
    >>> choice(errors, "stage", "plan", CaseStage), choice(errors, "stage", "party", CaseStage)
    (<CaseStage.PLAN: 'plan'>, None)
    >>> errors[0].message
    "stage: 'party' is not one of: referral, assessment, plan, review, closure"
    """
    try:
        return choices(text)
    except ValueError:
        errors.append(FieldError(field, text, "is not one of: " + ", ".join(member.value for member in choices)))
        return None


def typed_date(errors: list[FieldError], field: str, text: str | None, *, required: str | None = None,
               today: date | None = None) -> date | None:
    """A date typed as YYYY-MM-DD, or None: empty (a problem if ``required`` says why it is needed),
    or wrong, with the problem added to ``errors``. Given ``today``, a later date is a problem too
    (and still returned, so that every problem with the other dates is named at once).

    >>> errors = []
    >>> typed_date(errors, "held_on", " 2026-09-01 "), typed_date(errors, "next_review", "")
    (datetime.date(2026, 9, 1), None)
    >>> typed_date(errors, "held_on", "soon"), typed_date(errors, "held_on", "", required="is required")
    (None, None)
    >>> typed_date(errors, "held_on", "2027-01-01", today=date(2026, 11, 30))
    datetime.date(2027, 1, 1)
    >>> [error.message for error in errors]
    ["held_on: 'soon' is not a date written as YYYY-MM-DD", "held_on: '' is required", "held_on: '2027-01-01' is in the future"]
    """
    text = (text or "").strip()
    if not text:
        if required:
            errors.append(FieldError(field, text, required))
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(field, text[:40], "is not a date written as YYYY-MM-DD"))
        return None
    if today is not None and value > today:  # still returned: checks against other dates go on
        errors.append(FieldError(field, text, "is in the future"))
    return value


def concern_codes(errors: list[FieldError], typed: list[str] | None) -> list[str]:
    """Children in Need census concern codes in the census's order, each once; unknown ones, or
    "21" (no factors identified) beside others, are a problem added to ``errors``.

    >>> errors = []
    >>> concern_codes(errors, [" 24a", "11A", "11A", ""]), concern_codes(errors, ["99Z"])
    (['11A', '24A'], [])
    >>> errors[0].message
    "concerns: '99Z' are not Children in Need census concern codes"
    >>> concern_codes(errors, ["21", "10a"]), errors[1].message
    ([], "concerns: '10A, 21' gives 21 (no factors identified) with other factors: 21 is only ever given alone")
    """
    codes = [code.strip().upper() for code in typed or [] if code.strip()]
    unknown = [code for code in codes if code not in CONCERN_CODES]
    if unknown:
        errors.append(FieldError("concerns", ", ".join(unknown)[:60], "are not Children in Need census concern codes"))
        return []
    chosen = sorted(set(codes), key=list(CONCERN_CODES).index)
    if NO_FACTORS in chosen and len(chosen) > 1:
        errors.append(FieldError("concerns", ", ".join(chosen)[:60], f"gives {NO_FACTORS} (no factors identified) with "
                                 f"other factors: {NO_FACTORS} is only ever given alone"))
        return []
    return chosen
