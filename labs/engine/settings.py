"""Lab settings ("knobs"): declared on a config dataclass, checked before anything starts.

A lab's config is a plain dataclass whose fields are made with `knob()`: the
default, the allowed range or pattern, and a `help` line that says why the
setting exists. The command line (`--set key=value`), the TUI form and the
runner all go through `validate()` (by way of `catalog.validate_config` and
`catalog.build_config`), so they accept and reject the same things, and the
lab's cross-field `check()` always runs on the config that will run: the
defaults for the device it runs on, with the learner's overrides on top.

    validate(MLPDigitsConfig, {"lr": "0.01", "steps": 500})   # -> {"lr": 0.01, "steps": 500}
    validate(MLPDigitsConfig, {"steps": 0})                   # PathwayError: steps=0 is out of range ...

Pure Python: the TUI imports this, and it must never import torch.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from pathway.errors import PathwayError

DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_TYPE_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def knob(
    default: Any,
    *,
    help: str,
    lo: float | None = None,
    hi: float | None = None,
    pattern: str | None = None,
    hint: str | None = None,
    path: bool = False,
) -> Any:
    """A config field with its allowed range (`lo`..`hi`, inclusive) or `pattern` (full match).

    `hint` says the pattern in words; `path=True` makes a non-empty value an
    absolute path, so a run resumed from another directory finds the same files.
    """
    meta = {"help": help, "lo": lo, "hi": hi, "pattern": pattern, "hint": hint, "path": path}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class KnobInfo:
    """What a settings form needs to draw and check one field."""

    name: str
    type: type
    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    pattern: str | None = None
    hint: str | None = None
    path: bool = False

    @property
    def allowed(self) -> str:
        """The allowed values in words, e.g. `1 to 100000` or `auto|cpu|cuda(:N)?`."""
        if self.lo is not None and self.hi is not None:
            return f"{_fmt(self.lo)} to {_fmt(self.hi)}"
        if self.lo is not None:
            return f"at least {_fmt(self.lo)}"
        if self.hi is not None:
            return f"at most {_fmt(self.hi)}"
        if self.pattern:
            return self.hint or self.pattern
        return _TYPE_WORDS.get(self.type, self.type.__name__)


def _fmt(x: float) -> str:
    return f"{int(x)}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def describe(config_cls: type) -> list[KnobInfo]:
    """The knobs of a config dataclass, in declaration order."""
    hints = typing.get_type_hints(config_cls)
    return [
        KnobInfo(
            name=f.name,
            type=hints[f.name],
            default=f.default,
            help=f.metadata.get("help", ""),
            lo=f.metadata.get("lo"),
            hi=f.metadata.get("hi"),
            pattern=f.metadata.get("pattern"),
            hint=f.metadata.get("hint"),
            path=f.metadata.get("path", False),
        )
        for f in dataclasses.fields(config_cls)
    ]


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Turn `["lr=0.01", "steps=500"]` into a dict of strings; reject items without `=`."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PathwayError(f"--set expects key=value, got {item!r}. Example: --set lr=0.01")
        out[key.strip()] = value.strip()
    return out


def _coerce(info: KnobInfo, raw: Any) -> Any:
    """Convert a form/command-line value to the knob's type, or raise PathwayError."""
    want = info.type
    bad = PathwayError(
        f"{info.name} must be {_TYPE_WORDS.get(want, want.__name__)}, got {raw!r}. Allowed: {info.allowed}."
    )
    if want is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise bad
    if want is int:
        if isinstance(raw, bool):
            raise bad
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str):
            text = raw.strip().replace("_", "")
            try:
                return int(text)
            except ValueError:
                try:  # "1e4" is a common way to write ten thousand steps
                    value = float(text)
                except ValueError:
                    raise bad from None
                if value.is_integer():
                    return int(value)
        raise bad
    if want is float:
        if isinstance(raw, bool):
            raise bad
        if isinstance(raw, (int, float)):
            value = float(raw)
        elif isinstance(raw, str):
            try:
                value = float(raw.strip().replace("_", ""))
            except ValueError:
                raise bad from None
        else:
            raise bad
        if not math.isfinite(value):
            raise bad
        return value
    if want is str:
        if isinstance(raw, str):
            return raw.strip()
        raise bad
    raise TypeError(f"knob {info.name} has unsupported type {want!r}")  # a bug in the lab, not the input


def _check_range(info: KnobInfo, value: Any) -> None:
    out_of_range = (info.lo is not None and value < info.lo) or (info.hi is not None and value > info.hi)
    if out_of_range:
        raise PathwayError(f"{info.name}={value!r} is out of range: allowed {info.allowed}.")
    if info.pattern and not re.fullmatch(info.pattern, str(value)):
        raise PathwayError(f"{info.name}={value!r} is not allowed: expected {info.allowed}.")


def check_value(config_cls: type, name: str, raw: Any) -> Any:
    """One setting alone: its type and range (not the cross-field rules); the converted value or PathwayError.

    The settings form calls it as the learner types, to put the message under the field.
    """
    info = {k.name: k for k in describe(config_cls)}[name]
    value = _coerce(info, raw)
    _check_range(info, value)
    return value


def validate(
    config_cls: type, values: Mapping[str, Any], *, lab_id: str = "", base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check `values` against the knobs of `config_cls`; return them converted to their types.

    Values may be native (from a form) or strings (from `--set`). Unknown keys,
    wrong types and out-of-range values raise PathwayError naming the key and
    what is allowed. Only the keys given come back. The config's `check()`
    (cross-field rules) runs on `base` (the defaults of the device the run will
    use; the dataclass defaults when None) with `values` on top.
    """
    infos = {k.name: k for k in describe(config_cls)}
    out: dict[str, Any] = {}
    for key, raw in values.items():
        info = infos.get(key)
        if info is None:
            where = f" of lab {lab_id}" if lab_id else ""
            raise PathwayError(f"Unknown setting {key!r}{where}. Known settings: {', '.join(infos)}.")
        value = _coerce(info, raw)
        _check_range(info, value)
        if info.path and value:
            value = str(Path(value).expanduser().resolve())
        out[key] = value
    check = getattr(config_cls, "check", None)
    if check is not None:  # cross-field and file-system checks of the lab's own
        check(config_cls(**{**(base or {}), **out}))
    return out
