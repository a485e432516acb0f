"""The organizers' workspace: searching signatures, bulk changes, reviewing endorsements."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    IntegerField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from ..models import (
    EMAIL_MAX,
    NAME_MAX,
    REASON_MAX,
    SignatureStatus,
)
from .fields import (
    BaseForm,
    ChoiceField,
    DayField,
    clean,
    plain_text,
    text_field,
)

SIGNATURE_STATUSES = {
    SignatureStatus.PENDING: _l("Waiting for email confirmation"),
    SignatureStatus.CONFIRMED: _l("Confirmed"),
    SignatureStatus.INVALID: _l("Invalid"),
}
# A bulk review takes at most this many endorsements (a page holds 50).
BULK_REVIEW_MAX = 500


def _domain(value):
    value = clean(value)
    return value.lower().removeprefix("@") if isinstance(value, str) else value


def bare_domain(form, field) -> None:
    """A domain is the part after the @: no @ and no spaces in it."""
    if field.data and ("@" in field.data or " " in field.data):
        raise ValidationError(_l("Enter only the part after the @, such as example.org."))


class _SignatureCriteriaFields:
    """What a signature search and a bulk change by search both carry."""

    name = text_field(_l("Name contains"), NAME_MAX, required=False)
    email = StringField(
        _l("Email contains"),
        filters=[clean],
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
    reason = text_field(_l("Reason (optional)"), REASON_MAX, required=False)

    def validate(self, extra_validators=None) -> bool:
        """The fields, and at least one criterion besides the status."""
        valid = super().validate(extra_validators)
        if (
            not any(
                (self.name.data, self.email.data, self.domain.data)
                + (self.signed_from.data, self.signed_until.data)
            )
            and self.origin.data is None
        ):
            self.form_errors.append(_l("Give a name, an email, a domain or dates first."))
            return False
        return valid


class InvalidateForm(BaseForm):
    """Marking one signature invalid, with an optional reason."""

    reason = text_field(_l("Reason (optional)"), REASON_MAX, required=False)


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
