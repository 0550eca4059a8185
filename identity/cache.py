"""Django's Redis cache, minus one cost per call: the `redis.Redis` client object is made once per
connection pool and reused, instead of once per cache operation (Django's RedisCacheClient builds
a new one each time; building it registers ~170 response callbacks, a tenth of a
client-credentials grant's CPU time). A `redis.Redis` over a connection pool is safe to share
between threads; the pool itself is Django's, unchanged (and, like Django's, re-made in a forked
child by redis-py's own pid check).
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _ReusedClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        django: Any = self  # Django's private attributes, which django-stubs does not declare
        index = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in django._pools:  # as Django's _get_connection_pool, for this index
                django._pools[index] = django._pool_class.from_url(
                    django._servers[index], **django._pool_options
                )
            client = self._clients[index] = django._client(connection_pool=django._pools[index])
        return client


class RedisCache(DjangoRedisCache):
    """settings.CACHES' backend when REDIS_URL is set: Django's, with clients reused."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusedClient
