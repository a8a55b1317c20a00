"""Bring an instance to a servable state: schema migrated, shipped flows published."""

from __future__ import annotations

from flask import Flask

from ivr.db import session_factory
from ivr.flows.store import load_shipped_flows
from ivr.migrate import upgrade


def prepare_instance(app: Flask) -> list[str]:
    """Migrate the database and publish shipped flows that changed; return what was published."""
    upgrade(app.config["DATABASE_URL"])
    with session_factory(app)() as session:
        versions = load_shipped_flows(session)
        session.commit()
        return [f"{v.name} v{v.version}" for v in versions]


def warm_up(app: Flask) -> None:
    """Parse the answering flow before gunicorn forks, so no caller waits for it."""
    from ivr.flows.store import flow_of, latest_version

    try:
        with session_factory(app)() as session:
            version = latest_version(session, app.config["FLOW_NAME"])
            if version is not None:
                flow_of(version)
    except Exception:  # noqa: BLE001 - an unmigrated database is reported by the first call
        app.logger.warning("could not preload the flow %s", app.config["FLOW_NAME"])
    finally:
        session_factory(app).kw["bind"].dispose()  # no connections shared across fork
    warm_up_speech(app)


def warm_up_speech(app: Flask) -> None:
    """Load the Vosk model and the intent classifier before forking: workers share their memory."""
    from ivr.understanding.service import describe_speech_setup, speech_model
    from speech.intents import default_classifier

    app.logger.info(describe_speech_setup(app.config))
    if app.config.get("SPEECH_MODE") == "vosk":
        speech_model(app.config.get("VOSK_MODEL"))
    default_classifier()
