"""Reference geography: every UK postcode from the ONS Postcode Directory, and local authorities."""

from geoalchemy2 import Geometry
from sqlalchemy import Float, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Postcode(Base):
    """One ONSPD postcode. ``easting``/``northing`` are as published: British National Grid in Great
    Britain, Irish Grid in Northern Ireland (``grid_srid`` says which); ``location`` is WGS 84.
    Postcodes the directory gives no grid reference have no location."""

    __tablename__ = "postcodes"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)  # "SW5 0AA"
    easting: Mapped[float | None] = mapped_column(Float)
    northing: Mapped[float | None] = mapped_column(Float)
    grid_srid: Mapped[int | None] = mapped_column(SmallInteger)
    local_authority_code: Mapped[str | None] = mapped_column(String(9), index=True)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)


class LocalAuthority(Base):
    """Lower-tier local authority districts with their upper-tier authority."""

    __tablename__ = "local_authorities"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    upper_tier_code: Mapped[str] = mapped_column(String(9))
    upper_tier_name: Mapped[str] = mapped_column(String(120))
