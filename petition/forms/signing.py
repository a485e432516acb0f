"""The public forms: an individual's signature and an organization's endorsement."""

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
)

from .. import rules
from ..models import (
    WEBSITE_MAX,
)
from ..tokens import form_age, form_timestamp
from .fields import (
    ORGANIZATION_TYPES,
    WTFORMS_MESSAGES,
    BaseForm,
    ChoiceField,
    country_field,
    email_field,
    normalize_website,
    plain_text,
    signer_text_field,
    signing_country_choices,
    web_address,
)


def _consent():
    return BooleanField(
        _l("I have read the privacy notice and agree that my signature is stored for this call."),
        validators=[DataRequired(_l("We can only record your signature with your consent."))],
    )


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
            return WTFORMS_MESSAGES

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
        self.country.choices = signing_country_choices(str(get_locale() or "en"))


class SignatureForm(_SigningForm):
    """An individual's signature."""

    KIND = "sign"
    EMAIL_FIELD = "email"

    full_name = signer_text_field(_l("Full name"), rules.FULL_NAME)
    email = email_field(
        _l("Email"),
        description=_l("We send you a link to confirm. It is never shown in public."),
    )
    city = signer_text_field(_l("City"), rules.CITY)
    country = country_field()
    affiliation = signer_text_field(_l("Affiliation or occupation (optional)"), rules.AFFILIATION)
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

    organization = signer_text_field(_l("Organization"), rules.ORGANIZATION)
    org_type = ChoiceField(
        _l("Type of organization"),
        choices=[SelectChoice("", _l("Choose a type"))]
        + [SelectChoice(kind.value, label) for kind, label in ORGANIZATION_TYPES.items()],
        validators=[InputRequired(_l("Please choose a type."))],
    )
    country = country_field()
    city = signer_text_field(_l("City"), rules.CITY)
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
    contact_name = signer_text_field(_l("Your name"), rules.CONTACT_NAME)
    contact_email = email_field(
        _l("Your email"),
        description=_l("We send you a link to confirm. It is never shown in public."),
    )
    contact_role = signer_text_field(_l("Your role in the organization"), rules.CONTACT_ROLE)
    show_publicly = BooleanField(_l("Show the organization in the public list"), default=True)
    authorized = BooleanField(
        _l("I am authorized to endorse this call on behalf of the organization."),
        validators=[DataRequired(_l("Only someone authorized by the organization can endorse."))],
    )
    consent = _consent()
