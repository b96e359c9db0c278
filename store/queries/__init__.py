"""Query functions, one module per aggregate (the ``store.tables`` module of the same name).

Each module owns the reads and writes of its aggregate and its row types — frozen dataclasses, one per
kind of thing read (``SystemRow`` wherever systems are listed, ``SnapshotRow`` for snapshots …) — so
callers never see ORM objects change under them. A query that joins across aggregates lives with the
aggregate whose question it answers. Functions take the session or connection a ``store.db.Database``
transaction yields.
"""
