"""Advisory sources → normalized :class:`core.advisories.Advisory` records (DESIGN.md, issue 3).

One module per source behind one interface (``interface.py``): OSV records (``osv.py`` validates and
normalizes; ``osv_files.py`` reads directory trees, export zips and ``modified_id.csv``), the Akrites
feed (``akrites.py``), CSAF 2.0 advisories and VEX (``csaf.py``), CISA KEV (``kev.py``) and FIRST
EPSS (``epss.py``); CVSS scoring in ``severity.py``; alias closure in ``aliases.py``. The HTTP clients
(``osv_api.py``, ``feeds_http.py``) fetch bytes and hand them to these parsers.
"""
