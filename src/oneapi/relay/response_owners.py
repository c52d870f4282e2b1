"""Which channel made which stored Responses object, so `GET /v1/responses/{id}` finds it again.

OpenAI keeps a response on the account that created it; a later GET, DELETE or cancel must go to
that same channel, and only for the user who created it. Ids seen on calls to a Responses
upstream are remembered here (per worker, the most recent MAX_OWNERS); an id not remembered is
looked for on the caller's Responses-capable channels in turn.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

MAX_OWNERS = 50_000


@dataclass(frozen=True, slots=True)
class Owner:
    channel_id: int
    user_id: int


class ResponseOwners:
    def __init__(self, limit: int = MAX_OWNERS) -> None:
        self._limit = limit
        self._owners: OrderedDict[str, Owner] = OrderedDict()

    def remember(self, response_id: str, channel_id: int, user_id: int) -> None:
        if not response_id.startswith("resp"):
            return
        self._owners[response_id] = Owner(channel_id, user_id)
        self._owners.move_to_end(response_id)
        while len(self._owners) > self._limit:
            self._owners.popitem(last=False)

    def owner(self, response_id: str) -> Owner | None:
        return self._owners.get(response_id)

    def forget(self, response_id: str) -> None:
        self._owners.pop(response_id, None)
