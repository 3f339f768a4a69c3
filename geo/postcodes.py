"""UK postcodes as people type them, normalised to the form stored in the database."""

import re

# Outward code (area, district, optional sub-district) and inward code (sector digit, unit).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def normalise_postcode(text: str) -> str | None:
    """Return the postcode in its canonical spacing ("SW5 0AA"), or None if it is not one.

    Any case and spacing is accepted; a single space always separates the outward and inward codes.

    Examples
    --------
    >>> normalise_postcode(" sw5  0aa ")
    'SW5 0AA'
    >>> normalise_postcode("SW1A1AA")
    'SW1A 1AA'
    >>> normalise_postcode("w84aa")
    'W8 4AA'
    >>> normalise_postcode("not a postcode") is None
    True
    """
    compact = re.sub(r"\s+", "", text).upper()
    match = _POSTCODE.match(compact)
    if not match:
        return None
    return f"{match.group(1)} {match.group(2)}"
