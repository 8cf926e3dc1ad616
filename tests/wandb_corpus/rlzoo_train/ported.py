# Modeled on the wandb usage of https://github.com/DLR-RM/rl-baselines3-zoo/blob/22e3ff2450fd92033f7f032915e1f64894a09584/rl_zoo3/train.py @22e3ff2450fd92033f7f032915e1f64894a09584 (MIT licence); written for gitcfg's tests, no code copied.
# What it exercises: name, project, entity, group, tags and vars(args) as config at init with
# sync_tensorboard, monitor_gym and save_code; nothing logged (the metrics would come through
# TensorBoard). A fixed time and command line stand in for the real ones.
# argv: --track --wandb-group ablation -tags optimized pr-123 --seed 3

import argparse

LIBRARY_VERSION = "2.7.0"

if __name__ == "__main__":
    cli = argparse.ArgumentParser()
    cli.add_argument("--algo", default="ppo")
    cli.add_argument("--env", default="CartPole-v1")
    cli.add_argument("-tb", "--tensorboard-log", default="")
    cli.add_argument("-n", "--n-timesteps", type=int, default=-1)
    cli.add_argument("--eval-episodes", type=int, default=5)
    cli.add_argument("-f", "--log-folder", default="logs")
    cli.add_argument("--seed", type=int, default=-1)
    cli.add_argument("--device", default="auto")
    cli.add_argument("--study-name", default=None)
    cli.add_argument("--track", action="store_true", default=False)
    cli.add_argument("--wandb-project-name", default="sb3")
    cli.add_argument("--wandb-entity", default=None)
    cli.add_argument("--wandb-group", default=None)
    cli.add_argument("-tags", "--wandb-tags", nargs="+", default=[])
    opts = cli.parse_args()
    if opts.track:
        import gitcfg

        opts.command = "python train.py --track"
        label = "__".join([opts.env, opts.algo, str(opts.seed), "1700000000"])
        run = gitcfg.track(
            name=label,
            project=opts.wandb_project_name,
            entity=opts.wandb_entity,
            group=opts.wandb_group,
            tags=opts.wandb_tags + ["v" + LIBRARY_VERSION],
            config=vars(opts),
            sync_tensorboard=True,
            monitor_gym=True,
            save_code=True,
        )
        opts.tensorboard_log = "runs/" + label
        print(run.name)
