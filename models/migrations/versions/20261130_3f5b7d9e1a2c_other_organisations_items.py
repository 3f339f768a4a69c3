"""Other organisations' items: a context's responsible organisation, and what those organisations
and the agencies named in a case may read.

Revision ID: 3f5b7d9e1a2c
Revises: a1c3e5b7d9f2
Create Date: 2026-11-30 04:20:00

A school, housing provider or children's home may run a place an authority records as a context;
once the context is referred, that organisation and every agency named in its case see it in their
own list (models.inbox). Row-level security lets them read those contexts, and with them the case
records and notes (whose policies follow their context), but not the young people linked to them:
links follow their young person's policy, and now so does a history row about a link, so the
history never shows a partner a child's reference. ``csmap_partner_contexts()`` runs as the owner
(who bypasses the policies it serves) so the contexts policy does not recurse through case_records.
"""

import sqlalchemy as sa
from alembic import op

revision = "3f5b7d9e1a2c"
down_revision = "a1c3e5b7d9f2"
branch_labels = None
depends_on = None

APP_ROLE = "csmap_app"
KINDS_BEFORE = ("local_authority", "police", "school", "health", "community")
KINDS_AFTER = (*KINDS_BEFORE, "housing", "care_provider")

VISIBLE = "organisation_id = ANY ((SELECT csmap_visible_organisations())::integer[])"
PARTNER = "id = ANY ((SELECT csmap_partner_contexts())::integer[])"
ITS_CONTEXT = "EXISTS (SELECT 1 FROM contexts c WHERE c.id = context_id)"
ITS_LINK = "(link_id IS NULL OR EXISTS (SELECT 1 FROM context_links l WHERE l.id = link_id))"

SECURITY = [
    """CREATE FUNCTION csmap_partner_contexts() RETURNS integer[] LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = public, pg_temp AS $$
        SELECT coalesce(array_agg(id), '{}') FROM (
            SELECT id FROM contexts WHERE responsible_organisation_id = csmap_acting_organisation()
            UNION SELECT context_id FROM case_records WHERE agency_ids @> ARRAY[csmap_acting_organisation()]
        ) involved $$""",
    # Reading only: writing a context still needs the owning authority's (or a sharer's) rows.
    f"ALTER POLICY contexts_by_organisation ON contexts USING ({VISIBLE} OR {PARTNER}) WITH CHECK ({VISIBLE})",
    f"ALTER POLICY context_changes_by_context ON context_changes USING ({ITS_CONTEXT} AND {ITS_LINK}) "
    f"WITH CHECK ({ITS_CONTEXT})",
    "ALTER TABLE context_reads ENABLE ROW LEVEL SECURITY",
    f"CREATE POLICY context_reads_by_context ON context_reads USING ({ITS_CONTEXT}) WITH CHECK ({ITS_CONTEXT})",
    f"GRANT SELECT, INSERT, UPDATE ON context_reads TO {APP_ROLE}",
]
SECURITY_UNDONE = [
    f"REVOKE ALL ON context_reads FROM {APP_ROLE}",
    f"ALTER POLICY context_changes_by_context ON context_changes USING ({ITS_CONTEXT}) WITH CHECK ({ITS_CONTEXT})",
    f"ALTER POLICY contexts_by_organisation ON contexts USING ({VISIBLE}) WITH CHECK ({VISIBLE})",
    "DROP FUNCTION csmap_partner_contexts()",
]


def _kinds(kinds: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_organisations_organisation_kind"), "organisations", type_="check")
    op.create_check_constraint(op.f("ck_organisations_organisation_kind"), "organisations",
                               "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")")


def upgrade() -> None:
    _kinds(KINDS_AFTER)
    op.add_column("contexts", sa.Column("responsible_organisation_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_contexts_responsible_organisation_id"), "contexts", ["responsible_organisation_id"])
    op.create_foreign_key(op.f("fk_contexts_responsible_organisation_id_organisations"), "contexts",
                          "organisations", ["responsible_organisation_id"], ["id"])
    op.create_index("ix_case_records_agency_ids", "case_records", ["agency_ids"], postgresql_using="gin")
    op.create_table(
        "context_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["context_id"], ["contexts.id"], name=op.f("fk_context_reads_context_id_contexts")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_context_reads_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "context_id", name=op.f("pk_context_reads")),
    )
    op.create_index(op.f("ix_context_reads_context_id"), "context_reads", ["context_id"])
    for statement in SECURITY:
        op.execute(statement)


def downgrade() -> None:
    for statement in SECURITY_UNDONE:
        op.execute(statement)
    op.drop_index(op.f("ix_context_reads_context_id"), table_name="context_reads")
    op.drop_table("context_reads")
    op.drop_index("ix_case_records_agency_ids", table_name="case_records", postgresql_using="gin")
    op.drop_constraint(op.f("fk_contexts_responsible_organisation_id_organisations"), "contexts", type_="foreignkey")
    op.drop_index(op.f("ix_contexts_responsible_organisation_id"), table_name="contexts")
    op.drop_column("contexts", "responsible_organisation_id")
    _kinds(KINDS_BEFORE)
