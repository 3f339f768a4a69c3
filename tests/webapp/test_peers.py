"""Peer links: who is tied to whom, the groups they form, and the pages that show them."""

import re
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import pytest

from geo.coords import LatLng
from geo.hexes import cells_of
from models.codes import ContextKind, LinkRole, MissingType, Reliability
from models.peers import shared_context_pairs, shared_episode_pairs
from models.safeguarding import Context, ContextLink, MissingEpisode, YoungPerson
from webapp.peers import peer_groups

T0 = datetime(2026, 3, 6, 21, 0, tzinfo=timezone.utc)
PARK = LatLng(51.4900, -0.1900)


@pytest.fixture
def peers(session, organisations):
    """A and B share four contexts; J shares one of them; A and C share one other. C, D and K went
    missing together; E went missing at the same time 400 m away, F at the same place hours later.
    G and H started apart but were found together."""
    organisation = next(iter(organisations.values()))
    people = {name: YoungPerson(reference=f"YP-PEER{name}", birth_month=date(2010, 1, 1), sex=2,
                                responsible_authority_code="E09000020", organisation_id=organisation.id)
              for name in "ABCDEFGHJK"}
    contexts = {name: Context(name=f"Peer {name}", kind=ContextKind.PARK, organisation_id=organisation.id,
                              geometry=PARK.wkt, cells=cells_of(PARK)) for name in ("X", "Y", "Z", "V", "W")}
    session.add_all([*people.values(), *contexts.values()])
    session.flush()
    for person, context in [("A", "X"), ("A", "Y"), ("A", "Z"), ("A", "V"), ("B", "X"), ("B", "Y"), ("B", "Z"),
                            ("B", "V"), ("J", "X"), ("A", "W"), ("C", "W")]:
        session.add(ContextLink(young_person_id=people[person].id, context_id=contexts[context].id,
                                role=LinkRole.FREQUENTS, first_seen_on=date(2026, 1, 1),
                                recorded_by_id=organisation.id, reliability=Reliability.CORROBORATED))

    def episode(name, start, last_seen, found=None, hours=3):
        found = found or last_seen
        session.add(MissingEpisode(young_person_id=people[name].id, missing_type=MissingType.MISSING,
                                   started_at=start, ended_at=start + timedelta(hours=hours),
                                   last_seen_location=last_seen.wkt, last_seen_cells=cells_of(last_seen),
                                   found_location=found.wkt, found_cells=cells_of(found)))

    far = LatLng(51.52, -0.10)
    episode("C", T0, PARK, found=LatLng(51.45, -0.35))
    episode("D", T0 + timedelta(minutes=50), LatLng(51.4905, -0.1905), found=LatLng(51.50, -0.15))
    episode("K", T0 + timedelta(minutes=90), PARK, found=LatLng(51.47, -0.22))
    episode("E", T0, LatLng(51.4937, -0.1900), found=LatLng(51.46, -0.25))  # 400 m north
    episode("F", T0 + timedelta(hours=5), PARK, found=LatLng(51.55, -0.05))  # hours after the others
    episode("G", T0, LatLng(51.40, -0.30), found=far, hours=4)
    episode("H", T0 + timedelta(hours=5), LatLng(51.60, -0.02), found=far, hours=0)  # ended an hour after G
    session.flush()
    return people, contexts


def named(people, rows, *columns):
    by_id = {person.id: name for name, person in people.items()}
    return {(by_id[row.person], by_id[row.peer]): tuple(getattr(row, c) for c in columns) for row in rows}


def test_missing_together_is_the_same_place_at_nearly_the_same_time(session, peers):
    people, _ = peers
    ids = [p.id for p in people.values()]
    together = named(people, session.execute(shared_episode_pairs(ids, (people["A"].organisation_id,), among_them=True)), "episodes")
    # Pairs come once each, ordered by id (the fixture adds people in name order).
    assert together == {("C", "D"): (1,), ("C", "K"): (1,), ("D", "K"): (1,), ("G", "H"): (1,)}


def test_shared_contexts_name_each_context(session, peers):
    people, _ = peers
    by_id = {person.id: name for name, person in people.items()}
    shared = defaultdict(list)
    for row in session.execute(shared_context_pairs([people["A"].id], (people["A"].organisation_id,))):
        shared[(by_id[row.person], by_id[row.peer])].append(row.context_name)
    assert dict(shared) == {("A", "B"): ["Peer V", "Peer X", "Peer Y", "Peer Z"], ("A", "J"): ["Peer X"],
                            ("A", "C"): ["Peer W"]}


def test_groups_are_connected_people():
    assert peer_groups([1, 2, 3, 4, 5], [(1, 2), (4, 5), (2, 1)]) == [[1, 2], [4, 5]]
    assert peer_groups([1, 2], []) == []


def test_person_page_lists_strong_peers_first_and_their_groups(signed_in, peers):
    people, _ = peers
    html = signed_in.get(f"/young-people/{people['C'].id}").get_data(as_text=True)
    peers_table = html[html.index('data-testid="peers"'):html.index("</table>", html.index('data-testid="peers"'))]
    assert peers_table.index("YP-PEERD") < peers_table.index("YP-PEERK")  # both missing together with C
    assert "YP-PEERA" not in peers_table  # one shared context: a weak tie, listed under "more"
    assert "1 more share one or two contexts" in html
    assert "Group of 2:" in html and "YP-PEERD</a>, <a" in html  # D and K went missing together too
    assert "YP-PEERE" not in html and "YP-PEERF" not in html
    assert "/placements/check?young_person=YP-PEERC" in html  # on to the placement check for her


def test_context_page_groups_its_people_by_their_other_ties(signed_in, peers):
    people, contexts = peers
    html = signed_in.get(f"/contexts/{contexts['X'].id}?period=all").get_data(as_text=True)
    group = html[html.index('data-testid="peer-group"'):]
    assert "Group of 2:" in group and "YP-PEERA" in group and "YP-PEERB" in group
    assert "linked to Peer V, Peer Y, Peer Z" in group  # X itself is not counted as a tie here
    assert html.count('data-testid="peer-group"') == 1  # J shares only X with them


def test_a_context_linked_to_too_many_for_groups_says_so(signed_in, peers, monkeypatch):
    """X has three linked young people: above the limit, the page names the count instead."""
    _, contexts = peers
    monkeypatch.setattr("webapp.contexts.PEER_GROUPS_AT_MOST", 2)
    response = signed_in.get(f"/contexts/{contexts['X'].id}?period=all")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="peer-group"' not in html
    assert "More than 2 young people are linked: too many" in html


def test_a_context_lists_its_links_a_page_at_a_time(signed_in, peers, monkeypatch):
    _, contexts = peers
    monkeypatch.setattr("webapp.contexts.LINKS_PER_PAGE", 2)
    pages = [signed_in.get(f"/contexts/{contexts['X'].id}?period=all&links_page={page}").get_data(as_text=True)
             for page in (1, 2)]
    listed = [re.findall(r'>(YP-PEER\w+)</a></td>', html[html.index('data-testid="linked"'):]) for html in pages]
    assert [len(names) for names in listed] == [2, 1]
    assert sorted(listed[0] + listed[1]) == ["YP-PEERA", "YP-PEERB", "YP-PEERJ"]
    assert all("Young people linked to this context (3)" in html for html in pages)
    assert "Page 1 of 2" in pages[0] and "links_page=2" in pages[0] and "Page 2 of 2" in pages[1]
    # Peer groups are worked out among all of them, not only the page's.
    assert 'data-testid="peer-group"' in pages[1]


@pytest.mark.parametrize(("links_page", "reason"), [
    ("0", "is not a page number"), ("-1", "is not a page number"), ("two", "is not a page number"),
    ("99999", "is not a page number"), ("2", "is past the last page (1)"),
])
def test_a_bad_links_page_is_400_naming_it(signed_in, peers, links_page, reason):
    _, contexts = peers
    response = signed_in.get(f"/contexts/{contexts['X'].id}?links_page={links_page}")
    assert response.status_code == 400
    assert f"links_page: &#39;{links_page}&#39; {reason}" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["context_id=5", "endpoint=x", "_external=1", "_anchor=top"])
def test_unexpected_parameters_stay_out_of_the_page_links(signed_in, peers, monkeypatch, query):
    _, contexts = peers
    monkeypatch.setattr("webapp.contexts.LINKS_PER_PAGE", 2)
    response = signed_in.get(f"/contexts/{contexts['X'].id}?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "links_page=2" in html
    assert query not in html.split('data-testid="links-pages"')[1].split("</nav>")[0]


@pytest.mark.parametrize("path", ["/young-people/999999", "/young-people/99999999999", "/young-people/abc"])
def test_unknown_young_person_is_404(signed_in, path):
    assert signed_in.get(path).status_code == 404
