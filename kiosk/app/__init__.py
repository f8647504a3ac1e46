"""The composition root: reads the config, builds the components, wires their events, runs them.

- :mod:`kiosk.app.station` — :class:`~kiosk.app.station.Station`: every component of kiosk-core, built and wired
  in one place (store, trusted time, cabinet, safety, swap & entry controller, rider desk, sync, local API).
- :mod:`kiosk.app.runtime` — starts the components in order, closes them in reverse, reports their status.
- :mod:`kiosk.app.run` — kiosk-core as a process: signals, the start announcement.

What the components are lives elsewhere: the flows in :mod:`kiosk.flows`, the store in :mod:`kiosk.store`, the
simulator's wiring in :mod:`kiosk.sim`, the command line in :mod:`kiosk.cli`.
"""
