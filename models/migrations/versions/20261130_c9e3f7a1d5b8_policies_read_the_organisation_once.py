"""Policies read the acting organisation once per query, not once per row.

Revision ID: c9e3f7a1d5b8
Revises: b7d1e5a9c3f2
Create Date: 2026-11-30 02:30:00

``organisation_id = ANY (csmap_visible_organisations())`` called the function, and its query of
organisation_sharing, for every row a policy checked: reading a year of resolution-9 hexagon totals
(93,000 rows) took 554 ms instead of 74. As a scalar subquery the function runs once, as an
initplan, and its array is compared with each row.
"""

from alembic import op

revision = "c9e3f7a1d5b8"
down_revision = "b7d1e5a9c3f2"
branch_labels = None
depends_on = None

# Once: "= ANY ((SELECT ...)::integer[])", the cast telling PostgreSQL it compares with an array
# rather than with each row of a subquery.
VISIBLE = "organisation_id = ANY ({}csmap_visible_organisations(){})"
ACTING = "organisation_id = {}csmap_acting_organisation(){}"
ONCE = {VISIBLE: ("(SELECT ", ")::integer[]"), ACTING: ("(SELECT ", ")")}
# Policy, table, rule, whether it also checks rows written.
POLICIES = [
    ("young_people_by_organisation", "young_people", VISIBLE, True),
    ("contexts_by_organisation", "contexts", VISIBLE, True),
    ("episode_hex_months_by_organisation", "episode_hex_months", VISIBLE, False),
    ("import_runs_by_organisation", "import_runs", ACTING, True),
    ("audit_events_read", "audit_events", ACTING, False),
]


def _alter(once: bool) -> None:
    for policy, table, rule, checks_writes in POLICIES:
        condition = rule.format(*ONCE[rule]) if once else rule.format("", "")
        op.execute(f"ALTER POLICY {policy} ON {table} USING ({condition})"
                   + (f" WITH CHECK ({condition})" if checks_writes else ""))


def upgrade() -> None:
    _alter(once=True)


def downgrade() -> None:
    _alter(once=False)
