"""Order-status self-service: orders store, sources, import, the flow node and the REST API.

Importing this package registers the ``order_status`` node and the ``orders`` and
``order_guard`` services.
"""

from ivr.orders import node  # noqa: F401  (registers the node kind)
from ivr.orders.services import build_guard, build_source
from ivr.services import register_service

register_service("orders", build_source)
register_service("order_guard", build_guard)
