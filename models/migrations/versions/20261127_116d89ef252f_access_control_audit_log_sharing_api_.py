"""Access control: the audit log, sharing between organisations, API tokens, sign-in lock-out,
row-level security and the application role's grants.

Revision ID: 116d89ef252f
Revises: e7f8a9b0c1d2
Create Date: 2026-11-27 03:21:25.129010

The application connects as csmap_app, a role that owns nothing (./scripts/lib/setup.sh creates it
in the local cluster; elsewhere a database administrator does, see the README). It may read every
table, write the records the app writes, and only insert into the audit log. Row-level security
then lets a transaction see only the rows of the organisation it names (models.security.act_for)
and of the authorities that share with it. The table owner (migrations, command-line loads) is not
subject to the policies.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '116d89ef252f'
down_revision = 'e7f8a9b0c1d2'
branch_labels = None
depends_on = None


APP_ROLE = "csmap_app"
# Rows of the organisation the transaction acts for, and of the authorities sharing with it.
VISIBLE = "organisation_id = ANY (csmap_visible_organisations())"
# Rows hanging off a young person: visible when she is (her table's policy applies inside).
HER_ROWS = "EXISTS (SELECT 1 FROM young_people y WHERE y.id = young_person_id)"
POLICIES = {
    "young_people": VISIBLE,
    "contexts": VISIBLE,
    "context_links": HER_ROWS,
    "missing_episodes": HER_ROWS,
    "placements": HER_ROWS,
    "import_runs": "organisation_id = csmap_acting_organisation()",
}
APP_WRITES = ("young_people", "contexts", "context_links", "missing_episodes", "placements", "import_runs",
              "api_tokens", "users")
SECURITY = [
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            RAISE EXCEPTION 'role {APP_ROLE} does not exist: create it first (CREATE ROLE {APP_ROLE} LOGIN), see the README';
        END IF; END $$""",
    """CREATE FUNCTION csmap_acting_organisation() RETURNS integer LANGUAGE sql STABLE AS $$
        SELECT nullif(current_setting('csmap.organisation_id', true), '')::integer $$""",
    """CREATE FUNCTION csmap_visible_organisations() RETURNS integer[] LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN csmap_acting_organisation() IS NULL THEN '{}'::integer[]
               ELSE array_append(ARRAY(SELECT authority_id FROM organisation_sharing
                                       WHERE partner_id = csmap_acting_organisation()),
                                 csmap_acting_organisation()) END $$""",
    *(statement for table, rule in POLICIES.items() for statement in (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_by_organisation ON {table} USING ({rule}) WITH CHECK ({rule})",
    )),
    # The audit log: anyone may add a row; an organisation reads its own; nobody changes one.
    "ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY audit_events_insert ON audit_events FOR INSERT WITH CHECK (true)",
    "CREATE POLICY audit_events_read ON audit_events FOR SELECT USING (organisation_id = csmap_acting_organisation())",
    """CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP; END $$""",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change()",
    # The hexagon totals and the data token are kept by triggers over every organisation's rows:
    # they run as the owner, so the app role needs no right to write them.
    "ALTER FUNCTION maintain_episode_hex_months() SECURITY DEFINER SET search_path = public, pg_temp",
    "ALTER FUNCTION new_episode_data_version() SECURITY DEFINER SET search_path = public, pg_temp",
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
    f"GRANT INSERT, UPDATE, DELETE ON {', '.join(APP_WRITES)} TO {APP_ROLE}",
    f"GRANT INSERT ON audit_events TO {APP_ROLE}",
    f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
]
SECURITY_UNDONE = [
    f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}",
    f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}",
    f"REVOKE ALL ON SCHEMA public FROM {APP_ROLE}",
    "ALTER FUNCTION maintain_episode_hex_months() SECURITY INVOKER RESET search_path",
    "ALTER FUNCTION new_episode_data_version() SECURITY INVOKER RESET search_path",
    *(statement for table in POLICIES for statement in (
        f"DROP POLICY {table}_by_organisation ON {table}",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    )),
    "DROP TRIGGER audit_events_no_truncate ON audit_events",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "DROP FUNCTION refuse_audit_change()",
    "DROP FUNCTION csmap_visible_organisations()",
    "DROP FUNCTION csmap_acting_organisation()",
]


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('organisation_sharing',
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['organisations.id'], name=op.f('fk_organisation_sharing_authority_id_organisations')),
    sa.ForeignKeyConstraint(['partner_id'], ['organisations.id'], name=op.f('fk_organisation_sharing_partner_id_organisations')),
    sa.PrimaryKeyConstraint('authority_id', 'partner_id', name=op.f('pk_organisation_sharing'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum('sign_in', 'sign_in_failed', 'sign_in_locked', 'sign_out', 'view_young_person', 'view_context', 'placement_check', 'export', 'import', 'shared_map', 'api_token_issued', 'api_token_revoked', name='audit_action', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('target', sa.String(length=500), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('remote_addr', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_audit_events_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_organisation_id_at', 'audit_events', ['organisation_id', 'at'], unique=False)
    op.add_column('users', sa.Column('failed_sign_ins', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    # ### end Alembic commands ###
    for statement in SECURITY:
        op.execute(statement)


def downgrade() -> None:
    for statement in SECURITY_UNDONE:
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_column('users', 'locked_until')
    op.drop_column('users', 'failed_sign_ins')
    op.drop_index('ix_audit_events_organisation_id_at', table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('organisation_sharing')
    # ### end Alembic commands ###
