"""A short per-process cache of clients for the token and introspection hot paths.

Loading a client row costs more than the rest of a client-credentials grant. Entries
live OAUTH_CLIENT_CACHE_SECONDS (default 5 s; 0 disables the cache). Changes made
through oauth.services drop the entry in the process that made them; other processes
see the change within the TTL. Tokens are never cached: revocation and deactivation
take effect at once (a disabled client's tokens are deleted; its next token request
is refused as soon as the entry expires).
"""

from __future__ import annotations

import copy
import threading
import time

from oauth.app_settings import app_settings
from oauth.models import Client

_entries: dict[str, tuple[float, Client | None]] = {}
_lock = threading.Lock()
_MAX = 1000


def client_cached(client_id: str) -> Client | None:
    if "\x00" in client_id:  # no such client, and PostgreSQL cannot compare it (was a 500 at /o/revoke)
        return None
    ttl = app_settings.CLIENT_CACHE_SECONDS
    now = time.monotonic()
    if ttl > 0:
        entry = _entries.get(client_id)
        if entry is not None and now - entry[0] < ttl:
            return copy.copy(entry[1]) if entry[1] is not None else None
    try:
        client = Client.objects.select_related("project").get(client_id=client_id)
    except (Client.DoesNotExist, ValueError):
        client = None
    if ttl > 0:
        with _lock:
            if len(_entries) >= _MAX:
                _entries.clear()
            _entries[client_id] = (now, client)
    return copy.copy(client) if client is not None else None


def client_cache_forget(client_id: str | None = None) -> None:
    with _lock:
        if client_id is None:
            _entries.clear()
        else:
            _entries.pop(client_id, None)
