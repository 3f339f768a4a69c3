"""How the schema spreads over a Citus cluster (distributed PostgreSQL, with PostGIS on every node)
once one database server is not enough for a regional partnership of authorities.

The distribution key is the owning authority, ``organisation_id``: one authority's children, their
episodes, placements, meetings and links, and its monthly hexagon totals live in one shard group,
so the dashboard, the hex API and a child's page are answered by the node holding that authority.
Small tables that every query joins, or that several authorities read (contexts are shared with
partners and linked from other authorities' children), are reference tables, copied to every node.
The audit log stays on the coordinator: a failed sign-in belongs to no organisation.

:data:`PLAN` places every table; :func:`blockers` reads the live catalogue and names what Citus
would refuse or could not route, so the plan is checked against the schema, not only described;
:func:`distribution_sql` writes the statements that distribute a database which has none left,
beginning with the :func:`adjustments` made to the schema on the way.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from graphlib import TopologicalSorter

from sqlalchemy import Connection, text

KEY = "organisation_id"
# The table the others are co-located with: an authority's rows of every table share its shards.
ANCHOR = "young_people"
# Trigger functions that look at nothing but the row they fire for, so they run on a shard as well.
ROW_ONLY_TRIGGERS = frozenset({"refuse_history_change", "refuse_audit_change"})
# Trigger functions that write only rows of another distributed table under the organisation_id of
# the rows that fired them, each with the table it writes: the pattern Citus's own tests run under
# citus.enable_unsafe_triggers (a shard fires the trigger for its rows, and the writes land in the
# co-located shard on the same node). tests/models/test_distribution.py checks that each leaves
# other organisations' rows alone.
CO_LOCATED_TRIGGERS = {"maintain_episode_hex_months": "episode_hex_months",
                       "new_organisation_data_version": "organisation_data_versions"}
# Constraints Citus cannot keep, which the distribution step drops, each with why that is safe.
DROPPED_WHEN_DISTRIBUTING = {
    "fk_context_changes_link_id_context_links": "a reference table may not refer to a distributed one; a link is "
                                                "never deleted (removing one marks it), so its history still names it",
}


class Placing(StrEnum):
    DISTRIBUTED = "distributed by organisation_id"
    REFERENCE = "reference table, on every node"
    COORDINATOR = "on the coordinator only"


PLAN: dict[str, Placing] = {
    "young_people": Placing.DISTRIBUTED,
    "missing_episodes": Placing.DISTRIBUTED,
    "placements": Placing.DISTRIBUTED,
    "child_meetings": Placing.DISTRIBUTED,
    "context_links": Placing.DISTRIBUTED,  # with the child it links, whichever authority holds the context
    "episode_hex_months": Placing.DISTRIBUTED,
    "import_runs": Placing.DISTRIBUTED,
    "organisation_data_versions": Placing.DISTRIBUTED,
    "organisations": Placing.REFERENCE,
    "organisation_sharing": Placing.REFERENCE,
    "users": Placing.REFERENCE,  # found by username at sign-in, before any organisation is known
    "api_tokens": Placing.REFERENCE,  # found by the token's hash, likewise
    "local_authorities": Placing.REFERENCE,
    "postcodes": Placing.REFERENCE,
    "contexts": Placing.REFERENCE,
    "context_changes": Placing.REFERENCE,
    "case_records": Placing.REFERENCE,
    "case_notes": Placing.REFERENCE,
    "context_reads": Placing.REFERENCE,
    "episode_data_versions": Placing.REFERENCE,
    "audit_events": Placing.COORDINATOR,
    "alembic_version": Placing.COORDINATOR,
}


@dataclass(frozen=True, order=True)
class Blocker:
    """Something in the schema that stops ``table`` being placed as :data:`PLAN` says."""

    table: str
    problem: str

    def __str__(self) -> str:
        return f"{self.table}: {self.problem}"


def tables(connection: Connection, schema: str = "public") -> set[str]:
    """The schema's tables, leaving out those an extension owns (PostGIS's spatial_ref_sys)."""
    return set(connection.scalars(text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"""),
        {"schema": schema}))


def blockers(connection: Connection, plan: dict[str, Placing] = PLAN, schema: str = "public") -> list[Blocker]:
    """Every reason Citus would refuse ``plan`` on this schema, or could not keep an authority's
    rows and queries on its own node. Empty when the schema is ready to distribute."""
    found = [Blocker(table, "not placed: add it to models.distribution.PLAN")
             for table in tables(connection, schema) - plan.keys()]
    found += [Blocker(table, "placed but not in the schema") for table in plan.keys() - tables(connection, schema)]
    distributed = {table for table, placing in plan.items() if placing == Placing.DISTRIBUTED}
    found += _key_columns(connection, schema, distributed)
    found += _constraints(connection, schema, plan)
    found += _policies(connection, schema, distributed)
    found += _triggers(connection, schema, plan)
    return sorted(found)


def _key_columns(connection, schema, distributed) -> list[Blocker]:
    rows = connection.execute(text("""
        SELECT c.relname, a.attnotnull FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = :key AND NOT a.attisdropped"""),
        {"schema": schema, "key": KEY})
    present = {name: not_null for name, not_null in rows}
    return ([Blocker(table, f"has no {KEY} column") for table in distributed if table not in present]
            + [Blocker(table, f"{KEY} may be empty, and a row must belong to a shard")
               for table in distributed if present.get(table) is False])


def _constraint_rows(connection, schema) -> list:
    """Keys, unique and exclusion constraints and foreign keys, with their columns in order and,
    for a key, the foreign keys that refer to it."""
    return connection.execute(text("""
        SELECT c.relname AS "table", k.conname AS name, k.contype AS kind, f.relname AS refers_to,
               k.confupdtype AS on_update, k.confdeltype AS on_delete, pg_get_constraintdef(k.oid) AS definition,
               ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i) AS columns,
               ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
                     JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i) AS referred,
               ARRAY(SELECT r.conname::text FROM pg_constraint r
                     WHERE r.contype = 'f' AND r.conindid = k.conindid AND k.contype IN ('p', 'u')) AS referred_by
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema
        LEFT JOIN pg_class f ON f.oid = k.confrelid
        WHERE k.contype IN ('p', 'u', 'x', 'f')
        ORDER BY c.relname, k.conname"""), {"schema": schema}).all()


def _widened(row) -> str | None:
    """The statement that adds the key to a distributed table's key, unique or exclusion
    constraint, or None when a foreign key still refers to it as it is."""
    if set(row.referred_by) - DROPPED_WHEN_DISTRIBUTING.keys():
        return None
    if row.kind == "x":
        definition = re.sub(r"^EXCLUDE USING (\w+) \(", rf"EXCLUDE USING \1 ({KEY} WITH =, ", row.definition)
    else:
        definition = f"{'PRIMARY KEY' if row.kind == 'p' else 'UNIQUE'} ({', '.join([KEY, *row.columns])})"
    return f"ALTER TABLE {row.table} DROP CONSTRAINT {row.name}, ADD CONSTRAINT {row.name} {definition};"


def _constraints(connection, schema, plan) -> list[Blocker]:
    found = []
    for row in _constraint_rows(connection, schema):
        placing, target = plan.get(row.table), plan.get(row.refers_to)
        if (row.kind in "pux" and placing == Placing.DISTRIBUTED and KEY not in row.columns
                and _widened(row) is None):
            found.append(Blocker(row.table, f"{row.name} ({', '.join(row.columns)}) must include {KEY}, and "
                                            f"{', '.join(row.referred_by)} refers to it as it is"))
        if row.kind != "f" or placing is None or target is None or row.name in DROPPED_WHEN_DISTRIBUTING:
            continue
        if placing == Placing.DISTRIBUTED and KEY in row.columns and (
                row.on_update in "cnd" or row.on_delete in "nd"):
            found.append(Blocker(row.table, f"{row.name} would change {KEY} on its own (a cascading update or "
                                            "setting it empty), which Citus refuses"))
        if placing == Placing.DISTRIBUTED and target == Placing.DISTRIBUTED and not (
                KEY in row.columns and row.referred[row.columns.index(KEY)] == KEY):
            found.append(Blocker(row.table, f"{row.name} refers to {row.refers_to} without {KEY}: "
                                            "the two rows could be on different nodes"))
        elif placing == Placing.REFERENCE and target != Placing.REFERENCE:
            found.append(Blocker(row.table, f"{row.name}: a reference table may refer only to reference "
                                            f"tables, and {row.refers_to} is {target.value}"))
        elif placing == Placing.DISTRIBUTED and target == Placing.COORDINATOR:
            found.append(Blocker(row.table, f"{row.name} refers to {row.refers_to}, which is on the coordinator only"))
    return found


def adjustments(connection: Connection, plan: dict[str, Placing] = PLAN, schema: str = "public") -> list[str]:
    """What the distribution step changes in the schema first, on plain PostgreSQL: the dropped
    constraints go; each key, unique and exclusion constraint of a distributed table gains the
    distribution key (an id stays unique across the cluster, handed out by its sequence, but each
    shard can check only its own rows); and the distributed tables' policies call their settings
    functions directly instead of once per query, the one subquery Citus would otherwise refuse."""
    rows = _constraint_rows(connection, schema)
    statements = [f"ALTER TABLE {row.table} DROP CONSTRAINT {row.name};"
                  for row in rows if row.name in DROPPED_WHEN_DISTRIBUTING]
    widened = [_widened(row) for row in rows
               if row.kind in "pux" and plan.get(row.table) == Placing.DISTRIBUTED and KEY not in row.columns]
    direct = [f"ALTER POLICY {policy.name} ON {policy.table}"
              + (f" USING ({_direct(connection, policy.using)})" if policy.using else "")
              + (f" WITH CHECK ({_direct(connection, policy.check)})" if policy.check else "") + ";"
              for policy in _policy_rows(connection, schema)
              if plan.get(policy.table) == Placing.DISTRIBUTED
              and _direct(connection, policy.expression) != policy.expression]
    return statements + [statement for statement in widened if statement] + direct


# "(SELECT f())", which PostgreSQL runs once per query: Citus refuses it, but the call alone is the
# same test when f reads only settings.
ONCE_PER_QUERY = re.compile(r"\(\s*SELECT ((?:\w+\.)?(\w+))\(\) AS \2\)")


def _policy_rows(connection, schema):
    return connection.execute(text("""
        SELECT tablename AS table, policyname AS name, qual AS using, with_check AS check,
               concat_ws(' ', qual, with_check) AS expression
        FROM pg_policies WHERE schemaname = :schema ORDER BY tablename, policyname"""), {"schema": schema}).all()


def _reads_a_table(connection, function: str) -> bool:
    """Whether the body of ``function`` names a table to read: a textual check, after taking out
    comments, string constants and the FROM of extract() and substring(), that errs towards yes.
    It cannot follow a call to another function that reads one."""
    bodies = connection.scalars(text("SELECT prosrc FROM pg_proc WHERE proname = :f"), {"f": function}).all()
    for body in bodies:
        body = re.sub(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", " ", body, flags=re.DOTALL)
        body = re.sub(r"\b(extract|substring|trim|overlay)\s*\([^()]*\)", " ", body, flags=re.IGNORECASE)
        if re.search(r"\bFROM\b", body, re.IGNORECASE):
            return True
    return False


def _direct(connection, expression: str) -> str:
    """``expression`` with each once-per-query call of a function that reads no table made directly."""
    return ONCE_PER_QUERY.sub(
        lambda call: call[0] if _reads_a_table(connection, call[2]) else f"{call[1]}()", expression)


def _policies(connection, schema, distributed) -> list[Blocker]:
    """Citus refuses a subquery in a distributed table's policy: each shard evaluates the policy
    alone, so it may test the row and settings but read no table, neither in the policy itself nor
    in a function it calls (each shard would query that table again for every row it tests). A
    function that reads only settings, called once per query, the adjustments call directly."""
    rows = [row for row in _policy_rows(connection, schema) if row.table in distributed]
    found = [Blocker(row.table, f"policy {row.name} holds a subquery; compare {KEY} with a setting instead")
             for row in rows if re.search(r"\bSELECT\b", _direct(connection, row.expression), re.IGNORECASE)]
    calls = connection.execute(text("""
        SELECT DISTINCT c.relname, pol.polname, p.proname FROM pg_policy pol
        JOIN pg_class c ON c.oid = pol.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema
        JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
                        AND d.refclassid = 'pg_proc'::regclass
        JOIN pg_proc p ON p.oid = d.refobjid"""), {"schema": schema})
    return found + [Blocker(table, f"policy {policy} calls {function}(), which reads a table; "
                                   "have it read a setting instead")
                    for table, policy, function in calls
                    if table in distributed and _reads_a_table(connection, function)]


def _triggers(connection, schema, plan) -> list[Blocker]:
    """Citus fires a distributed or reference table's triggers on each of its shards
    (citus.enable_unsafe_triggers), where one that only refuses a change to its own row still
    works, and one that writes a co-located table under the firing rows' key (CO_LOCATED_TRIGGERS)
    writes its own node's shard; any other write would start a distributed write from inside a
    shard, on every node for a reference table."""
    rows = connection.execute(text("""
        SELECT c.relname, t.tgname, p.proname FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema
        WHERE NOT t.tgisinternal"""), {"schema": schema})
    found = []
    for table, trigger, function in rows:
        placing = plan.get(table)
        if placing not in (Placing.DISTRIBUTED, Placing.REFERENCE) or function in ROW_ONLY_TRIGGERS:
            continue
        written = CO_LOCATED_TRIGGERS.get(function)
        if written is None:
            found.append(Blocker(table, f"trigger {trigger} runs {function}(), which writes beyond its own row"
                                        + (" on every node's copy" if placing == Placing.REFERENCE else "")))
        elif placing != Placing.DISTRIBUTED or plan.get(written) != Placing.DISTRIBUTED:
            found.append(Blocker(table, f"trigger {trigger} runs {function}(), which writes {written}: both must "
                                        "be distributed by the key for the write to stay on the shard's node"))
    return found


def distribution_sql(connection: Connection, plan: dict[str, Placing] = PLAN, schema: str = "public") -> list[str]:
    """The statements of the distribution step, in an order Citus accepts: the adjustments, the
    reference tables before the tables that refer to them, the anchor before the tables
    co-located with it."""
    edges = {(row.table, row.refers_to) for row in _constraint_rows(connection, schema)
             if row.kind == "f" and row.table != row.refers_to and row.name not in DROPPED_WHEN_DISTRIBUTING}
    references = {table for table, placing in plan.items() if placing == Placing.REFERENCE}
    graph = {table: {target for source, target in edges if source == table and target in references}
             for table in sorted(references)}
    statements = adjustments(connection, plan, schema)
    statements += [f"SELECT create_reference_table('{table}');" for table in TopologicalSorter(graph).static_order()]
    distributed = sorted((t for t, p in plan.items() if p == Placing.DISTRIBUTED), key=lambda t: (t != ANCHOR, t))
    statements += [f"SELECT create_distributed_table('{table}', '{KEY}'"
                   + ("" if table == ANCHOR else f", colocate_with => '{ANCHOR}'") + ");" for table in distributed]
    # A coordinator table that refers to a reference table (the audit log to users) joins Citus's metadata.
    statements += [f"SELECT citus_add_local_table_to_metadata('{table}');"
                   for table in sorted({source for source, target in edges if target in references})
                   if plan.get(table) == Placing.COORDINATOR]
    return statements
