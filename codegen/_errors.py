"""The generator's own error."""


class SpecError(Exception):
    """The spec cannot be turned into clients; the message says where and why."""


def missing(distribution: str) -> SpecError:
    """The error for a dependency of the ``codegen`` extra that is not installed.

    The generator imports its dependencies when it runs, not when the package is imported, so
    ``--init-spec`` and ``--help`` work without them and a missing one is a sentence, not a
    traceback.
    """
    return SpecError(
        f"the generator needs {distribution}, of the codegen extra: "
        "pip install 'mcp-oauth-dynamicclient[codegen]'"
    )
