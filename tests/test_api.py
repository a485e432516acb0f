"""The public JSON API: what each route answers, and what it never shows."""

from datetime import UTC, datetime, timedelta

import pytest

from petition.extensions import db
from petition.models import EndorsementStatus, PetitionStatus, Signature, SignatureStatus, utcnow

BASE = "http://petitions.example.org"


def get_json(client, url, status=200):
    """GET an API address, check the headers every answer has, return the JSON."""
    response = client.get(url)
    assert response.status_code == status, response.data
    assert response.content_type == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=30, stale-while-revalidate=300"
    assert "Set-Cookie" not in response.headers
    return response.get_json()


def test_calls_lists_open_calls_with_counts_event_and_urls(
    client, make_petition, make_signature, make_endorsement
):
    petition = make_petition(slug="open-borders", signature_goal=1000)
    make_petition(slug="old-call", status=PetitionStatus.CLOSED)
    make_signature(petition, confirmed=True)
    make_signature(petition, confirmed=True, email="b@example.org", show_publicly=False)
    make_signature(petition, email="pending@example.org")
    make_endorsement(petition, status=EndorsementStatus.APPROVED)

    body = get_json(client, "/api/v1/calls")

    assert body == {
        "calls": [
            {
                "slug": "open-borders",
                "language": "en",
                "languages": ["en"],
                "title": "Open the borders",
                "summary": "A call for freedom of movement.",
                "status": "open",
                "accepts_signatures": True,
                "closes_at": None,
                "signature_goal": 1000,
                "event": {
                    # 14:00 UTC is 16:00 in Paris (summer time).
                    "starts_at": "2030-10-14T16:00:00+02:00",
                    "timezone": "Europe/Paris",
                    "place": "Place d’Armes",
                    "address": "Place d’Armes, 62100 Calais, France",
                },
                "counts": {"individuals": 2, "organizations": 1},
                "urls": {
                    "page": f"{BASE}/p/open-borders",
                    "sign": f"{BASE}/p/open-borders/sign",
                    "api": f"{BASE}/api/v1/calls/open-borders",
                },
            }
        ]
    }


def test_calls_by_status(client, make_petition):
    make_petition(slug="still-open")
    closes_at = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    make_petition(
        slug="was-open",
        status=PetitionStatus.CLOSED,
        closes_at=closes_at,
        event_starts_at=None,
        event_timezone=None,
        event_place=None,
        event_address=None,
    )

    closed = get_json(client, "/api/v1/calls?status=closed")["calls"]
    assert [call["slug"] for call in closed] == ["was-open"]
    assert closed[0]["status"] == "closed"
    assert closed[0]["accepts_signatures"] is False
    assert closed[0]["event"] is None
    assert closed[0]["closes_at"] == "2031-01-02T03:04:05+00:00"
    every = get_json(client, "/api/v1/calls?status=all")["calls"]
    assert {call["slug"] for call in every} == {"still-open", "was-open"}
    assert [c["slug"] for c in get_json(client, "/api/v1/calls?status=open")["calls"]] == [
        "still-open"
    ]


def test_a_call_past_its_closing_time_takes_no_signatures(client, make_petition):
    make_petition(slug="late", closes_at=utcnow() - timedelta(days=1))
    call = get_json(client, "/api/v1/calls/late")
    assert call["status"] == "open"
    assert call["accepts_signatures"] is False


def test_no_call_takes_signatures_while_signing_is_paused(client, runner, make_petition):
    make_petition(slug="open-borders")
    result = runner.invoke(args=["signing", "pause", "--notice", "Back at 18:00."])
    assert result.exit_code == 0, result.output
    assert get_json(client, "/api/v1/calls")["calls"][0]["accepts_signatures"] is False
    assert get_json(client, "/api/v1/calls/open-borders")["accepts_signatures"] is False
    assert client.post("/p/open-borders/sign").status_code == 503  # as the API says
    runner.invoke(args=["signing", "resume"])
    assert get_json(client, "/api/v1/calls")["calls"][0]["accepts_signatures"] is True
    assert get_json(client, "/api/v1/calls/open-borders")["accepts_signatures"] is True


@pytest.mark.parametrize("status", ["closed ", "OPEN", "", "none", "open%26x"])
def test_calls_refuse_an_unknown_status(client, status):
    body = get_json(client, f"/api/v1/calls?status={status}", status=400)
    assert body["error"] == "bad_request"
    assert "status" in body["message"]


def test_one_call_has_its_body_and_demands(client, make_petition):
    make_petition(slug="with-text")
    call = get_json(client, "/api/v1/calls/with-text")
    assert call["slug"] == "with-text"
    assert call["body"] == "We call for **freedom of movement**."
    assert call["demands"] == ["Papers for all", "Close the camps"]
    assert call["counts"] == {"individuals": 0, "organizations": 0}
    assert call["urls"]["api"] == f"{BASE}/api/v1/calls/with-text"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/calls/missing",
        "/api/v1/calls/missing/countries",
        "/api/v1/calls/missing/organizations",
        "/api/v1/calls/missing/signers",
        "/api/v1/calls/Not%20A%20Slug",
        "/api/v1/calls/nul%00byte/signers",
        "/api/v1/calls/" + "x" * 500,
        "/api/v1/nothing/here",
    ],
)
def test_unknown_addresses_are_json_404(client, url):
    body = get_json(client, url, status=404)
    assert body["error"] == "not_found"
    assert body["message"]


def test_countries_count_confirmed_signatures_only(app, client, make_petition, make_signature):
    app.config["PUBLIC_COUNTRY_MINIMUM"] = 2
    petition = make_petition(slug="countries")
    make_signature(petition, confirmed=True, email="a@example.org", country="FR")
    make_signature(petition, confirmed=True, email="b@example.org", country="FR")
    make_signature(
        petition, confirmed=True, email="c@example.org", country="DE", show_publicly=False
    )
    make_signature(petition, email="d@example.org", country="IT")  # pending
    invalid = make_signature(petition, confirmed=True, email="e@example.org", country="ES")
    invalid.status = SignatureStatus.INVALID
    invalid.invalidated_at = utcnow()
    db.session.commit()

    body = get_json(client, "/api/v1/calls/countries/countries")
    assert body == {
        "slug": "countries",
        "countries": [{"country": "FR", "signatures": 2}],
        "other": 1,  # DE: fewer than the minimum
        "minimum": 2,
    }


def test_a_country_with_few_signers_is_not_shown(client, make_petition, make_signature):
    """One signer who chose not to be listed: their country would point at them."""
    petition = make_petition(slug="few")
    for n in range(5):
        make_signature(petition, confirmed=True, email=f"fr{n}@example.org", country="FR")
    make_signature(
        petition, confirmed=True, email="alone@example.org", country="IS", show_publicly=False
    )
    body = get_json(client, "/api/v1/calls/few/countries")
    assert body["countries"] == [{"country": "FR", "signatures": 5}]
    assert (body["other"], body["minimum"]) == (1, 5)
    assert "IS" not in str(body)


def test_countries_are_counted_once_per_cache_period_per_process(
    app, client, make_petition, make_signature, monkeypatch
):
    """Counting by country reads every confirmed signature: at most once per 30 s here,
    the time the answer's Cache-Control lets any cache keep it."""
    import petition.queries

    app.config["PUBLIC_COUNTRY_MINIMUM"] = 1

    clock = [1000.0]
    monkeypatch.setattr(petition.queries.time, "monotonic", lambda: clock[0])
    petition_ = make_petition(slug="counted")
    make_signature(petition_, confirmed=True, email="a@example.org", country="FR")
    url = "/api/v1/calls/counted/countries"
    response = client.get(url)
    assert "max-age=30," in response.headers["Cache-Control"]
    assert response.get_json()["countries"] == [{"country": "FR", "signatures": 1}]
    make_signature(petition_, confirmed=True, email="b@example.org", country="SN")
    clock[0] += 29
    assert get_json(client, url)["countries"] == [{"country": "FR", "signatures": 1}]
    clock[0] += 2
    assert get_json(client, url)["countries"] == [
        {"country": "FR", "signatures": 1},
        {"country": "SN", "signatures": 1},
    ]


def test_organizations_are_the_approved_ones_shown(client, make_petition, make_endorsement):
    petition = make_petition(slug="orgs")
    make_endorsement(
        petition, status=EndorsementStatus.APPROVED, organization="Zeta", contact_email="z@e.org"
    )
    make_endorsement(
        petition,
        status=EndorsementStatus.APPROVED,
        organization="alpha",
        contact_email="a@e.org",
        website=None,
    )
    make_endorsement(
        petition,
        status=EndorsementStatus.APPROVED,
        organization="Hidden",
        contact_email="h@e.org",
        show_publicly=False,
    )
    for status, email in [
        (EndorsementStatus.PENDING, "p@e.org"),
        (EndorsementStatus.AWAITING_APPROVAL, "w@e.org"),
        (EndorsementStatus.REJECTED, "r@e.org"),
    ]:
        make_endorsement(petition, status=status, organization=status.value, contact_email=email)

    response = client.get("/api/v1/calls/orgs/organizations")
    body = response.get_json()
    assert body == {
        "page": 1,
        "per_page": 50,
        "total": 2,
        "next": None,
        "items": [
            {
                "name": "alpha",
                "type": "collective",
                "city": "Lille",
                "country": "FR",
                "website": None,
            },
            {
                "name": "Zeta",
                "type": "collective",
                "city": "Lille",
                "country": "FR",
                "website": "https://solidarite.example.org",
            },
        ],
    }
    text = response.get_data(as_text=True)
    for absent in ("Hidden", "pending", "awaiting", "rejected", "@e.org", "Jean Martin"):
        assert absent not in text


def test_signers_are_the_confirmed_ones_who_chose_to_be_shown(
    client, make_petition, make_signature, organizer
):
    petition = make_petition(slug="people")
    make_signature(petition, confirmed=True, full_name="Shown Person", email="shown@example.org")
    make_signature(
        petition,
        confirmed=True,
        full_name="Private Person",
        email="private@example.org",
        show_publicly=False,
    )
    make_signature(petition, full_name="Pending Person", email="pending@example.org")
    hidden = make_signature(
        petition, confirmed=True, full_name="Hidden Person", email="hidden@example.org"
    )
    invalid = make_signature(
        petition, confirmed=True, full_name="Invalid Person", email="invalid@example.org"
    )
    hidden.hidden = True
    invalid.status = SignatureStatus.INVALID
    invalid.invalidated_at = utcnow()
    db.session.commit()

    response = client.get("/api/v1/calls/people/signers")
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "per_page": 50,
        "previous": None,
        "next": None,
        "items": [{"full_name": "Shown Person", "city": "Calais", "country": "FR"}],
    }
    text = response.get_data(as_text=True)
    for absent in ("Private", "Pending", "Hidden", "Invalid", "@example.org"):
        assert absent not in text


def test_signers_with_an_affiliation_show_no_affiliation(client, make_petition, make_signature):
    petition = make_petition(slug="affiliated")
    make_signature(petition, confirmed=True, affiliation="Secret Union")
    response = client.get("/api/v1/calls/affiliated/signers")
    assert response.get_json()["items"] == [
        {"full_name": "Amina Diallo", "city": "Calais", "country": "FR"}
    ]
    assert "Secret Union" not in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "1000001", "", " 1", "99999999999"])
def test_a_bad_page_is_a_json_400(client, make_petition, page):
    make_petition(slug="paged")
    body = get_json(client, f"/api/v1/calls/paged/organizations?page={page}", status=400)
    assert body["error"] == "bad_request"
    assert "page" in body["message"]


def test_the_last_allowed_page_is_empty_without_next(client, make_petition):
    make_petition(slug="edge")
    body = get_json(client, "/api/v1/calls/edge/organizations?page=1000000")
    assert (body["page"], body["items"], body["next"]) == (1_000_000, [], None)


def test_no_email_in_any_answer(client, make_petition, make_signature, make_endorsement):
    petition = make_petition(slug="privacy")
    emails = [f"zq-person{number}@example.org" for number in range(3)]
    make_signature(petition, confirmed=True, email=emails[0])
    make_signature(petition, confirmed=True, email=emails[1], show_publicly=False)
    make_signature(petition, email=emails[2])
    make_endorsement(
        petition, status=EndorsementStatus.APPROVED, contact_email="zq-org@example.org"
    )
    emails.append("zq-org@example.org")

    urls = [
        "/api/v1/calls",
        "/api/v1/calls?status=all",
        "/api/v1/calls/privacy",
        "/api/v1/calls/privacy/countries",
        "/api/v1/calls/privacy/organizations",
        "/api/v1/calls/privacy/signers",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        for email in emails:
            assert email not in text
            assert email.partition("@")[0] not in text
        assert "@" not in text


def test_the_api_sets_no_cookie_even_for_a_logged_in_organizer(logged_in, make_petition):
    make_petition(slug="cookie")
    response = logged_in.get("/api/v1/calls/cookie")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_the_api_does_not_vary_on_cookies_for_anonymous_readers(client, make_petition):
    make_petition(slug="shared")
    response = client.get("/api/v1/calls/shared")
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_the_api_answers_get_only(client, make_petition):
    make_petition(slug="read-only")
    for method in (client.post, client.put, client.delete):
        response = method("/api/v1/calls/read-only")
        assert response.status_code == 405
        assert response.json["error"] == "method_not_allowed"  # JSON, as the API's clients read
        assert "GET" in response.headers["Allow"]
    assert client.post("/api/v1/calls").status_code == 405
    assert client.head("/api/v1/calls").status_code == 200


def test_counts_in_the_api_match_the_public_json(client, make_petition, make_signature):
    petition = make_petition(slug="same")
    make_signature(petition, confirmed=True)
    api = get_json(client, "/api/v1/calls/same")["counts"]
    public = client.get("/p/same.json").get_json()
    assert api == {"individuals": public["individuals"], "organizations": public["organizations"]}


def test_a_purged_call_keeps_its_counts_and_lists_no_one(client, make_petition, make_signature):
    petition = make_petition(slug="purged")
    make_signature(petition, confirmed=True)
    petition.purged_individuals = 7
    petition.purged_at = utcnow()
    db.session.execute(db.delete(Signature))
    db.session.commit()
    assert get_json(client, "/api/v1/calls/purged")["counts"]["individuals"] == 7
    assert get_json(client, "/api/v1/calls/purged/signers")["items"] == []
    assert get_json(client, "/api/v1/calls/purged/countries")["countries"] == []


def test_openapi_describes_every_api_route(app, client):
    description = get_json(client, "/api/v1/openapi.json")
    assert description["openapi"].startswith("3.1")
    documented = {path.replace("{", "<").replace("}", ">") for path in description["paths"]}
    routes = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.not_found"
    }
    assert routes == documented
    for path, operations in description["paths"].items():
        assert set(operations) == {"get"}, path
    schemas = description["components"]["schemas"]
    assert schemas["Signer"]["additionalProperties"] is False
    assert set(schemas["Signer"]["properties"]) == {"full_name", "city", "country"}


def test_an_api_request_that_fails_gets_a_json_error(app, client, make_petition, monkeypatch):
    """The database away: 503 with Retry-After, as JSON under /api/, as a page elsewhere."""
    from sqlalchemy.exc import OperationalError

    make_petition(slug="down")

    def unavailable(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr("petition.views.api.public_counts", unavailable)
    response = client.get("/api/v1/calls/down")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json["error"] == "service_unavailable"
