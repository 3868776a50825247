"""``python -m unigs.ablate``: regenerate the paper's Tables 7–9 (referring segmentation) with any components.

    python -m unigs.ablate                                  # Tables 7-9, embedded profile, --out runs/ablate
    python -m unigs.ablate --decoder pdm --feature rgb+lab  # one decoder configuration, both palettes
    python -m unigs.ablate --table 8 --decoder exact-colour # an extra (e.g. third-party) row in Table 8

Colormaps are generated once per (model, palette, data, task, seed, limit, steps) and cached under
``OUT/cache``; every decoder, feature and δ is then scored on the cache. Writes ``OUT/table*.md|csv``,
``OUT/results.json`` and ``OUT/figures/*.png``; every run's report is also appended to ``OUT/history.jsonl``.
"""
from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path

import attrs

import unigs
from unigs.ablation import GenerationSpec, coarse_mask_baseline, generate, resolve_model, score
from unigs.cli import non_negative_int, parse_options, positive_float, positive_int
from unigs.codecs.base import CodecFilesError

#: The paper's figures (mIoU, recall) for each row, on its COCO referring benchmark.
PAPER = {
    ("7", "random"): (0.493, 0.563), ("7", "location-aware"): (0.808, 0.872),
    ("8", "kmeans"): (0.520, 0.641), ("8", "gt-kmeans"): (0.810, 0.874), ("8", "pdm"): (0.808, 0.872),
    ("9a", 1.0): (0.804, 0.868), ("9a", 10.0): (0.808, 0.872), ("9a", 20.0): (0.791, 0.857), ("9a", 50.0): (0.705, 0.789),
    ("9b", "rgb"): (0.796, 0.860), ("9b", "lab"): (0.787, 0.856), ("9b", "rgb+lab"): (0.808, 0.872),
}
#: PDM with the spatial merge (beyond the paper; :mod:`unigs.decoders.pdm`), as chosen on the 200 validation
#: scenes of the embedded profile: over-split at δ=8, merge touching leaves closer than 22. Table 8's extra row.
MERGED_PDM = {"delta": 8.0, "merge_distance": 22.0}
TITLES = {
    "7": "Table 7: colour assignment (palette)", "8": "Table 8: K-Means vs the progressive dichotomy module",
    "9a": "Table 9(a): PDM distance threshold δ", "9b": "Table 9(b): PDM pixel feature", "custom": "Requested configuration",
}


@attrs.frozen
class Row:
    table: str
    label: str
    palette: str
    decoder: str
    decoder_config: dict
    paper_key: object = None


def plan_rows(args, decoder_config: dict) -> list[Row]:
    """The rows to evaluate: the paper's tables, extended by the requested decoder where it is new."""
    tables = ["7", "8", "9a", "9b"] if args.table == "all" else (["9a", "9b"] if args.table == "9" else [args.table])
    if args.table is None:
        tables = ["custom"]
    base, base_cfg = args.decoder, decoder_config
    rows: list[Row] = []
    for t in tables:
        if t == "custom":
            rows += [Row(t, f"{p} + {base}", p, base, base_cfg) for p in args.palette]
        elif t == "7":
            labels = {"random": "Random Color Assignment", "location-aware": "Location-aware Palette (Ours)"}
            rows += [Row(t, labels.get(p, p), p, base, base_cfg, (t, p)) for p in args.palette]
        elif t == "8":
            pdm_cfg = _pdm_cfg(args)
            rows += [Row(t, "Native K-Means, Fixed (3)", "location-aware", "kmeans", {"k": 3}, (t, "kmeans")),
                     Row(t, "Native K-Means, Adaptive (GT)", "location-aware", "gt-kmeans", {}, (t, "gt-kmeans")),
                     Row(t, "PDM, Adaptive", "location-aware", "pdm", pdm_cfg, (t, "pdm"))]
            if "merge_distance" not in pdm_cfg:
                rows.append(Row(t, "PDM + spatial merge (beyond the paper)", "location-aware", "pdm", MERGED_PDM))
            if base not in ("kmeans", "gt-kmeans", "pdm"):
                rows.append(Row(t, f"{base} (extra)", "location-aware", base, base_cfg))
        elif t == "9a":
            cfg = {k: v for k, v in _pdm_cfg(args).items() if k != "delta"}
            rows += [Row(t, f"δ = {d:g}", "location-aware", "pdm", {**cfg, "delta": d}, (t, d)) for d in args.deltas]
        elif t == "9b":
            cfg = {k: v for k, v in _pdm_cfg(args).items() if k != "feature"}
            names = ["rgb", "lab", "rgb+lab"] + [f for f in unigs.available("feature") if f not in ("rgb", "lab", "rgb+lab")]
            rows += [Row(t, f.upper().replace("+", " + "), "location-aware", "pdm", {**cfg, "feature": f}, (t, f)) for f in names]
    return rows


def _pdm_cfg(args) -> dict:
    cfg = {}
    if args.feature:
        cfg["feature"] = args.feature
    if args.delta is not None:
        cfg["delta"] = args.delta
    if args.decoder == "pdm":
        cfg.update(parse_options(args.decoder_option))
    return cfg


def write_tables(rows, results, out: Path, footer: str = "") -> dict[str, str]:
    """Each table as Markdown (``footer`` appended) and CSV in ``out``; returns the Markdown texts."""
    texts = {}
    for table in dict.fromkeys(r.table for r in rows):
        lines = [f"### {TITLES[table]}", "", "| row | palette | decoder | mIoU | recall | ms/image (median) | paper mIoU | paper recall |",
                 "|---|---|---|---|---|---|---|---|"]
        csv_rows = []
        for r in (r for r in rows if r.table == table):
            res = results[_row_id(r)]
            paper = PAPER.get(r.paper_key, (None, None)) if r.paper_key else (None, None)
            cfg = ", ".join(f"{k}={v}" for k, v in r.decoder_config.items())
            dec = f"{r.decoder}({cfg})" if cfg else r.decoder
            ms = res["timing"]["median"] * 1000
            fmt = lambda v: "—" if v is None else f"{v:.3f}"
            lines.append(f"| {r.label} | {r.palette} | {dec} | {res['miou']:.3f} | {res['recall']:.3f} | {ms:.2f} | "
                         f"{fmt(paper[0])} | {fmt(paper[1])} |")
            csv_rows.append({"table": table, "row": r.label, "palette": r.palette, "decoder": dec,
                             "miou": res["miou"], "recall": res["recall"], "ms_per_image_median": ms,
                             "paper_miou": paper[0], "paper_recall": paper[1]})
        text = "\n".join(lines) + "\n" + footer
        (out / f"table{table}.md").write_text(text)
        with open(out / f"table{table}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(csv_rows[0]))
            writer.writeheader()
            writer.writerows(csv_rows)
        texts[table] = text
    return texts


def _keep_history(out: Path, report: dict) -> None:
    """Append this run's report to ``OUT/history.jsonl`` before ``results.json`` and the tables are replaced,
    so a narrower rerun into the same folder (one table, one palette) loses no earlier run's figures."""
    history, previous = out / "history.jsonl", out / "results.json"
    lines = []
    if previous.is_file():
        try:
            before = json.loads(previous.read_text())
        except json.JSONDecodeError:
            before = None
        if before is not None and not history.is_file():
            lines.append(json.dumps(before, default=str))  # a folder from before the history: keep its report
        if before is not None and before.get("args") != json.loads(json.dumps(report["args"], default=str)):
            print(f"note: {out} held the results of a run with other settings; results.json and the tables both "
                  f"runs write are replaced, and every run's report stays in {history}")
    lines.append(json.dumps(report, default=str))
    with open(history, "a") as fh:
        fh.write("\n".join(lines) + "\n")


def _row_id(r: Row) -> str:
    return f"{r.table}|{r.label}|{r.palette}|{r.decoder}|{json.dumps(r.decoder_config, sort_keys=True)}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m unigs.ablate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", choices=("7", "8", "9", "9a", "9b", "all"),
                   help="paper table(s) to regenerate (default: all, or only the requested configuration when "
                        "--decoder/--feature/--delta is given)")
    p.add_argument("--palette", action="append", help="palette(s) (default: random and location-aware)")
    p.add_argument("--decoder", default=None, help="decoder for Table 7 / the requested row (default: pdm)")
    p.add_argument("--decoder-option", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--feature", help="PDM pixel feature (default: the decoder's own, rgb+lab)")
    p.add_argument("--delta", type=positive_float, help="PDM δ (default: the decoder's own, 10)")
    p.add_argument("--deltas", default="1,10,20,50", help="δ values of Table 9(a)")
    p.add_argument("--task", default="referring")
    p.add_argument("--data", help="procedural (unseen test scenes; the default) | procedural-val (the validation "
                                  "scenes) | coco:PATH (needed by --model coco)")
    p.add_argument("--model", default="embedded", help="shipped profile (embedded, coco) or a model directory")
    p.add_argument("--limit", type=positive_int, default=100, help="examples per palette (each draws an image of the split at random, with its own entities and Ω)")
    p.add_argument("--steps", type=positive_int, default=1,
                   help="DDIM steps (default 1: chosen on the validation scenes, where the shipped z0-predicting "
                        "model scored higher with 1 step than with 20; compare with --steps 20)")
    p.add_argument("--samples", type=positive_int, default=1,
                   help="independent draws per example whose final latents are averaged before decoding (default 1, "
                        "the paper's single sample; see UniGS.generate)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/ablate")
    p.add_argument("--figures", type=non_negative_int, default=6, help="per-image panels to draw (0: none)")
    p.add_argument("--benchmark-json", help="also run benchmarks/test_ablation.py and write pytest-benchmark JSON here")
    p.add_argument("--threads", type=positive_int, default=1)
    p.add_argument("--codec-path", help="weights folder of the model's codec, for codecs that need one (the coco "
                                        "profile's taef2; default: $UNIGS_TAEF2)")
    args = p.parse_args(argv)
    if args.table is None and args.decoder is None and args.feature is None and args.delta is None:
        args.table = "all"
    args.decoder = args.decoder or "pdm"
    args.palette = args.palette or ["random", "location-aware"]
    try:
        args.deltas = [float(d) for d in args.deltas.split(",")]
    except ValueError:
        p.error(f"--deltas must be comma-separated numbers, got {args.deltas!r}")
    if args.data is None:
        if args.model == "coco":
            p.error("--model coco needs its data: --data coco:PATH (e.g. coco:../shared/data/coco2017_mini)")
        args.data = "procedural"
    kind, _, root = args.data.partition(":")
    if args.data not in ("procedural", "procedural-val") and not (kind == "coco" and root):
        p.error(f"--data must be 'procedural', 'procedural-val' or 'coco:PATH', got {args.data!r}")
    if args.codec_path and not Path(args.codec_path).expanduser().is_dir():
        p.error(f"--codec-path {args.codec_path!r} is not a directory (expected the codec's weights folder)")
    if kind == "coco" and not Path(root).expanduser().is_dir():
        p.error(f"--data {args.data!r}: {root!r} is not a directory (expected a COCO-format dataset folder)")

    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    try:
        for name in args.palette:
            unigs.get_registry().get("palette", name)
        decoder_config = parse_options(args.decoder_option)
        if args.feature:
            decoder_config["feature"] = args.feature
        if args.delta is not None:
            decoder_config["delta"] = args.delta
        rows = plan_rows(args, decoder_config)
        decoders = {_row_id(r): unigs.create("decoder", r.decoder, **r.decoder_config) for r in rows}
        models = {pal: resolve_model(args.model, pal) for pal in dict.fromkeys(r.palette for r in rows)}
    except (LookupError, unigs.ConfigError, FileNotFoundError, ValueError) as err:
        print(f"python -m unigs.ablate: error: {err}", file=sys.stderr)
        return 2

    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    generated, specs = {}, {}
    codec_config = {"path": args.codec_path} if args.codec_path else None
    for pal, model_dir in models.items():
        specs[pal] = GenerationSpec(model=str(model_dir), data=args.data, task=args.task, seed=args.seed,
                                    limit=args.limit, steps=args.steps, samples=args.samples)
        try:
            generated[pal] = generate(specs[pal], out / "cache", codec_config=codec_config)
        except FileNotFoundError as err:  # e.g. the taef2 weights folder of a coco model: name it, no traceback
            hint = " (the codec's folder is given by --codec-path)" if isinstance(err, CodecFilesError) else ""
            print(f"python -m unigs.ablate: error: {err}{hint}", file=sys.stderr)
            return 2
    t_gen = time.time() - t_start

    from tqdm.auto import tqdm

    results = {}
    for r in tqdm(rows, desc="decoding"):
        results[_row_id(r)] = score(generated[r.palette], decoders[_row_id(r)])
    t_dec = time.time() - t_start - t_gen
    baselines = {pal: coarse_mask_baseline(recs) for pal, recs in generated.items()}
    footer = ""
    if args.task == "referring":
        b = next(iter(baselines.values()))  # the same examples for every palette
        footer = (f"\nTrivial baseline (each region of the coarse mask m_c taken as the prediction, no model): "
                  f"mIoU {b['miou']:.3f}, recall {b['recall']:.3f} on the same {b['examples']} examples.\n")
    texts = write_tables(rows, results, out, footer)

    if args.figures:
        from unigs.figures import save_figures

        save_figures(generated, rows, decoders, out / "figures", n=args.figures, row_id=_row_id)
    report = {
        "args": {k: v for k, v in vars(args).items()},
        "generation": {pal: attrs.asdict(s) | {"cache_key": s.key()} for pal, s in specs.items()},
        "rows": [attrs.asdict(r) | {"id": _row_id(r)} | results[_row_id(r)] for r in rows],
        "coarse_mask_baseline": baselines,
        "seconds": {"generation": round(t_gen, 2), "decoding": round(t_dec, 2)},
        "versions": _versions(),
    }
    _keep_history(out, report)
    (out / "results.json").write_text(json.dumps(report, indent=1, default=str))
    for text in texts.values():
        print(text)
    print(f"generation {t_gen:.1f} s, decoding {t_dec:.1f} s; tables, results.json and figures in {out}")
    if args.benchmark_json:
        return _run_benchmarks(args, out)
    return 0


def _run_benchmarks(args, out: Path) -> int:
    import os

    import pytest

    suite = Path(__file__).resolve().parent.parent / "benchmarks" / "test_ablation.py"
    if not suite.is_file():
        print(f"python -m unigs.ablate: error: --benchmark-json needs the repository's {suite}", file=sys.stderr)
        return 2
    os.environ.update(UNIGS_ABLATION_CACHE=str(out / "cache"), UNIGS_ABLATION_MODEL=args.model,
                      UNIGS_ABLATION_LIMIT=str(args.limit), UNIGS_ABLATION_STEPS=str(args.steps),
                      UNIGS_ABLATION_DATA=args.data, UNIGS_ABLATION_SEED=str(args.seed))
    if args.codec_path:
        os.environ["UNIGS_ABLATION_CODEC_PATH"] = args.codec_path
    return pytest.main([str(suite), "-q", "-p", "no:cacheprovider", "--benchmark-enable", "--benchmark-only",
                        f"--benchmark-json={args.benchmark_json}", "-o", "addopts="])


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("unigs", "torch", "diffusers", "numpy", "scikit-learn", "kornia"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


if __name__ == "__main__":
    raise SystemExit(main())
