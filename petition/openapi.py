"""The OpenAPI 3.1 description of the public API (views/api.py), served at /api/v1/openapi.json.

Every object is closed (`additionalProperties: false`): tests/test_api_schemathesis.py checks
each response against it, so a field added by mistake (an email address) fails the tests.
"""

from .models import (
    ADDRESS_MAX,
    CITY_MAX,
    NAME_MAX,
    ORGANIZATION_MAX,
    PLACE_MAX,
    SLUG_MAX,
    SUMMARY_MAX,
    TIMEZONE_MAX,
    TITLE_MAX,
    WEBSITE_MAX,
    OrganizationType,
)
from .petitions import SLUG_PATTERN
from .views import MAX_PAGE, ROW_ID_MAX

EXAMPLE_SLUG = "cispm-calais-2016-10-14"
CACHE_SECONDS = 30


def _object(properties: dict, description: str | None = None) -> dict:
    """A closed JSON object: every property required, nothing else allowed."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


STRING = {"type": "string"}
URL = {"type": "string", "format": "uri"}
COUNT = {"type": "integer", "minimum": 0}
COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2"}

HEADERS = {
    "Cache-Control": {
        "description": "Shared caches may keep the answer 30 seconds.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Access-Control-Allow-Origin": {
        "description": "Any site may read the API.",
        "required": True,
        "schema": {"type": "string", "const": "*"},
    },
}

SLUG_PARAMETER = {
    "name": "slug",
    "in": "path",
    "required": True,
    "description": "The call's slug, as in its page's address /p/<slug>.",
    "schema": {"type": "string", "pattern": f"^{SLUG_PATTERN}$", "maxLength": SLUG_MAX},
    "example": EXAMPLE_SLUG,
}

PAGE_PARAMETER = {
    "name": "page",
    "in": "query",
    "required": False,
    "description": "The page of the list, from 1.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
}


def _neighbour_parameter(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description + " Not with the other one.",
        "schema": {"type": "integer", "minimum": 1, "maximum": ROW_ID_MAX},
    }


NEIGHBOUR_PARAMETERS = [
    _neighbour_parameter(
        "before",
        "The signers listed after this one (older): what `next` links to. An id that is "
        "not of a listed signer gives the latest page.",
    ),
    _neighbour_parameter(
        "after",
        "The signers listed just before this one (newer): what `previous` links to.",
    ),
]

LANGUAGE = {
    "type": "string",
    "pattern": "^[a-z]{2,3}$",
    "description": "A language code (ISO 639), such as fr.",
}

LANG_PARAMETER = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": (
        "The language to read the calls in, such as fr. A call that does not exist in it "
        "answers in the first language of the Accept-Language header it exists in, else in "
        "its own language; `language` says which one the answer is in."
    ),
    "schema": LANGUAGE,
    "example": "fr",
}

STATUS_PARAMETER = {
    "name": "status",
    "in": "query",
    "required": False,
    "description": "Which calls: open ones (the default), closed ones or all.",
    "schema": {"type": "string", "enum": ["open", "closed", "all"], "default": "open"},
}


def _json(schema: dict, description: str) -> dict:
    return {
        "description": description,
        "headers": HEADERS,
        "content": {"application/json": {"schema": schema}},
    }


ERRORS = {
    "400": _json(_ref("Error"), "A query parameter has a value the API does not accept."),
    "404": _json(_ref("Error"), "There is no call with this slug."),
}


def _get(summary: str, schema: dict, parameters: list, errors: tuple[str, ...]) -> dict:
    """A GET operation answering JSON."""
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": _json(schema, "OK"),
                **{code: ERRORS[code] for code in errors},
            },
        }
    }


CALL_PROPERTIES = {
    "slug": {"type": "string", "maxLength": SLUG_MAX},
    "language": LANGUAGE
    | {"description": "The language of the title, summary, body and demands of this answer."},
    "languages": {
        "type": "array",
        "items": LANGUAGE,
        "minItems": 1,
        "uniqueItems": True,
        "description": "Every language the call exists in: its own first, then translations.",
    },
    "title": {"type": "string", "maxLength": TITLE_MAX},
    "summary": {"type": "string", "maxLength": SUMMARY_MAX},
    "status": {"type": "string", "enum": ["open", "closed"]},
    "accepts_signatures": {
        "type": "boolean",
        "description": "Open, not past its closing time, and signing not paused: the sign "
        "form takes signatures.",
    },
    "closes_at": _nullable({"type": "string", "format": "date-time"}),
    "signature_goal": _nullable({"type": "integer", "minimum": 1}),
    "event": {"oneOf": [_ref("Event"), {"type": "null"}]},
    "counts": _ref("Counts"),
    "urls": _object(
        {
            "page": URL | {"description": "The call's public page."},
            "sign": URL | {"description": "The form individuals sign on."},
            "api": URL | {"description": "This call in the API."},
        }
    ),
}


def _list_page(item: str) -> dict:
    return _object(
        {
            "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            "per_page": {"type": "integer", "minimum": 1},
            "total": COUNT,
            "next": _nullable(URL | {"description": "The next page; null on the last one."}),
            "items": {"type": "array", "items": _ref(item)},
        }
    )


SCHEMAS = {
    "Error": _object(
        {
            "error": {"type": "string", "enum": ["not_found", "bad_request"]},
            "message": STRING,
        }
    ),
    "Counts": _object(
        {
            "individuals": COUNT | {"description": "Confirmed signatures."},
            "organizations": COUNT | {"description": "Approved endorsements."},
        }
    ),
    "Event": _object(
        {
            "starts_at": {
                "type": "string",
                "format": "date-time",
                "description": "ISO 8601, with the offset of the rally's own time zone.",
            },
            "timezone": {"type": "string", "maxLength": TIMEZONE_MAX, "examples": ["Europe/Paris"]},
            "place": _nullable({"type": "string", "maxLength": PLACE_MAX}),
            "address": _nullable({"type": "string", "maxLength": ADDRESS_MAX}),
        },
        "The rally of a call.",
    ),
    "CallSummary": _object(CALL_PROPERTIES, "A call, as listed."),
    "Call": _object(
        CALL_PROPERTIES
        | {
            "body": {"type": "string", "description": "The call's text, in Markdown."},
            "demands": {
                "type": "array",
                "items": STRING,
                "description": "In the call's order; one not translated yet is in its own "
                "language.",
            },
        },
        "A call with its text and demands.",
    ),
    "CallList": _object({"calls": {"type": "array", "items": _ref("CallSummary")}}),
    "Countries": _object(
        {
            "slug": {"type": "string", "maxLength": SLUG_MAX},
            "countries": {
                "type": "array",
                "items": _object({"country": COUNTRY, "signatures": COUNT | {"minimum": 1}}),
            },
            "other": COUNT,
            "minimum": COUNT | {"minimum": 1},
        },
        "Confirmed signatures by the signers' country, most first. A country with fewer "
        "than `minimum` signatures is not listed (a handful of signers would be pointed "
        "at): its signatures are counted in `other`.",
    ),
    "Organization": _object(
        {
            "name": {"type": "string", "maxLength": ORGANIZATION_MAX},
            "type": {"type": "string", "enum": [kind.value for kind in OrganizationType]},
            "city": {"type": "string", "maxLength": CITY_MAX},
            "country": COUNTRY,
            "website": _nullable({"type": "string", "maxLength": WEBSITE_MAX}),
        }
    ),
    "Signer": _object(
        {
            "full_name": {"type": "string", "maxLength": NAME_MAX},
            "city": {"type": "string", "maxLength": CITY_MAX},
            "country": COUNTRY,
        }
    ),
    "OrganizationPage": _list_page("Organization"),
    "SignerPage": _object(
        {
            "per_page": {"type": "integer", "minimum": 1},
            "previous": _nullable(
                URL | {"description": "The newer signers before this page; null on the first."}
            ),
            "next": _nullable(
                URL | {"description": "The older signers after this page; null on the last."}
            ),
            "items": {"type": "array", "items": _ref("Signer")},
        },
        "Pages of signers follow `next` and `previous`: they have no numbers, so that any "
        "page costs what the first one does.",
    ),
}


def openapi_description() -> dict:
    """The OpenAPI document: every route of the API, its parameters and its answers."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Petition public API",
            "version": "1.0.0",
            "description": (
                "Read-only JSON about the published calls: their counts, the approved "
                "organizations and the individuals who chose to be listed, exactly as the "
                f"public pages show them. Answers may be cached for {CACHE_SECONDS} seconds; "
                "counts are exact within a few seconds. No email address, no record id. "
                "A call can exist in several languages: ?lang= or the Accept-Language header "
                "chooses the one its words are given in (answers vary on Accept-Language)."
            ),
        },
        "paths": {
            "/api/v1/calls": _get(
                "The calls, newest first",
                _ref("CallList"),
                [STATUS_PARAMETER, LANG_PARAMETER],
                ("400",),
            ),
            "/api/v1/calls/{slug}": _get(
                "One call, with its text and demands",
                _ref("Call"),
                [SLUG_PARAMETER, LANG_PARAMETER],
                ("400", "404"),
            ),
            "/api/v1/calls/{slug}/countries": _get(
                "Confirmed signatures by country", _ref("Countries"), [SLUG_PARAMETER], ("404",)
            ),
            "/api/v1/calls/{slug}/organizations": _get(
                "Approved organizations that chose to be listed, by name",
                _ref("OrganizationPage"),
                [SLUG_PARAMETER, PAGE_PARAMETER],
                ("400", "404"),
            ),
            "/api/v1/calls/{slug}/signers": _get(
                "Confirmed individuals who chose to be listed, latest first",
                _ref("SignerPage"),
                [SLUG_PARAMETER, *NEIGHBOUR_PARAMETERS],
                ("400", "404"),
            ),
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This description",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
