"""Reference geography: every UK postcode (ONS Postcode Directory) and local authorities.

Revision ID: 7c247435eb7e
Revises:
Create Date: 2026-11-26 15:44:17.720066
"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '7c247435eb7e'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Both need a superuser where they are missing; ./scripts/run and models.distribution.deploy
    # create them before migrating. Only where missing: Citus passes CREATE EXTENSION on to the
    # workers even when it exists, and there the migrating owner is not the extension's owner.
    for extension in ("postgis", "btree_gist"):
        if not op.get_bind().scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": extension}):
            op.execute(f"CREATE EXTENSION {extension}")
    op.create_table('local_authorities',
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('upper_tier_code', sa.String(length=9), nullable=False),
    sa.Column('upper_tier_name', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_local_authorities'))
    )
    op.create_geospatial_table('postcodes',
    sa.Column('postcode', sa.String(length=8), nullable=False),
    sa.Column('easting', sa.Float(), nullable=True),
    sa.Column('northing', sa.Float(), nullable=True),
    sa.Column('grid_srid', sa.SmallInteger(), nullable=True),
    sa.Column('local_authority_code', sa.String(length=9), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.PrimaryKeyConstraint('postcode', name=op.f('pk_postcodes'))
    )
    op.create_geospatial_index('idx_postcodes_location', 'postcodes', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_postcodes_local_authority_code'), 'postcodes', ['local_authority_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_postcodes_local_authority_code'), table_name='postcodes')
    op.drop_geospatial_index('idx_postcodes_location', table_name='postcodes', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('postcodes')
    op.drop_table('local_authorities')
