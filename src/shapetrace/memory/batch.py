"""The largest batch size whose training-step peak fits a budget.

Every answer is a simulated step (``step.simulate``), never an extrapolation. The peak is the
largest of the phases' peaks (forward, backward, optimizer step), and each phase's peak
grows by nearly the same bytes per sample (activations have the batch as first dimension),
while which phase is the largest changes with the batch (the optimizer step for small batches,
the backward for large ones). So each phase's line through two simulated sizes gives a
guess, refined by secants a few times, and the answer is only taken when the steps confirm it
(``peak(b) <= budget < peak(b + 1)``). Otherwise it is found by bisection, which needs only
that the peak does not shrink as the batch grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

# The largest batch searched: 2**31 samples is beyond any device's memory for any model
# with an activation of at least one element per sample (and keeps every numel in int64).
MAX_BATCH = 2**31
SECANT_ROUNDS = 4


@dataclass(frozen=True)
class BatchSearch:
    batch: int  # 0 when not even one sample fits
    how: str  # "affine, checked", "bisection" or "not limited"
    evaluations: int  # the steps this search simulated (``phase_peaks_at`` calls; ``known`` ones not)


def largest_batch(phase_peaks_at: Callable[[int], Mapping[str, int]], budget: int,
                  known: Mapping[int, Mapping[str, int]] | None = None) -> BatchSearch:
    """The largest ``b`` in 1..MAX_BATCH with ``max(phase_peaks_at(b).values()) <= budget``.
    ``known``: phase peaks already simulated (the report's own step), used without a call.
    The one cache of the search: each size is simulated at most once, and counted when it is."""
    cache: dict[int, Mapping[str, int]] = {}  # the sizes the search asked for, in order
    simulated = 0

    def peaks(b: int) -> Mapping[str, int]:
        nonlocal simulated
        if b not in cache:
            if known is not None and b in known:
                cache[b] = known[b]
            else:
                cache[b] = phase_peaks_at(b)
                simulated += 1
        return cache[b]

    def fits(b: int) -> bool:
        return max(peaks(b).values()) <= budget

    def result(b: int, how: str) -> BatchSearch:
        return BatchSearch(b, how, simulated)

    if not fits(1):
        return result(0, "bisection")
    if not fits(2):
        return result(1, "bisection")
    a = 1
    for _ in range(SECANT_ROUNDS):
        b = max(cache)  # the line through the smallest and the largest size simulated so far
        guess = _guess(peaks(a), peaks(b), a, b, budget)
        if guess is None:  # no phase grows with the batch
            return result(MAX_BATCH, "not limited") if fits(MAX_BATCH) else _bisect(fits, cache, result)
        if guess in cache and guess + 1 in cache:
            break
        if fits(guess) and (guess == MAX_BATCH or not fits(guess + 1)):
            return result(guess, "affine, checked")
    return _bisect(fits, cache, result)


def _guess(pa: Mapping[str, int], pb: Mapping[str, int], a: int, b: int, budget: int) -> int | None:
    """The largest size at which no phase's line (through sizes a and b) passes the budget."""
    best = None
    for phase in pa:
        slope = (pb[phase] - pa[phase]) / (b - a)
        if slope > 0:
            n = a + int((budget - pa[phase]) // slope)
            best = n if best is None else min(best, n)
    return None if best is None else max(1, min(MAX_BATCH, best))


def _bisect(fits, cache, result) -> BatchSearch:
    """Between the largest size known to fit and the smallest known not to (grown by doubling)."""
    lo = max(b for b in cache if fits(b))
    bad = [b for b in cache if not fits(b)]
    hi = min(bad) if bad else None
    while hi is None:
        nxt = min(MAX_BATCH, lo * 2)
        if fits(nxt):
            lo = nxt
            if lo == MAX_BATCH:
                return result(MAX_BATCH, "bisection")
        else:
            hi = nxt
    lo = max([b for b in cache if b < hi and fits(b)], default=lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return result(lo, "bisection")
