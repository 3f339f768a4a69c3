"""The schema (SQLAlchemy 2.0 typed models with PostGIS columns) and the queries over it.

Query builders return ``Select`` objects; callers run them and own the transaction.
"""

import models.contexts  # noqa: F401  (registers the soft-deletion filter on every session)
import models.links  # noqa: F401  (and the one for removed links)
import models.upkeep  # noqa: F401  (and the totals and tokens kept after each flush)
from models.aggregates import EpisodeDataVersion, EpisodeHexMonth, OrganisationDataVersion
from models.audit import AuditEvent
from models.base import Base
from models.geography import LocalAuthority, Postcode
from models.imports import ImportRun
from models.inbox import ContextRead
from models.people import Organisation, OrganisationSharing, User
from models.safeguarding import (
    CaseNote,
    CaseRecord,
    ChildMeeting,
    Context,
    ContextChange,
    ContextLink,
    MissingEpisode,
    Placement,
    YoungPerson,
)
from models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "CaseNote",
    "CaseRecord",
    "ChildMeeting",
    "Context",
    "ContextChange",
    "ContextLink",
    "ContextRead",
    "EpisodeDataVersion",
    "OrganisationDataVersion",
    "EpisodeHexMonth",
    "ImportRun",
    "LocalAuthority",
    "MissingEpisode",
    "Organisation",
    "OrganisationSharing",
    "Placement",
    "Postcode",
    "User",
    "YoungPerson",
]
