"""The component registry: plug-ins found through the ``unigs`` entry-point group, loaded lazily.

Nothing here imports torch or a plug-in at ``import unigs`` time: the registry fills itself the first time
a component is looked up. Each entry point loads on its own; one that fails is recorded (package,
version, error) rather than crashing the host, unless ``UNIGS_STRICT_PLUGINS=1``.

Environment switches
    ``UNIGS_STRICT_PLUGINS=1``  any plug-in failure raises :class:`PluginLoadError` (CI sets it).
    ``UNIGS_DISABLE_PLUGINS=a,b`` skip these entry points (by entry-point or distribution name).
    ``UNIGS_PLUGINS=a,b``       allow-list: load only these third-party plug-ins (built-ins always load).
"""
from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import os
import threading
from typing import Any, Callable, Iterable

import attrs
import pluggy

from unigs import hookspecs
from unigs.hookspecs import KINDS, PROJECT

ENTRY_POINT_GROUP = "unigs"
BUILTIN = "builtin"


class UnknownComponentError(LookupError):
    """No component of that kind has that name (message: did-you-mean, available names, failed plug-ins)."""


class DuplicateComponentError(ValueError):
    """Two providers registered the same kind and name without asking for replacement."""


class PluginLoadError(RuntimeError):
    """A plug-in failed to load or register while ``UNIGS_STRICT_PLUGINS=1``."""


@attrs.frozen
class PluginFailure:
    entry_point: str
    package: str
    version: str
    error: str

    def __str__(self) -> str:
        return f"{self.entry_point} ({self.package} {self.version}): {self.error}"


@attrs.frozen
class Entry:
    kind: str
    name: str
    target: Any  # a class, or "module:Class" imported on first use
    provider: str

    def load(self) -> type:
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attr = self.target.partition(":")
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownComponentError(f"unknown component kind {kind!r}.{hint} Kinds: {', '.join(KINDS)}")


class KindRegistrar:
    """What a ``unigs_register_<kind>`` hook receives: ``add(name, target, replace=False)``."""

    def __init__(self, registry: "Registry", kind: str, provider: str) -> None:
        self._registry, self.kind, self.provider = registry, kind, provider

    def add(self, name: str, target: Any, *, replace: bool = False) -> None:
        self._registry.add(self.kind, name, target, provider=self.provider, replace=replace)


def _env_list(var: str) -> set[str]:
    return {s.strip() for s in os.environ.get(var, "").split(",") if s.strip()}


def strict_from_env() -> bool:
    return os.environ.get("UNIGS_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}
        self.failures: list[PluginFailure] = []
        self.plugins: dict[str, str] = {}  # plug-in name -> "package version"
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)

    # --- registering -----------------------------------------------------------------------------
    def add(self, kind: str, name: str, target: Any, *, provider: str = "user", replace: bool = False) -> None:
        _check_kind(kind)
        if not isinstance(name, str) or not name:
            raise ValueError(f"component name must be a non-empty string, got {name!r}")
        if not (isinstance(target, (str, type)) or callable(target)):
            raise TypeError(f"target for {kind} {name!r} must be a class or 'module:Class', got {target!r}")
        old = self._entries[kind].get(name)
        if old is not None and not replace:
            raise DuplicateComponentError(
                f"{kind} {name!r} is registered twice: by {old.provider} and by {provider} "
                f"(pass replace=True to override on purpose)"
            )
        self._entries[kind][name] = Entry(kind, name, target, provider)

    def register_plugin(self, module: Any, name: str, provider: str | None = None) -> None:
        """Register a plug-in object (module or instance with hookimpls) and run its hooks now."""
        provider = provider or name
        self.pm.register(module, name=name)
        try:
            self.pm.check_pending()  # a misspelled hook name is an error, not silence
            staged = Registry.__new__(Registry)
            staged._entries = {k: dict(v) for k, v in self._entries.items()}
            for kind in KINDS:
                caller = getattr(self.pm.hook, f"unigs_register_{kind}")
                for impl in caller.get_hookimpls():
                    if impl.plugin_name == name:
                        impl.function(*[KindRegistrar(staged, kind, provider) for _ in impl.argnames])
        except BaseException:
            self.pm.unregister(name=name)
            raise
        self._entries = staged._entries  # all or nothing: a failing plug-in leaves no half registration
        self.plugins[name] = provider

    def load_entry_points(self, entry_points: Iterable[md.EntryPoint] | None = None, *, strict: bool | None = None) -> None:
        strict = strict_from_env() if strict is None else strict
        disabled, allowed = _env_list("UNIGS_DISABLE_PLUGINS"), _env_list("UNIGS_PLUGINS")
        if entry_points is None:
            entry_points = md.entry_points(group=ENTRY_POINT_GROUP)
        eps = sorted(entry_points, key=lambda ep: (ep.name != BUILTIN, ep.name))  # built-ins first
        if not any(ep.name == BUILTIN for ep in eps) and BUILTIN not in disabled:
            # Running from a source tree that was never installed: the built-ins still register the same way.
            self._load_one(BUILTIN, "unigs", _own_version(), lambda: importlib.import_module("unigs.builtin"), strict)
        for ep in eps:
            dist = getattr(ep, "dist", None)
            package = dist.name if dist is not None else "?"
            version = dist.version if dist is not None else "?"
            if {ep.name, package} & disabled:
                continue
            if allowed and ep.name != BUILTIN and not ({ep.name, package} & allowed):
                continue
            self._load_one(ep.name, package, version, ep.load, strict)

    def _load_one(self, name: str, package: str, version: str, loader: Callable[[], Any], strict: bool) -> None:
        if name in self.plugins:
            return
        try:
            module = loader()
            self.register_plugin(module, name, provider=f"{package} {version}")
        except Exception as err:  # noqa: BLE001 - a broken plug-in must not take the host down
            failure = PluginFailure(name, package, version, f"{type(err).__name__}: {err}")
            self.failures.append(failure)
            if strict:
                raise PluginLoadError(f"plug-in {failure} (UNIGS_STRICT_PLUGINS=1)") from err

    # --- looking up ------------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        _check_kind(kind)
        return sorted(self._entries[kind])

    def entries(self, kind: str | None = None) -> list[Entry]:
        kinds = KINDS if kind is None else (kind,)
        return [self._entries[k][n] for k in kinds for n in self.names(k)]

    def get(self, kind: str, name: str) -> Entry:
        _check_kind(kind)
        try:
            return self._entries[kind][name]
        except (KeyError, TypeError):
            pass
        names = self.names(kind)
        close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
        msg = f"no {kind} named {name!r}."
        if close:
            msg += f" Did you mean {' or '.join(repr(c) for c in close)}?"
        msg += f" Available {kind}s: {', '.join(names) or '(none)'}."
        if self.failures:
            msg += " Plug-ins that failed to load: " + "; ".join(str(f) for f in self.failures)
        raise UnknownComponentError(msg)

    def create(self, kind: str, name: str, /, **config: Any) -> Any:
        return self.get(kind, name).load()(**config)


def _own_version() -> str:
    try:
        return md.version("unigs")
    except md.PackageNotFoundError:
        return "(source tree)"


_lock = threading.Lock()
_default: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, filled from the entry points on first use."""
    global _default
    with _lock:
        if _default is None:
            registry = Registry()
            registry.load_entry_points()
            _default = registry
        return _default


def reset_registry() -> None:
    """Forget the loaded registry (the next lookup reloads the plug-ins; for tests and notebooks)."""
    global _default
    with _lock:
        _default = None


def available(kind: str) -> list[str]:
    """Names of the registered components of ``kind``."""
    return get_registry().names(kind)


def create(kind: str, name: str, /, **config: Any) -> Any:
    """Build the component ``name`` of ``kind`` from its validated config."""
    return get_registry().create(kind, name, **config)


def component_class(kind: str, name: str) -> type:
    return get_registry().get(kind, name).load()
