"""Organisations and users; young people, contexts, their links, missing episodes and placements,
each point with its H3 cells at the map resolutions.

Revision ID: b450ab42d1a9
Revises: 7c247435eb7e
Create Date: 2026-11-26 15:53:50.524542
"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = 'b450ab42d1a9'
down_revision = '7c247435eb7e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('local_authority', 'police', 'school', 'health', 'community', name='organisation_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('local_authority_code', sa.String(length=9), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name'))
    )
    op.create_geospatial_table('contexts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('park', 'takeaway', 'transport_hub', 'shop', 'school', 'housing_estate', 'hotel', 'placement_provider', 'online_space', 'peer_group', 'other', name='context_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('geometry', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('cells', postgresql.ARRAY(sa.BigInteger(), dimensions=1), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('postcode', sa.String(length=8), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='context_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind IN ('online_space', 'peer_group')) = (geometry IS NULL)", name=op.f('ck_contexts_geometry_by_kind')),
    sa.CheckConstraint("geometry IS NULL OR GeometryType(geometry) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')", name=op.f('ck_contexts_point_or_area')),
    sa.CheckConstraint('cells IS NULL OR cardinality(cells) = 5', name=op.f('ck_contexts_cells_length')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_contexts_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contexts'))
    )
    op.create_geospatial_index('idx_contexts_geometry', 'contexts', ['geometry'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_contexts_kind'), 'contexts', ['kind'], unique=False)
    op.create_index(op.f('ix_contexts_organisation_id'), 'contexts', ['organisation_id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.Enum('administrator', 'social_worker', 'panel_member', 'placement_commissioner', 'police_partner', 'community_partner', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_users_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_index(op.f('ix_users_organisation_id'), 'users', ['organisation_id'], unique=False)
    op.create_geospatial_table('young_people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('birth_month', sa.Date(), nullable=False),
    sa.Column('sex', sa.SmallInteger(), nullable=False),
    sa.Column('home_postcode', sa.String(length=8), nullable=True),
    sa.Column('home_location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('home_cells', postgresql.ARRAY(sa.BigInteger(), dimensions=1), nullable=True),
    sa.Column('responsible_authority_code', sa.String(length=9), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('home_cells IS NULL OR cardinality(home_cells) = 5', name=op.f('ck_young_people_home_cells_length')),
    sa.CheckConstraint('sex IN (1, 2)', name=op.f('ck_young_people_sex')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_young_people_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_young_people')),
    sa.UniqueConstraint('reference', name=op.f('uq_young_people_reference'))
    )
    op.create_geospatial_index('idx_young_people_home_location', 'young_people', ['home_location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_young_people_organisation_id'), 'young_people', ['organisation_id'], unique=False)
    op.create_table('context_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('young_person_id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('harmed_there', 'at_risk_there', 'frequents', 'found_there', 'lives_or_placed_there', 'attends', 'member', name='link_role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('concern_codes', postgresql.ARRAY(sa.String(length=3)), nullable=False),
    sa.Column('first_seen_on', sa.Date(), nullable=False),
    sa.Column('last_seen_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('reliability', sa.Enum('known_directly', 'corroborated', 'not_corroborated', 'suspected_false', name='reliability', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("concern_codes <@ ARRAY['1A', '1B', '1C', '2A', '2B', '2C', '10A', '11A', '12A', '13A', '14A', '15A', '18B', '18C', '19B', '19C', '20', '21', '22A', '23A', '24A']::varchar[]", name=op.f('ck_context_links_concern_codes')),
    sa.CheckConstraint('last_seen_on IS NULL OR last_seen_on >= first_seen_on', name=op.f('ck_context_links_seen_order')),
    sa.ForeignKeyConstraint(['context_id'], ['contexts.id'], name=op.f('fk_context_links_context_id_contexts')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['organisations.id'], name=op.f('fk_context_links_recorded_by_id_organisations')),
    sa.ForeignKeyConstraint(['young_person_id'], ['young_people.id'], name=op.f('fk_context_links_young_person_id_young_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_context_links'))
    )
    op.create_index(op.f('ix_context_links_context_id'), 'context_links', ['context_id'], unique=False)
    op.create_index(op.f('ix_context_links_young_person_id'), 'context_links', ['young_person_id'], unique=False)
    op.create_geospatial_table('missing_episodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('young_person_id', sa.Integer(), nullable=False),
    sa.Column('missing_type', sa.Enum('M', 'A', name='missing_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('last_seen_cells', postgresql.ARRAY(sa.BigInteger(), dimensions=1), nullable=True),
    sa.Column('last_seen_context_id', sa.Integer(), nullable=True),
    sa.Column('found_location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('found_cells', postgresql.ARRAY(sa.BigInteger(), dimensions=1), nullable=True),
    sa.Column('found_context_id', sa.Integer(), nullable=True),
    sa.Column('returned_by', sa.Enum('self', 'police', 'carer', 'family', 'friends', 'other', 'unknown', name='returned_by', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('return_interview_offered', sa.Boolean(), nullable=True),
    sa.Column('return_interview_accepted', sa.Boolean(), nullable=True),
    postgresql.ExcludeConstraint((sa.literal_column('young_person_id'), '='), (sa.literal_column('tstzrange(started_at, ended_at)'), '&&'), using='gist', name='no_overlap'),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_missing_episodes_end_after_start')),
    sa.CheckConstraint('found_cells IS NULL OR cardinality(found_cells) = 5', name=op.f('ck_missing_episodes_found_cells_length')),
    sa.CheckConstraint('last_seen_cells IS NULL OR cardinality(last_seen_cells) = 5', name=op.f('ck_missing_episodes_last_seen_cells_length')),
    sa.CheckConstraint('return_interview_accepted IS NOT TRUE OR return_interview_offered IS TRUE', name=op.f('ck_missing_episodes_interview_offered')),
    sa.ForeignKeyConstraint(['found_context_id'], ['contexts.id'], name=op.f('fk_missing_episodes_found_context_id_contexts')),
    sa.ForeignKeyConstraint(['last_seen_context_id'], ['contexts.id'], name=op.f('fk_missing_episodes_last_seen_context_id_contexts')),
    sa.ForeignKeyConstraint(['young_person_id'], ['young_people.id'], name=op.f('fk_missing_episodes_young_person_id_young_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missing_episodes'))
    )
    op.create_geospatial_index('idx_missing_episodes_found_location', 'missing_episodes', ['found_location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_missing_episodes_last_seen_location', 'missing_episodes', ['last_seen_location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_missing_episodes_found_context_id'), 'missing_episodes', ['found_context_id'], unique=False)
    op.create_index(op.f('ix_missing_episodes_last_seen_context_id'), 'missing_episodes', ['last_seen_context_id'], unique=False)
    op.create_index('ix_missing_episodes_started_at', 'missing_episodes', ['started_at'], unique=False)
    op.create_geospatial_table('placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('young_person_id', sa.Integer(), nullable=False),
    sa.Column('place_code', sa.String(length=3), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('postcode', sa.String(length=8), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('cells', postgresql.ARRAY(sa.BigInteger(), dimensions=1), nullable=True),
    sa.Column('urn', sa.String(length=8), nullable=True),
    sa.Column('provider_context_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("place_code IN ('A3', 'A4', 'A5', 'A6', 'H5', 'K1', 'K2', 'K3', 'P1', 'P2', 'P3', 'R1', 'R2', 'R3', 'R5', 'S1', 'T0', 'T1', 'T2', 'T3', 'T4', 'U1', 'U2', 'U3', 'U4', 'U5', 'U6', 'Z1', 'Z11', 'Z12', 'Z13', 'Z14')", name=op.f('ck_placements_place_code')),
    sa.CheckConstraint('cells IS NULL OR cardinality(cells) = 5', name=op.f('ck_placements_cells_length')),
    sa.CheckConstraint('ended_on IS NULL OR ended_on >= started_on', name=op.f('ck_placements_end_after_start')),
    sa.ForeignKeyConstraint(['provider_context_id'], ['contexts.id'], name=op.f('fk_placements_provider_context_id_contexts')),
    sa.ForeignKeyConstraint(['young_person_id'], ['young_people.id'], name=op.f('fk_placements_young_person_id_young_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placements'))
    )
    op.create_geospatial_index('idx_placements_location', 'placements', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_placements_young_person_id'), 'placements', ['young_person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_placements_young_person_id'), table_name='placements')
    op.drop_geospatial_index('idx_placements_location', table_name='placements', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('placements')
    op.drop_index('ix_missing_episodes_started_at', table_name='missing_episodes')
    op.drop_index(op.f('ix_missing_episodes_last_seen_context_id'), table_name='missing_episodes')
    op.drop_index(op.f('ix_missing_episodes_found_context_id'), table_name='missing_episodes')
    op.drop_geospatial_index('idx_missing_episodes_last_seen_location', table_name='missing_episodes', postgresql_using='gist', column_name='last_seen_location')
    op.drop_geospatial_index('idx_missing_episodes_found_location', table_name='missing_episodes', postgresql_using='gist', column_name='found_location')
    op.drop_geospatial_table('missing_episodes')
    op.drop_index(op.f('ix_context_links_young_person_id'), table_name='context_links')
    op.drop_index(op.f('ix_context_links_context_id'), table_name='context_links')
    op.drop_table('context_links')
    op.drop_index(op.f('ix_young_people_organisation_id'), table_name='young_people')
    op.drop_geospatial_index('idx_young_people_home_location', table_name='young_people', postgresql_using='gist', column_name='home_location')
    op.drop_geospatial_table('young_people')
    op.drop_index(op.f('ix_users_organisation_id'), table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('ix_contexts_organisation_id'), table_name='contexts')
    op.drop_index(op.f('ix_contexts_kind'), table_name='contexts')
    op.drop_geospatial_index('idx_contexts_geometry', table_name='contexts', postgresql_using='gist', column_name='geometry')
    op.drop_geospatial_table('contexts')
    op.drop_table('organisations')
