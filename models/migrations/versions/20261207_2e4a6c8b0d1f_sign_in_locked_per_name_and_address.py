"""Sign-in is locked per name and address, not per account.

Revision ID: 2e4a6c8b0d1f
Revises: 9c1e3a5b7d0f
Create Date: 2026-12-07 21:40:00

Five wrong passwords locked the account itself: anyone could lock anyone out, and only a real
account answered "locked", which told which names exist. Failures are now counted in
sign_in_failures by the name typed and the address it came from, real name or not.
"""

import sqlalchemy as sa
from alembic import op

revision = "2e4a6c8b0d1f"
down_revision = "9c1e3a5b7d0f"
branch_labels = None
depends_on = None

APP_ROLE = "csmap_app"


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("remote_addr", sa.String(length=45), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "remote_addr", name=op.f("pk_sign_in_failures")),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_failures TO {APP_ROLE}")
    op.drop_column("users", "failed_sign_ins")
    op.drop_column("users", "locked_until")


def downgrade() -> None:
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("failed_sign_ins", sa.Integer(), server_default="0", nullable=False))
    op.drop_table("sign_in_failures")
