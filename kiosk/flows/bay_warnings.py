"""Warnings about bays, grouped: a lock board that stops answering is one problem, not one per bay it drives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def bay_list(bays: Iterable[int]) -> str:
    """``[1, 2, 3, 5, 7, 8]`` → ``"bays 1–3, 5, 7–8"``; one bay → ``"bay 5"``."""
    ordered = sorted(set(bays))
    if len(ordered) == 1:
        return f"bay {ordered[0]}"
    runs: list[tuple[int, int]] = []
    for n in ordered:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return "bays " + ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def grouped_faults(faults: Mapping[int, str]) -> list[str]:
    """One warning per distinct fault text, naming every bay that has it, in the order of the lowest bay.

    ``{1: "board 1 silent", 2: "board 1 silent", 9: "lock jammed"}`` →
    ``["bays 1–2: board 1 silent", "bay 9: lock jammed"]``.
    """
    by_text: dict[str, list[int]] = {}
    for bay, text in sorted(faults.items()):
        by_text.setdefault(text, []).append(bay)
    return [f"{bay_list(bays)}: {text}" for text, bays in by_text.items()]
