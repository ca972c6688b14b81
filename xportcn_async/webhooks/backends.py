"""Choosing an inbox backend from a URL or a path (above the backends, which build on
:mod:`.inbox`)."""

from __future__ import annotations

from .inbox import Inbox, MemoryInbox
from .postgres_inbox import PostgresInbox
from .sqlite_inbox import SQLiteInbox

__all__ = ["open_inbox"]


def open_inbox(target: str | Inbox) -> Inbox:
    """An inbox from a PostgreSQL URL (``postgresql://…``) or an SQLite file path; an
    :class:`Inbox` is returned as it is. Call ``await inbox.open()`` before use."""
    if not isinstance(target, str):
        return target
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresInbox(target)
    if target == ":memory:":
        return MemoryInbox()
    return SQLiteInbox(target)
