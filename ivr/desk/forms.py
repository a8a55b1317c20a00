"""Console forms; Flask-WTF adds and checks a CSRF token on every one."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ivr.desk.presence import CHOOSABLE, MAX_REASON
from ivr.desk.users import MAX_PASSWORD
from ivr.desk.wrapup import MAX_NOTE
from ivr.flows.yamlsource import MAX_FILE_BYTES


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


class CustomerSearchForm(FlaskForm):
    """Phone, e-mail, order number or name: posted, so none of it lands in a URL or access log."""

    query = StringField("Search", validators=[DataRequired(), Length(min=2, max=320)])


class TransferForm(FlaskForm):
    """Hand the call on: ``queue:<name>`` or ``agent:<id>`` (choices from the current desk)."""

    task = HiddenField("Task", validators=[DataRequired(), Length(max=20)])
    target = SelectField("Transfer to", choices=[], validate_choice=False)


class HoldForm(FlaskForm):
    """Put the caller on hold (``on``) or take them back (``off``)."""

    task = HiddenField("Task", validators=[DataRequired(), Length(max=20)])
    hold = HiddenField("Hold", validators=[DataRequired(), Length(max=3)])


class VoicemailAssignForm(FlaskForm):
    """Take a voicemail, or (supervisors) give it to a colleague."""

    assignee = SelectField("Assign to", choices=[], validators=[Optional()], validate_choice=False)


class VoicemailDoneForm(FlaskForm):
    """A voicemail dealt with, with a note for the customer history."""

    note = TextAreaField("Note", validators=[Optional(), Length(max=MAX_NOTE)])


class CallbackDoneForm(FlaskForm):
    """The outcome of a callback the agent made."""

    request = HiddenField("Request", validators=[DataRequired(), Length(max=20)])
    note = TextAreaField("Note", validators=[Optional(), Length(max=MAX_NOTE)])


class FlowSourceForm(FlaskForm):
    """A flow's YAML, to validate or publish."""

    source = TextAreaField("Flow (YAML)", validators=[DataRequired(), Length(max=MAX_FILE_BYTES)])


class TestInputForm(FlaskForm):
    """The tester's next move in a test call: keys, typed speech, silence or a dial/queue result."""

    action = HiddenField("Action", validators=[DataRequired(), Length(max=20)])
    keys = StringField("Keys", validators=[Optional(), Length(max=20)])
    speech = StringField("Speech", validators=[Optional(), Length(max=300)])
    result = HiddenField("Result", validators=[Optional(), Length(max=20)])
