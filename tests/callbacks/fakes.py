"""Twilio's REST API as its documentation describes it, behind twilio's own HttpClient seam."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from twilio.http import HttpClient
from twilio.http.response import Response

ACCOUNT_SID = "AC" + "0" * 32
#: A scripted failure that is no HTTP answer at all: the request times out.
TIMEOUT = 0


def _error(status: int, code: int, message: str) -> Response:
    return Response(
        status,
        json.dumps(
            {
                "code": code,
                "message": message,
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            }
        ),
    )


@dataclass
class PlacedCall:
    """A call Twilio accepted: who it rings and the webhooks it will use."""

    sid: str
    to: str
    from_: str
    url: str
    status_callback: str

    def query(self, url: str) -> dict[str, str]:
        """The query parameters of one of the call's webhook URLs."""
        return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


@dataclass
class FakeTwilio(HttpClient):
    """Answers ``POST /Calls.json`` with 201 and a Call, call updates with 200 (400 once ended);
    scripted 429/5xx/timeouts first; 401 on bad auth."""

    auth_token: str
    failures: list[int] = field(default_factory=list)
    on_call: Callable[[PlacedCall], None] | None = None
    statuses: dict[str, str] = field(default_factory=dict)
    calls: list[PlacedCall] = field(default_factory=list)
    #: Updates of live calls (redirect with ``Url``, or ``Status=canceled``): (CallSid, form).
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Calls that have ended: updating them gets Twilio's 21220 "not in-progress".
    ended: set[str] = field(default_factory=set)
    #: Messages accepted by ``POST /Messages.json`` (the form as sent), and scripted failures for them.
    messages: list[dict[str, Any]] = field(default_factory=list)
    message_failures: list[int] = field(default_factory=list)
    #: Recordings deleted through ``DELETE /Recordings/RE….json`` (204; 404 if unknown or gone).
    recordings: set[str] = field(default_factory=set)
    deleted_recordings: list[str] = field(default_factory=list)

    #: Conferences in progress, by friendly name (a test starts one when both legs joined).
    conferences: dict[str, str] = field(default_factory=dict)
    #: Updates of conference participants: (ConferenceSid, CallSid, form).
    participant_updates: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.lock = threading.Lock()
        self.hosts: list[str] = []

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Serve one API request."""
        self.hosts.append(urlparse(uri).netloc)
        if auth != (ACCOUNT_SID, self.auth_token):
            return _error(401, 20003, "Authentication Error - invalid username")
        path = urlparse(uri).path
        if method == "DELETE" and "/Recordings/" in path:
            sid = path.rsplit("/", 1)[-1].removesuffix(".json")
            with self.lock:
                if sid not in self.recordings:
                    return _error(404, 20404, f"The requested resource /Recordings/{sid}.json was not found")
                self.recordings.discard(sid)
                self.deleted_recordings.append(sid)
            return Response(204, "")
        if "/Conferences" in path:
            return self._conference(method, path, params or {}, data or {})
        if method == "GET" and "/Calls/" in path:
            sid = path.rsplit("/", 1)[-1].removesuffix(".json")
            status = self.statuses.get(sid, "in-progress")
            return Response(200, json.dumps(self._resource(sid, "", "", status)))
        if method == "POST" and "/Calls/" in path:
            sid = path.rsplit("/", 1)[-1].removesuffix(".json")
            if sid in self.ended:
                return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
            with self.lock:
                self.updates.append((sid, dict(data or {})))
            return Response(200, json.dumps(self._resource(sid, "", "", "in-progress")))
        if method == "POST" and path.endswith("/Messages.json"):
            return self._message(dict(data or {}))
        if method != "POST" or not path.endswith("/Calls.json"):
            return _error(404, 20404, "The requested resource was not found")
        with self.lock:
            if self.failures:
                status = self.failures.pop(0)
                if status == TIMEOUT:  # what TwilioHttpClient raises when Twilio does not answer in time
                    raise requests.exceptions.ReadTimeout(f"{uri}: read timed out (timeout={timeout})")
                return _error(
                    status,
                    20429 if status == 429 else 20500,
                    "Too Many Requests" if status == 429 else "Internal Server Error",
                )
            form = data or {}
            call = PlacedCall(
                f"CA{uuid.uuid4().hex}",
                str(form["To"]),
                str(form["From"]),
                str(form["Url"]),
                str(form.get("StatusCallback", "")),
            )
            self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        return Response(201, json.dumps(self._resource(call.sid, call.to, call.from_, "queued")))

    def _message(self, form: dict[str, Any]) -> Response:
        """201 with a Message resource as Twilio documents it; 21211 for an invalid ``To``."""
        with self.lock:
            if self.message_failures:
                status = self.message_failures.pop(0)
                return _error(status, 20429 if status == 429 else 20500, "Scripted failure")
            if not str(form.get("To", "")).startswith("+"):
                return _error(400, 21211, "The 'To' number is not a valid phone number.")
            self.messages.append(form)
        sid = f"SM{uuid.uuid4().hex}"
        resource = {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": form["To"],
            "from": form.get("From"),
            "body": form.get("Body"),
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "api_version": "2010-04-01",
            "date_created": "Tue, 24 Nov 2026 09:00:00 +0000",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        }
        return Response(201, json.dumps(resource))

    def _conference(self, method: str, path: str, params: dict[str, Any], data: dict[str, Any]) -> Response:
        """List conferences by name and status; update a participant (hold)."""
        if method == "GET" and path.endswith("/Conferences.json"):
            name = params.get("FriendlyName")
            found = [
                {"sid": sid, "account_sid": ACCOUNT_SID, "friendly_name": n, "status": "in-progress"}
                for n, sid in self.conferences.items()
                if name in (None, n) and params.get("Status") in (None, "in-progress")
            ]
            return Response(
                200,
                json.dumps(
                    {
                        "conferences": found,
                        "page": 0,
                        "page_size": 50,
                        "next_page_uri": None,
                        "start": 0,
                        "end": 0,
                    }
                ),
            )
        parts = path.removesuffix(".json").split("/")
        if method == "POST" and len(parts) >= 4 and parts[-2] == "Participants":
            conference, call = parts[-3], parts[-1]
            if conference not in self.conferences.values() or call in self.ended:
                return _error(404, 20404, "The requested resource was not found")
            with self.lock:
                self.participant_updates.append((conference, call, dict(data)))
            hold = str(data.get("Hold", "false")).lower() == "true"
            return Response(
                200,
                json.dumps(
                    {"account_sid": ACCOUNT_SID, "call_sid": call, "conference_sid": conference, "hold": hold}
                ),
            )
        return _error(404, 20404, "The requested resource was not found")

    def _resource(self, sid: str, to: str, from_: str, status: str) -> dict[str, Any]:
        return {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": to,
            "from": from_,
            "status": status,
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "duration": None,
            "date_created": "Tue, 24 Nov 2026 09:00:00 +0000",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json",
        }
