"""Public pages: the list of calls, a call's page, signatories, counts."""

from sqlalchemy import select

from petition import signing
from petition.extensions import db
from petition.models import EndorsementStatus, PetitionStatus, Signature


def test_front_page_lists_only_open_calls(client, make_petition):
    make_petition(title="An open call")
    make_petition(title="A closed call", status=PetitionStatus.CLOSED)
    page = client.get("/").text
    assert "An open call" in page
    assert "A closed call" not in page


def test_call_page_presents_text_demands_and_rally(client, petition):
    response = client.get(f"/p/{petition.slug}")
    assert response.status_code == 200
    page = response.text
    assert '<h1 dir="auto">Open the borders</h1>' in page  # text written by organizers
    assert "<strong>freedom of movement</strong>" in page  # Markdown rendered
    assert page.index("Papers for all") < page.index("Close the camps")  # demands in order
    assert "Place d’Armes" in page
    # 14:00 UTC is 16:00 in Calais in October (summer time): shown in the rally's zone.
    assert "Monday, October 14, 2030, 4:00\u202fPM France Time" in page
    assert 'datetime="2030-10-14T16:00:00+02:00"' in page
    assert f'href="/p/{petition.slug}/sign"' in page
    assert f'href="/p/{petition.slug}/endorse"' in page


def test_call_page_counts_only_confirmed_and_lists_only_public(client, petition, make_signature):
    make_signature(petition, confirmed=True, full_name="Visible Person", email="v@example.org")
    make_signature(
        petition,
        confirmed=True,
        full_name="Hidden Person",
        email="h@example.org",
        show_publicly=False,
    )
    make_signature(petition, full_name="Pending Person", email="p@example.org")
    page = client.get(f"/p/{petition.slug}").text
    assert "2 people have signed" in page
    assert "Visible Person" in page
    assert "Hidden Person" not in page
    assert "Pending Person" not in page
    assert "@example.org" not in page  # never an email address


def test_organizations_show_once_approved(client, petition, make_endorsement):
    for name, status in [
        ("Approved Org", EndorsementStatus.APPROVED),
        ("Waiting Org", EndorsementStatus.AWAITING_APPROVAL),
        ("Pending Org", EndorsementStatus.PENDING),
        ("Rejected Org", EndorsementStatus.REJECTED),
    ]:
        make_endorsement(
            petition, status=status, organization=name, contact_email=f"{name[:4]}@example.org"
        )
    page = client.get(f"/p/{petition.slug}").text
    assert "1 organization has endorsed" in page
    assert "Approved Org" in page
    for hidden in ("Waiting Org", "Pending Org", "Rejected Org", "@example.org", "Jean Martin"):
        assert hidden not in page


def test_counts_json(client, petition, make_signature, make_endorsement):
    make_signature(petition, confirmed=True)
    make_signature(petition, email="pending@example.org")
    make_endorsement(petition, status=EndorsementStatus.APPROVED)
    response = client.get(f"/p/{petition.slug}.json")
    assert response.status_code == 200
    assert response.json == {"slug": petition.slug, "individuals": 1, "organizations": 1}
    assert "public" in response.headers["Cache-Control"]


def test_closed_call_shows_text_and_counts_but_no_forms(client, make_petition, make_signature):
    petition = make_petition(status=PetitionStatus.OPEN)
    make_signature(petition, confirmed=True)
    petition.status = PetitionStatus.CLOSED
    from petition.extensions import db

    db.session.commit()
    page = client.get(f"/p/{petition.slug}").text
    assert "1 person has signed" in page
    assert "This call is closed" in page
    assert f'href="/p/{petition.slug}/sign"' not in page


def test_markup_in_signer_names_is_escaped(client, petition, make_signature):
    make_signature(petition, confirmed=True, full_name="<script>alert(1)</script>")
    page = client.get(f"/p/{petition.slug}").text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_unknown_call_and_page_are_404_pages(client):
    for url in ("/p/no-such-call", "/p/no-such-call.json", "/p/Bad_Slug", "/nowhere"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Page not found" in response.text


def test_pages_need_nothing_from_other_sites(client, petition):
    page = client.get(f"/p/{petition.slug}").text
    # Links to other sites (share links, the map) are fine: nothing is loaded from one.
    loaded = [part.split('"')[1] for part in page.split(" src=")[1:]] + [
        part.partition('href="')[2].partition('"')[0] for part in page.split("<link ")[1:]
    ]
    assert any(url.startswith("/static/css/site.css?v=") for url in loaded)
    for url in loaded:
        assert url.startswith("/") or url.startswith("http://petitions.example.org/"), url
    assert "<script" not in page


def test_security_headers_on_pages_and_errors(client, petition):
    for url in (f"/p/{petition.slug}", "/nowhere"):
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_privacy_notice_names_its_version(app, client):
    page = client.get("/privacy").text
    assert app.config["PRIVACY_NOTICE_VERSION"] in page


def test_public_counts_are_shared_for_a_few_seconds(app, client, petition, make_signature):
    """Readers share a count for COUNTS_CACHE_SECONDS, then see the truth again."""
    import time

    app.config["COUNTS_CACHE_SECONDS"] = 0.5
    make_signature(petition, confirmed=True)
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 1
    make_signature(petition, confirmed=True, email="second@example.org")
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 1  # cached
    time.sleep(0.6)
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 2


def test_the_person_who_confirms_sees_the_count_go_up(app, client, petition, mails):
    """Confirming drops the cached count, so the signer's own page is up to date."""
    from .test_sign_http import VALID_SIGNATURE

    app.config["COUNTS_CACHE_SECONDS"] = 60
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 0
    client.post(f"/p/{petition.slug}/sign", data=VALID_SIGNATURE)
    client.post(f"/confirm/{mails.links(mails[-1])[0]}")
    assert client.get(f"/p/{petition.slug}.json").json["individuals"] == 1


def test_the_call_pages_lists_are_shared_like_the_counts(app, client, petition, mails):
    """The latest signers are read once per COUNTS_CACHE_SECONDS; the confirmer sees their name."""
    from .test_sign_http import VALID_SIGNATURE

    app.config["COUNTS_CACHE_SECONDS"] = 60
    make = lambda **kw: client.post(  # noqa: E731
        f"/p/{petition.slug}/sign", data={**VALID_SIGNATURE, "show_publicly": "y", **kw}
    )
    assert "Amina Diallo" not in client.get(f"/p/{petition.slug}").text
    make()
    client.post(f"/confirm/{mails.links(mails[-1])[0]}")
    assert "Amina Diallo" in client.get(f"/p/{petition.slug}").text  # dropped on confirming
    # Someone confirmed on another server: this one shows it once its copy is a minute old.
    make(full_name="Jean Dupont", email="jean@example.org")
    jean = db.session.execute(select(Signature).filter_by(full_name="Jean Dupont")).scalar_one()
    signing.confirm(jean)
    db.session.commit()
    assert "Jean Dupont" not in client.get(f"/p/{petition.slug}").text
    app.config["COUNTS_CACHE_SECONDS"] = 0
    app.extensions["petition.cache"].clear()
    assert "Jean Dupont" in client.get(f"/p/{petition.slug}").text


def test_a_visitors_pages_set_no_cookie_once_they_have_a_session(app, client, petition):
    """Public pages stay cacheable: after the form gave a session, nothing rewrites it."""
    app.config["WTF_CSRF_ENABLED"] = True
    client.get(f"/p/{petition.slug}/sign")  # the form's CSRF token starts a session
    for url in (f"/p/{petition.slug}", "/", f"/p/{petition.slug}.json"):
        assert "Set-Cookie" not in client.get(url).headers, url
