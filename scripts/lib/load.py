"""Load test: signed-in users at once against a real gunicorn server on loopback, on the
benchmark's 1,000,000-episode data set, each mixing the dashboard, the hex API, placement checks
and context pages with a person's pause between requests; optionally with PostgreSQL stopped and
started again in the middle. Prints requests per second, median and 95th percentile latency and
errors per endpoint, and what happened around the outage. Nothing here is asserted.

Run through ./scripts/load, which prepares the benchmark database as ./scripts/bench does and
passes the cluster's pg_ctl for the outage. The load generator runs on the same machine as the
server and the database, so all three share its cores: the figures are a floor, not a ceiling.
"""

import argparse
import os
import platform
import random
import re
import shlex
import statistics
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
from bench import COUNTY_BBOX, PASSWORD, ensure_data
from sqlalchemy import func, select, text

from models.base import make_engine
from models.safeguarding import Context, MissingEpisode
from models.times import LONDON, months_before

ROOT = Path(__file__).resolve().parents[2]
USERNAMES = ("panel", "social.worker", "commissioner", "admin")  # roles that see the whole dashboard
# Endpoint: share of requests. A panel member mostly pans the map; commissioners check placements.
MIX = {"hex API": 40, "context page": 25, "placement check": 20, "dashboard page": 15}
CANDIDATES = ("SE1 7PB", "TN1 1AA", "E1 6AN", "NW1 2DB", "W6 9LP", "CR0 2AE", "HA1 2HF", "RM1 3BD")
REQUEST_TIMEOUT = 60
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@dataclass
class Answer:
    endpoint: str
    at: float  # seconds since the load began, when the request was sent
    seconds: float
    status: int | str  # an HTTP status, or what went wrong before one came back


@dataclass
class Recorder:
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match[1] or match[2]


def sign_in(base: str, username: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    token = csrf_token(session.get(f"{base}/login", timeout=REQUEST_TIMEOUT).text)
    signed = session.post(f"{base}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                          timeout=REQUEST_TIMEOUT, allow_redirects=False)
    if signed.status_code != 302:
        raise RuntimeError(f"{username} could not sign in: {signed.status_code}")
    # The token a form on a signed-in page carries, for the placement check's JSON posts.
    return session, csrf_token(session.get(f"{base}/contexts/new", timeout=REQUEST_TIMEOUT).text)


def requests_of(window: str, contexts: list[int], children: list[str]):
    """Each endpoint's next request, drawn with a user's own random generator."""
    return {
        "hex API": lambda rng: ("GET", f"/api/v1/hexes?res={rng.choice((7, 8, 8, 9))}&bbox={COUNTY_BBOX}&{window}", None),
        "context page": lambda rng: ("GET", f"/contexts/{rng.choice(contexts)}", None),
        "placement check": lambda rng: ("POST", "/api/v1/placement-checks", {
            "young_person": rng.choice(children), "candidates": [{"location": rng.choice(CANDIDATES)}]}),
        "dashboard page": lambda rng: ("GET", "/?period=12&res=8", None),
    }


def user(number: int, base: str, began: float, stop_at: float, think: tuple[float, float], recorder: Recorder,
         make_request) -> None:
    rng = random.Random(number)
    session, token = sign_in(base, USERNAMES[number % len(USERNAMES)])
    time.sleep(rng.uniform(0, think[1]))  # arrive over a few seconds, not all at once
    names, weights = list(MIX), list(MIX.values())
    while time.monotonic() < stop_at:
        name = rng.choices(names, weights)[0]
        method, path, body = make_request[name](rng)
        sent = time.monotonic()
        try:
            response = session.request(method, base + path, json=body, timeout=REQUEST_TIMEOUT,
                                        headers={"X-CSRFToken": token} if body else None)
            status = response.status_code
        except requests.Timeout:
            status = "timeout"
        except requests.ConnectionError as error:  # refused, reset or closed before an answer
            status = type(error.args[0]).__name__ if error.args else "connection error"
            with recorder.lock:
                recorder.errors.append(f"{name}: {error}")
        recorder.add(Answer(name, sent - began, time.monotonic() - sent, status))
        time.sleep(rng.uniform(*think))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def table(answers: list[Answer], seconds: float, title: str) -> None:
    print(f"\n{title}")
    print(f"{'endpoint':<18} {'requests':>9} {'req/s':>7} {'median ms':>10} {'p95 ms':>8} {'errors':>7}  statuses")
    by_endpoint = defaultdict(list)
    for answer in answers:
        by_endpoint[answer.endpoint].append(answer)
    for name in [*MIX, "all"]:
        rows = answers if name == "all" else by_endpoint.get(name, [])
        if not rows:
            continue
        times = [answer.seconds * 1000 for answer in rows]
        errors = sum(1 for answer in rows if answer.status != 200)
        statuses = ", ".join(f"{status}: {count}" for status, count in Counter(a.status for a in rows).most_common())
        print(f"{name:<18} {len(rows):>9,} {len(rows) / seconds:>7.1f} {statistics.median(times):>10.0f} "
              f"{percentile(times, 0.95):>8.0f} {errors:>7}  {statuses}")


def serve(port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    environment = {**os.environ, "SECRET_KEY": "load-test-only", "SIGN_IN_RATE_LIMIT": "100000 per minute",
                   "TILE_URL": "", "DB_POOL_SIZE": str(threads)}
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--workers", str(workers), "--threads", str(threads),
         # Keep-alive longer than a user's pause, as a browser's connection outlives a page's reading.
         "--bind", f"127.0.0.1:{port}", "--timeout", "90", "--keep-alive", "30", "--no-control-socket",
         "webapp.wsgi:app"],
        cwd=ROOT, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):  # still starting its workers
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not start: see {log}")
        time.sleep(0.5)


def outage(pg_ctl: list[str], began: float, at: float, lasting: float, marks: dict) -> None:
    """Stop PostgreSQL ``at`` seconds into the load and start it again ``lasting`` seconds later."""
    time.sleep(max(0.0, began + at - time.monotonic()))
    marks["stopping"] = time.monotonic() - began
    subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], check=True, capture_output=True)
    marks["stopped"] = time.monotonic() - began
    time.sleep(lasting)
    marks["starting"] = time.monotonic() - began
    subprocess.run([*pg_ctl, "-w", "start"], check=True, capture_output=True)
    marks["started"] = time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120, help="how long the load is measured")
    parser.add_argument("--warmup", type=float, default=15,
                        help="seconds of load before the measured part, while each worker's first requests warm it")
    parser.add_argument("--think", default="1-3", help="seconds each user waits between requests, low-high")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--outage", metavar="AT:SECONDS",
                        help="stop PostgreSQL AT seconds into the load for SECONDS, then start it again")
    arguments = parser.parse_args()
    think = tuple(float(part) for part in arguments.think.split("-"))

    engine = make_engine(os.environ["DATABASE_URL"])
    ensure_data(engine)
    with engine.connect() as connection:
        newest = connection.scalar(select(func.max(MissingEpisode.started_at))).astimezone(LONDON).date()
        contexts = list(connection.scalars(select(Context.id).where(Context.geometry.is_not(None))
                                           .order_by(func.random()).limit(500)))
        children = list(connection.scalars(text(
            "SELECT reference FROM young_people WHERE home_postcode IS NOT NULL ORDER BY random() LIMIT 500")))
        episodes = connection.scalar(select(func.count()).select_from(MissingEpisode))
    engine.dispose()
    window = f"from={months_before(newest.replace(day=1), 11).isoformat()}&to={newest.isoformat()}"

    log = ROOT / "var" / "load-server.log"
    server = serve(arguments.port, arguments.workers, arguments.threads, log)
    base = f"http://127.0.0.1:{arguments.port}"
    recorder, marks = Recorder(), {}
    try:
        # The clock starts after the warm-up: requests sent before it are not counted.
        began = time.monotonic() + arguments.warmup
        stop_at = began + arguments.seconds
        make_request = requests_of(window, contexts, children)
        users = [threading.Thread(target=user, args=(n, base, began, stop_at, think, recorder, make_request), daemon=True)
                 for n in range(arguments.users)]
        if arguments.outage:
            at, lasting = (float(part) for part in arguments.outage.split(":"))
            users.append(threading.Thread(target=outage, daemon=True, args=(
                shlex.split(os.environ["CSMAP_PG_CTL"]), began, at, lasting, marks)))
        for thread in users:
            thread.start()
        for thread in users:
            thread.join(timeout=arguments.seconds + REQUEST_TIMEOUT + 60)
        elapsed = time.monotonic() - began
    finally:
        server.terminate()
        server.wait(timeout=30)

    answers = [answer for answer in recorder.answers if answer.at >= 0]
    print(f"\n{episodes:,} missing episodes; {arguments.users} signed-in users for {arguments.seconds:.0f} s after "
          f"{arguments.warmup:.0f} s of warm-up, each "
          f"waiting {think[0]:g}-{think[1]:g} s between requests; gunicorn {arguments.workers} workers x "
          f"{arguments.threads} threads on 127.0.0.1; {platform.machine()}, {os.cpu_count()} cores shared by the "
          f"server, PostgreSQL and the load generator")
    for message, count in Counter(recorder.errors).most_common(3):
        print(f"  {count} x {message[:200]}")
    if not marks:
        table(answers, elapsed, "All requests")
        return
    stopping, started = marks["stopping"], marks["started"]
    table([a for a in answers if a.at < stopping], stopping, f"Before the outage (0 to {stopping:.0f} s)")
    during = [a for a in answers if stopping <= a.at < started]
    table(during, started - stopping,
          f"PostgreSQL stopping, stopped and starting ({stopping:.0f} to {started:.0f} s; stopped at "
          f"{marks['stopped']:.1f} s, start begun at {marks['starting']:.1f} s)")
    after = [a for a in answers if a.at >= started]
    table(after, elapsed - started, f"After PostgreSQL was back ({started:.0f} s to the end)")
    first_good = min((a.at + a.seconds for a in after if a.status == 200), default=None)
    last_bad = max((a.at + a.seconds for a in after if a.status != 200), default=None)
    print(f"\nslowest answer during the outage: {max((a.seconds for a in during), default=0) * 1000:,.0f} ms; "
          f"first success {first_good - started:.2f} s after PostgreSQL was back" if first_good is not None else
          "no success after PostgreSQL was back")
    print("last failure after it was back: " + (f"{last_bad - started:.2f} s after" if last_bad is not None else "none"))


if __name__ == "__main__":
    main()
