"""The composition root: builds components from config, starts and stops them, wires events."""
