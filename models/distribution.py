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
beginning with the :func:`adjustments` made to the schema on the way; :func:`deploy` sets up a
Citus coordinator's database, migrates it and runs those statements.
"""

import base64
import hashlib
import hmac
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from graphlib import TopologicalSorter
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from models.security import APP_ROLE

KEY = "organisation_id"
# The table the others are co-located with: an authority's rows of every table share its shards.
ANCHOR = "young_people"
# Trigger functions that only raise, refusing a change to the row or table they fire for: the only
# ones a shard, or every node's copy of a reference table, may run.
ROW_ONLY_TRIGGERS = frozenset({"refuse_history_change", "refuse_audit_change"})
# Constraints Citus cannot keep, which the distribution step drops, each with why that is safe.
DROPPED_WHEN_DISTRIBUTING = {
    "fk_context_changes_link_id_context_links": "a reference table may not refer to a distributed one; a link is "
                                                "never deleted (removing one marks it), so its history still names it",
}
OWNER_ROLE = "csmap"  # owns the tables and migrates them (scripts/lib/setup.sh's DB_ROLE)
# The extensions the migrations use (a test compares them with a migrated database's).
EXTENSIONS = ("postgis", "btree_gist", "intarray")
ROOT = Path(__file__).resolve().parents[1]


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
    "sign_in_failures": Placing.COORDINATOR,  # read and written at sign-in only
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


def _placed(plan: dict[str, Placing], placing: Placing) -> set[str]:
    return {table for table, placed in plan.items() if placed == placing}


def blockers(connection: Connection, plan: dict[str, Placing] = PLAN, schema: str = "public",
             role: str = APP_ROLE) -> list[Blocker]:
    """Every reason Citus would refuse ``plan`` on this schema, or could not keep an authority's
    rows and queries on its own node, or would refuse ``role`` (the app's) a write. Empty when the
    schema is ready to distribute."""
    found = [Blocker(table, "not placed: add it to models.distribution.PLAN")
             for table in tables(connection, schema) - plan.keys()]
    found += [Blocker(table, "placed but not in the schema") for table in plan.keys() - tables(connection, schema)]
    distributed = _placed(plan, Placing.DISTRIBUTED)
    held = distributed | _placed(plan, Placing.REFERENCE) | joining_metadata(connection, plan, schema)
    found += _key_columns(connection, schema, distributed)
    found += _constraints(connection, schema, plan)
    found += _policies(connection, schema, held)
    found += _triggers(connection, schema, plan, held)
    found += _functions(connection, schema, distributed | _placed(plan, Placing.REFERENCE))
    found += _locks_of_referenced_tables(connection, schema, plan, role)
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


def _foreign_keys(connection, schema) -> list:
    """The foreign keys the distribution keeps between two tables (not those of a table to itself)."""
    return [row for row in _constraint_rows(connection, schema)
            if row.kind == "f" and row.table != row.refers_to and row.name not in DROPPED_WHEN_DISTRIBUTING]


def joining_metadata(connection: Connection, plan: dict[str, Placing] = PLAN, schema: str = "public") -> set[str]:
    """The coordinator's tables that Citus takes into its metadata (as "local tables added to
    metadata"): each with a foreign key to or from a reference table, and every coordinator table
    connected to one of those by foreign keys, as Citus converts a local table together with its
    whole foreign key graph (its citus_add_local_table_to_metadata.c, cascading through
    GetForeignKeyConnectedRelationIdList). Citus then holds their policies and triggers to the
    rules of the tables it distributes; ``alembic_version``, with no key, stays a plain table."""
    coordinator = _placed(plan, Placing.COORDINATOR)
    pairs = [{row.table, row.refers_to} for row in _foreign_keys(connection, schema)]
    joining = {table for pair in pairs for table in pair & coordinator
               if any(plan.get(other) == Placing.REFERENCE for other in pair - {table})}
    while more := {table for pair in pairs if pair <= coordinator and pair & joining for table in pair} - joining:
        joining |= more
    return joining


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
        elif placing == Placing.COORDINATOR and target == Placing.DISTRIBUTED:
            # Citus keeps no key from a table in its metadata to a distributed one (its
            # fkeys_between_local_ref regression test), and a plain table's could not see the shards.
            found.append(Blocker(row.table, f"{row.name} refers to {row.refers_to}, which is distributed: a table "
                                            "on the coordinator may refer only to reference tables"))
    return found


def _adjustments(connection, plan, schema) -> list[tuple[str, str]]:
    rows = _constraint_rows(connection, schema)
    dropped = [(row.table, f"ALTER TABLE {row.table} DROP CONSTRAINT {row.name};")
               for row in rows if row.name in DROPPED_WHEN_DISTRIBUTING]
    widened = [(row.table, _widened(row)) for row in rows
               if row.kind in "pux" and plan.get(row.table) == Placing.DISTRIBUTED and KEY not in row.columns]
    return dropped + [(table, statement) for table, statement in widened if statement]


def adjustments(connection: Connection, plan: dict[str, Placing] = PLAN, schema: str = "public") -> list[str]:
    """What the distribution step changes in the schema first, on plain PostgreSQL: the dropped
    constraints go, and each key, unique and exclusion constraint of a distributed table gains the
    distribution key (an id stays unique across the cluster, handed out by its sequence, but each
    shard can check only its own rows)."""
    return [statement for _, statement in _adjustments(connection, plan, schema)]


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


def _policies(connection, schema, held) -> list[Blocker]:
    """Citus refuses a subquery in the policy of every table it holds, reference tables and the
    coordinator's tables in its metadata as well as distributed ones ("cannot create policy:
    Subqueries are not supported in policies on distributed tables", on a cluster, for EXISTS on
    another table and for the once-per-query ``(SELECT f())`` alike). A function the policy calls
    may read settings but no table: on a shard it would start a distributed query from inside one
    ("cannot execute a distributed query from a query on a shard")."""
    rows = connection.execute(text("""
        SELECT tablename AS table, policyname AS name, concat_ws(' ', qual, with_check) AS expression
        FROM pg_policies WHERE schemaname = :schema ORDER BY tablename, policyname"""), {"schema": schema})
    found = [Blocker(row.table, f"policy {row.name} holds a subquery, which Citus refuses on any table it holds; "
                                "compare the row's columns with settings instead")
             for row in rows if row.table in held and re.search(r"\bSELECT\b", row.expression, re.IGNORECASE)]
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
                    if table in held and _reads_a_table(connection, function)]


def _triggers(connection, schema, plan, held) -> list[Blocker]:
    """A trigger reading transition tables fails on any table Citus holds: the query on the shard
    cannot see them ("executor could not find named tuplestore", on a cluster). Citus fires a
    distributed table's row and statement triggers on each of its shards and a reference table's
    on every node's copy (citus.enable_unsafe_triggers), and a TRUNCATE trigger on the
    coordinator's table alone (its trigger.c: "we don't have truncate triggers on shard
    relations"); only a function that refuses the change (ROW_ONLY_TRIGGERS) is right in all three,
    where any write would start a distributed write from inside a shard."""
    rows = connection.execute(text("""
        SELECT c.relname AS table, t.tgname AS name, p.proname AS function,
               t.tgoldtable IS NOT NULL OR t.tgnewtable IS NOT NULL AS transitions,
               t.tgtype & 1 = 1 AS per_row, t.tgtype & 32 = 32 AS on_truncate
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema
        WHERE NOT t.tgisinternal ORDER BY c.relname, t.tgname"""), {"schema": schema})
    found = []
    for row in rows:
        placing = plan.get(row.table)
        if row.transitions and row.table in held:
            found.append(Blocker(row.table, f"trigger {row.name} reads transition tables (REFERENCING ... TABLE), "
                                            "which the query on a shard cannot find"))
        if placing not in (Placing.DISTRIBUTED, Placing.REFERENCE) or row.function in ROW_ONLY_TRIGGERS:
            continue
        where = "every node's copy" if placing == Placing.REFERENCE else "each shard"
        how = (f"on {where}" if row.per_row else "on TRUNCATE, which only the coordinator fires" if row.on_truncate
               else f"once per statement, which {where} fires again for its own rows")
        found.append(Blocker(row.table, f"trigger {row.name} runs {row.function}() {how}: only the refusals in "
                                        "ROW_ONLY_TRIGGERS may"))
    return found


# A statement in a function's body that writes a table: the verb, and the table (maybe qualified).
WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:\w+\.)?(\w+)", re.IGNORECASE)
CALL = re.compile(r"\b(\w+)\s*\(")


def _functions(connection, schema, on_nodes) -> list[Blocker]:
    """What Citus refuses of a function that writes a distributed or reference table: a ``LANGUAGE
    sql`` one with parameters ("could not create distributed plan": it cannot plan parameters of a
    SQL function), an UPDATE calling a volatile function ("functions used in UPDATE queries on
    distributed tables must not be VOLATILE"), and one that runs as its owner (SECURITY DEFINER):
    called after its caller wrote the same shards in the transaction, it is a second user on them
    ("cannot perform query on placements that were modified in this transaction by a different
    user")."""
    volatile = set(connection.scalars(text("SELECT DISTINCT proname FROM pg_proc WHERE provolatile = 'v'")))
    rows = connection.execute(text("""
        SELECT p.proname AS name, l.lanname AS language, p.pronargs AS arguments, p.prosecdef AS definer,
               p.prosrc AS body
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = :schema
        JOIN pg_language l ON l.oid = p.prolang
        WHERE l.lanname IN ('sql', 'plpgsql') ORDER BY p.proname"""), {"schema": schema})
    found = []
    for row in rows:
        for statement in row.body.split(";"):
            for verb, table in WRITE.findall(statement):
                if table not in on_nodes:
                    continue
                if row.language == "sql" and row.arguments:
                    found.append(Blocker(table, f"function {row.name}() writes it in LANGUAGE sql with parameters, "
                                                "which Citus cannot plan: write it in PL/pgSQL"))
                calls = sorted(set(CALL.findall(statement)) & volatile)
                if verb.upper() == "UPDATE" and calls:
                    found.append(Blocker(table, f"function {row.name}() updates it calling {', '.join(calls)}(), "
                                                "which is volatile: work the value out before the UPDATE"))
                if row.definer:
                    found.append(Blocker(table, f"function {row.name}() writes it as its owner (SECURITY DEFINER), "
                                                "a second user on shards its caller may have written: let it run as "
                                                "its caller, with policies for what the caller may write"))
    return sorted(set(found))


# Writing a reference table, Citus locks it and every reference table it refers to, directly or
# through others ("referencedRelationsViaForeignKey contains transitively referenced relations
# too", its resource_lock.c), on the first worker, by calling lock_shard_resources there as the
# writer. That function checks the writer's rights on each table it locks: one of UPDATE, DELETE or
# TRUNCATE, or INSERT too for an INSERT's lock (EnsureTablePermissions with that mask, which any one
# of them satisfies; Citus issue 5438, which turned an owner check into this one, and issue 8011).
# An UPDATE, a DELETE or an upsert takes the stronger lock (ExclusiveLock, not RowExclusiveLock:
# AcquireExecutorShardLockForRowModify in its distributed_execution_locks.c).
LOCKED_BY_A_CHANGE = "UPDATE, DELETE, TRUNCATE"
LOCKED_BY_AN_INSERT = "INSERT, UPDATE, DELETE, TRUNCATE"


def _locks_of_referenced_tables(connection, schema, plan, role) -> list[Blocker]:
    if not connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}):
        return []
    rights = {row.relname: row for row in connection.execute(text(f"""
        SELECT c.relname, has_table_privilege(:role, c.oid, 'UPDATE, DELETE') AS changes,
               has_table_privilege(:role, c.oid, 'INSERT') AS inserts,
               has_table_privilege(:role, c.oid, '{LOCKED_BY_A_CHANGE}') AS lockable_by_a_change,
               has_table_privilege(:role, c.oid, '{LOCKED_BY_AN_INSERT}') AS lockable_by_an_insert
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema
        WHERE c.relkind IN ('r', 'p')"""), {"role": role, "schema": schema})}
    references = _placed(plan, Placing.REFERENCE) & rights.keys()
    refers = {table: set() for table in references}
    for row in _foreign_keys(connection, schema):
        if row.table in references and row.refers_to in references:
            refers[row.table].add(row.refers_to)
    found = []
    for table in sorted(references):
        right = rights[table]
        if not (right.changes or right.inserts):
            continue
        verbs, privileges, lockable = (("update or delete", LOCKED_BY_A_CHANGE, "lockable_by_a_change") if right.changes
                                       else ("insert into", LOCKED_BY_AN_INSERT, "lockable_by_an_insert"))
        reached, frontier = set(), set(refers[table])
        while frontier:
            reached |= frontier
            frontier = {target for source in frontier for target in refers[source]} - reached
        found += [Blocker(table, f"{role} may {verbs} it, and Citus then locks {referenced}, which it refers to, "
                                 f"as {role}: grant {role} one of {privileges} on {referenced}")
                  for referenced in sorted(reached - {table}) if not getattr(rights[referenced], lockable)]
    return found


@dataclass(frozen=True)
class Step:
    """Statements of the distribution step that run in one transaction, and the tables they place
    (none for a setting of the session, which every run makes again)."""

    tables: frozenset[str]
    statements: tuple[str, ...]


def _setting(statement: str) -> Step:
    return Step(frozenset(), (statement,))


def _with_triggers(connection, schema) -> set[str]:
    return set(connection.scalars(text("""
        SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = :schema WHERE NOT t.tgisinternal"""),
        {"schema": schema}))


def _steps(connection, plan, schema) -> list[Step]:
    references, distributed = _placed(plan, Placing.REFERENCE), _placed(plan, Placing.DISTRIBUTED)
    keys = _foreign_keys(connection, schema)
    steps = [Step(frozenset({table}), (statement,)) for table, statement in _adjustments(connection, plan, schema)]
    # Making a reference table of one that plain tables refer to, Citus would otherwise take them,
    # with every table connected to them by keys, into its metadata (CreateCitusTable drops and
    # adds those keys again, which converts the tables), and could then distribute none of those
    # that others refer to: it keeps no key from a table in its metadata to a distributed one.
    # Citus's fkeys_between_local_ref regression test shows the setting leaving them plain.
    steps.append(_setting("SET citus.enable_local_reference_table_foreign_keys TO off;"))
    if _with_triggers(connection, schema) & (references | distributed):
        # Citus distributes a table with triggers, reference tables included, only under this
        # setting (EnsureRelationCanBeDistributed, in its create_distributed_table.c).
        steps.append(_setting("SET citus.enable_unsafe_triggers TO on;"))
    graph = {table: {row.refers_to for row in keys if row.table == table and row.refers_to in references}
             for table in sorted(references)}
    steps += [Step(frozenset({table}), (f"SELECT create_reference_table('{table}');",))
              for table in TopologicalSorter(graph).static_order()]
    steps += [Step(frozenset({table}), (f"SELECT create_distributed_table('{table}', '{KEY}'"
                                        + ("" if table == ANCHOR else f", colocate_with => '{ANCHOR}'") + ");",))
              for table in sorted(distributed, key=lambda table: (table != ANCHOR, table))]
    joining = joining_metadata(connection, plan, schema)
    if joining:
        # citus_add_local_table_to_metadata takes no table with a key to a table outside the ones it
        # converts: their keys to Citus's tables go first and come back once they are in its
        # metadata, now to the reference tables' copies on the coordinator, in one transaction.
        crossing = [row for row in keys if (row.table in joining) != (row.refers_to in joining)]
        steps.append(_setting("RESET citus.enable_local_reference_table_foreign_keys;"))
        steps.append(Step(frozenset(joining), (
            *(f"ALTER TABLE {row.table} DROP CONSTRAINT {row.name};" for row in crossing),
            *(f"SELECT citus_add_local_table_to_metadata('{table}', cascade_via_foreign_keys => true);"
              for table in sorted(joining)),
            *(f"ALTER TABLE {row.table} ADD CONSTRAINT {row.name} {row.definition};" for row in crossing))))
    return steps


def distribution_sql(connection: Connection, plan: dict[str, Placing] = PLAN, schema: str = "public") -> list[str]:
    """The statements of the distribution step, in an order Citus accepts: the adjustments, the
    session's settings, the reference tables before the tables that refer to them, the anchor
    before the tables co-located with it, then the coordinator's tables that join Citus's metadata
    (:func:`joining_metadata`), in a transaction of their own."""
    statements = []
    for step in _steps(connection, plan, schema):
        statements += ["BEGIN;", *step.statements, "COMMIT;"] if len(step.statements) > 1 else list(step.statements)
    return statements


class DeploymentFailed(RuntimeError):
    """What stopped :func:`deploy`, said for the person running it."""


# The roles' attributes as pg_roles has them, each with the keyword that gives it.
ROLE_ATTRIBUTES = {
    OWNER_ROLE: {"rolcanlogin": (True, "LOGIN")},
    APP_ROLE: {"rolcanlogin": (True, "LOGIN"), "rolsuper": (False, "NOSUPERUSER"),
               "rolbypassrls": (False, "NOBYPASSRLS"), "rolcreatedb": (False, "NOCREATEDB"),
               "rolcreaterole": (False, "NOCREATEROLE")},
}
# What the app needs of the coordinator's database.
DATABASE_SETTINGS = {
    # act_for names the organisations with SET LOCAL, which Citus then passes on to the
    # connections it opens to the shards (Citus's documentation of citus.propagate_set_commands).
    "citus.propagate_set_commands": "local",
    # Peer ties across organisations that share pair rows of two shards (README "Past one machine").
    "citus.enable_repartition_joins": "on",
}
LEAKPROOF = "geometry_overlaps(geometry, geometry)"  # migration b7d1e5a9c3f2 says why


def deploy(superuser_url: str, *, owner_password: str | None = None, app_password: str | None = None,
           echo: Callable[[str], object] = print) -> list[str]:
    """Set up and distribute the database ``superuser_url`` names on a Citus coordinator whose
    workers are added, and return what was done, each step as ``echo`` was told it (nothing when
    run again: every step looks first). As the superuser: the extensions the migrations use
    (Citus creates them on the workers too), the owner :data:`OWNER_ROLE` and the app's role
    ``APP_ROLE`` with the passwords given (Citus 11 and later create and alter roles on every node),
    the database owned by the owner and PostGIS's box overlap leakproof, on every node; then the
    migrations as the owner, the database's settings (:data:`DATABASE_SETTINGS`), and as the owner
    the statements of :func:`distribution_sql` for the tables not yet in Citus's metadata, each
    step committed on its own.

    Citus connects to the workers as the role that runs a statement, so the nodes must let the owner
    and the app's role in (a password file or trust between them). Refuses, changing nothing, a
    database without the citus extension or a connection that is not a superuser's; stops before
    distributing while :func:`blockers` names anything.
    """
    done = []

    def did(what: str) -> None:
        done.append(what)
        echo(what)

    engine = create_engine(superuser_url)
    try:
        with engine.connect() as connection:
            _refuse_unless_a_coordinator(connection, echo)
            for extension in EXTENSIONS:
                if not connection.scalar(text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": extension}):
                    _change(connection, did, f"CREATE EXTENSION {extension}", f"created the extension {extension}")
            _roles(connection, did, {OWNER_ROLE: owner_password, APP_ROLE: app_password})
            database = _identifier(connection.scalar(text("SELECT current_database()")))
            _on_every_node(connection, did, f"made {OWNER_ROLE} the database's owner",
                           f"SELECT pg_get_userbyid(datdba) = '{OWNER_ROLE}' FROM pg_database "
                           "WHERE datname = current_database()", f"ALTER DATABASE {database} OWNER TO {OWNER_ROLE}")
            _on_every_node(connection, did, f"marked {LEAKPROOF} leakproof",
                           f"SELECT proleakproof FROM pg_proc WHERE oid = '{LEAKPROOF}'::regprocedure",
                           f"ALTER FUNCTION {LEAKPROOF} LEAKPROOF")
            _migrate(connection, did, superuser_url)
            _settings(connection, did, database)
            _distribute(connection, did)
    finally:
        engine.dispose()
    return done


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _change(connection, did, statement: str, said: str) -> None:
    """Run ``statement`` (no parameters: utility statements take none) and commit it."""
    connection.exec_driver_sql(statement, execution_options={"no_parameters": True})
    connection.commit()
    did(said)


def _refuse_unless_a_coordinator(connection, echo) -> None:
    database, user = connection.execute(text("SELECT current_database(), current_user")).one()
    if not connection.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")):
        raise DeploymentFailed(f"database {database} has no citus extension, so it is not a Citus coordinator's: "
                               "create the extension there and add the workers first. Nothing was changed.")
    if not connection.scalar(text("SELECT citus_is_coordinator()")):
        raise DeploymentFailed(f"database {database} is on a Citus worker: name the coordinator's. "
                               "Nothing was changed.")
    if not connection.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
        raise DeploymentFailed(f"{user} is not a superuser, and the extensions, roles and PostGIS's leakproof "
                               "overlap need one. Nothing was changed.")
    workers = connection.scalar(text("SELECT count(*) FROM pg_dist_node "
                                     "WHERE groupid <> 0 AND noderole = 'primary' AND isactive"))
    echo(f"Deploying database {database} on a Citus coordinator with {workers} workers.")


def _password_is(stored: str | None, role: str, password: str) -> bool:
    """Whether ``stored`` (pg_authid.rolpassword) is the verifier of ``password``: SCRAM-SHA-256
    (as RFC 5802 computes the stored key; PostgreSQL prepares the password with SASLprep, of which
    NFKC is the part that changes a printable one) or the older MD5."""
    if stored and stored.startswith("SCRAM-SHA-256$"):
        iterations, salt, stored_key = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):.+", stored).groups()
        salted = hashlib.pbkdf2_hmac("sha256", unicodedata.normalize("NFKC", password).encode(),
                                     base64.b64decode(salt), int(iterations))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(stored_key))
    return stored == "md5" + hashlib.md5((password + role).encode()).hexdigest()


def _roles(connection, did, passwords: dict[str, str | None]) -> None:
    for role, attributes in ROLE_ATTRIBUTES.items():
        password = passwords[role]
        row = connection.execute(text(f"SELECT {', '.join(attributes)}, rolpassword FROM pg_authid "
                                      "WHERE rolname = :role"), {"role": role}).mappings().first()
        given = f" PASSWORD {_literal(password)}" if password is not None else ""
        if row is None:
            keywords = " ".join(keyword for _, keyword in attributes.values())
            _change(connection, did, f"CREATE ROLE {role} {keywords}{given}", f"created the role {role}")
            continue
        wrong = [keyword for column, (wanted, keyword) in attributes.items() if row[column] != wanted]
        if wrong:
            _change(connection, did, f"ALTER ROLE {role} {' '.join(wrong)}", f"gave the role {role} {' '.join(wrong)}")
        if password is not None and not _password_is(row["rolpassword"], role, password):
            _change(connection, did, f"ALTER ROLE {role}{given}", f"set the password of {role}")
    # So the owner can end the app's sessions when it drops a database (as scripts/lib/setup.sh).
    if not connection.scalar(text(f"SELECT pg_has_role('{OWNER_ROLE}', 'pg_signal_backend', 'MEMBER')")):
        _change(connection, did, f"GRANT pg_signal_backend TO {OWNER_ROLE}", f"granted pg_signal_backend to {OWNER_ROLE}")


def _on_every_node(connection, did, said: str, check: str, change: str) -> None:
    """Make ``check`` (a query answering true or false) true on the coordinator and each worker by
    running ``change`` where it is false, on the workers through run_command_on_workers: Citus
    passes on no change to an extension's function, and a database's new owner only under
    citus.enable_alter_database_owner, which is off by default in some versions."""
    if not connection.scalar(text(check)):
        _change(connection, did, change, f"{said} on the coordinator")
    on_workers = "SELECT nodename || ':' || nodeport, success, result FROM run_command_on_workers(:command)"
    answers = connection.execute(text(on_workers), {"command": check}).all()
    connection.commit()
    for node, success, result in answers:
        if not success:
            raise DeploymentFailed(f"{node} answered {check!r} with: {result}")
    behind = [node for node, _, result in answers if result != "t"]
    if behind:
        failed = [f"{node}: {result}" for node, success, result in
                  connection.execute(text(on_workers), {"command": change}) if not success]
        connection.commit()
        if failed:
            raise DeploymentFailed(f"{change} failed on " + "; ".join(failed))
        did(f"{said} on {', '.join(behind)}")


def _migrate(connection, did, superuser_url: str) -> None:
    """Run the migrations, unless the database is at their head, as the owner: on the superuser's
    connection with the owner's role set from its start (``-c role=``, as SET ROLE), so that every
    object is the owner's and the migrations meet the permissions the owner has, without the
    owner's password. In a process of its own, as alembic's environment reads DATABASE_URL."""
    config = Config(str(ROOT / "alembic.ini"))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    at = set(connection.scalars(text("SELECT version_num FROM alembic_version"))) if connection.scalar(
        text("SELECT to_regclass('alembic_version') IS NOT NULL")) else set()
    connection.commit()
    if at == heads:
        return
    url = make_url(superuser_url)
    options = " ".join(part for part in (url.query.get("options"), f"-c role={OWNER_ROLE}") if part)
    owner_url = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    migrated = subprocess.run([sys.executable, "-m", "alembic", "-c", config.config_file_name, "upgrade", "heads"],
                              cwd=ROOT, env={**os.environ, "DATABASE_URL": owner_url}, capture_output=True, text=True)
    if migrated.returncode:
        raise DeploymentFailed(f"the migrations stopped:\n{migrated.stderr.strip()}")
    did(f"migrated as {OWNER_ROLE} from {', '.join(sorted(at)) or 'an empty database'} to {', '.join(sorted(heads))}")


def _settings(connection, did, database: str) -> None:
    wanted = dict(DATABASE_SETTINGS)
    if _with_triggers(connection, "public") & (_placed(PLAN, Placing.DISTRIBUTED) | _placed(PLAN, Placing.REFERENCE)):
        # For later migrations that create, change or drop a trigger of a table Citus holds
        # (ErrorOutForTriggerIfNotSupported, in its trigger.c); firing one needs no setting.
        wanted["citus.enable_unsafe_triggers"] = "on"
    present = dict(setting.split("=", 1) for setting in connection.scalars(text("""
        SELECT unnest(setconfig) FROM pg_db_role_setting
        WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())""")))
    connection.commit()
    for name, value in wanted.items():
        if present.get(name) != value:
            _change(connection, did, f"ALTER DATABASE {database} SET {name} = {_literal(value)}",
                    f"set {name} = {value} for the database")


def _distribute(connection, did) -> None:
    """As the owner, the steps of :func:`distribution_sql` whose tables Citus does not hold yet,
    each committed on its own (Citus refuses some of them after a parallel operation in the same
    transaction), with the settings of the session they need."""
    connection.exec_driver_sql(f"SET ROLE {OWNER_ROLE}", execution_options={"no_parameters": True})
    placed = set(connection.scalars(text("SELECT logicalrelid::regclass::text FROM pg_dist_partition")))
    steps = _steps(connection, PLAN, "public")
    if all(step.tables <= placed for step in steps if step.tables):
        connection.commit()
        return
    problems = blockers(connection)
    if problems:
        raise DeploymentFailed("not distributed, as Citus would refuse it:\n" + "\n".join(f"  {p}" for p in problems))
    if joining_metadata(connection) - placed and not connection.scalar(
            text("SELECT 1 FROM pg_dist_node WHERE groupid = 0")):
        raise DeploymentFailed("the coordinator is not in Citus's metadata, where the tables it keeps must be: "
                               "run SELECT citus_set_coordinator_host('<its host name>', <port>) first")
    connection.commit()
    for step in steps:
        if step.tables and step.tables <= placed:
            continue
        for statement in step.statements:
            connection.exec_driver_sql(statement, execution_options={"no_parameters": True})
        connection.commit()
        for statement in step.statements if step.tables else ():
            did(statement)
