"""Operating the Pi: ``kiosk install``, ``kiosk doctor``, systemd notifications, restarting the touchscreen service."""
