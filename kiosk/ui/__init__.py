"""kiosk-ui, the Kivy touchscreen app: a client of kiosk-core's local API only."""
