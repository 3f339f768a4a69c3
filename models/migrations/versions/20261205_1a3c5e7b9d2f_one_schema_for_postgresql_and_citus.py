"""One schema that plain PostgreSQL and Citus both accept: policies that test the row against
settings, and totals kept by the writers instead of triggers.

Revision ID: 1a3c5e7b9d2f
Revises: e6a8c0e2b4d7
Create Date: 2026-12-05 19:40:00

Tried on a Citus cluster, the schema as it was could not be distributed (docs/distribution.md):

- Citus refuses a subquery in the policy of any table it holds (distributed, reference, or on the
  coordinator in its metadata), including the once-per-query ``(SELECT f())``. Every policy now
  compares columns of the row with the transaction's settings, read by functions that read no
  table. A context's history rows carry the context's organisation (``context_organisation_id``,
  kept equal by a foreign key) and a link change the link's (``link_organisation_id``), instead of
  looking the context or link up. The contexts a partner may read because it runs the place or is
  named in its case are named per transaction like the organisations
  (``csmap.partner_contexts``, looked up once by ``csmap_contexts_involving()``), where the policy
  used to query contexts and case records for every statement.
- Citus cannot run statement triggers with transition tables on its shards ("executor could not
  find named tuplestore"), and a trigger on a shard must not write another distributed table. The
  monthly hexagon totals and the data-version tokens are now kept by the writers, in the same
  transaction, through ``csmap_recount_hex_months()`` and ``csmap_renew_data_versions()``: each
  statement in them names one organisation, which Citus routes to that organisation's shards
  (models.upkeep says who calls them).
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "1a3c5e7b9d2f"
down_revision = "e6a8c0e2b4d7"
branch_labels = None
depends_on = None

OWNER_ONLY = "SECURITY DEFINER SET search_path = public, pg_temp"
HISTORY = ("case_notes", "case_records", "context_changes", "context_reads")
VISIBLE = "organisation_id = ANY (csmap_visible_organisations())"
ITS_CONTEXT = "(context_organisation_id = ANY (csmap_visible_organisations()) OR context_id = ANY (csmap_partner_contexts()))"
ITS_LINK = "(link_id IS NULL OR link_organisation_id = ANY (csmap_visible_organisations()))"
ACTING = "organisation_id = csmap_acting_organisation()"
POLICIES = {
    ("young_people", "young_people_by_organisation"): (VISIBLE, VISIBLE),
    ("missing_episodes", "missing_episodes_by_organisation"): (VISIBLE, VISIBLE),
    ("placements", "placements_by_organisation"): (VISIBLE, VISIBLE),
    ("child_meetings", "child_meetings_by_organisation"): (VISIBLE, VISIBLE),
    ("context_links", "context_links_by_organisation"): (VISIBLE, VISIBLE),
    ("episode_hex_months", "episode_hex_months_by_organisation"): (VISIBLE, None),
    ("import_runs", "import_runs_by_organisation"): (ACTING, ACTING),
    ("contexts", "contexts_by_organisation"): (f"{VISIBLE} OR id = ANY (csmap_partner_contexts())", VISIBLE),
    ("case_notes", "case_notes_by_context"): (ITS_CONTEXT, ITS_CONTEXT),
    ("case_records", "case_records_by_context"): (ITS_CONTEXT, ITS_CONTEXT),
    ("context_reads", "context_reads_by_context"): (ITS_CONTEXT, ITS_CONTEXT),
    ("context_changes", "context_changes_by_context"): (f"{ITS_CONTEXT} AND {ITS_LINK}", ITS_CONTEXT),
    ("audit_events", "audit_events_read"): (ACTING, None),
}

# Read by the policies: only the setting that act_for names (models.security).
PARTNER_CONTEXTS = """
CREATE OR REPLACE FUNCTION csmap_partner_contexts() RETURNS integer[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('csmap.partner_contexts', true), '')::integer[], '{}') $$"""

# Looked up once per request by act_for, as the owner: a partner cannot read the contexts it is
# looking for before they are named.
CONTEXTS_INVOLVING = f"""
CREATE FUNCTION csmap_contexts_involving(organisation integer) RETURNS integer[] LANGUAGE sql STABLE
{OWNER_ONLY} AS $$
    SELECT CASE WHEN organisation IS NULL THEN '{{}}'::integer[] ELSE ARRAY(
        SELECT id FROM contexts WHERE responsible_organisation_id = organisation
        UNION SELECT context_id FROM case_records WHERE agency_ids @> ARRAY[organisation]
        ORDER BY 1) END $$"""

RECOUNT = f"""
CREATE FUNCTION csmap_recount_hex_months(organisation integer, months date[]) RETURNS void
LANGUAGE plpgsql {OWNER_ONLY} AS $$
DECLARE
    -- Worked out here, so that each statement below reads one organisation's rows and no other table.
    first_month date := (SELECT min(m) FROM unnest(months) AS m);
    last_month date := (SELECT max(m) FROM unnest(months) AS m);
BEGIN
    -- Anyone may call it: it only brings an organisation's totals back to what its episodes say.
    -- One writer of an organisation's totals at a time.
    PERFORM pg_advisory_xact_lock(hashtext('episode_hex_months'), organisation);
    DELETE FROM episode_hex_months
    WHERE organisation_id = organisation AND (months IS NULL OR month = ANY (months));
    INSERT INTO episode_hex_months (organisation_id, layer, resolution, month, cell, young_people)
    SELECT e.organisation_id, k.layer, k.resolution, k.month, k.cell, sort(array_agg(k.young_person_id))
    FROM missing_episodes AS e
    CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k
    WHERE e.organisation_id = organisation
      AND (months IS NULL OR (
           e.started_at >= timezone('Europe/London', first_month::timestamp)
           AND e.started_at < timezone('Europe/London', (last_month + interval '1 month')::timestamp)
           AND date_trunc('month', timezone('Europe/London', e.started_at))::date = ANY (months)))
    GROUP BY e.organisation_id, k.layer, k.resolution, k.month, k.cell;
END $$"""

RENEW = f"""
CREATE FUNCTION csmap_renew_data_versions(organisation integer, tables text[]) RETURNS void
LANGUAGE sql {OWNER_ONLY} AS $$
    -- As the owner: the app's role may read the tokens but not write them. In the tables' order,
    -- so that two writers of the same organisation wait for each other rather than deadlock.
    INSERT INTO organisation_data_versions AS v (organisation_id, table_name, token)
    SELECT organisation, t, gen_random_uuid() FROM unnest(tables) AS t
    ORDER BY t
    ON CONFLICT (organisation_id, table_name) DO UPDATE SET token = excluded.token $$"""

OLD_TRIGGERS = {"missing_episodes": ("episode_hex_months", "missing_episodes_data_version"),
                "young_people": ("young_people_data_version",), "context_links": ("context_links_data_version",)}
TRANSITIONS = {"insert": "NEW TABLE AS new_rows", "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "delete": "OLD TABLE AS old_rows"}


def _add_context_organisation(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD COLUMN context_organisation_id integer")
    op.execute(f"UPDATE {table} AS h SET context_organisation_id = c.organisation_id FROM contexts AS c "
               "WHERE c.id = h.context_id")
    op.execute(f"ALTER TABLE {table} ALTER COLUMN context_organisation_id SET NOT NULL")
    op.drop_constraint(f"fk_{table}_context_id_contexts", table, type_="foreignkey")
    op.create_foreign_key(f"fk_{table}_context_organisation_id_contexts", table, "contexts",
                          ["context_organisation_id", "context_id"], ["organisation_id", "id"])


def upgrade() -> None:
    op.create_unique_constraint("uq_contexts_organisation_id_id", "contexts", ["organisation_id", "id"])
    for table in HISTORY:  # append-only: their triggers refuse the one-off update
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        _add_context_organisation(table)
    op.execute("ALTER TABLE context_changes ADD COLUMN link_organisation_id integer")
    op.execute("UPDATE context_changes AS h SET link_organisation_id = l.organisation_id FROM context_links AS l "
               "WHERE l.id = h.link_id")
    op.create_check_constraint("ck_context_changes_link_organisation", "context_changes",
                               "(link_id IS NULL) = (link_organisation_id IS NULL)")
    for table in HISTORY:
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")

    op.execute(PARTNER_CONTEXTS)
    op.execute(CONTEXTS_INVOLVING)
    for (table, policy), (using, check) in POLICIES.items():
        op.execute(f"ALTER POLICY {policy} ON {table} USING ({using})" + (f" WITH CHECK ({check})" if check else ""))

    for table, prefixes in OLD_TRIGGERS.items():
        for prefix in prefixes:
            for statement in TRANSITIONS:
                op.execute(f"DROP TRIGGER {prefix}_{statement} ON {table}")
    op.execute("DROP FUNCTION maintain_episode_hex_months()")
    op.execute("DROP FUNCTION new_organisation_data_version()")
    op.execute(RECOUNT)
    op.execute(RENEW)


def _earlier(revision_file: str, name: str) -> str:
    """A statement as an earlier migration wrote it, read from that migration."""
    path = Path(__file__).with_name(revision_file)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


# The policies as the earlier migrations left them.
ONCE = "organisation_id = ANY ((SELECT csmap_visible_organisations())::integer[])"
ONCE_ACTING = "organisation_id = (SELECT csmap_acting_organisation())"
CONTEXT_OF = "EXISTS (SELECT 1 FROM contexts c WHERE c.id = {table}.context_id)"
OLD_POLICIES = {
    **{key: (ONCE, ONCE) for key in POLICIES if key[1].endswith("_by_organisation") and key[0] != "contexts"},
    ("episode_hex_months", "episode_hex_months_by_organisation"): (ONCE, None),
    ("import_runs", "import_runs_by_organisation"): (ONCE_ACTING, ONCE_ACTING),
    ("contexts", "contexts_by_organisation"): (f"{ONCE} OR id = ANY ((SELECT csmap_partner_contexts())::integer[])", ONCE),
    **{(table, f"{table}_by_context"): (CONTEXT_OF.format(table=table), CONTEXT_OF.format(table=table))
       for table in ("case_notes", "case_records", "context_reads")},
    ("context_changes", "context_changes_by_context"): (
        f"{CONTEXT_OF.format(table='context_changes')} AND (link_id IS NULL OR "
        "EXISTS (SELECT 1 FROM context_links l WHERE l.id = context_changes.link_id))",
        CONTEXT_OF.format(table="context_changes")),
    ("audit_events", "audit_events_read"): (ONCE_ACTING, None),
}


def downgrade() -> None:
    op.execute("DROP FUNCTION csmap_renew_data_versions(integer, text[])")
    op.execute("DROP FUNCTION csmap_recount_hex_months(integer, date[])")
    op.execute(_earlier("20261130_c2e4a6b8d0f3_hex_totals_kept_per_organisation.py", "PER_ORGANISATION")
               .replace("CREATE OR REPLACE", "CREATE"))
    op.execute(_earlier("20261130_d4f6a8c0e2b5_data_versions_per_organisation.py", "RENEW"))
    for table, prefixes in OLD_TRIGGERS.items():
        for prefix in prefixes:
            function = ("maintain_episode_hex_months()" if prefix == "episode_hex_months"
                        else f"new_organisation_data_version('{table}')")
            for statement, transitions in TRANSITIONS.items():
                op.execute(f"CREATE TRIGGER {prefix}_{statement} AFTER {statement.upper()} ON {table} "
                           f"REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}")
    # The totals and tokens as the triggers would have left them.
    op.execute("TRUNCATE episode_hex_months")
    op.execute("""
        INSERT INTO episode_hex_months (organisation_id, layer, resolution, month, cell, young_people)
        SELECT e.organisation_id, k.layer, k.resolution, k.month, k.cell, sort(array_agg(k.young_person_id))
        FROM missing_episodes AS e
        CROSS JOIN LATERAL episode_hex_keys(e.last_seen_cells, e.found_cells, e.started_at, e.young_person_id) AS k
        GROUP BY e.organisation_id, k.layer, k.resolution, k.month, k.cell""")

    for (table, policy), (using, check) in OLD_POLICIES.items():
        op.execute(f"ALTER POLICY {policy} ON {table} USING ({using})" + (f" WITH CHECK ({check})" if check else ""))
    op.execute("DROP FUNCTION csmap_contexts_involving(integer)")
    op.execute(_earlier("20261130_e2a4c6b8d0f1_partner_contexts_without_an_organisation.py", "GUARDED"))

    op.drop_constraint("ck_context_changes_link_organisation", "context_changes", type_="check")
    op.execute("ALTER TABLE context_changes DROP COLUMN link_organisation_id")
    for table in HISTORY:
        op.drop_constraint(f"fk_{table}_context_organisation_id_contexts", table, type_="foreignkey")
        op.create_foreign_key(f"fk_{table}_context_id_contexts", table, "contexts", ["context_id"], ["id"])
        op.execute(f"ALTER TABLE {table} DROP COLUMN context_organisation_id")
    op.drop_constraint("uq_contexts_organisation_id_id", "contexts", type_="unique")
