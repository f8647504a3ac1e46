"""A complete, commented example config, generated from the schema so the two never drift apart."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kiosk.core.config import Config
from kiosk.core.hardware import BayConfig


def _toml_value(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return _toml_value(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, str | int | float):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")


def _comment(text: str | None, indent: str = "") -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in (text or "").strip().splitlines()]


def _is_section(field: FieldInfo) -> bool:
    ann = field.annotation
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _is_section_list(field: FieldInfo) -> bool:
    args: tuple[Any, ...] = getattr(field.annotation, "__args__", ())
    if getattr(field.annotation, "__origin__", None) is not list or not args:
        return False
    return isinstance(args[0], type) and issubclass(args[0], BaseModel)


def _keys(model: type[BaseModel], out: list[str], overrides: dict[str, Any] | None = None) -> None:
    for name, field in model.model_fields.items():
        if _is_section(field) or _is_section_list(field):
            continue
        out.extend(_comment(field.description))
        if overrides and name in overrides:
            out.append(f"{name} = {_toml_value(overrides[name])}")
        elif field.is_required():
            example = (field.examples or ["..."])[0]
            out.append(f"{name} = {_toml_value(example)}")
        elif field.default is None:
            example = field.examples[0] if field.examples else "..."
            out.append(f"# {name} = {_toml_value(example)}")
        else:
            out.append(f"{name} = {_toml_value(field.get_default(call_default_factory=True))}")
        out.append("")


def _section(model: type[BaseModel], path: str, out: list[str]) -> None:
    out.append(f"[{path}]")
    out.extend(_comment(model.__doc__))
    out.append("")
    _keys(model, out)
    for name, field in model.model_fields.items():
        if _is_section(field):
            assert isinstance(field.annotation, type)
            _section(field.annotation, f"{path}.{name}", out)
        elif _is_section_list(field):
            out.extend(_comment(field.description))
            for number, pins in ((1, ("GPIO17", "GPIO27")), (2, ("GPIO22", "GPIO23"))):
                out.append(f"[[{path}.{name}]]")
                _keys(BayConfig, out, {"number": number, "lock_pin": pins[0], "door_pin": pins[1]})


def example_toml() -> str:
    """The example configuration file, every key with its docstring as a comment."""
    out: list[str] = [
        "# kiosk-core configuration (/etc/kiosk/kiosk.toml).",
        "# Check it with: kiosk config check /etc/kiosk/kiosk.toml",
        "# Relative paths are relative to this file's folder.",
        "",
    ]
    _keys(Config, out)
    for name, field in Config.model_fields.items():
        if _is_section(field):
            assert isinstance(field.annotation, type)
            _section(field.annotation, name, out)
    return "\n".join(out).rstrip() + "\n"
