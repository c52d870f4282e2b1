"""Channel choice: highest priority tier first, weights within it, exclusions fall through tiers."""

from __future__ import annotations

import random
from collections import Counter

from oneapi.relay.channel import Channel
from oneapi.relay.directory import Candidate
from oneapi.relay.routing import choose


def _candidate(channel_id: int, priority: int = 0, weight: int = 0) -> Candidate:
    row = {
        "id": channel_id,
        "type": 1,
        "name": f"c{channel_id}",
        "key": "k",
        "status": 1,
        "models": "m",
        "group": "default",
        "priority": priority,
        "weight": weight,
    }
    return Candidate(Channel.from_row(row), priority)


def test_highest_priority_tier_wins() -> None:
    candidates = [_candidate(1, priority=10), _candidate(2, priority=0), _candidate(3, priority=5)]
    picks = {choose(candidates, rng=random.Random(i)).id for i in range(50)}  # type: ignore[union-attr]
    assert picks == {1}


def test_excluded_channels_fall_through_to_lower_tiers() -> None:
    candidates = [_candidate(1, priority=10), _candidate(2, priority=5), _candidate(3, priority=0)]
    assert choose(candidates, exclude={1}).id == 2  # type: ignore[union-attr]
    assert choose(candidates, exclude={1, 2}).id == 3  # type: ignore[union-attr]
    assert choose(candidates, exclude={1, 2, 3}) is None


def test_weights_split_traffic_within_a_tier() -> None:
    candidates = [_candidate(1, weight=1), _candidate(2, weight=3)]
    rng = random.Random(7)
    counts = Counter(choose(candidates, rng=rng).id for _ in range(4000))  # type: ignore[union-attr]
    assert 0.2 < counts[1] / 4000 < 0.3


def test_all_zero_weights_mean_uniform() -> None:
    candidates = [_candidate(i) for i in range(1, 5)]
    rng = random.Random(3)
    counts = Counter(choose(candidates, rng=rng).id for _ in range(4000))  # type: ignore[union-attr]
    assert set(counts) == {1, 2, 3, 4}
    assert min(counts.values()) > 800


def test_a_zero_weight_channel_is_not_picked_beside_weighted_ones() -> None:
    candidates = [_candidate(1, weight=0), _candidate(2, weight=5)]
    picks = {choose(candidates, rng=random.Random(i)).id for i in range(200)}  # type: ignore[union-attr]
    assert picks == {2}
