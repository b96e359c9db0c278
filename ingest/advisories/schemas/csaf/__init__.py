"""The CSAF 2.0 JSON Schema and the FIRST CVSS schemas it references, for offline validation.

- ``csaf_json_schema.json``: OASIS CSAF TC, github.com/oasis-tcs/csaf ``csaf_2.0/json_schema/`` at
  commit 27af37f5c9a107abb166e855fa6505fc4ffaade8, under the OASIS licence of that repository.
- ``cvss-v2.0.json``, ``cvss-v3.0.json``, ``cvss-v3.1.json``: FIRST.Org's CVSS JSON schemas as copied
  in the same repository (``csaf_2.0/referenced_schema/first/``), BSD-3-Clause (licence text inside
  each file). The CSAF schema ``$ref``s them by their first.org URIs; :mod:`ingest.advisories.sources.csaf`
  maps those URIs to these files, so validation never touches the network.
"""
