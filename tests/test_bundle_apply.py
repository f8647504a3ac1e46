"""The hub's policy overrides: only known policy settings, only valid values, or the bundle is refused."""

from __future__ import annotations

import pytest

from kiosk.core.config import PolicyConfig
from kiosk.core.errors import ConfigError
from kiosk.flows.bundle import policy_with_overrides


def test_a_known_policy_setting_is_overridden() -> None:
    policy = policy_with_overrides(PolicyConfig(), {"policy.charged_soc_pct": 90, "policy.insert_timeout_s": 60})
    assert policy.charged_soc_pct == 90
    assert policy.insert_timeout_s == 60
    assert policy.collect_timeout_s == PolicyConfig().collect_timeout_s


def test_anything_but_a_policy_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"only policy settings; 'api\.port' is not one"):
        policy_with_overrides(PolicyConfig(), {"api.port": 1})
    with pytest.raises(ConfigError, match=r"'policy\.colour' is not one"):
        policy_with_overrides(PolicyConfig(), {"policy.colour": "red"})


def test_an_impossible_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="policy overrides are invalid"):
        policy_with_overrides(PolicyConfig(), {"policy.charged_soc_pct": 140})
