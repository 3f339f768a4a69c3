"""Settings, read from the environment (see the README for each)."""

import os


def from_environment() -> dict:
    env = os.environ
    return {
        "SECRET_KEY": env.get("SECRET_KEY"),
        "DATABASE_URL": env.get("DATABASE_URL"),
        # The web app's own connection, as a role that owns nothing (see the README); without it
        # the app connects as DATABASE_URL's owner, which row-level security does not restrict.
        "APP_DATABASE_URL": env.get("APP_DATABASE_URL"),
        # The basemap. Empty means no tiles: hexagons, markers and the table still work.
        "TILE_URL": env.get("TILE_URL", ""),
        "TILE_ATTRIBUTION": env.get("TILE_ATTRIBUTION", ""),
        # Connections each worker process keeps, and how many more it may open at a busy moment:
        # workers x (pool + overflow) must stay under PostgreSQL's max_connections (100 by default).
        "DB_POOL_SIZE": int(env.get("DB_POOL_SIZE", "5")),
        "DB_MAX_OVERFLOW": int(env.get("DB_MAX_OVERFLOW", "5")),
        "DB_CONNECT_TIMEOUT": int(env.get("DB_CONNECT_TIMEOUT", "5")),
        # No statement of a request runs longer (seconds): a slow query is a 503, not a hung worker.
        "DB_STATEMENT_TIMEOUT": int(env.get("DB_STATEMENT_TIMEOUT", "30")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Set SESSION_COOKIE_SECURE=1 behind HTTPS.
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        # A session ends after this long without a request, and SESSION_MAX_HOURS after sign-in.
        "PERMANENT_SESSION_LIFETIME": 60 * int(env.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": float(env.get("SESSION_MAX_HOURS", "8")),
        # Proxies in front of the app that set X-Forwarded-For and -Proto: the client's address,
        # which the sign-in limits count by, is then read from them. 0 trusts no such header.
        "PROXY_HOPS": int(env.get("PROXY_HOPS", "0")),
        # Sign-in: attempts per address, and the lock-out of a name at an address after failures in a row.
        "SIGN_IN_RATE_LIMIT": env.get("SIGN_IN_RATE_LIMIT", "10 per minute"),
        "SIGN_IN_LOCK_AFTER": int(env.get("SIGN_IN_LOCK_AFTER", "5")),
        "SIGN_IN_LOCK_MINUTES": int(env.get("SIGN_IN_LOCK_MINUTES", "15")),
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Placement checks: "within easy reach" of the home postcode, and "near" other places.
        "PLACEMENT_EASY_REACH_MILES": float(env.get("PLACEMENT_EASY_REACH_MILES", "20")),
        "PLACEMENT_NEAR_MILES": float(env.get("PLACEMENT_NEAR_MILES", "1")),
        # The shared partner map (docs/security.md): an area is shown only when more than
        # DISCLOSURE_THRESHOLD young people match (the DfE rule suppresses 1 to 5), and not always
        # then: the threshold is perturbed by up to DISCLOSURE_THRESHOLD_NOISE. Figures are perturbed
        # by up to DISCLOSURE_NOISE (the cell key method) and rounded to DISCLOSURE_ROUNDING.
        # DISCLOSURE_KEY draws each young person's record keys: set it once and keep it (a new key
        # draws new perturbations, and answers under both could be averaged); unset, it comes from
        # SECRET_KEY.
        "DISCLOSURE_THRESHOLD": int(env.get("DISCLOSURE_THRESHOLD", "5")),
        "DISCLOSURE_THRESHOLD_NOISE": int(env.get("DISCLOSURE_THRESHOLD_NOISE", "2")),
        "DISCLOSURE_NOISE": int(env.get("DISCLOSURE_NOISE", "2")),
        "DISCLOSURE_ROUNDING": int(env.get("DISCLOSURE_ROUNDING", "5")),
        "DISCLOSURE_KEY": env.get("DISCLOSURE_KEY"),
    }


def check(config) -> None:
    for name in ("SECRET_KEY", "DATABASE_URL"):
        if not config.get(name):
            raise RuntimeError(f"{name} is not set (./scripts/run sets both for the local set-up)")
    # With either noise below 2 the attacker's suite pins counts of 1 to the threshold by putting
    # answers together (docs/security.md).
    threshold, threshold_noise, noise, base = (config[f"DISCLOSURE_{name}"] for name in (
        "THRESHOLD", "THRESHOLD_NOISE", "NOISE", "ROUNDING"))
    if threshold < 1 or base < 1 or noise < 2 or threshold_noise < 2:
        raise RuntimeError("DISCLOSURE_THRESHOLD and DISCLOSURE_ROUNDING must be at least 1, and DISCLOSURE_NOISE and "
                           f"DISCLOSURE_THRESHOLD_NOISE at least 2, not {threshold}, {base}, {noise} and {threshold_noise}")
