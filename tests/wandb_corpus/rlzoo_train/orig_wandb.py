# Source: https://github.com/DLR-RM/rl-baselines3-zoo/blob/22e3ff2450fd92033f7f032915e1f64894a09584/rl_zoo3/train.py
# Repository DLR-RM/rl-baselines3-zoo at commit 22e3ff2450fd92033f7f032915e1f64894a09584 (MIT licence).
# Shrunk: the arguments the wandb call uses (a subset of the parser), a fixed time in the run name
# instead of int(time.time()), a fixed sb3 version and command line (the source records
# sys.orig_argv, which names this file), no ExperimentManager: the metrics go through
# TensorBoard (sync_tensorboard=True), so nothing is logged here. The wandb calls are as in the source.
# argv: --track --wandb-group ablation -tags optimized pr-123 --seed 3

import argparse

SB3_VERSION = "2.7.0"  # stand-in for stable_baselines3.__version__


def train() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--algo", help="RL Algorithm", default="ppo", type=str, required=False)
    parser.add_argument("--env", type=str, default="CartPole-v1", help="environment ID")
    parser.add_argument("-tb", "--tensorboard-log", help="Tensorboard log dir", default="", type=str)
    parser.add_argument("-n", "--n-timesteps", help="Overwrite the number of timesteps", default=-1, type=int)
    parser.add_argument("--eval-episodes", help="Number of episodes to use for evaluation", default=5, type=int)
    parser.add_argument("-f", "--log-folder", help="Log folder", type=str, default="logs")
    parser.add_argument("--seed", help="Random generator seed", type=int, default=-1)
    parser.add_argument("--device", help="PyTorch device to be use (ex: cpu, cuda...)", default="auto", type=str)
    parser.add_argument("--study-name", help="Study name for distributed optimization", type=str, default=None)
    parser.add_argument(
        "--track",
        action="store_true",
        default=False,
        help="if toggled, this experiment will be tracked with Weights and Biases",
    )
    parser.add_argument("--wandb-project-name", type=str, default="sb3", help="the wandb's project name")
    parser.add_argument("--wandb-entity", type=str, default=None, help="the entity (team) of wandb's project")
    parser.add_argument("--wandb-group", type=str, default=None, help="the wandb's group name")
    parser.add_argument(
        "-tags", "--wandb-tags", type=str, default=[], nargs="+", help="Tags for wandb run, e.g.: -tags optimized pr-123"
    )
    args = parser.parse_args()

    if args.track:
        try:
            import wandb
        except ImportError as e:
            raise ImportError(
                "if you want to use Weights & Biases to track experiment, please install W&B via `pip install wandb`"
            ) from e

        # Save command used for training in wandb too
        args.command = "python train.py --track"
        run_name = f"{args.env}__{args.algo}__{args.seed}__{1700000000}"
        tags = [*args.wandb_tags, f"v{SB3_VERSION}"]
        run = wandb.init(
            name=run_name,
            project=args.wandb_project_name,
            entity=args.wandb_entity,
            group=args.wandb_group,
            tags=tags,
            config=vars(args),
            sync_tensorboard=True,  # auto-upload sb3's tensorboard metrics
            monitor_gym=True,  # auto-upload the videos of agents playing the game
            save_code=True,  # optional
        )
        args.tensorboard_log = f"runs/{run_name}"
        print(run.name)


if __name__ == "__main__":
    train()
