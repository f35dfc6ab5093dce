"""PPO on test-pass rewards, in one file read top to bottom (CleanRL's manner; trl 1.16 has none).

Each iteration:

1. Rollouts. ``episodes_per_iter`` episodes of the policy in ``DebugEnv``, through ``run_episode``,
   the loop that ``agent fix`` uses. ``num_envs`` run at once in threads, each with its own sandbox;
   generation takes turns behind one lock. Every assistant turn is an action: its prompt ids and
   sampled token ids are recorded by ``HFPolicy`` and its reward is the env's step reward (format
   penalties, and on the last step the test-pass score), plus ``no_stop_penalty`` when the model
   ran out of tokens before ending its turn.
2. Scoring, without gradients. For each turn: token log-probs and values under the policy (the LoRA
   adapter on the 4-bit base, value head on the last hidden state) and log-probs under the
   reference policy: with ``reference="base"`` the same model with the adapter disabled; with
   ``reference="adapter"`` a frozen copy of the starting (SFT) adapter, loaded as a second PEFT
   adapter on the same base and switched in for scoring (InstructGPT's KL to the SFT policy, at
   the memory cost of one more adapter rather than one more model). Per-token reward
   ``-kl_coef * (logp - logp_ref)`` (Ziegler et al. 2019), plus each turn's reward on its
   last token.
3. Advantages. GAE (Schulman et al. 2016) over the tokens of an episode, all turns in a row;
   or, with ``baseline="group"``, one advantage for every token of an episode: its return less
   the mean return of the other samples of the same task in the batch (RLOO, Kool et al. 2019,
   Ahmadian et al. 2024), which needs ``samples_per_task`` >= 2 and gives no push at all to
   tasks whose samples all fail (or all succeed): with a sparse test-pass reward and a value
   head that starts from nothing, that is the cleaner signal. The value head is trained either way.
   Truncated episodes (step or time budget) are not failures: their final score is withheld and
   the return after the last token is bootstrapped from the value of the state the episode was cut
   in (partial-episode bootstrapping, Pardo et al. 2018) rather than taken as 0. Episodes whose
   policy crashed are dropped.
4. Update. ``update_epochs`` passes over minibatches of turns: the clipped surrogate objective and
   the clipped value loss (Schulman et al. 2017), an optional entropy bonus, gradient clipping.
   Dropout is off throughout (eval mode), so the log-probs of steps 2 and 4 agree before the first
   update.

Metrics go to tensorboard and the console under charts/ and losses/; checkpoints (adapter with
``save_pretrained``, value head, optimizer, iteration) go to ``output_dir/checkpoint-N``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from trainers.rl import RLConfig

log = logging.getLogger("debug_agent.trainers.ppo")


@dataclass(frozen=True)
class PPOConfig(RLConfig):
    """A PPO run: RLConfig's fields (base, adapter, tasks, budgets, sampling) and PPO's own."""

    iterations: int = 10
    """PPO iterations (rollouts + update)."""
    episodes_per_iter: int = 8
    """Episodes collected per iteration."""
    samples_per_task: int = 1
    """Episodes of each task in an iteration (several samples of one task contrast each other)."""
    max_context_chars: int = 8000
    """Character budget of the prompt (fit_messages)."""
    update_epochs: int = 2
    """Passes over each batch of rollouts."""
    minibatch_size: int = 4
    """Turns per gradient step."""
    gamma: float = 1.0
    """Discount per token."""
    gae_lambda: float = 1.0
    """GAE lambda per token (1.0: Monte-Carlo returns less the value baseline)."""
    clip_coef: float = 0.2
    """PPO clipping range for the probability ratio."""
    vf_clip_coef: float = 0.2
    """Clipping range for the value update (0 disables value clipping)."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    kl_coef: float = 0.05
    """Per-token KL penalty to the reference policy."""
    reference: str = "base"
    """KL reference: base (the adapter disabled) or adapter (a frozen copy of --adapter)."""
    baseline: str = "value"
    """Advantage baseline: value (GAE on the value head) or group (RLOO over a task's samples)."""
    norm_adv: bool = True
    """Normalize advantages over the batch."""
    no_stop_penalty: float = -0.1
    """Reward added to a turn that ran out of tokens before its end-of-turn token."""
    value_through_backbone: bool = False
    """Let the value loss train the adapter too; default: the head reads detached features."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("iterations", "episodes_per_iter", "samples_per_task", "update_epochs",
                     "minibatch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.episodes_per_iter % self.samples_per_task:
            raise ValueError(f"episodes_per_iter ({self.episodes_per_iter}) must be a multiple of "
                             f"samples_per_task ({self.samples_per_task})")
        if self.clip_coef <= 0:
            raise ValueError(f"clip_coef must be positive, got {self.clip_coef}")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.kl_coef < 0 or self.vf_coef < 0 or self.ent_coef < 0 or self.vf_clip_coef < 0:
            raise ValueError(
                "kl_coef, vf_coef, ent_coef and vf_clip_coef must be >= 0, got "
                f"{self.kl_coef}, {self.vf_coef}, {self.ent_coef}, {self.vf_clip_coef}")
        if self.baseline not in ("value", "group"):
            raise ValueError(f"baseline must be value or group, got {self.baseline!r}")
        if self.baseline == "group" and self.samples_per_task < 2:
            raise ValueError("baseline=group needs samples_per_task >= 2 to compare samples")
        if self.reference not in ("base", "adapter"):
            raise ValueError(f"reference must be base or adapter, got {self.reference!r}")
        if self.reference == "adapter" and not self.adapter:
            raise ValueError("reference=adapter needs an adapter to start from (--adapter)")


# -- the maths, on plain tensors ----------------------------------------------------------------


def gae(rewards, values, last_value: float = 0.0, gamma: float = 1.0, lam: float = 0.95):
    """Generalized advantage estimation over one episode (Schulman et al. 2016, eq. 16).

    ``rewards[t]`` and ``values[t]`` for t = 0..T-1; ``last_value`` is V(s_T): 0 for an episode that
    ended, the bootstrap for one that was cut short. Returns (advantages, returns = adv + values).
    """
    import torch

    advantages = torch.zeros_like(rewards)
    next_value, running = float(last_value), 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
        next_value = values[t]
    return advantages, advantages + values


def leave_one_out(returns: list[float], groups: list) -> list[float]:
    """Each return less the mean return of the other members of its group; 0 alone in a group."""
    totals: dict = {}
    for r, g in zip(returns, groups):
        n, total = totals.get(g, (0, 0.0))
        totals[g] = (n + 1, total + r)
    out = []
    for r, g in zip(returns, groups):
        n, total = totals[g]
        out.append(0.0 if n == 1 else r - (total - r) / (n - 1))
    return out


def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum().clamp(min=1)


def policy_loss(logprobs, old_logprobs, advantages, mask, clip_coef: float):
    """The clipped surrogate objective, negated to a loss (Schulman et al. 2017, eq. 7).

    Returns (loss, approx_kl, clipfrac); approx_kl is the low-variance estimator E[(r-1) - log r].
    """
    import torch

    log_ratio = logprobs - old_logprobs
    ratio = log_ratio.exp()
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
    loss = masked_mean(torch.max(unclipped, clipped), mask)
    with torch.no_grad():
        approx_kl = masked_mean((ratio - 1) - log_ratio, mask)
        clipfrac = masked_mean(((ratio - 1).abs() > clip_coef).float(), mask)
    return loss, approx_kl, clipfrac


def value_loss(values, old_values, returns, mask, clip_coef: float):
    """0.5 * max((V - R)^2, (V_clipped - R)^2), V_clipped kept within clip_coef of the old value."""
    import torch

    unclipped = (values - returns) ** 2
    if clip_coef <= 0:
        return 0.5 * masked_mean(unclipped, mask)
    clipped_values = old_values + torch.clamp(values - old_values, -clip_coef, clip_coef)
    clipped = (clipped_values - returns) ** 2
    return 0.5 * masked_mean(torch.max(unclipped, clipped), mask)


def explained_variance(predicted, target) -> float:
    """1 - Var[target - predicted] / Var[target]: 1 is perfect, 0 no better than a constant."""
    var = float(target.var()) if target.numel() > 1 else 0.0
    return float("nan") if var == 0 else 1.0 - float((target - predicted).var()) / var


# -- rollouts ---------------------------------------------------------------------------------


@dataclass
class Turn:
    prompt_ids: list[int]
    response_ids: list[int]
    reward: float = 0.0
    # Filled in by scoring:
    logprobs: Any = None
    ref_logprobs: Any = None
    values: Any = None
    advantages: Any = None
    returns: Any = None


@dataclass
class Episode:
    task_id: str
    turns: list[Turn]
    result: Any
    """The EpisodeResult."""
    final_prompt_ids: list[int] | None = None
    """The prompt the policy would have seen next: the state a truncated episode was cut in."""


def run_rollout(policy_factory: Callable[[], Any], task, env_config, trajectory_path=None,
                no_stop_penalty: float = 0.0) -> Episode:
    """One episode; each recorded generation becomes a Turn with its step's reward."""
    from agent.loop import run_episode
    from agent.trajectory import Trajectory
    from envs.env import DebugEnv

    policy = policy_factory()
    turns: list[Turn] = []

    def on_step(step) -> None:
        if len(policy.generations) > len(turns):  # the step came from a fresh generation
            gen = policy.generations[len(turns)]
            turns.append(Turn(gen.prompt_ids, gen.response_ids, step.reward))
            if gen.response_ids[-1:] != [policy.tokenizer.eos_token_id]:
                turns[-1].reward += no_stop_penalty
        elif turns:  # a submit forced by the loop: its score is the last action's consequence
            turns[-1].reward += step.reward

    with DebugEnv(env_config, tasks=[task]) as env:
        result = run_episode(policy, env, task=task, on_step=on_step,
                             trajectory_path=trajectory_path)
    episode = Episode(task.id, turns, result)
    if result.truncated and turns:
        turns[-1].reward -= result.reward  # withhold the score of an unfinished episode
        messages = Trajectory.load(trajectory_path).messages if trajectory_path else None
        if messages:
            episode.final_prompt_ids = policy.prompt_ids(messages)
    return episode


def next_batch(tasks: list, order: list, rng: random.Random, episodes: int, samples: int) -> list:
    """The tasks of one iteration: ``episodes / samples`` tasks, each ``samples`` times in a row.

    Tasks are drawn without replacement from ``order`` (refilled with a fresh shuffle of ``tasks``
    when it runs out), so every task is seen once before any is seen twice.
    """
    batch: list = []
    while len(batch) < episodes:
        if not order:
            order.extend(tasks)
            rng.shuffle(order)
        batch += [order.pop()] * samples
    return batch


# -- the model: policy with value head; the reference is the base or a frozen adapter ---------

REFERENCE = "reference"
"""PEFT name of the frozen reference adapter (``reference="adapter"``); the policy's: default."""


def load_lora_model(model_name: str, adapter: str | None, load_4bit: bool, lora_r: int,
                    lora_alpha: int):
    """(peft model, tokenizer): the frozen base with ``adapter`` trainable, or a fresh LoRA.

    The RL trainers' common start (PPO here, GRPO in trainers/grpo.py): the SFT output loads as
    it is; a fresh adapter has no dropout, so that sampling and scoring see one policy.
    """
    from peft import LoraConfig, PeftModel, get_peft_model

    from trainers.sft import load_base_for_training

    base, tokenizer = load_base_for_training(model_name, load_4bit)
    if adapter:
        return PeftModel.from_pretrained(base, adapter, is_trainable=True), tokenizer
    return get_peft_model(base, LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0,
                                           target_modules="all-linear",
                                           task_type="CAUSAL_LM")), tokenizer


def load_policy_model(config: PPOConfig, adapter: str | None):
    """(peft model, tokenizer, value head) ready for training."""
    import torch

    from agent.policies.hf import disable_cpu_repacking

    model, tokenizer = load_lora_model(config.model, adapter, config.load_4bit, config.lora_r,
                                       config.lora_alpha)
    if config.reference == "adapter":
        # Always the starting adapter, also when ``adapter`` is a checkpoint being resumed.
        model.load_adapter(config.adapter, adapter_name=REFERENCE, is_trainable=False)
    disable_cpu_repacking(model)
    device = next(model.parameters()).device
    hidden = model.get_base_model().config.get_text_config().hidden_size
    value_head = torch.nn.Linear(hidden, 1).to(device=device, dtype=torch.float32)
    torch.nn.init.zeros_(value_head.weight)
    torch.nn.init.zeros_(value_head.bias)
    return model, tokenizer, value_head


@contextmanager
def reference_policy(model, config: PPOConfig):
    """Within this block the model computes the reference policy; gradients are not wanted there."""
    if config.reference == "base":
        with model.disable_adapter():
            yield
        return
    model.set_adapter(REFERENCE)
    try:
        yield
    finally:
        model.set_adapter("default")  # the policy's weights trainable again, the reference's not


def forward_turns(model, value_head, turns: list[Turn], pad_id: int, temperature: float,
                  with_values: bool = True, detach_features: bool = True):
    """Token log-probs, entropies and values of each turn's response, padded to (B, T), + mask."""
    import torch

    device = next(model.parameters()).device
    lengths = [len(t.prompt_ids) + len(t.response_ids) for t in turns]
    width = max(lengths)
    ids = torch.full((len(turns), width), pad_id, dtype=torch.long, device=device)
    attention = torch.zeros_like(ids)
    for i, t in enumerate(turns):
        seq = t.prompt_ids + t.response_ids
        ids[i, : len(seq)] = torch.tensor(seq, device=device)
        attention[i, : len(seq)] = 1
    out = model(input_ids=ids, attention_mask=attention, output_hidden_states=with_values)
    resp_width = max(len(t.response_ids) for t in turns)
    logits = torch.zeros(len(turns), resp_width, out.logits.shape[-1], device=device)
    targets = torch.zeros(len(turns), resp_width, dtype=torch.long, device=device)
    mask = torch.zeros(len(turns), resp_width, device=device)
    features = None
    if with_values:
        last_hidden = out.hidden_states[-1]
        features = torch.zeros(len(turns), resp_width, last_hidden.shape[-1], device=device)
    for i, t in enumerate(turns):
        start, n = len(t.prompt_ids) - 1, len(t.response_ids)  # position start predicts token 0
        logits[i, :n] = out.logits[i, start : start + n].float()
        targets[i, :n] = torch.tensor(t.response_ids, device=device)
        mask[i, :n] = 1
        if features is not None:
            features[i, :n] = last_hidden[i, start : start + n].float()
    logp_all = torch.log_softmax(logits / temperature, dim=-1)
    logprobs = logp_all.gather(-1, targets[..., None])[..., 0] * mask
    entropy = -(logp_all.exp() * logp_all).sum(-1) * mask
    values = None
    if features is not None:
        if detach_features:
            features = features.detach()
        values = value_head(features)[..., 0] * mask
    return logprobs, entropy, values, mask


def state_value(model, value_head, prompt_ids: list[int]) -> float:
    """V of a state given as a prompt: the head on the hidden state of its last token."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(input_ids=torch.tensor([prompt_ids], device=device), output_hidden_states=True)
        return float(value_head(out.hidden_states[-1][0, -1].float())[0])


# -- the loop ---------------------------------------------------------------------------------


def score_episodes(model, value_head, episodes: list[Episode], config: PPOConfig,
                   pad_id: int) -> dict[str, float]:
    """Old log-probs, reference log-probs, values; per-token rewards; advantages and returns."""
    import torch

    kl_sum, kl_tokens = 0.0, 0
    episode_returns: list[float] = []
    for episode in episodes:
        with torch.no_grad():
            for t in episode.turns:
                lp, _, v, _ = forward_turns(model, value_head, [t], pad_id, config.temperature)
                with reference_policy(model, config):
                    ref, _, _, _ = forward_turns(model, value_head, [t], pad_id,
                                                 config.temperature, with_values=False)
                t.logprobs, t.values, t.ref_logprobs = lp[0], v[0], ref[0]
        kl = torch.cat([t.logprobs - t.ref_logprobs for t in episode.turns])
        rewards = -config.kl_coef * kl
        ends = torch.tensor([len(t.response_ids) for t in episode.turns]).cumsum(0) - 1
        rewards[ends] += torch.tensor([t.reward for t in episode.turns], device=rewards.device)
        values = torch.cat([t.values for t in episode.turns])
        last_value = 0.0
        if episode.result.truncated and episode.final_prompt_ids:
            last_value = state_value(model, value_head, episode.final_prompt_ids)
        adv, ret = gae(rewards, values, last_value, config.gamma, config.gae_lambda)
        for t, a, r in zip(episode.turns, adv.split([len(t.response_ids) for t in episode.turns]),
                           ret.split([len(t.response_ids) for t in episode.turns])):
            t.advantages, t.returns = a, r
        kl_sum += float(kl.sum())
        kl_tokens += kl.numel()
        episode_returns.append(float(rewards.sum()))
    if config.baseline == "group":
        groups = [episode.task_id for episode in episodes]
        for episode, a in zip(episodes, leave_one_out(episode_returns, groups)):
            for t in episode.turns:
                t.advantages = torch.full_like(t.advantages, a)
    return {"charts/kl_ref": kl_sum / max(kl_tokens, 1)}


def pad(tensors, width: int):
    import torch

    return torch.stack([torch.nn.functional.pad(x, (0, width - x.numel())) for x in tensors])


def ppo_update(model, value_head, optimizer, turns: list[Turn], config: PPOConfig,
               pad_id: int, rng: random.Random) -> dict[str, float]:
    """Several epochs of clipped PPO over minibatches of turns; returns the mean losses."""
    import torch

    if config.norm_adv:  # whiten over every token of the batch
        flat = torch.cat([t.advantages for t in turns])
        mean, std = flat.mean(), flat.std() if flat.numel() > 1 else torch.tensor(1.0)
        for t in turns:
            t.advantages = (t.advantages - mean) / (std + 1e-8)
    params = [p for p in model.parameters() if p.requires_grad] + list(value_head.parameters())
    stats: dict[str, list[float]] = {k: [] for k in (
        "policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac")}
    for _ in range(config.update_epochs):
        order = list(range(len(turns)))
        rng.shuffle(order)
        for start in range(0, len(order), config.minibatch_size):
            batch = [turns[i] for i in order[start : start + config.minibatch_size]]
            logprobs, entropy, values, mask = forward_turns(
                model, value_head, batch, pad_id, config.temperature,
                detach_features=not config.value_through_backbone)
            width = mask.shape[1]
            old_lp = pad([t.logprobs for t in batch], width)
            old_v = pad([t.values for t in batch], width)
            adv = pad([t.advantages for t in batch], width)
            ret = pad([t.returns for t in batch], width)
            pg_loss, approx_kl, clipfrac = policy_loss(logprobs, old_lp, adv, mask,
                                                       config.clip_coef)
            v_loss = value_loss(values, old_v, ret, mask, config.vf_clip_coef)
            ent = masked_mean(entropy, mask)
            loss = pg_loss + config.vf_coef * v_loss - config.ent_coef * ent
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            for k, v in zip(stats, (pg_loss, v_loss, ent, approx_kl, clipfrac)):
                stats[k].append(float(v.detach()))
    values = torch.cat([t.values for t in turns])
    returns = torch.cat([t.returns for t in turns])
    out = {f"losses/{k}": sum(v) / len(v) for k, v in stats.items()}
    out["losses/explained_variance"] = explained_variance(values, returns)
    return out


def format_metrics(iteration: int, metrics: dict[str, float]) -> str:
    """One console line: the iteration and every metric, without its charts/ or losses/ prefix."""
    return f"iter {iteration}: " + " ".join(
        f"{k.split('/')[-1]}={v:.4g}" for k, v in metrics.items())


def latest_checkpoint(output_dir: Path) -> Path | None:
    found = [p for p in output_dir.glob("checkpoint-*") if (p / "state.json").is_file()]
    return max(found, key=lambda p: int(p.name.split("-")[1]), default=None)


def save_checkpoint(path: Path, model, value_head, optimizer, iteration: int,
                    config: PPOConfig, history: list[dict]) -> None:
    import torch

    from agent.trajectory import write_json_atomic

    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, selected_adapters=["default"])
    torch.save(value_head.state_dict(), path / "value_head.pt")
    torch.save(optimizer.state_dict(), path / "optimizer.pt")
    write_json_atomic(path / "state.json", {"iteration": iteration, "config": asdict(config),
                                            "history": history})


@dataclass
class PPOResult:
    adapter_dir: str
    iterations: int
    history: list[dict[str, float]]
    """Metrics of each iteration."""


def run_ppo(config: PPOConfig, log_fn: Callable[[int, dict[str, float]], None] | None = None,
            ) -> PPOResult:
    import torch
    from torch.utils.tensorboard import SummaryWriter

    from agent.policies.hf import GenerationSettings, HFPolicy
    from agent.trajectory import ExitStatus
    from envs.env import EnvConfig
    from envs.task import load_suite

    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks = load_suite(config.tasks)
    resume_from = latest_checkpoint(out) if config.resume else None
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    model, tokenizer, value_head = load_policy_model(
        config, str(resume_from) if resume_from else config.adapter)
    model.eval()  # no dropout: rollout, scoring and update log-probs agree
    params = [p for p in model.parameters() if p.requires_grad] + list(value_head.parameters())
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, eps=1e-5)
    start, history = 0, []
    if resume_from is not None:
        value_head.load_state_dict(torch.load(resume_from / "value_head.pt"))
        optimizer.load_state_dict(torch.load(resume_from / "optimizer.pt"))
        state = json.loads((resume_from / "state.json").read_text())
        start, history = state["iteration"], state["history"]
        log.info("resuming from %s (iteration %d)", resume_from, start)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    env_config = EnvConfig(sandbox=config.sandbox, max_steps=config.max_steps,
                           time_budget_s=config.time_budget_s)
    settings = GenerationSettings(max_new_tokens=config.max_new_tokens,
                                  temperature=config.temperature, top_p=1.0, do_sample=True,
                                  max_context_chars=config.max_context_chars)
    lock = threading.Lock()
    writer = SummaryWriter(log_dir=str(out / "runs"))
    rng = random.Random(config.seed)
    order: list = []
    rollout_dir = out / "rollouts"
    try:
        for iteration in range(start + 1, config.iterations + 1):
            started = time.monotonic()
            rng.seed(config.seed * 1000 + iteration)
            batch_tasks = next_batch(tasks, order, rng, config.episodes_per_iter,
                                     config.samples_per_task)

            def factory(k: int) -> Callable[[], HFPolicy]:
                return lambda: HFPolicy.from_model(
                    model, tokenizer, settings, record=True, lock=lock, name="hf:ppo",
                    seed=config.seed * 100_000 + iteration * 1000 + k)

            # 1. rollouts
            with ThreadPoolExecutor(max_workers=config.num_envs) as pool:
                futures = [pool.submit(run_rollout, factory(k), task, env_config,
                                       rollout_dir / f"iter-{iteration}" / f"{k}-{task.id}.json",
                                       config.no_stop_penalty)
                           for k, task in enumerate(batch_tasks)]
                episodes = [f.result() for f in futures]
            rollout_s = time.monotonic() - started
            usable = [e for e in episodes
                      if e.turns and e.result.exit_status != ExitStatus.ERROR]
            metrics: dict[str, float] = {
                "charts/mean_reward": sum(e.result.reward for e in episodes) / len(episodes),
                "charts/mean_return": sum(t.reward for e in usable for t in e.turns)
                / max(1, len(usable)),
                "charts/resolve_rate": sum(e.result.resolved for e in episodes) / len(episodes),
                "charts/episode_length": sum(e.result.steps for e in episodes) / len(episodes),
                "charts/truncated_rate": sum(e.result.truncated for e in episodes) / len(episodes),
                "charts/turns": float(sum(len(e.turns) for e in usable)),
                "charts/response_tokens": sum(len(t.response_ids) for e in usable
                                              for t in e.turns) / max(1, sum(len(e.turns)
                                                                             for e in usable)),
            }
            if usable:
                # 2-3. scoring and advantages; 4. the update
                metrics |= score_episodes(model, value_head, usable, config, pad_id)
                turns = [t for e in usable for t in e.turns]
                metrics |= ppo_update(model, value_head, optimizer, turns, config, pad_id, rng)
            metrics["charts/rollout_s"] = rollout_s
            metrics["charts/iteration_s"] = time.monotonic() - started
            for name, value in metrics.items():
                writer.add_scalar(name, value, iteration)
            writer.flush()
            history.append({"iteration": iteration, **metrics})
            log.info("%s", format_metrics(iteration, metrics))
            if log_fn is not None:
                log_fn(iteration, metrics)
            if iteration % config.save_every == 0 or iteration == config.iterations:
                save_checkpoint(out / f"checkpoint-{iteration}", model, value_head, optimizer,
                                iteration, config, history)
    finally:
        writer.close()
    model.save_pretrained(out, selected_adapters=["default"])
    tokenizer.save_pretrained(out)
    return PPOResult(adapter_dir=str(out), iterations=config.iterations, history=history)
