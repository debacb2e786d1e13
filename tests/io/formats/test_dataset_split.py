import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotator.io.formats.split import SplitSpecError, assign_split, parse_split, split_counts


def test_parse_split_reads_names_and_fractions():
    assert parse_split("train=0.8, val=0.2") == [("train", 0.8), ("val", 0.2)]
    assert parse_split("a=0.5,b=0.25,c=0.25") == [("a", 0.5), ("b", 0.25), ("c", 0.25)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("train", "NAME=FRACTION"),
        ("=0.5,val=0.5", "NAME=FRACTION"),
        ("train=0.8,val=0.1", "add up to 1"),
        ("train=x,val=0.2", "not a number"),
        ("train=1.2,val=-0.2", "must be > 0"),
        ("train=0.5,train=0.5", "appears twice"),
        ("../x=0.5,val=0.5", "letters, digits"),
        ("train=nan,val=1", "must be > 0"),
    ],
)
def test_parse_split_refuses_bad_specs(spec, message):
    with pytest.raises(SplitSpecError, match=message):
        parse_split(spec)


def test_split_counts_use_largest_remainder():
    assert split_counts(10, [0.8, 0.2]) == [8, 2]
    assert split_counts(3, [0.5, 0.5]) == [2, 1]
    assert split_counts(7, [1 / 3, 1 / 3, 1 / 3]) == [3, 2, 2]
    assert split_counts(0, [0.8, 0.2]) == [0, 0]


@settings(max_examples=80, deadline=None)
@given(
    ids=st.sets(st.integers(1, 10_000), max_size=60),
    seed=st.integers(0, 2**32),
    first=st.floats(0.05, 0.95),
)
def test_assignment_is_a_deterministic_partition(ids, seed, first):
    parts = [("train", first), ("val", 1 - first)]
    out = assign_split(sorted(ids), parts, seed)
    again = assign_split(sorted(ids, reverse=True), parts, seed)  # input order must not matter
    assert out == again
    assert sorted(out["train"] + out["val"]) == sorted(ids)
    assert [len(out["train"]), len(out["val"])] == split_counts(len(ids), [first, 1 - first])


def test_different_seeds_give_different_assignments():
    parts = [("train", 0.5), ("val", 0.5)]
    results = {tuple(assign_split(range(1, 41), parts, seed)["train"]) for seed in range(5)}
    assert len(results) > 1
