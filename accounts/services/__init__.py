"""Write operations of the accounts app. Entry points (views, API, commands) call these."""

from accounts.services.access_policies import (
    access_policy_create,
    access_policy_delete,
    access_policy_update,
)
from accounts.services.invitations import invitation_accept_pending
from accounts.services.lockout import membership_unlock
from accounts.services.memberships import (
    membership_create,
    membership_deactivate,
    membership_reactivate,
    membership_sign_out,
    membership_update,
)
from accounts.services.projects import project_create, project_update
from accounts.services.users import user_get_or_create, user_password_remove, user_profile_refresh

__all__ = [
    "access_policy_create",
    "access_policy_delete",
    "access_policy_update",
    "invitation_accept_pending",
    "membership_create",
    "membership_deactivate",
    "membership_reactivate",
    "membership_sign_out",
    "membership_unlock",
    "membership_update",
    "project_create",
    "project_update",
    "user_get_or_create",
    "user_password_remove",
    "user_profile_refresh",
]
