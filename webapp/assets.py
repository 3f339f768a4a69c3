"""Static files under names that carry a hash of their content (``css/app.3f2a9c1b12ab.css``):
``url_for("static", ...)`` writes such names, and a request for one is answered with the file and
leave to keep it for a year, so browsers and proxies ask again only when the file has changed.

Files a stylesheet reaches by a relative address (Leaflet's marker images, Font Awesome's fonts)
keep their own names and may be kept for an hour. A name whose hash is not the file's (a page
from before a release) is a 404, never another version of the file.
"""

import hashlib
import re
from pathlib import Path
from threading import Lock

from flask import Flask, abort, current_app, send_from_directory

FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)?$")
A_YEAR = 365 * 24 * 3600
AN_HOUR = 3600


class Digests:
    """Each static file's content hash, worked out again when the file changes."""

    def __init__(self, folder: Path):
        self._folder = folder
        self._known: dict[str, tuple[int, str]] = {}
        self._lock = Lock()

    def of(self, filename: str) -> str | None:
        path = (self._folder / filename).resolve()
        if not path.is_relative_to(self._folder) or not path.is_file():
            return None
        changed = path.stat().st_mtime_ns
        with self._lock:
            known = self._known.get(filename)
        if known is None or known[0] != changed:
            known = (changed, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
            with self._lock:
                self._known[filename] = known
        return known[1]


def fingerprinted(filename: str, digest: str) -> str:
    """
    >>> fingerprinted("css/app.css", "3f2a9c1b12ab")
    'css/app.3f2a9c1b12ab.css'
    >>> fingerprinted("vendor/LICENSE", "3f2a9c1b12ab")
    'vendor/LICENSE.3f2a9c1b12ab'
    """
    folder, _, name = filename.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    named = f"{stem}.{digest}.{suffix}" if dot and stem else f"{name}.{digest}"
    return f"{folder}/{named}" if folder else named


def init_app(app: Flask) -> None:
    app.extensions["static_digests"] = Digests(Path(app.static_folder).resolve())
    app.url_defaults(_add_digest)
    app.view_functions["static"] = _serve


def _add_digest(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values:
        digest = current_app.extensions["static_digests"].of(values["filename"])
        if digest is not None:
            values["filename"] = fingerprinted(values["filename"], digest)


def _serve(filename: str):
    digests = current_app.extensions["static_digests"]
    match = FINGERPRINTED.match(filename)
    if match is not None:
        original = match["stem"] + (match["suffix"] or "")
        if digests.of(original) == match["digest"]:
            response = send_from_directory(current_app.static_folder, original, max_age=A_YEAR)
            response.cache_control.immutable = True
            return response
        if digests.of(original) is not None:
            abort(404, description="That version of the file is gone: reload the page.")
    return send_from_directory(current_app.static_folder, filename, max_age=AN_HOUR)
