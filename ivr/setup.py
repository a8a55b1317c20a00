"""Bring an instance to a servable state: schema migrated, missing shipped flows seeded."""

from __future__ import annotations

from flask import Flask

from ivr.db import session_factory, transaction
from ivr.flows.store import SHIPPED_FLOWS, latest_version, list_flows, seed_shipped_flows
from ivr.migrate import upgrade


class SetupError(Exception):
    """The instance cannot serve calls; the message says why and what to do."""


def prepare_instance(app: Flask) -> list[str]:
    """Migrate, seed shipped flows that do not exist yet, and return what start-up should say.

    The database is the truth: a flow an admin imported is never replaced by the shipped file;
    start-up only says when the shipped file differs from what is live.
    """
    upgrade(app.config["DATABASE_URL"])
    return check_flows(app)


def check_flows(app: Flask) -> list[str]:
    """Seed missing shipped flows, compare the others, check IVR_FLOW (see ``prepare_instance``)."""
    name = app.config["FLOW_NAME"]
    with session_factory(app)() as session:
        with transaction(session):
            report = seed_shipped_flows(session)
        notes = [f"seeded {v.name} v{v.version} from the shipped flow files" for v in report.seeded]
        for path, current in report.differing:
            shown = f"{SHIPPED_FLOWS.name}/{path.name}"
            notes.append(
                f"{shown} differs from the live {current.name} v{current.version} "
                f"(by {current.author}, {current.created_at:%Y-%m-%d %H:%M}); nothing changed. "
                f"To take the shipped version: ivr flows import {shown}"
            )
        for exc in report.invalid:
            notes.extend(f"shipped flow file is invalid, ignored: {line}" for line in exc.lines())
        live = latest_version(session, name)
        if live is None:
            known = ", ".join(v.name for v in list_flows(session)) or "none"
            raise SetupError(
                f"IVR_FLOW names the flow '{name}', which does not exist (flows: {known}). "
                "Import it with `ivr flows import FILE` or set IVR_FLOW to an existing flow."
            )
        notes.append(f"answering calls with {live.name} v{live.version}")
    return notes


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
