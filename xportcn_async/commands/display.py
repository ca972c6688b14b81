"""What ``xportcn book`` shows while it runs and when it ends.

On a terminal, a live progress bar and a summary table drawn with rich, sized to the
terminal. rich is imported here only, lazily, and only when the stream is a terminal: it is
the ``cli`` extra (``pip install 'xportcn-async[cli]'``), not a dependency of the library, so
a service that embeds the SDK does not carry it. Without rich, or when the stream is not a
terminal (a pipe, a log file, CI), the same information comes as plain lines.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

from ..batch import BatchReport, Status

PLAIN_INTERVAL = 5.0
"""Seconds between two plain progress lines."""


class ProgressDisplay(Protocol):
    def update(self) -> None:
        """Called after each outcome; draws at most a few times per second."""

    def close(self) -> None:
        """Draw the final state and release the terminal."""


def counts_text(report: BatchReport) -> str:
    return ", ".join(f"{s.value} {report.count(s)}" for s in Status if report.count(s))


def _rich() -> Any | None:
    """The rich modules, or None when the ``cli`` extra is not installed."""
    try:
        import rich.console
        import rich.progress
        import rich.table
        import rich.text
    except ImportError:
        return None
    return rich


class PlainProgress:
    """A line every few seconds: for pipes and log files, where a bar would be noise."""

    def __init__(self, report: BatchReport, total: int | None, stream: TextIO) -> None:
        self.report = report
        self.total = total
        self.stream = stream
        self._last = time.monotonic()

    def _line(self) -> str:
        r = self.report
        done = f"{r.total}/{self.total}" if self.total is not None else f"{r.total}"
        return f"{done} done, {r.throughput:.1f}/s: {counts_text(r) or 'nothing yet'}"

    def update(self) -> None:
        now = time.monotonic()
        if now - self._last >= PLAIN_INTERVAL:
            self._last = now
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        self.stream.write(self._line() + "\n")
        self.stream.flush()


class RichProgress:
    """A rich progress bar: done/total, outcomes per second, counts by status, time left."""

    def __init__(self, rich: Any, report: BatchReport, total: int | None, stream: TextIO) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.report = report
        self.console = rich.console.Console(file=stream, highlight=False)
        self.progress = Progress(
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}", markup=False),
            TextColumn("{task.fields[counts]}", markup=False),
            TimeRemainingColumn(),
            console=self.console,
            expand=True,
        )
        self.task = self.progress.add_task("book", total=total, rate="", counts="")
        self.progress.start()

    def update(self) -> None:
        r = self.report
        self.progress.update(
            self.task, completed=r.total, rate=f"{r.throughput:.1f}/s", counts=counts_text(r)
        )

    def close(self) -> None:
        self.update()
        self.progress.stop()


def open_progress(report: BatchReport, total: int | None, stream: TextIO) -> ProgressDisplay:
    rich = _rich() if stream.isatty() else None
    if rich is None:
        return PlainProgress(report, total, stream)
    return RichProgress(rich, report, total, stream)


def print_table(title: str, rows: Sequence[tuple[str, str]], stream: TextIO) -> None:
    """Two columns, as a rich table on a terminal, aligned plain lines otherwise."""
    rich = _rich() if stream.isatty() else None
    if rich is not None:
        table = rich.table.Table(title=title, title_justify="left", show_header=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for key, value in rows:
            table.add_row(rich.text.Text(key), rich.text.Text(value))  # no markup in paths
        rich.console.Console(file=stream, highlight=False).print(table)
        return
    width = max(len(k) for k, _ in rows)
    stream.write(f"\n{title}\n")
    for key, value in rows:
        stream.write(f"  {key.ljust(width)}  {value}\n")
    stream.flush()


def quiet_stdout() -> None:
    """After a broken pipe on standard output (``xportcn ... | head``): send the rest to
    /dev/null, so that Python's last flush at exit does not fail again with a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
