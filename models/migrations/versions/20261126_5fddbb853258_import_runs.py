"""A record of every import (models.imports): who loaded what, what changed, and the problems found.

Revision ID: 5fddbb853258
Revises: d5e6f7a8b9c0
Create Date: 2026-11-26 23:56:25.312133
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '5fddbb853258'
down_revision = 'd5e6f7a8b9c0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('file_names', sa.Text(), nullable=False),
    sa.Column('valid_rows_only', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.Enum('imported', 'valid_rows_imported', 'refused', name='import_outcome', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('rows_read', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.Column('problems_csv', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_import_runs_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_runs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    op.create_index(op.f('ix_import_runs_created_at'), 'import_runs', ['created_at'], unique=False)
    op.create_index(op.f('ix_import_runs_organisation_id'), 'import_runs', ['organisation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_import_runs_organisation_id'), table_name='import_runs')
    op.drop_index(op.f('ix_import_runs_created_at'), table_name='import_runs')
    op.drop_table('import_runs')
