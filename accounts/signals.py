"""Outbound signals: sent after an accounts service finished, for *other* apps to react."""

from django.dispatch import Signal

# sender=Membership, membership=<Membership>, actor=<Actor>
membership_deactivated = Signal()
membership_reactivated = Signal()
