"""What PPO (trainers/ppo.py) and GRPO (trainers/grpo.py) share: the fields of an RL run.

Both trainers start from the same base and adapter, roll episodes out in DebugEnv through
``run_episode`` with the same budgets and sampling, and save the same kind of resumable output, so
those fields (and their checks, and so their `agent train ppo|grpo` options) are written once, here.
Kept free of heavy imports: the CLI reads it to build its options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandboxes.config import SandboxConfig


@dataclass(frozen=True)
class RLConfig:
    model: str
    """Base model: a hub id or a local directory."""
    tasks: str
    """Training tasks: a task directory or a suite of them."""
    output_dir: str
    """Where checkpoints, rollouts, tensorboard logs and the final adapter go."""
    adapter: str | None = None
    """Starting LoRA adapter (the SFT output); None starts a fresh one."""
    load_4bit: bool = field(default=True, metadata={"flag": "--4bit/--no-4bit"})
    """Load the base in 4 bits (NF4, double quantization)."""
    num_envs: int = 2
    """Episodes run at once, each in its own sandbox."""
    sandbox: SandboxConfig = field(default_factory=lambda: SandboxConfig("local"))
    """Where episodes run (--sandbox docker|local|auto, --image)."""
    max_steps: int = 8
    """Step budget per episode (then the episode is truncated)."""
    time_budget_s: float = 300.0
    """Wall-clock budget per episode."""
    max_new_tokens: int = 256
    """Most tokens per action."""
    temperature: float = 1.0
    """Sampling temperature of rollouts (log-probs are taken at this temperature)."""
    learning_rate: float = 1e-4
    """AdamW learning rate of the trained weights (the adapter; PPO's value head too)."""
    max_grad_norm: float = 1.0
    """Gradient-norm clipping."""
    lora_r: int = 16
    """LoRA rank of a fresh adapter (ignored when --adapter is given)."""
    lora_alpha: int = 32
    """LoRA alpha of a fresh adapter."""
    seed: int = 0
    """Seed for task order, sampling and initialisation."""
    save_every: int = 1
    """Save a resumable checkpoint every this many iterations (PPO) or steps (GRPO)."""
    resume: bool = True
    """Resume from the latest checkpoint in output_dir when there is one."""

    def __post_init__(self) -> None:
        for name in ("num_envs", "max_steps", "max_new_tokens", "save_every", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("learning_rate", "temperature", "time_budget_s", "max_grad_norm"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
