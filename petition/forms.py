"""Forms: the shape of the input. Text is cleaned (NFC, whitespace) before it is validated."""

from functools import cache

from babel.support import Translations
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget, Select, html_params

from . import petitions, rules
from .auth import MIN_PASSWORD_LENGTH
from .countries import country_choices, country_codes
from .exports import ExportFilters
from .languages import language_choices, language_name
from .models import (
    ADDRESS_MAX,
    EMAIL_MAX,
    NAME_MAX,
    PLACE_MAX,
    REASON_MAX,
    SLUG_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    WEBSITE_MAX,
    OrganizationType,
    SignatureSource,
    SignatureStatus,
)
from .rules import clean_text, has_forbidden_characters
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


def _clean(value):
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


def _signer_text(label, rule: rules.TextRule, **kwargs):
    return StringField(label, filters=[_clean], validators=[SignerText(rule)], **kwargs)


def signer_email(form, field) -> None:
    """The address as `rules.email_problem` sees it; DNS only when the setting asks for it."""
    problem = rules.email_problem(
        field.data or "", check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"]
    )
    if problem:
        raise StopValidation(problem)


def normalize_website(value):
    """Accept `example.org` for `https://example.org`; leave anything else to the validator."""
    return rules.normalize_website(_clean(value))


def web_address(form, field) -> None:
    """Only http(s) addresses with a host name, no credentials (`rules.website_problem`)."""
    if field.data and (problem := rules.website_problem(field.data)):
        raise ValidationError(problem)


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


class _EmailRequired:
    """Marks the field required for the browser; `signer_email` says what is wrong."""

    field_flags = {"required": True}
    max = EMAIL_MAX

    def __call__(self, form, field) -> None:
        pass


def _email(label, **kwargs):
    return EmailField(
        label, filters=[_clean], validators=[_EmailRequired(), signer_email], **kwargs
    )


class ChoiceField(SelectField):
    """A select whose out-of-list values get a message a person understands."""

    def pre_validate(self, form) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Please choose from the list."))


def _country_options() -> tuple[SelectChoice, ...]:
    """The countries in the reader's language (built once per language: every form has them)."""
    return _country_options_in(str(get_locale() or "en"))


@cache
def _country_options_in(locale: str) -> tuple[SelectChoice, ...]:
    return tuple(SelectChoice(code, name) for code, name in country_choices(locale))


@cache
def _signing_country_choices(locale: str) -> tuple[SelectChoice, ...]:
    """The signing forms' countries in one language, after a prompt: the same tuple for every
    form in that language, so that its <option> tags are rendered once (_CountrySelect)."""
    return (SelectChoice("", _l("Choose a country")), *_country_options_in(locale))


@cache
def _country_option_tags(locale: str) -> tuple[tuple[str, Markup], ...]:
    """(value, <option> tag, not selected) of each of `_signing_country_choices(locale)`."""
    return tuple(
        (choice.value, Select.render_option(Choice(choice.value, choice.label, False, None)))
        for choice in _signing_country_choices(locale)
    )


class _CountrySelect(Select):
    """Select's HTML, the 250 countries' tags made once per language: rendering them for each
    form took more time than the rest of the signing page."""

    def __call__(self, field, **kwargs):
        locale = str(get_locale() or "en")
        if field.choices is not _signing_country_choices(locale):
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


def _country():
    return _CountryField(_l("Country"), validators=[InputRequired(_l("Please choose a country."))])


def _consent():
    return BooleanField(
        _l("I have read the privacy notice and agree that my signature is stored for this call."),
        validators=[DataRequired(_l("We can only record your signature with your consent."))],
    )


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


_WTFORMS_MESSAGES = _WTFormsMessages()


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


class _SigningForm(BaseForm):
    """A public form: countries in the reader's language, and two traps for bots.

    `url` is a field people never see (a honeypot); `form_time` says when the form was
    served. A filled trap or a form sent faster than MIN_FORM_SECONDS looks automated:
    the view answers as if it worked and stores nothing, so the bot learns nothing.
    """

    url = StringField(_l("Leave this field empty"))
    form_time = HiddenField()

    class Meta:
        def get_translations(self, form):
            """WTForms' own messages in the reader's language, from the catalog read once."""
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _WTFORMS_MESSAGES

    # Which form this is, in its time stamp: a stamp serves one form of one call only.
    KIND = ""
    EMAIL_FIELD = ""

    def looks_automated(self) -> bool:
        """Whether a bot probably sent this (call after validation)."""
        if self.url.data:
            return True
        minimum = current_app.config["MIN_FORM_SECONDS"]
        if not minimum:
            return False
        age = form_age(self.form_time.data, self._stamp)
        return age is None or age < minimum

    def __init__(self, *args, petition, correcting: bool = False, **kwargs):
        """The form for `petition`; `correcting`: the owner of a confirmed address correcting
        the details to confirm (no address to type, no traps: the mailed link proves them)."""
        super().__init__(*args, **kwargs)
        self._stamp = f"{self.KIND}:{petition.id}"
        if correcting:
            for name in (self.EMAIL_FIELD, "url", "form_time"):
                delattr(self, name)
        elif not self.is_submitted():
            self.form_time.data = form_timestamp(self._stamp)
        self.country.choices = _signing_country_choices(str(get_locale() or "en"))


class SignatureForm(_SigningForm):
    """An individual's signature."""

    KIND = "sign"
    EMAIL_FIELD = "email"

    full_name = _signer_text(_l("Full name"), rules.FULL_NAME)
    email = _email(
        _l("Email"),
        description=_l("We send you a link to confirm. It is never shown in public."),
    )
    city = _signer_text(_l("City"), rules.CITY)
    country = _country()
    affiliation = _signer_text(_l("Affiliation or occupation (optional)"), rules.AFFILIATION)
    show_publicly = BooleanField(_l("Show my name, city and country in the public list"))
    wants_updates = BooleanField(_l("Send me news about this call"))
    # The page words the label with the rally's date and place.
    will_attend = BooleanField(
        _l("I will attend the rally"),
        description=_l("Optional. Only the organizers see it, to prepare the rally."),
    )
    consent = _consent()

    def __init__(self, *args, asks_attendance: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not asks_attendance:
            # No rally to come: the form neither shows nor reads the question.
            del self.will_attend


class EndorsementForm(_SigningForm):
    """An organization's endorsement, made by a contact person."""

    KIND = "endorse"
    EMAIL_FIELD = "contact_email"

    organization = _signer_text(_l("Organization"), rules.ORGANIZATION)
    org_type = ChoiceField(
        _l("Type of organization"),
        choices=[SelectChoice("", _l("Choose a type"))]
        + [SelectChoice(kind.value, label) for kind, label in ORGANIZATION_TYPES.items()],
        validators=[InputRequired(_l("Please choose a type."))],
    )
    country = _country()
    city = _signer_text(_l("City"), rules.CITY)
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
    contact_name = _signer_text(_l("Your name"), rules.CONTACT_NAME)
    contact_email = _email(
        _l("Your email"),
        description=_l("We send you a link to confirm. It is never shown in public."),
    )
    contact_role = _signer_text(_l("Your role in the organization"), rules.CONTACT_ROLE)
    show_publicly = BooleanField(_l("Show the organization in the public list"), default=True)
    authorized = BooleanField(
        _l("I am authorized to endorse this call on behalf of the organization."),
        validators=[DataRequired(_l("Only someone authorized by the organization can endorse."))],
    )
    consent = _consent()


class ButtonForm(BaseForm):
    """A button that changes something: a POST carrying a CSRF token and nothing else.

    Confirming, withdrawing, approving and logging out all use it, so that no GET
    (a mail scanner following a link, an image tag) can change anything.
    """


class LoginForm(BaseForm):
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


def _clean_markdown(value):
    return petitions.clean_markdown_text(value) if isinstance(value, str) else value


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def plain_multiline(form, field) -> None:
    """Like `plain_text`, for text whose line breaks are kept."""
    if field.data and has_forbidden_characters(field.data.replace("\n", "")):
        raise ValidationError(_l("Please remove the invisible or control characters."))


def local_images_only(form, field) -> None:
    """No image from another site: it would tell that site who reads the call."""
    if field.data and (foreign := petitions.foreign_images(field.data)):
        raise ValidationError(
            _l(
                "Images from other sites are not shown (loading them would tell those sites "
                "who reads the call): remove %(address)s, or make it a link.",
                address=foreign[0],
            )
        )


def _markdown_text(label, limit, validators=(), **kwargs):
    return TextAreaField(
        label,
        filters=[_clean_markdown],
        validators=[
            Optional(),
            Length(max=limit, message=_l("At most %(max)d characters, please.")),
            plain_multiline,
            *validators,
        ],
        **kwargs,
    )


def _whole_number(label, minimum, maximum, message, **kwargs):
    return WholeNumberField(
        label,
        validators=[Optional(), NumberRange(min=minimum, max=maximum, message=message)],
        **kwargs,
    )


def _local_datetime(label, **kwargs):
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


class TimeZoneField(ChoiceField):
    """An IANA time zone from the list this machine knows."""

    def pre_validate(self, form) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Please choose a time zone from the list."))


class DemandForm(Form):
    """One demand of a call: its text and its place in the list (no CSRF: part of CallForm)."""

    position = _whole_number(
        _l("Position"),
        1,
        petitions.DEMANDS_MAX * 10,
        _l("A position is a whole number from %(min)d to %(max)d."),
    )
    text = _markdown_text(
        _l("Demand"),
        petitions.DEMAND_MAX,
        description=_l("Leave empty to remove this demand."),
    )


class CallForm(BaseForm):
    """A call: its text, demands, event, goal, closing date and retention."""

    title = _text(_l("Title"), TITLE_MAX)
    language = ChoiceField(
        _l("Language of the call"),
        # Not InputRequired: a form from before languages existed means the default.
        default=petitions.DEFAULT_LANGUAGE,
        description=_l(
            "The language the title, text and demands above are written in. Translations "
            "into other languages are added below the form, once the call is saved."
        ),
    )
    slug = StringField(
        _l("Address"),
        filters=[_clean, _lower],
        validators=[
            DataRequired(_l("This field is required.")),
            Length(max=SLUG_MAX, message=_l("At most %(max)d characters, please.")),
            Regexp(
                rf"\A{petitions.SLUG_PATTERN}\Z",
                message=_l("Use lower-case letters, digits and single hyphens, e.g. calais-2030."),
            ),
        ],
        description=_l(
            "The end of the call's web address: /p/…. It can change only until the first "
            "person signs or endorses: after that, people have shared the link."
        ),
    )
    summary = TextAreaField(
        _l("Summary (optional)"),
        filters=[_clean],
        validators=[
            Optional(),
            Length(max=SUMMARY_MAX, message=_l("At most %(max)d characters, please.")),
            plain_text,
        ],
        description=_l("One paragraph, shown under the title and by search engines."),
    )
    body = _markdown_text(
        _l("Text of the call"),
        petitions.BODY_MAX,
        validators=[local_images_only],
        description=_l(
            "Markdown: a blank line between paragraphs, **bold**, *italics*, "
            "[a link](https://example.org), lists with - at the start of lines. "
            "HTML is shown as typed, not interpreted."
        ),
    )
    # Room for a full list with blanks; a longer list is refused in validate(), not cut.
    demands = FieldList(FormField(DemandForm), max_entries=petitions.DEMANDS_MAX * 2)
    signature_goal = _whole_number(
        _l("Signature goal (optional)"),
        1,
        petitions.SIGNATURE_GOAL_MAX,
        _l("The goal is a whole number of signatures, at least 1."),
    )
    timezone = TimeZoneField(
        _l("Time zone"),
        validators=[InputRequired(_l("Please choose a time zone from the list."))],
        default="UTC",
        description=_l(
            "The event's start and the closing date are read in this time zone. It is kept "
            "with the event; a call without an event shows its closing date in UTC."
        ),
    )
    closes_at = _local_datetime(
        _l("Closing date and time (optional)"),
        description=_l(
            "In the time zone above, e.g. 2030-10-14 18:00. The forms refuse signatures "
            "from then on. Leave empty to keep the call open until you close it."
        ),
    )
    collects_endorsements = BooleanField(_l("Organizations can endorse this call"), default=True)
    event_starts_at = _local_datetime(
        _l("Event: start (optional)"),
        description=_l("Local time in the time zone above, e.g. 2030-10-14 14:00."),
    )
    event_place = _text(_l("Event: place (optional)"), PLACE_MAX, required=False)
    event_address = _text(_l("Event: address (optional)"), ADDRESS_MAX, required=False)
    purge_after_days = _whole_number(
        _l("Delete personal data after (days, optional)"),
        0,
        petitions.PURGE_AFTER_DAYS_MAX,
        _l("A whole number of days from %(min)d to %(max)d."),
        description=_l(
            "Signers' and contacts' personal data is deleted this many days after the "
            "campaign ends (the counts stay). Leave empty to keep it."
        ),
    )
    save = SubmitField(_l("Save"))
    preview = SubmitField(_l("Preview"))

    def __init__(self, *args, current_timezone: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = _language_options()
        names = petitions.timezone_names()
        if current_timezone and current_timezone not in names:
            names = [current_timezone, *names]  # an older content file's zone stays valid
        # A required select starts with an empty choice (HTML), here never the default.
        self.timezone.choices = [
            SelectChoice("", _l("Choose a time zone")),
            *(SelectChoice(name, name) for name in names),
        ]

    def add_demand_slots(self, blanks: int = 3) -> None:
        """Empty demands to fill in, numbered after the last one."""
        empty = sum(1 for entry in self.demands if not entry.text.data)
        for _ in range(blanks - empty):
            if len(self.demands) >= petitions.DEMANDS_MAX:
                break
            self.demands.append_entry({"position": len(self.demands) + 1, "text": ""})

    def demand_texts(self) -> list[str]:
        """The non-empty demands, in the order of their positions (ties keep the form's order)."""
        numbered = [
            (entry.position.data or index + 1, index, entry.text.data)
            for index, entry in enumerate(self.demands)
            if entry.text.data
        ]
        return [text for _, _, text in sorted(numbered)]

    def validate_closes_at(self, field) -> None:
        self._check_local_time(field)

    def validate_event_starts_at(self, field) -> None:
        self._check_local_time(field)

    def validate(self, extra_validators=None) -> bool:
        """The fields, then the whole: how many demands, and no event place without a start."""
        valid = super().validate(extra_validators)
        if len(self.demand_texts()) > petitions.DEMANDS_MAX:
            self.form_errors.append(
                _l("At most %(max)d demands, please.", max=petitions.DEMANDS_MAX)
            )
            valid = False
        start = self.event_starts_at
        if start.data is None and not start.errors:
            if self.event_place.data or self.event_address.data:
                start.errors.append(
                    _l("Give the event's start, or leave its place and address empty.")
                )
                valid = False
        return valid

    def _check_local_time(self, field) -> None:
        if field.data is None or self.timezone.errors:
            return
        try:
            petitions.local_to_utc(field.data, self.timezone.data)
        except petitions.NonexistentLocalTime:
            raise ValidationError(
                _l(
                    "This time does not exist in %(zone)s (the clocks change).",
                    zone=self.timezone.data,
                )
            ) from None
        except (ValueError, KeyError):
            raise ValidationError(_l("Please choose a time zone from the list.")) from None

    def utc(self, field):
        """A date-time field's local value as UTC, read in the chosen time zone."""
        if field.data is None:
            return None
        return petitions.local_to_utc(field.data, self.timezone.data)


def _language_options() -> list[SelectChoice]:
    """Every language Babel knows, "Name (code)" in the reader's language, sorted by name."""
    return [
        SelectChoice(code, label) for code, label in language_choices(str(get_locale() or "en"))
    ]


class TranslationLanguageField(ChoiceField):
    """The language of a new translation: neither the call's own nor one it already has."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused: dict[str, str] = {}  # language -> why it cannot be chosen

    def pre_validate(self, form) -> None:
        if self.data in self.refused:
            raise ValidationError(str(self.refused[self.data]))
        super().pre_validate(form)

    def iter_choices(self):
        """The list offers no refused language (it is still refused with its reason)."""
        for choice in super().iter_choices():
            if choice[0] not in self.refused:
                yield choice


class TranslationForm(BaseForm):
    """A call's text in another language: title, summary, body and one field per demand."""

    language = TranslationLanguageField(
        _l("Language"), validators=[InputRequired(_l("Please choose a language."))]
    )
    title = _text(_l("Title"), TITLE_MAX)
    summary = TextAreaField(
        _l("Summary (optional)"),
        filters=[_clean],
        validators=[
            Optional(),
            Length(max=SUMMARY_MAX, message=_l("At most %(max)d characters, please.")),
            plain_text,
        ],
    )
    body = _markdown_text(
        _l("Text of the call"),
        petitions.BODY_MAX,
        validators=[local_images_only],
        description=_l(
            "Markdown: a blank line between paragraphs, **bold**, *italics*, "
            "[a link](https://example.org), lists with - at the start of lines. "
            "HTML is shown as typed, not interpreted."
        ),
    )
    # One entry per demand of the call, in its order (see __init__).
    demands = FieldList(
        _markdown_text(_l("Demand"), petitions.DEMAND_MAX), max_entries=petitions.DEMANDS_MAX
    )
    save = SubmitField(_l("Save the translation"))

    def __init__(self, *args, petition, language: str | None = None, **kwargs):
        """For a new translation of `petition`, or for its translation into `language`."""
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        own = petition.language
        if language is not None:
            del self.language  # a translation keeps its language
        else:
            self.language.choices = [
                SelectChoice("", _l("Choose a language")),
                *_language_options(),
            ]
            self.language.refused = {
                own: _l(
                    "%(language)s is the call's own language: a translation is in another.",
                    language=language_name(own, locale),
                )
            } | {
                row.language: _l(
                    "The call is already translated into %(language)s: edit that translation.",
                    language=language_name(row.language, locale),
                )
                for row in petition.translations
            }
        own_name = language_name(own, locale)

        def in_own_language(text: str) -> str:
            # A plain str, so templates escape it: a lazy string's __html__ would not, and
            # the call's words are typed by organizers.
            return str(_l("In %(language)s: %(text)s", language=own_name, text=text))

        # Each field shows the call's own words it translates.
        self.title.description = in_own_language(petition.title)
        if petition.summary:
            self.summary.description = in_own_language(petition.summary)
        while len(self.demands) < len(petition.demands):
            self.demands.append_entry("")
        # A forged form's entries past the call's demands are neither labelled nor read.
        numbered = enumerate(zip(self.demands, petition.demands, strict=False), start=1)
        for number, (entry, demand) in numbered:
            entry.label.text = _l("Demand %(number)d", number=number)
            entry.description = in_own_language(demand.text)
        self.demand_count = len(petition.demands)
        # What is typed is in the translation's language, whichever way it is written.
        typed = {"dir": "auto"} | ({"lang": language} if language else {})
        for field in (self.title, self.summary, self.body, *self.demands):
            field.render_kw = typed

    def translation(self, language: str) -> petitions.TranslationContent:
        """The translation as typed, in the shape content files are read into."""
        return petitions.TranslationContent(
            language=language,
            title=self.title.data,
            summary=self.summary.data or "",
            body=self.body.data or "",
            # Entries past the call's demands (a forged form) are not read.
            demands=[entry.data or "" for entry in self.demands][: self.demand_count],
        )


# --- The organizers' workspace: moderation and search (views/moderation.py) ---

SIGNATURE_STATUSES = {
    SignatureStatus.PENDING: _l("Waiting for email confirmation"),
    SignatureStatus.CONFIRMED: _l("Confirmed"),
    SignatureStatus.INVALID: _l("Invalid"),
}
# A bulk review takes at most this many endorsements (a page holds 50).
BULK_REVIEW_MAX = 500


def _domain(value):
    value = _clean(value)
    return value.lower().removeprefix("@") if isinstance(value, str) else value


def bare_domain(form, field) -> None:
    """A domain is the part after the @: no @ and no spaces in it."""
    if field.data and ("@" in field.data or " " in field.data):
        raise ValidationError(_l("Enter only the part after the @, such as example.org."))


class _SignatureCriteriaFields:
    """What a signature search and a bulk change by search both carry."""

    name = _text(_l("Name contains"), NAME_MAX, required=False)
    email = StringField(
        _l("Email contains"),
        filters=[_clean],
        validators=[
            Optional(),
            Length(max=EMAIL_MAX, message=_l("At most %(max)d characters, please.")),
            plain_text,
        ],
    )
    domain = StringField(
        _l("Email domain"),
        description=_l("The exact part after the @, such as example.org."),
        filters=[_domain],
        validators=[
            Optional(),
            Length(max=EMAIL_MAX, message=_l("At most %(max)d characters, please.")),
            plain_text,
            bare_domain,
        ],
    )
    signed_from = DayField(
        _l("Signed from (UTC day)"),
        validators=[Optional()],
    )
    signed_until = DayField(
        _l("Signed until (UTC day, included)"),
        validators=[Optional()],
    )

    # A signature's id: the others sent from the same network address that day.
    origin = IntegerField(widget=HiddenInput(), validators=[Optional()])

    def validate_signed_until(self, field) -> None:
        """The period must not end before it starts."""
        if field.data and self.signed_from.data and field.data < self.signed_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class SignatureSearchForm(_SignatureCriteriaFields, BaseForm):
    """Searching a call's signatures: a GET form, it changes nothing."""

    status = ChoiceField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status"))]
        + [SelectChoice(status.value, label) for status, label in SIGNATURE_STATUSES.items()],
        default="",
    )

    class Meta:
        csrf = False


class SignatureBulkForm(_SignatureCriteriaFields, BaseForm):
    """Confirming a bulk change: the search again and the count the organizer saw."""

    expected = IntegerField(validators=[InputRequired()])
    reason = _text(_l("Reason (optional)"), REASON_MAX, required=False)

    def validate(self, extra_validators=None) -> bool:
        """The fields, and at least one criterion besides the status."""
        valid = super().validate(extra_validators)
        if not any(
            (self.name.data, self.email.data, self.domain.data)
            + (self.signed_from.data, self.signed_until.data)
        ) and self.origin.data is None:
            self.form_errors.append(_l("Give a name, an email, a domain or dates first."))
            return False
        return valid


class InvalidateForm(BaseForm):
    """Marking one signature invalid, with an optional reason."""

    reason = _text(_l("Reason (optional)"), REASON_MAX, required=False)


class EndorsementBulkForm(BaseForm):
    """Approving or rejecting the ticked endorsements at once."""

    endorsements = SelectMultipleField(
        _l("Endorsements"),
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(_l("Tick at least one endorsement."))],
    )
    decision = ChoiceField(
        _l("Decision"),
        choices=[SelectChoice("approve", _l("Approve")), SelectChoice("reject", _l("Reject"))],
        validators=[InputRequired(_l("Choose approve or reject."))],
    )

    def validate_endorsements(self, field) -> None:
        """A bounded number at once."""
        if len(field.data) > BULK_REVIEW_MAX:
            raise ValidationError(_l("At most %(max)d at once, please.", max=BULK_REVIEW_MAX))


# --- The organizers' workspace: export filters (views/exports.py) ---

EXPORT_STATUSES = {
    "": _l("Counted: confirmed individuals, approved organizations"),
    "confirmed": _l("Individuals: confirmed"),
    "pending": _l("Waiting for email confirmation"),
    "invalid": _l("Individuals: invalid"),
    "awaiting_approval": _l("Organizations: waiting for approval"),
    "approved": _l("Organizations: approved"),
    "rejected": _l("Organizations: rejected"),
    "all": _l("All statuses, invalid ones too"),
}
SIGNATURE_SOURCES = {
    SignatureSource.WEB: _l("The web form"),
    SignatureSource.PAPER: _l("Paper"),
    SignatureSource.IMPORT: _l("Imported from another tool"),
}


def _export_date(label):
    return DayField(
        label,
        validators=[Optional()],
        invalid_value_message=_l("Enter a date as YYYY-MM-DD."),
    )


class ExportFilterForm(BaseForm):
    """An export's filters: a GET form (choosing filters changes nothing)."""

    who = ChoiceField(
        _l("Who"),
        choices=[
            SelectChoice("individuals", _l("Individuals")),
            SelectChoice("organizations", _l("Organizations")),
        ],
        default="individuals",
    )
    format = ChoiceField(
        _l("Format"),
        choices=[
            SelectChoice("csv", _l("CSV, for spreadsheets")),
            SelectChoice("jsonl", _l("JSON Lines, for programs")),
        ],
        default="csv",
    )
    status = ChoiceField(
        _l("Status"),
        choices=[SelectChoice(value, label) for value, label in EXPORT_STATUSES.items()],
        default="",
    )
    since = _export_date(_l("Signed or endorsed from (UTC day)"))
    until = _export_date(_l("Signed or endorsed until (UTC day, included)"))
    country = ChoiceField(_l("Country"), default="")
    wants_updates = BooleanField(
        _l("Only individuals who asked for news (a mailing list)"), default=False
    )
    will_attend = BooleanField(
        _l("Only individuals who said they will attend the rally"), default=False
    )
    source = ChoiceField(
        _l("Source (individuals)"),
        choices=[SelectChoice("", _l("Any source"))]
        + [SelectChoice(source.value, label) for source, label in SIGNATURE_SOURCES.items()],
        default="",
    )
    org_type = ChoiceField(
        _l("Type of organization"),
        choices=[SelectChoice("", _l("Any type"))]
        + [SelectChoice(kind.value, label) for kind, label in ORGANIZATION_TYPES.items()],
        default="",
    )

    class Meta:
        csrf = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice("", _l("Any country")), *_country_options()]

    def filters(self) -> ExportFilters:
        """The filters chosen, for exports.py."""
        return ExportFilters(
            who=self.who.data,
            status=self.status.data or None,
            since=self.since.data,
            until=self.until.data,
            country=self.country.data or None,
            wants_updates=bool(self.wants_updates.data),
            will_attend=bool(self.will_attend.data),
            source=self.source.data or None,
            org_type=self.org_type.data or None,
        )

    def validate(self, extra_validators=None) -> bool:
        """The fields, then the rules between them (exports.ExportFilters.problems)."""
        if not super().validate(extra_validators):
            return False
        for name, message in self.filters().problems().items():
            self[name].errors.append(message)
        return not any(field.errors for field in self)


# --- The organizers' workspace: imports (views/imports.py) ---


def _column(name, label, description=None):
    return StringField(
        label,
        default=name,
        filters=[_clean],
        validators=[
            Length(max=300, message=_l("At most %(max)d characters, please.")),
            plain_text,
        ],
        description=description,
    )


class ImportForm(BaseForm):
    """A CSV file of signatures: where they come from, and which column holds what."""

    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])
    source = ChoiceField(
        _l("Where the signatures come from"),
        choices=[
            SelectChoice(SignatureSource.PAPER.value, _l("Collected on paper (email optional)")),
            SelectChoice(
                SignatureSource.IMPORT.value,
                _l("Another petition tool, which confirmed them (email required)"),
            ),
        ],
        default=SignatureSource.PAPER.value,
    )
    column_full_name = _column(
        "full_name",
        _l("Full name"),
        _l("For first and last names in two columns, write both joined by +."),
    )
    column_email = _column("email", _l("Email"))
    column_city = _column("city", _l("City"))
    column_country = _column("country", _l("Country"))
    column_affiliation = _column("affiliation", _l("Affiliation or occupation"))
    column_show_publicly = _column("show_publicly", _l("Show in the public list"))
    column_wants_updates = _column("wants_updates", _l("Wants news about the call"))
    column_will_attend = _column("will_attend", _l("Will attend the rally"))
    column_signed_on = _column("signed_on", _l("Date of signing"))
    keep_valid = BooleanField(
        _l("Store the valid rows even if some are rejected"),
        description=_l("Without it, nothing is stored from a file with a rejected row."),
    )
    check = SubmitField(_l("Check only"))
    store = SubmitField(_l("Import"))

    def mapping(self) -> dict[str, str]:
        """Our field -> the column(s) of the file holding it (blank: not in the file)."""
        prefix = "column_"
        return {
            name.removeprefix(prefix): field.data or ""
            for name, field in self._fields.items()
            if name.startswith(prefix)
        }


# --- The organizers' workspace: accounts (views/accounts.py) ---


class PurgeForm(BaseForm):
    """An owner confirming the deletion of a call's personal data by typing its slug."""

    slug = StringField(
        _l("Type the call's address name to confirm"),
        filters=[_clean],
        validators=[InputRequired(_l("This field is required.")), Length(max=SLUG_MAX)],
    )


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes (the calls an organizer works on)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        known = {str(choice.value) for choice in self.choices}
        if any(str(value) not in known for value in self.data or []):
            raise ValidationError(_l("Please choose from the list."))


def _role():
    return ChoiceField(
        _l("Role"),
        choices=[
            SelectChoice("organizer", _l("Organizer: works on the calls given below")),
            SelectChoice("owner", _l("Owner: manages organizer accounts and every call")),
        ],
        default="organizer",
    )


def _new_password(label):
    return PasswordField(
        label,
        validators=[
            InputRequired(_l("This field is required.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=_l("Between %(min)d and %(max)d characters, please."),
            ),
        ],
        description=_l("At least %(min)d characters; a few unrelated words are easy to remember.")
        % {"min": MIN_PASSWORD_LENGTH},
    )


def _repeat_password():
    return PasswordField(
        _l("The new password again"),
        validators=[
            InputRequired(_l("This field is required.")),
            EqualTo("new_password", _l("The two passwords differ.")),
        ],
    )


class InvitationForm(BaseForm):
    """An owner inviting an organizer."""

    email = _email(_l("Email address"), description=_l("We mail a link to choose a password."))
    role = _role()
    calls = CheckboxListField(_l("Calls"), coerce=int)


class AccountForm(BaseForm):
    """An owner changing an organizer's role, access and calls."""

    role = _role()
    active = BooleanField(_l("Can log in"))
    calls = CheckboxListField(_l("Calls"), coerce=int)


class ChoosePasswordForm(BaseForm):
    """An invited organizer choosing a password."""

    new_password = _new_password(_l("Password"))
    repeat_password = _repeat_password()


class ChangePasswordForm(BaseForm):
    """An organizer changing their own password."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_l("This field is required.")), Length(max=1024)],
    )
    new_password = _new_password(_l("New password"))
    repeat_password = _repeat_password()
