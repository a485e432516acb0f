"""The signer's rules, in one place: cleaning text, what a text may hold, the email address.

The signing forms, the CSV import and the domain functions (`signing.sign`,
`signing.endorse`) all check a signer's values here, so that none of them can store what
another refuses. Each check returns a message for the person (in their language) or None.
"""

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from disposable_email_domains import blocklist as _DISPOSABLE_DOMAINS
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import (
    DNS_LABEL_LENGTH_LIMIT,
    DOMAIN_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    LOCAL_PART_MAX_LENGTH,
)
from flask import current_app, g, has_app_context
from flask_babel import gettext as _
from publicsuffixlist import PublicSuffixList

from .countries import country_codes
from .errors import DomainError
from .models import (
    AFFILIATION_MAX,
    CITY_MAX,
    EMAIL_MAX,
    NAME_MAX,
    ORGANIZATION_MAX,
    ROLE_MAX,
    WEBSITE_MAX,
)

# --- Text -------------------------------------------------------------------------------

# Zero-width joiners are part of how Persian, Indic scripts and emoji are written.
_ALLOWED_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})


def clean_text(value: str | None) -> str:
    """NFC, every run of whitespace (tabs, CR/LF, no-break spaces) as one space, ends trimmed."""
    if value is None:
        return ""
    if value.isascii():  # already NFC, and no joiner to trim: the common case, cheaply
        return " ".join(value.split())
    value = " ".join(unicodedata.normalize("NFC", value).split())
    return value.strip("".join(_ALLOWED_FORMAT_CHARACTERS)).strip()


def has_forbidden_characters(value: str) -> bool:
    """Whether a text holds control, bidi-override, zero-width or private-use characters."""
    if value.isprintable():  # none of category C (nor Z but the space): at C speed
        return False
    return any(
        unicodedata.category(c) in _FORBIDDEN_CATEGORIES and c not in _ALLOWED_FORMAT_CHARACTERS
        for c in value
    )


_LINK = re.compile(r"https?:|www\.|://", re.IGNORECASE)
# The full stop and the dots IDNA (UTS 46) maps to it: ideographic, full-width, half-width.
_ANY_DOT = re.compile("[.\u3002\uff0e\uff61]")
# A word with dots whose last part may be a top-level domain: `evil-example.com/login`.
_DOTTED_WORD = re.compile(r"[\w-]+(?:\.[\w-]+)+")


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # The Public Suffix List shipped with the package (no download): every real top-level
    # domain, and none of the words that follow a dot in names ("Ste.Marie", "M.Sc").
    return PublicSuffixList()


def contains_web_address(value: str) -> bool:
    """Whether a text holds a web address, a bare domain such as `evil-example.com` included.

    Names, places and organizations reach mails and public pages: spammers put links there.
    """
    if _LINK.search(value):
        return True
    if not _ANY_DOT.search(value):
        return False  # most names: no dot at all
    # The dots IDNA reads as dots, then NFKC for full-width letters: what a browser opens.
    folded = unicodedata.normalize("NFKC", _ANY_DOT.sub(".", value)).casefold()
    for word in _DOTTED_WORD.findall(folded):
        suffix = _public_suffixes().publicsuffix(word, accept_unknown=False)
        if suffix is None or suffix == word:
            continue
        # One letter before the suffix is an initial ("M.Sc", "J.fr"), not a domain.
        label = word[: -len(suffix) - 1].rpartition(".")[2]
        if len(label.strip("-")) >= 2:
            return True
    return False


# The signer's fields, in the order the forms, the import and the exports list them: what the
# domain functions take (signing.sign, signing.endorse), by the names integrations rely on.
SIGNATURE_FIELDS = (
    "full_name",
    "email",
    "city",
    "country",
    "affiliation",
    "show_publicly",
    "wants_updates",
    "will_attend",  # asked only while a rally is to come
)
ENDORSEMENT_FIELDS = (
    "organization",
    "org_type",
    "country",
    "city",
    "website",
    "contact_name",
    "contact_email",
    "contact_role",
    "show_publicly",
)
# The fields besides the address: what a later submission keeps, and a correction changes.
SIGNATURE_DETAILS = tuple(name for name in SIGNATURE_FIELDS if name != "email")
ENDORSEMENT_DETAILS = tuple(name for name in ENDORSEMENT_FIELDS if name != "contact_email")


@dataclass(frozen=True)
class TextRule:
    """A text field of a signature or an endorsement: its limit, and whether it is required."""

    name: str
    limit: int
    required: bool = True


FULL_NAME = TextRule("full_name", NAME_MAX)
CITY = TextRule("city", CITY_MAX)
AFFILIATION = TextRule("affiliation", AFFILIATION_MAX, required=False)
ORGANIZATION = TextRule("organization", ORGANIZATION_MAX)
CONTACT_NAME = TextRule("contact_name", NAME_MAX)
CONTACT_ROLE = TextRule("contact_role", ROLE_MAX)
SIGNATURE_TEXT = (FULL_NAME, CITY, AFFILIATION)
ENDORSEMENT_TEXT = (ORGANIZATION, CITY, CONTACT_NAME, CONTACT_ROLE)


def required_message() -> str:
    """What an empty required field says."""
    return _("This field is required.")


def too_long_message(limit: int) -> str:
    """What a text over its limit says."""
    return _("At most %(max)d characters, please.", max=limit)


def text_problem(value: str, limit: int, required: bool = True) -> str | None:
    """What is wrong with a cleaned signer's text (name, city, organization...), or None."""
    if not value:
        return required_message() if required else None
    if len(value) > limit:
        return too_long_message(limit)
    if has_forbidden_characters(value):
        return _("Please remove the invisible or control characters.")
    if contains_web_address(value):
        return _("Please do not enter a web address here.")
    return None


_BARE_DOMAIN = re.compile(r"^[\w-]+(\.[\w-]+)*\.[a-z]{2,}(:\d{1,5})?(/\S*)?$", re.IGNORECASE)


def normalize_website(value: str | None) -> str | None:
    """`example.org` as `https://example.org`; anything else as given, for `website_problem`."""
    if value and "://" not in value and _BARE_DOMAIN.match(value):
        return f"https://{value}"
    return value


def website_problem(value: str) -> str | None:
    """What is wrong with an organization's website: only http(s) with a host, no credentials."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return _("Enter a web address such as https://example.org.")
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or "." not in parts.hostname
        or "@" in parts.netloc
        or any(c.isspace() for c in value)
        or has_forbidden_characters(value)
    ):
        return _("Enter a web address such as https://example.org.")
    return None


# --- Notes organizers write about signers ----------------------------------------------

_ADDRESS_IN_TEXT = re.compile(r"[^\s@<>\"'(),;:\[\]]+@[^\s@<>\"'(),;:\[\]]+\.[^\s@<>\"'(),;:\[\]]+")
_WORD = re.compile(r"\w+")


def anonymized_note(text: str | None, names: Iterable[str] = ()) -> str | None:
    """An organizer's free text (a reason, a file name) as records that outlive signers keep
    it: email addresses, and the words of the given signers' names, taken out."""
    if not text:
        return text
    text = _ADDRESS_IN_TEXT.sub("[address]", text)
    parts = {word.casefold() for name in names for word in _WORD.findall(name) if len(word) > 1}
    if not parts:
        return text
    return _WORD.sub(lambda m: "[name]" if m.group(0).casefold() in parts else m.group(0), text)


# --- Email addresses --------------------------------------------------------------------


def normalize_email(address: str, *, check_deliverability: bool = False) -> str:
    """The address as email-validator normalizes it (domain lower-cased and IDNA-normalized).

    Raises EmailNotValidError; `email_reason` says why in the reader's language.
    """
    # A signing asks three times for the same address (the form, the dedupe key, the mail):
    # the request remembers its last answer, one address only (an import asks for many).
    asked = (address, check_deliverability)
    last = g.get("last_normalized_email") if has_app_context() else None
    if last is not None and last[0] == asked:
        return last[1]
    normalized = validate_email(address, check_deliverability=check_deliverability).normalized
    if has_app_context():
        g.last_normalized_email = (asked, normalized)
    return normalized


def email_key(address: str) -> str:
    """The dedupe key: the normalized address with its local part lower-cased too."""
    return plain_email_key(address) or normalize_email(address).lower()


# Addresses email-validator accepts and gives back unchanged but for the domain's case:
# words of ASCII letters, digits, _ + - between dots before the @; after it, host names of
# letters, digits and inner hyphens under a top-level domain of letters. Anything else
# (quotes, IP literals, IDN, "--" as in Punycode, other characters, long parts, the
# special-use names) is left to email-validator. tests/test_email_key.py compares the two.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]+"
)
_SPECIAL_USE_SUFFIXES = tuple("." + name for name in SPECIAL_USE_DOMAIN_NAMES)


def plain_email_key(address: str) -> str | None:
    """email_key of a plain address without email-validator (thirty times faster), else None."""
    if len(address) > EMAIL_MAX_LENGTH or not _PLAIN_ADDRESS.fullmatch(address):
        return None
    local, _at, domain = address.partition("@")
    domain = domain.lower()
    if (
        len(local) > LOCAL_PART_MAX_LENGTH
        or len(domain) > DOMAIN_MAX_LENGTH
        or "--" in domain
        or any(len(label) > DNS_LABEL_LENGTH_LIMIT for label in domain.split("."))
        or domain in SPECIAL_USE_DOMAIN_NAMES
        or domain.endswith(_SPECIAL_USE_SUFFIXES)
    ):
        return None
    return address.lower()


# email-validator explains in English. Its reasons fall into a few kinds, each said here in
# the reader's language: a fragment of its message, and our sentence for that kind.
def _email_reasons() -> tuple[tuple[str, str], ...]:
    return (
        ("must have an @-sign", _("An email address has an @, as in name@example.org.")),
        ("something before the @-sign", _("Something is missing before the @.")),
        ("something after the @-sign", _("Something is missing after the @.")),
        ("full-width", _("Please type the @ on an ordinary keyboard layout.")),
        # Before "period": "It should have a period" is about the domain.
        ("should have a period", _("After the @ comes a domain such as example.org.")),
        ("top-level domain", _("After the @ comes a domain such as example.org.")),
        ("period", _("This email address has a dot in the wrong place.")),
        ("hyphen", _("This email address has a hyphen in the wrong place.")),
        ("special-use or reserved", _("The part after the @ cannot receive email.")),
        ("too long", _("This email address is too long.")),
        ("so many characters", _("This email address is too long.")),
        ("quot", _("Please type only the address itself, such as name@example.org.")),
        ("display name", _("Please type only the address itself, such as name@example.org.")),
        ("bracket", _("Please type only the address itself, such as name@example.org.")),
        ("does not exist", _("The domain after the @ does not exist: check for a typo.")),
        ("accept email", _("The domain after the @ does not receive email: check for a typo.")),
        ("send email", _("The domain after the @ does not receive email: check for a typo.")),
        ("while checking", _("We could not check the domain after the @: try again later.")),
    )


# "...invalid characters before the @-sign: ',', SPACE." names what it refused.
_REFUSED_CHARACTERS = re.compile(r":\s*(.+?)\.?$")


def email_reason(error: EmailNotValidError) -> str:
    """Why email-validator refused an address, in the reader's language."""
    message = str(error)
    # Character problems first: "period" and "quotes" also appear in their messages.
    if "character" in message or "not valid ASCII" in message:
        listed = _REFUSED_CHARACTERS.search(message)
        shown = [item.strip() for item in listed.group(1).split(", ")] if listed else []
        quoted = [item[1:-1] for item in shown if len(item) >= 3 and item[0] == item[-1] == "'"]
        if quoted and len(quoted) == len(shown):
            return _(
                "This email address cannot contain these characters: %(characters)s",
                characters=" ".join(quoted),
            )
        return _("This email address contains a space, an invisible or an unusual character.")
    for fragment, reason in _email_reasons():
        if fragment in message.lower():
            return reason
    return _("This email address is not valid: please check it.")


def email_domain(normalized: str) -> str:
    """The part after the @ of a normalized address."""
    return normalized.rpartition("@")[2].lower()


def is_disposable(domain: str) -> bool:
    """Whether a domain (or a domain it belongs to) gives out throwaway addresses.

    The list is the `disposable-email-domains` package's, kept up to date by its
    maintainers; DISPOSABLE_EMAIL_DOMAINS_BLOCK adds domains, _ALLOW takes some off.
    """
    allowed, blocked = _domain_settings()
    parents = _parent_domains(domain)
    if any(name in allowed for name in parents):
        return False
    return any(name in _DISPOSABLE_DOMAINS or name in blocked for name in parents)


def _parent_domains(domain: str) -> list[str]:
    labels = domain.lower().rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _domain_settings() -> tuple[frozenset[str], frozenset[str]]:
    config = current_app.config
    return (
        domain_set(config.get("DISPOSABLE_EMAIL_DOMAINS_ALLOW")),
        domain_set(config.get("DISPOSABLE_EMAIL_DOMAINS_BLOCK")),
    )


@functools.lru_cache(maxsize=16)
def _domain_set(value: str | tuple) -> frozenset[str]:
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    return frozenset(item.strip().lower().lstrip("@") for item in items if item.strip())


def domain_set(value: str | Iterable[str] | None) -> frozenset[str]:
    """A setting's domains: a list, or a text of domains separated by commas or spaces."""
    if not value:
        return frozenset()
    return _domain_set(value if isinstance(value, str) else tuple(value))


def email_problem(address: str, check_deliverability: bool = False) -> str | None:
    """What is wrong with an address a signer typed, or None; disposable domains refused."""
    if not address:
        return required_message()
    if len(address) > EMAIL_MAX:
        return too_long_message(EMAIL_MAX)
    # The fast path of plain addresses (an import checks a million), unless DNS is asked.
    key = None if check_deliverability else plain_email_key(address)
    if key is None:
        try:
            key = normalize_email(address, check_deliverability=check_deliverability)
        except EmailNotValidError as error:
            return email_reason(error)
    domain = email_domain(key)
    if is_disposable(domain):
        return _(
            "Addresses at %(domain)s disappear after a few minutes: please use an address "
            "you keep, so that you can confirm, and withdraw whenever you like.",
            domain=domain,
        )
    return None


# --- A whole signature or endorsement ----------------------------------------------------


class InvalidSubmission(DomainError):
    """A signer's values break a rule: `problems` maps each field to its message."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(", ".join(sorted(problems)))
        self.problems = problems


def checked_values(
    values: dict, text_rules: Iterable[TextRule], email_field: str | None = None
) -> dict:
    """The values with their texts cleaned; InvalidSubmission if any breaks a rule.

    What the domain functions run on every signature and endorsement, whoever calls them
    (without `email_field`, the address is not among the values checked).
    """
    cleaned = dict(values)
    problems: dict[str, str] = {}
    for rule in text_rules:
        cleaned[rule.name] = clean_text(values.get(rule.name)) or None
        if problem := text_problem(cleaned[rule.name] or "", rule.limit, rule.required):
            problems[rule.name] = problem
    if email_field is not None:
        cleaned[email_field] = clean_text(values.get(email_field))
        if problem := email_problem(cleaned[email_field]):
            problems[email_field] = problem
    if values.get("country") not in country_codes():
        problems["country"] = _("Please choose from the list.")
    if "website" in values:
        cleaned["website"] = normalize_website(clean_text(values["website"])) or None
        if cleaned["website"] and (problem := website_problem(cleaned["website"])):
            problems["website"] = problem
        elif cleaned["website"] and len(cleaned["website"]) > WEBSITE_MAX:
            problems["website"] = too_long_message(WEBSITE_MAX)
    if problems:
        raise InvalidSubmission(problems)
    return cleaned
