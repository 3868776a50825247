"""``python -m unigs.plugins``: every registered component (kind, name, provider, config) and failed plug-ins."""
from __future__ import annotations

import argparse
import json
import sys

import attrs

from unigs.hookspecs import KINDS
from unigs.registry import get_registry


def _config_fields(cls: type) -> dict[str, str]:
    config_cls = getattr(cls, "Config", None)
    if config_cls is None or not attrs.has(config_cls):
        return {}
    out = {}
    for f in attrs.fields(config_cls):
        default = f.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        out[f.name] = default if isinstance(default, (int, float, str, bool, type(None))) else repr(default)
    return out


def collect() -> dict:
    registry = get_registry()
    rows = []
    for entry in registry.entries():
        row = {"kind": entry.kind, "name": entry.name, "provider": entry.provider,
               "target": entry.target if isinstance(entry.target, str) else f"{entry.target.__module__}:{entry.target.__qualname__}"}
        try:
            row["config"] = _config_fields(entry.load())
        except Exception as err:  # noqa: BLE001 - listing must show a broken component, not crash
            row["config"] = None
            row["error"] = f"{type(err).__name__}: {err}"
        rows.append(row)
    failures = [attrs.asdict(f) for f in registry.failures]
    return {"components": rows, "plugins": registry.plugins, "failed_plugins": failures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unigs.plugins", description=__doc__)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--kind", choices=KINDS, help="list only this kind")
    args = parser.parse_args(argv)
    data = collect()
    if args.kind:
        data["components"] = [r for r in data["components"] if r["kind"] == args.kind]
    if args.json:
        json.dump(data, sys.stdout, indent=2, default=str)
        print()
        return 0
    for kind in KINDS:
        rows = [r for r in data["components"] if r["kind"] == kind]
        if not rows:
            continue
        print(f"{kind}:")
        for r in rows:
            if r.get("error"):
                cfg = f"[cannot load: {r['error']}]"
            else:
                cfg = ", ".join(f"{k}={v!r}" for k, v in r["config"].items()) or "(no options)"
            print(f"  {r['name']:<16} {r['provider']:<28} {cfg}")
    if data["failed_plugins"]:
        print("failed plug-ins:")
        for f in data["failed_plugins"]:
            print(f"  {f['entry_point']} ({f['package']} {f['version']}): {f['error']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
