"""Implementation modules of the public classes (see ``codegen/unasync.py`` for the twins)."""
