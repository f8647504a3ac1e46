"""Typing on the feedback screen's on-screen keyboard with taps, as a finger would (turning pages as needed)."""

from __future__ import annotations

from typing import Any

from tests.ui.harness import tap


def tap_key(screen: Any, char: str) -> None:
    """Tap the key for ``char`` on ``screen``'s keyboard: space and delete in the bar, others on their page."""
    controls = screen.controls
    keyboard = screen.keyboard
    assert keyboard is not None, "the keyboard is not shown"
    assert controls is not None, "the keyboard's space and delete keys are not shown"
    if char == " ":
        tap(controls.space_key)
        return
    if char == "\b":
        tap(controls.delete_key)
        return
    for _turn in range(keyboard.page_count):
        key = keyboard.key_for(char)
        if key is not None:
            tap(key)
            return
        tap(controls.page_key)
    raise AssertionError(f"no key types {char!r} on any of the {keyboard.page_count} pages")


def type_by_taps(screen: Any, text: str) -> None:
    """Tap out ``text`` ("\\b" is the delete key)."""
    for char in text:
        tap_key(screen, char)
