"""The browser softphone: tokens for the signed-in agent only, the SDK from the npm lock file."""

from __future__ import annotations

import time

import jwt
import pytest

from ivr.desk.softphone import SDK
from tests.desk.conftest import sign_in

KEY_SECRET = "softphone-test-secret-0123456789"


@pytest.fixture
def softphone(app):
    app.config.update(
        TWILIO_API_KEY_SID="SK" + "1" * 32,
        TWILIO_API_KEY_SECRET=KEY_SECRET,
        TWILIO_TWIML_APP_SID="AP" + "2" * 32,
    )


def test_signed_in_agent_gets_a_token_for_their_own_identity(client, create_user, softphone):
    user = create_user()
    sign_in(client, user["email"])
    resp = client.get("/console/softphone/token")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["identity"] == f"agent-{user['id']}"
    claims = jwt.decode(body["token"], KEY_SECRET, algorithms=["HS256"])
    grant = claims["grants"]["voice"]
    assert claims["grants"]["identity"] == f"agent-{user['id']}"
    assert grant["incoming"] == {"allow": True}
    assert grant["outgoing"]["application_sid"] == "AP" + "2" * 32
    assert 3500 < claims["exp"] - time.time() <= 3600


def test_no_token_without_sign_in(client, softphone):
    resp = client.get("/console/softphone/token")
    assert resp.status_code == 302 and "/console/login" in resp.headers["Location"]


def test_without_softphone_settings_the_token_endpoint_says_so(client, create_user):
    sign_in(client, create_user()["email"])
    resp = client.get("/console/softphone/token")
    assert resp.status_code == 404
    assert resp.get_json() == {"error": "the softphone is not configured"}
    assert "softphone" not in client.get("/console/").get_data(as_text=True).lower()


@pytest.mark.skipif(not SDK.exists(), reason="npm ci has not run (.ci/run runs it)")
def test_the_console_loads_the_pinned_sdk_when_configured(client, create_user, softphone):
    sign_in(client, create_user()["email"])
    page = client.get("/console/").get_data(as_text=True)
    assert 'src="/console/vendor/twilio.min.js"' in page and 'id="softphone"' in page
    sdk = client.get("/console/vendor/twilio.min.js")
    try:
        assert sdk.status_code == 200 and sdk.mimetype == "text/javascript"
        assert b"Device" in sdk.data
    finally:
        sdk.close()
