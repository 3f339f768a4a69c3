"""The audit log: every sign-in, failed sign-in, view of a child's record, export and shared-map
request, with who, when, what and from where. Append-only: the application's database role may
insert and read rows but not change or remove them (models/security.py grants; a trigger refuses
even the owner)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Select, String, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, enum_column


class AuditAction(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_LOCKED = "sign_in_locked"  # refused: too many failures
    SIGN_OUT = "sign_out"
    VIEW_YOUNG_PERSON = "view_young_person"
    VIEW_CONTEXT = "view_context"
    VIEW_HEXAGON = "view_hexagon"  # its page lists the references of young people
    PLACEMENT_CHECK = "placement_check"
    EXPORT = "export"
    IMPORT = "import"
    SHARED_MAP = "shared_map"
    API_TOKEN_ISSUED = "api_token_issued"
    API_TOKEN_REVOKED = "api_token_revoked"


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # No RETURNING on insert: row-level security would check the new row against the read policy,
    # and a failed sign-in belongs to no organisation.
    __table_args__ = (Index("ix_audit_events_organisation_id_at", "organisation_id", "at"), {"implicit_returning": False})

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Who: the user if known; the username as typed, for failed sign-ins of unknown names too.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(80))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    action: Mapped[AuditAction] = mapped_column(enum_column(AuditAction, name="audit_action"))
    # What: the path and query asked for, and the record it concerns, if one.
    target: Mapped[str] = mapped_column(String(500))
    record_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
    # From where: the client address as the server saw it (behind a proxy, configure ProxyFix).
    remote_addr: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


AUDIT_PAGE = 100


def audit_search(organisation_id: int, *, username: str | None = None, action: AuditAction | None = None,
                 since: datetime | None = None, before: datetime | None = None, record_id: int | None = None,
                 limit: int = AUDIT_PAGE) -> Select:
    """The organisation's audit events, newest first, narrowed by any of the other arguments."""
    query = select(AuditEvent).where(AuditEvent.organisation_id == organisation_id)
    if username:
        query = query.where(AuditEvent.username == username)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if before is not None:
        query = query.where(AuditEvent.at < before)
    if record_id is not None:
        query = query.where(AuditEvent.record_id == record_id)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
