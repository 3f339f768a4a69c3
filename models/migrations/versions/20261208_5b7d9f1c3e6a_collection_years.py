"""SSDA903 collection years: sex may be not known, each import says which year it was checked as,
and a placement keeps its legal status.

Revision ID: 5b7d9f1c3e6a
Revises: 4a6c8e0b2d3f
Create Date: 2026-12-08 01:10:00

From 2024/25 the return's SEX is M, F or U (models.collection_years); U is stored as 0, ISO/IEC
5218's "not known", beside 1 male and 2 female. An import run records the collection year whose
codes it was checked against. A placement keeps the legal status (LS) of its latest episode: V3 and
V4 are series of short breaks.
"""

import sqlalchemy as sa
from alembic import op

revision = "5b7d9f1c3e6a"
down_revision = "4a6c8e0b2d3f"
branch_labels = None
depends_on = None

# As the migration was written (models.codes.LEGAL_STATUS_CODES may grow later).
LEGAL_STATUSES = "'C1', 'C2', 'D1', 'E1', 'V2', 'V3', 'V4', 'L1', 'L2', 'L3', 'J1', 'J2', 'J3'"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_young_people_sex"), "young_people", type_="check")
    op.create_check_constraint(op.f("ck_young_people_sex"), "young_people", "sex IN (0, 1, 2)")
    op.add_column("import_runs", sa.Column("collection_year", sa.String(7)))
    op.add_column("placements", sa.Column("legal_status", sa.String(2)))
    op.create_check_constraint(op.f("ck_placements_legal_status"), "placements", f"legal_status IN ({LEGAL_STATUSES})")


def downgrade() -> None:
    op.drop_column("placements", "legal_status")
    op.drop_column("import_runs", "collection_year")
    op.execute("UPDATE young_people SET sex = 1 WHERE sex = 0")  # no "not known" before
    op.drop_constraint(op.f("ck_young_people_sex"), "young_people", type_="check")
    op.create_check_constraint(op.f("ck_young_people_sex"), "young_people", "sex IN (1, 2)")
