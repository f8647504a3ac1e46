"""The station's flows: the components that drive the pure machines of :mod:`kiosk.station` with real devices.

Components (each with ``start``/``close``/``get_status``, run by :mod:`kiosk.app.runtime`):
:mod:`~kiosk.flows.controller` (swap & entry), :mod:`~kiosk.flows.rider_desk` (the rider's session: points,
services, goods), :mod:`~kiosk.flows.cabinet` (the devices: bays, doors, scanner), :mod:`~kiosk.flows.safety`
(the safety supervisor), :mod:`~kiosk.flows.timekeeper` (trusted time). Their parts: ``rider_goods``,
``rider_ledger``, ``rider_content`` (of the desk), ``bundle`` (putting a city bundle into effect),
``bay_warnings`` (of the cabinet's status).

Room is kept here for the components still to come: ``control`` (the hub's commands) and ``update``.
"""
