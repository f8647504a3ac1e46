"""SQLite: schema, migrations, the one writer, the events outbox."""

from kiosk.store.db import Store, Transaction
from kiosk.store.migrations import LATEST_VERSION, MIGRATIONS, Migration
from kiosk.store.stats import Corruption, StoreStats

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Corruption", "Migration", "Store", "StoreStats", "Transaction"]
