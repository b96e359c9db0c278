"""Auditor exports: pure functions from input records (``inputs``) to document bytes.

``interface`` is what every format implements, ``registry`` names every format and the module that
implements it (without importing it), and each format has one module: ``vex/`` holds the three VEX
formats (CSAF VEX, CycloneDX VEX, OpenVEX), beside the CRA register, the NIS2 evidence pack and the CISO
report.
"""
