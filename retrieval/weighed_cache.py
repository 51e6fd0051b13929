"""A least-recently-used cache bounded by what its values weigh rather than by how many there are.

The catalog keeps each need's partner ranking so a follow-up or a card action on the same need is answered
without scoring again. A ranking's size depends on the catalog: a handful of partners in a small one, a
thousand and more (each with its reasons and citations) for a workload in a worldwide one. A count limit
would hold megabytes per entry there, grow the process towards gigabytes and make every full pass of the
cycle collector walk it; weighing each ranking by the partners it holds keeps the same memory bound for
every catalog size, and evicting the least recently used keeps the needs people are working on.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class WeighedCache(Generic[K, V]):
    """Values by key while their total weight stays within `max_weight`; a value heavier than that is not kept."""

    def __init__(self, max_weight: int, weigh: Callable[[V], int]) -> None:
        self.max_weight = max_weight
        self._weigh = weigh
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()      # turns may run on more than one thread

    def get(self, key: K, default: V | None = None) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            self._entries.move_to_end(key)
            return entry[0]

    def __getitem__(self, key: K) -> V:
        with self._lock:
            value, _ = self._entries[key]
            self._entries.move_to_end(key)
            return value

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __setitem__(self, key: K, value: V) -> None:
        weight = max(1, self._weigh(value))
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            if weight > self.max_weight:
                return
            while self._weight + weight > self.max_weight:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped
            self._entries[key] = (value, weight)
            self._weight += weight

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def weight(self) -> int:
        """The total weight of the values held."""
        return self._weight

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0
