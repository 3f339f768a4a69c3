"""API tokens for partners' GIS tools (QGIS reading GeoJSON, for example). An administrator issues
one to a user, with an expiry; it carries that user's role. Only a SHA-256 hash is stored: the
token is shown once, when issued. Tokens are 256 random bits, so a fast hash is enough (a slow
password hash protects guessable secrets, which these are not)."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, utcnow
from models.people import User

TOKEN_PREFIX = "csm_"
MAX_DAYS = 366
# "Last used" tells an administrator whether a token is still needed: to the minute is enough, and
# a GIS tool paging through a layer then writes no row for each page it asks for.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # what it is for, e.g. "QGIS, analysts' team"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    def active_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and moment < self.expires_at

    def note_use(self, moment: datetime) -> bool:
        """Record a use at ``moment`` unless the last one recorded is within LAST_USED_PRECISION
        of it; returns whether anything changed."""
        if self.last_used_at is not None and moment - self.last_used_at < LAST_USED_PRECISION:
            return False
        self.last_used_at = moment
        return True


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, name: str, days: int, issued_by: User) -> tuple[ApiToken, str]:
    """Add a token for ``user`` expiring in ``days``; returns it and the secret, shown only once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user_id=user.id, name=name, token_hash=token_hash(secret), hint=secret[:10],
                     created_at=now, created_by_id=issued_by.id, expires_at=now + timedelta(days=days))
    session.add(token)
    return token, secret


def token_named(session: Session, secret: str) -> ApiToken | None:
    """The token with this secret, whether or not it is still active."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
