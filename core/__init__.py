"""Shared vocabulary of patchgap: frozen records, errors and settings.

Every other layer imports from here; ``core`` imports nothing of the project.
"""
