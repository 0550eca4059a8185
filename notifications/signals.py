"""Outbound signals: sent after the delivery engine recorded a final outcome.

For other apps (and test instrumentation) to react; never part of delivery itself.
"""

from django.dispatch import Signal

# Any kind: sender=<the kind's model>, kind="email" | …, record_id=<pk>, status="sent" | "dead"
delivery_finished = Signal()

# Email only (kept for its listeners): sender=OutboundMessage, message_id=<UUID>, status="sent" | "dead"
message_finished = Signal()
