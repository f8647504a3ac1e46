"""Locker backends: GPIO pins, RS-485 lock boards."""
