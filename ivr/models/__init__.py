"""SQLAlchemy models, one noun per module."""

from ivr.models.api_key import ApiKey
from ivr.models.call import Call
from ivr.models.customer import Customer, CustomerMerge
from ivr.models.flow import FlowVersion
from ivr.models.interaction import Interaction, InteractionEvent
from ivr.models.order import Order, OrderVerificationFailure
from ivr.models.outbox import IdempotencyKey, WebhookDelivery

__all__ = [
    "ApiKey",
    "Call",
    "Customer",
    "CustomerMerge",
    "FlowVersion",
    "IdempotencyKey",
    "Interaction",
    "InteractionEvent",
    "Order",
    "OrderVerificationFailure",
    "WebhookDelivery",
]
