"""Fair admission: the waiting requests, one FIFO per key, taken round-robin.

A flooder's 200 requests and another user's one are two keys, so the other user waits
for at most one of the flooder's requests (one admission round), never for the whole
backlog. Keys rotate in the order they first had something waiting; a key that empties
leaves the rotation and rejoins at the back.

When the queue is full, the key with the most waiting requests gives up its newest one
to a key with at least two fewer (:meth:`FairQueue.evict_for`), so a full queue refuses
the heaviest user first and a light user is never refused because of someone's backlog.
Ties refuse the newcomer. Only the worker and callers holding the engine's lock touch it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable, Iterator

from model.engine.requests import Request


class FairQueue:
    """Waiting requests per key; ``pop`` serves keys round-robin."""

    def __init__(self) -> None:
        # Insertion order is the rotation: the first key is served next.
        self._by_key: OrderedDict[Hashable, deque[Request]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def __iter__(self) -> Iterator[Request]:
        for waiting in self._by_key.values():
            yield from waiting

    def push(self, request: Request) -> None:
        waiting = self._by_key.get(request.key)
        if waiting is None:
            waiting = self._by_key[request.key] = deque()
        waiting.append(request)
        self._size += 1

    def pop(self) -> Request:
        """The next key's oldest request; that key goes to the back of the rotation."""
        key, waiting = next(iter(self._by_key.items()))
        request = waiting.popleft()
        self._size -= 1
        if waiting:
            self._by_key.move_to_end(key)
        else:
            del self._by_key[key]
        return request

    def remove(self, request: Request) -> bool:
        """Take out a request that is still waiting (its caller gave up)."""
        waiting = self._by_key.get(request.key)
        if waiting is None:
            return False
        try:
            waiting.remove(request)
        except ValueError:
            return False
        self._size -= 1
        if not waiting:
            del self._by_key[request.key]
        return True

    def waiting(self, key: Hashable) -> int:
        waiting = self._by_key.get(key)
        return len(waiting) if waiting is not None else 0

    def evict_for(self, key: Hashable) -> Request | None:
        """Make room for one request of ``key`` in a full queue: the newest request of the
        key with the most waiting, if that key has at least two more than ``key`` (so the
        eviction never just swaps who is heavier); None means refuse the newcomer."""
        if not self._by_key:
            return None
        heaviest = max(self._by_key, key=lambda k: len(self._by_key[k]))
        if len(self._by_key[heaviest]) < self.waiting(key) + 2:
            return None
        waiting = self._by_key[heaviest]
        request = waiting.pop()
        self._size -= 1
        if not waiting:  # pragma: no cover - it had at least two
            del self._by_key[heaviest]
        return request

    def depth_by_key(self) -> dict[Hashable, int]:
        """How many requests each key has waiting."""
        return {key: len(waiting) for key, waiting in self._by_key.items()}

    def clear(self) -> list[Request]:
        everything = list(self)
        self._by_key.clear()
        self._size = 0
        return everything
