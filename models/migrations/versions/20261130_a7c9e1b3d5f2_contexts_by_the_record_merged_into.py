"""An index on contexts.merged_into_id.

Revision ID: a7c9e1b3d5f2
Revises: f4b6d8a0c2e3
Create Date: 2026-11-30 08:10:00

Every context's page asks which records were merged into it (their notes and case records show
there): without the index that read every context, 12 ms a page with 100,000 of them.
"""

from alembic import op

revision = "a7c9e1b3d5f2"
down_revision = "f4b6d8a0c2e3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_contexts_merged_into_id"), "contexts", ["merged_into_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contexts_merged_into_id"), table_name="contexts")
