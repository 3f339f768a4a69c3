"""Young people, the contexts where they face harm, the links between them, missing episodes and
placements. Every point is SRID 4326 with a spatial index and keeps its H3 cells beside it (one
BIGINT per map resolution, see geo.hexes.cells_of), so hexagon maps are a GROUP BY in the database."""

from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geo.hexes import MAP_RESOLUTIONS
from models.base import Base, enum_column, utcnow
from models.codes import (
    CONCERN_CODES,
    LEGAL_STATUS_CODES,
    PLACE_CODES,
    CaseStage,
    ChildMeetingKind,
    ContextChangeAction,
    ContextKind,
    ContextStatus,
    LinkRole,
    MissingType,
    Reliability,
    ReturnedBy,
)
from models.people import Organisation, User

# The census's "21", no factors identified, is never given beside another factor (its rule 8869).
NO_FACTORS_ALONE = "NOT ('21' = ANY (concern_codes) AND cardinality(concern_codes) > 1)"


def _sql_list(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def point_column(**options):
    return mapped_column(Geometry("POINT", srid=4326, spatial_index=True), **options)


def cells_column():
    """H3 cells at resolutions 6 to 10 (array positions 1 to 5); models.queries.cell_at reads them."""
    return mapped_column(ARRAY(BigInteger, dimensions=1), nullable=True)


def cells_check(column: str) -> CheckConstraint:
    return CheckConstraint(
        f"{column} IS NULL OR cardinality({column}) = {len(MAP_RESOLUTIONS)}", name=f"{column}_length"
    )


class YoungPerson(Base):
    """A child or young person, known only by a pseudonymous reference."""

    __tablename__ = "young_people"
    # References are the authority's own (SSDA903 CHILD): unique within an organisation only.
    __table_args__ = (CheckConstraint("sex IN (0, 1, 2)", name="sex"), cells_check("home_cells"),
                      UniqueConstraint("organisation_id", "reference"),
                      # What her records' foreign keys refer to: they carry her organisation too.
                      UniqueConstraint("organisation_id", "id", name="uq_young_people_organisation_id_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20))  # pseudonymous, never a name
    birth_month: Mapped[date] = mapped_column(Date)  # first day of the month of birth
    sex: Mapped[int] = mapped_column(SmallInteger)  # 1 male, 2 female, 0 not known (models.collection_years)
    home_postcode: Mapped[str | None] = mapped_column(String(8))
    home_location = point_column(nullable=True)
    home_cells: Mapped[list[int] | None] = cells_column()
    responsible_authority_code: Mapped[str] = mapped_column(String(9))
    # An unaccompanied asylum-seeking child, now or before (SSDA903's UASC file), and the day that ceased.
    asylum_seeking: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    asylum_seeking_ceased_on: Mapped[date | None] = mapped_column(Date)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    links: Mapped[list["ContextLink"]] = relationship(back_populates="young_person")
    missing_episodes: Mapped[list["MissingEpisode"]] = relationship(back_populates="young_person")
    placements: Mapped[list["Placement"]] = relationship(back_populates="young_person")


def her_organisation(context) -> int | None:
    """Column default for a child's record written with only her id (fixtures, one-off scripts):
    her organisation, looked up. The app's writers give it themselves, through ``young_person``
    or in the rows they copy in (imports, the demo), and so avoid a lookup per row."""
    young_person_id = context.get_current_parameters()["young_person_id"]
    return context.connection.scalar(select(YoungPerson.organisation_id).where(YoungPerson.id == young_person_id))


def her_records_key() -> ForeignKeyConstraint:
    """A child's record refers to her with her organisation (models.distribution: they share a
    shard), so the copy cannot differ from hers."""
    return ForeignKeyConstraint(["organisation_id", "young_person_id"], ["young_people.organisation_id", "young_people.id"])


def her_organisation_column():
    return mapped_column(Integer, default=her_organisation)


class Context(Base):
    """A place or group where young people face harm. Online spaces and peer groups have no geometry;
    every other kind is a point or an area."""

    __tablename__ = "contexts"
    __table_args__ = (
        CheckConstraint(
            "(kind IN ('online_space', 'peer_group')) = (geometry IS NULL)", name="geometry_by_kind"
        ),
        CheckConstraint(
            "geometry IS NULL OR GeometryType(geometry) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')",
            name="point_or_area",
        ),
        cells_check("cells"),
        # Referred to with the organisation by the context's history (its_context_key).
        UniqueConstraint("organisation_id", "id", name="uq_contexts_organisation_id_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ContextKind] = mapped_column(enum_column(ContextKind, name="context_kind"), index=True)
    geometry = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=True), nullable=True)
    cells: Mapped[list[int] | None] = cells_column()  # of the point, or of a point inside the area
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(8))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # Another organisation that runs the place (a school, a housing provider, a children's home): its
    # users see the context's case and notes once it is referred (models.inbox), never the children.
    responsible_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[ContextStatus] = mapped_column(
        enum_column(ContextStatus, name="context_status"), default=ContextStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), onupdate=utcnow)
    # Bumped by every change (SQLAlchemy's version counter): an edit made on a page showing an older
    # version is refused rather than overwriting someone else's change.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Soft deletion: hidden everywhere (models.contexts.hide_deleted) until an administrator restores
    # it; a record merged into another keeps pointing at it.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id"), index=True)

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])
    responsible_organisation: Mapped[Organisation | None] = relationship(foreign_keys=[responsible_organisation_id])
    links: Mapped[list["ContextLink"]] = relationship(back_populates="context")
    changes: Mapped[list["ContextChange"]] = relationship(
        back_populates="context", order_by="ContextChange.id.desc()",
        foreign_keys="[ContextChange.context_organisation_id, ContextChange.context_id]")

    __mapper_args__ = {"version_id_col": version}


def its_context_organisation(context) -> int | None:
    """Column default for a history row written with only its context's id: the context's
    organisation, looked up (one row is written at a time)."""
    context_id = context.get_current_parameters()["context_id"]
    return context.connection.scalar(select(Context.organisation_id).where(Context.id == context_id))


def its_context_key() -> ForeignKeyConstraint:
    """A context's history row names the context with its organisation, which its row-level
    security policy tests on the row itself: on Citus a policy may read no other table."""
    return ForeignKeyConstraint(["context_organisation_id", "context_id"], ["contexts.organisation_id", "contexts.id"])


def its_link_organisation(context) -> int | None:
    """Column default for a link's change written with only the link's id: the linked child's
    organisation, looked up."""
    link_id = context.get_current_parameters().get("link_id")
    if link_id is None:
        return None
    return context.connection.scalar(select(ContextLink.organisation_id).where(ContextLink.id == link_id))


class ContextChange(Base):
    """One change to a context, kept for good: who, when, what was done and each field's value
    before and after. Append-only, like the audit log (migration 2d6b8f0e4a17)."""

    __tablename__ = "context_changes"
    __table_args__ = (
        its_context_key(),
        CheckConstraint("(link_id IS NULL) = (link_organisation_id IS NULL)", name="link_organisation"),
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    context_id: Mapped[int] = mapped_column(index=True)
    context_organisation_id: Mapped[int] = mapped_column(default=its_context_organisation)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[ContextChangeAction] = mapped_column(enum_column(ContextChangeAction, name="context_change_action"))
    # {field: [before, after]}, as shown to people (labels, postcodes, "51.49, -0.19").
    changes: Mapped[dict] = mapped_column(JSONB, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    # The other record of a merge.
    other_context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id"))
    # The link a link change is about.
    link_id: Mapped[int | None] = mapped_column(ForeignKey("context_links.id"))
    # The linked child's organisation, which the policy tests: a change to a link is seen only by
    # those who may see the link.
    link_organisation_id: Mapped[int | None] = mapped_column(Integer, default=its_link_organisation)

    context: Mapped[Context] = relationship(back_populates="changes",
                                            foreign_keys=[context_organisation_id, context_id])

    # JSONB keeps keys shortest first: the history shows them in the order of the form instead.
    FIELD_ORDER = ("young person", "name", "kind", "location", "address", "responsible organisation", "status", "role", "concerns", "first seen",
                   "last seen", "recorded by", "reliability", "merged in", "merged into")

    def ordered_changes(self) -> list[tuple[str, str, str]]:
        """(field, before, after) in the form's order."""
        rank = {field: index for index, field in enumerate(self.FIELD_ORDER)}
        return sorted(((field, before, after) for field, (before, after) in self.changes.items()),
                      key=lambda item: rank.get(item[0], len(rank)))


class ContextLink(Base):
    """A young person's connection to a context, as recorded by one agency."""

    __tablename__ = "context_links"
    __table_args__ = (
        CheckConstraint(
            f"concern_codes <@ ARRAY[{_sql_list(CONCERN_CODES)}]::varchar[]", name="concern_codes"
        ),
        CheckConstraint(NO_FACTORS_ALONE, name="no_factors_alone"),
        CheckConstraint("last_seen_on IS NULL OR last_seen_on >= first_seen_on", name="seen_order"),
        # Her current links to a set of contexts, as the placement check's peers search asks for
        # every home near a candidate: without it, hiding removed links read each link's row.
        Index("ix_context_links_current", "young_person_id", "context_id", postgresql_where=text("removed_at IS NULL")),
        her_records_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = her_organisation_column()
    young_person_id: Mapped[int] = mapped_column(index=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), index=True)
    role: Mapped[LinkRole] = mapped_column(enum_column(LinkRole, name="link_role"))
    concern_codes: Mapped[list[str]] = mapped_column(ARRAY(String(3)), default=list)
    first_seen_on: Mapped[date] = mapped_column(Date)
    last_seen_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    reliability: Mapped[Reliability] = mapped_column(enum_column(Reliability, name="reliability"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), onupdate=utcnow)
    # As for contexts: a change made on an older version is refused, and a removed link is hidden
    # everywhere (models.links) until an administrator restores it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    young_person: Mapped[YoungPerson] = relationship(back_populates="links")
    context: Mapped[Context] = relationship(back_populates="links")
    recorded_by: Mapped[Organisation] = relationship()

    # Known to the ORM by her organisation and its id, so that its own updates say both (on Citus
    # the organisation sends them to her shard; models.distribution): session.get takes the pair.
    __mapper_args__ = {"version_id_col": version, "primary_key": [organisation_id, id]}


class MissingEpisode(Base):
    """An SSDA903 missing (M) or away (A) episode with where it began and ended. ``ended_at`` is
    empty while the episode is open; one child's episodes never overlap (an exclusion constraint)."""

    __tablename__ = "missing_episodes"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="end_after_start"),
        CheckConstraint(
            "return_interview_accepted IS NOT TRUE OR return_interview_offered IS TRUE", name="interview_offered"
        ),
        ExcludeConstraint(
            (literal_column("young_person_id"), "="),
            (literal_column("tstzrange(started_at, ended_at)"), "&&"),
            name="no_overlap",
            using="gist",
        ),
        Index("ix_missing_episodes_started_at", "started_at"),
        # Peer ties pair episodes that began, or ended, near each other within hours (models.peers).
        Index("ix_missing_episodes_ended_at", "ended_at"),
        # One child's episodes, newest first: her page and the placement check start from her.
        Index("ix_missing_episodes_young_person_id_started_at", "young_person_id", "started_at"),
        cells_check("last_seen_cells"),
        cells_check("found_cells"),
        her_records_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = her_organisation_column()
    young_person_id: Mapped[int] = mapped_column()
    missing_type: Mapped[MissingType] = mapped_column(enum_column(MissingType, name="missing_type"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_location = point_column(nullable=True)
    last_seen_cells: Mapped[list[int] | None] = cells_column()
    last_seen_context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id"), index=True)
    found_location = point_column(nullable=True)
    found_cells: Mapped[list[int] | None] = cells_column()
    found_context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id"), index=True)
    returned_by: Mapped[ReturnedBy | None] = mapped_column(enum_column(ReturnedBy, name="returned_by"))
    return_interview_offered: Mapped[bool | None] = mapped_column(Boolean)
    return_interview_accepted: Mapped[bool | None] = mapped_column(Boolean)

    young_person: Mapped[YoungPerson] = relationship(back_populates="missing_episodes")


class Placement(Base):
    """Where a looked-after child lives, with the SSDA903 placement type."""

    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint(f"place_code IN ({_sql_list(PLACE_CODES)})", name="place_code"),
        CheckConstraint(f"legal_status IN ({_sql_list(LEGAL_STATUS_CODES)})", name="legal_status"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="end_after_start"),
        cells_check("cells"),
        her_records_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = her_organisation_column()
    young_person_id: Mapped[int] = mapped_column(index=True)
    place_code: Mapped[str] = mapped_column(String(3))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    postcode: Mapped[str | None] = mapped_column(String(8))
    location = point_column(nullable=True)
    cells: Mapped[list[int] | None] = cells_column()
    home_postcode: Mapped[str | None] = mapped_column(String(8))  # SSDA903 HOME_POST: the DfE measures from it
    # The return's own PL_DISTANCE, where its system exported one (the import compares it with the DfE's formula).
    return_distance_miles: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    urn: Mapped[str | None] = mapped_column(String(8))  # Ofsted unique reference number
    legal_status: Mapped[str | None] = mapped_column(String(2))  # SSDA903 LS, as of the placement's latest episode
    provider_context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id"))

    young_person: Mapped[YoungPerson] = relationship(back_populates="placements")
    provider_context: Mapped[Context | None] = relationship()


class CaseRecord(Base):
    """One dated step of Level 2 work on a context: its referral, assessment, plan, a review or the
    closure, with an owner, the agencies involved, the decision and when it is next reviewed.
    Records are never changed: a later record supersedes an earlier one (migration 8b2f6d4e1c93)."""

    __tablename__ = "case_records"
    __table_args__ = (
        CheckConstraint("next_review_on IS NULL OR next_review_on >= held_on", name="review_after"),
        # Every step but the closure says when the case is next looked at.
        CheckConstraint("(stage = 'closure') = (next_review_on IS NULL)", name="review_unless_closed"),
        # The agencies' own lists (models.inbox) and row-level security ask which cases name them.
        Index("ix_case_records_agency_ids", "agency_ids", postgresql_using="gin"),
        its_context_key(),
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(index=True)
    context_organisation_id: Mapped[int] = mapped_column(default=its_context_organisation)
    stage: Mapped[CaseStage] = mapped_column(enum_column(CaseStage, name="case_stage"))
    held_on: Mapped[date] = mapped_column(Date)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    agency_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    decision: Mapped[str] = mapped_column(Text)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    context: Mapped[Context] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])


class CaseNote(Base):
    """A note an agency adds against a context. Never changed."""

    __tablename__ = "case_notes"
    __table_args__ = (its_context_key(), {"implicit_returning": False})

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(index=True)
    context_organisation_id: Mapped[int] = mapped_column(default=its_context_organisation)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship()
    author: Mapped[User] = relationship()


class ChildMeeting(Base):
    """An assessment or child protection conference about one young person, and whether it found
    extra-familial harm a factor, with the contexts that were its source. Never changed: a later
    record corrects an earlier one (migration 9d3e5f7a2b14)."""

    __tablename__ = "child_meetings"
    __table_args__ = (
        CheckConstraint(
            f"concern_codes <@ ARRAY[{_sql_list(CONCERN_CODES)}]::varchar[]", name="concern_codes"
        ),
        CheckConstraint(NO_FACTORS_ALONE, name="no_factors_alone"),
        CheckConstraint("extra_familial_harm OR cardinality(source_context_ids) = 0", name="sources_only_if_harm"),
        her_records_key(),
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = her_organisation_column()
    young_person_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[ChildMeetingKind] = mapped_column(enum_column(ChildMeetingKind, name="child_meeting_kind"))
    held_on: Mapped[date] = mapped_column(Date)
    extra_familial_harm: Mapped[bool] = mapped_column(Boolean)
    source_context_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    concern_codes: Mapped[list[str]] = mapped_column(ARRAY(String(3)), default=list)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    young_person: Mapped[YoungPerson] = relationship()
    recorded_by: Mapped[User] = relationship()
