"""Putting the hub's bundle into effect: keys and revocations for codes, nearby stations, policy overrides,
the battery registry, and the city content, points balances and booking answers the rider desk shows.

:func:`bundle_check` is what the sync relay calls before it stores a bundle: everything is checked first
(every key decodes, every override is a known policy setting with a valid value, the battery registry
unpacks whole), so a bad bundle is refused whole and the old one stays; the returned step then switches
the station over at once — keys, policy and registry in one step on the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from kiosk.core.battery_registry import RegistryError, decode_registry
from kiosk.core.config import PolicyConfig
from kiosk.core.errors import ConfigError
from kiosk.flows.controller import StationController
from kiosk.flows.rider_desk import RiderDesk
from kiosk.station.codes import KeyInfo, KeySet
from kiosk.sync.protocol import Bundle

POLICY_PREFIX = "policy."


def policy_with_overrides(base: PolicyConfig, overrides: dict[str, Any]) -> PolicyConfig:
    """``base`` with the bundle's ``policy.<key>`` overrides; ConfigError naming any bad key or value."""
    updates: dict[str, Any] = {}
    for dotted, value in overrides.items():
        if not dotted.startswith(POLICY_PREFIX) or dotted[len(POLICY_PREFIX) :] not in PolicyConfig.model_fields:
            raise ConfigError(f"the hub may override only policy settings; {dotted!r} is not one")
        updates[dotted[len(POLICY_PREFIX) :]] = value
    try:
        return PolicyConfig.model_validate({**base.model_dump(), **updates})
    except ValidationError as exc:
        raise ConfigError(f"the hub's policy overrides are invalid: {exc.errors(include_url=False)}") from exc


def bundle_check(
    controller: StationController, base_policy: PolicyConfig, desk: RiderDesk | None = None
) -> Callable[[Bundle], Callable[[], None]]:
    """The relay's ``on_bundle`` for ``controller`` (and the rider ``desk``, switched over in the same step)."""

    def check(bundle: Bundle) -> Callable[[], None]:
        keyset = KeySet(KeyInfo(k.kid, k.public_key, k.valid_from, k.valid_until) for k in bundle.keys)
        policy = policy_with_overrides(base_policy, dict(bundle.config_overrides))
        revoked = frozenset(bundle.revoked_riders)
        nearby = [n.model_dump(mode="json") for n in sorted(bundle.nearby, key=lambda n: n.distance_m)]
        try:
            registry = None if bundle.batteries is None else decode_registry(bundle.batteries)
        except RegistryError as exc:
            raise ConfigError(f"the hub's battery registry is unusable: {exc}") from exc

        def put_into_effect() -> None:
            controller.use_bundle(keyset=keyset, revoked=revoked, nearby=nearby, policy=policy, registry=registry)
            if desk is not None:
                desk.use_bundle(bundle, policy)

        return put_into_effect

    return check
