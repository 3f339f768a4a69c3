"""Users carry a session version: signing out ends the session on the server too.

Revision ID: 9c1e3a5b7d0f
Revises: 7b9d1f3a5c8e
Create Date: 2026-12-07 21:30:00

The session lives in a signed cookie, so a copy taken before signing out still signed its holder
in afterwards. Each session now carries the user's session version from its sign-in, and signing
out moves the version on (webapp.auth).
"""

import sqlalchemy as sa
from alembic import op

revision = "9c1e3a5b7d0f"
down_revision = "7b9d1f3a5c8e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("users", "session_version")
