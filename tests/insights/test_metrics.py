"""``/metrics``: Prometheus text for a token or a kpis key only; no personal data in it."""

from __future__ import annotations

from datetime import timedelta

from ivr.apikeys import create_api_key
from ivr.desk import routing

CALLER = "+4915112345678"


def test_metrics_need_the_token_or_a_kpis_key(app, client, session):
    keys = {scope: create_api_key(session, f"mon-{scope}", [scope]) for scope in ("kpis", "orders")}
    session.commit()
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"X-API-Key": keys["orders"]}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"}).status_code == 200
    assert client.get("/metrics", headers={"X-API-Key": keys["kpis"]}).status_code == 200


def test_metrics_show_webhook_latency_queues_agents_and_outcomes(app, client, session, twilio_post):
    app.config["METRICS_TOKEN"] = "tok"
    twilio_post("/twilio/voice", CallSid="CA" + "2" * 32, From=CALLER, To="+493000000000")
    routing.enqueue(session, "CA" + "3" * 32, "service", "de", app.config["CLOCK"]() - timedelta(seconds=5))
    session.commit()

    resp = client.get("/metrics", headers={"Authorization": "Bearer tok"})
    text = resp.get_data(as_text=True)

    assert resp.headers["Content-Type"].startswith("text/plain")
    assert 'ivr_webhook_duration_seconds_count{route="/twilio/voice"}' in text
    assert 'ivr_queue_callers{queue="service",state="waiting"} 1.0' in text
    assert 'ivr_agents{state="available"} 0.0' in text
    assert "ivr_callback_backlog 0.0" in text
    assert "ivr_speech_decode_seconds_count" in text
    assert "ivr_calls_total" in text or "# TYPE ivr_calls counter" in text
    assert CALLER not in text and "2222222222" not in text
