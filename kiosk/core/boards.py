"""Lock-board profiles: what each common board model speaks, as data.

A profile names a board model (``kerong-cu16``, ``8a80-24`` …) and gives the settings that model needs:
line speed, lock count, the address range it accepts, the status-frame length, which unlock-reply
headers it sends, polarity and timings. ``[hardware] board_model`` picks one; every field of
``[hardware.kerong]`` / ``[hardware.board8a80]`` written in the config still wins over the profile.

Pure data and a lookup: nothing here opens a port. ``docs/hardware.md`` lists the sources behind
each value; where sources disagree the value is the common one and the field stays a setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

BoardFamily = Literal["kerong", "8a80"]
"""The wire protocol a profile belongs to (it is also the ``[hardware] cabinet`` value)."""


@dataclass(frozen=True)
class BoardProfile:
    """One board model: its protocol family and the settings it implies (field name -> value)."""

    name: str
    family: BoardFamily
    summary: str
    settings: Mapping[str, object] = field(default_factory=dict)
    """Values for the family's settings section (``KerongSettings`` / ``Board8A80Settings`` fields)."""


def _profile(name: str, family: BoardFamily, summary: str, **settings: object) -> BoardProfile:
    return BoardProfile(name=name, family=family, summary=summary, settings=MappingProxyType(settings))


# Timings: Kerong boards in the field often never answer an unlock, so the unlock reply is waited for
# only briefly before the lock's state is read; 8A/80 boards may echo an unlock about a second later,
# so their reply wait covers that echo.
_KERONG_TIMES = {"unlock_timeout_s": 0.3, "confirm_s": 2.0}
_8A80_TIMES = {"unlock_timeout_s": 1.5, "confirm_s": 2.5}

PROFILES: Mapping[str, BoardProfile] = MappingProxyType(
    {
        p.name: p
        for p in (
            _profile(
                "kerong-cu16",
                "kerong",
                "Kerong KR-CU16: 16 locks + 16 infrared sensors, 9-byte status, 19200 8N1",
                baudrate=19200,
                locks_per_board=16,
                locked_bit_value=1,
                pulse_form="auto",
                **_KERONG_TIMES,
            ),
            _profile(
                "kerong-cu12",
                "kerong",
                "Kerong KR-CU12: the CU16 protocol, 12 locks per board",
                baudrate=19200,
                locks_per_board=12,
                locked_bit_value=1,
                pulse_form="auto",
                **_KERONG_TIMES,
            ),
            _profile(
                "8a80-8",
                "8a80",
                "generic 8A/80 board, 8 channels, DIP address 1-32, query-all 7 or 8 bytes",
                baudrate=9600,
                locks_per_board=8,
                board_max=32,
                status_bytes=None,
                strict_unlock_header=False,
                **_8A80_TIMES,
            ),
            _profile(
                "8a80-24",
                "8a80",
                "generic 8A/80 board, 24 channels, query-all answered with 7 bytes (3 status bytes), "
                "addresses up to 0xC8",
                baudrate=9600,
                locks_per_board=24,
                board_max=0xC8,
                status_bytes=3,
                strict_unlock_header=False,
                **_8A80_TIMES,
            ),
            _profile(
                "8a80-32",
                "8a80",
                "generic 8A/80 board, up to 32 channels, query-all answered with 8 bytes (4 status bytes)",
                baudrate=9600,
                locks_per_board=32,
                board_max=32,
                status_bytes=4,
                strict_unlock_header=False,
                **_8A80_TIMES,
            ),
        )
    }
)
"""Every known board model by name."""


def board_profile(name: str) -> BoardProfile:
    """The profile called ``name``. Raises ValueError listing the known names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown board model {name!r}; known models: {', '.join(sorted(PROFILES))}") from None
