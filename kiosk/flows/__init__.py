"""The station's flows: the components that drive the pure machines of :mod:`kiosk.station`."""
