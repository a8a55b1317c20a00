"""The flow engine on its own: state + input → next step, no app, database or XML."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.flows.definition import parse_flow
from ivr.flows.engine import resume_flow, start_flow
from ivr.flows.nodes.base import CallState, Context
from ivr.flows.steps import CallerInput, Dial, Enqueue, Gather, Hangup

FLOW = parse_flow(
    """\
name: t
languages: [de, en]
start: hello
schedules:
  office: {weekly: {mon-fri: "09:00-17:00"}, describe: {de: werktags, en: weekdays}}
departments:
  sales: {dial: "+4930111"}
nodes:
  hello:
    type: say
    say: {de: "Hallo, Kunde {customer_number}.", en: "Hello, customer {customer_number}."}
    next: menu
  menu:
    type: menu
    prompt: {de: "Eins oder zwei?", en: "One or two?"}
    options:
      "1": hours
      "2": {next: number, keywords: {de: [nummer], en: [number]}}
      "9": english
    no_input: {de: Nichts gehört., en: Nothing heard.}
    no_match: {de: Unbekannt., en: Unknown.}
    retries: 1
    on_failure: bye
  english:
    type: language
    language: en
    next: menu
  hours:
    type: hours
    schedule: office
    open: sales
    closed: closed
  sales:
    type: route
    department: sales
    on_failure: bye
  closed:
    type: hangup
    say: {de: "Wir sind {opening_hours} da.", en: "We are there {opening_hours}."}
  number:
    type: collect
    prompt: {de: "Ihre Nummer?", en: "Your number?"}
    variable: customer_number
    min_digits: 4
    max_digits: 6
    no_input: {de: Bitte die Nummer., en: The number please.}
    invalid: {de: Vier bis sechs Ziffern., en: Four to six digits.}
    next: bye
    on_failure: bye
  bye:
    type: hangup
    say: {de: Tschüss., en: Bye.}
""",
    "t.yaml",
)

MONDAY_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)


def new_call(now: datetime = MONDAY_NOON) -> Context:
    return Context(
        FLOW, CallState(node=FLOW.start, language="de", variables={"customer_number": "4711"}), now
    )


def texts(step) -> list[str]:
    return [p.text for p in step.prompts]


def test_start_plays_greeting_then_menu_and_waits_for_a_key():
    ctx = new_call()
    step = start_flow(ctx)
    assert texts(step) == ["Hallo, Kunde 4711.", "Eins oder zwei?"]
    assert isinstance(step.verb, Gather) and step.verb.num_digits == 1
    assert ctx.state.node == "menu"
    assert [e.kind for e in ctx.events] == ["node", "node"]


def test_key_routes_by_opening_hours():
    ctx = new_call()
    start_flow(ctx)
    step = resume_flow(ctx, CallerInput(digits="1"))
    assert step.verb == Dial(number="+4930111", timeout=30)
    closed = new_call(SATURDAY)
    start_flow(closed)
    step = resume_flow(closed, CallerInput(digits="1"))
    assert texts(step) == ["Wir sind werktags da."] and isinstance(step.verb, Hangup)


def test_retries_then_failure_target():
    ctx = new_call()
    start_flow(ctx)
    step = resume_flow(ctx, CallerInput())
    assert texts(step) == ["Nichts gehört.", "Eins oder zwei?"]
    step = resume_flow(ctx, CallerInput(digits="5"))
    assert texts(step) == ["Tschüss."] and step.finished


def test_language_switch_changes_following_prompts():
    ctx = new_call()
    start_flow(ctx)
    step = resume_flow(ctx, CallerInput(digits="9"))
    assert texts(step) == ["One or two?"] and step.language == "en"


def test_spoken_keyword_and_digit_collection():
    ctx = new_call()
    start_flow(ctx)
    step = resume_flow(ctx, CallerInput(speech="meine Nummer bitte"))
    assert texts(step) == ["Ihre Nummer?"]
    step = resume_flow(ctx, CallerInput(digits="12#"))
    assert texts(step) == ["Vier bis sechs Ziffern."]
    step = resume_flow(ctx, CallerInput(digits="4711#"))
    assert ctx.state.variables["customer_number"] == "4711" and step.finished


def test_route_failure_continues_at_on_failure():
    ctx = new_call()
    start_flow(ctx)
    resume_flow(ctx, CallerInput(digits="1"))
    step = resume_flow(ctx, CallerInput(dial_status="no-answer"))
    assert texts(step) == ["Tschüss."]


def test_queue_destination():
    flow = parse_flow(FLOW.source.replace('sales: {dial: "+4930111"}', "sales: {queue: vertrieb}"), "t.yaml")
    ctx = Context(flow, CallState(node=flow.start, language="de"), MONDAY_NOON)
    start_flow(ctx)
    assert resume_flow(ctx, CallerInput(digits="1")).verb == Enqueue(queue="vertrieb")
