"""Shared pieces of the Django admin: operators look there, services write.

Edits in the admin would skip what the services do (audit records, signals such as
`membership_deactivated`, token revocation, cache invalidation, business rules). So models
written by services are view-only in the admin (`ViewOnlyAdminMixin`), and the few writes
operators need there are admin actions that call the services (`apply_to_each`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth import get_permission_codename
from django.http import HttpRequest

from identity.errors import ApplicationError
from identity.flash import ADMIN_REFUSED, Flash, flash


class ViewOnlyAdminMixin:
    """No add, change or delete in the admin; actions declared with `permissions=["manage"]`
    stay available to operators who hold the model's change permission."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_manage_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")


def apply_to_each(
    request: HttpRequest,
    objects: Iterable[Any],
    operation: Callable[[Any], object],
    *,
    done: Flash,
) -> None:
    """Run `operation` (a service call) on each object; report what a service refused, per object.

    Each call is its own transaction (the services are atomic), so one refusal does not undo
    the others. `done` is a catalogue message with a `{count}` placeholder for the ones that succeeded.
    """
    count = 0
    for obj in objects:
        try:
            operation(obj)
        except ApplicationError as error:
            flash(request, ADMIN_REFUSED, object=obj, reason=error.message)
        else:
            count += 1
    if count:
        flash(request, done, count=count)
