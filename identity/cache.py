"""Django's Redis cache, minus one cost per call: the `redis.Redis` client object is made once per
connection pool and reused, instead of once per cache operation (Django's RedisCacheClient builds
a new one each time; building it registers ~170 response callbacks, a tenth of a
client-credentials grant's CPU time). A `redis.Redis` over a connection pool is safe to share
between threads; the pool itself is Django's, unchanged (and, like Django's, re-made in a forked
child by redis-py's own pid check).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _ReusedClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:  # as Django's _get_connection_pool, for this index
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class RedisCache(DjangoRedisCache):
    """settings.CACHES' backend when REDIS_URL is set: Django's, with clients reused."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusedClient
