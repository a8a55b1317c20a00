"""Node kinds; importing this package registers the built-in ones."""

from ivr.flows.nodes import basic, menu, routing  # noqa: F401
from ivr.flows.nodes.base import NODE_TYPES, CallState, Context, Node, register

__all__ = ["NODE_TYPES", "CallState", "Context", "Node", "register"]
