"""The schema (SQLAlchemy 2.0 typed models with PostGIS columns) and the queries over it.

Query builders return ``Select`` objects; callers run them and own the transaction.
"""

from models.aggregates import EpisodeDataVersion, EpisodeHexMonth
from models.base import Base
from models.geography import LocalAuthority, Postcode
from models.imports import ImportRun
from models.people import Organisation, User
from models.safeguarding import Context, ContextLink, MissingEpisode, Placement, YoungPerson

__all__ = [
    "Base",
    "Context",
    "ContextLink",
    "EpisodeDataVersion",
    "EpisodeHexMonth",
    "ImportRun",
    "LocalAuthority",
    "MissingEpisode",
    "Organisation",
    "Placement",
    "Postcode",
    "User",
    "YoungPerson",
]
