"""The prompt-token estimate that sizes a request's reservation (SPEC §5.4), counted only when needed.

One API counts the prompt before every request, but the count only matters (a) for the
reservation, when the balance is not ample enough to waive it (SPEC §5.5 step 2), and (b) as the
prompt of an answer whose upstream reported no usage. A `PromptEstimate` gives a cheap upper bound
first; the exact count (which needs a vocabulary in memory) is made only in those two cases.
Outcomes are the same as counting up front: a reservation waived at the bound is waived at the
exact count too, since the reservation grows with the prompt.
"""

from __future__ import annotations

from typing import Any

from oneapi.relay.auth import Identity
from oneapi.relay.billing import TRUST_FACTOR
from oneapi.relay.metering import (
    approximate,
    chat_prompt_bound,
    count_chat_prompt,
    count_input,
    count_text,
    input_bound,
    ready,
    text_bound,
)
from oneapi.relay.modes import Mode
from oneapi.services.ledger import QuotaLedger

UNCOUNTED = -1  # Job.prompt_estimate of a request whose prompt was not counted (yet): see admit


class PromptEstimate:
    """A request's prompt tokens: `bound()` without a vocabulary, `count()` exact (computed once)."""

    __slots__ = ("_count", "approximate_only", "body", "mode", "model")

    def __init__(self, mode: Mode, body: dict[str, Any], model: str, approximate_only: bool) -> None:
        self.mode = mode
        self.body = body
        self.model = model
        self.approximate_only = approximate_only
        self._count: int | None = None

    def _text(self) -> str:
        prompt = self.body.get("prompt")
        return prompt if isinstance(prompt, str) else "".join(p for p in prompt or [] if isinstance(p, str))

    def _cheap(self) -> bool:
        """Counting needs no vocabulary (ApproximateTokenEnabled, or nothing to count)."""
        return self.mode not in (Mode.CHAT, Mode.COMPLETIONS, Mode.EMBEDDINGS, Mode.MODERATIONS) or (
            self.approximate_only and self.mode in (Mode.CHAT, Mode.COMPLETIONS)
        )

    def bound(self) -> int:
        """At least `count()`."""
        if self._count is not None or self._cheap():
            return self.count()
        if self.mode is Mode.CHAT:
            messages = self.body.get("messages")
            return chat_prompt_bound(messages, self.model) if isinstance(messages, list) else 0
        if self.mode is Mode.COMPLETIONS:
            return text_bound(self._text())
        return input_bound(self.body.get("input"), self.model)

    def count(self) -> int:
        """The exact count of SPEC §5.4 (builds the encoder on this thread if it is not built)."""
        if self._count is None:
            self._count = self._exact()
        return self._count

    async def count_async(self) -> int:
        """`count()`, with any encoder build done in a worker thread."""
        if self._count is None and not self._cheap():
            await ready(self.model)
        return self.count()

    def _exact(self) -> int:
        if self.mode is Mode.CHAT:
            messages = self.body.get("messages")
            if not isinstance(messages, list):
                return 0
            if self.approximate_only:
                return approximate(str(messages))
            return count_chat_prompt(messages, self.model)
        if self.mode is Mode.COMPLETIONS:
            text = self._text()
            return approximate(text) if self.approximate_only else count_text(text, self.model)
        if self.mode in (Mode.EMBEDDINGS, Mode.MODERATIONS):
            return count_input(self.body.get("input"), self.model)
        return 0


def prompt_tokens(mode: Mode, body: dict[str, Any], model: str, approximate_only: bool) -> PromptEstimate:
    """The prompt estimate of a request, to hand to `pipeline.admit` (counted there if needed)."""
    return PromptEstimate(mode, body, model, approximate_only)


def reservation_waived(ledger: QuotaLedger, identity: Identity, pre: int) -> bool:
    """Whether `billing.reserve` would hold nothing for `pre` (SPEC §5.5 step 2, the fork's rule):
    the user has more than 100× it and the key is unlimited or also has more than 100× it. A
    negative `pre` (a negative PreConsumedQuota) is never judged here: the caller counts."""
    if pre < 0:
        return False
    user_quota = ledger.user_balance.get(identity.user.id, 0)
    if user_quota <= TRUST_FACTOR * pre:
        return False
    token = identity.token
    return token.unlimited or ledger.token_balance.get(token.id, 0) > TRUST_FACTOR * pre


def max_output_tokens(body: dict[str, Any]) -> int:
    for field in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0
