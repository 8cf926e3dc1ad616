"""wandb's integration module paths, so a script ported from wandb keeps its imports:
`from wandb.integration.xgboost import WandbCallback` becomes
`from gitcfg.integration.xgboost import WandbCallback` (docs/integrations.md, docs/wandb.md).

Each module here is a thin wandb-shaped front (wandb's names, arguments and metric keys) over the
module of the same framework in gitcfg.integrations; `import gitcfg` imports none of them.
"""
