"""Organizers' accounts: logging in, invitations, roles, passwords."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectMultipleField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    EqualTo,
    InputRequired,
    Length,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..auth import MIN_PASSWORD_LENGTH
from ..models import (
    EMAIL_MAX,
)
from .fields import (
    BaseForm,
    ChoiceField,
    clean,
    email_field,
)


class LoginForm(BaseForm):
    """An organizer's login."""

    email = EmailField(
        _l("Email"),
        filters=[clean],
        validators=[InputRequired(_l("This field is required.")), Length(max=EMAIL_MAX)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("This field is required.")), Length(max=1024)],
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

    email = email_field(_l("Email address"), description=_l("We mail a link to choose a password."))
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
