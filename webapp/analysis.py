"""Hotspot analysis shared by the dashboard, the API and the context pages: hexagon rows with
their contexts, change against the previous period, Gi* scores, and when episodes happen."""

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import NamedTuple

from geo.hexes import cells_in_box
from geo.hotspots import gi_star, surrounding_cells
from models.queries import (
    EpisodeSelection,
    MapLayer,
    context_counts_by_cell,
    episode_hex_counts,
    linked_people_by_cell,
)
from webapp import maps

# The count that colours the map, ranks the table and feeds Gi*, for each layer.
MEASURES = {MapLayer.LAST_SEEN: "episodes", MapLayer.FOUND: "episodes", MapLayer.CONTEXTS: "contexts",
            MapLayer.YOUNG_PEOPLE: "young_people"}


def hex_rows(session, resolution: int, selection: EpisodeSelection, layer: MapLayer = MapLayer.LAST_SEEN,
             with_contexts: bool = True) -> list[dict]:
    """One row per hexagon with something to count on ``layer``, busiest first.

    Episode layers (``selection.layer`` says which end) give episodes, distinct young people and,
    ``with_contexts``, open contexts. The contexts and young-people layers give open contexts and
    the distinct young people linked to them.
    """
    kinds = selection.kinds
    if layer.episode_layer is None:
        contexts = dict(session.execute(context_counts_by_cell(resolution, selection.bbox, kinds)).all())
        people = dict(session.execute(linked_people_by_cell(resolution, selection)).all())
        counted = contexts if layer == MapLayer.CONTEXTS else people
        rows = [{"cell": cell, "contexts": contexts.get(cell, 0), "young_people": people.get(cell, 0)}
                for cell in counted]
        measure = MEASURES[layer]
        return sorted(rows, key=lambda row: (-row[measure], row["cell"]))
    rows = [
        {"cell": row.cell, "episodes": row.episodes, "young_people": row.young_people}
        for row in session.execute(episode_hex_counts(resolution, selection))
    ]
    if with_contexts:
        contexts = dict(session.execute(context_counts_by_cell(resolution, selection.bbox, kinds)).all())
        for row in rows:
            row["contexts"] = contexts.get(row["cell"], 0)
    return rows


def previous_period(selection: EpisodeSelection, now: datetime) -> EpisodeSelection | None:
    """The same selection over the period of the same length just before it (none for all time)."""
    if selection.started_from is None:
        return None
    end = min(selection.started_before or now, now)
    try:
        return replace(selection, started_from=selection.started_from - (end - selection.started_from),
                       started_before=selection.started_from)
    except OverflowError:  # a period reaching back before year 1
        return None


def add_change(session, rows: list[dict], resolution: int, previous: EpisodeSelection | None) -> None:
    """Add ``previous_episodes`` (the same hexagon in the previous period) to each row."""
    if previous is None:
        return
    before = {row.cell: row.episodes for row in session.execute(episode_hex_counts(resolution, previous))}
    for row in rows:
        row["previous_episodes"] = before.get(row["cell"], 0)


@dataclass(frozen=True)
class StudyArea:
    """The hexagons Gi* set each hexagon against, to be said beside the scores, and the hotspots
    among them that hold none of the measure (a cluster's centre may have no episode of its own)."""

    hexagons: int
    bbox: tuple[float, float, float, float] | None  # None: the rows' cells and two rings around them
    empty_hotspots: tuple[tuple[int, float, float], ...]  # (cell, z, p)

    @property
    def description(self) -> str:
        if self.bbox is None:
            where = "the hexagons that hold any and two rings of hexagons around them"
        else:
            where = "every hexagon whose centre lies in the box " + ",".join(f"{edge:g}" for edge in self.bbox)
        return f"{where}: {self.hexagons:,} hexagons, empty ones included"


def add_gi_star(rows: list[dict], resolution: int, bbox, measure: str = "episodes") -> StudyArea:
    """Add Getis-Ord Gi* of ``measure`` (``gi_z``, ``gi_p``, ``gi_hotspot``) to each row, over every
    hexagon of the box (empty ones included) or, without a box, of the rows' cells and two rings
    around them; returns that study area. Raises ValueError when it holds too many hexagons."""
    area = cells_in_box(*bbox, resolution) if bbox else surrounding_cells([row["cell"] for row in rows])
    scores = gi_star({row["cell"]: row[measure] for row in rows}, [*area, *(row["cell"] for row in rows)])
    for row in rows:
        score = scores[row["cell"]]
        row.update(gi_z=round(score.z, 2), gi_p=score.p, gi_hotspot=score.hotspot)
    held = {row["cell"] for row in rows}
    empty = tuple((cell, round(score.z, 2), score.p) for cell, score in sorted(scores.items())
                  if score.hotspot and cell not in held)
    return StudyArea(len(scores), tuple(bbox) if bbox else None, empty)


def empty_hotspot_rows(area: StudyArea, rows: list[dict]) -> list[dict]:
    """Rows for the study area's hotspots that hold nothing, shaped as ``rows`` (every count 0)."""
    counts = [key for key in (rows[0] if rows else {}) if key not in ("cell", "gi_z", "gi_p", "gi_hotspot")]
    return [{"cell": cell, **dict.fromkeys(counts, 0), "gi_z": z, "gi_p": p, "gi_hotspot": True}
            for cell, z, p in area.empty_hotspots]


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def when_table(grid: dict[tuple[int, int], int]) -> dict:
    """Rows of a day-by-hour table, each cell with its count and a shade from the heat colours."""
    breaks = maps.class_breaks([count for count in grid.values() if count])

    def cell(count: int) -> dict:
        colour = maps.colour_for(count, breaks) if count else None
        return {"count": count, "colour": colour, "dark": colour is not None and maps.white_text_on(colour)}

    rows = [
        {"day": day, "cells": [cell(grid.get((number, hour), 0)) for hour in range(24)]}
        for number, day in enumerate(WEEKDAYS, start=1)
    ]
    return {"rows": rows}


class MonthCount(NamedTuple):
    month: date
    episodes: int
    young_people: int


def every_month(rows) -> list[MonthCount]:
    """Monthly rows from the first to the last month with episodes, empty months as zeros.

    >>> rows = [MonthCount(date(2026, 1, 1), 3, 2), MonthCount(date(2026, 3, 1), 1, 1)]
    >>> [(m.month.month, m.episodes) for m in every_month(rows)]
    [(1, 3), (2, 0), (3, 1)]
    """
    if not rows:
        return []
    counted = {row.month: row for row in rows}
    months, month = [], rows[0].month
    while month <= rows[-1].month:
        months.append(counted.get(month) or MonthCount(month, 0, 0))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def trend_sentence(months: list[MonthCount], this_month: date) -> str | None:
    """The last three complete months against the three before them, in words.

    >>> rows = [MonthCount(date(2026, m, 1), n, 1) for m, n in zip(range(1, 8), [10, 10, 10, 12, 12, 12, 4])]
    >>> trend_sentence(rows, this_month=date(2026, 7, 1))
    'April to June 2026: 36 episodes; the three months before: 30 (up 20%).'
    """
    complete = [m for m in months if m.month < this_month]
    if len(complete) < 6:
        return None
    recent, before = complete[-3:], complete[-6:-3]
    now, then = sum(m.episodes for m in recent), sum(m.episodes for m in before)
    if now == then:
        change = "no change"
    elif then == 0:
        change = "up from none"
    else:
        change = f"{'up' if now > then else 'down'} {abs(now - then) / then:.0%}"
    return f"{recent[0].month:%B} to {recent[-1].month:%B %Y}: {now} episodes; the three months before: {then} ({change})."


def peak_hours(hour_counts: dict[int, int], width: int = 4) -> tuple[int, float] | None:
    """The ``width``-hour window of the day (it may wrap past midnight) holding the most episode
    starts: its first hour and its share of the day's starts.

    >>> peak_hours({23: 5, 0: 3, 1: 1, 14: 1})
    (23, 0.9)
    >>> peak_hours({}) is None
    True
    """
    total = sum(hour_counts.values())
    if not total:
        return None
    # Among equal windows, the one that begins with starts of its own, then the earliest.
    best = max(range(24), key=lambda start: (sum(hour_counts.get((start + i) % 24, 0) for i in range(width)),
                                             hour_counts.get(start, 0), -start))
    return best, sum(hour_counts.get((best + i) % 24, 0) for i in range(width)) / total


def peak_hours_label(peak: tuple[int, float] | None, width: int = 4) -> str:
    """
    >>> peak_hours_label((22, 0.9))
    '22:00–02:00 (90%)'
    """
    if peak is None:
        return ""
    start, share = peak
    return f"{start:02d}:00–{(start + width) % 24:02d}:00 ({share:.0%})"
