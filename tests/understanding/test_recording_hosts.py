"""Which RecordingUrl hosts we fetch from: Twilio's media hosts, and hosts the admin allowed."""

from __future__ import annotations

import pytest

from ivr.understanding.recordings import is_media_host

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
    ],
)
def test_other_hosts_are_refused(url):
    assert not is_media_host(url)


def test_an_allow_listed_provider_host_is_fetched():
    assert is_media_host(f"http://127.0.0.1:8099{REC}", ["127.0.0.1:8099"])
    assert not is_media_host(f"http://127.0.0.1:8100{REC}", ["127.0.0.1:8099"])
