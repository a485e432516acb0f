"""The benchmark still starts and prints its table (tiny sizes, 2-second runs, SQLite).

It needs Debian's wrk (`make test` installs it): a missing wrk fails here, it does not skip.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.run import ROWS

ROOT = Path(__file__).resolve().parents[1]


def test_wrk_is_installed():
    assert shutil.which("wrk"), "wrk is missing: `make test` installs it (apt-get install wrk)"


def test_quick_benchmark_prints_every_row(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "PETITION_ENV", "SERVER_NAME", "WEB_CONCURRENCY"}
    }
    env["TMPDIR"] = str(tmp_path)
    figures = tmp_path / "figures.json"
    result = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-m", "bench.run", "--quick", "--json", str(figures)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Database: SQLite" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    names = [row.split("|")[1].strip() for row in rows[1:]]
    assert names == list(ROWS)
    for row in rows[1:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 6
        assert "pending" not in cells[1], row  # the import command exists: bulk is measured
    # Signatures went through the real form and were stored with their mail.
    assert "stored" in result.stderr and "mails queued" in result.stderr
    assert figures.exists()
    # It cleaned up its scratch directory.
    assert not list(tmp_path.glob("petition-bench-*"))
