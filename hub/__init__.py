"""kiosk-hub: the city's sync endpoint and fleet view."""
