# Modeled on the wandb usage of https://github.com/vwxyzjn/cleanrl/blob/fe8d8a03c41a7ef5b523e2e354bd01c363e786bb/cleanrl/ppo.py @fe8d8a03c41a7ef5b523e2e354bd01c363e786bb (MIT licence); written for gitcfg's tests, no code copied.
# What it exercises: vars() of a settings dataclass (with derived sizes filled in) as config, and
# project, entity, name, sync_tensorboard, monitor_gym and save_code at init. Nothing is logged:
# the metrics would come through TensorBoard.

from dataclasses import dataclass, fields


@dataclass
class Settings:
    exp_name: str = "ppo"
    seed: int = 1
    torch_deterministic: bool = True
    cuda: bool = True
    track: bool = True
    wandb_project_name: str = "cleanRL"
    wandb_entity: str = None
    capture_video: bool = False
    env_id: str = "CartPole-v1"
    total_timesteps: int = 500000
    learning_rate: float = 2.5e-4
    num_envs: int = 4
    num_steps: int = 128
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    norm_adv: bool = True
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float = None
    batch_size: int = 0
    minibatch_size: int = 0
    num_iterations: int = 0


if __name__ == "__main__":
    s = Settings()
    s.batch_size = s.num_envs * s.num_steps
    s.minibatch_size = s.batch_size // s.num_minibatches
    s.num_iterations = s.total_timesteps // s.batch_size
    label = f"{s.env_id}__{s.exp_name}__{s.seed}__1700000000"
    if s.track:
        import wandb

        wandb.init(
            project=s.wandb_project_name,
            entity=s.wandb_entity,
            sync_tensorboard=True,
            config=vars(s),
            name=label,
            monitor_gym=True,
            save_code=True,
        )
    print(len(fields(s)), "settings recorded for", label)
