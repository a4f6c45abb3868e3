"""A typed client of the caching appliance's dns-agent, for Central: contract models in and out.

Answers are mapped by ``services.common.agent_client`` as for every agent: a refused change
keeps its status and every problem (422 naming the field), a failure of Unbound is a
``DaemonError`` (502), an agent that cannot be reached an ``UnavailableError`` (503).
"""

from __future__ import annotations

import ssl
from urllib.parse import quote

from services.common.agent_client import AgentClient, HttpxTransport
from services.common.caching.contract import (
    CacheFlush,
    CacheFlushed,
    CacheLookup,
    CacheStats,
    CachingSettings,
)


class CachingAgentClient(AgentClient):
    """The dns-agent of one caching appliance, over any ``Transport``."""

    agent = "dns-agent"
    #: A settings change with thousands of local records is checked and reloaded in seconds;
    #: a zone flush walks the whole cache.
    timeout = 120.0

    @classmethod
    def over_https(cls, base_url: str, tls: ssl.SSLContext) -> CachingAgentClient:
        """A client of the dns-agent at ``base_url`` (``https://ADDRESS:1337``)."""
        return cls(HttpxTransport(base_url, tls))

    def get_settings(self) -> CachingSettings:
        return self.model(CachingSettings, "GET", "/caching/settings")

    def put_settings(self, settings: CachingSettings) -> CachingSettings:
        return self.model(CachingSettings, "PUT", "/caching/settings", settings)

    def stats(self) -> CacheStats:
        return self.model(CacheStats, "GET", "/caching/stats")

    def flush(self, request: CacheFlush) -> CacheFlushed:
        return self.model(CacheFlushed, "POST", "/caching/flush", request)

    def lookup(self, name: str) -> CacheLookup:
        return self.model(CacheLookup, "GET", f"/caching/lookup?name={quote(name)}")
