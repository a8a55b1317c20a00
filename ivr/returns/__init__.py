"""Returns by phone: the ``return_request`` node, the returns store, deliveries and the REST API.

Importing this package registers the ``return_request`` and ``order_notice`` node kinds and the
``returns`` service.
"""

from ivr.returns import node, notice  # noqa: F401  (register the node kinds)
from ivr.returns.service import build_returns
from ivr.services import register_service

register_service("returns", build_returns)
