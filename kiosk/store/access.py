"""What the store's named statements take: something to read from, or an open write transaction.

Every statement on the station's tables lives in a module of :mod:`kiosk.store` (``ledger``, ``goods``,
``bookings``, ``swaps``, ``out_of_service``, ``settings``, ``nonces``, ``timemark``); the flows call those functions
with the open :class:`~kiosk.store.db.Store` (reads) or the transaction they opened (writes), and never
touch the connection themselves (``tests/test_sql_in_store.py`` keeps it so). A write takes a
transaction, never the store, so a state change cannot be written outside the transaction that also
appends the event explaining it.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias

from sqlite_utils import Database

from kiosk.store.component import RecordingTransaction
from kiosk.store.db import Transaction


class Reads(Protocol):
    """The open store or a transaction: anything whose statements see the committed (or its own) state."""

    @property
    def db(self) -> Database:
        """The connection's sqlite-utils view (used only inside :mod:`kiosk.store`)."""
        ...


Writes: TypeAlias = Transaction | RecordingTransaction
"""An open write transaction: the store's own, or the component's that publishes its events on commit."""
