"""A placement keeps the distance its return gave (PL_DISTANCE), beside the one the project derives.

Revision ID: 9f1b3d5e7a2c
Revises: 8e0a2c4f6b1d
Create Date: 2026-12-08 02:35:00

Some case management systems export the DfE's derived PL_DISTANCE with the Episodes; the import
compares it with the DfE's formula (a warning where they differ) and now keeps it, so the DfE's
view can show the return's figure beside the project's.
"""

import sqlalchemy as sa
from alembic import op

revision = "9f1b3d5e7a2c"
down_revision = "8e0a2c4f6b1d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("placements", sa.Column("return_distance_miles", sa.Numeric(4, 1)))


def downgrade() -> None:
    op.drop_column("placements", "return_distance_miles")
