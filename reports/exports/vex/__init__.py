"""The VEX formats (CSAF 2.0 VEX, CycloneDX 1.6 VEX, OpenVEX 0.2.0), one module each.

They share one input (``reports.exports.inputs.VexInput``), the findings built from exposures and VEX
decisions (``findings``), the document history of successive exports (``tracking``) and small helpers
(``common``).
"""
