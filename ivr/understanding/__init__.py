"""Understanding why people call: the ask_intent node, recordings, media streams.

Importing this package registers the ``ask_intent`` node kind, the ``speech`` service and
the heard-speech table; ``streams`` adds the Media Streams websocket in stream mode.
"""

from ivr.services import register_service
from ivr.understanding import models, node  # noqa: F401  (registers the node kind and table)
from ivr.understanding.service import build_speech

register_service("speech", build_speech)
