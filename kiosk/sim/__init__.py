"""The simulator's wiring: ``kiosk sim``, its demo city and codes (the simulated devices are in kiosk.devices.sim)."""
