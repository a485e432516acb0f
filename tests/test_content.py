"""Content files: the shipped CISPM call, parse errors, Markdown rendering, saving calls."""

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from markupsafe import Markup
from sqlalchemy import select

from petition.extensions import db
from petition.models import (
    Demand,
    Endorsement,
    EndorsementStatus,
    PetitionStatus,
    Signature,
)
from petition.petitions import (
    CONTENT_DIRECTORY,
    CallContent,
    ContentError,
    parse_content,
    render_markdown,
    save_call,
)

SLUG = "cispm-calais-2016-10-14"
CONTENT_FILE = CONTENT_DIRECTORY / f"{SLUG}.md"
# The coalition's text exactly as they sent it (a copy of the project's seed file), kept
# in the repository so the check does not depend on where the clone sits.
SEED_FILE = Path(__file__).parent / "data" / f"{SLUG}.txt"
BULLET = re.compile(r"\A\*\s+")


def collapse(text: str) -> str:
    """Whitespace runs as single spaces, so line wrapping does not matter."""
    return " ".join(text.split())


def seed_parts() -> tuple[list[str], list[str], list[str]]:
    """The seed's intro paragraphs, its "denounce" bullets and its "We want" bullets."""
    assert SEED_FILE.is_file(), f"the seed text is missing: {SEED_FILE}"
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", SEED_FILE.read_text(encoding="utf-8"))]
    paragraphs = [p for p in paragraphs if p]
    want = next(i for i, p in enumerate(paragraphs) if collapse(p) == "We want :")
    before, after = paragraphs[:want], paragraphs[want + 1 :]
    intro = [p for p in before if not BULLET.match(p)]
    denounce = [BULLET.sub("", p) for p in before if BULLET.match(p)]
    wants = [BULLET.sub("", p) for p in after if BULLET.match(p)]
    assert len(after) == len(wants), "the seed has text after its demands"
    return intro, denounce, wants


@pytest.fixture(scope="module")
def shipped() -> CallContent:
    return parse_content(CONTENT_FILE.read_text(encoding="utf-8"))


def test_seed_text_has_the_expected_shape():
    """The seed splits into 7 intro paragraphs, 3 denounced points and 4 demands."""
    intro, denounce, wants = seed_parts()
    assert len(intro) == 7
    assert len(denounce) == 3
    assert len(wants) == 4


def test_shipped_call_parses(shipped):
    """The shipped file is a valid, open call collecting endorsements."""
    assert shipped.slug == SLUG
    assert shipped.title == "Rally on 14 October 2016 at 16h, Place d’Armes in Calais"
    assert shipped.status is PetitionStatus.OPEN
    assert shipped.collects_endorsements is True
    assert shipped.summary


def test_shipped_demands_are_the_seed_bullets_in_order(shipped):
    """Every "We want" bullet of the seed is a demand, word for word and in order."""
    _, _, wants = seed_parts()
    assert len(shipped.demands) == 4
    # The seed has a few no-break spaces where the content file has plain ones.
    assert [collapse(d) for d in shipped.demands] == [collapse(w) for w in wants]


def test_shipped_body_has_every_denounced_point(shipped):
    """Each of the three "denounce" bullets is in the body."""
    _, denounce, _ = seed_parts()
    body = collapse(shipped.body)
    for point in denounce:
        assert collapse(point) in body


def test_shipped_body_has_every_intro_paragraph_in_order(shipped):
    """Each intro paragraph of the seed is in the body, in the seed's order."""
    intro, _, _ = seed_parts()
    body = collapse(shipped.body)
    positions = []
    for paragraph in intro:
        assert collapse(paragraph) in body, paragraph
        positions.append(body.index(collapse(paragraph)))
    assert positions == sorted(positions)


def test_shipped_body_renders_the_denounced_points_as_a_list(shipped):
    """The denounced points come out as the items of one list."""
    html = render_markdown(shipped.body)
    assert html.count("<li>") == 3
    assert "<h2>OCTOBER 14, 2016 at 16h, Place D’Armes in CALAIS</h2>" in html


def test_shipped_event(shipped):
    """The rally: 14 October 2016, 16:00 in Paris time (14:00 UTC), Place d’Armes."""
    assert shipped.event_starts_at == datetime(2016, 10, 14, 14, 0, tzinfo=UTC)
    assert shipped.event_timezone == "Europe/Paris"
    local = shipped.event_starts_at.astimezone(ZoneInfo(shipped.event_timezone))
    assert (local.year, local.month, local.day, local.hour, local.minute) == (2016, 10, 14, 16, 0)
    assert shipped.event_place == "Place d’Armes"
    assert "Calais" in shipped.event_address


def front(meta: str, body: str = "Body") -> str:
    return f"+++\n{meta}\n+++\n{body}\n"


VALID = 'slug = "open-the-borders"\ntitle = "Open the borders"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("No front matter at all", "starts with TOML front matter between +++ lines"),
        ("+++\nslug = 'a'\ntitle = 'T'\nBody without a closing line\n", "front matter between"),
        (front('slug = "open"\ntitle = "unterminated'), "front matter:"),
        (front('title = "Open the borders"'), "slug must be a non-empty string"),
        (front('slug = "Open_The_Borders"\ntitle = "T"'), "slug must be lower-case"),
        (front('slug = "open--borders"\ntitle = "T"'), "slug must be lower-case"),
        (front('slug = "-open"\ntitle = "T"'), "slug must be lower-case"),
        (front(f'slug = "{"a" * 81}"\ntitle = "T"'), "slug is longer than 80 characters"),
        (front('slug = "open-the-borders"'), "title must be a non-empty string"),
        (front('slug = "open-the-borders"\ntitle = "   "'), "title must be a non-empty string"),
        (front('slug = "open-the-borders"\ntitle = 42'), "title must be a non-empty string"),
        (front(f'slug = "open"\ntitle = "{"T" * 201}"'), "title is longer than 200 characters"),
        (front(f'{VALID}\nsummary = "{"s" * 1001}"'), "summary is longer than 1000"),
        (front(f'{VALID}\ndemands = "Papers for all"'), "demands must be a list"),
        (front(f'{VALID}\ndemands = ["Papers for all", " "]'), "demands must be a list"),
        (front(f"{VALID}\ndemands = [1, 2]"), "demands must be a list"),
        (front(f'{VALID}\nstatus = "paused"'), "status must be open or closed"),
        (front(f"{VALID}\nsignature_goal = 0"), "signature_goal must be a positive whole number"),
        (front(f"{VALID}\nsignature_goal = 2.5"), "signature_goal must be a positive whole number"),
        (front(f'{VALID}\ncollects_endorsements = "yes"'), "collects_endorsements must be true"),
        (front(f'{VALID}\ncloses_at = "next week"'), "closes_at must be a TOML date-time"),
        (front(f'{VALID}\nevent = "Calais"'), "[event] needs starts_at and timezone"),
        (
            front(f"{VALID}\n[event]\nstarts_at = 2030-05-01T15:00:00"),
            "[event] needs starts_at and timezone",
        ),
        (
            front(f'{VALID}\n[event]\nstarts_at = 2030-05-01T15:00:00\ntimezone = "Mars/Base"'),
            "unknown time zone 'Mars/Base'",
        ),
        (
            front(f'{VALID}\n[event]\nstarts_at = 2030-05-01T15:00:00\ntimezone = "../etc"'),
            "unknown time zone",
        ),
        (
            front(f'{VALID}\n[event]\nstarts_at = 2030-05-01T15:00:00+02:00\ntimezone = "Mars/B"'),
            "unknown time zone 'Mars/B'",
        ),
        (
            front(f"{VALID}\n[event]\nstarts_at = 2030-05-01T15:00:00+02:00\ntimezone = 5"),
            "unknown time zone 5",
        ),
        (front(f"{VALID}\nsignature_goal = true"), "signature_goal must be a positive whole"),
        (
            front(f'{VALID}\n[event]\nstarts_at = "tomorrow"\ntimezone = "Europe/Paris"'),
            "event.starts_at must be a TOML date-time",
        ),
        (
            front(
                f"{VALID}\n[event]\nstarts_at = 2030-05-01T15:00:00\n"
                f'timezone = "Europe/Paris"\nplace = "{"p" * 201}"'
            ),
            "event.place must be a string of at most 200 characters",
        ),
        (
            front(
                f"{VALID}\n[event]\nstarts_at = 2030-05-01T15:00:00\n"
                'timezone = "Europe/Paris"\naddress = 12'
            ),
            "event.address must be a string",
        ),
    ],
)
def test_parse_errors(text, message):
    """A content file that does not describe a valid call names its problem."""
    with pytest.raises(ContentError) as error:
        parse_content(text)
    assert message in str(error.value)


def test_parse_reads_local_times_in_the_given_zone():
    """A local event time is read in its time zone; Windows line endings are accepted."""
    text = front(
        f'{VALID}\n[event]\nstarts_at = 2030-01-15T18:30:00\ntimezone = "America/New_York"',
        "Line one\nLine two",
    ).replace("\n", "\r\n")
    content = parse_content(text)
    assert content.event_starts_at == datetime(2030, 1, 15, 23, 30, tzinfo=UTC)
    assert content.body == "Line one\nLine two"


def test_render_markdown_escapes_raw_html():
    """Raw HTML in a call's text is shown as text, never run."""
    html = render_markdown("Hello <script>alert(1)</script> <img src=x onerror=alert(2)>")
    assert isinstance(html, Markup)
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "markdown",
    [
        "[click](javascript:alert(1))",
        "[click](JavaScript:alert(1))",
        "[click](  javascript:alert(1))",
        "<javascript:alert(1)>",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<data:text/html,<script>alert(1)</script>>",
        "[click](vbscript:msgbox(1))",
        "[ref]\n\n[ref]: javascript:alert(1)",
    ],
)
def test_render_markdown_refuses_dangerous_links(markdown):
    """javascript:, data: and vbscript: targets never become clickable links."""
    html = render_markdown(markdown).lower()
    assert "href" not in html
    assert "<script" not in html


def test_render_markdown_keeps_ordinary_links():
    """An https link is still a link."""
    html = render_markdown("[CISPM](https://example.org/cispm)")
    assert '<a href="https://example.org/cispm">CISPM</a>' in html


def test_save_call_never_touches_signatures(make_petition, make_signature, make_endorsement):
    """Updating a call (title, status, fewer demands) leaves its signatures as they were."""
    call = make_petition(slug="kept-call", demands=["One", "Two", "Three"])
    make_signature(call, confirmed=True, email="amina@example.org")
    make_signature(call, email="karim@example.org", show_publicly=False)
    make_endorsement(call, status=EndorsementStatus.APPROVED, contact_email="org@example.org")
    before_signatures = db.session.execute(select(Signature.__table__)).all()
    before_endorsements = db.session.execute(select(Endorsement.__table__)).all()

    petition, created = save_call(
        CallContent(
            slug="kept-call",
            title="A new title",
            body="A new body",
            demands=["Three", "One"],
            status=PetitionStatus.CLOSED,
        )
    )
    db.session.commit()
    db.session.expire_all()

    assert created is False
    assert petition.id == call.id
    assert petition.title == "A new title"
    assert petition.status is PetitionStatus.CLOSED
    assert [d.text for d in petition.demands] == ["Three", "One"]
    positions = db.session.scalars(select(Demand.position).filter_by(petition_id=call.id)).all()
    assert sorted(positions) == [0, 1]
    assert db.session.execute(select(Signature.__table__)).all() == before_signatures
    assert db.session.execute(select(Endorsement.__table__)).all() == before_endorsements
    assert len(before_signatures) == 2


def test_save_call_adds_demands_when_a_call_grows(make_petition):
    """Going from two demands to four keeps positions unique and in order."""
    make_petition(slug="growing-call", demands=["One", "Two"])

    petition, created = save_call(
        CallContent(slug="growing-call", title="T", demands=["Zero", "One", "Two", "Three"])
    )
    db.session.commit()
    db.session.expire_all()

    assert created is False
    rows = db.session.execute(
        select(Demand.position, Demand.text)
        .filter_by(petition_id=petition.id)
        .order_by(Demand.position)
    ).all()
    assert [tuple(row) for row in rows] == [(0, "Zero"), (1, "One"), (2, "Two"), (3, "Three")]


def test_a_content_file_saved_with_a_byte_order_mark_loads(app, tmp_path):
    """Editors on Windows save a BOM: the file still reads as a call."""
    from petition.petitions import load_call_file

    path = tmp_path / "call.md"
    path.write_text(front(VALID), encoding="utf-8-sig")
    petition, created = load_call_file(path)
    assert created and petition.slug == "open-the-borders"
