"""The agent desk: users and sign-in, presence, routing (ACD) and the console at ``/console/``.

Importing this package registers its tables and the ``routing`` service; ``views.bp`` is the
console, ``twilio_views.bp`` the webhooks of the agent's call leg.
"""

from ivr.desk import models  # noqa: F401  (registers the tables)
from ivr.desk.service import build_routing
from ivr.desk.voicemails import build_voicemails
from ivr.services import register_service

register_service("routing", build_routing)
register_service("voicemails", build_voicemails)
