"""Decoder benchmarks: speed and mask quality of every decoder, side by side with the naive reference PDM.

    OMP_NUM_THREADS=1 pytest benchmarks/ --benchmark-enable

The benchmark set (fixed, reproducible): for each size (256², 512²) and each noise condition of
:data:`unigs.noise.NOISE_CONDITIONS` -- ``codec`` (σ=2, blur 0.6: a TAEF2 round trip), ``moderate`` (σ=4,
blur 1), ``harsh`` (σ=8, blur 1) -- ``PER_CONDITION`` random scenes of 3-8 ellipses/rectangles painted by
the location-aware palette (distinct colours per entity with its default collision policy). Every benchmark
round decodes the next colormap of the set, so the reported median is the median time per colormap over
the set. ``benchmark.extra_info`` holds mIoU / recall (``unigs.metrics``, Hungarian on IoU) and masks per
colormap; the terminal summary puts everything in one table with the speed-up over the reference.

Timings are wall clock on whatever machine runs them; on a shared machine add
``--benchmark-timer=time.process_time`` to measure CPU time instead.

Measured figures (one run, all decoders): the README's "Colormap decoding speed" table.

PDM's time grows with the number of distinct colours (4k / 10k / 18k at 256²) and with the number of
splits: at δ = 10, σ >= 4 noise and blurred boundaries are split into many small leaves (7 / 22 / 34 per
colormap at 256²), each split costing a principal axis and a few Lloyd iterations.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import unigs
from unigs.decoders.reference import ReferencePDM
from unigs.metrics import dataset_miou_recall
from unigs.noise import NOISE_CONDITIONS, noisy_scenes

SIZES = (256, 512)
PER_CONDITION = 4
DECODERS = ("pdm", "pdm-reference", "kmeans", "gt-kmeans", "palette-snap")


def make_decoder(name: str):
    if name == "pdm-reference":
        return ReferencePDM()
    return unigs.create("decoder", name)


def _palette():
    try:
        return unigs.create("palette", "location-aware")
    except Exception:  # noqa: BLE001 - fall back to distinct random palette colours
        return None


_SETS: dict = {}


def benchmark_set(size: int, condition: str) -> list:
    key = (size, condition)
    if key not in _SETS:
        _SETS[key] = noisy_scenes((size, size), condition, PER_CONDITION, seed=2024, palette=_palette())
    return _SETS[key]


def quality(decoder, records) -> tuple[float, float, float]:
    preds = [decoder.decode(x, num_entities=len(m)) for x, m in records]
    miou, recall = dataset_miou_recall(preds, [m for _, m in records])
    return miou, recall, float(np.mean([len(p) for p in preds]))


@pytest.mark.parametrize("condition", list(NOISE_CONDITIONS))
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", DECODERS)
def test_decode(benchmark, results, name, size, condition):
    records = benchmark_set(size, condition)
    decoder = make_decoder(name)
    decoder.decode(records[0][0], num_entities=len(records[0][1]))  # warm-up: imports, kornia, sklearn
    cycle = itertools.cycle(records)

    def setup():
        x, m = next(cycle)
        return (x,), {"num_entities": len(m)}

    benchmark.group = f"{size}px {condition}"
    rounds = PER_CONDITION * (2 if name == "pdm-reference" else 5)
    benchmark.pedantic(decoder.decode, setup=setup, rounds=rounds, iterations=1)
    miou, recall, masks = quality(decoder, records)
    benchmark.extra_info.update(miou=round(miou, 4), recall=round(recall, 4), masks_per_colormap=masks)
    stats = getattr(benchmark, "stats", None)
    median_ms = stats.stats.median * 1e3 if stats is not None and getattr(stats, "stats", None) else None
    results["speed"].append(dict(decoder=name, size=size, condition=condition, median_ms=median_ms,
                                 miou=miou, recall=recall, masks=masks))


@pytest.mark.parametrize("size", SIZES)
def test_pdm_identical_to_reference_on_benchmark_set(size):
    """The fast PDM and the per-pixel scikit-learn reference give identical partitions (same masks, same
    order) on every colormap of the benchmark set."""
    fast, ref = unigs.create("decoder", "pdm"), ReferencePDM()
    for condition in NOISE_CONDITIONS:
        for x, _ in benchmark_set(size, condition):
            a, b = fast.decode(x), ref.decode(x)
            assert a.shape == b.shape and np.array_equal(a, b), f"{size}px {condition}: partitions differ"


SWEEP = (
    [dict(statistic="rms", delta=d) for d in (1.0, 5.0, 10.0, 15.0, 20.0, 50.0)]
    + [dict(statistic="msd", delta=d) for d in (1.0, 10.0, 20.0, 50.0, 100.0, 200.0)]
    + [dict(statistic="rms", delta=10.0, feature=f) for f in ("rgb", "lab")]
)


def _label(cfg: dict) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in cfg.items())


def test_statistic_delta_sweep(results):
    """Which reading of eq. 7 makes the paper's δ range useful on the pinned feature scale (256² set).

    Asserts the conclusion documented in :mod:`unigs.decoders.pdm`: with rms, δ=10 decodes every condition
    well; with the literal mean squared distance, δ=10 shatters noisy colormaps into fragments."""
    table = {}
    for cfg in SWEEP:
        dec = unigs.create("decoder", "pdm", **cfg)
        for condition in NOISE_CONDITIONS:
            miou, recall, masks = quality(dec, benchmark_set(256, condition))
            table[_label(cfg), condition] = miou
            results["sweep"].append(dict(config=_label(cfg), condition=condition, miou=miou, recall=recall, masks=masks))
    for condition in ("moderate", "harsh"):
        assert table["statistic=rms delta=10", condition] > table["statistic=msd delta=10", condition] + 0.2
    assert table["statistic=rms delta=10", "codec"] > 0.9
