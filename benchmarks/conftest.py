"""Decoder benchmarks: one thread everywhere, and a summary table at the end of the run.

Run with ``pytest benchmarks/ --benchmark-enable`` (pyproject's addopts disable timing by default so that a
plain ``pytest`` stays quick; without ``--benchmark-enable`` every benchmark body still runs once).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy/torch start their pools (BLAS oversubscription on 2 cores)

import pytest  # noqa: E402

#: Filled by the benchmarks: rows for the terminal summary.
RESULTS: dict[str, list[dict]] = {"speed": [], "sweep": []}


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:  # pragma: no cover
            pass
        yield


@pytest.fixture(scope="session")
def results():
    return RESULTS


def pytest_terminal_summary(terminalreporter):
    speed, sweep = RESULTS["speed"], RESULTS["sweep"]
    if not speed and not sweep:
        return
    tr = terminalreporter
    if speed:
        tr.section("decoders: median ms per colormap, mIoU / recall, masks per colormap")
        timed = any(r["median_ms"] is not None for r in speed)
        ref = {(r["size"], r["condition"]): r["median_ms"] for r in speed if r["decoder"] == "pdm-reference"}
        tr.write_line(f"{'size':>5} {'condition':<9} {'decoder':<14} {'median ms':>9} {'vs ref':>7} "
                      f"{'mIoU':>6} {'recall':>6} {'masks':>6}")
        for r in speed:
            ms = r["median_ms"]
            base = ref.get((r["size"], r["condition"]))
            speedup = f"{base / ms:6.1f}x" if (ms and base) else "      -"
            tr.write_line(
                f"{r['size']:>5} {r['condition']:<9} {r['decoder']:<14} {ms if ms is not None else float('nan'):9.2f} "
                f"{speedup} {r['miou']:6.3f} {r['recall']:6.3f} {r['masks']:6.1f}"
            )
        if not timed:
            tr.write_line("(timings need --benchmark-enable)")
    if sweep:
        tr.section("PDM statistic / delta / feature sweep (mIoU / recall / leaves per colormap)")
        conditions = list(dict.fromkeys(r["condition"] for r in sweep))
        configs = list(dict.fromkeys(r["config"] for r in sweep))
        tr.write_line(f"{'config':<30}" + "".join(f"{c:>24}" for c in conditions))
        for cfg in configs:
            cells = []
            for c in conditions:
                r = next(x for x in sweep if x["config"] == cfg and x["condition"] == c)
                cells.append(f"{r['miou']:.3f} / {r['recall']:.2f} / {r['masks']:5.1f}")
            tr.write_line(f"{cfg:<30}" + "".join(f"{c:>24}" for c in cells))
