"""Issue 13, bug 3: a hot battery (62 °C, over-temperature) is shown in red with its temperature, and warned of.

It used to show only "fault" in the Charger column: no red, nothing on the Overview.
"""

from __future__ import annotations

import re

from tests.support import wait_until
from tests.web.conftest import WAIT, WebStation, sign_in


def _charger_fault(web: WebStation, bay: int) -> bool:
    battery = web.tech.bay(bay)["battery"]
    return bool(battery) and battery["charger_state"] == "fault"


def test_a_hot_battery_is_red_with_its_temperature_in_the_charger_column(web: WebStation) -> None:
    web.sim.inject("battery_hot", 2)
    wait_until(lambda: _charger_fault(web, 2), WAIT, "bay 2's charger to report the fault")
    session, _ = sign_in(web.url)
    page = session.get(f"{web.url}/devices", timeout=5).text
    row = re.search(r'<tr id="bay-2".*?</tr>', page, re.S)
    assert row is not None
    cell = re.search(r'<td data-field="charger" class="([^"]*)">(.*?)</td>', row.group(0))
    assert cell is not None
    assert "bad" in cell.group(1).split()
    assert "over_temperature" in cell.group(2)
    assert "62.0 °C" in cell.group(2)
    healthy = re.search(r'<tr id="bay-1".*?</tr>', page, re.S)
    assert healthy is not None
    assert '<td data-field="charger">charging</td>' in healthy.group(0)


def test_a_hot_battery_is_a_warning_on_the_overview(web: WebStation) -> None:
    web.sim.inject("battery_hot", 2)
    wait_until(lambda: _charger_fault(web, 2), WAIT, "bay 2's charger to report the fault")
    warnings = web.tech.status()["warnings"]
    assert any("bay 2" in w and "62.0 °C" in w and "over_temperature" in w for w in warnings), warnings
    session, _ = sign_in(web.url)
    overview = session.get(f"{web.url}/", timeout=5).text
    assert re.search(r'<li class="warn">[^<]*bay 2: battery [^<]*62\.0 °C', overview), "no warning on the overview"


def test_the_warning_goes_when_the_battery_cools_down(web: WebStation) -> None:
    web.sim.inject("battery_hot", 2)
    wait_until(lambda: _charger_fault(web, 2), WAIT, "bay 2's charger to report the fault")
    web.sim.inject("battery_hot", 2, on=False)
    # Not the charger state: the safety supervisor switches the hot bay's charger off, which ends its
    # "fault" state while the pack is still hot. The pack's own reading says when it has cooled down.
    wait_until(lambda: _cooled(web, 2), WAIT, "bay 2's battery to read cool and unflagged")
    assert not any("bay 2: battery" in w for w in web.tech.status()["warnings"])


def _cooled(web: WebStation, bay: int) -> bool:
    battery = web.tech.bay(bay)["battery"]
    return bool(battery) and battery["temperature_c"] < 30 and not battery["fault_flags"]
