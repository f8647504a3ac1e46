"""Domain logic: pure state machines driven by events, returning commands. No I/O, injected clock."""
