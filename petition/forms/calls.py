"""The organizers' workspace: a call, its demands and its translations; deleting its data."""

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from .. import petitions
from ..languages import language_choices, language_name
from ..models import (
    ADDRESS_MAX,
    PLACE_MAX,
    SLUG_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
)
from ..rules import has_forbidden_characters
from .fields import (
    BaseForm,
    ChoiceField,
    clean,
    local_datetime_field,
    plain_text,
    text_field,
    whole_number_field,
)


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


class TimeZoneField(ChoiceField):
    """An IANA time zone from the list this machine knows."""

    def pre_validate(self, form) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Please choose a time zone from the list."))


class DemandForm(Form):
    """One demand of a call: its text and its place in the list (no CSRF: part of CallForm)."""

    position = whole_number_field(
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

    title = text_field(_l("Title"), TITLE_MAX)
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
        filters=[clean, _lower],
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
        filters=[clean],
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
    signature_goal = whole_number_field(
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
    closes_at = local_datetime_field(
        _l("Closing date and time (optional)"),
        description=_l(
            "In the time zone above, e.g. 2030-10-14 18:00. The forms refuse signatures "
            "from then on. Leave empty to keep the call open until you close it."
        ),
    )
    collects_endorsements = BooleanField(_l("Organizations can endorse this call"), default=True)
    event_starts_at = local_datetime_field(
        _l("Event: start (optional)"),
        description=_l("Local time in the time zone above, e.g. 2030-10-14 14:00."),
    )
    event_place = text_field(_l("Event: place (optional)"), PLACE_MAX, required=False)
    event_address = text_field(_l("Event: address (optional)"), ADDRESS_MAX, required=False)
    purge_after_days = whole_number_field(
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
    title = text_field(_l("Title"), TITLE_MAX)
    summary = TextAreaField(
        _l("Summary (optional)"),
        filters=[clean],
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


class PurgeForm(BaseForm):
    """An owner confirming the deletion of a call's personal data by typing its slug."""

    slug = StringField(
        _l("Type the call's address name to confirm"),
        filters=[clean],
        validators=[InputRequired(_l("This field is required.")), Length(max=SLUG_MAX)],
    )
