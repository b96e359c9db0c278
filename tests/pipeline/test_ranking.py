"""The plan's kept ranking (``pipeline.lists.ranking``): a ranking merged after changes of some systems
is the ranking read from scratch — the same items in the same order, the same keys at any moment — and
its keys are ``build_plan``'s order of the same items."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from pipeline.lists.ranking import Ranking
from reports.plan import micros
from store.queries import plan as pq

AT = micros(datetime(2026, 6, 1, tzinfo=UTC))
DAY = 86_400_000_000
ACTIONS: list[pq.ActionId] = [(f"pkg:npm/p{i}", "1.0.0", f"1.{i % 3}.0", "npm") for i in range(12)]


def _rows_of(rng: random.Random, system_id: int, name: str) -> list[pq.RankRow]:
    """A system's items in summing order (group, then exposure)."""
    items = []
    for _ in range(rng.randrange(0, 6)):
        group = f"GHSA-{rng.randrange(8)}"
        due = None if rng.random() < 0.2 else AT + rng.randrange(-500, 100) * DAY + rng.randrange(DAY)
        items.append((group, rng.choice(ACTIONS), rng.choice((0.5, 1.0, 2.25, 3.1)), due, rng.random() < 0.3))
    items.sort(key=lambda i: i[0])
    return [(system_id, name, action, group, w, due, kev) for group, action, w, due, kev in items]


def _read(systems: dict[int, list[pq.RankRow]], rng: random.Random) -> list[pq.RankRow]:
    """Each system's rows together, in summing order; the systems in any order (the ranking puts them
    in name order)."""
    order = list(systems)
    rng.shuffle(order)
    return [r for sid in order for r in systems[sid]]


def test_a_merged_ranking_is_the_ranking_read_again() -> None:
    rng = random.Random(11)
    names = {sid: f"sys-{rng.randrange(10**6):06d}" for sid in range(1, 41)}
    systems = {sid: rows for sid, name in names.items() if (rows := _rows_of(rng, sid, name))}
    stamps = dict.fromkeys(names, "s0")
    kept = Ranking.read(_read(systems, rng), stamps)
    for step in range(60):
        changed: set[int] = set()
        for _ in range(rng.randrange(1, 4)):
            sid = rng.randrange(1, 60)  # an existing system, or a new one
            prefix = rng.choice(["a-first", "zz-last", f"sys-{rng.randrange(10**6):06d}"])
            names.setdefault(sid, f"{prefix}{sid}")
            changed.add(sid)
            rows = [] if rng.random() < 0.25 else _rows_of(rng, sid, names[sid])
            if rows:
                systems[sid] = rows
            else:
                systems.pop(sid, None)
            stamps[sid] = f"s{step + 1}"
        fresh = _read({sid: systems[sid] for sid in changed if sid in systems}, rng)
        kept = kept.merged(changed, fresh, {sid: stamps[sid] for sid in changed})
        scratch = Ranking.read(_read(systems, rng), dict(stamps))
        assert kept.items.systems == scratch.items.systems
        assert kept.items.lengths.tolist() == scratch.items.lengths.tolist()
        for moment in (AT, AT + 200 * DAY):
            assert kept.keys(moment) == scratch.keys(moment)
        # The same items in the same order (codes differ between the two: compare what they stand for).
        assert [kept.codes.actions[c] for c in kept.items.actions.tolist()] == [
            scratch.codes.actions[c] for c in scratch.items.actions.tolist()
        ]
        assert kept.items.weights.tolist() == scratch.items.weights.tolist()
        assert kept.items.dues.tolist() == scratch.items.dues.tolist()
        assert kept.stamps == scratch.stamps
        assert kept.total == scratch.total == len({r[2] for rows in systems.values() for r in rows})


def test_keys_rank_as_the_plan_does() -> None:
    """Score rounded to 6 places descending, then more KEV groups, the earlier due, the package…; the
    score the sum of weight × past-due factor in system, group order."""
    rows: list[pq.RankRow] = [
        (1, "a", ACTIONS[0], "G1", 1.0, AT - 30 * DAY, False),  # 30 days late: factor 2
        (1, "a", ACTIONS[1], "G1", 2.0, None, True),
        (2, "b", ACTIONS[1], "G2", 2.0, AT + DAY, False),
        (2, "b", ACTIONS[2], "G3", 1.0, AT - 400 * DAY, True),  # capped: 1 + 365/30
        (3, "c", ACTIONS[3], "G4", 2.0, None, False),
        (3, "c", ACTIONS[4], "G4", 2.0, None, True),
        (4, "d", ACTIONS[2], "G3", 0.0, AT - 400 * DAY, True),  # the same KEV group again: counted once
    ]
    keys = Ranking.read(rows, {1: "", 2: "", 3: "", 4: ""}).keys(AT)
    assert [k[3:] for k in keys] == [ACTIONS[2], ACTIONS[1], ACTIONS[4], ACTIONS[0], ACTIONS[3]]
    assert keys[0][:3] == (-round(1 + 365 / 30, 6), -1, AT - 400 * DAY)
    assert keys[1][:3] == (-4.0, -1, AT + DAY)
    assert keys[2][:3] == (-2.0, -1, pq.NO_DUE)  # a tie in score: the KEV group first
    assert keys[3][:3] == (-2.0, 0, AT - 30 * DAY)  # then the earlier due date
    assert keys[4][:3] == (-2.0, 0, pq.NO_DUE)
