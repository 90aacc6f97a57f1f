"""Embedding against real torch (integer zeros as the indices)."""

from __future__ import annotations

from hypothesis import strategies as st

from .oracle import assert_mixed, pick, run_cases, sizes


@st.composite
def embedding_cases(draw):
    shape = sizes(draw, draw(st.integers(0, 3)), 1, 4)
    num = pick(draw, (1, 3, 10), (0, -1), rare_weight=2)
    kw = {"num_embeddings": num, "embedding_dim": pick(draw, (1, 4), (0, -2))}
    if draw(st.integers(0, 2)) == 0:
        kw["padding_idx"] = pick(draw, (0, num - 1, -num if num > 0 else -1), (num, -num - 1, None))
    if draw(st.integers(0, 4)) == 0:
        kw["max_norm"] = pick(draw, (1.0, 0.5))
    if draw(st.integers(0, 5)) == 0:
        kw["sparse"] = True
    return "Embedding", shape, kw


def test_embedding_matches_torch():
    tally = run_cases(embedding_cases(), 1000)
    assert_mixed(tally, min_share=0.1, blamed={"num_embeddings", "embedding_dim", "padding_idx"})
