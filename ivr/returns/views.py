"""The agents' list of returns at ``/console/returns``: the work the shop's webhook would otherwise take."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, or_, select

from ivr.db import get_session, unit_of_work
from ivr.desk import auth
from ivr.desk.forms import EmptyForm
from ivr.desk.i18n import gettext as _
from ivr.desk.views import console_headers
from ivr.models._types import utcnow
from ivr.returns.models import FAILED, LABEL_SENT, REGISTERED, ReturnDelivery, ReturnRequest
from ivr.returns.records import find_return
from ivr.returns.service import shop_webhook_configured

bp = Blueprint("returns", __name__, url_prefix="/console/returns", template_folder="templates")
bp.after_request(console_headers)

#: The list shows at most this many (the oldest first: they have waited longest).
PAGE = 200


@bp.get("/")
@auth.role_required("agent")
def index() -> ResponseReturnValue:
    """Returns waiting for a person: all new ones without a shop webhook, else those whose label failed."""
    session = get_session()
    failed_label = select(ReturnDelivery.return_id).where(
        ReturnDelivery.state == FAILED, ReturnDelivery.kind.in_(("sms", "email"))
    )
    waiting: ColumnElement[bool] = ReturnRequest.label_via.is_(None) | ReturnRequest.id.in_(failed_label)
    if not shop_webhook_configured(dict(current_app.config)):
        waiting = or_(waiting, ReturnRequest.source == "phone")
    rows = session.scalars(
        select(ReturnRequest)
        .where(ReturnRequest.state == REGISTERED, waiting)
        .order_by(ReturnRequest.created_at, ReturnRequest.id)
        .limit(PAGE)
    ).all()
    return render_template("returns/list.html", returns=rows, form=EmptyForm())


@bp.post("/<number>/label-sent")
@auth.role_required("agent")
def label_sent(number: str) -> ResponseReturnValue:
    """An agent sent the label (or handed the return to the shop): it leaves the list."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    with unit_of_work() as session:
        row = find_return(session, number)
        if row is None:
            abort(404)
        if row.state == REGISTERED:
            row.state, row.label_sent_at, row.updated_at = LABEL_SENT, utcnow(), utcnow()
    flash(_("Return %(number)s: label sent.", number=number), "info")
    return redirect(url_for("returns.index"))
