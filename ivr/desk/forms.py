"""Console forms; Flask-WTF adds and checks a CSRF token on every one."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ivr.desk.presence import CHOOSABLE, MAX_REASON
from ivr.desk.users import MAX_PASSWORD
from ivr.desk.wrapup import MAX_NOTE


class SignInForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD)])


class CodeForm(FlaskForm):
    """The six-digit code of the authenticator app."""

    code = StringField("Code", validators=[DataRequired(), Length(min=6, max=8)])


class PresenceForm(FlaskForm):
    """The agent's own state."""

    activity = SelectField("State", choices=list(CHOOSABLE))
    reason = StringField("Reason", validators=[Optional(), Length(max=MAX_REASON)])


class EmptyForm(FlaskForm):
    """A POST with nothing but its CSRF token (sign out)."""


class WrapupForm(FlaskForm):
    """The outcome of a call (choices from configuration) and a note for colleagues."""

    task = HiddenField("Task", validators=[DataRequired(), Length(max=20)])
    disposition = SelectField("Outcome", choices=[])
    note = TextAreaField("Note", validators=[Optional(), Length(max=MAX_NOTE)])


class CallbackDoneForm(FlaskForm):
    """The outcome of a callback the agent made."""

    request = HiddenField("Request", validators=[DataRequired(), Length(max=20)])
    note = TextAreaField("Note", validators=[Optional(), Length(max=MAX_NOTE)])
