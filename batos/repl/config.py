"""The REPL's configuration file: ``$XDG_CONFIG_HOME/batos/repl.toml``.

Example::

    vi_mode = true                 # Emacs keys otherwise
    complete_while_typing = false  # completions pop up on Tab only
    auto_suggest = true            # grey suggestion from history; Right arrow accepts
    toolbar = true                 # bottom status line
    style = "monokai"              # any pygments style
    timeout = 30                   # seconds per statement (0 = no time limit)
    history_file = "~/.batos_history"
    debug = false                  # Python tracebacks under error panels

``$BATOS_REPL_CONFIG`` names another file. Unknown keys and wrong types are
reported as warnings and ignored; a broken file never stops the REPL.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["ReplConfig", "config_path", "state_dir", "load_config", "timeout_setting"]


@dataclass
class ReplConfig:
    """Settings for one REPL session (file values, then command-line overrides)."""

    vi_mode: bool = False
    complete_while_typing: bool = False
    auto_suggest: bool = True
    toolbar: bool = True
    style: str = "monokai"
    timeout: float | None = None          # None: the image's default; 0: no time limit
    history_file: str | None = None
    debug: bool = False
    # not settable from the file: where the values came from
    source: Path | None = field(default=None, compare=False)
    warnings: list[str] = field(default_factory=list, compare=False)


_SETTABLE = {f.name: f for f in fields(ReplConfig) if f.name not in ("source", "warnings")}
_TYPES: dict[str, tuple[type, ...]] = {
    "vi_mode": (bool,), "complete_while_typing": (bool,), "auto_suggest": (bool,),
    "toolbar": (bool,), "style": (str,), "timeout": (int, float), "history_file": (str,),
    "debug": (bool,),
}


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value and os.path.isabs(value) else Path.home() / default


def config_path() -> Path:
    """``$BATOS_REPL_CONFIG``, else ``$XDG_CONFIG_HOME/batos/repl.toml``."""
    explicit = os.environ.get("BATOS_REPL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return _xdg("XDG_CONFIG_HOME", ".config") / "batos" / "repl.toml"


def state_dir() -> Path:
    """``$XDG_STATE_HOME/batos`` (history and the debug log live here)."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "batos"


def load_config(path: Path | None = None) -> ReplConfig:
    """Read the config file; a missing file gives the defaults, a bad one warnings."""
    path = path or config_path()
    config = ReplConfig()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return config
    except OSError as exc:
        config.warnings.append(f"cannot read {path}: {exc.strerror or exc}")
        return config
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        config.warnings.append(f"{path}: {exc}; using the defaults")
        return config
    config.source = path
    for key, value in data.items():
        if key not in _SETTABLE:
            config.warnings.append(f"{path}: unknown setting {key!r} ignored")
            continue
        types = _TYPES[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            want = " or ".join(t.__name__ for t in types)
            config.warnings.append(f"{path}: {key} must be {want}, not {value!r}; ignored")
            continue
        setattr(config, key, max(float(value), 0.0) if key == "timeout" else value)  # type: ignore[arg-type]
    return config


def timeout_setting(config: ReplConfig) -> Any:
    """The ``timeout`` to pass to ``Image.execute``: ``...`` (image default) unless set."""
    if config.timeout is None:
        return ...
    return config.timeout or None
