"""Channel choice (SPEC §4.1): highest priority tier first, weighted random within the tier."""

from __future__ import annotations

import random
from collections.abc import Collection

from oneapi.relay.channel import Channel
from oneapi.relay.directory import Candidate

MAX_WEIGHT = 2**40


def choose(
    candidates: list[Candidate],
    exclude: Collection[int] = (),
    rng: random.Random | None = None,
) -> Channel | None:
    """Pick from the highest-priority tier not excluded; lower tiers only once a tier is exhausted."""
    pool = [c for c in candidates if c.channel.id not in exclude]
    if not pool:
        return None
    top = max(c.priority for c in pool)
    tier = [c.channel for c in pool if c.priority == top]
    if len(tier) == 1:
        return tier[0]
    pick = rng or random
    weights = [min(max(ch.weight, 0), MAX_WEIGHT) for ch in tier]
    if not any(weights):
        return pick.choice(tier)
    return pick.choices(tier, weights=weights, k=1)[0]
