"""Which RecordingUrl hosts we fetch from: Twilio's media hosts, and hosts the admin allowed."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import BaseAdapter

from ivr.understanding.recordings import RecordingRefused, fetch_recording, is_media_host

REC = "/2010-04-01/Accounts/AC0/Recordings/RE1"


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.twilio.com{REC}",
        f"https://api.dublin.ie1.twilio.com{REC}",
        f"https://api.twilio.com:443{REC}",
    ],
)
def test_twilio_media_hosts_are_fetched(url):
    assert is_media_host(url)


@pytest.mark.parametrize(
    "url",
    [
        f"http://api.twilio.com{REC}",  # credentials never in clear text
        f"https://api.twilio.com.attacker.example{REC}",
        f"https://api.twilio.com@attacker.example{REC}",
        f"https://attacker.example/api.twilio.com{REC}",
        f"https://nottwilio.com{REC}",
        f"https://api.twilio.com:8443{REC}",
        f"https://169.254.169.254{REC}",
        "file:///etc/passwd",
        f"https://127.0.0.1\\.twilio.com{REC}",  # requests sends this to 127.0.0.1
        f"https://api.twilio.com:abc{REC}",  # malformed port: refused, never an exception
        f"https://api.twilio.com:444{REC}",
        f"https://user:pw@api.twilio.com{REC}",
        f"https://api.twilio.com./{REC}",
        "https://[::1/",
        "",
    ],
)
def test_other_hosts_are_refused(url):
    assert not is_media_host(url)


def test_an_allow_listed_provider_host_is_fetched():
    assert is_media_host(f"http://127.0.0.1:8099{REC}", ["127.0.0.1:8099"])
    assert not is_media_host(f"http://127.0.0.1:8100{REC}", ["127.0.0.1:8099"])


class RecordingAdapter(BaseAdapter):
    """A requests transport that records what would be sent instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Record the request and fail like an unreachable host."""
        self.sent.append(request)
        raise requests.ConnectionError("not sent in tests")

    def close(self) -> None:
        """Nothing to close."""


@pytest.mark.parametrize(
    "url",
    [
        f"https://127.0.0.1\\.twilio.com{REC}",
        f"https://api.twilio.com:abc{REC}",
        f"https://attacker.example{REC}",
    ],
)
def test_credentials_never_leave_for_a_disguised_host(url):
    http = requests.Session()
    adapter = RecordingAdapter()
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    config = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "secret-token"}
    with pytest.raises(RecordingRefused):
        fetch_recording(url, config, session=http)
    assert adapter.sent == []
