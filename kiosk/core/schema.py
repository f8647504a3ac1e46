"""The base of every configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: frozen, unknown keys refused, attribute docstrings become field descriptions.

    Driver settings are sections too, so the TOML file, the example config and the drivers share one
    definition of every setting with its range and its docstring.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
