"""Tagging engines beside the local one in :mod:`argmine.tag` (each an optional extra, imported
only by the function that uses it)."""
