"""./scripts/flask: the app's command line on the database DATABASE_URL names."""

import os
import subprocess
from pathlib import Path

from models.distribution import PLAN

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_line_runs_on_the_named_database(database_url):
    result = subprocess.run([str(ROOT / "scripts" / "flask"), "distribution-plan"], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.split("\n\n")[0].splitlines()] == sorted(
        PLAN, key=lambda table: (list(type(PLAN[table])).index(PLAN[table]), table))
