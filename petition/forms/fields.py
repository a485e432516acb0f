"""What every form is made of: cleaned text fields, the signer's rules as validators, countries,
choices, dates and numbers as the browser sends them, and the base form."""

from functools import cache

from babel.support import Translations
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import Select, html_params

from .. import rules
from ..countries import country_choices, country_codes
from ..models import (
    EMAIL_MAX,
    OrganizationType,
)
from ..rules import clean_text, has_forbidden_characters

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


def clean(value):
    return clean_text(value) if isinstance(value, str) else value


def plain_text(form, field) -> None:
    """Refuse control, bidi-override and zero-width characters."""
    if field.data and has_forbidden_characters(field.data):
        raise ValidationError(_l("Please remove the invisible or control characters."))


class SignerText:
    """A signer's text (name, city, organization...), checked by `rules.text_problem`: the
    rule the import and the domain functions apply too."""

    def __init__(self, rule: rules.TextRule):
        self.max = rule.limit  # the field's maxlength (render_field reads it)
        self.rule = rule
        self.field_flags = {"required": True} if rule.required else {}

    def __call__(self, form, field) -> None:
        problem = rules.text_problem(field.data or "", self.rule.limit, self.rule.required)
        if problem:
            raise StopValidation(problem)


def signer_text_field(label, rule: rules.TextRule, **kwargs):
    return StringField(label, filters=[clean], validators=[SignerText(rule)], **kwargs)


def signer_email(form, field) -> None:
    """The address as `rules.email_problem` sees it; DNS only when the setting asks for it."""
    problem = rules.email_problem(
        field.data or "", check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"]
    )
    if problem:
        raise StopValidation(problem)


def normalize_website(value):
    """Accept `example.org` for `https://example.org`; leave anything else to the validator."""
    return rules.normalize_website(clean(value))


def web_address(form, field) -> None:
    """Only http(s) addresses with a host name, no credentials (`rules.website_problem`)."""
    if field.data and (problem := rules.website_problem(field.data)):
        raise ValidationError(problem)


def text_field(label, limit, required=True, validators=(), **kwargs):
    return StringField(
        label,
        filters=[clean],
        validators=[
            # DataRequired looks at the cleaned value: "   " is empty.
            DataRequired(_l("This field is required.")) if required else Optional(),
            Length(max=limit, message=_l("At most %(max)d characters, please.")),
            plain_text,
            *validators,
        ],
        **kwargs,
    )


class _EmailRequired:
    """Marks the field required for the browser; `signer_email` says what is wrong."""

    field_flags = {"required": True}
    max = EMAIL_MAX

    def __call__(self, form, field) -> None:
        pass


def email_field(label, **kwargs):
    return EmailField(label, filters=[clean], validators=[_EmailRequired(), signer_email], **kwargs)


class ChoiceField(SelectField):
    """A select whose out-of-list values get a message a person understands."""

    def pre_validate(self, form) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Please choose from the list."))


def country_options() -> tuple[SelectChoice, ...]:
    """The countries in the reader's language (built once per language: every form has them)."""
    return _country_options_in(str(get_locale() or "en"))


@cache
def _country_options_in(locale: str) -> tuple[SelectChoice, ...]:
    return tuple(SelectChoice(code, name) for code, name in country_choices(locale))


@cache
def signing_country_choices(locale: str) -> tuple[SelectChoice, ...]:
    """The signing forms' countries in one language, after a prompt: the same tuple for every
    form in that language, so that its <option> tags are rendered once (_CountrySelect)."""
    return (SelectChoice("", _l("Choose a country")), *_country_options_in(locale))


@cache
def _country_option_tags(locale: str) -> tuple[tuple[str, Markup], ...]:
    """(value, <option> tag, not selected) of each of `signing_country_choices(locale)`."""
    return tuple(
        (choice.value, Select.render_option(Choice(choice.value, choice.label, False, None)))
        for choice in signing_country_choices(locale)
    )


class _CountrySelect(Select):
    """Select's HTML, the 250 countries' tags made once per language: rendering them for each
    form took more time than the rest of the signing page."""

    def __call__(self, field, **kwargs):
        locale = str(get_locale() or "en")
        if field.choices is not signing_country_choices(locale):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        for name in self.validation_attrs:
            if name not in kwargs and getattr(field.flags, name):
                kwargs[name] = True
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for (value, tag), choice in zip(_country_option_tags(locale), field.choices, strict=True):
            if value == field.data:
                tag = self.render_option(Choice(choice.value, choice.label, True, None))
            html.append(tag)
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - as Select: html_params and tags escape


class _CountryField(ChoiceField):
    """The signing forms' country: its choices are the prompt and country_codes()."""

    widget = _CountrySelect()

    def pre_validate(self, form) -> None:
        # A set lookup: ChoiceField's set of 250 choices, built per submission, was a
        # quarter of a signature's validation.
        if self.data != "" and self.data not in country_codes():
            raise ValidationError(_l("Please choose from the list."))


def country_field():
    return _CountryField(_l("Country"), validators=[InputRequired(_l("Please choose a country."))])


class _WTFormsMessages:
    """WTForms' catalog for the reader's language, read once per language: Flask-WTF's reads
    it from disk in every request (a profile of signing: 7 % of the view)."""

    def gettext(self, string: str) -> str:
        return _wtforms_catalog(str(get_locale() or "en")).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalog(str(get_locale() or "en")).ungettext(singular, plural, n)


@cache
def _wtforms_catalog(locale: str) -> Translations:
    return Translations.load(messages_path(), [locale], domain="wtforms")


WTFORMS_MESSAGES = _WTFormsMessages()


class BaseForm(FlaskForm):
    """The base of every form that carries a CSRF token.

    Its token field is rendered without an id: a page may hold one form per row (approve,
    reject, hide), and an id must be unique in a page.
    """

    class Meta:
        def render_field(self, field, render_kw):
            """Render a field; the CSRF token's without an id."""
            if field.short_name == self.csrf_field_name:
                render_kw = {**render_kw, "id": False}
            return super().render_field(field, render_kw)


class ButtonForm(BaseForm):
    """A button that changes something: a POST carrying a CSRF token and nothing else.

    Confirming, withdrawing, approving and logging out all use it, so that no GET
    (a mail scanner following a link, an image tag) can change anything.
    """


def whole_number_field(label, minimum, maximum, message, **kwargs):
    return WholeNumberField(
        label,
        validators=[Optional(), NumberRange(min=minimum, max=maximum, message=message)],
        **kwargs,
    )


def local_datetime_field(label, **kwargs):
    # The "T" form first: it is what a datetime-local input shows and sends.
    return LocalDateTimeField(
        label,
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        validators=[Optional()],
        **kwargs,
    )


# After an error, a date or number input shows the value read, else nothing, as a browser
# shows nothing for what the input cannot hold: echoing the text that failed (sent by an
# older browser, or typed into the address) would be invalid HTML.


class DayField(DateField):
    """A day, as <input type="date"> shows and sends it."""

    def _value(self) -> str:
        return self.data.isoformat() if self.data else ""


class LocalDateTimeField(DateTimeLocalField):
    """A date and time without a zone, as <input type="datetime-local"> shows and sends it."""

    def _value(self) -> str:
        return self.data.isoformat(timespec="minutes") if self.data else ""


class WholeNumberField(IntegerField):
    """A whole number, as <input type="number"> shows and sends it."""

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)
