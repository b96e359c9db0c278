"""Advisory sources → normalized :class:`core.advisories.Advisory` records and per-CVE facts (DESIGN.md).

One module per source under ``sources/`` (OSV, Akrites, CSAF 2.0, CISA KEV, FIRST EPSS), each a
:class:`~ingest.advisories.interface.Source` registered by name in ``registry.py``; ``detect.py`` tells
which source a path holds. What the sources share: ``osv_files.py`` reads OSV directory trees, export
zips and ``modified_id.csv``; ``osv_api.py`` is the OSV API client and ``csaf_provider.py`` CSAF 2.0
provider discovery; ``http.py`` is the httpx client and ``fetch.py`` what fetching needs without it
(errors, conditional GET); ``severity.py`` scores CVSS; ``aliases.py`` computes the alias closure.
"""
