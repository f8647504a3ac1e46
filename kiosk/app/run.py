"""Running kiosk-core as a process: start the station, announce where to look, stop it on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from kiosk.app.station import Station


async def run_station(
    station: Station,
    stop: asyncio.Event | None = None,
    announce: bool = True,
    after_start: Callable[[Station], None] | None = None,
    sign_in: str | None = None,
    before_stop: Callable[[], None] | None = None,
) -> int:
    """Run ``station`` until SIGTERM/SIGINT (or ``stop`` is set); return the process exit code.

    ``sign_in`` replaces the announcement's hint on how staff sign in to the status page (``kiosk sim``
    names its own account); ``before_stop`` runs once the stop is asked, before the station stops (``kiosk sim``
    ends its touchscreen app first, so no client holds a stream open while the server shuts down).
    """
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await station.start()
        if after_start is not None:  # before the announcement, so its warnings are those after the hook's work
            after_start(station)
        if announce:
            _announce(station, sign_in)
        await stop.wait()
        if before_stop is not None:
            before_stop()
        await station.stop(received[0] if received else "requested")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return 0


def _announce(station: Station, sign_in: str | None = None) -> None:
    info = station.info()
    lines = [
        f"Station {station.config.station.id} ({station.config.station.name_en}) is running.",
        f"  Status page : {info.url}/   ({sign_in or 'sign in with a staff account: kiosk admin add-user'})",
        f"  Local API   : {info.url}/api/status   (header 'Authorization: Bearer <UI token>')",
        f"  Health      : {info.url}/api/health",
        f"  UI token    : in {info.token_file}",
        f"  Database    : {info.database}",
    ]
    warnings = station.runtime.warnings()
    if warnings:
        lines.append("  Warnings    :")
        lines.extend(f"    - {w}" for w in warnings)
    lines.append("Press Ctrl+C to stop.")
    print("\n".join(lines), flush=True)
