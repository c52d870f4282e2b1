"""Which channel made which stored Responses object, so `GET /v1/responses/{id}` finds it again.

OpenAI keeps a response on the account that created it; a later GET, DELETE or cancel must go to
that same channel. Ids seen on the Responses fast lane are remembered here (per worker, the most
recent MAX_OWNERS); an id not remembered is looked for on each Responses-capable channel in turn.
"""

from __future__ import annotations

from collections import OrderedDict

MAX_OWNERS = 50_000


class ResponseOwners:
    def __init__(self, limit: int = MAX_OWNERS) -> None:
        self._limit = limit
        self._owners: OrderedDict[str, int] = OrderedDict()

    def remember(self, response_id: str, channel_id: int) -> None:
        if not response_id.startswith("resp"):
            return
        self._owners[response_id] = channel_id
        self._owners.move_to_end(response_id)
        while len(self._owners) > self._limit:
            self._owners.popitem(last=False)

    def owner(self, response_id: str) -> int | None:
        return self._owners.get(response_id)

    def forget(self, response_id: str) -> None:
        self._owners.pop(response_id, None)
