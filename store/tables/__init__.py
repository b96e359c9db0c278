"""SQLModel tables, one module per aggregate; ``store.schema`` imports them all (the full metadata).

- ``base``: the constraint naming convention and the UTC column type every table module uses;
- ``organizations``: tenants, their API keys and the dashboard sessions signed in with them;
- ``systems``: deployed systems, their SBOM snapshots and the component sets snapshots point at;
- ``packages``: distinct package versions and their memoized match results;
- ``advisories``: normalized advisories, their affected packages, KEV, EPSS, feed state, skipped records;
- ``exposures``: stored exposure intervals, their build state, VEX statements and SLA policies;
- ``cra``: the CRA Article 14 facts recorded when learned, and the manufacturer's own records;
- ``jobs``: the durable upload job queue, the scheduled jobs' schedule and run history;
- ``notifications``: the event outbox, notification rules and their deliveries.

Query functions live in the ``store.queries`` module of the same name.
"""
