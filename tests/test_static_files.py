"""Static files: fingerprinted addresses kept a year by browsers, and the site's icon."""

import hashlib
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from .journeys import visit_every_page

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
STATIC_LINK = re.compile(r'(?:href|src|content)="([^"]*/static/[^"]*)"')
A_YEAR_IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def config(config):
    """Forms carry their CSRF tokens, as in production (see tests/journeys.py)."""
    return {**config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def pages(app, make_petition, make_signature, make_endorsement, make_organizer, organizer, mails):
    return visit_every_page(
        app, make_petition, make_signature, make_endorsement, make_organizer, organizer, mails
    )


def fingerprint(filename: str) -> str:
    """What the address of a static file carries: the start of its bytes' SHA-256."""
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def static_links(html: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in STATIC_LINK.findall(html)]


def test_every_page_links_static_files_by_their_fingerprint(client, pages):
    checked = set()
    for page in pages:
        links = static_links(page.html)
        assert links, f"{page.name}: no stylesheet?"
        for link in links:
            address = urlsplit(link)
            filename = address.path.removeprefix("/static/")
            assert parse_qs(address.query).get("v") == [fingerprint(filename)], (
                page.name,
                link,
            )
            checked.add(address.path + "?" + address.query)
    for link in checked:
        response = client.get(link)
        assert response.status_code == 200, link
        assert response.headers["Cache-Control"] == A_YEAR_IMMUTABLE, link
    assert {urlsplit(link).path for link in checked} >= {
        "/static/css/site.css",
        "/static/css/embed.css",
        "/static/favicon.ico",
        "/static/img/favicon.svg",
    }


def test_every_page_has_the_site_icon(pages):
    for page in pages:
        head = page.html.partition("</head>")[0]
        assert re.search(r'<link rel="icon" href="/static/favicon\.ico\?v=\w+"', head), page.name
        assert re.search(r'<link rel="icon" href="/static/img/favicon\.svg\?v=\w+"', head), (
            page.name
        )


def test_no_template_writes_a_static_address_by_hand():
    """url_for('static', ...) adds the fingerprint: an address written out would lack it."""
    for template in TEMPLATES.rglob("*"):
        if template.is_file():
            text = template.read_text(encoding="utf-8")
            assert "/static/" not in text, template


def test_url_for_static_gives_the_fingerprinted_address(app):
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="css/site.css")
    assert url == f"/static/css/site.css?v={fingerprint('css/site.css')}"


def test_an_address_without_fingerprint_still_works_but_is_revalidated(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert "no-cache" in response.headers["Cache-Control"]
    assert response.data == (STATIC / "css/site.css").read_bytes()


def test_an_old_fingerprint_gets_the_current_file_not_kept(client):
    response = client.get("/static/css/site.css?v=0123456789ab")
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert response.data == (STATIC / "css/site.css").read_bytes()


def test_a_missing_file_is_a_404_with_or_without_fingerprint(client):
    assert client.get("/static/css/nothing.css").status_code == 404
    assert client.get("/static/css/nothing.css?v=0123456789ab").status_code == 404
    assert client.get("/static/../petition/config.py?v=0123456789ab").status_code == 404


def test_a_kept_address_is_answered_304_when_the_browser_asks_again(client):
    url = f"/static/css/site.css?v={fingerprint('css/site.css')}"
    etag = client.get(url).headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == A_YEAR_IMMUTABLE


def test_favicon_ico_answers_with_the_sites_own_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in {"image/vnd.microsoft.icon", "image/x-icon"}
    assert response.data == (STATIC / "favicon.ico").read_bytes()
    assert "immutable" not in response.headers["Cache-Control"]
    icon = Image.open(io.BytesIO(response.data))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32), (48, 48)} <= set(icon.info["sizes"])


def test_the_svg_icon_is_plain_svg():
    svg = (STATIC / "img/favicon.svg").read_text(encoding="utf-8")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<script" not in svg and "href" not in svg  # nothing to run, nothing fetched
