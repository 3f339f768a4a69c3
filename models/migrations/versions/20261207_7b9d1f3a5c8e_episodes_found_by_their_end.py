"""Missing episodes are indexed by their end, as they are by their start.

Revision ID: 7b9d1f3a5c8e
Revises: 5e7a9c1b3d2f
Create Date: 2026-12-07 21:15:00

Peer ties (models.peers) pair episodes that ended near each other within two hours. Without an
index on ended_at that half of the search compared every episode with every other one: 7.2 million
pairs for the demo's 3,008 episodes, 0.6 s a young person's page, and quadratic in the episodes.
"""

from alembic import op

revision = "7b9d1f3a5c8e"
down_revision = "5e7a9c1b3d2f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_missing_episodes_ended_at", "missing_episodes", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_missing_episodes_ended_at", table_name="missing_episodes")
