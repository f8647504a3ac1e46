"""SQLite: schema, migrations, the one writer, the events outbox."""
