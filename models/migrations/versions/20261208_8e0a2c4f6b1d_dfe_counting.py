"""What the DfE counts placements by: each placement's own home postcode, and whether a child is
or was an unaccompanied asylum-seeking child.

Revision ID: 8e0a2c4f6b1d
Revises: 7d9f1b3c5e8a
Create Date: 2026-12-08 01:45:00

The DfE measures each placement from its episode's HOME_POST, not from where the child lives
today, and records no distance for a child who is or was an unaccompanied asylum-seeking child (the
return's UASC file, with DUC, the date that status ceased).
"""

import sqlalchemy as sa
from alembic import op

revision = "8e0a2c4f6b1d"
down_revision = "7d9f1b3c5e8a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("placements", sa.Column("home_postcode", sa.String(8)))
    op.add_column("young_people", sa.Column("asylum_seeking", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("young_people", sa.Column("asylum_seeking_ceased_on", sa.Date()))


def downgrade() -> None:
    op.drop_column("young_people", "asylum_seeking_ceased_on")
    op.drop_column("young_people", "asylum_seeking")
    op.drop_column("placements", "home_postcode")
