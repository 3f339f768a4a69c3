"""The app's role holds UPDATE on organisations, and row-level security lets it change no row.

Revision ID: 5e7a9c1b3d2f
Revises: 1a3c5e7b9d2f
Create Date: 2026-12-06 03:30:00

On Citus, organisations is a reference table that contexts, users, api tokens and a context's
history refer to. Before a write to any of those, Citus locks the referenced reference table and
checks that the writer holds UPDATE, DELETE or TRUNCATE on it (INSERT as well for inserts); the
app's role held only SELECT, so editing a context or a user failed with "permission denied for
table organisations" (docs/distribution.md). The role now holds UPDATE, which that check accepts,
and organisations gets row-level security with a policy for reading only: an UPDATE by the app's
role finds no row to change. The owner, who adds organisations, is not held to it.
"""

from alembic import op

revision = "5e7a9c1b3d2f"
down_revision = "1a3c5e7b9d2f"
branch_labels = None
depends_on = None

APP_ROLE = "csmap_app"


def upgrade() -> None:
    op.execute("ALTER TABLE organisations ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY organisations_read ON organisations FOR SELECT USING (true)")
    op.execute(f"GRANT UPDATE ON organisations TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE ON organisations FROM {APP_ROLE}")
    op.execute("DROP POLICY organisations_read ON organisations")
    op.execute("ALTER TABLE organisations DISABLE ROW LEVEL SECURITY")
