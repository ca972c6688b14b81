"""Bulk booking: ``client.logistics.book_many`` and its journals.

- :mod:`.records`: the inputs (:class:`InvalidInput`), outcomes and their JSON records.
- :mod:`.journal`: the journal rules, :class:`JournalStatus`, the :class:`BookingJournal`
  protocol and the JSONL file journal (:class:`Journal`, one process).
- :mod:`.postgres`: :class:`PostgresJournal`, shared by many workers on many hosts.
- :mod:`.booking`: :class:`BulkBooking`, one run on the batch engine.
- :mod:`.shard`: ``--shard i/n``, splitting the input among workers by key.

The journals hold no secrets.
"""

from .booking import Booker, BookManyOptions, BulkBooking, JournalSpec, book_many, open_journal
from .journal import (
    BookingJournal,
    Claim,
    ClaimKind,
    Journal,
    JournalStatus,
    KeyState,
    decide,
)
from .postgres import (
    DEFAULT_JOURNAL_NAME,
    DEFAULT_LEASE,
    JournalStats,
    PostgresJournal,
    WorkerInfo,
    create_schema,
)
from .records import (
    BookingInput,
    BookingOutcome,
    ClaimedByAnotherWorker,
    DuplicateKeyError,
    InvalidInput,
    outcome_record,
)
from .shard import Shard

__all__ = [
    "DEFAULT_JOURNAL_NAME",
    "DEFAULT_LEASE",
    "BookManyOptions",
    "Booker",
    "BookingInput",
    "BookingJournal",
    "BookingOutcome",
    "BulkBooking",
    "Claim",
    "ClaimKind",
    "ClaimedByAnotherWorker",
    "DuplicateKeyError",
    "InvalidInput",
    "Journal",
    "JournalSpec",
    "JournalStats",
    "JournalStatus",
    "KeyState",
    "PostgresJournal",
    "Shard",
    "WorkerInfo",
    "book_many",
    "create_schema",
    "decide",
    "open_journal",
    "outcome_record",
]
