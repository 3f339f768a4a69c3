"""A record of every data import: who loaded what, what it changed, and the problems found, so a
refused or partial load can be looked at (and its rejected rows downloaded) afterwards."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_column, utcnow
from models.people import Organisation, User


class ImportOutcome(StrEnum):
    IMPORTED = "imported"  # every row passed and was written
    VALID_ROWS_IMPORTED = "valid_rows_imported"  # the user chose to write the rows that passed
    REFUSED = "refused"  # problems were found and nothing was written


class ImportRun(Base):
    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: from the command line
    source: Mapped[str] = mapped_column(String(20))  # "SSDA903"
    file_names: Mapped[str] = mapped_column(Text)
    valid_rows_only: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[ImportOutcome] = mapped_column(enum_column(ImportOutcome, name="import_outcome"))
    rows_read: Mapped[dict] = mapped_column(JSONB)  # rows per file
    counts: Mapped[dict] = mapped_column(JSONB)  # created, updated, unchanged per table
    problem_count: Mapped[int] = mapped_column(Integer)
    problems_csv: Mapped[str] = mapped_column(Text)  # models.ssda903.rejected_csv
    collection_year: Mapped[str | None] = mapped_column(String(7))  # "2024/25": the codes checked against
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User | None] = relationship()
