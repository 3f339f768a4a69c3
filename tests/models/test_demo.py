"""The demo generator: deterministic, the right size, and with the patterns practitioners describe."""

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models.cases import overdue_reviews
from models.codes import CaseStage, ContextKind
from models.demo import DemoSize, write_demo, write_demo_cases
from models.people import Organisation
from models.safeguarding import CaseNote, CaseRecord, Context
from webapp.cli import ensure_demo_users

END = date(2026, 11, 1)
SMALL = DemoSize(young_people=120, contexts=60, missing_episodes=900)


def fingerprint(connection) -> str:
    return connection.execute(
        text(
            "SELECT md5(string_agg(concat_ws('|', young_person_id, missing_type, started_at, ended_at,"
            " ST_AsText(last_seen_location), found_cells, returned_by), ',' ORDER BY id)) FROM missing_episodes"
        )
    ).scalar()


@pytest.fixture
def demo(connection):
    counts = write_demo(connection, seed=11, size=SMALL, end=END)
    return counts


def test_sizes(demo):
    # The sizes asked for, and the featured girl with her 8 episodes (FEATURED_REFERENCE).
    assert demo["young_people"] == 120 + 1
    assert demo["contexts"] == 60
    assert demo["missing_episodes"] == 900 + 8
    assert demo["placements"] > 0 and demo["context_links"] >= 120


def test_same_seed_same_data_other_seed_other_data(connection):
    savepoint = connection.begin_nested()
    write_demo(connection, seed=11, size=SMALL, end=END)
    first = fingerprint(connection)
    savepoint.rollback()
    savepoint = connection.begin_nested()
    write_demo(connection, seed=11, size=SMALL, end=END)
    assert fingerprint(connection) == first
    savepoint.rollback()
    write_demo(connection, seed=12, size=SMALL, end=END)
    assert fingerprint(connection) != first


def test_refuses_to_write_twice(connection, demo):
    with pytest.raises(RuntimeError, match="already holds young people"):
        write_demo(connection, seed=11, size=SMALL, end=END)


def scalar(connection, sql: str):
    return connection.execute(text(sql)).scalar()


def test_every_context_kind_and_only_invented_references(connection, demo):
    kinds = scalar(connection, "SELECT count(DISTINCT kind) FROM contexts")
    assert kinds == 11
    assert scalar(connection, "SELECT count(*) FROM young_people WHERE reference !~ '^YP-[A-Z2-9]{6}$'") == 0  # YP-PLACED too


def test_episodes_start_mostly_in_the_evening_and_end_in_the_early_hours(connection, demo):
    evening = scalar(connection, """
        SELECT avg((extract(hour FROM started_at AT TIME ZONE 'Europe/London') >= 18
                    OR extract(hour FROM started_at AT TIME ZONE 'Europe/London') < 2)::int)
        FROM missing_episodes""")
    early = scalar(connection, """
        SELECT avg((extract(hour FROM ended_at AT TIME ZONE 'Europe/London') BETWEEN 1 AND 6)::int)
        FROM missing_episodes WHERE ended_at IS NOT NULL""")
    assert evening > 0.6
    assert early > 0.35
    friends = scalar(connection, "SELECT avg((returned_by = 'friends')::int) FROM missing_episodes")
    assert friends > 0.1


def test_episodes_cluster_around_a_few_contexts(connection, demo):
    top_share = scalar(connection, """
        WITH per_context AS (
          SELECT last_seen_context_id, count(*) AS n FROM missing_episodes
          WHERE last_seen_context_id IS NOT NULL GROUP BY 1)
        SELECT sum(n) FILTER (WHERE rank <= 6)::float / sum(n)
        FROM (SELECT n, rank() OVER (ORDER BY n DESC) AS rank FROM per_context) ranked""")
    assert top_share > 0.5


def test_children_placed_far_away_are_found_back_near_home(connection, demo):
    # Episodes of children whose current placement is over 20 miles from home, found within 1 km of home.
    share = scalar(connection, """
        SELECT avg((ST_DWithin(e.found_location::geography, y.home_location::geography, 1000))::int)
        FROM missing_episodes e
        JOIN young_people y ON y.id = e.young_person_id
        JOIN placements p ON p.young_person_id = y.id AND p.ended_on IS NULL
             AND e.started_at::date >= p.started_on
        WHERE e.found_location IS NOT NULL
          AND ST_Distance(p.location::geography, y.home_location::geography) > 32186""")
    assert share is not None and share > 0.4


def test_some_placements_are_out_of_area(connection, demo):
    far = scalar(connection, """
        SELECT count(*) FROM placements p JOIN young_people y ON y.id = p.young_person_id
        WHERE ST_Distance(p.location::geography, y.home_location::geography) > 32186""")
    assert far > 0


def test_context_names_are_unique(connection, demo):
    assert scalar(connection, "SELECT count(*) - count(DISTINCT name) FROM contexts") == 0


def test_dense_histories_stay_valid_up_to_the_window_end(connection):
    # About 400 episodes a child: nearly every day is used, the last one included, so episodes that
    # start after midnight at the end of the window must still end after they start.
    counts = write_demo(connection, seed=1, size=DemoSize(young_people=20, contexts=30, missing_episodes=8000), end=END)
    assert counts["missing_episodes"] == 8000 + 8  # and the featured girl's
    assert scalar(connection, "SELECT count(*) FROM missing_episodes WHERE ended_at < started_at") == 0


def test_the_featured_girl_is_placed_far_from_home_and_found_back_near_it(connection, demo):
    row = connection.execute(text(
        """SELECT y.sex, ST_Distance(geography(y.home_location), geography(p.location)) / 1609.3 AS miles,
                  (SELECT count(*) FROM context_links l WHERE l.young_person_id = y.id AND l.role = 'harmed_there') AS harmed,
                  (SELECT count(*) FROM missing_episodes e WHERE e.young_person_id = y.id
                     AND ST_DWithin(geography(e.found_location), geography(y.home_location), 1609.3)) AS found_near_home,
                  (SELECT count(*) FROM missing_episodes e WHERE e.young_person_id = y.id) AS episodes
           FROM young_people y JOIN placements p ON p.young_person_id = y.id AND p.ended_on IS NULL
           WHERE y.reference = 'YP-PLACED'""")).one()
    assert row.sex == 2 and 25 <= row.miles <= 35 and row.harmed == 2
    assert row.episodes == 8 and row.found_near_home >= 4


def test_the_demo_has_level_2_cases_one_overdue_one_closed_and_no_takeaway(connection, demo):
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    ensure_demo_users(session, "x")
    session.flush()
    assert write_demo_cases(session, today=END) == 8
    assert write_demo_cases(session, today=END) == 0  # once only
    records = session.scalars(select(CaseRecord)).all()
    kinds = {session.get(Context, r.context_id).kind for r in records}
    assert ContextKind.TAKEAWAY not in kinds and len(kinds) == 3
    authority = session.scalar(select(Organisation.id).where(Organisation.kind == "local_authority"))
    overdue = session.execute(overdue_reviews(authority, END)).all()
    assert [row.stage for row in overdue] == [CaseStage.ASSESSMENT]
    assert CaseStage.CLOSURE in {r.stage for r in records}
    assert len(session.scalars(select(CaseNote)).all()) == 3
