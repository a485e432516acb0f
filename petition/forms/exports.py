"""The organizers' workspace: an export's filters."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    Optional,
)

from ..exports import ExportFilters
from ..models import (
    SignatureSource,
)
from .fields import (
    ORGANIZATION_TYPES,
    BaseForm,
    ChoiceField,
    DayField,
    country_options,
)

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
        self.country.choices = [SelectChoice("", _l("Any country")), *country_options()]

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
