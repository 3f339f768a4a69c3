"""What a database holds, to compare before and after: each table of the schema's own (not
PostGIS's spatial_ref_sys) with its row count and an order-free sum of its rows' hashes."""

from sqlalchemy import Connection, text

OWN_TABLES = """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') ORDER BY 1"""


def table_fingerprints(connection: Connection) -> dict[str, tuple[int, int]]:
    """{table: (rows, sum of the rows' hashes)}, read as the connection's role (the owner sees every row)."""
    return {table: tuple(connection.execute(text(
        f'SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM "{table}" t')).one())
        for table in connection.scalars(text(OWN_TABLES))}
