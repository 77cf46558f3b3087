"""The read model's in-memory rows: never older than what was put, bounded, and a fill
that may predate a put is dropped."""

from __future__ import annotations

from infrastructure.read_model.hot_rows import HotRows


def test_a_put_row_is_answered_and_a_later_put_replaces_it() -> None:
    hot = HotRows(10)
    hot.put([("w1", 5, '{"v":5}')])
    assert hot.get("w1") == '{"v":5}'
    hot.put([("w1", 9, '{"v":9}')])
    assert hot.get("w1") == '{"v":9}'
    assert hot.get("w2") is None


def test_a_row_is_never_replaced_by_an_older_one() -> None:
    hot = HotRows(10)
    stamp = hot.stamp()
    hot.fill([("w1", 9, '{"v":9}')], stamp)  # read from a database another process wrote
    hot.put([("w1", 7, '{"v":7}')])  # this process's projection, still behind
    assert hot.get("w1") == '{"v":9}'


def test_a_fill_read_before_a_put_is_dropped_even_when_the_row_was_evicted() -> None:
    hot = HotRows(1)
    stamp = hot.stamp()  # a query misses w1 and reads the database: position 3
    hot.put([("w1", 4, '{"v":4}')])  # meanwhile the projection commits position 4...
    hot.put([("w2", 5, '{"v":5}')])  # ...and w1 is evicted
    hot.fill([("w1", 3, '{"v":3}')], stamp)
    assert hot.get("w1") is None  # not the stale row: the next query reads the database


def test_a_fill_read_before_a_clear_is_dropped() -> None:
    hot = HotRows(10)
    stamp = hot.stamp()
    hot.clear()  # a rebuild
    hot.fill([("w1", 3, '{"v":3}')], stamp)
    assert hot.get("w1") is None
    stamp = hot.stamp()
    hot.fill([("w1", 3, '{"v":3}')], stamp)
    assert hot.get("w1") == '{"v":3}'


def test_at_most_capacity_rows_least_recently_used_out_first() -> None:
    hot = HotRows(2)
    hot.put([("w1", 1, "a"), ("w2", 2, "b")])
    assert hot.get("w1") == "a"  # w2 is now the least recently used
    hot.put([("w3", 3, "c")])
    assert len(hot) == 2
    assert hot.get("w2") is None
    assert (hot.get("w1"), hot.get("w3")) == ("a", "c")


def test_capacity_zero_keeps_nothing() -> None:
    hot = HotRows(0)
    hot.put([("w1", 1, "a")])
    hot.fill([("w2", 2, "b")], hot.stamp())
    assert (hot.get("w1"), hot.get("w2"), len(hot)) == (None, None, 0)
