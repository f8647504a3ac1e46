"""Operating the Pi: install, doctor, systemd."""
