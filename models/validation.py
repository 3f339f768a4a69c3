"""Input errors that name the field, the value and the reason, collected before anything is written."""

from dataclasses import dataclass


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
