"""Extensions created once, bound to the app in the factory."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
# Counts are kept per process (memory://) unless RATELIMIT_STORAGE_URI names a shared store.
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://")
