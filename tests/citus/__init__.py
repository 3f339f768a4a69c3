"""The route-and-write walk on a Citus cluster (tests/walk.py), deployed by
models.distribution.deploy onto the coordinator database that CITUS_URL names."""

import os

CITUS_URL = os.environ.get("CITUS_URL")
SKIP_REASON = ("set CITUS_URL=postgresql+psycopg://postgres@coordinator:5432/csmap_citus, a superuser connection to "
               "a Citus 12+ coordinator with its workers added; the tests empty that database")
