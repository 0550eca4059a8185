"""Outbound signals: sent after an accounts service finished, for *other* apps to react."""

from django.dispatch import Signal

# sender=Membership, membership=<Membership>, actor=<Actor>
membership_deactivated = Signal()
membership_reactivated = Signal()

# Sent after a browser session of `user` ended (sign-out, ended from a list, signed out
# everywhere, deactivation, password change): `sid` is the session's id as tokens and ID tokens
# carry it, `reason` a short word (logout, ended, everywhere, deactivated, password). oauth
# revokes the tokens issued in that session and tells client apps (back-channel logout).
session_ended = Signal()

# Sent after every session of `user` was ended and all their tokens should go (signed out
# everywhere by an operator, a password change or reset): reason="everywhere" | "password".
user_signed_out_everywhere = Signal()

# Sent after a project admin signed a member out of the project (sender=Membership,
# membership=<Membership>, actor=<Actor>): that project's tokens and consents of the user go.
membership_signed_out = Signal()
