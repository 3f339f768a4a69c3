"""An index on one child's missing episodes by start: her page and the placement check read them.

Revision ID: d5e6f7a8b9c0
Revises: c3d9e1f2a7b4
Create Date: 2026-11-26 19:40:00
"""

from alembic import op

revision = "d5e6f7a8b9c0"
down_revision = "c3d9e1f2a7b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_missing_episodes_young_person_id_started_at", "missing_episodes",
                    ["young_person_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_missing_episodes_young_person_id_started_at", table_name="missing_episodes")
