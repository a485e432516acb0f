"""One path of the benchmark in a loop, in-process, to be profiled with py-spy.

    .venv/bin/py-spy record --format raw -o sign.txt -- .venv/bin/python -m bench.profile sign
    .venv/bin/python -m bench.profile summary sign.txt [TEXT]  # time by function [under TEXT]

Paths: sign (the form's POST), page (the call page), export (the CSV stream), import
(the CSV import). SQLite in a temporary directory, filled with ROWS signatures.
"""

import collections
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.run import CALL, IMPORTED, fill, prepare, scratch_app, write_import_file

ROWS = int(os.environ.get("ROWS", "100000"))
SECONDS = float(os.environ.get("SECONDS", "20"))
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def expect(response, status: int) -> None:
    """Stop at the first unexpected answer: a profile of error pages is worth nothing."""
    if response.status_code != status:
        raise RuntimeError(f"{response.status_code} instead of {status}")


def loop(path: str) -> None:
    """Run one path for SECONDS."""
    workdir = tempfile.mkdtemp(prefix="petition-profile-")
    url = f"sqlite:///{workdir}/profile.sqlite3"
    app = scratch_app(url, MIN_FORM_SECONDS=0, RATELIMIT_ENABLED=False, MAIL_SEND_INLINE=False)
    ids = prepare(app)
    fill(app, ids[CALL], 0, ROWS)
    client = app.test_client()
    stop = time.monotonic() + SECONDS
    done = 0
    if path == "sign":
        token = CSRF.search(client.get(f"/p/{CALL}/sign").text).group(1)
        while time.monotonic() < stop:
            form = {
                "full_name": "Bench Signer",
                "email": f"p{done}@example.org",
                "city": "Calais",
                "country": "FR",
                "consent": "y",
                "csrf_token": token,
            }
            expect(client.post(f"/p/{CALL}/sign", data=form), 302)
            done += 1
    elif path == "page":
        while time.monotonic() < stop:
            expect(client.get(f"/p/{CALL}"), 200)
            done += 1
    elif path == "export":
        from petition.exports import ExportFilters, export_csv
        from petition.extensions import db
        from petition.models import Petition

        with app.app_context():
            petition = db.session.get(Petition, ids[CALL])
            query = ExportFilters(who="individuals", status="all").query(petition)
            while time.monotonic() < stop:
                for chunk in export_csv(query, "individuals"):
                    done += chunk.count(b"\n")
    elif path == "import":
        from petition import imports
        from petition.extensions import db
        from petition.models import Petition, SignatureSource

        csv_path = Path(workdir) / "import.csv"
        write_import_file(csv_path, ROWS)
        with app.app_context(), open(csv_path, "rb") as binary:
            petition = db.session.get(Petition, ids[IMPORTED])
            csv_file = imports.open_csv(binary)
            report = imports.import_signatures(
                petition,
                csv_file.text,
                mapping={},
                source=SignatureSource.IMPORT,
                keep_valid=False,
                dry_run=False,
                filename="import.csv",
                encoding=csv_file.encoding,
                sha256=csv_file.sha256,
            )
            db.session.commit()
            done = report.stored
    print(f"{path}: {done} in {SECONDS:.0f} s", file=sys.stderr)
    shutil.rmtree(workdir, ignore_errors=True)


def summary(raw: str, within: str = "", top: int = 30) -> None:
    """Inclusive and own sample shares by function, from py-spy's raw (collapsed) output.

    `within`: only the samples whose stack holds this text (a view, say), as 100 %.
    """
    inclusive, own = collections.Counter(), collections.Counter()
    total = 0
    with open(raw, encoding="utf-8") as file:
        for line in file:
            stack, _, count = line.rstrip().rpartition(" ")
            if within not in stack:
                continue
            n = int(count)
            total += n
            frames = [
                re.sub(r" \(/.*?([^/]+/[^/]+\.py):\d+\)", r" (\1)", f) for f in stack.split(";")
            ]
            for frame in set(frames):
                inclusive[frame] += n
            own[frames[-1]] += n
    print(f"{total} samples")
    print("inclusive:")
    for frame, n in inclusive.most_common(top):
        print(f"  {n / total:6.1%}  {frame}")
    print("own:")
    for frame, n in own.most_common(top):
        print(f"  {n / total:6.1%}  {frame}")


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        summary(*sys.argv[2:4])
    else:
        loop(sys.argv[1])
