"""SQLAlchemy models, one noun per module."""

from ivr.models.api_key import ApiKey
from ivr.models.call import Call
from ivr.models.customer import Customer
from ivr.models.flow import FlowVersion
from ivr.models.interaction import Interaction, InteractionEvent
from ivr.models.order import Order, OrderVerificationFailure

__all__ = [
    "ApiKey",
    "Call",
    "Customer",
    "FlowVersion",
    "Interaction",
    "InteractionEvent",
    "Order",
    "OrderVerificationFailure",
]
