"""The touchscreen app's systemd service, as the status page's "restart the touchscreen" button reaches it."""

from __future__ import annotations

import asyncio

UI_RESTART_TIMEOUT_S = 30.0


async def restart_ui() -> None:
    """Restart the touchscreen app's service (the kiosk user needs the polkit rule the installer writes)."""
    process = await asyncio.create_subprocess_exec(
        "systemctl", "restart", "--no-block", "kiosk-ui.service", stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(UI_RESTART_TIMEOUT_S):
            _, err = await process.communicate()
    except TimeoutError:
        process.kill()
        raise RuntimeError("systemctl did not answer in time") from None
    if process.returncode != 0:
        raise RuntimeError(f"systemctl could not restart kiosk-ui: {err.decode(errors='replace').strip()}")
