"""The migrations build exactly the schema the models describe: a model changed without its
migration (or a migration written by hand that drifts from its model) fails here."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from models.base import ours_to_migrate


def test_the_migrated_database_matches_the_models(connection):
    context = MigrationContext.configure(connection, opts={"include_object": ours_to_migrate})
    assert compare_metadata(context, models.Base.metadata) == []
