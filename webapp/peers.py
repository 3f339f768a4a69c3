"""Peer groups for the context and young person pages: who is tied to whom through shared contexts
or missing episodes together, and the groups those ties make. Individual-level: only the blueprints
behind ``require_individual_access`` use it."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import select

from models.peers import shared_context_pairs, shared_episode_pairs
from models.safeguarding import YoungPerson
from webapp.db import visible_organisations


def peer_groups(people: Sequence[int], pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """The groups that ``pairs`` join ``people`` into (connected components), largest first;
    people tied to nobody among them are left out.

    >>> peer_groups([1, 2, 3, 4, 5, 6], [(1, 2), (3, 2), (4, 5)])
    [[1, 2, 3], [4, 5]]
    """
    index = {person: position for position, person in enumerate(people)}
    edges = [(index[a], index[b]) for a, b in pairs if a in index and b in index]
    if not edges:
        return []
    rows, columns = zip(*edges)
    graph = coo_matrix((np.ones(len(edges)), (rows, columns)), shape=(len(people), len(people)))
    _, labels = connected_components(graph, directed=False)
    groups = defaultdict(list)
    for person, label in zip(people, labels):
        groups[label].append(person)
    return sorted((sorted(group) for group in groups.values() if len(group) > 1), key=lambda g: (-len(g), g))


# One shared takeaway or school ties dozens of children and says little about a peer group:
# groups are made of ties of going missing together, or of this many shared contexts.
STRONG_TIE_CONTEXTS = 3


@dataclass
class Tie:
    """What joins two young people: the contexts both are linked to, and episodes together."""

    contexts: list[str] = field(default_factory=list)
    episodes: int = 0

    @property
    def strong(self) -> bool:
        return self.episodes > 0 or len(self.contexts) >= STRONG_TIE_CONTEXTS

    @property
    def strength(self) -> tuple[int, int]:
        return self.episodes, len(self.contexts)


def ties(session, people: Sequence[int], among_them: bool, leave_out_context: int | None = None) -> dict:
    """{(person, peer): Tie} for the given people (see models.peers for ``among_them``)."""
    found: dict[tuple[int, int], Tie] = defaultdict(Tie)
    organisations = visible_organisations()
    for row in session.execute(shared_context_pairs(people, organisations, among_them)):
        if row.context_id != leave_out_context:
            found[(row.person, row.peer)].contexts.append(row.context_name)
    for row in session.execute(shared_episode_pairs(people, organisations, among_them)):
        found[(row.person, row.peer)].episodes = row.episodes
    return dict(found)


@dataclass
class PeerGroup:
    members: list  # YoungPerson, by reference
    ties: list[tuple]  # (YoungPerson, YoungPerson, Tie) within the group


def people_by_id(session, ids: Iterable[int]) -> dict[int, YoungPerson]:
    """The young people with ``ids`` among those the reader may see, by id."""
    ids = sorted(set(ids))
    return {person.id: person for person in session.scalars(select(YoungPerson).where(
        YoungPerson.organisation_id.in_(visible_organisations()), YoungPerson.id.in_(ids)))} if ids else {}


def grouped(session, people: Sequence[int], joined: dict) -> list[PeerGroup]:
    """The peer groups that the strong ``joined`` ties make among ``people``, with the people loaded."""
    joined = {pair: tie for pair, tie in joined.items() if tie.strong}
    groups = peer_groups(people, joined)
    wanted = {person for group in groups for person in group}
    loaded = people_by_id(session, wanted)
    return [
        PeerGroup(
            members=sorted((loaded[person] for person in group), key=lambda p: p.reference),
            ties=[(loaded[a], loaded[b], tie) for (a, b), tie in sorted(joined.items()) if a in group and b in group],
        )
        for group in groups
    ]
