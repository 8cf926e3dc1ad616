# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/api-examples/group-and-resume/eval.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: group and job_type at init, config.update(dict) and a config attribute, one log
# with a slash key.
# argv: --group_id exp-42 --epoch 3

import argparse
import random

import gitcfg

cli = argparse.ArgumentParser(description="toy evaluator")
cli.add_argument("--group_id", type=str, default=None)
cli.add_argument("--epoch", type=int, default=0)
cli.add_argument("--phase_shift", type=int, default=14)

if __name__ == "__main__":
    dice = random.Random(0)
    opts = cli.parse_args()
    if opts.group_id is None:
        raise SystemExit("--group_id is required")
    gitcfg.track(group=opts.group_id, job_type="eval")
    gitcfg.config.update({"phase_shift": opts.phase_shift})
    gitcfg.config.job_type = "eval"
    base = 10 / (opts.epoch + 1)
    value = base * (1 + 0.5 * (dice.random() - 0.5))
    gitcfg.log({"epoch": opts.epoch, "loss": value, "eval/acc": 1 - value / 100 - 0.05})
