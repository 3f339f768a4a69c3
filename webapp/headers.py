"""Security headers on every answer: a strict Content Security Policy (possible because every
script, style and font is served by the app itself), no framing, no sniffing, and no caching of
anything but static files. Inline scripts (folium's map code) run only with the request's nonce."""

import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_add_headers)


def csp_nonce() -> str:
    """This request's nonce for inline scripts: ``<script nonce="{{ csp_nonce() }}">``."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _tile_source(tile_url: str) -> str:
    """The basemap's origin as a CSP source: ``https://{s}.tiles.example.org/{z}/...`` gives
    ``https://*.tiles.example.org``.

    >>> _tile_source("https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    'https://*.tiles.example.org'
    >>> _tile_source("")
    ''
    """
    if not tile_url:
        return ""
    parts = urlsplit(tile_url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy() -> str:
    images = " ".join(filter(None, ["'self'", "data:", _tile_source(current_app.config["TILE_URL"])]))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{csp_nonce()}'",
        # Leaflet and folium position map panes with style attributes.
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _add_headers(response):
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "geolocation=(), camera=(), microphone=()"
    if request.endpoint != "static":
        # Pages and data about children must not stay in a shared computer's cache.
        response.headers["Cache-Control"] = "no-store"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response
