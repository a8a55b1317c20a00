"""gunicorn's access log (``ivr serve``) writes paths without query strings: no phone numbers in logs."""

from __future__ import annotations

import requests

from tests.ivr.test_serve import start_serving  # noqa: F401  (the fixture)


def test_query_strings_stay_out_of_the_access_log(start_serving, tmp_path):  # noqa: F811
    base = start_serving(gunicorn_only=True)
    resp = requests.get(f"{base}/api/customers?phone=%2B4915112345678&order=4711", timeout=5)
    assert resp.status_code == 401
    requests.get(
        f"{base}/health?email=erika%40example.de", headers={"Referer": f"{base}/x?q=4915112345678"}, timeout=5
    )
    log = (tmp_path / "serve.log").read_text()
    assert '"GET /api/customers HTTP/1.1" 401' in log and '"GET /health HTTP/1.1" 200' in log
    for secret in ("4915112345678", "4711", "erika", "example.de"):
        assert secret not in log
