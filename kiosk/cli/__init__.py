"""The command line: ``kiosk`` and its command groups, one module each."""
