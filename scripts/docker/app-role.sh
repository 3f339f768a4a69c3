#!/bin/sh
# Run once by the postgis image on its first start (/docker-entrypoint-initdb.d): the web app's own
# role, which owns nothing and is held to row-level security (models/security.py).
set -e
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
  -c "CREATE ROLE csmap_app LOGIN PASSWORD '${APP_DB_PASSWORD:?}' NOSUPERUSER NOBYPASSRLS"
