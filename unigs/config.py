"""Component configs: frozen attrs classes, built from keyword arguments with strict key checking.

Every component class carries a ``Config`` attribute (a frozen ``attrs`` class with validators) and is
constructed as ``Component(**config)`` or ``Component(config)``; :class:`Component` does the checking.
"""
from __future__ import annotations

import difflib
from typing import Any, Mapping

import attrs


class ConfigError(TypeError):
    """A component was given a config key it does not have, or a value its validator refused."""


@attrs.frozen
class EmptyConfig:
    """For components without options."""


def make_config(config_cls: type, values: Mapping[str, Any], *, owner: str = "component") -> Any:
    """Build ``config_cls`` from ``values``; unknown keys are an error that lists the valid ones."""
    fields = [f.name for f in attrs.fields(config_cls)]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, fields, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(
            f"{owner}: unknown config key(s) {', '.join(hints)}; valid keys are: {', '.join(fields) or '(none)'}"
        )
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{owner}: invalid config: {err}") from err


def config_as_dict(config: Any) -> dict[str, Any]:
    return attrs.asdict(config, recurse=True)


class Component:
    """Base class of every registered component: holds a validated, frozen ``self.config``.

    ``Component()`` uses the defaults, ``Component(key=value)`` overrides them, ``Component(config)``
    takes a ready ``Config`` instance (further keyword overrides are applied on top of it).
    """

    Config: type = EmptyConfig

    def __init__(self, config: Any = None, /, **overrides: Any) -> None:
        cls = type(self).Config
        owner = type(self).__name__
        if config is None:
            self.config = make_config(cls, overrides, owner=owner)
        elif isinstance(config, cls):
            self.config = attrs.evolve(config, **overrides) if overrides else config
            if overrides:
                make_config(cls, overrides, owner=owner)  # reports unknown keys by name
        elif isinstance(config, Mapping):
            self.config = make_config(cls, {**config, **overrides}, owner=owner)
        else:
            raise ConfigError(f"{owner}: config must be a {cls.__name__} or a mapping, got {type(config).__name__}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in config_as_dict(self.config).items())
        return f"{type(self).__name__}({args})"
