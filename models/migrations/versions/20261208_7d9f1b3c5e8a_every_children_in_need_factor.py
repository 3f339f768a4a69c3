"""Every Children in Need census factor, and "21" (no factors identified) only ever alone.

Revision ID: 7d9f1b3c5e8a
Revises: 5b7d9f1c3e6a
Create Date: 2026-12-08 01:30:00

The concern codes of links and of assessments and conferences were 21 of the census's factors;
they are now all of them (domestic abuse, mental health, learning disability, physical disability
or illness, young carer, private fostering, unaccompanied asylum-seeking, neglect, emotional abuse:
models.codes.CONCERN_CODES), so reports by factor line up with the census. "21" beside another
factor is refused, as the census's own rule 8869 refuses it.
"""

from alembic import op

revision = "7d9f1b3c5e8a"
down_revision = "5b7d9f1c3e6a"
branch_labels = None
depends_on = None

TABLES = ("context_links", "child_meetings")
# As this migration was written (models.codes.CONCERN_CODES may grow later).
EVERY_FACTOR = ("1A 1B 1C 2A 2B 2C 3A 3B 3C 4A 4B 4C 5A 5B 5C 6A 6B 6C 7A 8B 8C 8D 8E 8F 9A 10A 11A 12A 13A 14A 15A "
                "16A 17A 18B 18C 19B 19C 20 21 22A 23A 24A").split()
BEFORE = "1A 1B 1C 2A 2B 2C 10A 11A 12A 13A 14A 15A 18B 18C 19B 19C 20 21 22A 23A 24A".split()


def _codes(codes: list[str]) -> str:
    return "concern_codes <@ ARRAY[" + ", ".join(f"'{code}'" for code in codes) + "]::varchar[]"


def upgrade() -> None:
    for table in TABLES:
        op.drop_constraint(op.f(f"ck_{table}_concern_codes"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_concern_codes"), table, _codes(EVERY_FACTOR))
        op.create_check_constraint(op.f(f"ck_{table}_no_factors_alone"), table,
                                   "NOT ('21' = ANY (concern_codes) AND cardinality(concern_codes) > 1)")


def downgrade() -> None:
    for table in TABLES:
        op.drop_constraint(op.f(f"ck_{table}_no_factors_alone"), table, type_="check")
        op.drop_constraint(op.f(f"ck_{table}_concern_codes"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_concern_codes"), table, _codes(BEFORE))
