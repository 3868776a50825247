"""``python -m unigs.show``: a picture of task examples built from a dataset.

    python -m unigs.show --dataset coco --root ../shared/data/coco2017_mini --task referring -n 6 --out grid.png
    python -m unigs.show --dataset procedural --size 128 --task all -n 8 --out procedural.png

Columns: image, coarse mask (sampled entities outlined in red), prompt, control, target colormap (palette
grid and entity centres drawn). ``--task all`` cycles through the four tasks.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from unigs.cli import non_negative_int, number, positive_int

TASKS = ("inpainting", "synthesis", "referring", "entity")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m unigs.show", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="coco", help="registered dataset name (coco, procedural, ...)")
    p.add_argument("--root", default=None, help="dataset root folder (coco; default: $UNIGS_DATA)")
    p.add_argument("--annotations", default=None, help="annotations JSON relative to --root (coco)")
    p.add_argument("--size", type=positive_int, default=None, help="scene size in pixels (procedural)")
    p.add_argument("--task", default="referring", help=f"one of {', '.join(TASKS)}, another registered task, or 'all'")
    p.add_argument("--palette", default="location-aware", help="registered palette name")
    p.add_argument("-n", type=positive_int, default=6, help="number of examples (rows)")
    p.add_argument("--start", type=non_negative_int, default=0, help="first dataset index")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval", action="store_true", help="evaluation sampling (3 entities, no negatives)")
    p.add_argument("--cell", type=number(int, 32), default=192, help="tile size in pixels")
    p.add_argument("--out", required=True, help="output PNG path")
    args = p.parse_args(argv)

    import unigs
    from unigs.render import render_examples

    kwargs = {}
    if args.root is not None:
        kwargs["root"] = args.root
    if args.annotations is not None:
        kwargs["annotations"] = args.annotations
    if args.size is not None:
        kwargs["size"] = args.size
    try:
        dataset = unigs.create("dataset", args.dataset, **kwargs)
        palette = unigs.create("palette", args.palette)
        names = list(TASKS) if args.task == "all" else [args.task]
        tasks = [unigs.create("task", n) for n in names]
    except (LookupError, TypeError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if len(dataset) == 0:
        print("error: the dataset is empty", file=sys.stderr)
        return 2
    if args.start >= len(dataset):
        print(f"error: --start {args.start} is past the dataset's last index {len(dataset) - 1}", file=sys.stderr)
        return 2
    examples = []
    for k in range(args.n):
        i = (args.start + k) % len(dataset)  # more rows than images after --start: wrap to the first ones
        rng = np.random.default_rng([args.seed, i, k])
        task = tasks[k % len(tasks)]
        examples.append(task.build(dataset[i], palette=palette, rng=rng, train=not args.eval,
                                   vocabulary=dataset.categories))
    render_examples(examples, palette=palette, cell=args.cell).save(args.out)
    print(f"wrote {args.out} ({len(examples)} examples, task {args.task}, dataset {args.dataset})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
