"""The simulator's demo city: a believable bundle made from sim_city.json and the simulator's clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.config import parse_config
from kiosk.core.content import Location
from kiosk.core.errors import ConfigError
from kiosk.core.hardware import BayConfig
from kiosk.core.ridercode import parse_code
from kiosk.sim import city as sim_city
from kiosk.sim.city import (
    CITY_FILE,
    SlotPlan,
    booking_slots,
    city_bundle,
    demo_balances,
    distance_m,
    goods_bays,
    load_city,
)
from kiosk.sim.codes import KID, SimCodeIssuer
from kiosk.station.codes import KeySet
from kiosk.sync.protocol import Bundle, KeyEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
SIM_KEY = KeyEntry(kid=KID, public_key="A" * 43 + "=", valid_from=datetime(2020, 1, 1, tzinfo=UTC))
FAMILIES = {"legal_aid", "social_insurance", "jobs", "child_care", "health"}


def bundle_at(now: datetime = NOW) -> Bundle:
    return city_bundle("sim-001", now, SHANGHAI, [SIM_KEY])


def test_the_city_offers_the_five_service_families() -> None:
    assert {s.category for s in bundle_at().services} == FAMILIES


def test_every_service_speaks_chinese_and_english_and_links_to_a_page_for_the_phone() -> None:
    for service in bundle_at().services:
        assert all((service.title_zh, service.title_en, service.body_zh, service.body_en)), service.id
        assert (service.url or "").startswith("https://"), service.id


def test_legal_aid_is_bookable_with_slots_only_in_the_future() -> None:
    legal = next(s for s in bundle_at().services if s.category == "legal_aid")
    assert legal.bookable
    assert legal.slots
    assert all(NOW < slot.starts < NOW + timedelta(days=4) for slot in legal.slots)
    assert all(slot.ends - slot.starts == timedelta(minutes=30) for slot in legal.slots)
    assert all(slot.place_zh and slot.place_en for slot in legal.slots)


def test_the_slots_move_with_the_simulators_clock(fake_clock: FakeClock) -> None:
    first = bundle_at(fake_clock.wall())
    fake_clock.advance(30 * 86400)
    later = bundle_at(fake_clock.wall())
    legal_later = next(s for s in later.services if s.bookable)
    assert all(slot.starts > fake_clock.wall() for slot in legal_later.slots)
    assert {s.id for s in legal_later.slots}.isdisjoint(
        s.id for s in next(x for x in first.services if x.bookable).slots
    )


def test_todays_slots_that_have_begun_are_left_out_and_later_ones_kept() -> None:
    plan = SlotPlan(days_ahead=1, local_times=[time(10, 0), time(16, 30)], minutes=30)
    slots = booking_slots("legal", plan, NOW, SHANGHAI)  # 14:00 local: 10:00 today has passed
    assert [s.id for s in slots] == ["legal-20260310-1630", "legal-20260311-1000", "legal-20260311-1630"]
    assert slots[0].starts == datetime(2026, 3, 10, 16, 30, tzinfo=SHANGHAI)


def test_a_slot_keeps_its_id_while_the_clock_moves_on() -> None:
    plan = SlotPlan(days_ahead=2, local_times=[time(10, 0)], minutes=30)
    early = {s.id: s.starts for s in booking_slots("legal", plan, NOW, SHANGHAI)}
    late = {s.id: s.starts for s in booking_slots("legal", plan, NOW + timedelta(hours=5), SHANGHAI)}
    assert set(late) <= set(early)
    assert all(early[key] == late[key] for key in late)


def test_slots_need_a_timezone_aware_now() -> None:
    plan = SlotPlan(days_ahead=1, local_times=[time(10, 0)], minutes=30)
    with pytest.raises(ValueError, match="timezone-aware"):
        booking_slots("legal", plan, datetime(2026, 3, 10, 6, 0), SHANGHAI)  # naive: the point of the test


def test_there_are_two_announcements_in_both_languages() -> None:
    announcements = bundle_at().announcements
    assert len(announcements) == 2
    assert all(a.text_zh and a.text_en for a in announcements)


def test_three_nearby_stations_lie_around_the_station_nearest_first() -> None:
    bundle = bundle_at()
    assert bundle.location is not None
    distances = [n.distance_m for n in bundle.nearby]
    assert len(distances) == 3
    assert distances == sorted(distances)
    assert all(100 < d < 5000 for d in distances)
    assert all(n.latitude is not None and n.longitude is not None for n in bundle.nearby)
    assert all(n.updated_at == NOW for n in bundle.nearby)


def test_distance_is_the_great_circle_distance_in_metres() -> None:
    here = Location(latitude=31.0, longitude=121.0)
    assert distance_m(here, here) == 0
    assert distance_m(here, Location(latitude=32.0, longitude=121.0)) == pytest.approx(111_195, abs=5)


def test_the_catalogue_prices_water_snack_and_a_cable_loan() -> None:
    prices = {(c.id, c.kind): c.points for c in bundle_at().catalogue}
    assert prices == {("water", "item"): 5, ("snack", "item"): 8, ("cable", "loan"): 3}


def test_the_city_rewards_a_daily_check_in_and_feedback() -> None:
    rules = {r.id: (r.points, r.per_day) for r in bundle_at().points_rules}
    assert rules == {"checkin": (2, 1), "feedback": (1, 1)}


def test_demo_riders_have_balances_as_of_now() -> None:
    balances = {b.rider_id: b for b in bundle_at().balances}
    assert {"R1001", "R-demo"} <= set(balances)
    assert all(b.as_of == NOW and b.balance >= 0 for b in balances.values())
    assert demo_balances() == {rider: b.balance for rider, b in balances.items()}


def test_the_bundle_carries_the_keys_it_is_given_so_simulated_codes_stay_valid() -> None:
    assert bundle_at().keys == [SIM_KEY]


def test_the_bundle_survives_the_wire_as_a_hub_would_send_it() -> None:
    bundle = bundle_at()
    assert Bundle.model_validate_json(bundle.model_dump_json()) == bundle


def test_a_malformed_city_file_is_refused_naming_the_file() -> None:
    with pytest.raises(ConfigError, match=CITY_FILE):
        load_city("{not json")


def test_a_city_file_left_out_of_the_package_is_reported_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_city, "CITY_FILE", "no-such-city.json")
    with pytest.raises(ConfigError, match="missing from the installed package"):
        load_city()


def test_a_misspelt_field_in_the_city_file_is_refused() -> None:
    text = resources.files("kiosk.sim").joinpath(CITY_FILE).read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="catalog"):
        load_city(text.replace('"catalogue"', '"catalog"'))


def test_goods_bays_are_the_bays_with_an_item() -> None:
    bays = [BayConfig(number=1, slave=1), BayConfig(number=9, goods="water"), BayConfig(number=10, goods="snack")]
    assert goods_bays(bays) == {9: "water", 10: "snack"}


def test_the_simulators_config_has_a_water_and_a_snack_bay() -> None:
    text = resources.files("kiosk.sim").joinpath("sim.toml").read_text(encoding="utf-8")
    config = parse_config(text)
    assert sorted(goods_bays(config.hardware.bays).values()) == ["snack", "water"]
    catalogue = {c.id for c in bundle_at().catalogue}
    assert set(goods_bays(config.hardware.bays).values()) <= catalogue


# --- the simulator's rider codes carry the demo riders' points ------------------------------------------


def test_a_demo_riders_code_carries_their_balance(tmp_path: Path, fake_clock: FakeClock) -> None:
    issuer = SimCodeIssuer(tmp_path, fake_clock, demo_balances())
    assert parse_code(issuer.issue("R1001")).code.points == demo_balances()["R1001"]


def test_an_unknown_riders_code_carries_no_points(tmp_path: Path, fake_clock: FakeClock) -> None:
    issuer = SimCodeIssuer(tmp_path, fake_clock, demo_balances())
    assert parse_code(issuer.issue("R7777")).code.points is None


def test_the_issuers_key_entry_is_the_key_in_its_key_set(tmp_path: Path, fake_clock: FakeClock) -> None:
    issuer = SimCodeIssuer(tmp_path, fake_clock)
    entry = issuer.key_entry()
    keyset = KeySet.from_json(issuer.keyset_file.read_text(encoding="utf-8"))
    assert entry.kid == KID
    assert [(k.kid, k.public_key_b64) for k in keyset] == [(entry.kid, entry.public_key)]
