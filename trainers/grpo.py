"""GRPO with TRL's own GRPOTrainer over DebugEnv: a cross-check of trainers/ppo.py.

GRPO (Shao et al. 2024) samples a group of completions per prompt and uses each one's reward less
the group's mean (divided by the group's spread, ``scale_rewards``) as the advantage of all its
tokens; no value head. Here a prompt is a task and a completion is a whole episode:

- Seam. TRL 1.16's GRPOTrainer has two multi-turn seams. ``environment_factory`` exposes an
  environment's methods as *tools*: the model must speak the chat template's tool-call format,
  the trainer runs its own generate / parse / call loop (``_tool_call_loop``), and it refuses
  tokenizers whose template cannot render tool calls (``supports_tool_calling``). Our actions are
  fenced blocks parsed by the env, and the loop is ``run_episode``, so that seam would mean a
  second action format and a second loop. ``rollout_func(prompts, trainer) -> dict`` hands the
  whole rollout to us: it must return ``prompt_ids``, ``completion_ids`` and ``logprobs`` per
  prompt, may return ``env_mask`` (1 on model tokens, 0 on tokens the environment wrote; the
  trainer multiplies it into the loss mask, ``_generate``), and every other key is passed to the
  reward functions. That is the seam used.
- Rollout. Each prompt (a task id, repeated ``num_generations`` times by TRL's sampler) is one
  episode of ``run_episode`` in its own DebugEnv, ``num_envs`` at a time in threads. The model
  acts through ``SequencePolicy``, the PPO trainer's ``HFPolicy`` with one change: its prompts grow
  as one token sequence (the previous prompt, the tokens it sampled, the chat template's rendering
  of the environment's answer), the way TRL's own tool loop extends its sequences
  (``_get_tool_suffix_ids``). So the episode is one completion whose model tokens are exactly
  the ones sampled, in exactly the context they were sampled in, and the observations are masked
  out. Unlike ``HFPolicy`` at inference, older observations are not trimmed to a character budget;
  an observation that would overflow ``max_episode_tokens`` is cut instead.
- Reward. The environment's own: the sum of the episode's step rewards (format penalties, and the
  test-pass score on the last step). An episode whose policy failed is unscorable (None: TRL
  leaves it out of its group's baseline and gives it no advantage); so, with ``mask_truncated``,
  is one cut by the step or time budget, whose score PPO withholds too.
- Model. The frozen base (4-bit NF4 where bitsandbytes allows) with the SFT adapter trainable, or a
  fresh LoRA, exactly as PPO loads it (``trainers.ppo.load_lora_model``). With ``beta`` > 0 TRL
  keeps a frozen copy of the starting adapter as the KL reference. The output directory is an
  adapter with its tokenizer, loaded as PPO's is (``agent fix --policy hf --adapter DIR``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from agent.policies.hf import Generation, HFPolicy
from trainers.rl import RLConfig

log = logging.getLogger("debug_agent.trainers.grpo")

LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo")
SCALE_REWARDS = ("group", "batch", "none")
CUT = "\n[cut: the episode's token budget is spent]"


@dataclass(frozen=True)
class GRPOConfig(RLConfig):
    """A GRPO run: RLConfig's fields (base, adapter, tasks, budgets, sampling) and GRPO's own."""

    steps: int = 10
    """GRPO optimizer steps; each one samples fresh groups."""
    num_generations: int = 4
    """Group size: episodes of each task per step, whose returns are compared with each other."""
    tasks_per_step: int = 1
    """Tasks per step, each with its own group."""
    max_episode_tokens: int = 4096
    """Token budget of an episode's sequence: prompt, actions and observations."""
    beta: float = 0.05
    """KL coefficient to the reference policy (the starting adapter; the base for a fresh one)."""
    epsilon: float = 0.2
    """Clipping range for the probability ratio."""
    loss_type: str = "dapo"
    """TRL's loss aggregation: grpo, dr_grpo, dapo, bnpo, cispo or sapo."""
    scale_rewards: str = "group"
    """Advantage scaling: group (by the group's std), batch, or none (Dr. GRPO)."""
    mask_truncated: bool = False
    """Leave episodes cut by the step or time budget unscored (out of the baseline and the loss)."""
    grpo_args: dict[str, Any] = field(default_factory=dict)
    """Any other `trl.GRPOConfig` field, passed through as is."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("steps", "tasks_per_step"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.num_generations < 2:
            raise ValueError(f"num_generations must be at least 2 (a group compares its episodes),"
                             f" got {self.num_generations}")
        if self.epsilon <= 0:
            raise ValueError(f"epsilon must be positive, got {self.epsilon}")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if self.max_episode_tokens < self.max_new_tokens + 64:
            raise ValueError(f"max_episode_tokens ({self.max_episode_tokens}) must leave room for "
                             f"a prompt beside max_new_tokens ({self.max_new_tokens}): raise it")
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {', '.join(LOSS_TYPES)}, "
                             f"got {self.loss_type!r}")
        if self.scale_rewards not in SCALE_REWARDS:
            raise ValueError(f"scale_rewards must be one of {', '.join(SCALE_REWARDS)}, "
                             f"got {self.scale_rewards!r}")

    def trl_config(self, use_cuda: bool):
        """TRL's GRPOConfig for this run: one generation batch (every group) per optimizer step."""
        import trl

        unknown = sorted(set(self.grpo_args) - {f.name for f in dataclasses.fields(trl.GRPOConfig)})
        if unknown:
            from sandboxes.errors import UsageError

            raise UsageError(f"--grpo-arg: {', '.join(unknown)} is not a trl.GRPOConfig field")
        bf16 = False
        if use_cuda:
            import torch

            bf16 = torch.cuda.is_bf16_supported()
        kwargs: dict[str, Any] = dict(
            output_dir=self.output_dir,
            max_steps=self.steps,
            # A micro-batch is one task's group; one optimizer step accumulates every group.
            per_device_train_batch_size=self.num_generations,
            gradient_accumulation_steps=self.tasks_per_step,
            num_generations=self.num_generations,
            max_completion_length=self.max_episode_tokens,
            temperature=self.temperature,  # the trainer's log-probs divide the logits by it
            learning_rate=self.learning_rate,
            lr_scheduler_type="constant",
            beta=self.beta,
            epsilon=self.epsilon,
            loss_type=self.loss_type,
            scale_rewards=self.scale_rewards,
            max_grad_norm=self.max_grad_norm,
            seed=self.seed,
            disable_dropout=True,  # sampling and scoring see one policy, as in PPO
            activation_checkpointing=False,
            logging_steps=1,
            save_steps=self.save_every,
            report_to=["tensorboard"],
            use_cpu=not use_cuda,  # TRL defaults to bf16, which a CPU run must not use
            bf16=bf16,
            optim="adamw_torch",
            dataloader_pin_memory=use_cuda,
        )
        kwargs.update(self.grpo_args)
        return trl.GRPOConfig(**kwargs)


# -- one token sequence per episode -----------------------------------------------------------


class EpisodeTokensSpent(RuntimeError):
    """The episode's sequence has no room left for the next prompt and action."""


def turn_suffix_ids(tokenizer, messages: list[dict]) -> list[int]:
    """The tokens after an assistant turn's end-of-turn token up to the next generation prompt,
    with ``messages`` (the environment's answer) rendered by the chat template in between.

    Found as TRL finds a tool result's (``GRPOTrainer._get_tool_suffix_ids``): render a dummy
    exchange with and without them and keep the difference, cut at the end-of-turn token.
    """
    dummy = [{"role": "user", "content": "dummy"}, {"role": "assistant", "content": "dummy"}]

    def render(conversation: list[dict], generation_prompt: bool) -> list[int]:
        return list(tokenizer.apply_chat_template(
            conversation, tokenize=True, add_generation_prompt=generation_prompt,
            return_dict=True)["input_ids"])

    prefix = render(dummy, False)
    eos = [i for i, t in enumerate(prefix) if t == tokenizer.eos_token_id]
    if eos:
        prefix = prefix[: eos[-1] + 1]
    full = render(dummy + messages, True)
    if full[: len(prefix)] != prefix:
        raise ValueError("the chat template renders an assistant turn differently when more "
                         "messages follow it; an episode cannot be kept as one token sequence")
    return full[len(prefix):]


def observation_ids(tokenizer, messages: list[dict], room: int) -> list[int]:
    """``turn_suffix_ids``, the last message's text cut (and marked) until it fits ``room``."""
    ids = turn_suffix_ids(tokenizer, messages)
    content = messages[-1]["content"]
    for _ in range(8):
        if len(ids) <= room:
            return ids
        if not content:
            break
        content = content[: max(0, len(content) * room // len(ids) - 16)]
        ids = turn_suffix_ids(tokenizer, messages[:-1] + [{**messages[-1],
                                                            "content": content + CUT}])
    if len(ids) <= room:
        return ids
    raise EpisodeTokensSpent(f"the episode's sequence is full: the next observation needs "
                             f"{len(ids)} tokens, {room} are left (raise --max-episode-tokens)")


class SequencePolicy(HFPolicy):
    """``HFPolicy`` whose prompts in an episode extend one token sequence.

    The first prompt is ``HFPolicy``'s own rendering; each later one is the previous prompt, the
    tokens the model sampled (plus the end-of-turn token where it ran out of tokens first) and
    ``observation_ids`` of what the loop appended since. Build one per episode
    (``SequencePolicy.from_model``) with ``record=True``.
    """

    def start_episode(self, task, workspace) -> None:
        super().start_episode(task, workspace)
        self.generations = []
        self._seen = 0

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        if not self.generations:
            ids = super().prompt_ids(messages)
        else:
            last = self.generations[-1]
            if messages[self._seen]["role"] != "assistant":
                raise ValueError("the loop's messages do not continue the episode with the "
                                 "policy's action")
            ids = last.prompt_ids + last.response_ids
            if last.response_ids[-1:] != [self.tokenizer.eos_token_id]:
                ids.append(self.tokenizer.eos_token_id)
            ids += observation_ids(self.tokenizer, messages[self._seen + 1:],
                                   self.max_prompt_tokens - len(ids))
        self._seen = len(messages)
        return ids


def episode_row(generations: list[Generation], eos_id: int
                ) -> tuple[list[int], list[int], list[int], list[float]]:
    """(prompt_ids, completion_ids, env_mask, logprobs): an episode as one GRPO completion.

    Each generation's prompt must extend the sequence so far (``SequencePolicy`` guarantees it);
    what it adds is the environment's (mask 0), the response is the model's (mask 1). An episode
    without a generation becomes one masked end-of-turn token.
    """
    if not generations:
        return [eos_id], [eos_id], [0], [0.0]
    prompt = generations[0].prompt_ids
    completion: list[int] = []
    mask: list[int] = []
    logprobs: list[float] = []
    for k, g in enumerate(generations):
        context = prompt + completion
        if g.prompt_ids[: len(context)] != context:
            raise ValueError(f"generation {k}'s prompt does not extend the episode's sequence; "
                             "roll out with SequencePolicy")
        env = g.prompt_ids[len(context):]
        completion += env + g.response_ids
        mask += [0] * len(env) + [1] * len(g.response_ids)
        logprobs += [0.0] * len(env) + list(g.logprobs)
    return list(prompt), completion, mask, logprobs


# -- rollouts: TRL's rollout_func -------------------------------------------------------------


@dataclass
class EpisodeOutcome:
    row: tuple[list[int], list[int], list[int], list[float]]
    env_return: float | None
    """The sum of the env's step rewards; None when the episode is not to be scored."""
    resolved: bool
    truncated: bool
    steps: int


class EpisodeRollout:
    """``rollout_func`` for GRPOTrainer: each prompt (a task id) is one episode in DebugEnv."""

    def __init__(self, config: GRPOConfig, model, tokenizer, tasks: list) -> None:
        from agent.policies.hf import GenerationSettings
        from envs.env import EnvConfig

        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.tasks = {t.id: t for t in tasks}
        self.env_config = EnvConfig(sandbox=config.sandbox, max_steps=config.max_steps,
                                    time_budget_s=config.time_budget_s)
        self.settings = GenerationSettings(
            max_new_tokens=config.max_new_tokens, temperature=config.temperature, top_p=1.0,
            do_sample=True, max_context_chars=10**9,  # the token budget bounds the sequence
            max_prompt_tokens=config.max_episode_tokens - config.max_new_tokens)
        self.lock = threading.Lock()
        self.rollout_dir = Path(config.output_dir) / "rollouts"

    def __call__(self, prompts: list[str], trainer) -> dict[str, list]:
        step = trainer.state.global_step + 1
        with ThreadPoolExecutor(max_workers=self.config.num_envs) as pool:
            futures = [pool.submit(self.episode, self.tasks[task_id], step, k)
                       for k, task_id in enumerate(prompts)]
            outcomes = [f.result() for f in futures]
        prompt_ids, completion_ids, env_mask, logprobs = (list(x) for x in
                                                          zip(*(o.row for o in outcomes)))
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs,
                "env_mask": env_mask,
                "env_return": [o.env_return for o in outcomes],
                "resolved": [o.resolved for o in outcomes],
                "truncated": [o.truncated for o in outcomes],
                "episode_steps": [o.steps for o in outcomes]}

    def episode(self, task, step: int, k: int) -> EpisodeOutcome:
        from agent.loop import run_episode
        from agent.trajectory import ExitStatus
        from envs.env import DebugEnv

        policy = SequencePolicy.from_model(
            self.model, self.tokenizer, self.settings, record=True, lock=self.lock,
            name="hf:grpo", seed=self.config.seed * 100_000 + step * 1000 + k)
        rewards: list[float] = []
        with DebugEnv(self.env_config, tasks=[task]) as env:
            result = run_episode(policy, env, task=task, on_step=lambda s: rewards.append(s.reward),
                                 trajectory_path=self.rollout_dir / f"step-{step}"
                                 / f"{k}-{task.id}.json")
        scored = result.exit_status != ExitStatus.ERROR and not (
            self.config.mask_truncated and result.truncated)
        return EpisodeOutcome(episode_row(policy.generations, self.tokenizer.eos_token_id),
                              sum(rewards) if scored else None, result.resolved,
                              result.truncated, result.steps)


def env_return(prompts, completions, env_return, resolved, truncated, episode_steps,
               log_metric=None, **kwargs) -> list[float | None]:
    """GRPO's reward: each episode's return in the environment, as the rollout measured it."""
    if log_metric is not None:
        n = len(resolved)
        log_metric("rollout/resolve_rate", sum(resolved) / n)
        log_metric("rollout/truncated_rate", sum(truncated) / n)
        log_metric("rollout/episode_length", sum(episode_steps) / n)
        log_metric("rollout/unscored", sum(r is None for r in env_return) / n)
    return list(env_return)


# -- the run ----------------------------------------------------------------------------------


@dataclass
class GRPOResult:
    adapter_dir: str
    steps: int
    history: list[dict[str, float]]
    """TRL's logged metrics of each step (reward, reward_std, kl, loss, rollout/...)."""


def run_grpo(config: GRPOConfig, log_fn: Callable[[int, dict[str, float]], None] | None = None,
             ) -> GRPOResult:
    """Train with TRL's GRPOTrainer; the adapter (and its tokenizer) is saved in output_dir."""
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from transformers.trainer_utils import get_last_checkpoint
    from trl import GRPOTrainer

    from agent.policies.hf import disable_cpu_repacking
    from envs.task import load_suite
    from sandboxes.errors import UsageError
    from trainers.ppo import load_lora_model

    tasks = load_suite(config.tasks)
    if len({t.id for t in tasks}) < len(tasks):
        raise UsageError(f"{config.tasks}: task ids repeat; GRPO names each task's group by its id")
    if len(tasks) < config.tasks_per_step:
        raise UsageError(f"tasks_per_step is {config.tasks_per_step} but {config.tasks} has "
                         f"{len(tasks)} tasks; lower --tasks-per-step")
    use_cuda = torch.cuda.is_available()
    args = config.trl_config(use_cuda)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, tokenizer = load_lora_model(config.model, config.adapter, config.load_4bit,
                                       config.lora_r, config.lora_alpha)
    history: list[dict[str, float]] = []

    class Record(TrainerCallback):
        def on_log(self, _args, state, _control, logs=None, **kwargs):
            if logs and "reward" in logs:
                history.append({"step": state.global_step, **logs})
                if log_fn is not None:
                    log_fn(state.global_step, logs)

    with warnings.catch_warnings():  # TRL flags rollout_func as experimental; this file pins it
        warnings.filterwarnings("ignore", message=".*rollout_func.*")
        trainer = GRPOTrainer(
            model=model, reward_funcs=[env_return], args=args,
            train_dataset=Dataset.from_list([{"prompt": t.id} for t in tasks]),
            processing_class=tokenizer, callbacks=[Record()],
            rollout_func=EpisodeRollout(config, model, tokenizer, tasks))
    disable_cpu_repacking(trainer.model)  # the reference copy TRL added has 4-bit layers too
    if config.load_4bit and not use_cuda:
        restore_cpu_dtype(trainer.model)
    resume_from = get_last_checkpoint(str(out)) if config.resume else None
    log.info("GRPO on %d tasks, groups of %d, %s base, %s%s", len(tasks), config.num_generations,
             "4-bit" if config.load_4bit else "full-precision", "cuda" if use_cuda else "cpu",
             f", resuming from {resume_from}" if resume_from else "")
    trainer.train(resume_from_checkpoint=resume_from)
    model.save_pretrained(out, selected_adapters=["default"])
    tokenizer.save_pretrained(out)
    return GRPOResult(adapter_dir=str(out), steps=trainer.state.global_step, history=history)


def restore_cpu_dtype(model) -> int:
    """Put back in float32 the trainable weights that GRPOTrainer cast to bfloat16 for QLoRA.

    TRL casts every trainable parameter of a quantized model to bf16; on CPU the 4-bit base
    computes in float32, so a trained output layer or norm (an SFT adapter's
    ``modules_to_save``) then fails every forward ("expected m1 and m2 to have the same dtype");
    LoRA layers cast their input and only slow down. Float32, as PPO trains them. Returns the
    number of tensors changed. Call before training: the optimizer is made then.
    """
    import torch

    n = 0
    for param in model.parameters():
        if param.requires_grad and param.dtype == torch.bfloat16:
            param.data = param.data.float()
            n += 1
    return n


def format_metrics(step: int, metrics: dict[str, float]) -> str:
    """One console line: the step and TRL's headline metrics."""
    names = ("reward", "reward_std", "rollout/resolve_rate", "rollout/truncated_rate", "kl",
             "loss", "entropy", "completions/mean_length")
    return f"step {step}: " + " ".join(f"{n.split('/')[-1]}={metrics[n]:.4g}" for n in names
                                       if isinstance(metrics.get(n), (int, float)))
