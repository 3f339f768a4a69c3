"""The app's database connections: settings measured on the benchmark data stay applied."""

from sqlalchemy import text


def test_app_connections_plan_each_query_for_its_own_parameters(app):
    # A generic plan for a prepared statement cannot see how many hexagons an array holds.
    with app.extensions["db_engine"].connect() as connection:
        for _ in range(7):  # past psycopg's five runs before it prepares a statement
            mode = connection.execute(text("SELECT current_setting('plan_cache_mode')")).scalar()
        assert (mode, connection.execute(text("SHOW jit")).scalar()) == ("force_custom_plan", "off")
