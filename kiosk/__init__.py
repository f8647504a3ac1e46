"""Station kiosk: the controller of an unattended rider rest station."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("station-kiosk")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
