"""Organisations and the people who sign in."""

from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    DateTime,
    Delete,
    ForeignKey,
    Insert,
    Integer,
    PrimaryKeyConstraint,
    String,
    case,
    delete,
    or_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_column, utcnow
from models.codes import OrganisationKind, Role


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind, name="organisation_kind"))
    # For local authorities: the upper-tier authority code, e.g. E09000020.
    local_authority_code: Mapped[str | None] = mapped_column(String(9))

    users: Mapped[list["User"]] = relationship(back_populates="organisation")


class OrganisationSharing(Base):
    """An authority shares its records with a partner organisation: the partner's users may read
    them (row-level security, models/security.py), which the app uses only for the shared map's
    disclosed counts."""

    __tablename__ = "organisation_sharing"
    __table_args__ = (PrimaryKeyConstraint("authority_id", "partner_id"),)

    authority_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role, name="role"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Each session carries the version it signed in with; signing out moves it on, so a copy of an
    # older session cookie no longer signs anyone in (webapp.auth).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sign-in to inactive users
        return self.active


class SignInFailures(Base):
    """Failed sign-ins in a row for one name typed from one address, and until when that pair is
    refused (webapp.auth). Kept by name and address whether or not the name is anyone's, so the
    answers never tell which names exist, and nobody can lock another person out from everywhere."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (PrimaryKeyConstraint("username", "remote_addr"),)

    username: Mapped[str] = mapped_column(String(80))
    remote_addr: Mapped[str] = mapped_column(String(45))  # an IPv6 address at most
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def count_sign_in_failure(username: str, remote_addr: str, now: datetime, lock_after: int,
                          lock_for: timedelta) -> Insert:
    """One more failure for the name from the address, as one statement so that failures at the
    same moment are all counted. The ``lock_after``-th in a row locks the pair for ``lock_for`` and
    starts the count again; a failure more than ``lock_for`` after the last one starts it too."""
    table = SignInFailures.__table__
    count = case((table.c.last_failed_at < now - lock_for, 1), else_=table.c.failures + 1)
    locks = count >= lock_after
    statement = insert(SignInFailures).values(
        username=username[:80], remote_addr=remote_addr, last_failed_at=now,
        failures=0 if lock_after <= 1 else 1, locked_until=now + lock_for if lock_after <= 1 else None)
    return statement.on_conflict_do_update(
        index_elements=["username", "remote_addr"],
        set_={"failures": case((locks, 0), else_=count), "last_failed_at": now,
              "locked_until": case((locks, now + lock_for), else_=table.c.locked_until)})


def forget_sign_in_failures(now: datetime, lock_for: timedelta) -> Delete:
    """The pairs whose last failure and lock are both over: they count for nothing any more."""
    table = SignInFailures.__table__
    return delete(SignInFailures).where(
        table.c.last_failed_at < now - lock_for, or_(table.c.locked_until.is_(None), table.c.locked_until < now))
