"""SQLAlchemy models, one noun per module."""

from ivr.models.call import Call
from ivr.models.customer import Customer
from ivr.models.flow import FlowVersion
from ivr.models.interaction import Interaction, InteractionEvent

__all__ = ["Call", "Customer", "FlowVersion", "Interaction", "InteractionEvent"]
