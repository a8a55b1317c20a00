"""The console's customer search and customer view: contacts of every channel in one list."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from ivr.customers.history import HistoryError, history_rows
from ivr.customers.matching import resolve_customer, search_customers
from ivr.db import get_session
from ivr.desk import auth
from ivr.desk.forms import CustomerSearchForm, EmptyForm
from ivr.restapi import MAX_ID

bp = Blueprint("customers", __name__, url_prefix="/console/customers", template_folder="templates")

PAGE = 25


@bp.after_request
def _private(response: Response) -> Response:
    """Customer pages show personal data: never cached, never framed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.route("/", methods=["GET", "POST"])
@auth.role_required("agent")
def search() -> ResponseReturnValue:
    """Find customers by phone, e-mail, order number or name."""
    form = CustomerSearchForm()
    found = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            found = search_customers(
                get_session(), form.query.data or "", current_app.config["DEFAULT_REGION"]
            )
        else:
            status = 400
    return render_template("customers/search.html", form=form, found=found, sign_out=EmptyForm()), status


@bp.get(f"/<int(max={MAX_ID}):customer_id>")
@auth.role_required("agent")
def customer(customer_id: int) -> ResponseReturnValue:
    """One customer and their contacts on all channels, newest first, page by page."""
    session = get_session()
    found = resolve_customer(session, customer_id)
    if found is None:
        abort(404)
    try:
        entries, cursor = history_rows(session, found, request.args.get("cursor"), PAGE)
    except HistoryError:
        abort(400)
    return render_template(
        "customers/customer.html", customer=found, entries=entries, next_cursor=cursor, sign_out=EmptyForm()
    )
