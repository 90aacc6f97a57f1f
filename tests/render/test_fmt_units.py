"""Big numbers keep a unit that reads (issue 12, item 12): MACs in P and E, bytes in TiB
and PiB, every digit of an exact count."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shapetrace.render.fmt import bytes_text, int_text, si


def test_units_beyond_tera() -> None:
    assert si(21_474_838_627_483_648) == "21.47 P"
    assert si(3 * 10**18) == "3.00 E"
    assert si(999 * 10**12) == "999.00 T"
    assert bytes_text(80_000_008 * 2**30) == "76.3 PiB"
    assert bytes_text(5 * 2**40) == "5.0 TiB"
    assert bytes_text(2**63) == "8.0 EiB"


@given(st.integers(1, 2**80))
def test_the_number_before_the_unit_stays_short(n: int) -> None:
    head = si(n).split()[0]
    assert float(head) <= 1000 or n >= 10**21  # 999,999 rounds to "1000.00 K"
    text = bytes_text(n)
    assert float(text.split()[0]) <= 1024 or n >= 2**70


def test_exact_counts_keep_every_digit() -> None:
    assert int_text(2**53 + 1) == "9,007,199,254,740,993"
    assert int_text(21_474_838_627_483_648) == "21,474,838,627,483,648"
