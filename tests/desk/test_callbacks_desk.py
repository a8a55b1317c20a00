"""The callback queue in the desk: take the next due request, record the outcome."""

from __future__ import annotations

import json

from ivr.cli import main
from tests.desk.conftest import CALLER, post_form, sign_in


def ask_for_callback(phone) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("3")  # callback
    caller.press("1")  # on this number
    caller.press("1")  # as soon as possible


def requests(runner, *statuses: str) -> list[dict]:
    args = ["callbacks", "list", "--json"] + [x for s in statuses for x in ("--status", s)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_agent_takes_the_callback_and_completes_it_with_a_note(phone, client, create_user, runner):
    ask_for_callback(phone)
    create_user(phone="+4930123456")
    sign_in(client, "anna@shop.example")
    page = client.get("/console/").get_data(as_text=True)
    assert "+49 1511 2345678" in page and "Nächsten Rückruf übernehmen" in page

    assert post_form(client, "/console/callbacks/next", {}, page="/console/").status_code == 302
    page = client.get("/console/").get_data(as_text=True)
    assert 'data-testid="my-callback"' in page and 'href="tel:+4915112345678"' in page
    request_id = page.split('name="request" value="')[1].split('"')[0]
    done = post_form(
        client,
        "/console/callbacks/done",
        {"request": request_id, "note": "Gutschrift zugesagt"},
        page="/console/",
    )
    assert done.status_code == 302
    [row] = requests(runner, "completed")
    assert (row["note"], row["outcome"]) == ("Gutschrift zugesagt", "talked")


def test_one_request_is_taken_by_one_agent_only(phone, app, create_user, runner):
    ask_for_callback(phone)
    create_user("anna@shop.example", phone="+4930123456")
    create_user("ben@shop.example", name="Ben", phone="+4930999999")
    anna, ben = app.test_client(), app.test_client()
    sign_in(anna, "anna@shop.example")
    sign_in(ben, "ben@shop.example")
    post_form(anna, "/console/callbacks/next", {}, page="/console/")
    post_form(ben, "/console/callbacks/next", {}, page="/console/")
    assert 'data-testid="my-callback"' in anna.get("/console/").get_data(as_text=True)
    bens_page = ben.get("/console/").get_data(as_text=True)
    assert 'data-testid="my-callback"' not in bens_page and "Gerade ist kein Rückruf fällig." in bens_page
    [row] = requests(runner, "claimed")
    # Ben cannot complete Anna's callback by sending its number.
    post_form(ben, "/console/callbacks/done", {"request": str(row["id"]), "note": "x"}, page="/console/")
    assert requests(runner, "claimed")[0]["id"] == row["id"]


def test_not_reached_goes_back_to_the_queue(phone, client, create_user, runner):
    ask_for_callback(phone)
    create_user(phone="+4930123456")
    sign_in(client, "anna@shop.example")
    post_form(client, "/console/callbacks/next", {}, page="/console/")
    post_form(client, "/console/callbacks/back", {}, page="/console/")
    [row] = requests(runner)
    assert row["status"] == "queued"
    assert "Nächsten Rückruf übernehmen" in client.get("/console/").get_data(as_text=True)
