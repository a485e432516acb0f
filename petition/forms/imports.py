"""The organizers' workspace: importing signatures from a CSV file."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    Length,
)

from ..models import (
    SignatureSource,
)
from .fields import (
    BaseForm,
    ChoiceField,
    clean,
    plain_text,
)


def _column(name, label, description=None):
    return StringField(
        label,
        default=name,
        filters=[clean],
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
