"""Outbound signals: sent after the outbox recorded a message's final delivery outcome.

For other apps (and test instrumentation) to react; never part of delivery itself.
"""

from django.dispatch import Signal

# sender=OutboundMessage, message_id=<UUID>, status="sent" | "dead"
message_finished = Signal()
