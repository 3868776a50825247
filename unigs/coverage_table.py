"""``python -m unigs.coverage_table``: the location-aware palette's coverage on a COCO-format dataset.

    python -m unigs.coverage_table --data ../shared/data/coco2017_mini

Prints a Markdown table: for each grid size b (b x b cells) and collision policy, the share of entities
that keep a colour of their own (:func:`unigs.palettes.coverage`: colour shared with no other entity of
the image, and some pixel still visible after painting), over every entity of every image ("all
entities"), and over random training-style samples of at most ``--max-entities`` entities per image
(the UniGS sampling; the paper samples up to 4), beside the paper's 97.4 %.
"""
from __future__ import annotations

import argparse
import sys

from unigs.cli import positive_int

PAPER = 0.974
GRIDS = (4, 5, 6, 7, 8, 10, 11)
COLLISIONS = ("share", "nearest-free")


def markdown_table(results: dict, grids, collisions, max_entities: int, n_images: int, n_entities: int) -> str:
    head = ["grid b (cells)"]
    for c in collisions:
        head.append(f"`{c}`, all entities")
    for c in collisions:
        head.append(f"`{c}`, ≤{max_entities} sampled")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for b in grids:
        row = [f"{b} ({b * b})"]
        for scope in ("all", "sampled"):
            for c in collisions:
                row.append(f"{100 * results[scope][(b, c)]:.1f} %")
        lines.append("| " + " | ".join(row) + " |")
    lines.append(f"| paper (COCO, ADE20K, OpenImages, EntitySeg) | {100 * PAPER:.1f} % |" + " |" * (len(head) - 2))
    lines.append("")
    lines.append(f"{n_images} images, {n_entities} entities.")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m unigs.coverage_table", description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="COCO-format dataset root (default: $UNIGS_DATA)")
    p.add_argument("--annotations", default="annotations.json", help="annotations JSON relative to --data")
    p.add_argument("--dataset", default="coco", help="registered dataset name (coco, procedural)")
    p.add_argument("--grids", default=",".join(map(str, GRIDS)), help="comma-separated grid sizes")
    p.add_argument("--collisions", default=",".join(COLLISIONS), help="comma-separated collision policies")
    p.add_argument("--max-entities", type=positive_int, default=4, help="entities per training-style sample")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import unigs
    from unigs.palettes import coverage_table

    try:
        grids = [int(g) for g in args.grids.split(",") if g.strip()]
    except ValueError:
        p.error(f"--grids must be comma-separated integers, got {args.grids!r}")
    collisions = [c.strip() for c in args.collisions.split(",") if c.strip()]
    kwargs = {}
    if args.dataset == "coco":
        kwargs = {"root": args.data, "annotations": args.annotations}
    try:
        dataset = unigs.create("dataset", args.dataset, **kwargs)
        masks = [s.masks for s in dataset]
        results = {
            "all": coverage_table(masks, grids, collisions),
            "sampled": coverage_table(masks, grids, collisions, max_entities=args.max_entities, seed=args.seed),
        }
    except (LookupError, TypeError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(markdown_table(results, grids, collisions, args.max_entities, len(masks), sum(len(m) for m in masks)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
