"""In-call satisfaction survey: the ``survey`` node and the ``survey`` service (sampling, agent).

Importing this package registers both.
"""

from ivr.services import register_service
from ivr.surveys import node  # noqa: F401  (registers the node kind)
from ivr.surveys.service import build_survey

register_service("survey", build_survey)
