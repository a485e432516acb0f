"""Every page is valid HTML: the Nu Html Checker (vnu.jar, from the npm package vnu-jar)
finds no error in any page of the journeys (tests/journeys.py)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .journeys import Page, visit_every_page

VNU_JAR = Path(__file__).resolve().parents[1] / "node_modules/vnu-jar/build/dist/vnu.jar"


@pytest.fixture
def config(config):
    """Forms carry their CSRF tokens, as in production: the hidden fields are checked too."""
    return {**config, "WTF_CSRF_ENABLED": True}


def nu_html_checker(directory: Path) -> list[dict]:
    """Run vnu.jar once on every file of a directory: its messages, as JSON."""
    java = shutil.which("java")
    # A failure, not a skip: `make test` installs both (default-jre-headless, npm ci).
    assert java, "java is missing: `make test` installs default-jre-headless"
    assert VNU_JAR.is_file(), "vnu.jar is missing: `make test` runs npm ci"
    result = subprocess.run(  # noqa: S603 - the checker, our own arguments
        [java, "-jar", str(VNU_JAR), "--format", "json", "--stdout", str(directory)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: it found errors
    return json.loads(result.stdout)["messages"]


def describe(message: dict, pages: dict[str, Page]) -> str:
    """One line of the checker's report: which page, where, what."""
    filename = Path(message.get("url", "")).name
    page = pages.get(filename)
    where = f"{page.name} ({page.url or 'rendered'})" if page else filename or "the checker"
    extract = message.get("extract", "").strip()[:120]
    return f"{where} line {message.get('lastLine')}: {message['message']} in {extract!r}"


def test_every_page_is_valid_html(
    app,
    make_petition,
    make_signature,
    make_endorsement,
    make_organizer,
    organizer,
    mails,
    tmp_path,
):
    pages = visit_every_page(
        app, make_petition, make_signature, make_endorsement, make_organizer, organizer, mails
    )
    directory = tmp_path / "pages"
    directory.mkdir()
    names = {}
    for number, page in enumerate(pages):
        filename = f"{number:03}-{re.sub(r'[^a-z0-9]+', '-', page.name.lower()).strip('-')}.html"
        (directory / filename).write_text(page.html, encoding="utf-8")
        names[filename] = page
    messages = nu_html_checker(directory)
    errors = [m for m in messages if m["type"] != "info"]  # info: warnings and notes
    report = sorted(describe(m, names) for m in errors)
    assert not report, f"{len(report)} errors:\n" + "\n".join(report)
