"""The simulated cabinet: devices that speak the real wire protocols on pseudo-terminals and mock pins."""
