"""Values written out for people by knowledge/display.py, the one owner of these formats."""
from __future__ import annotations

from knowledge.display import escape_markdown, format_amount, format_usd, one_line


def test_dollar_amounts_are_whole_dollars_with_thousands_separators() -> None:
    assert format_usd(1_200_000) == "$1,200,000"
    assert format_usd(149_999.6) == "$150,000"
    assert format_usd(None) == "unknown"
    assert format_usd(None, unknown="") == ""


def test_an_amount_keeps_the_currency_it_was_recorded_in() -> None:
    assert format_amount(150_000, "EUR") == "EUR 150,000"
    assert format_amount(90_000) == "USD 90,000"
    assert format_amount(None, "EUR") == ""


def test_an_error_is_one_line_with_its_type() -> None:
    assert one_line(ValueError("bad header\nTraceback follows")) == "ValueError: bad header"
    assert one_line(OSError()) == "OSError: "
    assert len(one_line(RuntimeError("x" * 1000), limit=240)) == 240


def test_typed_text_is_inert_in_markdown() -> None:
    typed = "Partner A | Partner B who [wins](http://evil)?\n*now* <b>"
    assert escape_markdown(typed) == "Partner A \\| Partner B who \\[wins\\](http://evil)? \\*now\\* \\<b\\>"
