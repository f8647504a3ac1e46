"""The battery registry as it travels in the bundle, and the station's fast look-up of a pack id — pure.

A city has tens of thousands of packs, so the registry is not a list of JSON objects. Packs in service
are grouped by (model, chemistry); each group's ids, and the retired ids, are one *packed list*: the ids
sorted, each written as the length of the prefix it shares with the one before (one character,
``0``-``9a``-``v``) followed by the rest of it, one per line, deflated (zlib) and base64-encoded. Serial
numbers of one maker share long prefixes, so most lines are two or three characters before deflate;
50,000 packs take about 100-200 KB in the bundle (``tests/test_battery_registry.py`` measures it).

:func:`pack_ids` / :func:`unpack_ids` are the codec; :func:`encode_registry` builds the bundle's
:class:`BatteryRegistry` from rows; :func:`decode_registry` checks one completely (every count, every
id, no id twice, sizes bounded before anything is inflated) and returns a :class:`RegistryIndex` whose
:meth:`~RegistryIndex.look_up` is one dict probe.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PACK_ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_.-]{1,31}$"
"""What a pack id in the registry looks like: 2-32 letters, digits, ``_``, ``.``, ``-`` (no separators)."""
_PACK_ID = re.compile(PACK_ID_PATTERN)
MAX_ID_CHARS = 32
MAX_PACKS = 200_000
"""Most packs one registry may hold (a city of tens of thousands, with room)."""
_PREFIX_DIGITS = "0123456789abcdefghijklmnopqrstuv"
"""One character per shared-prefix length 0..31."""
_MAX_LINE = MAX_ID_CHARS + 2  # prefix digit + suffix + newline
NAME_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z _./+-]{0,63}$"
"""A model or chemistry name: 1-64 letters, digits, spaces and ``_./+-``."""

Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class RegistryError(ValueError):
    """A registry (or a packed list) that cannot be used, with the reason in plain words."""


class _Message(BaseModel):
    # Part of the bundle, which the station reads leniently (a newer hub may add fields).
    model_config = ConfigDict(extra="ignore", frozen=True)


class RegistryGroup(_Message):
    """The packs in service of one model and chemistry."""

    model: Name
    chemistry: Name
    """The chemistry name the station's ``[safety] chemistries`` knows (e.g. ``nmc-13s``)."""
    count: Annotated[int, Field(ge=1, le=MAX_PACKS)]
    ids: str
    """The packed list of their ids (:func:`pack_ids`)."""


class BatteryRegistry(_Message):
    """The city's battery registry as the bundle carries it."""

    revision: Annotated[str, Field(min_length=1, max_length=64)]
    """A digest of the registry's content: the station names the registry it judged a pack by."""
    groups: list[RegistryGroup] = []
    retired_count: Annotated[int, Field(ge=0, le=MAX_PACKS)] = 0
    retired: str = ""
    """The packed list of the retired packs' ids (kept so a retired pack is refused as *retired*)."""


def valid_pack_id(text: str) -> bool:
    """Whether ``text`` can be a pack id in the registry."""
    return _PACK_ID.fullmatch(text) is not None


def pack_ids(ids: Iterable[str]) -> str:
    """The packed form of a set of pack ids (sorted, front-coded, deflated, base64); ValueError for a bad id."""
    lines: list[str] = []
    previous = ""
    for pack in sorted(set(ids)):
        if not valid_pack_id(pack):
            raise RegistryError(f"{pack!r} is not a pack id (2-32 letters, digits, '_', '.', '-')")
        shared = 0
        for a, b in zip(previous, pack, strict=False):
            if a != b:
                break
            shared += 1
        shared = min(shared, len(pack) - 1, len(_PREFIX_DIGITS) - 1)  # keep at least one new character
        lines.append(_PREFIX_DIGITS[shared] + pack[shared:])
        previous = pack
    if not lines:
        return ""
    return base64.b64encode(zlib.compress("\n".join(lines).encode("ascii"), 9)).decode("ascii")


def unpack_ids(packed: str, count: int) -> list[str]:
    """The ``count`` sorted ids of a packed list; :class:`RegistryError` for anything else.

    The inflated text is bounded by ``count`` before it is inflated, so a hostile list cannot blow up.
    """
    if count == 0:
        if packed:
            raise RegistryError("a packed list of 0 ids must be empty")
        return []
    if not 0 < count <= MAX_PACKS:
        raise RegistryError(f"a packed list holds 1 to {MAX_PACKS} ids, not {count}")
    try:
        raw = base64.b64decode(packed.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise RegistryError(f"a packed list is not base64: {exc}") from None
    limit = count * _MAX_LINE
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise RegistryError(f"a packed list does not inflate: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail or not inflater.eof:
        raise RegistryError(f"a packed list is longer than {count} ids can be, or cut short")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise RegistryError("a packed list holds bytes that are not ASCII") from None
    lines = text.split("\n")
    if len(lines) != count:
        raise RegistryError(f"a packed list says {count} ids but holds {len(lines)}")
    out: list[str] = []
    previous = ""
    for line in lines:
        if len(line) < 2 or line[0] not in _PREFIX_DIGITS:
            raise RegistryError(f"a packed list has a malformed line {line[:40]!r}")
        shared = _PREFIX_DIGITS.index(line[0])
        if shared > len(previous):
            raise RegistryError("a packed list shares more of an id than the one before has")
        pack = previous[:shared] + line[1:]
        if not valid_pack_id(pack):
            raise RegistryError(f"a packed list holds {pack[:40]!r}, which is not a pack id")
        if pack <= previous:
            raise RegistryError("a packed list is not sorted, or holds an id twice")
        out.append(pack)
        previous = pack
    return out


@dataclass(frozen=True)
class PackRow:
    """One pack of the hub's registry, as far as a station needs it."""

    battery_id: str
    model: str
    chemistry: str
    retired: bool


def revision_of(rows: Iterable[PackRow]) -> str:
    """A digest of the registry's content (order-free): the same packs give the same revision."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r.battery_id):
        digest.update(f"{row.battery_id}\t{row.model}\t{row.chemistry}\t{int(row.retired)}\n".encode())
    return digest.hexdigest()[:24]


def encode_registry(rows: Iterable[PackRow]) -> BatteryRegistry:
    """The bundle's registry for the hub's packs: in-service ones by (model, chemistry), retired apart."""
    rows = list(rows)
    groups: dict[tuple[str, str], list[str]] = {}
    retired: list[str] = []
    for row in rows:
        if row.retired:
            retired.append(row.battery_id)
        else:
            groups.setdefault((row.model, row.chemistry), []).append(row.battery_id)
    return BatteryRegistry(
        revision=revision_of(rows),
        groups=[
            RegistryGroup(model=model, chemistry=chemistry, count=len(set(ids)), ids=pack_ids(ids))
            for (model, chemistry), ids in sorted(groups.items())
        ],
        retired_count=len(set(retired)),
        retired=pack_ids(retired),
    )


class PackStatus(enum.Enum):
    """What the registry says of a pack id."""

    IN_SERVICE = "in_service"
    RETIRED = "retired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PackInfo:
    """A pack's entry: its status, and model and chemistry for one in service."""

    status: PackStatus
    model: str | None = None
    chemistry: str | None = None


_UNKNOWN = PackInfo(PackStatus.UNKNOWN)
_RETIRED = PackInfo(PackStatus.RETIRED)


class RegistryIndex:
    """The decoded registry: one dict probe per look-up (about 50 bytes of memory per pack)."""

    def __init__(self, revision: str, groups: Mapping[tuple[str, str], Iterable[str]], retired: Iterable[str]) -> None:
        self.revision = revision
        self._groups = [PackInfo(PackStatus.IN_SERVICE, model, chemistry) for model, chemistry in groups]
        index: dict[str, int] = {}
        for number, ids in enumerate(groups.values()):
            for pack in ids:
                index[pack] = number
        self._index = index
        self._retired = frozenset(retired)

    def __len__(self) -> int:
        return len(self._index) + len(self._retired)

    @property
    def in_service(self) -> int:
        """How many packs are in service."""
        return len(self._index)

    @property
    def retired_count(self) -> int:
        """How many packs are retired."""
        return len(self._retired)

    def serves(self, battery_id: str) -> bool:
        """Whether ``battery_id`` is a pack in service."""
        return battery_id in self._index

    def look_up(self, battery_id: str | None) -> PackInfo:
        """What the registry says of ``battery_id`` (None, an unreadable id, is unknown)."""
        if battery_id is None:
            return _UNKNOWN
        number = self._index.get(battery_id)
        if number is not None:
            return self._groups[number]
        return _RETIRED if battery_id in self._retired else _UNKNOWN


def decode_registry(registry: BatteryRegistry) -> RegistryIndex:
    """Check a bundle's registry completely and index it; :class:`RegistryError` says what is wrong."""
    total = sum(g.count for g in registry.groups) + registry.retired_count
    if total > MAX_PACKS:
        raise RegistryError(f"the registry holds {total} packs; at most {MAX_PACKS} are taken")
    groups: dict[tuple[str, str], list[str]] = {}
    seen: set[str] = set()
    for group in registry.groups:
        key = (group.model, group.chemistry)
        if key in groups:
            raise RegistryError(f"the registry lists model {group.model!r} ({group.chemistry}) twice")
        ids = unpack_ids(group.ids, group.count)
        twice = seen.intersection(ids)
        if twice:
            raise RegistryError(f"pack {min(twice)} is in two groups of the registry")
        seen.update(ids)
        groups[key] = ids
    retired = unpack_ids(registry.retired, registry.retired_count)
    both = seen.intersection(retired)
    if both:
        raise RegistryError(f"pack {min(both)} is both in service and retired in the registry")
    return RegistryIndex(registry.revision, groups, retired)
