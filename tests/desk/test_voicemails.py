"""Voicemails left in the IVR, on the console: listed per queue, played through us, taken, done.

The recording is served by a stand-in for Twilio's media host, behind the requests session the
service fetches with (``RECORDING_HTTP``), so the test sees exactly what the service sends.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from sqlalchemy import select

from ivr.desk.models import Voicemail
from ivr.desk.screen import fingerprint
from ivr.history import customer_history
from tests.conftest import AUTH_TOKEN
from tests.desk.conftest import CALLER, post_form

REC = "https://api.twilio.com/2010-04-01/Accounts/AC" + "0" * 32 + "/Recordings/RE" + "1" * 32
AUDIO = b"ID3\x04\x00" + bytes(range(256)) * 40


class TwilioMedia(BaseAdapter):
    """Twilio's media host: the recording as MP3 for the account's credentials, 401 otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Answer like api.twilio.com."""
        self.sent.append(request)
        response = requests.Response()
        response.request, response.url = request, request.url or ""
        expected = requests.auth._basic_auth_str("AC" + "0" * 32, AUTH_TOKEN)  # type: ignore[attr-defined]
        body = b"{}"
        if request.headers.get("Authorization") != expected:
            response.status_code = 401
        elif request.url == REC + ".mp3":
            response.status_code, body = 200, AUDIO
            response.headers["Content-Type"] = "audio/mpeg"
        else:
            response.status_code = 404
        response.raw = io.BytesIO(body)
        return response

    def close(self) -> None:
        """Nothing to close."""


@pytest.fixture
def media(app) -> TwilioMedia:
    http = requests.Session()
    adapter = TwilioMedia()
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    app.config["RECORDING_HTTP"] = http
    app.config["TWILIO_ACCOUNT_SID"] = "AC" + "0" * 32
    return adapter


def _leave_voicemail(phone, number: str = CALLER, url: str = REC) -> Any:
    """A caller asks for a person, nobody comes, they leave a message (as in the shipped flow)."""
    caller = phone(number)
    caller.dial()
    caller.press("0")  # service queue
    caller.queue_result("leave")  # the longest wait is over
    caller.press("2")  # leave a message
    caller.record(url, duration=42)
    return caller


def test_a_voicemail_is_listed_for_the_queue_and_played_through_the_service(
    app, phone, fake, create_user, client, session, media
):
    from tests.desk.conftest import sign_in

    create_user("anna@shop.example", skills=("service",))
    _leave_voicemail(phone)
    [voicemail] = session.scalars(select(Voicemail)).all()
    assert (voicemail.queue, voicemail.duration, voicemail.status) == ("service", 42, "new")

    sign_in(client, "anna@shop.example")
    desk = client.get("/console/").get_data(as_text=True)
    assert 'data-testid="voicemail-badge" aria-live="polite">1<' in desk
    page = client.get("/console/voicemails/").get_data(as_text=True)
    assert page.count('data-testid="voicemail"') == 1
    assert "42 s" in page and "service" in page
    assert "twilio.com" not in page and "RE1111" not in page  # the recording's URL stays with us

    played = client.get(f"/console/voicemails/{voicemail.id}/audio")
    assert played.status_code == 200 and played.mimetype == "audio/mpeg"
    assert played.data == AUDIO
    assert played.headers["Cache-Control"] == "no-store"
    assert AUTH_TOKEN.encode() not in played.data
    [sent] = media.sent
    assert sent.url == REC + ".mp3"


def test_agents_of_other_queues_neither_see_nor_play_it(
    app, phone, fake, create_user, client, session, media
):
    from tests.desk.conftest import sign_in

    create_user("ben@shop.example", name="Ben", skills=("returns",))
    _leave_voicemail(phone)
    voicemail_id = session.scalar(select(Voicemail.id))
    sign_in(client, "ben@shop.example")
    assert 'data-testid="voicemail"' not in client.get("/console/voicemails/").get_data(as_text=True)
    assert client.get(f"/console/voicemails/{voicemail_id}/audio").status_code == 404
    assert media.sent == []
    stranger = app.test_client()  # not signed in
    assert stranger.get(f"/console/voicemails/{voicemail_id}/audio").status_code in (302, 401)
    assert media.sent == []


def test_take_and_done_land_in_the_history_and_done_stays_done(app, phone, fake, create_user, session, media):
    from tests.desk.conftest import sign_in

    anna_user = create_user("anna@shop.example", skills=("service",))
    create_user("carla@shop.example", name="Carla", skills=("service",))
    _leave_voicemail(phone)
    voicemail_id = session.scalar(select(Voicemail.id))
    anna, carla = app.test_client(), app.test_client()
    sign_in(anna, "anna@shop.example")
    sign_in(carla, "carla@shop.example")
    page = "/console/voicemails/"

    post_form(anna, f"/console/voicemails/{voicemail_id}/assign", {}, page=page)
    session.rollback()
    taken = session.get(Voicemail, voicemail_id)
    assert taken.status == "assigned" and taken.assigned_to == anna_user["id"]

    # Carla can neither take nor close Anna's voicemail; Anna can close it, once.
    post_form(carla, f"/console/voicemails/{voicemail_id}/assign", {}, page=page)
    session.rollback()
    assert session.get(Voicemail, voicemail_id).assigned_to == anna_user["id"]
    refused = post_form(carla, f"/console/voicemails/{voicemail_id}/done", {"note": "x"}, page=page)
    assert "eine Kollegin" in carla.get(refused.headers["Location"]).get_data(as_text=True)
    post_form(anna, f"/console/voicemails/{voicemail_id}/done", {"note": "zurückgerufen"}, page=page)
    session.rollback()
    done = session.get(Voicemail, voicemail_id)
    assert done.status == "done" and done.done_at is not None
    first_done_at = done.done_at
    again = post_form(anna, f"/console/voicemails/{voicemail_id}/done", {"note": "noch mal"}, page=page)
    assert "bereits erledigt" in anna.get(again.headers["Location"]).get_data(as_text=True)
    session.rollback()
    assert session.get(Voicemail, voicemail_id).done_at == first_done_at

    [entry] = customer_history(session, CALLER)
    kinds = [e["kind"] for e in entry["events"]]
    assert kinds.index("voicemail") < kinds.index("voicemail_assigned") < kinds.index("voicemail_done")
    note = next(e for e in entry["events"] if e["kind"] == "voicemail_done")["data"]["note"]
    assert note == "zurückgerufen"
    assert 'data-testid="voicemail"' not in anna.get(page).get_data(as_text=True)
    assert 'data-testid="voicemail"' in anna.get(page + "?done=1").get_data(as_text=True)


def test_a_new_voicemail_changes_what_the_desk_stream_pushes(app, phone, fake, create_user, session, media):
    agent = create_user("anna@shop.example", skills=("service",))
    before = fingerprint(session, agent["id"])
    _leave_voicemail(phone)
    session.rollback()
    assert fingerprint(session, agent["id"]) != before


def test_a_recording_on_a_foreign_host_is_not_kept(app, phone, fake, create_user, session, media):
    _leave_voicemail(phone, url="https://attacker.example/rec.mp3")
    assert session.scalars(select(Voicemail)).all() == []
