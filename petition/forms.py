"""Forms: the shape of the input. Text is cleaned (NFC, whitespace) before it is validated."""

import re
from urllib.parse import urlsplit

from email_validator import EmailNotValidError
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from .countries import country_choices
from .models import (
    AFFILIATION_MAX,
    CITY_MAX,
    EMAIL_MAX,
    NAME_MAX,
    ORGANIZATION_MAX,
    ROLE_MAX,
    WEBSITE_MAX,
    OrganizationType,
)
from .signing import clean_text, has_forbidden_characters, normalize_email
from .tokens import form_age, form_timestamp

ORGANIZATION_TYPES = {
    OrganizationType.ASSOCIATION: _l("Association"),
    OrganizationType.TRADE_UNION: _l("Trade union"),
    OrganizationType.COLLECTIVE: _l("Collective"),
    OrganizationType.NGO: _l("NGO"),
    OrganizationType.POLITICAL_PARTY: _l("Political party"),
    OrganizationType.RELIGIOUS_ORGANIZATION: _l("Religious organization"),
    OrganizationType.MEDIA: _l("Media"),
    OrganizationType.OTHER: _l("Other"),
}
_LINK = re.compile(r"(https?://|www\.|://)", re.IGNORECASE)
_BARE_DOMAIN = re.compile(r"^[\w-]+(\.[\w-]+)*\.[a-z]{2,}(:\d{1,5})?(/\S*)?$", re.IGNORECASE)


def _clean(value):
    return clean_text(value) if isinstance(value, str) else value


def plain_text(form, field) -> None:
    """Refuse control, bidi-override and zero-width characters."""
    if field.data and has_forbidden_characters(field.data):
        raise ValidationError(_l("Please remove the invisible or control characters."))


def no_links(form, field) -> None:
    """Names and places are not the place for web addresses (a favourite of spammers)."""
    if field.data and _LINK.search(field.data):
        raise ValidationError(_l("Please do not enter a web address here."))


def deliverable_email(form, field) -> None:
    """Check the address with email-validator; DNS only when the setting asks for it."""
    if not field.data:
        return
    try:
        normalize_email(
            field.data,
            check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        )
    except EmailNotValidError as error:
        raise ValidationError(
            _l("This email address is not valid: %(reason)s", reason=str(error))
        ) from None


def normalize_website(value):
    """Accept `example.org` for `https://example.org`; leave anything else to the validator."""
    value = _clean(value)
    if value and "://" not in value and _BARE_DOMAIN.match(value):
        return f"https://{value}"
    return value


def web_address(form, field) -> None:
    """Only http(s) addresses with a host name, no credentials."""
    if not field.data:
        return
    parts = urlsplit(field.data)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValidationError(_l("Enter a web address such as https://example.org.")) from None
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or "." not in parts.hostname
        or "@" in parts.netloc
        or any(c.isspace() for c in field.data)
    ):
        raise ValidationError(_l("Enter a web address such as https://example.org."))


def _text(label, limit, required=True, validators=(), **kwargs):
    return StringField(
        label,
        filters=[_clean],
        validators=[
            # DataRequired looks at the cleaned value: "   " is empty.
            DataRequired(_l("This field is required.")) if required else Optional(),
            Length(max=limit, message=_l("At most %(max)d characters, please.")),
            plain_text,
            *validators,
        ],
        **kwargs,
    )


def _email(label, **kwargs):
    return EmailField(
        label,
        filters=[_clean],
        validators=[
            DataRequired(_l("This field is required.")),
            Length(max=EMAIL_MAX, message=_l("At most %(max)d characters, please.")),
            deliverable_email,
        ],
        **kwargs,
    )


class ChoiceField(SelectField):
    """A select whose out-of-list values get a message a person understands."""

    def pre_validate(self, form) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Please choose from the list."))


def _country():
    return ChoiceField(_l("Country"), validators=[InputRequired(_l("Please choose a country."))])


def _consent():
    return BooleanField(
        _l("I have read the privacy notice and agree that my signature is stored for this call."),
        validators=[DataRequired(_l("We can only record your signature with your consent."))],
    )


class _SigningForm(FlaskForm):
    """A public form: countries in the reader's language, and two traps for bots.

    `url` is a field people never see (a honeypot); `form_time` says when the form was
    served. A filled trap or a form sent faster than MIN_FORM_SECONDS looks automated:
    the view answers as if it worked and stores nothing, so the bot learns nothing.
    """

    url = StringField(_l("Leave this field empty"))
    form_time = HiddenField()

    def looks_automated(self) -> bool:
        """Whether a bot probably sent this (call after validation)."""
        if self.url.data:
            return True
        minimum = current_app.config["MIN_FORM_SECONDS"]
        if not minimum:
            return False
        age = form_age(self.form_time.data)
        return age is None or age < minimum

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.form_time.data = form_timestamp()
        self.country.choices = [SelectChoice("", _l("Choose a country"))] + [
            SelectChoice(code, name) for code, name in country_choices(str(get_locale() or "en"))
        ]


class SignatureForm(_SigningForm):
    """An individual's signature."""

    full_name = _text(_l("Full name"), NAME_MAX, validators=[no_links])
    email = _email(
        _l("Email"),
        description=_l("We send you a link to confirm. It is never shown in public."),
    )
    city = _text(_l("City"), CITY_MAX, validators=[no_links])
    country = _country()
    affiliation = _text(_l("Affiliation or occupation (optional)"), AFFILIATION_MAX, required=False)
    show_publicly = BooleanField(_l("Show my name, city and country in the public list"))
    wants_updates = BooleanField(_l("Send me news about this call"))
    consent = _consent()


class EndorsementForm(_SigningForm):
    """An organization's endorsement, made by a contact person."""

    organization = _text(_l("Organization"), ORGANIZATION_MAX, validators=[no_links])
    org_type = ChoiceField(
        _l("Type of organization"),
        choices=[SelectChoice("", _l("Choose a type"))]
        + [SelectChoice(kind.value, label) for kind, label in ORGANIZATION_TYPES.items()],
        validators=[InputRequired(_l("Please choose a type."))],
    )
    country = _country()
    city = _text(_l("City"), CITY_MAX, validators=[no_links])
    website = StringField(
        _l("Website (optional)"),
        filters=[normalize_website],
        validators=[
            Optional(),
            Length(max=WEBSITE_MAX, message=_l("At most %(max)d characters, please.")),
            plain_text,
            web_address,
        ],
    )
    contact_name = _text(_l("Your name"), NAME_MAX, validators=[no_links])
    contact_email = _email(
        _l("Your email"),
        description=_l("We send you a link to confirm. It is never shown in public."),
    )
    contact_role = _text(_l("Your role in the organization"), ROLE_MAX)
    show_publicly = BooleanField(_l("Show the organization in the public list"), default=True)
    authorized = BooleanField(
        _l("I am authorized to endorse this call on behalf of the organization."),
        validators=[DataRequired(_l("Only someone authorized by the organization can endorse."))],
    )
    consent = _consent()


class ButtonForm(FlaskForm):
    """A button that changes something: a POST carrying a CSRF token and nothing else.

    Confirming, withdrawing, approving and logging out all use it, so that no GET
    (a mail scanner following a link, an image tag) can change anything.
    """


class LoginForm(FlaskForm):
    """An organizer's login."""

    email = EmailField(
        _l("Email"),
        filters=[_clean],
        validators=[InputRequired(_l("This field is required.")), Length(max=EMAIL_MAX)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("This field is required.")), Length(max=1024)],
    )


# --- The organizers' workspace: calls (views/calls.py) ---


# --- The organizers' workspace: moderation and search (views/moderation.py) ---


# --- The organizers' workspace: export filters (views/exports.py) ---


# --- The organizers' workspace: imports (views/imports.py) ---


# --- The organizers' workspace: accounts (views/accounts.py) ---
