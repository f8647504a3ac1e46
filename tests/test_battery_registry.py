"""The battery registry's bundle encoding: round trip, size for a city's 50,000 packs, refusal of bad data."""

from __future__ import annotations

import base64
import contextlib
import http.server
import random
import threading
import time
import zlib

import pytest

from kiosk.core.battery_registry import (
    BatteryRegistry,
    PackRow,
    PackStatus,
    RegistryError,
    RegistryGroup,
    decode_registry,
    encode_registry,
    pack_ids,
    unpack_ids,
)
from kiosk.sync.client import HubClient, HubUnavailable
from kiosk.sync.protocol import MAX_BUNDLE_BYTES, Bundle

MAKERS = (("SH", "TL-48V20", "nmc-13s"), ("XD", "XD-60V24", "lfp-16s"), ("YD", "YD-48V24", "nmc-13s"))


def city(packs: int, seed: int = 7) -> list[PackRow]:
    """A city's registry: a few makers' serial ranges with gaps, 4 % retired."""
    rng = random.Random(seed)
    rows: list[PackRow] = []
    per_maker = packs // len(MAKERS)
    for prefix, model, chemistry in MAKERS:
        serial = rng.randrange(1_000_000, 5_000_000)
        for _ in range(per_maker + (packs - per_maker * len(MAKERS) if prefix == "SH" else 0)):
            serial += rng.choice((1, 1, 1, 2, 3, 9))
            rows.append(PackRow(f"{prefix}{serial:08d}", model, chemistry, retired=rng.random() < 0.04))
    return rows


def test_packed_ids_come_back_sorted_and_whole() -> None:
    ids = ["SH00000010", "SH00000002", "XD1", "SH0000001", "JK_B2A24S15P", "a.b-c"]
    assert unpack_ids(pack_ids(ids), len(ids)) == sorted(ids)


def test_a_registry_round_trips_with_models_chemistries_and_retired_packs() -> None:
    rows = city(3_000)
    index = decode_registry(BatteryRegistry.model_validate_json(encode_registry(rows).model_dump_json()))
    assert len(index) == len(rows)
    for row in rows[::97]:
        info = index.look_up(row.battery_id)
        if row.retired:
            assert info.status is PackStatus.RETIRED
        else:
            assert (info.status, info.model, info.chemistry) == (PackStatus.IN_SERVICE, row.model, row.chemistry)
    assert index.look_up("ZZ00000001").status is PackStatus.UNKNOWN
    assert index.look_up(None).status is PackStatus.UNKNOWN


def test_the_revision_depends_on_the_content_only() -> None:
    rows = city(500)
    assert encode_registry(rows).revision == encode_registry(list(reversed(rows))).revision
    changed = [*rows[:-1], PackRow(rows[-1].battery_id, rows[-1].model, rows[-1].chemistry, not rows[-1].retired)]
    assert encode_registry(changed).revision != encode_registry(rows).revision


def test_fifty_thousand_packs_fit_the_bundle_with_room_and_look_up_fast() -> None:
    rows = city(50_000)
    started = time.perf_counter()
    registry = encode_registry(rows)
    encode_s = time.perf_counter() - started
    bundle = Bundle(station_id="st-a", generated_at="2026-03-10T09:30:00Z", batteries=registry)  # type: ignore[arg-type]
    size = len(bundle.model_dump_json())
    started = time.perf_counter()
    index = decode_registry(Bundle.model_validate_json(bundle.model_dump_json()).batteries)  # type: ignore[arg-type]
    decode_s = time.perf_counter() - started
    probes = [r.battery_id for r in rows[::5]]
    started = time.perf_counter()
    found = sum(index.look_up(p).status is not PackStatus.UNKNOWN for p in probes)
    per_lookup_us = (time.perf_counter() - started) / len(probes) * 1e6
    print(
        f"\n50,000 packs: bundle {size / 1024:.1f} KiB of the {MAX_BUNDLE_BYTES // 1024} KiB a station reads"
        f" (plain JSON ids: {len(str([r.battery_id for r in rows])) / 1024:.0f} KiB);"
        f" encode {encode_s * 1000:.0f} ms, decode {decode_s * 1000:.0f} ms, look-up {per_lookup_us:.2f} µs"
    )
    assert found == len(probes)
    assert size < MAX_BUNDLE_BYTES / 8  # room for the rest of the bundle and a city several times bigger
    assert per_lookup_us < 50


def test_even_random_ids_of_fifty_thousand_packs_fit_the_bundle() -> None:
    rng = random.Random(3)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    rows = [PackRow("".join(rng.choice(alphabet) for _ in range(14)), "M", "nmc-13s", False) for _ in range(50_000)]
    size = len(encode_registry(rows).model_dump_json())
    print(f"\n50,000 random 14-character ids: {size / 1024:.0f} KiB")
    assert size < MAX_BUNDLE_BYTES / 4


def _group(ids: str, count: int) -> BatteryRegistry:
    return BatteryRegistry(revision="r", groups=[RegistryGroup(model="M", chemistry="nmc-13s", count=count, ids=ids)])


def test_a_count_that_does_not_match_is_refused() -> None:
    with pytest.raises(RegistryError, match="says 3 ids but holds 2"):
        decode_registry(_group(pack_ids(["SH0000001", "SH0000002"]), 3))


def test_a_packed_list_that_inflates_past_its_count_is_refused_before_it_is_read_whole() -> None:
    bomb = base64.b64encode(zlib.compress(b"0SH0000001\n" + b"1" * 50_000_000, 9)).decode()
    started = time.perf_counter()
    with pytest.raises(RegistryError, match="longer than 2 ids can be"):
        decode_registry(_group(bomb, 2))
    assert time.perf_counter() - started < 1.0


def test_an_id_in_service_and_retired_at_once_is_refused() -> None:
    registry = _group(pack_ids(["SH0000001"]), 1).model_copy(
        update={"retired": pack_ids(["SH0000001"]), "retired_count": 1}
    )
    with pytest.raises(RegistryError, match="both in service and retired"):
        decode_registry(registry)


def test_garbage_is_refused_in_plain_words() -> None:
    with pytest.raises(RegistryError, match="not base64"):
        decode_registry(_group("%%%", 1))
    with pytest.raises(RegistryError, match="does not inflate"):
        decode_registry(_group(base64.b64encode(b"not deflate").decode(), 1))
    unsorted = base64.b64encode(zlib.compress(b"0SH0000002\n0SH0000001")).decode()
    with pytest.raises(RegistryError, match="not sorted"):
        decode_registry(_group(unsorted, 2))


class _BigBundle(http.server.BaseHTTPRequestHandler):
    """Answers every bundle request with more bytes than a station reads (no Content-Length: streamed)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        chunk = b" " * 65536
        with contextlib.suppress(OSError):  # the station hangs up once it has read enough
            for _ in range(MAX_BUNDLE_BYTES // len(chunk) + 8):
                self.wfile.write(chunk)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_the_station_refuses_a_bundle_longer_than_it_reads() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BigBundle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = HubClient(f"http://127.0.0.1:{server.server_address[1]}", "st-a", "token", timeout_s=5.0)
    try:
        with pytest.raises(HubUnavailable, match="longer than the 4194304 bytes a station reads"):
            client.get_bundle(None)
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
