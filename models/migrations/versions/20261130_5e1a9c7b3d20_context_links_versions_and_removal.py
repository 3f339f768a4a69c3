"""Links between young people and contexts get versions and soft removal, and their changes go
into the context's history.

Revision ID: 5e1a9c7b3d20
Revises: 2d6b8f0e4a17
Create Date: 2026-11-30 02:04:36.464704
"""

import sqlalchemy as sa
from alembic import op

revision = "5e1a9c7b3d20"
down_revision = "2d6b8f0e4a17"
branch_labels = None
depends_on = None

ACTIONS = ["created", "edited", "closed", "reopened", "deleted", "restored", "merged_in", "merged_away"]
LINK_ACTIONS = ["link_added", "link_changed", "link_removed", "link_restored"]


def _actions(values: list[str]) -> None:
    width = max(map(len, values))
    listed = ", ".join(f"'{value}'" for value in values)
    op.execute("ALTER TABLE context_changes DROP CONSTRAINT ck_context_changes_context_change_action")
    op.execute(f"ALTER TABLE context_changes ALTER COLUMN action TYPE varchar({width})")
    op.execute(f"ALTER TABLE context_changes ADD CONSTRAINT ck_context_changes_context_change_action "
               f"CHECK (action IN ({listed}))")


def upgrade() -> None:
    op.add_column("context_changes", sa.Column("link_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_context_changes_link_id_context_links"), "context_changes", "context_links",
                          ["link_id"], ["id"])
    _actions(ACTIONS + LINK_ACTIONS)
    op.add_column("context_links", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("context_links", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("context_links", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("context_links", "removed_at")
    op.drop_column("context_links", "version")
    op.drop_column("context_links", "updated_at")
    # The history is append-only: link rows stay, so the narrower rule is added without checking them.
    op.drop_constraint(op.f("fk_context_changes_link_id_context_links"), "context_changes", type_="foreignkey")
    op.drop_column("context_changes", "link_id")
    op.execute("ALTER TABLE context_changes DROP CONSTRAINT ck_context_changes_context_change_action")
    listed = ", ".join(f"'{value}'" for value in ACTIONS)
    op.execute(f"ALTER TABLE context_changes ADD CONSTRAINT ck_context_changes_context_change_action "
               f"CHECK (action IN ({listed})) NOT VALID")
