"""JSON Schemas shipped with patchgap, so validation never depends on shared data or the network.

- ``osv.schema.json``: the OSV JSON Schema, from github.com/ossf/osv-schema ``validation/schema.json``
  at commit 51b8156b69b9e2e9ff2301e649db61636067fcfa, licensed Apache-2.0 (copied unchanged).
"""
