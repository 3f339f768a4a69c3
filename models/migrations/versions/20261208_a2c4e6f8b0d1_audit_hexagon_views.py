"""The audit log records views of a hexagon's page, which lists young people's references.

Revision ID: a2c4e6f8b0d1
Revises: 9f1b3d5e7a2c
Create Date: 2026-12-08 03:45:00
"""

from alembic import op

revision = "a2c4e6f8b0d1"
down_revision = "9f1b3d5e7a2c"
branch_labels = None
depends_on = None

BEFORE = ("sign_in", "sign_in_failed", "sign_in_locked", "sign_out", "view_young_person", "view_context",
          "placement_check", "export", "import", "shared_map", "api_token_issued", "api_token_revoked")
AFTER = (*BEFORE, "view_hexagon")


def _allow(values: tuple[str, ...]) -> None:
    op.drop_constraint("audit_action", "audit_events", type_="check")  # named by models.base.NAMING_CONVENTION
    listed = ", ".join(f"'{value}'" for value in values)
    op.create_check_constraint("audit_action", "audit_events", f"action IN ({listed})")


def upgrade() -> None:
    _allow(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM audit_events WHERE action = 'view_hexagon'")
    _allow(BEFORE)
