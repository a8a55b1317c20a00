"""The flow editor for admins at ``/console/flows``: versions, YAML, diff, rollback, graph, test call.

Every verb is the one ``ivr flows`` uses (``ivr.flows.store``); the views only parse and render.
"""

from __future__ import annotations

import difflib
import uuid
from typing import cast

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ivr.db import get_session, unit_of_work
from ivr.desk import auth
from ivr.desk.flow_graph import flow_graph
from ivr.desk.forms import EmptyForm, FlowSourceForm, TestInputForm
from ivr.desk.i18n import gettext as _
from ivr.desk.models import User
from ivr.desk.testcall import (
    DIAL_RESULTS,
    QUEUE_RESULTS,
    TestCallError,
    act_in_test_call,
    hang_up_test_call,
    start_test_call,
    test_call,
)
from ivr.desk.views import console_headers
from ivr.flows.definition import Flow, parse_flow
from ivr.flows.store import (
    FlowLookupError,
    flow_of,
    flow_version,
    flow_versions,
    list_flows,
    publish,
    rollback_flow,
)
from ivr.flows.yamlsource import FlowError
from ivr.models import FlowVersion

bp = Blueprint("flows", __name__, url_prefix="/console/flows", template_folder="templates")


bp.after_request(console_headers)


def _versions(name: str) -> list[FlowVersion]:
    try:
        return flow_versions(get_session(), name)
    except FlowLookupError:
        abort(404)


def _version(name: str, number: int) -> FlowVersion:
    try:
        return flow_version(get_session(), name, number)
    except FlowLookupError:
        abort(404)


def _author() -> str:
    return cast(User, current_user).email


def _source_text(form: FlowSourceForm) -> str:
    # Browsers send a textarea's lines with CRLF; the stored source (and its checksum) uses LF.
    return (form.source.data or "").replace("\r\n", "\n")


@bp.get("/")
@auth.role_required("admin")
def index() -> ResponseReturnValue:
    """Every flow with its live version, its author and time, and which one answers calls."""
    return render_template(
        "desk/flows.html",
        flows=list_flows(get_session()),
        answering=current_app.config["FLOW_NAME"],
        sign_out=EmptyForm(),
    )


def _editor(
    name: str,
    form: FlowSourceForm,
    problems: list[tuple[int, str]] | None = None,
    status: int = 200,
    draft: Flow | None = None,
) -> ResponseReturnValue:
    """The flow's page: history, editor (with problems at their lines), graph and test call."""
    versions = _versions(name)
    live = versions[-1]
    call = None
    sid = session.get("test_call")
    if sid:
        call = test_call(get_session(), sid)
        if call is not None and call.flow != name:
            call = None
    page = render_template(
        "desk/flow.html",
        name=name,
        versions=list(reversed(versions)),
        live=live,
        answering=current_app.config["FLOW_NAME"] == name,
        form=form,
        problems=problems,
        lines=_source_text(form).split("\n") if problems else [],
        graph=flow_graph(draft or flow_of(live)),
        draft=draft is not None,
        call=call,
        test_form=TestInputForm(),
        dial_results=DIAL_RESULTS,
        queue_results=QUEUE_RESULTS,
        sign_out=EmptyForm(),
    )
    return page, status


@bp.get("/<name>")
@auth.role_required("admin")
def flow(name: str) -> ResponseReturnValue:
    """Versions, the live source in the editor, the graph and the test-call panel."""
    live = _versions(name)[-1]
    return _editor(name, FlowSourceForm(source=live.source))


@bp.post("/<name>")
@auth.role_required("admin")
def edit(name: str) -> ResponseReturnValue:
    """Validate or publish the edited YAML; problems come back at their lines, the text kept."""
    form = FlowSourceForm()
    if not form.validate_on_submit():
        flash(_("The form had expired or was empty; please try again."), "error")
        return _editor(name, form, status=400)
    source, filename = _source_text(form), f"{name}.yaml"
    try:
        if request.form.get("action") == "publish":
            with unit_of_work() as db:
                result = publish(db, source, filename, _author())
                published, number, created = result.version.name, result.version.version, result.created
        else:
            parsed = parse_flow(source, filename)
            flash(_("Valid: %(nodes)s nodes.", nodes=len(parsed.nodes)), "info")
            return _editor(name, form, draft=parsed)
    except FlowError as exc:
        flash(_("Not published: the flow has problems."), "error")
        return _editor(name, form, exc.problems, status=422)
    if created:
        flash(_("Published %(name)s v%(version)s; new calls use it.", name=published, version=number), "info")
    else:
        flash(_("Unchanged: v%(version)s already has this content.", version=number), "info")
    return redirect(url_for("flows.flow", name=published))


@bp.get("/<name>/v<int:number>")
@auth.role_required("admin")
def version(name: str, number: int) -> ResponseReturnValue:
    """The source of one version, with line numbers."""
    v = _version(name, number)
    live = _versions(name)[-1]
    return render_template("desk/flow_version.html", name=name, v=v, live=live, sign_out=EmptyForm())


@bp.get("/<name>/v<int:number>/diff")
@auth.role_required("admin")
def diff(name: str, number: int) -> ResponseReturnValue:
    """A unified diff of one version against the live one, and the button to roll back to it."""
    return _diff_page(name, number)


def _diff_page(name: str, number: int) -> str:
    old, live = _version(name, number), _versions(name)[-1]
    lines = difflib.unified_diff(
        old.source.splitlines(),
        live.source.splitlines(),
        fromfile=f"{name} v{old.version}",
        tofile=f"{name} v{live.version}",
        lineterm="",
    )
    return render_template(
        "desk/flow_diff.html", name=name, v=old, live=live, lines=list(lines), sign_out=EmptyForm()
    )


@bp.route("/<name>/v<int:number>/rollback", methods=["GET", "POST"])
@auth.role_required("admin")
def rollback(name: str, number: int) -> ResponseReturnValue:
    """Ask, then publish this version's content again as the new live version."""
    if request.method == "GET":
        return _diff_page(name, number)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired; please try again."), "error")
        return _diff_page(name, number), 400
    try:
        with unit_of_work() as db:
            result = rollback_flow(db, name, number, _author())
            number, created = result.version.version, result.created
    except FlowLookupError:
        abort(404)
    except FlowError as exc:
        flash(_("Not rolled back: that version no longer validates."), "error")
        for line in exc.lines():
            flash(line, "error")
        return redirect(url_for("flows.flow", name=name))
    if created:
        flash(_("Rolled back: published v%(version)s; new calls use it.", version=number), "info")
    else:
        flash(_("Unchanged: v%(version)s already has this content.", version=number), "info")
    return redirect(url_for("flows.flow", name=name))


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


@bp.post("/<name>/test")
@auth.role_required("admin")
def test_start(name: str) -> ResponseReturnValue:
    """Place a test call to the live version of this flow."""
    _versions(name)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("flows.flow", name=name))
    earlier = session.get("test_call")
    if earlier and (call := test_call(get_session(), earlier)) is not None and not call.finished:
        hang_up_test_call(_app(), earlier)  # one test call per session: the last one ends
    get_session().close()  # the webhooks write; hold no transaction of ours meanwhile
    sid = f"CA{uuid.uuid4().hex}"
    session["test_call"] = sid
    try:
        start_test_call(_app(), name, sid)
    except TestCallError as exc:
        flash(str(exc), "error")
    return redirect(url_for("flows.flow", name=name, _anchor="test-call"))


@bp.post("/<name>/test/input")
@auth.role_required("admin")
def test_input(name: str) -> ResponseReturnValue:
    """The tester's move in their test call: keys, speech, silence, a result or hanging up."""
    form = TestInputForm()
    sid = session.get("test_call")
    if not form.validate_on_submit() or not sid:
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("flows.flow", name=name))
    action = form.action.data or ""
    get_session().close()
    try:
        if action == "hangup":
            hang_up_test_call(_app(), sid)
        else:
            value = {"press": form.keys.data, "say": form.speech.data}.get(action, form.result.data)
            act_in_test_call(_app(), sid, action, (value or "").strip())
    except TestCallError:
        flash(_("The call does not wait for that."), "error")
    return redirect(url_for("flows.flow", name=name, _anchor="test-call"))
