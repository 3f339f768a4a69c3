"""Time the demo generator at benchmark scale, the hexagon API and the dashboard, against what an
analyst would otherwise do (geopandas, h3-py and a group-by).

Run through ./scripts/bench, which prepares DATABASE_URL (a database of its own). Requests go
through Flask's test client in this process: the figures are the app's own time (queries, GeoJSON,
folium) without a network hop or a WSGI server. The peak memory is this process's high-water mark
after serving every request and before the analyst's pipeline runs.
"""

import argparse
import gc
import os
import platform
import resource
import statistics
import time
from datetime import timedelta

import h3
from sqlalchemy import func, insert, select, text

from models.base import make_engine, make_session_factory
from models.codes import OrganisationKind
from models.demo import DemoSize, demo_loaded, synthetic_return, write_demo
from models.people import Organisation
from models.safeguarding import MissingEpisode, Placement
from models.security import act_for
from models.ssda903 import import_return
from models.times import LONDON, london_midnight, months_before
from models.upkeep import renew_data_versions
from webapp import create_app
from webapp.cli import ensure_demo_users
from webapp.data_cache import RESULTS

BENCH_SIZE = DemoSize(young_people=40_000, contexts=100_000, missing_episodes=1_000_000, months=24)
PASSWORD = "bench-only-password"
# Greater London, a county-sized box: the benchmark's episodes all lie inside it.
COUNTY_BBOX = "-0.60,51.20,0.45,51.80"
KEPT = ", kept"  # a case answered from memory, as a repeated question is while the data is unchanged


def london_boroughs(connection) -> tuple[str, ...]:
    codes = connection.execute(
        text("SELECT DISTINCT local_authority_code FROM postcodes WHERE local_authority_code LIKE 'E09%'")
    ).scalars()
    return tuple(sorted(codes))


def ensure_data(engine) -> None:
    with engine.begin() as connection:
        loaded = demo_loaded(connection)
    if not loaded:
        print(f"Writing {BENCH_SIZE.missing_episodes:,} episodes and {BENCH_SIZE.contexts:,} contexts "
              "(first run only)...", flush=True)
        started = time.perf_counter()
        with engine.begin() as connection:
            counts = write_demo(connection, seed=7, size=BENCH_SIZE, area=london_boroughs(connection))
        elapsed = time.perf_counter() - started
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        print(f"  {counts} in {elapsed:.0f} s ({counts['missing_episodes'] / elapsed:,.0f} episodes/s)", flush=True)
    with make_session_factory(engine)() as session, session.begin():
        ensure_demo_users(session, PASSWORD)


def summary(times: list[float], size: int) -> dict:
    times = sorted(times)
    return {
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "size": size,
    }


def timed(client, url: str, repeat: int, body: dict | None = None, before=None) -> dict:
    """GET ``url``, or POST ``body`` to it as JSON; ``before`` runs untimed before each request."""

    def ask():
        return client.post(url, json=body) if body is not None else client.get(url)

    response = ask()  # warm the connection pool and caches once
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        response = ask()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.data[:200])
    result = summary(times, len(response.data))
    result["body"] = response
    return result


def analyst_pipeline(url: str, since, until, resolution: int) -> dict[str, tuple[int, int]]:
    """What an analyst would do without the API: load the rows with geopandas, index each point
    with h3-py, group by cell. Returns {cell: (episodes, distinct young people)}."""
    import geopandas

    engine = make_engine(url)
    frame = geopandas.read_postgis(
        text("SELECT young_person_id, last_seen_location AS geom FROM missing_episodes "
             "WHERE started_at >= :since AND started_at < :until AND last_seen_location IS NOT NULL"),
        engine, geom_col="geom", params={"since": since, "until": until},
    )
    engine.dispose()
    frame["cell"] = [h3.latlng_to_cell(lat, lng, resolution) for lng, lat in zip(frame.geometry.x, frame.geometry.y)]
    grouped = frame.groupby("cell")["young_person_id"].agg(["size", "nunique"])
    # Clip to the study area as the API does: the hexagons whose centre lies in the box.
    min_lng, min_lat, max_lng, max_lat = map(float, COUNTY_BBOX.split(","))
    counts = {}
    for cell, row in grouped.iterrows():
        lat, lng = h3.cell_to_latlng(cell)
        if min_lat <= lat <= max_lat and min_lng <= lng <= max_lng:
            counts[cell] = (int(row["size"]), int(row["nunique"]))
    return counts


IMPORT_CHILDREN = 25_000  # with 4 placement episodes and 2 missing episodes each
IMPORT_AUTHORITY = "Bench import authority"


def analyse(url: str) -> None:
    """Fresh planner statistics. A bulk import rolled back leaves VACUUM estimating a table's rows
    from its dead ones (young_people at 130 rows of 40,000 was seen): the next import's foreign-key
    checks then scan the whole table for every row, and take minutes instead of seconds."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE young_people, placements, missing_episodes")
    engine.dispose()


def time_import(url: str, app_url: str) -> list[tuple[str, float, str]]:
    """Import a return of 100,000 episode rows into an authority with no data, then the same files
    again (every row unchanged): as the tables' owner (COPY) and as the app's role, as the import
    page runs (INSERTs of many rows, checked by the policies). Each in one transaction, rolled back,
    so the data set is left as it was; the authority stays, empty."""
    engine = make_engine(url)
    timings = []
    with engine.begin() as connection:
        files = synthetic_return(connection, IMPORT_CHILDREN)
        authority_id = connection.scalar(select(Organisation.id).where(Organisation.name == IMPORT_AUTHORITY))
        if authority_id is None:
            authority_id = connection.scalar(insert(Organisation).returning(Organisation.id).values(
                name=IMPORT_AUTHORITY, kind=OrganisationKind.LOCAL_AUTHORITY, local_authority_code="E09000001"))
    engine.dispose()
    rows = {name: content.count(b"\n") - 1 for name, (_, content) in files.items()}
    for role, role_url in (("owner", url), ("app's role", app_url)):
        analyse(url)
        engine = make_engine(role_url)
        with engine.connect() as connection:
            transaction = connection.begin()
            act_for(connection, authority_id)
            with make_session_factory(connection)() as session:
                authority = session.get(Organisation, authority_id)
                for what in ("first load", "same files again"):
                    started = time.perf_counter()
                    run = import_return(session, authority, files)
                    elapsed = time.perf_counter() - started
                    assert run.problem_count == 0, run.problems_csv[:500]
                    counts = ", ".join(f"{table} {c['created']:,} new/{c['unchanged']:,} same"
                                       for table, c in run.counts.items())
                    timings.append((f"SSDA903 import as the {role}, {what}", elapsed, counts))
            transaction.rollback()
        engine.dispose()
    analyse(url)
    print(f"\nSSDA903 import: {rows['Header']:,} Header, {rows['Episodes']:,} Episodes and {rows['Missing']:,} "
          "Missing rows, checked and written in one transaction (rolled back afterwards)")
    for name, elapsed, counts in timings:
        print(f"{name:<46} {elapsed:>10.1f} s   {counts}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--analyst-repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true",
                        help="write the benchmark data set again (./scripts/bench drops the database first)")
    arguments = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    engine = make_engine(url)
    ensure_data(engine)
    with engine.connect() as connection:
        episodes = connection.scalar(select(func.count()).select_from(MissingEpisode))
        # Children with a home postcode and contexts, by how many links they have: the one in the
        # middle (a typical check) and the most linked (the demo generator's extreme: over a
        # thousand links, sharing a context with most of London).
        linked = connection.execute(text(
            "SELECT y.reference, count(*) AS links FROM young_people y JOIN context_links l ON l.young_person_id = y.id "
            "WHERE y.home_postcode IS NOT NULL GROUP BY y.reference ORDER BY count(*), y.reference")).all()
        typical, busiest = linked[len(linked) // 2], linked[-1]
        newest = connection.scalar(select(func.max(MissingEpisode.started_at))).astimezone(LONDON).date()
        current_placements = connection.scalar(select(func.count()).select_from(Placement).where(Placement.ended_on.is_(None)))
    engine.dispose()

    writer = make_engine(url, isolation_level="AUTOCOMMIT")

    def new_episode_data_version():
        """As any write to missing episodes does (models.upkeep, one organisation at a time, as
        Citus needs): the check's cached hexagon counts are read again."""
        with writer.connect() as connection:
            for organisation_id in connection.scalars(select(Organisation.id).order_by(Organisation.id)):
                renew_data_versions(connection, organisation_id, ["missing_episodes"])

    # CSRF off for these in-process clients only: they sign in with a form post. The app serves as
    # its own role, under row-level security; a second app as the table owner, to measure that.
    config = {"SECRET_KEY": "bench", "DATABASE_URL": url, "WTF_CSRF_ENABLED": False}
    app = create_app({**config, "APP_DATABASE_URL": os.environ["APP_DATABASE_URL"]})
    owner_app = create_app({**config, "APP_DATABASE_URL": None})
    gc.freeze()  # as webapp.wsgi does for the real server
    clients = {}
    for name, served_by, username in (("panel", app, "panel"), ("owner", owner_app, "panel"), ("police", app, "police")):
        clients[name] = served_by.test_client()
        clients[name].post("/login", data={"username": username, "password": PASSWORD})
    # The panel's "last 12 months": the newest episode's month and the 11 before it, to date. The
    # same 12 months to the day start mid-month: a month of episodes is then read row by row.
    first = months_before(newest.replace(day=1), 11)
    window = f"from={first.isoformat()}"
    to_the_day = f"from={(newest - timedelta(days=364)).isoformat()}&to={newest.isoformat()}"
    hex_cases = {r: f"hex API, 12 months, county bbox, res {r}" for r in (7, 8, 9)}
    cases = [(name, f"/api/v1/hexes?res={r}&bbox={COUNTY_BBOX}&{window}") for r, name in hex_cases.items()]
    cases.append(("hex API, 365 days to the day, res 8", f"/api/v1/hexes?res=8&bbox={COUNTY_BBOX}&{to_the_day}"))
    cases.append(("hex API + Gi*, county bbox, res 8", f"/api/v1/hexes?res=8&gi=true&bbox={COUNTY_BBOX}&{window}"))
    cases.append(("hex API, night-time filter, res 8", f"/api/v1/hexes?res=8&hours=22-06&bbox={COUNTY_BBOX}&{window}"))
    cases.append(("dashboard page, 12 months, res 8", "/?period=12&res=8"))
    cases.append(("live map update, 12 months, res 8", "/hotspots.json?period=12&res=8"))
    cases.append(("hex API, 12 months, county bbox, res 8" + KEPT, f"/api/v1/hexes?res=8&bbox={COUNTY_BBOX}&{window}"))
    cases.append(("dashboard page, 12 months, res 8" + KEPT, "/?period=12&res=8"))
    owner_case = "hex API, res 8, as the owner: no row-level security"
    cases.append((owner_case, f"/api/v1/hexes?res=8&bbox={COUNTY_BBOX}&{window}"))
    # The shared map counts distinct young people per area from the episodes themselves.
    shared_cases = [(f"shared map API, 12 months, res {r}", f"/api/v1/shared/hexes?res={r}&{window}") for r in (6, 8, 10)]
    shared_cases.append(("shared map API, all time, res 8", "/api/v1/shared/hexes?res=8&period=all"))
    shared_cases.append(("shared map page (police), 12 months, res 8", f"/shared/?res=8&{window}"))
    # As it opens: it tries sizes until most young people are shown at one (webapp.shared.best_shared_map).
    shared_cases.append(("shared map page (police), as it opens", "/shared/"))
    cases += shared_cases

    print(f"\n{episodes:,} missing episodes; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; {arguments.repeat} requests each")
    header = f"{'case':<46} {'median ms':>10} {'p95 ms':>10} {'bytes':>12}"
    check = "/api/v1/placement-checks"
    bodies = {name: {"young_person": child.reference, "candidates": [{"location": c} for c in candidates]}
              for name, child, candidates in (
                  (f"placement check, 1 candidate ({typical.links} links)", typical, ["SE1 7PB"]),
                  (f"placement check, 3 candidates ({typical.links} links)", typical, ["SE1 7PB", "TN1 1AA", "E1 6AN"]),
                  (f"placement check, 1 candidate ({busiest.links:,} links)", busiest, ["SE1 7PB"]),
                  (f"placement check, 1 candidate, after a write ({typical.links} links)", typical, ["SE1 7PB"]))}
    cases += [(name, check) for name in bodies]
    report = f"placements report, {current_placements:,} placements"
    cases.append((report, "/placements/report"))
    cases.append((f"placements report CSV, {current_placements:,} placements", "/placements/report.csv"))
    print(header)
    results = {}
    peaks = {}
    for name, path in cases:
        if name.startswith("placement check") and "hotspots" not in peaks:
            peaks["hotspots"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # The report takes seconds: fewer runs of it.
        repeat = max(3, arguments.repeat // 4) if name.startswith("placements report") else arguments.repeat
        # Answers are kept in memory while the data is unchanged (webapp.data_cache): every case
        # is timed working its answer out, except the placement checks, whose hotspot field is kept
        # as in service (the "after a write" case times it read again), and the "kept" cases.
        if "after a write" in name:
            before = new_episode_data_version
        elif name.startswith("placement check") or name.endswith(KEPT):
            before = None
        else:
            before = RESULTS.clear
        client = clients["owner" if name == owner_case else "police" if (name, path) in shared_cases else "panel"]
        results[name] = timed(client, path, repeat, bodies.get(name), before)
        row = results[name]
        print(f"{name:<46} {row['median']:>10.1f} {row['p95']:>10.1f} {row['size']:>12,}", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the serving process: {peaks['hotspots']:,.0f} MB after the hotspot requests, "
          f"{peak_mb:,.0f} MB after the placement checks and reports")

    time_import(url, os.environ["APP_DATABASE_URL"])

    print(f"\nanalyst's pipeline (geopandas + h3-py + group-by), {arguments.analyst_repeat} runs each")
    print(f"{'resolution':<12} {'median ms':>10} {'p95 ms':>10} {'API median':>11} {'API faster':>11}")
    since, until = london_midnight(first), london_midnight(newest + timedelta(days=1))  # to date
    for resolution, name in hex_cases.items():
        times = []
        for _ in range(arguments.analyst_repeat):
            started = time.perf_counter()
            counted = analyst_pipeline(url, since, until, resolution)
            times.append((time.perf_counter() - started) * 1000)
        features = results[name]["body"].get_json()["features"]
        served = {f["properties"]["h3"]: (f["properties"]["episodes"], f["properties"]["young_people"]) for f in features}
        assert served == counted, f"the API and the analyst disagree at resolution {resolution}"
        analyst = summary(times, 0)
        api = results[name]["median"]
        print(f"{resolution:<12} {analyst['median']:>10.0f} {analyst['p95']:>10.0f} {api:>11.1f} "
              f"{analyst['median'] / api:>10.0f}x")


if __name__ == "__main__":
    main()
