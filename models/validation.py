"""Input errors that name the field, the value and the reason, collected before anything is written."""

from dataclasses import dataclass

LARGEST_ID = 2**31 - 1  # ids are PostgreSQL integers


@dataclass(frozen=True)
class FieldError:
    field: str
    value: object
    reason: str

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
