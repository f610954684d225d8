"""The generator's own error."""


class SpecError(Exception):
    """The spec cannot be turned into clients; the message says where and why."""
