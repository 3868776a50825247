"""The plug-in registry: entry-point discovery, failures, strict mode, allow/deny lists, error messages."""
import json
import subprocess
import sys
import textwrap

import attrs
import numpy as np
import pytest

import unigs
from unigs.registry import Registry


def fake_distribution(tmp_path, monkeypatch, name, module_source, entry_point_value=None, version="9.9"):
    """An installed-looking distribution on sys.path: a module plus a .dist-info with a `unigs` entry point."""
    module = name.replace("-", "_")
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(module_source))
    info = tmp_path / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[unigs]\n{module} = {entry_point_value or module}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(module, None)
    return module


@pytest.fixture
def fresh_registry():
    unigs.reset_registry()
    yield
    unigs.reset_registry()


BROKEN = "raise ImportError('this plug-in is broken on purpose')\n"
MISSPELLED = """
import unigs
@unigs.hookimpl
def unigs_register_decodr(registry):
    pass
"""
DUPLICATE = """
import unigs
@unigs.hookimpl
def unigs_register_decoder(registry):
    registry.add("unigs-dup-ok", "x:Y")
    registry.add("pdm", "x:Y")
"""


def test_import_unigs_loads_no_torch_and_no_plugin():
    code = "import sys, unigs, unigs.registry as r; print('torch' in sys.modules, r._default is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_builtins_register_through_the_entry_point():
    registry = unigs.get_registry()
    assert "builtin" in registry.plugins
    assert {"pdm", "kmeans", "gt-kmeans", "palette-snap"} <= set(unigs.available("decoder"))
    assert {"location-aware", "random"} <= set(unigs.available("palette"))
    assert {"rgb", "lab", "rgb+lab"} <= set(unigs.available("feature"))
    assert all(e.provider.startswith("unigs ") for e in registry.entries("palette"))


def test_third_party_plugin_package_is_discovered():
    # tests/example_plugin is pip-installed by the README test command and .ci/run, like an outside package.
    assert "exact-colour" in unigs.available("decoder")
    entry = unigs.get_registry().get("decoder", "exact-colour")
    assert entry.provider == "unigs-example-plugin 0.1.0"
    decoder = unigs.create("decoder", "exact-colour", min_area=2)
    colormap = np.zeros((8, 8, 3), np.uint8)
    colormap[:4, :4] = (255, 0, 0)
    colormap[5:, 5:] = (0, 64, 128)
    colormap[0, 7] = (9, 9, 9)  # a single stray pixel: below min_area
    masks = decoder.decode(colormap)
    assert masks.shape == (2, 8, 8) and masks.sum() == 16 + 9


def test_unknown_name_says_did_you_mean_and_lists_names():
    with pytest.raises(unigs.UnknownComponentError) as err:
        unigs.create("decoder", "pmd")
    msg = str(err.value)
    assert "'pdm'" in msg and "did you mean" in msg.lower() and "kmeans" in msg
    assert isinstance(err.value, LookupError)


def test_unknown_kind_is_a_lookup_error():
    with pytest.raises(LookupError, match="decoder"):
        unigs.available("decoders")


def test_unknown_config_key_lists_valid_keys():
    with pytest.raises(unigs.ConfigError) as err:
        unigs.create("decoder", "exact-colour", min_aera=3)
    assert "min_aera" in str(err.value) and "min_area" in str(err.value) and "keep_background" in str(err.value)


def test_invalid_config_value_is_reported():
    with pytest.raises(unigs.ConfigError, match="min_area"):
        unigs.create("decoder", "exact-colour", min_area=0)


def test_configs_are_frozen():
    decoder = unigs.create("decoder", "exact-colour")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        decoder.config.min_area = 5


def test_broken_plugin_is_recorded_not_fatal(tmp_path, monkeypatch, fresh_registry):
    monkeypatch.delenv("UNIGS_STRICT_PLUGINS", raising=False)
    fake_distribution(tmp_path, monkeypatch, "unigs-broken", BROKEN)
    registry = unigs.get_registry()
    (failure,) = [f for f in registry.failures if f.package == "unigs-broken"]
    assert failure.version == "9.9" and "broken on purpose" in failure.error
    assert "pdm" in unigs.available("decoder")  # the host still works
    with pytest.raises(unigs.UnknownComponentError, match="unigs-broken 9.9"):
        unigs.create("decoder", "nope")


def test_broken_plugin_is_fatal_in_strict_mode(tmp_path, monkeypatch, fresh_registry):
    monkeypatch.setenv("UNIGS_STRICT_PLUGINS", "1")
    fake_distribution(tmp_path, monkeypatch, "unigs-broken", BROKEN)
    with pytest.raises(unigs.PluginLoadError, match="broken on purpose"):
        unigs.available("decoder")


def test_misspelled_hook_is_an_error(tmp_path, monkeypatch, fresh_registry):
    monkeypatch.delenv("UNIGS_STRICT_PLUGINS", raising=False)
    fake_distribution(tmp_path, monkeypatch, "unigs-typo", MISSPELLED)
    failures = [f for f in unigs.get_registry().failures if f.package == "unigs-typo"]
    assert failures and "unigs_register_decodr" in failures[0].error


def test_duplicate_from_plugin_names_both_providers_and_rolls_back(tmp_path, monkeypatch, fresh_registry):
    monkeypatch.delenv("UNIGS_STRICT_PLUGINS", raising=False)
    fake_distribution(tmp_path, monkeypatch, "unigs-dup", DUPLICATE)
    registry = unigs.get_registry()
    (failure,) = [f for f in registry.failures if f.package == "unigs-dup"]
    assert "unigs 0.1.0" in failure.error and "unigs-dup 9.9" in failure.error
    assert "unigs-dup-ok" not in unigs.available("decoder")  # nothing half-registered
    assert registry.get("decoder", "pdm").provider.startswith("unigs ")


def test_duplicate_and_explicit_replacement():
    registry = Registry()
    registry.add("decoder", "x", "a:B", provider="first")
    with pytest.raises(unigs.DuplicateComponentError, match="first.*second"):
        registry.add("decoder", "x", "a:C", provider="second")
    registry.add("decoder", "x", "a:C", provider="second", replace=True)
    assert registry.get("decoder", "x").target == "a:C"


def test_disable_and_allow_list(tmp_path, monkeypatch, fresh_registry):
    monkeypatch.delenv("UNIGS_STRICT_PLUGINS", raising=False)
    fake_distribution(tmp_path, monkeypatch, "unigs-broken", BROKEN)
    monkeypatch.setenv("UNIGS_DISABLE_PLUGINS", "unigs-broken")
    assert not unigs.get_registry().failures
    unigs.reset_registry()
    monkeypatch.delenv("UNIGS_DISABLE_PLUGINS")
    monkeypatch.setenv("UNIGS_PLUGINS", "example")  # allow-list: built-ins + this one only
    registry = unigs.get_registry()
    assert not registry.failures and set(registry.plugins) == {"builtin", "example"}


def test_registry_add_validates_arguments():
    registry = Registry()
    with pytest.raises(ValueError, match="name"):
        registry.add("decoder", "", "a:B")
    with pytest.raises(TypeError, match="target"):
        registry.add("decoder", "x", 42)
    with pytest.raises(LookupError, match="kind"):
        registry.add("decodr", "x", "a:B")


def test_plugins_command_lists_components_and_failures(tmp_path):
    env_code = "import runpy, sys; sys.argv=['x','--json']; runpy.run_module('unigs.plugins', run_name='__main__')"
    out = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    rows = {(r["kind"], r["name"]): r for r in data["components"]}
    assert rows[("decoder", "exact-colour")]["provider"] == "unigs-example-plugin 0.1.0"
    assert rows[("decoder", "exact-colour")]["config"] == {"min_area": 1, "keep_background": False}
    text = subprocess.run([sys.executable, "-m", "unigs.plugins"], capture_output=True, text=True, check=True).stdout
    assert "decoder:" in text and "exact-colour" in text
