"""Linking young people to contexts: every field checked at once, every change in the context's
history with the reference and the values before and after, a change on an older version refused,
and a removed link gone from every query until it is restored."""

from datetime import date, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from models.aggregates import EpisodeDataVersion
from models.codes import ContextChangeAction, Role
from models.links import StaleLink, add_link, change_link, remove_link, removed_links, restore_link
from models.queries import context_links
from models.safeguarding import ContextChange, ContextLink, YoungPerson
from models.validation import InvalidInput


@pytest.fixture
def park(park, session, worker):
    """The park, and two young people of the authority to link to it."""
    for reference in ("YP-LINK01", "YP-LINK02"):
        session.add(YoungPerson(reference=reference, birth_month=date(2010, 6, 1), sex=2,
                                responsible_authority_code="E09000020", organisation_id=worker.organisation_id))
    session.commit()
    return park


def entered(worker, **changes) -> dict:
    return {"reference": "yp-link01", "role": "harmed_there", "concerns": ["11A", "2a"], "first_seen": "2026-03-01",
            "last_seen": "", "recorded_by": str(worker.organisation_id), "reliability": "corroborated", **changes}


def history(session, park) -> list[ContextChange]:
    return session.scalars(select(ContextChange).where(ContextChange.context_id == park.id)
                           .order_by(ContextChange.id)).all()


def test_a_link_is_recorded_with_its_history(session, park, worker):
    link = add_link(session, park, worker, **entered(worker))
    session.commit()
    assert link.concern_codes == ["2A", "11A"] and link.first_seen_on == date(2026, 3, 1)
    change = history(session, park)[-1]
    assert change.action == ContextChangeAction.LINK_ADDED and change.link_id == link.id
    assert change.changes["young person"] == ["", "YP-LINK01"] and change.changes["concerns"] == ["", "2A, 11A"]


def test_every_problem_is_named_at_once_and_nothing_is_written(session, park, worker):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    with pytest.raises(InvalidInput) as raised:
        add_link(session, park, worker, **entered(worker, reference="YP-NOBODY", role="lurks", concerns=["99Z"],
                                                 first_seen=tomorrow, last_seen="14/03/2026", recorded_by="abc",
                                                 reliability="maybe"))
    assert {error.field for error in raised.value.errors} == {
        "young_person", "role", "concerns", "first_seen", "last_seen", "recorded_by", "reliability"}
    session.rollback()
    assert session.scalars(select(ContextLink)).all() == []


def test_last_seen_cannot_come_before_first_seen(session, park, worker):
    with pytest.raises(InvalidInput, match="last_seen: '2026-02-01' is before the first seen date"):
        add_link(session, park, worker, **entered(worker, last_seen="2026-02-01"))


def test_a_change_keeps_before_and_after(session, park, worker):
    link = add_link(session, park, worker, **entered(worker))
    session.commit()
    changes = change_link(session, link, worker, version=1, **entered(worker, reliability="known_directly",
                                                                       last_seen="2026-04-02"))
    session.commit()
    assert changes == {"last seen": ["", "2026-04-02"], "reliability": ["Corroborated", "Known directly"]}
    assert history(session, park)[-1].changes["young person"] == ["YP-LINK01", "YP-LINK01"]
    assert link.version == 2


def test_a_change_on_an_older_version_is_refused(session, park, worker):
    link = add_link(session, park, worker, **entered(worker))
    session.commit()
    change_link(session, link, worker, version=1, **entered(worker, role="frequents"))
    session.commit()
    with pytest.raises(StaleLink, match=r"this link was changed by social_worker at [^(]*\(role\) since"):
        change_link(session, link, worker, version=1, **entered(worker, role="at_risk_there"))


def test_a_removed_link_is_hidden_until_restored(session, park, worker, users):
    link = add_link(session, park, worker, **entered(worker))
    add_link(session, park, worker, **entered(worker, reference="YP-LINK02"))
    session.commit()
    with pytest.raises(InvalidInput, match="note: '' is required"):
        remove_link(session, link, worker, version=1, note="")
    remove_link(session, link, worker, version=1, note="Recorded against the wrong child")
    session.commit()
    assert [row.reference for row in session.execute(context_links(park.id, (park.organisation_id,)))] == ["YP-LINK02"]
    assert [row.reference for row in session.execute(removed_links(park.id, (park.organisation_id,)))] == ["YP-LINK01"]
    restore_link(session, link, users[Role.ADMINISTRATOR])
    session.commit()
    assert {row.reference for row in session.execute(context_links(park.id, (park.organisation_id,)))} == {"YP-LINK01", "YP-LINK02"}
    assert [c.action for c in history(session, park)][-2:] == [ContextChangeAction.LINK_REMOVED,
                                                              ContextChangeAction.LINK_RESTORED]


def test_a_young_person_of_another_organisation_cannot_be_linked(session, park, worker, organisations):
    session.add(YoungPerson(reference="YP-ELSEWHERE", birth_month=date(2010, 6, 1), sex=1,
                            responsible_authority_code="E09000013", organisation_id=organisations["police"].id))
    session.commit()
    with pytest.raises(InvalidInput, match="young_person: 'YP-ELSEWHERE' is not a young person's reference"):
        add_link(session, park, worker, **entered(worker, reference="YP-ELSEWHERE"))


def test_the_history_lists_fields_in_the_forms_order(session, park, worker):
    add_link(session, park, worker, **entered(worker, last_seen="2026-04-02"))
    session.commit()
    fields = [field for field, _, _ in history(session, park)[-1].ordered_changes()]
    assert fields == ["young person", "role", "concerns", "first seen", "last seen", "recorded by", "reliability"]


def test_link_changes_keep_the_contexts_data_version(session, park, worker):
    """Each change adds to the context's history, which leaves the context "dirty" in the session
    but writes no row of contexts: the contexts' token, in every organisation's kept answers, stays."""
    before = session.scalar(select(EpisodeDataVersion.token))
    link = add_link(session, park, worker, **entered(worker))
    session.commit()
    remove_link(session, link, worker, version=1, note="Recorded against the wrong child")
    session.commit()
    assert session.scalar(select(EpisodeDataVersion.token)) == before


def test_a_link_s_own_update_names_its_organisation(session, connection, park, worker):
    """What sends the ORM's update to the child's shard on Citus (models.distribution)."""
    link = add_link(session, park, worker, **entered(worker))
    session.commit()
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement, ...)
    event.listen(connection, "before_cursor_execute", listen)
    try:
        change_link(session, link, worker, version=1, **entered(worker, role="frequents"))
        session.flush()
    finally:
        event.remove(connection, "before_cursor_execute", listen)
    [updated] = [statement for statement in statements if statement.startswith("UPDATE context_links")]
    assert "context_links.organisation_id = " in updated and "context_links.id = " in updated


@pytest.mark.parametrize("concerns", [["21", "11A"], ["3a", "21"]])
def test_no_factors_identified_is_only_ever_given_alone(session, park, worker, concerns):
    with pytest.raises(InvalidInput, match="is only ever given alone"):
        add_link(session, park, worker, **entered(worker, concerns=concerns))


@pytest.mark.parametrize("concerns, stored", [(["16a", "3B", "9A"], ["3B", "9A", "16A"]), (["21"], ["21"]),
                                              (["8F", "17A", "7A"], ["7A", "8F", "17A"])])
def test_every_children_in_need_factor_is_a_concern(session, park, worker, concerns, stored):
    link = add_link(session, park, worker, **entered(worker, concerns=concerns))
    session.flush()
    assert link.concern_codes == stored


def test_the_database_refuses_no_factors_beside_another(session, park, worker):
    """Whatever writes a link: the schema holds the census's rule too."""
    link = add_link(session, park, worker, **entered(worker, concerns=["21"]))
    session.flush()
    link.concern_codes = ["21", "11A"]
    with pytest.raises(IntegrityError, match="no_factors_alone"):
        session.flush()
    session.rollback()
