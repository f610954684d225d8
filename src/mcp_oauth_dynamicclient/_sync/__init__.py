# Generated from _async/__init__.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""Implementation modules of the public classes (see ``codegen/unasync.py`` for the twins)."""
