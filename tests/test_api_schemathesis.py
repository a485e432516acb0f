"""Schemathesis drives the API from its own OpenAPI description: no server error, every
status code, content type, header and body as described (closed objects: no extra field).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from petition.models import EndorsementStatus, PetitionStatus
from petition.openapi import EXAMPLE_SLUG

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
HOST = "petitions.example.org"  # the tests' SERVER_NAME: other hosts are refused


@pytest.fixture
def api_schema(app, make_petition, make_signature, make_endorsement):
    """The app's own description, with calls and signatories for the examples to find."""
    petition = make_petition(slug=EXAMPLE_SLUG, signature_goal=100)
    make_petition(
        slug="closed-call",
        status=PetitionStatus.CLOSED,
        event_starts_at=None,
        event_timezone=None,
        event_place=None,
        event_address=None,
    )
    make_signature(petition, confirmed=True, email="shown@example.org")
    make_signature(petition, confirmed=True, email="private@example.org", show_publicly=False)
    make_signature(petition, email="pending@example.org", country="DE")
    make_endorsement(petition, status=EndorsementStatus.APPROVED)
    make_endorsement(
        petition,
        status=EndorsementStatus.APPROVED,
        contact_email="b@example.org",
        organization="No Website",
        website=None,
    )
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers={"Host": HOST})


# The operations of the description, and whether they take query parameters
# (tests/test_api.py checks the description lists every route).
OPERATIONS = {
    "/api/v1/calls": True,
    "/api/v1/calls/{slug}": True,
    "/api/v1/calls/{slug}/countries": False,
    "/api/v1/calls/{slug}/organizations": True,
    "/api/v1/calls/{slug}/signers": True,
}


def variants():
    """(path, generation mode, whether the slug is the fixture's call) worth generating.

    Positive with any slug the description allows (nearly all unknown: 404); positive on
    the fixture's call (200 and real lists); negative: slugs and parameters it forbids;
    negative on the fixture's call: only the query parameters (page, status) are invalid.
    """
    for path, has_query in OPERATIONS.items():
        has_slug = "{slug}" in path
        yield pytest.param(path, GenerationMode.POSITIVE, False, id=f"positive {path}")
        if has_slug:
            yield pytest.param(path, GenerationMode.POSITIVE, True, id=f"known call {path}")
        if has_slug or has_query:
            yield pytest.param(path, GenerationMode.NEGATIVE, False, id=f"negative {path}")
        if has_slug and has_query:
            yield pytest.param(path, GenerationMode.NEGATIVE, True, id=f"negative known {path}")


# schemathesis's pytest plugin (schema.parametrize, from_fixture) fails under pytest 9
# (it reads the removed Function._nodeid): its Python API drives Hypothesis here instead.
@pytest.mark.parametrize(("path", "mode", "known_call"), list(variants()))
def test_api_conforms_to_its_description(api_schema, path, mode, known_call):
    found = api_schema[path]["GET"]
    assert bool(found.query) == OPERATIONS[path]
    fixed = {"slug": EXAMPLE_SLUG} if known_call else None
    seen = []

    @given(case=found.as_strategy(generation_mode=mode, path_parameters=fixed))
    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(case):
        response = case.call_and_validate(base_url=f"http://{HOST}", checks=CHECKS)
        assert "@example.org" not in response.text
        seen.append(response.status_code)

    check()
    assert seen
    if known_call and mode is GenerationMode.POSITIVE:
        assert 200 in seen
    if known_call and mode is GenerationMode.NEGATIVE:
        assert 400 in seen


def test_the_description_lists_the_operations_tested(api_schema):
    operations = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }
    assert operations == {("GET", path) for path in OPERATIONS}
