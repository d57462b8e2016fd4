"""python -m helpers.stages pt|sft|... --run-dir DIR [--max-steps N] [--batch-size B] [--max-length L]
[--profile tiny|t4|ampere|rehearsal]

Under `torchrun --nproc_per_node N -m helpers.stages ...` (or `accelerate launch -m helpers.stages ...`) the N
processes join one process group first (helpers.env.distributed); --batch-size is then per process."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import REGISTRY, stage_class


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.stages", description=__doc__)
    parser.add_argument("stage", choices=list(REGISTRY))
    parser.add_argument("--run-dir", help="run directory shared by the stages (default: WORKBOOK_RUN_DIR or ./runs/default)")
    parser.add_argument("--max-steps", type=int, help="override the profile's number of training steps")
    parser.add_argument("--batch-size", type=int,
                        help="override the profile's per-device batch size (PPO: prompts per step and process)")
    parser.add_argument("--max-length", type=int, help="override the profile's max_length (PPO: new tokens)")
    parser.add_argument("--seed", type=int, default=42, help="training and sampling seed (default 42)")
    parser.add_argument("--profile", help="cpu | tiny | t4 | ampere | rehearsal (default: WORKBOOK_PROFILE or detected)")
    args = parser.parse_args(argv)
    from ..env.distributed import init_from_env, is_main, shutdown
    from ..env.profiles import get_profile
    from ..env.quiet import quiet_libraries

    quiet_libraries()  # as the notebooks' setup cell does: no library-internal FutureWarnings or log lines

    init_from_env()  # torchrun: one process group (the Trainer would make it too; our PPO needs it)
    length = {"max_new_tokens" if args.stage == "ppo" else "max_length": args.max_length}  # PPO's length: new tokens
    stage = stage_class(args.stage)(root=args.run_dir, profile=get_profile(args.profile), max_steps=args.max_steps,
                                    batch_size=args.batch_size, seed=args.seed, **length)
    before = os.environ.get("WORKBOOK_RUN_DIR")
    os.environ["WORKBOOK_RUN_DIR"] = str(stage.root)  # paths printed and saved as <run>/..., not as this machine's
    try:
        metrics = stage.run()
        if is_main():
            print(json.dumps(metrics, indent=2, ensure_ascii=False, default=str))
    finally:  # called in-process (tests, a notebook): the caller's environment is left as it was
        if before is None:
            os.environ.pop("WORKBOOK_RUN_DIR", None)
        else:
            os.environ["WORKBOOK_RUN_DIR"] = before
        shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
