"""`from wandb.integration.keras import WandbMetricsLogger` ported mechanically:
`from gitcfg.integration.keras import WandbMetricsLogger` (see gitcfg.integrations.keras)."""

from __future__ import annotations

from gitcfg.integrations.keras import (
    GitcfgCallback,
    WandbCallback,
    WandbMetricsLogger,
    WandbModelCheckpoint,
)

__all__ = ["GitcfgCallback", "WandbCallback", "WandbMetricsLogger", "WandbModelCheckpoint"]
