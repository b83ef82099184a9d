"""The live panel's rendered-part cache: reference marks filled with a result's numbers exactly as the
``ref_numbers`` filter writes them, and the card split at the dose slot."""

from aml_salvage.presentation import (
    DEFERRED_NUMBERS,
    DOSE_SLOT,
    Card,
    RenderedCache,
    fill_reference_numbers,
    ref_numbers_text,
)


def test_a_mark_is_filled_with_sorted_unique_numbers_like_the_filter():
    numbers = {"dt20": 2, "frc25": 1, "label-x": 7}
    html = f"<li>{DEFERRED_NUMBERS.mark(['label-x', 'dt20', 'dt20', 'frc25'])}</li>"
    assert fill_reference_numbers(html, numbers) == "<li>[1, 2, 7]</li>"
    assert ref_numbers_text(["label-x", "dt20", "frc25"], numbers) == "[1, 2, 7]"


def test_a_mark_naming_only_uncited_references_leaves_nothing():
    assert fill_reference_numbers(f"a{DEFERRED_NUMBERS.mark(['nowhere'])}b", {"dt20": 1}) == "ab"
    assert fill_reference_numbers(f"a{DEFERRED_NUMBERS.mark([])}b", {"dt20": 1}) == "ab"


def test_a_card_is_filled_per_numbering_and_split_at_the_dose_slot():
    card = Card(f"<p>{DEFERRED_NUMBERS.mark(['a', 'b'])}</p>{DOSE_SLOT}<p>{DEFERRED_NUMBERS.mark(['c'])}</p>")
    assert card.ref_ids == ("a", "b", "c")
    assert card.filled({"a": 3, "b": 1, "c": 2}) == ("<p>[1, 3]</p>", "<p>[2]</p>")
    assert card.filled({"a": 1, "c": 9}) == ("<p>[1]</p>", "<p>[9]</p>")
    assert card.filled({"a": 3, "b": 1, "c": 2}) == ("<p>[1, 3]</p>", "<p>[2]</p>")  # from its own memo


def test_the_cache_is_bounded():
    cache = RenderedCache(max_entries=2)
    for i in range(5):
        cache.put((i,), str(i))
    assert len(cache) <= 2 and cache.get((4,)) == "4"
