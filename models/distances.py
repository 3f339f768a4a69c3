"""Home-to-placement distance and boundary exactly as the Department for Education counts them.

Miles: the straight line between the two postcodes' ONS Postcode Directory grid references, in
miles to one decimal place (geo.grid.dfe_distance_miles). Boundary: the placement is inside when
its postcode's upper-tier authority is the responsible authority's; placements in Scotland, Wales
and Northern Ireland count as outside.

The directory publishes Northern Ireland's grid references on the Irish Grid. Two Northern Irish
postcodes are measured on it as published; a pair with one on each grid has no DfE figure (the
formula would mix two grids), so the Irish reference is converted to the British grid first and
the answer says so (``method``).
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from geo.grid import dfe_distance_miles, to_british_grid
from geo.postcodes import normalise_postcode
from models.geography import LocalAuthority, Postcode
from models.validation import FieldError, InvalidInput

# Districts that are their own upper tier: unitary (E06), metropolitan (E08), London (E09), Welsh
# (W06), Scottish (S12) and Northern Irish (N09). The authorities lookup predates some codes.
OWN_UPPER_TIER = ("E06", "E08", "E09", "W06", "S12", "N09")
# The directory's codes for places outside the UK's local authorities, which the lookup does not name.
PSEUDO_AUTHORITIES = {"L99999999": "Channel Islands", "M99999999": "Isle of Man"}


@dataclass(frozen=True)
class Authority:
    code: str
    name: str | None  # None where the lookup does not know the code


@dataclass(frozen=True)
class PostcodePlace:
    """A postcode's record in the directory. Some 24,000 valid postcodes have no grid reference
    (the Channel Islands, the Isle of Man, some in Northern Ireland): their distance is not known,
    as the DfE counts them (``on_grid``)."""

    postcode: str
    easting: float | None
    northing: float | None
    grid_srid: int | None
    local_authority: Authority | None
    upper_tier: Authority | None  # None: a shire district the lookup does not know

    @property
    def on_grid(self) -> bool:
        return self.easting is not None

    @property
    def in_england(self) -> bool:
        return self.local_authority is not None and self.local_authority.code.startswith("E")

    def off_grid_because(self, what: str) -> str:
        """Why nothing can be measured from it, in words (``what``: "home", "placement"...)."""
        return (f"the {what} postcode {self.postcode} has no grid reference in the ONS Postcode Directory (the "
                "Channel Islands, the Isle of Man and some others have none), so its distance is not known")


def place_of(session: Session, typed: str | None, field: str) -> PostcodePlace:
    """The directory's record of a typed postcode, on the grid or not; InvalidInput naming
    ``field`` and the value when it is not a postcode in the directory."""
    if not (typed or "").strip():
        raise InvalidInput([FieldError(field, typed or "", "is missing: give a postcode")])
    postcode = normalise_postcode(typed)
    if postcode is None:
        raise InvalidInput([FieldError(field, typed, "is not a UK postcode")])
    row = session.get(Postcode, postcode)
    if row is None:
        raise InvalidInput([FieldError(field, typed, f"is not in the ONS Postcode Directory ({postcode})")])
    if row.local_authority_code is None:
        return PostcodePlace(postcode, row.easting, row.northing, row.grid_srid, None, None)
    known = session.get(LocalAuthority, row.local_authority_code)
    return postcode_place(postcode, row.easting, row.northing, row.grid_srid, row.local_authority_code,
                          known.name if known else None, known.upper_tier_code if known else None,
                          known.upper_tier_name if known else None)


def postcode_place(postcode: str, easting: float | None, northing: float | None, grid_srid: int | None, district_code: str,
                   district_name: str | None, upper_code: str | None, upper_name: str | None) -> PostcodePlace:
    """A postcode's record from the directory's and the authorities lookup's columns (``upper_code``
    None where the lookup does not know the district)."""
    district = Authority(district_code, district_name or PSEUDO_AUTHORITIES.get(district_code))
    if upper_code is not None:
        upper = Authority(upper_code, upper_name)
    elif district.code.startswith(OWN_UPPER_TIER):
        upper = district
    else:
        upper = None
    return PostcodePlace(postcode, easting, northing, grid_srid, district, upper)


@dataclass(frozen=True)
class Distance:
    miles: float
    inside_boundary: bool | None  # None when an upper-tier authority is not known
    method: str  # "dfe", or "converted" when the postcodes are on different national grids


def inside_boundary(home: PostcodePlace, placement: PostcodePlace) -> bool | None:
    """The DfE's inside/outside, with the home postcode's upper tier as the responsible authority."""
    return inside_authority(placement, home.upper_tier.code if home.upper_tier else None)


def inside_authority(placement: PostcodePlace, responsible_authority: str | None) -> bool | None:
    """Whether the placement is inside the responsible (upper-tier) authority, as the DfE counts:
    Scotland, Wales and Northern Ireland are outside; None when an upper tier is not known."""
    if placement.local_authority is None:
        return None
    if not placement.in_england:
        return False
    if responsible_authority is None or placement.upper_tier is None:
        return None
    return placement.upper_tier.code == responsible_authority


def not_measured_because(home: PostcodePlace, placement: PostcodePlace) -> str:
    """Why there is no distance between two postcodes, or "" when there is one."""
    return "; ".join(place.off_grid_because(what) for what, place in (("home", home), ("placement", placement))
                     if not place.on_grid)


def distance(home: PostcodePlace, placement: PostcodePlace) -> Distance:
    """The DfE's distance between two postcodes on the grid (``on_grid``: see not_measured_because)."""
    if home.grid_srid == placement.grid_srid:
        miles = dfe_distance_miles(home.easting, home.northing, placement.easting, placement.northing)
        method = "dfe"
    else:
        (e1, n1), (e2, n2) = (to_british_grid(p.easting, p.northing, p.grid_srid) for p in (home, placement))
        miles = dfe_distance_miles(e1, n1, e2, n2)
        method = "converted"
    return Distance(miles, inside_boundary(home, placement), method)
