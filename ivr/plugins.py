"""Capabilities that plug node kinds, services, tables and views into the core.

Importing this module registers them all; each capability adds one line below.
"""

from __future__ import annotations

from flask import Blueprint

# --- capability imports (node kinds, services, models) ---
from ivr import callback_views, callbacks_api
from ivr.desk import api as desk_api
from ivr.desk import flows_views as desk_flows_views
from ivr.desk import twilio_views as desk_twilio_views
from ivr.desk import views as desk_views
from ivr.desk import voicemail_views as desk_voicemail_views
from ivr.orders import api as orders_api
from ivr.understanding import streams as speech_streams  # noqa: F401  (the media websocket, stream mode only)
from ivr.understanding import views as speech_views


def blueprints() -> list[Blueprint]:
    """The capabilities' web views, registered by the app factory."""
    found: list[Blueprint] = []
    # --- capability blueprints ---
    found.append(callback_views.bp)
    found.append(callbacks_api.bp)
    found.append(orders_api.bp)
    found.append(speech_views.bp)
    found.append(desk_views.bp)
    found.append(desk_twilio_views.bp)
    found.append(desk_api.bp)
    found.append(desk_flows_views.bp)
    found.append(desk_voicemail_views.bp)
    return found
