"""`gitcfg.keras`: wandb's Keras callbacks under wandb's names, so a ported script keeps working
(`from wandb.keras import WandbCallback` -> `from gitcfg.keras import WandbCallback`).

Importing it imports keras (never tensorflow); `import gitcfg` does not import it. The callbacks
are gitcfg.integrations.keras's (docs/integrations.md).
"""

from __future__ import annotations

from gitcfg.integrations.keras import (
    GitcfgCallback,
    WandbCallback,
    WandbMetricsLogger,
    WandbModelCheckpoint,
)

__all__ = ["GitcfgCallback", "WandbCallback", "WandbMetricsLogger", "WandbModelCheckpoint"]
