"""The public list of signers, paged from the signers beside each page (no page numbers).

A numbered page counted the whole list and skipped every row before it: 50 ms at a million
signers on SQLite, for anyone who asked. These tests walk the list both ways, through ties
and changes, check that only listed signers lead anywhere, and that the database is asked
for a range of its index, never to count or skip.
"""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from petition import signing
from petition.extensions import db
from petition.models import Signature, utcnow

NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
PREVIOUS = re.compile(r'<a rel="prev" href="([^"]+)"')
NAME = re.compile(r"<li>(Signer \d+) <span")
BASE = "http://petitions.example.org"  # SERVER_NAME of the tests


@pytest.fixture
def signers(app, petition, make_signature):
    """Seven listed signers, confirmed in order (Signer 6 is the latest), 3 to a page."""
    app.config["PUBLIC_SIGNERS_PER_PAGE"] = 3
    return [
        make_signature(petition, confirmed=True, full_name=f"Signer {n}", email=f"s{n}@example.org")
        for n in range(7)
    ]


def page(client, url: str) -> tuple[list[str], str | None, str | None]:
    response = client.get(url)
    assert response.status_code == 200
    html = response.text
    next_link, previous_link = NEXT.search(html), PREVIOUS.search(html)
    return (
        NAME.findall(html),
        next_link and next_link.group(1).replace("&amp;", "&"),
        previous_link and previous_link.group(1).replace("&amp;", "&"),
    )


def walk(client, first: str) -> list[list[str]]:
    """Every page from `first`, following Next, then back to the first through Previous."""
    pages, url = [], first
    while url:
        names, url, _previous = page(client, url)
        pages.append(names)
    back, url = [], page(client, first)[1]
    while url:
        names, _next, url = page(client, url)
        back.append(names)
    return pages, back


def test_the_list_pages_through_every_signer_latest_first_and_back(client, petition, signers):
    pages, back = walk(client, f"/p/{petition.slug}/signers")
    assert pages == [
        ["Signer 6", "Signer 5", "Signer 4"],
        ["Signer 3", "Signer 2", "Signer 1"],
        ["Signer 0"],
    ]
    # From the second page, Previous leads back to the first (and the first has none).
    assert back == [pages[1], pages[0]]
    assert page(client, f"/p/{petition.slug}/signers")[2] is None


def test_signers_confirmed_at_the_same_moment_are_each_listed_once(client, petition, signers):
    # An import or a bulk confirmation gives many signers one time: the id decides.
    db.session.execute(update(Signature).values(confirmed_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    pages, back = walk(client, f"/p/{petition.slug}/signers")
    assert sum(pages, []) == [f"Signer {n}" for n in reversed(range(7))]
    assert back == [pages[1], pages[0]]


def test_previous_gives_the_signers_just_above_or_the_latest_page(client, petition, signers):
    names, _next, previous = page(client, f"/p/{petition.slug}/signers?after={signers[2].id}")
    assert names == ["Signer 5", "Signer 4", "Signer 3"]
    assert previous is not None
    # Fewer than a page of signers are newer than Signer 4: the latest page, not a short one.
    names, _next, previous = page(client, f"/p/{petition.slug}/signers?after={signers[4].id}")
    assert names == ["Signer 6", "Signer 5", "Signer 4"]
    assert previous is None


def test_a_new_signer_shows_on_the_first_page_without_moving_the_others(
    client, petition, signers, make_signature
):
    second = f"/p/{petition.slug}/signers?before={signers[4].id}"
    before = page(client, second)[0]
    make_signature(petition, confirmed=True, full_name="Signer 7", email="s7@example.org")
    assert page(client, second)[0] == before
    assert page(client, f"/p/{petition.slug}/signers")[0] == ["Signer 7", "Signer 6", "Signer 5"]


@pytest.mark.parametrize("change", ["withdrawn", "hidden", "unlisted"])
def test_a_signer_who_left_the_list_leads_to_the_latest_page(client, petition, signers, change):
    anchor = signers[4]
    if change == "withdrawn":
        signing.withdraw(anchor)
    elif change == "hidden":
        anchor.hidden = True
    else:
        anchor.show_publicly = False
    db.session.commit()
    for neighbour in ("before", "after"):
        names = page(client, f"/p/{petition.slug}/signers?{neighbour}={anchor.id}")[0]
        assert names == ["Signer 6", "Signer 5", "Signer 3"]


def test_an_unlisted_signer_leads_nowhere(client, petition, signers, make_signature, make_petition):
    """Their id gives the latest page, as any unknown id: no answer tells them apart."""
    private = make_signature(petition, confirmed=True, full_name="Private", show_publicly=False)
    pending = make_signature(petition, full_name="Pending", email="pending@example.org")
    elsewhere = make_signature(
        make_petition(slug="other-call"), confirmed=True, email="o@example.org"
    )
    latest = page(client, f"/p/{petition.slug}/signers")
    for signature in (private, pending, elsewhere):
        for neighbour in ("before", "after"):
            assert page(client, f"/p/{petition.slug}/signers?{neighbour}={signature.id}") == latest
    assert latest[0] == ["Signer 6", "Signer 5", "Signer 4"]


@pytest.mark.parametrize(
    "query",
    [
        "before=abc",
        "before=0",
        "before=-1",
        "before=01",
        "before=1.5",
        "before=",
        "before=%201",
        "before=1234567890123456789",
        "before=2147483648",  # beyond a 32-bit id: PostgreSQL would refuse to compare it
        "after=99999999999",
        "after=x",
        "before=1&after=2",
    ],
)
def test_a_bad_neighbour_is_a_404_page(client, petition, signers, query):
    response = client.get(f"/p/{petition.slug}/signers?{query}")
    assert response.status_code == 404
    assert "Signer" not in response.text


def test_the_largest_id_is_read_and_leads_to_the_latest_page(client, petition, signers):
    for neighbour in ("before", "after"):
        names = page(client, f"/p/{petition.slug}/signers?{neighbour}=2147483647")[0]
        assert names == ["Signer 6", "Signer 5", "Signer 4"]


def test_an_old_numbered_link_shows_the_latest_page(client, petition, signers):
    assert page(client, f"/p/{petition.slug}/signers?page=3")[0] == [
        "Signer 6",
        "Signer 5",
        "Signer 4",
    ]


# --- The API: the same list, as JSON ---


def get_json(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.data
    return json.loads(response.data)


def test_the_api_pages_through_signers_with_next_and_previous(client, petition, signers):
    url = f"/api/v1/calls/{petition.slug}/signers"
    first = get_json(client, url)
    assert (first["per_page"], first["previous"]) == (3, None)
    assert first["next"] == f"{BASE}{url}?before={signers[4].id}"
    pages = [first]
    while pages[-1]["next"]:
        pages.append(get_json(client, pages[-1]["next"].removeprefix(BASE)))
    names = [item["full_name"] for body in pages for item in body["items"]]
    assert names == [f"Signer {n}" for n in reversed(range(7))]
    assert set(pages[-1]["items"][0]) == {"full_name", "city", "country"}  # no id, no email
    back = get_json(client, pages[-1]["previous"].removeprefix(BASE))
    assert back["items"] == pages[1]["items"]


@pytest.mark.parametrize(
    "query", ["page=2", "before=abc", "before=0", "after=1&before=2", "before=99999999999"]
)
def test_the_api_refuses_page_numbers_and_bad_neighbours(client, petition, signers, query):
    body = get_json(client, f"/api/v1/calls/{petition.slug}/signers?{query}", status=400)
    assert body["error"] == "bad_request"


# --- What the database is asked ---


@pytest.fixture
def statements(app):
    """The SQL statements run, with their values, while the test runs."""
    seen = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    yield seen
    event.remove(db.engine, "before_cursor_execute", remember)


@pytest.mark.parametrize("neighbour", ["", "before", "after"])
def test_a_page_is_a_range_of_the_index_never_a_count_or_a_skip(
    client, petition, signers, statements, neighbour
):
    url = f"/p/{petition.slug}/signers"
    if neighbour:
        url += f"?{neighbour}={signers[2].id}"  # a full page on either side
    assert client.get(url).status_code == 200
    for statement, values in statements:
        assert "count(" not in statement.lower()
        if "OFFSET" in statement:  # SQLite's LIMIT comes with OFFSET 0
            assert db.engine.dialect.name == "sqlite" and values[-1] == 0
    listing = [
        (statement, values)
        for statement, values in statements
        if "FROM signature" in statement and "ORDER BY" in statement and "LIMIT" in statement
    ]
    assert listing, statements
    if neighbour:
        # The page starts where the neighbour is in ix_signature_public and reads on from
        # there, its time as a bound of the index's range.
        plan = explain(*listing[0])
        assert "ix_signature_public" in plan
        assert re.search(r"confirmed_at\s*[<>]", plan), plan


def explain(statement: str, values) -> str:
    """How the database finds the rows of a statement run with these values: the index and
    the conditions it searches it with (not the filters applied to what it reads)."""
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", values).all()
        return " ".join(row[-1] for row in rows if " INDEX " in row[-1])
    # For a few rows PostgreSQL rightly reads the table: ask for the plan an index makes.
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql(f"EXPLAIN {statement}", values).all()
    return " ".join(row[0] for row in rows if "Index" in row[0])
