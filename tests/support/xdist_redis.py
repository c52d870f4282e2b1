"""Under pytest-xdist, every test of the modules on Redis runs in the same worker, one at a time.

Those modules derive fixed databases (13, 14, 15) from ONEAPI_TEST_REDIS_URL and empty them or
delete their rate-limit keys, and their apps count requests per client IP (all 127.0.0.1), so two
workers running them at once would see each other's keys. xdist's own `--dist loadgroup` would do
this from `xdist_group` marks, but it reads them from node ids that pytest 9.2 no longer lets it
change (pytest-xdist#1386: the marks are silently ignored), so the scheduler groups them itself.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling

REDIS_ENV = "ONEAPI_TEST_REDIS_URL"
GROUP = "redis"


@cache
def uses_redis(module: Path) -> bool:
    """Whether a test module reads the Redis test URL (every Redis test needs it)."""
    try:
        return REDIS_ENV in module.read_text(encoding="utf-8")
    except OSError:
        return False


class RedisGroupScheduling(LoadGroupScheduling):
    """xdist's loadgroup: one test per work unit, except for groups, one unit each; here the tests
    of the modules on Redis are a group too."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self.rootpath = config.rootpath

    def _split_scope(self, nodeid: str) -> str:
        scope: str = super()._split_scope(nodeid)
        if scope == nodeid and uses_redis(self.rootpath / nodeid.split("::", 1)[0]):
            return GROUP
        return scope
