"""What ``mcp-oauth`` shows: rich on a terminal, plain lines otherwise (pipes, CI, tests).

Results go to stdout (a token, a JSON document, a response body), so they can be piped;
everything said to the person (progress, the device code, the browser URL) goes to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import click

__all__ = ["Output"]


class Output:
    """The console of one run. ``rich`` when stderr is a terminal (or ``force_rich``)."""

    def __init__(self, *, rich: bool | None = None) -> None:
        self.rich = sys.stderr.isatty() if rich is None else rich
        self._err: Any = None
        self._status: Any = None
        if self.rich:
            from rich.console import Console

            self._err = Console(stderr=True)

    # ------------------------------------------------------------------ results (stdout)

    def result(self, text: str) -> None:
        """A result line on stdout (a token, a body): never decorated."""
        click.echo(text)

    def json(self, value: Any) -> None:
        """A JSON document on stdout."""
        click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))

    def table(self, title: str, rows: Mapping[str, Any]) -> None:
        """Named values on stdout: a rich table on a terminal, ``name: value`` lines else."""
        if self.rich:
            from rich.console import Console
            from rich.table import Table

            table = Table(title=title, show_header=False)
            table.add_column(style="bold")
            table.add_column()
            for name, value in rows.items():
                table.add_row(name, _shown(value))
            Console().print(table)
            return
        for name, value in rows.items():
            click.echo(f"{name}: {_shown(value)}")

    # ------------------------------------------------------------------ the person (stderr)

    def say(self, text: str) -> None:
        """A message for the person, on stderr."""
        if self.rich:
            self._err.print(text, markup=False, highlight=False)
        else:
            click.echo(text, err=True)

    def step(self, number: int, text: str) -> None:
        """A numbered step of a walkthrough (``demo``)."""
        if self.rich:
            self._err.rule(f"[bold]{number}. {text}", align="left")
        else:
            click.echo(f"{number}. {text}", err=True)

    def panel(self, title: str, text: str) -> None:
        """Something the person must act on (the device code), framed on a terminal."""
        if self.rich:
            from rich.panel import Panel
            from rich.text import Text

            self._err.print(Panel(Text(text), title=title, expand=False))
        else:
            click.echo(f"{title}: {text}", err=True)

    @contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """A spinner with ``what`` while the block runs (on a terminal); ``left`` updates it."""
        if not self.rich:
            click.echo(f"{what}...", err=True)
            yield
            return
        with self._err.status(what) as status:
            self._status = (status, what)
            try:
                yield
            finally:
                self._status = None

    def left(self, seconds: float) -> None:
        """The time left of the current wait (an ``on_pending`` callback)."""
        if self._status is not None:
            status, what = self._status
            status.update(f"{what} ({int(seconds)} s left)")

    def log_handler(self) -> logging.Handler:
        """Where ``--verbose`` sends the library's log events (stderr)."""
        if self.rich:
            from rich.logging import RichHandler

            return RichHandler(console=self._err, show_path=False)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        return handler


def _shown(value: Any) -> str:
    """A table cell: ``-`` for what is unknown or empty (a token granted no scope)."""
    return "-" if value is None or value == "" else str(value)


def expires(token_expires_at: float | None) -> str | None:
    """``2025-01-01 12:00:00 (in 59 min)`` for an expiry time, None when unknown."""
    if token_expires_at is None:
        return None
    left = token_expires_at - time.time()
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(token_expires_at))
    return f"{when} (in {int(left // 60)} min)" if left > 0 else f"{when} (expired)"
