"""Capabilities that plug node kinds, services, tables and views into the core.

Importing this module registers them all; each capability adds one line below.
"""

from __future__ import annotations

from flask import Blueprint

# --- capability imports (node kinds, services, models) ---
from ivr import callback_views, callbacks_api
from ivr import surveys as _surveys  # noqa: F401  (the survey node and service)
from ivr.customers import api as customers_api
from ivr.customers import views as customers_views
from ivr.desk import api as desk_api
from ivr.desk import flows_views as desk_flows_views
from ivr.desk import twilio_views as desk_twilio_views
from ivr.desk import views as desk_views
from ivr.desk import voicemail_views as desk_voicemail_views
from ivr.insights import alarms_views
from ivr.insights import api as insights_api
from ivr.insights import console as insights_console
from ivr.insights import metrics as insights_metrics
from ivr.orders import api as orders_api
from ivr.privacy import api as privacy_api
from ivr.privacy import consent as privacy_consent  # noqa: F401  (the consent node)
from ivr.privacy import models as privacy_models  # noqa: F401  (transcripts, recordings, consents, audit)
from ivr.privacy import views as privacy_views
from ivr.returns import api as returns_api  # (and the return node kinds)
from ivr.returns import views as returns_views
from ivr.understanding import streams as speech_streams  # noqa: F401  (the media websocket, stream mode only)
from ivr.understanding import views as speech_views


def blueprints() -> list[Blueprint]:
    """The capabilities' web views, registered by the app factory."""
    found: list[Blueprint] = []
    # --- capability blueprints ---
    found.append(callback_views.bp)
    found.append(callbacks_api.bp)
    found.append(orders_api.bp)
    found.append(returns_api.bp)
    found.append(returns_views.bp)
    found.append(privacy_api.bp)
    found.append(privacy_views.bp)
    found.append(speech_views.bp)
    found.append(desk_views.bp)
    found.append(desk_twilio_views.bp)
    found.append(desk_api.bp)
    found.append(desk_flows_views.bp)
    found.append(customers_api.bp)
    found.append(customers_views.bp)
    found.append(insights_api.bp)
    found.append(insights_console.bp)
    found.append(insights_metrics.bp)
    found.append(alarms_views.bp)
    found.append(desk_voicemail_views.bp)
    return found
