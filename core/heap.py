"""The garbage collector's settings for long-running processes (``patchgap serve``, ``patchgap worker``).

CPython's cyclic collector walks every object of the generations it collects. A process that has
imported the web stack, the database toolkit and numpy holds about 170,000 such objects before its first
request (a full pass over them alone takes ~0.1 s on this project's 2-core bench machine), and what it
keeps per organization (rows, stamps, histories of 10,000 systems) adds as many; with the default
thresholds a full pass came every second or third page at 10,000 systems, adding 0.15–0.35 s to it
(``bench/RESULTS.md``). :func:`settle` takes what is alive after start-up out of the passes
(``gc.freeze``: modules, classes and functions live as long as the process, so nothing is kept that
would otherwise be freed) and collects the youngest generation after 20,000 net allocations instead of
700, so that the objects a request reads and drops die young instead of being promoted and walked again.
Reference counting frees everything without cycles as before; only cycles wait longer.
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "settle"]

#: (youngest generation's allocations, collections of each generation before the next one's).
THRESHOLDS = (20_000, 20, 20)


def settle() -> None:
    """Collect once, move every object alive now out of the collector's passes, and set
    :data:`THRESHOLDS`. Call once, when a long-running process has started (after its imports)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
