"""Other organisations' items: once a context is referred for Level 2 work, the organisation
responsible for the place (a school, a housing provider, a children's home) and every agency named
in its case see it in their own list, with its case and the agencies' notes, and may add notes.
They never see the young people linked to it: those stay with the authority that owns the record.

An item is new to a user while someone else has recorded a step or written a note since that
user last opened it. Row-level security (migration 3f5b7d9e1a2c) lets these organisations read
just these contexts.
"""

from datetime import datetime

from sqlalchemy import (
    BindParameter,
    DateTime,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import array, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow
from models.cases import latest_per_context
from models.safeguarding import CaseNote, CaseRecord, Context, its_context_key, its_context_organisation


class ContextRead(Base):
    """When a user last opened another organisation's context from their list."""

    __tablename__ = "context_reads"
    __table_args__ = (PrimaryKeyConstraint("user_id", "context_id"), its_context_key())

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    context_id: Mapped[int] = mapped_column(index=True)
    context_organisation_id: Mapped[int] = mapped_column(default=its_context_organisation)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _involving(organisation_id: int | BindParameter):
    """The ids of the contexts ``organisation_id`` runs or is named in as an agency, each found
    through its own index (as csmap_partner_contexts() finds them for row-level security)."""
    return union(
        select(Context.id).where(Context.responsible_organisation_id == organisation_id),
        select(CaseRecord.context_id).where(CaseRecord.agency_ids.contains(array([organisation_id]))),
    )


def _involves(organisation_id: int | BindParameter):
    """The context is another organisation's, and ``organisation_id`` runs the place or is named
    as an agency in its case."""
    return and_(Context.organisation_id != organisation_id, Context.id.in_(_involving(organisation_id)))


def organisation_items(user_id: int | BindParameter, organisation_id: int | BindParameter) -> Select:
    """The referred contexts that involve the user's organisation, new ones first, then by latest
    activity: (Context, stage, held_on, next_review_on, last_activity, responsible, new).

    Every page's menu counts the new ones, so the records and notes are read for the involved
    contexts only, found first through their indexes, never for every case of every authority."""
    involved = _involving(organisation_id)
    activity = union_all(
        select(CaseRecord.context_id, CaseRecord.recorded_at.label("at"), CaseRecord.recorded_by_id.label("by"))
        .where(CaseRecord.context_id.in_(involved)),
        select(CaseNote.context_id, CaseNote.written_at, CaseNote.author_id).where(CaseNote.context_id.in_(involved)),
    ).subquery("activity")
    last = (select(activity.c.context_id, func.max(activity.c.at).label("last_activity"),
                   func.max(activity.c.at).filter(activity.c.by != user_id).label("last_by_others"))
            .group_by(activity.c.context_id).subquery("last"))
    latest = latest_per_context(select(CaseRecord).where(CaseRecord.context_id.in_(involved))).subquery("latest")
    read = select(ContextRead).where(ContextRead.user_id == user_id).subquery("read")
    new = and_(last.c.last_by_others.is_not(None),
               or_(read.c.read_at.is_(None), last.c.last_by_others > read.c.read_at)).label("new")
    return (select(Context, latest.c.stage, latest.c.held_on, latest.c.next_review_on, last.c.last_activity,
                   func.coalesce(Context.responsible_organisation_id == organisation_id, False).label("responsible"),
                   new)
            .join(latest, latest.c.context_id == Context.id)
            .join(last, last.c.context_id == Context.id)
            .outerjoin(read, read.c.context_id == Context.id)
            .where(_involves(organisation_id))
            .order_by(new.desc(), last.c.last_activity.desc(), Context.id))


def new_item_count(user_id: int | BindParameter, organisation_id: int | BindParameter) -> Select:
    items = organisation_items(user_id, organisation_id).order_by(None).subquery("items")
    return select(func.count()).select_from(items).where(items.c.new)


# Every page's menu runs it: built once with the user and the organisation as parameters, since
# building a statement this size took longer than running it.
NEW_ITEM_COUNT = new_item_count(bindparam("user_id", type_=Integer), bindparam("organisation_id", type_=Integer))


def organisation_item(organisation_id: int, context_id: int) -> Select:
    """The context, if it is referred and involves the organisation."""
    return select(Context).where(Context.id == context_id, _involves(organisation_id),
                                 exists().where(CaseRecord.context_id == Context.id))


def mark_read(session: Session, user_id: int, context_id: int) -> None:
    """The user has seen the context's case and notes as they are now."""
    statement = insert(ContextRead).values(user_id=user_id, context_id=context_id, read_at=utcnow())
    session.execute(statement.on_conflict_do_update(index_elements=["user_id", "context_id"],
                                                    set_={"read_at": statement.excluded.read_at}))
