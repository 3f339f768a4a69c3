"""The context register: recording, editing, closing, reopening, deleting, restoring and merging
contexts, each change validated as a whole before anything is written and kept in the history
(``ContextChange``). The caller commits.

Every change names the version of the record the user saw; a change made on an older version is
refused (:class:`StaleChange`) rather than overwriting someone else's, and SQLAlchemy's version
counter refuses the same race between two transactions at the database.
"""

from dataclasses import dataclass

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import Connection, Select, event, func, or_, select, update
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from geo.areas import AreaError, area_from_geojson, area_m2, inside_point
from geo.coords import LatLng
from geo.hexes import cells_of
from geo.locations import LocationError
from models import upkeep
from models.base import utcnow
from models.codes import CONTEXT_KIND_LABELS, ContextChangeAction, ContextKind, ContextStatus
from models.locations import resolve_location
from models.people import Organisation, User
from models.queries import within_metres
from models.safeguarding import Context, ContextChange, ContextLink, MissingEpisode, Placement
from models.times import LONDON
from models.validation import FieldError, InvalidInput, choice, record_id

NAME_MAX = 200
NOTE_MAX = 2000


class StaleChange(Exception):
    """The record changed since the user's page showed it; nothing was written."""

    what = "context"

    def __init__(self, record, seen: int):
        latest = self.latest_change(record)
        by = ""
        if latest is not None:
            changed = [field for field, (before, after) in latest.changes.items() if before != after]
            fields = f" ({', '.join(changed)})" if changed else ""
            by = f" by {latest.username} at {latest.at.astimezone(LONDON):%d %b %Y %H:%M}{fields}"
        super().__init__(f"version: this {self.what} was changed{by} since your page showed it (you saw version "
                         f"{seen}, it is now {record.version}). Nothing was saved: reload it to see the "
                         "change, then make yours again.")

    @staticmethod
    def latest_change(record) -> "ContextChange | None":
        return record.changes[0] if record.changes else None


@dataclass(frozen=True)
class ContextFields:
    """What a user entered for a context, checked."""

    name: str
    kind: ContextKind
    address: str | None
    point: LatLng | None  # None: keep the stored location (an edit), or none at all
    postcode: str | None
    area: Polygon | MultiPolygon | None  # drawn on the map, instead of a point
    responsible: Organisation | None  # another organisation that runs the place


def location_text(context: Context) -> str:
    """The location as a person would type it again: the postcode, or the point's latitude and
    longitude, "an area" for a drawn area, or "" for none."""
    if context.geometry is None:
        return ""
    if context.postcode:
        return context.postcode
    shape = to_shape(context.geometry)
    if shape.geom_type != "Point":
        return "an area"
    return f"{shape.y:.6f}, {shape.x:.6f}"


def checked_fields(session: Session, *, name: str | None, kind: str | None, location: str | None,
                   address: str | None, organisation_id: int, responsible: str | None = None,
                   area: str | None = None, current: Context | None = None) -> ContextFields:
    """Every field checked at once; raises InvalidInput naming each problem. The location is
    typed (``location``) or drawn (``area``, GeoJSON), not both; on an edit (``current``), leaving
    both empty keeps the stored one."""
    errors: list[FieldError] = []
    responsible_text = (responsible or "").strip()
    responsible_organisation = None
    if responsible_text:
        number = record_id(responsible_text)
        responsible_organisation = session.get(Organisation, number) if number else None
        if responsible_organisation is None:
            errors.append(FieldError("responsible", responsible_text[:20], "is not an organisation in this system"))
        elif responsible_organisation.id == organisation_id:
            errors.append(FieldError("responsible", responsible_organisation.name,
                                     "is your own organisation: leave it empty, the record is yours already"))
            responsible_organisation = None
    name = (name or "").strip()
    if not name:
        errors.append(FieldError("name", name, "is required", plain="Enter a name"))
    elif len(name) > NAME_MAX:
        errors.append(FieldError("name", name[:40] + "...", f"is longer than {NAME_MAX} characters"))
    context_kind = choice(errors, "kind", kind, ContextKind)
    location = (location or "").strip()
    keeps_location = current is not None and current.geometry is not None and location in ("", location_text(current))
    area_text = (area or "").strip()
    drawn = None
    if area_text:
        if context_kind is not None and not context_kind.has_location:
            errors.append(FieldError("area", "(drawn)", "must be empty: online spaces and peer groups have no location"))
        elif location and not keeps_location:
            errors.append(FieldError("area", "(drawn)", f"and the location {location!r} were both given: keep one"))
        else:
            try:
                drawn = area_from_geojson(area_text)
            except AreaError as error:
                errors.append(FieldError("area", area_text[:40] + ("..." if len(area_text) > 40 else ""), str(error)))
            keeps_location = True  # the drawn area is the location: nothing typed is needed
    resolved = None
    if context_kind is not None and context_kind.has_location:
        if not location and not keeps_location:
            errors.append(
                FieldError("location", location, f"is required for a {CONTEXT_KIND_LABELS[context_kind].lower()}",
                           plain="Enter a postcode, e.g. SW5 0AA, or a place, or draw the area on the map")
            )
        elif location and not keeps_location and not area_text:
            try:
                resolved = resolve_location(session, location)
            except LocationError as error:
                errors.append(FieldError("location", error.value, error.reason))
    elif context_kind is not None and location and not keeps_location:
        errors.append(FieldError("location", location, "must be empty: online spaces and peer groups have no location"))
    if errors:
        raise InvalidInput(errors)
    return ContextFields(name=name, kind=context_kind, address=(address or "").strip() or None,
                         point=resolved.point if resolved else None, postcode=resolved.postcode if resolved else None,
                         area=drawn, responsible=responsible_organisation)


def _place(context: Context, fields: ContextFields) -> None:
    """Set the location from the checked fields: a new point or drawn area, none for kinds without
    one, or the stored one kept."""
    if not fields.kind.has_location:
        context.geometry, context.cells, context.postcode = None, None, None
    elif fields.area is not None:
        context.geometry = from_shape(fields.area, srid=4326)
        context.cells = cells_of(inside_point(fields.area))
        context.postcode = None
    elif fields.point is not None:
        context.geometry = from_shape(Point(fields.point.lnglat), srid=4326)
        context.cells = cells_of(fields.point)
        context.postcode = fields.postcode


def record_change(session: Session, context: Context, user: User | None, action: ContextChangeAction,
                  changes: dict | None = None, note: str | None = None, other: Context | None = None,
                  link: ContextLink | None = None) -> None:
    """Add a row to the context's history (``link``: the link a link change is about)."""
    session.add(ContextChange(
        context=context, user_id=user.id if user else None, username=user.username if user else "system",
        action=action, changes=changes or {}, note=note, other_context_id=other.id if other else None,
        link_id=link.id if link else None))


def _location_shown(context: Context) -> str:
    """The location as the history shows it: an area with its size and where it is, so that a
    redrawn area is a change."""
    text = location_text(context)
    if text != "an area":
        return text
    shape = to_shape(context.geometry)
    point = inside_point(shape)
    return f"an area of {area_m2(shape):,.0f} m² at {point.lat:.5f}, {point.lng:.5f}"


def _shown(context: Context) -> dict[str, str]:
    """The fields as the history shows them."""
    return {"name": context.name, "kind": CONTEXT_KIND_LABELS[context.kind], "location": _location_shown(context),
            "address": context.address or "",
            "responsible organisation": context.responsible_organisation.name if context.responsible_organisation else ""}


def new_context(session: Session, *, name: str | None, kind: str | None, location: str | None,
                organisation_id: int, address: str | None = None, responsible: str | None = None,
                area: str | None = None, user: User | None = None) -> Context:
    """Validate every field, then add the context and its first history row to the session.

    Raises InvalidInput listing every problem at once; the session is left untouched then.
    """
    fields = checked_fields(session, name=name, kind=kind, location=location, address=address,
                            organisation_id=organisation_id, responsible=responsible, area=area)
    context = Context(name=fields.name, kind=fields.kind, address=fields.address, organisation_id=organisation_id,
                      responsible_organisation=fields.responsible)
    _place(context, fields)
    session.add(context)
    session.flush()
    record_change(session, context, user, ContextChangeAction.CREATED,
            {field: ["", value] for field, value in _shown(context).items() if value})
    return context


def check_version(record, seen: object, stale: type[StaleChange] = StaleChange) -> None:
    """Raises InvalidInput for a version that is not a number, ``stale`` for an older one."""
    text = "" if seen is None else str(seen).strip()
    if not text.isascii() or not text.isdigit():
        raise InvalidInput([FieldError("version", text[:20], "is not a whole number: reload the page")])
    if int(text) != record.version:
        raise stale(record, int(text))


def note_checked(note: str | None, required: bool, why: str = "") -> str | None:
    note = (note or "").strip()
    if required and not note:
        raise InvalidInput([FieldError("note", note, f"is required: say why {why}".rstrip(),
                                       plain=f"Say why {why}".rstrip())])
    if len(note) > NOTE_MAX:
        raise InvalidInput([FieldError("note", note[:40] + "...", f"is longer than {NOTE_MAX} characters")])
    return note or None


def edit_context(session: Session, context: Context, user: User, *, version: object, name: str | None,
                 kind: str | None, location: str | None, address: str | None,
                 responsible: str | None = None, area: str | None = None) -> dict[str, list[str]]:
    """Apply an edit made on ``version`` of the record; returns the changes, {field: [before, after]}
    (none when nothing differs, and then nothing is written)."""
    check_version(context, version)
    fields = checked_fields(session, name=name, kind=kind, location=location, address=address,
                            organisation_id=context.organisation_id, responsible=responsible, area=area,
                            current=context)
    before = _shown(context)
    context.name, context.kind, context.address = fields.name, fields.kind, fields.address
    context.responsible_organisation = fields.responsible
    _place(context, fields)
    after = _shown(context)
    changes = {field: [before[field], after[field]] for field in before if before[field] != after[field]}
    if changes:
        record_change(session, context, user, ContextChangeAction.EDITED, changes)
    else:
        session.expire(context)  # nothing to save: leave the version as it is
    return changes


def set_status(session: Session, context: Context, user: User, *, version: object, status: ContextStatus,
               note: str | None) -> None:
    """Close an open context or reopen a closed one, with an optional note of why."""
    check_version(context, version)
    note = note_checked(note, required=False)
    if context.status == status:
        raise InvalidInput([FieldError("status", status.value, "is already this context's status")])
    before = context.status
    context.status = status
    action = ContextChangeAction.CLOSED if status == ContextStatus.CLOSED else ContextChangeAction.REOPENED
    record_change(session, context, user, action, {"status": [before.value, status.value]}, note)


def delete_context(session: Session, context: Context, user: User, *, version: object, note: str | None) -> None:
    """Hide the context everywhere (soft deletion); an administrator can restore it."""
    check_version(context, version)
    note = note_checked(note, required=True, why="it is deleted")
    context.deleted_at = utcnow()
    record_change(session, context, user, ContextChangeAction.DELETED, note=note)


def restore_context(session: Session, context: Context, user: User) -> None:
    if context.deleted_at is None:
        raise InvalidInput([FieldError("context", context.id, "is not deleted")])
    if context.merged_into_id is not None:
        raise InvalidInput([FieldError("context", context.id, f"was merged into context {context.merged_into_id}: "
                                                              "its links are there now, so it cannot come back")])
    context.deleted_at = None
    record_change(session, context, user, ContextChangeAction.RESTORED)


def merge_contexts(session: Session, kept: Context, duplicate: Context, user: User, *, kept_version: object,
                   duplicate_version: object, note: str | None, organisations: tuple[int, ...] | None = None) -> int:
    """Merge ``duplicate`` into ``kept``: its links to young people, the missing episodes placed at
    it and the placements with it as provider move to ``kept``; it is deleted, pointing at ``kept``,
    and each record's history says so. Returns how many rows moved. ``organisations``, those whose
    rows the user may see, are named to the moves as constants (on Citus, their shards only); the
    policies limit the moves to them either way."""
    check_version(kept, kept_version)
    check_version(duplicate, duplicate_version)
    note = note_checked(note, required=False)
    errors = []
    if duplicate.id == kept.id:
        errors.append(FieldError("duplicate", duplicate.id, "is the record being kept"))
    elif duplicate.organisation_id != kept.organisation_id:
        errors.append(FieldError("duplicate", duplicate.id, "belongs to another organisation"))
    elif duplicate.kind != kept.kind:
        errors.append(FieldError("duplicate", duplicate.id, f"is a {CONTEXT_KIND_LABELS[duplicate.kind].lower()}, "
                                 f"not a {CONTEXT_KIND_LABELS[kept.kind].lower()}: edit one first"))
    if errors:
        raise InvalidInput(errors)
    moved, written = 0, upkeep.Written()
    for column in (ContextLink.context_id, MissingEpisode.last_seen_context_id, MissingEpisode.found_context_id,
                   Placement.provider_context_id):
        statement = update(column.class_).where(column == duplicate.id)
        if organisations is not None:
            statement = statement.where(column.class_.organisation_id.in_(organisations))
        owners = session.scalars(statement.values({column.key: kept.id}).returning(column.class_.organisation_id)
                                 .execution_options(synchronize_session=False, upkeep_by_caller=True)).all()
        moved += len(owners)
        if column.class_ in upkeep.KEPT_TABLES:  # a context moves no episode between hexagons: tokens only
            for organisation_id in set(owners):
                written.table(organisation_id, upkeep.KEPT_TABLES[column.class_])
    upkeep.keep(session.connection(), written)
    duplicate.deleted_at, duplicate.merged_into_id = utcnow(), kept.id
    # Records merged into the duplicate earlier now point at the kept one too: one step finds them all.
    session.execute(update(Context).where(Context.merged_into_id == duplicate.id).values(merged_into_id=kept.id)
                    .execution_options(synchronize_session=False))
    kept.updated_at = utcnow()  # a new version: a page showing the kept record before the merge is stale
    record_change(session, kept, user, ContextChangeAction.MERGED_IN, {"merged in": [duplicate.name, f"{moved} rows moved"]},
            note, other=duplicate)
    record_change(session, duplicate, user, ContextChangeAction.MERGED_AWAY, {"merged into": ["", kept.name]}, note,
            other=kept)
    session.expire(kept, ["links"])
    return moved


@event.listens_for(Session, "do_orm_execute")
def _hide_deleted(state: ORMExecuteState) -> None:
    """Deleted contexts are left out of every ORM query unless it asks with the execution option
    ``include_deleted``: the register, the maps, lookups by id (so a deleted context is a 404)."""
    if state.is_select and not state.is_column_load and not state.execution_options.get("include_deleted", False):
        state.statement = state.statement.options(
            with_loader_criteria(Context, lambda context: context.deleted_at.is_(None), include_aliases=True))


def renew_contexts_version(connection: Connection) -> None:
    """A new contexts token (models.aggregates.EpisodeDataVersion) in the writer's transaction, so
    that results kept under the old one (webapp.data_cache) are worked out again. Sessions call it
    for themselves (below); a bulk load calls it after copying contexts in."""
    connection.execute(select(func.csmap_new_contexts_version()))


@event.listens_for(Session, "after_flush")
def _renew_after_writing_contexts(session: Session, _flush_context) -> None:
    # After a flush the session still lists what it was asked to write. A context is "dirty" also
    # when only its history or links collection grew, which writes no row of contexts.
    written = [*session.new, *session.deleted,
               *(row for row in session.dirty if session.is_modified(row, include_collections=False))]
    if any(isinstance(row, Context) for row in written):
        renew_contexts_version(session.connection())


@event.listens_for(Session, "do_orm_execute")
def _renew_for_statements_on_contexts(state: ORMExecuteState) -> None:
    """An UPDATE, INSERT or DELETE statement on contexts run through a session (a merge's)."""
    if (state.is_update or state.is_insert or state.is_delete) and state.bind_mapper is Context.__mapper__:
        renew_contexts_version(state.session.connection())


def merged_into(context_id: int) -> Select:
    """The ids of the records merged into the context, whose case records and notes it keeps."""
    return (select(Context.id).where(Context.merged_into_id == context_id).order_by(Context.id)
            .execution_options(include_deleted=True))


def deleted_contexts(organisation_id: int) -> Select:
    """The organisation's deleted contexts, latest first; run with ``include_deleted``."""
    return (select(Context).where(Context.organisation_id == organisation_id, Context.deleted_at.is_not(None))
            .order_by(Context.deleted_at.desc()).execution_options(include_deleted=True))


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def context_search(organisation_id: int, *, text: str = "", kinds: frozenset[ContextKind] = frozenset(),
                   status: ContextStatus | None = None, near: LatLng | None = None,
                   metres: float | None = None) -> Select:
    """The organisation's contexts whose name, address or postcode contains ``text``, of one of
    ``kinds``, with ``status``, within ``metres`` of ``near``: nearest first when ``near`` is given,
    newest first otherwise."""
    query = select(Context).where(Context.organisation_id == organisation_id)
    if text:
        pattern = _like(text)
        query = query.where(or_(Context.name.ilike(pattern, escape="\\"), Context.address.ilike(pattern, escape="\\"),
                                Context.postcode.ilike(pattern, escape="\\")))
    if kinds:
        query = query.where(Context.kind.in_(sorted(kinds)))
    if status is not None:
        query = query.where(Context.status == status)
    if near is not None and metres is not None:
        point = func.ST_SetSRID(func.ST_MakePoint(near.lng, near.lat), 4326)
        query = query.where(within_metres(Context.geometry, point, metres)).order_by(
            func.ST_Distance(func.geography(Context.geometry), func.geography(point)))
    return query.order_by(Context.created_at.desc(), Context.id.desc())


def merge_candidates(context: Context, metres: float = 250) -> Select:
    """Records that may be the same place or group: same kind, and within ``metres`` or, for kinds
    with no location, named alike."""
    query = select(Context).where(Context.organisation_id == context.organisation_id, Context.kind == context.kind,
                                  Context.id != context.id)
    if context.geometry is not None:
        return query.where(within_metres(Context.geometry, select(Context.geometry).where(
            Context.id == context.id).scalar_subquery(), metres)).order_by(Context.name)
    first_word = context.name.split()[0] if context.name.split() else context.name
    return query.where(Context.name.ilike(_like(first_word), escape="\\")).order_by(Context.name)
