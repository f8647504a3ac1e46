"""Drivers (scanner, lockers, slot controllers) and the simulated cabinet."""
