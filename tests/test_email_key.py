"""The plain-address fast path of email_key gives email-validator's verdict and key, or steps aside.

rules.plain_email_key answers without email-validator for plain ASCII addresses (an
import of a million rows spent a third of its time in email-validator). For every address
it answers, email-validator must accept it and give the same key; for the others
email_key still asks email-validator. Generated addresses mix the plain ones with what
email-validator treats specially: quoted local parts, dots in odd places, IP literals,
long labels and parts, IDN and Punycode, "--", uppercase, special-use domains.
"""

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from petition.rules import email_key, plain_email_key

PLAIN_LOCAL = ["a", "Z", "0", "_", "+", "-", "amina", "Jean", "x" * 30]
ODD_LOCAL = ['"', '"quoted"', "=", "!", "#", "~", " ", "é", "@", "\\", "'", "..", "(c)"]
PLAIN_LABELS = ["example", "Example", "ORG", "b1", "1", "123", "a-b", "x" * 63]
ODD_LABELS = ["-a", "a-", "xn--e1afmkfd", "xn--bad", "ab--cd", "a--b", "é", "ü", "ｅｘａｍｐｌｅ"]
ODD_LABELS += ["x" * 64, "", "_a", "test", "local", "localhost", "invalid", "onion", "arpa"]
PLAIN_TLDS = ["org", "fr", "COM", "a", "museum"]
ODD_TLDS = ["1", "123", "test", "local", "localhost", "invalid", "onion", "arpa", "xn--p1ai"]
ODD_TLDS += ["é", "x" * 63, "x" * 64, "", "org.", "org "]
ODD_DOMAINS = ["[127.0.0.1]", "[IPv6:::1]", "", ".", "a..b", "[1.2.3.4"]


@st.composite
def addresses(draw) -> str:
    """An address, plain about half the time, else with one of email-validator's special cases."""

    def piece(plain, odd):
        return draw(
            st.sampled_from(odd) if draw(st.integers(0, 9)) == 0 else st.sampled_from(plain)
        )

    words = [piece(PLAIN_LOCAL, ODD_LOCAL) for _ in range(draw(st.integers(0, 3)))]
    local = "".join(words) if draw(st.integers(0, 3)) == 0 else ".".join(words)
    if draw(st.integers(0, 15)) == 0:
        return local + "@" + draw(st.sampled_from(ODD_DOMAINS))
    labels = [piece(PLAIN_LABELS, ODD_LABELS) for _ in range(draw(st.integers(0, 4)))]
    return local + "@" + ".".join([*labels, piece(PLAIN_TLDS, ODD_TLDS)])


def validator_key(address: str) -> str | None:
    """What email_key gave before the fast path: email-validator's normalized form, lower-cased."""
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


@settings(max_examples=3000, deadline=None)
@given(addresses() | st.text(max_size=40) | st.emails())
@example("Amina.Diallo+calais@Example.ORG")
@example("a@" + "b" * 63 + ".org")
@example("x" * 64 + "@example.org")
@example("x" * 65 + "@example.org")
@example("a@" + ".".join(["b" * 63] * 3) + "." + "c" * 61)  # 253 after the @
@example("a@" + ".".join(["b" * 63] * 3) + "." + "c" * 62)  # 254 after the @
@example("a@mail.test")
@example("Postmaster@example.org")
def test_the_fast_path_agrees_with_email_validator(address):
    fast = plain_email_key(address)
    expected = validator_key(address)
    if fast is not None:
        assert fast == expected  # accepted by email-validator, with the same key
    if expected is None:
        with pytest.raises(EmailNotValidError):
            email_key(address)
    else:
        assert email_key(address) == expected


@pytest.mark.parametrize(
    "address",
    ["amina@example.org", "Jean.Martin+news@Mail.Example.ORG", "s_1-2@a-b.c.fr", "i0@example.org"],
)
def test_plain_addresses_take_the_fast_path(address):
    """The addresses of an ordinary file skip email-validator (else the test above is idle)."""
    assert plain_email_key(address) == address.lower()


@pytest.mark.parametrize(
    "address",
    [
        '"quoted"@example.org',
        "a@[127.0.0.1]",
        "a@xn--e1afmkfd.org",
        "a@exämple.org",
        "a@ab--cd.org",
        "a@localhost.localhost",
        "a@example.test",
        "a@example.123",
        "a..b@example.org",
        "=1+1@example.org",
        "a@" + "b" * 64 + ".org",
    ],
)
def test_other_addresses_are_left_to_email_validator(address):
    assert plain_email_key(address) is None
