"""Creating contexts from what a user entered, validated as a whole before anything is added."""

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.orm import Session

from geo.hexes import cells_of
from geo.locations import LocationError
from models.codes import CONTEXT_KIND_LABELS, ContextKind
from models.locations import resolve_location
from models.safeguarding import Context
from models.validation import FieldError, InvalidInput

NAME_MAX = 200


def new_context(
    session: Session,
    *,
    name: str | None,
    kind: str | None,
    location: str | None,
    organisation_id: int,
    address: str | None = None,
) -> Context:
    """Validate every field, then add the context to the session (the caller commits).

    Raises InvalidInput listing every problem at once; the session is left untouched then.
    """
    errors: list[FieldError] = []
    name = (name or "").strip()
    if not name:
        errors.append(FieldError("name", name, "is required"))
    elif len(name) > NAME_MAX:
        errors.append(FieldError("name", name[:40] + "...", f"is longer than {NAME_MAX} characters"))
    try:
        context_kind = ContextKind(kind)
    except ValueError:
        context_kind = None
        errors.append(FieldError("kind", kind, "is not one of: " + ", ".join(k.value for k in ContextKind)))
    location = (location or "").strip()
    resolved = None
    if context_kind is not None and context_kind.has_location:
        if not location:
            errors.append(
                FieldError("location", location, f"is required for a {CONTEXT_KIND_LABELS[context_kind].lower()}")
            )
        else:
            try:
                resolved = resolve_location(session, location)
            except LocationError as error:
                errors.append(FieldError("location", error.value, error.reason))
    elif context_kind is not None and location:
        errors.append(FieldError("location", location, "must be empty: online spaces and peer groups have no location"))
    if errors:
        raise InvalidInput(errors)
    context = Context(
        name=name,
        kind=context_kind,
        address=(address or "").strip() or None,
        organisation_id=organisation_id,
    )
    if resolved is not None:
        context.geometry = from_shape(Point(resolved.point.lnglat), srid=4326)
        context.cells = cells_of(resolved.point)
        context.postcode = resolved.postcode
    session.add(context)
    return context
