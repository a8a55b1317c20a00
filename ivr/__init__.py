"""Hotline: a Twilio voice-support service for online shops."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from ivr import db, limits
from ivr.config import load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Flask application."""
    app = Flask(
        __name__, instance_path=os.environ.get("IVR_INSTANCE_PATH") or None, instance_relative_config=True
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.secret_key = app.config["SECRET_KEY"]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ivr.privacy.logs import install as mask_numbers_in_logs

    mask_numbers_in_logs()
    db.init_app(app)
    limits.init_app(app)

    from ivr import health, plugins, restapi, webhooks

    restapi.register(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    for blueprint in plugins.blueprints():
        app.register_blueprint(blueprint)

    return app
