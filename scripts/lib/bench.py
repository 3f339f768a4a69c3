"""Time the demo generator at benchmark scale, the hexagon API and the dashboard.

Run through ./scripts/bench, which prepares DATABASE_URL (a database of its own). Requests go
through Flask's test client in this process: the figures are the app's own time (queries, GeoJSON,
folium) without a network hop or a WSGI server.
"""

import argparse
import os
import platform
import statistics
import time
from datetime import timedelta

from sqlalchemy import func, select, text

from models.base import make_engine, make_session_factory
from models.demo import DemoSize, demo_loaded, write_demo
from models.safeguarding import MissingEpisode
from models.times import LONDON
from webapp import create_app
from webapp.cli import ensure_demo_users

BENCH_SIZE = DemoSize(young_people=40_000, contexts=100_000, missing_episodes=1_000_000, months=24)
PASSWORD = "bench-only-password"


def london_boroughs(connection) -> tuple[str, ...]:
    codes = connection.execute(
        text("SELECT DISTINCT local_authority_code FROM postcodes WHERE local_authority_code LIKE 'E09%'")
    ).scalars()
    return tuple(sorted(codes))


def ensure_data(engine, rebuild: bool) -> None:
    with engine.begin() as connection:
        if rebuild:
            connection.execute(text(
                "TRUNCATE missing_episodes, placements, context_links, young_people, contexts, users, organisations"
            ))
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


def timed(client, url: str, repeat: int) -> dict:
    client.get(url)  # warm the connection pool and caches once
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.data)
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "size": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true", help="write the benchmark data set again")
    arguments = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    engine = make_engine(url)
    ensure_data(engine, arguments.rebuild)
    with engine.connect() as connection:
        episodes = connection.scalar(select(func.count()).select_from(MissingEpisode))
        newest = connection.scalar(select(func.max(MissingEpisode.started_at))).astimezone(LONDON).date()
    engine.dispose()

    # CSRF off for this in-process client only: it signs in with a form post.
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/login", data={"username": "panel", "password": PASSWORD})
    window = f"from={(newest - timedelta(days=365)).isoformat()}&to={newest.isoformat()}"
    cases = [(f"hex API, 12 months, res {r}", f"/api/v1/hexes?res={r}&{window}") for r in (7, 8, 9)]
    london = "bbox=-0.51,51.28,0.34,51.70"
    cases.append(("hex API + Gi*, London bbox, res 8", f"/api/v1/hexes?res=8&gi=true&{london}&{window}"))
    cases.append(("dashboard page, 12 months, res 8", "/?period=12&res=8"))

    print(f"\n{episodes:,} missing episodes; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; {arguments.repeat} requests each")
    print(f"{'case':<36} {'median ms':>10} {'p95 ms':>10} {'bytes':>12}")
    for name, path in cases:
        result = timed(client, path, arguments.repeat)
        print(f"{name:<36} {result['median']:>10.1f} {result['p95']:>10.1f} {result['size']:>12,}")


if __name__ == "__main__":
    main()
