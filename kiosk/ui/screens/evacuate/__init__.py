"""A screen of the touchscreen app (see the registry in kiosk.ui.screens)."""
