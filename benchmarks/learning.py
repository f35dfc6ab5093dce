"""Does the training pipeline learn, over several seeds? Base, SFT, PPO (and GRPO) on held-out bugs.

The tasks are ``learning_tasks``'s family: single-function modules (``mod.py`` + ``test_mod.py``,
one "source repo" per function) with one mutation (arithmetic operator, comparison boundary,
comparison negation, integer constant). With the defaults: 173 training tasks (15 hand-written +
70 generated source functions) and 96 held-out ones from 45 other functions (30 of them from a
generator seeded apart, none with the body of a training function), so evaluation is on functions
the model never saw. Two action styles are compared, each a whole pipeline of its own:

- ``edit``: free-form edits only. Demonstrations are the reference policy's (localize, one edit
  of the changed line, submit), their edits rewritten to the shortest unique SEARCH text
  (``minimal_block``: ``+`` -> ``-`` rather than the whole line), which leaves the file as before.
- ``candidates``: the copy-free actions. Demonstrations are the reference policy's with
  ``candidates=True`` (localize, ``candidates``, ``apply ID`` of the listed candidate that makes
  the reference fix, submit; the edit where none does; ``--candidates-demo-policy search`` for the
  search policy's, which validates many candidates first), so a model picks an id instead of
  copying a token from its prompt.

Stages, every output cached in WORK so that a rerun resumes where the last one stopped:

1. tasks, and the tiny base (``trainers.tiny``: 4 layers, width 128) pretrained for
   ``--pretrain-steps`` next-token steps on Python source: built once, shared by every seed and
   style (the stand-in for a pretrained model, not what is compared);
2. demonstrations of each style on the training tasks, once: the demonstrators are deterministic,
   so every seed would collect the same episodes (what differs by seed is what is trained on them);
3. the base evaluated once: greedy decoding in the same env is the same for every seed and style;
4. per seed and style: QLoRA SFT (``trainers.sft``; the seed sets LoRA's init and the data order),
   PPO from the SFT adapter (``trainers.ppo``: ``--ppo-iterations`` of tasks x 4 samples at
   temperature 1.0, RLOO group baseline, KL to a frozen copy of the SFT adapter) and, where
   ``trainers.grpo`` is in the checkout, TRL's GRPO from the same SFT adapter; each evaluated
   greedily on the same held-out tasks (``--eval-tasks`` of them, a sample fixed by
   ``--task-seed``), ``--workers`` episodes at once, each in its own sandbox;
5. per style and stage the resolve rate's mean and spread over seeds; paired per-task tests
   (``trainers.stats``) of PPO against SFT, GRPO against PPO and SFT against the base: exact
   McNemar over the pooled (seed, task) pairs, and a sign test over seeds (with 3 seeds its
   smallest two-sided p is 0.25, so p < 0.05 can only come from the pooled test); results.json
   and a table.

Run: ``python benchmarks/learning.py --seeds 3 --work /tmp/learning``; ``--only-seed S`` runs one
seed's stages into the same WORK (seeds side by side on a machine with cores to spare), and a run
without it then collates every seed from the caches; ``--quick`` shows only that the pipeline runs.

Cost. Measured before on an idle 2-core machine, single seed, edit style: pretraining 3000 steps
18 min, demonstrations 3.6 s an episode (173 in 10.5 min, mostly localize's coverage runs), SFT
0.75 s a step, PPO 3.1 s an episode, evaluation 2 s a task. From those, the defaults (sized for
three seeds: one collection of demonstrations for both styles, 48 evaluated tasks, SFT 200 steps,
PPO 8 x 8 episodes) come to about 84 minutes from scratch for 3 seeds x 2 styles without GRPO
(66 with the base cached), and about 72 for the candidates style alone with GRPO: an estimate,
not a measurement (the candidates style's demonstrations are longer, so its SFT steps cost more).

Why SFT scored 0 with the candidates style (2026-12-01, seed 0, the cut-down family below). Not
the data: 30 of the 40 demonstrations list and apply (the rest edit), with the template and the
character budget of evaluation, and the assistant mask covers exactly each action and its stop
token; ``c3`` is two tokens (`` c``, ``3``) the model can emit. Not the decoding: 96 new tokens
hold any action. The model had not learned to read its context. After 40 SFT steps (loss 0.88)
its next-token distribution was the same after ``<|im_start|>assistant\n`` as after a fence,
whatever the observation (``` 0.58, ``localize`` 0.11, ``candidates`` 0.09): a bigram model, so
greedy decoding closed the fence at once. After 50 steps (loss 0.26) it answers localize with
``candidates`` and an applied edit with ``submit``, but answers the listing with ``candidates``
again; after 100 (loss 0.24) it applies, but only after relisting two or three times, always
``c3`` (the demonstrations' most frequent id), so within 5 steps it never submits: 0/16, apply
used in 4. The listing and the localize answer end alike (a code line), and what tells them apart
is a hundred tokens back. What choosing can reach (``ceiling``): on all 66 held-out tasks a listed
candidate resolves 53 (80%), always ``c3`` 21 (32%); on the 16 evaluated, 14, and the best fixed
id (``c4``) 4, ``c3`` 2. The reference's applied ids are spread (c3 10, c5 6, c2 5, c1 4, c4 3,
c7 and c8 once): the id must be read from the listing's content, which a 1.5M-parameter model
with 300 pretraining steps does not do.

PPO and GRPO from that SFT adapter, seed 0, 2 iterations / steps of 2 tasks x 4 samples (16
episodes each; PPO lr 1e-4, KL 0.02 to the SFT adapter), the same 16 held-out tasks
(``--styles candidates --stages sft,ppo,grpo --pretrain-steps 300 --generated 10 --per-source 2
--eval-tasks 16 --sft-steps 100 --ppo-iterations 2 --ppo-episodes 8 --ppo-lr 1e-4``)::

    ceiling of choosing a listed candidate: 0.875 (14/16); always c4: 0.250
    candidates  base  0.000   sft  0.000 (apply in 0.25)   ppo  0.125 (apply in 0.75)
                grpo  0.000 (apply in 0.19)
    ppo vs sft  +12.5 points; McNemar +2 -0 p=0.50;  grpo vs ppo  -12.5 points, p=0.50

The env rewards a correct ``apply`` (1.0 when the tests pass, 0.5 x the share of failing tests
fixed otherwise) and PPO's rollouts saw it (iteration 1: 1 of 8 resolved, mean reward 0.15), so
PPO learned what SFT had not: to apply and then submit (12 of 16 episodes apply, 10 end
``apply``, ``submit``), now mostly ``c1`` / ``c2``; it resolved the two tasks where that id is
the fix. GRPO's two steps (rewards -0.06, then 0.06 with 1 of 8 resolved) left the relisting
loop as it was. One seed and 16 tasks: no p < 0.05 can come out of it (2 discordant pairs give
0.5). Wall time on the shared machine: SFT 1269 s, PPO 1257 s, GRPO 693 s, each evaluation
350-400 s (PPO and GRPO side by side); the three-seed run (about 3 x 75 minutes at this load)
did not fit the session.

Three seeds (2026-12-01, stop 12), after the listing was given a last line that names its
answers (``choose one: apply c1 | ... | apply c8``: the listing's turn had ended, as the localize
answer's does, in a line of code). Sized to the shared machine (load average 8-29 on 2 cores while
it ran): the three seeds side by side, each an ``--only-seed`` process in its own copy of WORK
(base, tasks, demonstrations, base evaluation and ceiling shared by copying), then collated;
``--styles candidates --stages sft,ppo --pretrain-steps 300 --generated 10 --per-source 2
--eval-tasks 16 --sft-steps 50 --ppo-iterations 1 --ppo-episodes 8 --ppo-lr 1e-4 --threads 1``::

    ceiling of choosing a listed candidate: 15/16; always c6: 4/16
    candidates  base  0.000   sft  0.000 0.000 0.000 (sd 0)   ppo  0.000 0.000 0.000 (sd 0)
    ppo vs sft  +0.0 points; pooled McNemar +0 -0 p=1.0;  sign over 3 seeds p=1.0

Wall time 45 minutes (three processes at once, base and demonstrations cached): SFT 1126-1130 s
each (22 s a step), PPO 350-520 s, each evaluation 180-635 s. 50 SFT steps (loss 4.2 -> 0.63-0.83)
left every seed where stop 11's 40-step run was: greedy decoding answers every turn with an empty
fenced block (no ``candidates``, no ``apply`` in 16 episodes), PPO's rollouts at temperature 1
resolved none of 8 (nothing for the group baseline to push), so PPO is SFT again. The targets (SFT
clearly above the base, PPO 10 points above SFT, p < 0.05) are not met; 100 SFT steps, where stop
11's model began to condition on the observation, took 35-38 s a step at this load (three seeds:
over an hour for SFT alone), so whether the new last line makes it choose at 100 steps is not
measured here. A probe (a 64-wide base pretrained 200 steps, 120 SFT steps on 8 demonstrations)
answered all 3 held-out listings with ``apply cN`` with the line and ``submit`` without it on the
branch that added the line, but on main with the later order and family changes it answered
``submit``, ``submit``, ``localize``: the line alone does not make this model choose.
(Unpretrained, that base under LoRA learns only which token follows which: after 150 SFT steps
it closes every fence it opens, with the line or without.)

Why SFT did not choose (stop 13). Two causes, both measured. (1) Truncation: SFT ran at
``max_length=1024`` and TRL keeps the start of a longer example; the candidates demonstrations
run to 655-1305 tokens (median 1062), so 23 of 40 were cut and with them 15 of the 30 ``apply``
turns and 23 of the 40 ``submit`` turns: half of what was to be learned was never seen. It is
2048 now, and ``run_sft`` warns when an example is longer. (2) Too few steps, hidden by the mean
loss: an action is ~8 assigned tokens of which one (the verb) depends on the observation; the
probe's model (64 wide, 120 steps, loss 0.17) had fitted fences and stop token but gave the verb
p 0.4-0.45 at its own training listings (``apply`` -0.81 vs ``submit`` -0.88 nats), i.e. it had
not yet learned to read the observation; at 400 steps (loss 0.03) it answered 28 of 30 training
turns and the held-out listing with the right verb (``tests/test_train_choose.py``). The prompt
is not cut at inference (4096 positions; prompts 450-1100 tokens), the mask covers exactly each
action and its stop token, and ``apply c3`` is three tokens (``apply``, `` c``, ``3``).

PPO and GRPO from the 400-step adapter (stop 14; one machine's run, load average 6-7 on the
2 shared cores; ``--styles candidates --stages sft,ppo,grpo --sft-steps 400 --ppo-iterations 2
--ppo-episodes 8 --ppo-lr 1e-4 --threads 1 --pretrain-steps 300 --generated 10 --per-source 2
--eval-tasks 16``; seed 0's SFT from stop 13, then PPO 462 s and its evaluation 223 s, GRPO 306 s
and its evaluation 243 s)::

    ceiling of choosing a listed candidate: 0.938 (15/16); always c2: 0.500
    candidates  base 0.000   sft 0.312   ppo 0.375   grpo 0.375   (apply used 0.94 in each)
    ppo vs sft  +6.2 points; McNemar +1 -0 p=1.0;   grpo vs ppo  +0.0 points; +0 -0 p=1.0
    chose (first apply from the listing): demonstrations c1 10 c2 12 c3 5 c4 3 c6 2
      sft  applied 15, a resolving id 5: c1 10 c2 3 c3 1 c4 1
      ppo  applied 15, a resolving id 6: c1 9 c2 4 c3 1 c4 1;  grpo 6: c1 9 c2 5 c4 1

SFT over three seeds (seeds 1 and 2 trained side by side: SFT 3008 and 2892 s, evaluation 190
and 164 s; loss 4.85 -> 0.047 and 4.86 -> 0.040)::

    candidates  sft  0.292 sd 0.036 (0.312 0.312 0.250)
    sft vs base  +29.2 points; pooled McNemar +14 -0 p=0.0001;  sign over 3 seeds +3 -0 p=0.250
    sft seed 1  applied 16, a resolving id 5: c1 4 c2 9 c3 2 c4 1
    sft seed 2  applied 12, a resolving id 4: c1 2 c2 9 c4 1

(the pooled test pairs the one base run with each seed's, so its p is optimistic.)

Why it applies but not the right id: an overfit, not a defect of the data, mask or prompt. Every
demonstration applies the first listed candidate that resolves (32 of 32, checked by running the
tests on each listed line; 24 have only one), the mask covers the actions only, no demonstration
reaches the 4000-character budget (longest 3210; none trimmed) nor 2048 tokens, and the listing
is never cut. Greedy, the seed-0 adapter answers 29 of the 32 training listings with the
demonstrated id, but applies a resolving id on 5 of the 15 held-out listings it applied from,
mostly ``c1`` (10), though ``c2`` is the demonstrations' commonest id: it learned which id goes
with each training function (40 demonstrations, each seen 40 times in 400 steps of 4), not to
read the failing assertion against the listed lines (``assert 10 == 9`` against ``10 -> 11`` /
``10 -> 9``). The listing's order varies with the line (the repair engine's prior): the best
fixed id resolves 8 of the 16. PPO's rollouts on training tasks resolved 7 of 8 in its first
iteration (little left to push) and 0 of 8 in its second; its 16 episodes moved one held-out
choice. More demonstrations from more functions (``--generated``) is the lever; this run kept
the cut-down family to fit three seeds.

Throughput: on the shared machine (load average 13-30 on 2 cores), one torch thread ran a
training step 3-4x faster than two (``--threads``, default 1); SFT steps took 4.5 s with one of
this benchmark's processes running and 15-25 s with four, so seeds side by side bring nothing.

Last single-seed figures at full size (2026-11-30, edit style, 96 held-out tasks, 800 SFT steps,
320 PPO episodes): base 0/96, SFT 6/96, PPO 11/96; PPO fixed 7 that SFT did not and lost 2 (exact
McNemar p = 0.18). The tiny base barely copies from its prompt (28 of 65 edits named a SEARCH
text that is in the file), which is why the ``candidates`` style exists. Runs that did not work:
PPO with the value-head baseline (whitened GAE) lowered the training resolve rate (0.19 -> 0 in 6
iterations), so the group baseline, which pushes only where a task's samples disagree, is the
default here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_tasks import (
    FAMILIES,
    FUNCTIONS,
    edits_from_candidates,
    make_tasks,
    minimal_edit_dataset,
    passes,
)

STYLES = ("edit", "candidates")
TRAINED = ("sft", "ppo", "grpo")
COMPARISONS = (("sft", "base"), ("ppo", "sft"), ("grpo", "ppo"))
"""(B, A): each paired test asks whether B resolved more held-out tasks than A."""


def grpo_available() -> bool:
    return importlib.util.find_spec("trainers.grpo") is not None


# -- stages ---------------------------------------------------------------------------------------


def build_base(work: Path, args) -> Path:
    """The pretrained tiny base, once per (width, depth, pretraining steps): shared by all seeds."""
    from trainers.tiny import TinyModelConfig, init_tiny

    name = f"base-h{args.hidden_size}-l{args.layers}-p{args.pretrain_steps}"
    if args.corpus_mb != 4.0:
        name += f"-c{args.corpus_mb:g}"
    model_dir = work / name / "model"
    if not (model_dir / "config.json").is_file():
        init_tiny(model_dir, TinyModelConfig(hidden_size=args.hidden_size, layers=args.layers,
                                             seed=0, pretrain_steps=args.pretrain_steps,
                                             corpus_mb=args.corpus_mb))
    return model_dir


def demonstrator(style: str, args) -> tuple[str, dict]:
    """The policy (name, options) whose resolved episodes are the SFT data of ``style``."""
    if style == "edit":
        return "reference", {}
    if args.candidates_demo_policy == "search":
        return "search", {}
    return "reference", {"candidates": True}


def collect_demos(work: Path, style: str, args) -> Path:
    """Demonstrations of ``style`` on the training tasks (collect resumes); the dataset's path.

    With the reference demonstrator, the edit style's are made from the candidates style's
    (``edits_from_candidates``: the same fixed files, by edits), which saves a second collection:
    its localize runs are most of the time.
    """
    from sandboxes.config import SandboxConfig
    from trainers.data import CollectConfig, collect

    if style == "edit" and args.candidates_demo_policy == "reference":
        candidates = collect_demos(work, "candidates", args).parent
        derived = edits_from_candidates(candidates, work / "demos-edit")
        if args.edit_style == "line":
            return derived
        return minimal_edit_dataset(derived.parent, work / "tasks" / "train")
    out = work / f"demos-{style}"
    policy, options = demonstrator(style, args)
    summary = collect(CollectConfig(tasks=str(work / "tasks" / "train"), out=str(out),
                                    policy=policy, policy_options=options, workers=args.workers,
                                    sandbox=SandboxConfig("local"), max_steps=10,
                                    max_context_chars=args.max_context_chars))
    print(f"demonstrations ({style}, {policy}): {summary.resolved} resolved of "
          f"{summary.attempted + summary.skipped}", flush=True)
    if style == "edit" and args.edit_style == "minimal":
        return minimal_edit_dataset(out, work / "tasks" / "train")
    return out / "dataset"


def train_sft(model_dir: Path, dataset: Path, out: Path, seed: int, args) -> None:
    from trainers.sft import SFTRunConfig, run_sft

    if (out / "adapter_model.safetensors").is_file():
        return
    result = run_sft(SFTRunConfig(
        model=str(model_dir), dataset=str(dataset), output_dir=str(out),
        max_steps=args.sft_steps, learning_rate=args.sft_lr, batch_size=args.sft_batch,
        # 2048: the candidates style's demonstrations run to ~1300 tokens at 4000 characters;
        # at 1024 (before) TRL cut 23 of 40 from the right, and with them 15 of the 30 apply turns.
        lora_r=args.lora_r, lora_alpha=args.lora_r * 2, lora_dropout=0.0, max_length=2048,
        seed=seed,
        # A random base caps its logits (frozen norms and tied embeddings of std 0.02 give
        # |logit| < ~3), so its distribution stays near uniform whatever LoRA learns; a
        # trainable output layer and norms (saved with the adapter) let it become confident.
        lora_args={"modules_to_save": ["lm_head", "norm"]} if args.train_head else {},
        logging_steps=10, save_steps=max(args.sft_steps // 2, 1)))
    print(f"SFT loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}", flush=True)


def train_ppo(model_dir: Path, sft_dir: Path, tasks: Path, out: Path, seed: int,
              args) -> list[dict]:
    """PPO from the SFT adapter (resumes from its checkpoints); the per-iteration metrics."""
    from trainers.ppo import PPOConfig, format_metrics, latest_checkpoint, run_ppo

    last = latest_checkpoint(out)
    if last is not None and (out / "adapter_model.safetensors").is_file():
        state = json.loads((last / "state.json").read_text())
        if state["iteration"] >= args.ppo_iterations:
            return state["history"]
    result = run_ppo(PPOConfig(
        model=str(model_dir), adapter=str(sft_dir), tasks=str(tasks), output_dir=str(out),
        iterations=args.ppo_iterations, episodes_per_iter=args.ppo_episodes,
        samples_per_task=args.ppo_samples, num_envs=args.workers, max_steps=args.max_steps,
        max_new_tokens=args.max_new_tokens, max_context_chars=args.max_context_chars,
        learning_rate=args.ppo_lr, kl_coef=args.ppo_kl_coef, reference="adapter",
        baseline="group", norm_adv=False, minibatch_size=4, update_epochs=2, seed=seed,
        temperature=args.ppo_temperature),
        log_fn=lambda i, m: print(format_metrics(i, m), flush=True))
    return result.history


def train_grpo(model_dir: Path, sft_dir: Path, tasks: Path, out: Path, seed: int,
               args) -> None:
    """TRL's GRPO from the same SFT adapter, on the same training tasks, env reward and episode
    budget as PPO: a step is one PPO iteration's tasks, each sampled ``--ppo-samples`` times."""
    from trainers.grpo import GRPOConfig, run_grpo

    if (out / "adapter_model.safetensors").is_file():
        return
    run_grpo(GRPOConfig(
        model=str(model_dir), adapter=str(sft_dir), tasks=str(tasks), output_dir=str(out),
        steps=args.grpo_steps or args.ppo_iterations, num_generations=args.ppo_samples,
        tasks_per_step=args.ppo_episodes // args.ppo_samples, num_envs=args.workers,
        max_steps=args.max_steps, max_new_tokens=args.max_new_tokens,
        temperature=args.ppo_temperature, learning_rate=args.ppo_lr, beta=args.ppo_kl_coef,
        seed=seed))


def evaluate(model_dir: Path, adapter: Path | None, tasks: Path, ids: list[str], out: Path,
             args) -> dict[str, dict]:
    """Greedy episodes of the hf policy on the tasks ``ids``; {task id: {"resolved", "reward",
    "verbs"}}, each appended to ``out`` (JSON lines) as it ends, so that a rerun runs only the
    tasks missing there; the trajectories go beside it, in a folder of its name.

    Episodes run ``--workers`` at a time in threads, each in its own sandbox, sharing one copy of
    the model (generation takes turns behind a lock). Worker processes (agent.eval.run_eval) would
    each import torch and load the model: measured on the shared 2-core machine, 130 s for a
    2-task evaluation, most of it that start-up, paid again by each of a run's many evaluations.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from agent.loop import run_episode
    from agent.policies.hf import GenerationSettings, HFPolicy
    from envs.env import DebugEnv, EnvConfig
    from envs.task import Task
    from sandboxes.config import SandboxConfig

    done = {}
    if out.is_file():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done[row.pop("task_id")] = row
    todo = [t for t in ids if t not in done]
    if todo:
        base = HFPolicy(str(model_dir), adapter=str(adapter) if adapter else None, load_4bit=True,
                        generation=GenerationSettings(
                            max_new_tokens=args.max_new_tokens, do_sample=False,
                            max_context_chars=args.max_context_chars))
        lock = threading.Lock()
        env_config = EnvConfig(sandbox=SandboxConfig("local"), max_steps=args.max_steps,
                               time_budget_s=300)
        out.parent.mkdir(parents=True, exist_ok=True)

        def one(task_id: str) -> None:
            task = Task.load(tasks / task_id)
            policy = HFPolicy.from_model(base.model, base.tokenizer, base.settings, lock=lock)
            seen: set[str] = set()
            with DebugEnv(env_config, tasks=[task]) as env:
                result = run_episode(policy, env, task=task,
                                     trajectory_path=out.with_suffix("") / f"{task_id}.json",
                                     on_step=lambda step: seen.add(step.info.get("action") or ""))
            verbs = sorted(seen - {""})
            row = {"resolved": bool(result.resolved), "reward": result.reward, "verbs": verbs}
            with lock, out.open("a") as f:
                f.write(json.dumps({"task_id": task_id, **row}) + "\n")
            done[task_id] = row

        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(one, todo))
    return {t: done[t] for t in ids}


def ceiling(tasks: Path, ids: list[str], out: Path, args) -> dict[str, dict]:
    """What choosing among the listed candidates can reach on the tasks ``ids``: per task, the ids
    of the ``candidates`` listing (after ``localize``, as an episode would list them) whose edit
    makes every test pass; {task id: {"listed", "resolving"}}, cached in ``out`` (JSON lines).

    No policy that picks one listed candidate resolves more tasks than have a resolving one, and
    one that always picks the same id resolves those where that id resolves.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from envs.env import DebugEnv, EnvConfig
    from envs.task import Task
    from sandboxes.config import SandboxConfig

    done = {}
    if out.is_file():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done[row.pop("task_id")] = row
    lock = threading.Lock()

    def one(task_id: str) -> None:
        task = Task.load(tasks / task_id)
        tests_src = (Path(task.repo) / "test_mod.py").read_text()
        config = EnvConfig(sandbox=SandboxConfig("local"), max_steps=4, time_budget_s=300)
        with DebugEnv(config, tasks=[task]) as env:
            env.reset()
            env.step("```\nlocalize\n```")
            listing = env.list_candidates()
        row = {"listed": len(listing),
               "resolving": [key for key, p in listing.proposals.items()
                             if passes(p.text, tests_src)]}
        with lock, out.open("a") as f:
            f.write(json.dumps({"task_id": task_id, **row}) + "\n")
        done[task_id] = row

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(one, [t for t in ids if t not in done]))
    return {t: done[t] for t in ids}


def ceiling_figures(rows: dict[str, dict], k: int) -> dict:
    """The share of tasks with a resolving candidate, and of those where each fixed id resolves."""
    n = len(rows)
    by_id = {f"c{i}": sum(f"c{i}" in r["resolving"] for r in rows.values()) for i in range(1, k + 1)}
    best = max(by_id, key=by_id.get)
    return {"tasks": n, "any_resolving": sum(bool(r["resolving"]) for r in rows.values()),
            "rate": round(sum(bool(r["resolving"]) for r in rows.values()) / n, 4),
            "resolving_by_id": by_id, "best_fixed_id": best,
            "best_fixed_id_rate": round(by_id[best] / n, 4)}


# -- figures --------------------------------------------------------------------------------------


def figures(outcomes: dict[str, dict], tasks: dict) -> dict:
    """Resolve rate, mean reward, per bug class, how often each action was used."""
    n = len(outcomes)
    by_class = {}
    for cls in FAMILIES:
        ids = [t for t in outcomes if tasks[t].bug_class == cls]
        if ids:
            by_class[cls] = f"{sum(outcomes[t]['resolved'] for t in ids)}/{len(ids)}"
    used = {verb: round(sum(verb in o["verbs"] for o in outcomes.values()) / n, 3)
            for verb in ("edit", "candidates", "apply")}
    return {"resolved": sum(o["resolved"] for o in outcomes.values()), "episodes": n,
            "resolve_rate": round(sum(o["resolved"] for o in outcomes.values()) / n, 4),
            "mean_reward": round(sum(o["reward"] for o in outcomes.values()) / n, 4),
            "by_class": by_class, "used": used,
            "handwritten": sum(o["resolved"] for t, o in outcomes.items()
                               if tasks[t].source in FUNCTIONS)}


APPLIED = re.compile(r"\bapply\s+(c\d+)\b")


def applied_ids(trajectories: Path, ids: list[str]) -> dict[str, str | None]:
    """Per task, the id its episode applied from a plain ``candidates`` listing made before any
    edit (the listing ``ceiling`` judges), or None where it applied none from one."""
    out: dict[str, str | None] = {}
    for task_id in ids:
        path, chosen, plain, edited = trajectories / f"{task_id}.json", None, False, False
        steps = json.loads(path.read_text())["steps"] if path.is_file() else []
        for step in steps:
            verb, action = step["info"].get("action"), step["action"]
            if verb == "candidates":
                # ids listed at a given line, or after an edit, are not the ceiling's
                plain = not edited and action.strip("`\n ") == "candidates"
            elif verb == "apply" and plain and APPLIED.search(action):
                chosen = APPLIED.search(action).group(1)
                break
            elif verb == "edit":
                edited = True
        out[task_id] = chosen
    return out


def choice_figures(applied: dict[str, str | None], rows: dict[str, dict]) -> dict:
    """How a stage chose: episodes that applied from the listing, how many of those picked an id
    that resolves (``rows``: the ceiling's), and how often each id was picked."""
    chosen = {t: c for t, c in applied.items() if c}
    return {"applied": len(chosen),
            "resolving": sum(c in rows[t]["resolving"] for t, c in chosen.items()),
            "by_id": dict(sorted(Counter(chosen.values()).items()))}


def demonstrated_ids(dataset: Path) -> dict[str, int]:
    """How often the demonstrations apply each id: the prior a model that does not read the
    listing falls back on."""
    from datasets import load_from_disk

    # a turn is counted where it is trained (an example may repeat turns another one trains)
    ids = Counter(m.group(1) for row in load_from_disk(str(dataset)) for msg in row["messages"]
                  if msg["role"] == "assistant" and msg.get("train") is not False
                  and (m := APPLIED.search(msg["content"])))
    return dict(sorted(ids.items()))


def choices(work: Path, dataset: Path, seeds: list[int], stages: list[str], ids: list[str],
            rows: dict[str, dict]) -> dict:
    """The candidates style's choices: the demonstrations' ids, then per stage and seed
    ``choice_figures`` from the evaluation's trajectories."""
    out: dict = {"demonstrations": demonstrated_ids(dataset),
                 "base": {"once": choice_figures(applied_ids(work / "eval-base", ids), rows)}}
    for stage in stages:
        out[stage] = {str(seed): choice_figures(applied_ids(
            work / f"seed-{seed}" / "candidates" / f"eval-{stage}", ids), rows) for seed in seeds}
    return out


def print_choices(found: dict) -> None:
    def ids(counts: dict[str, int]) -> str:
        return " ".join(f"{k} {v}" for k, v in counts.items()) or "-"

    print("\nhow the candidates style chose (from the listing made before any edit): "
          f"demonstrations apply {ids(found['demonstrations'])}")
    for stage, by_seed in found.items():
        if stage == "demonstrations":
            continue
        for seed, f in by_seed.items():
            print(f"  {stage:<5} seed {seed:<4} applied {f['applied']:>3}, a resolving id "
                  f"{f['resolving']:>3}; ids {ids(f['by_id'])}")


def spread(values: list[float]) -> dict:
    return {"mean": round(statistics.fmean(values), 4),
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "per_seed": values}


def paired_tests(outcomes: dict[str, dict[str, dict[int, dict]]], seeds: list[int],
                 ids: list[str]) -> dict:
    """Per style, each comparison of COMPARISONS: pooled exact McNemar and a per-seed sign test.

    ``outcomes[style][stage][seed]`` maps task id to outcome; the base's is under seed None, and
    it is paired with every seed's SFT (it is one greedy run, the same whatever the seed).
    """
    from trainers.stats import mcnemar_exact, sign_test

    def run(style: str, stage: str, seed: int) -> dict | None:
        runs = outcomes[style].get(stage, {})
        return runs.get(None) if stage == "base" else runs.get(seed)

    tests: dict[str, dict] = {}
    for style in outcomes:
        for b, a in COMPARISONS:
            pairs = [(run(style, a, s), run(style, b, s)) for s in seeds]
            pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
            if not pairs:
                continue
            pooled = mcnemar_exact([x[t]["resolved"] for x, _ in pairs for t in ids],
                                   [y[t]["resolved"] for _, y in pairs for t in ids])
            per_seed = sign_test([sum(x[t]["resolved"] for t in ids) for x, _ in pairs],
                                 [sum(y[t]["resolved"] for t in ids) for _, y in pairs])
            points = 100 * (pooled.b_only - pooled.a_only) / (len(pairs) * len(ids))
            tests[f"{style}: {b} vs {a}"] = {"seeds": len(pairs), "points": round(points, 1),
                                             "mcnemar": pooled.to_json(),
                                             "sign": per_seed.to_json()}
    return tests


def collate(outcomes: dict, seeds: list[int], ids: list[str], tasks: dict, timings: dict,
            args) -> dict:
    """results.json: per style and stage the figures of each seed, their mean and spread, the
    paired tests and the resolved task ids."""
    def key(seed: int | None) -> str:
        return "once" if seed is None else str(seed)

    runs = {style: {stage: {key(seed): figures(o, tasks) for seed, o in by_seed.items()}
                    for stage, by_seed in stages.items()} for style, stages in outcomes.items()}
    summary = {style: {stage: {
        "resolve_rate": spread([f["resolve_rate"] for f in by_seed.values()]),
        "mean_reward": spread([f["mean_reward"] for f in by_seed.values()]),
        "apply_used": spread([f["used"]["apply"] for f in by_seed.values()]),
    } for stage, by_seed in stages.items()} for style, stages in runs.items()}
    resolved = {style: {stage: {key(seed): sorted(t for t, o in by.items() if o["resolved"])
                                for seed, by in by_seed.items()}
                        for stage, by_seed in stages.items()}
                for style, stages in outcomes.items()}
    return {"seeds": seeds, "eval_tasks": ids, "summary": summary,
            "tests": paired_tests(outcomes, seeds, ids), "runs": runs, "resolved_ids": resolved,
            "timings_s": timings, "args": vars(args)}


def print_table(results: dict) -> None:
    n = len(results["eval_tasks"])
    print(f"\nheld-out tasks: {n} (source functions never seen in training), "
          f"seeds: {results['seeds']}")
    if results.get("ceiling"):
        c = results["ceiling"]
        print(f"ceiling of choosing a listed candidate: {c['rate']:.3f} ({c['any_resolving']}/"
              f"{c['tasks']}); always {c['best_fixed_id']}: {c['best_fixed_id_rate']:.3f}")
    print(f"{'style':<11} {'stage':<5} {'resolve rate: mean':>18} {'sd':>6} {'per seed':<24} "
          f"{'reward':>7} {'apply used':>10}")
    for style, stages in results["summary"].items():
        for stage, row in stages.items():
            rate = row["resolve_rate"]
            per_seed = " ".join(f"{v:.3f}" for v in rate["per_seed"])
            print(f"{style:<11} {stage:<5} {rate['mean']:>18.3f} {rate['sd']:>6.3f} "
                  f"{per_seed:<24} {row['mean_reward']['mean']:>7.3f} "
                  f"{row['apply_used']['mean']:>10.2f}")
    print("\npaired tests (B vs A: resolve rate difference; pairs where only B / only A "
          "resolved):")
    for name, test in results["tests"].items():
        m, s = test["mcnemar"], test["sign"]
        print(f"  {name:<26} {test['points']:+6.1f} points; pooled McNemar +{m['b_only']} "
              f"-{m['a_only']} p={m['p']:.4f};  "
              f"sign over {test['seeds']} seeds +{s['b_only']} -{s['a_only']} p={s['p']:.3f}")


def plot(histories: dict[str, list[dict]], results: dict, path: Path) -> None:
    """Left: PPO training-rollout resolve rate per seed and style; right: held-out rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curve, bars) = plt.subplots(1, 2, figsize=(11, 4))
    for name, history in histories.items():
        curve.plot([h["iteration"] for h in history],
                   [h["charts/resolve_rate"] for h in history], ".-", label=name, alpha=0.7)
    curve.set_xlabel("PPO iteration")
    curve.set_title("PPO rollouts on training tasks: resolve rate")
    curve.legend(fontsize=7)
    labels, means, sds = [], [], []
    for style, stages in results["summary"].items():
        for stage, row in stages.items():
            labels.append(f"{style}\n{stage}")
            means.append(row["resolve_rate"]["mean"])
            sds.append(row["resolve_rate"]["sd"])
    bars.bar(range(len(labels)), means, yerr=sds, capsize=3)
    bars.set_xticks(range(len(labels)), labels, fontsize=7)
    bars.set_title(f"held-out resolve rate, mean and sd over {len(results['seeds'])} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# -- the run --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default="/tmp/debug-agent-learning", help="Working directory.")
    parser.add_argument("--seeds", type=int, default=3, help="Training seeds (0 .. N-1).")
    parser.add_argument("--only-seed", type=int, default=None,
                        help="Run one seed's stages only (into the same WORK, so that seeds can "
                             "run side by side), writing results-seed-S.json; a later run "
                             "without it collates every seed from the caches.")
    parser.add_argument("--task-seed", type=int, default=0,
                        help="Seed of the task family and of the evaluation sample (the same "
                             "for every training seed).")
    parser.add_argument("--styles", default=",".join(STYLES),
                        help="Action styles, comma-separated: edit, candidates.")
    parser.add_argument("--stages", default=None,
                        help="Trained stages, comma-separated (default: sft,ppo and grpo where "
                             "trainers.grpo exists).")
    parser.add_argument("--quick", action="store_true", help="Tiny settings: checks the pipeline.")
    parser.add_argument("--candidates-demo-policy", default="reference",
                        choices=("reference", "search"),
                        help="Demonstrator of the candidates style: reference (the reference fix "
                             "by candidates + apply where listed: one test run an episode) or "
                             "search (the model-free search, which validates many candidates).")
    parser.add_argument("--edit-style", default="minimal", choices=("minimal", "line"),
                        help="minimal: the edit style's demonstrations rewritten to the shortest "
                             "unique SEARCH (minimal_block); line: the reference edits as played.")
    parser.add_argument("--held-out", type=int, default=5, help="Source repos held out.")
    parser.add_argument("--per-source", type=int, default=3, help="Tasks per source repo.")
    parser.add_argument("--generated", type=int, default=70,
                        help="Generated training source repos (besides the hand-written ones).")
    parser.add_argument("--generated-held-out", type=int, default=10,
                        help="Generated source repos held out.")
    parser.add_argument("--extra-held-out", type=int, default=30,
                        help="More generated held-out source repos, from a generator seeded apart.")
    parser.add_argument("--eval-tasks", type=int, default=48,
                        help="Held-out tasks each stage is evaluated on (a fixed sample; 0: all).")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--pretrain-steps", type=int, default=3000,
                        help="Next-token steps of the tiny base on Python source "
                             "(trainers.tiny.pretrain); 0 keeps it random.")
    parser.add_argument("--corpus-mb", type=float, default=4.0,
                        help="Megabytes of Python source for the tokenizer and pretraining.")
    parser.add_argument("--sft-steps", type=int, default=200)
    parser.add_argument("--sft-lr", type=float, default=3e-3)
    parser.add_argument("--sft-batch", type=int, default=4)
    parser.add_argument("--no-train-head", dest="train_head", action="store_false",
                        help="LoRA only: keep the output layer and RMSNorm weights frozen.")
    parser.add_argument("--lora-r", type=int, default=64)
    parser.add_argument("--ppo-iterations", type=int, default=8)
    parser.add_argument("--ppo-episodes", type=int, default=8)
    parser.add_argument("--ppo-samples", type=int, default=4,
                        help="Episodes of each task per PPO iteration (GRPO's group size).")
    parser.add_argument("--ppo-temperature", type=float, default=1.0,
                        help="Sampling temperature of PPO and GRPO rollouts (greedy evaluation).")
    parser.add_argument("--ppo-lr", type=float, default=5e-5)
    parser.add_argument("--ppo-kl-coef", type=float, default=0.02,
                        help="Per-token KL penalty to the frozen SFT adapter.")
    parser.add_argument("--grpo-steps", type=int, default=0,
                        help="GRPO optimizer steps (default: --ppo-iterations, the same episodes).")
    parser.add_argument("--max-steps", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--max-context-chars", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of this process (0: torch's default). On a shared, "
                             "saturated 2-core machine one thread ran a training step 3-4x "
                             "faster than two (the threads wait on each other).")
    args = parser.parse_args(argv)
    if args.quick:
        args.held_out, args.per_source, args.sft_steps = 2, 1, 10
        args.generated, args.generated_held_out, args.extra_held_out = 2, 1, 1
        args.ppo_iterations, args.ppo_episodes, args.ppo_samples, args.layers = 1, 2, 2, 2
        args.pretrain_steps, args.corpus_mb = 20, 0.5
    args.styles = [s for s in args.styles.split(",") if s]
    if not args.styles or set(args.styles) - set(STYLES):
        parser.error(f"--styles takes a comma-separated subset of {', '.join(STYLES)}, got "
                     f"{','.join(args.styles)!r}")
    default = "sft,ppo,grpo" if grpo_available() else "sft,ppo"
    args.stages = [s for s in (args.stages or default).split(",") if s]
    if not args.stages or args.stages[0] != "sft" or set(args.stages) - set(TRAINED):
        parser.error(f"--stages takes sft then any of ppo, grpo, got {','.join(args.stages)!r}")
    if "grpo" in args.stages and not grpo_available():
        parser.error("--stages grpo needs trainers.grpo, which this checkout lacks")
    if args.seeds < 1 or args.eval_tasks < 0 or (args.only_seed or 0) < 0:
        parser.error(f"--seeds must be >= 1, --eval-tasks and --only-seed >= 0, got "
                     f"{args.seeds}, {args.eval_tasks} and {args.only_seed}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from envs.task import load_suite

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    work = Path(args.work)
    started = time.monotonic()
    timings: dict[str, float] = {}

    @contextmanager
    def timed(name: str):
        t0 = time.monotonic()
        yield
        timings[name] = round(time.monotonic() - t0, 1)
        print(f"[{name}] {timings[name]} s", flush=True)

    tasks_dir = work / "tasks"
    family = {k: getattr(args, k) for k in ("task_seed", "held_out", "per_source", "generated",
                                            "generated_held_out", "extra_held_out")}
    with timed("tasks+base"):
        if not (tasks_dir / "family.json").is_file():
            make_tasks(tasks_dir, args.task_seed, args.held_out, args.per_source, args.generated,
                       args.generated_held_out, args.extra_held_out)
            (tasks_dir / "family.json").write_text(json.dumps(family))
        made = json.loads((tasks_dir / "family.json").read_text())
        if made != family:
            print(f"learning.py: {work} holds tasks made with {made}, not {family}; pass the "
                  "same task options or another --work", file=sys.stderr)
            return 2
        model_dir = build_base(work, args)
    held_out = {t.id: t for t in load_suite(tasks_dir / "held-out")}
    ids = sorted(held_out)
    if args.eval_tasks and args.eval_tasks < len(ids):
        ids = sorted(random.Random(args.task_seed).sample(ids, args.eval_tasks))
    n_train = len(load_suite(tasks_dir / "train"))
    print(f"tasks: {n_train} train, {len(held_out)} held-out, {len(ids)} evaluated", flush=True)

    datasets = {}
    for style in args.styles:
        with timed(f"demos {style}"):
            datasets[style] = collect_demos(work, style, args)
    with timed("eval base"):
        base = evaluate(model_dir, None, tasks_dir / "held-out", ids, work / "eval-base.jsonl",
                        args)
    bound, listed = None, {}
    if "candidates" in args.styles:
        with timed("ceiling"):
            listed = ceiling(tasks_dir / "held-out", ids, work / "ceiling.jsonl", args)
            bound = ceiling_figures(listed, k=8)
        print(f"ceiling: {bound['any_resolving']}/{bound['tasks']} evaluated tasks have a "
              f"resolving candidate among those listed; the best fixed id "
              f"({bound['best_fixed_id']}) resolves {bound['resolving_by_id'][bound['best_fixed_id']]}",
              flush=True)
    seeds = list(range(args.seeds)) if args.only_seed is None else [args.only_seed]
    name = "results.json" if args.only_seed is None else f"results-seed-{args.only_seed}.json"
    outcomes = {style: {"base": {None: base}} for style in args.styles}
    histories: dict[str, list[dict]] = {}
    train = tasks_dir / "train"
    for seed in seeds:
        for style in args.styles:
            run = work / f"seed-{seed}" / style
            with timed(f"seed {seed} {style} sft"):
                train_sft(model_dir, datasets[style], run / "sft", seed, args)
            if "ppo" in args.stages:
                with timed(f"seed {seed} {style} ppo"):
                    histories[f"{style} seed {seed}"] = train_ppo(
                        model_dir, run / "sft", train, run / "ppo", seed, args)
            if "grpo" in args.stages:
                with timed(f"seed {seed} {style} grpo"):
                    train_grpo(model_dir, run / "sft", train, run / "grpo", seed, args)
            for stage in args.stages:
                with timed(f"seed {seed} {style} eval {stage}"):
                    outcomes[style].setdefault(stage, {})[seed] = evaluate(
                        model_dir, run / stage, tasks_dir / "held-out", ids,
                        run / f"eval-{stage}.jsonl", args)
                print(f"seed {seed} {style} {stage}:",
                      figures(outcomes[style][stage][seed], held_out), flush=True)
        so_far = seeds[: seeds.index(seed) + 1]
        results = collate(outcomes, so_far, ids, held_out, timings, args)
        results["ceiling"] = bound
        if listed:
            results["choices"] = choices(work, datasets["candidates"], so_far, args.stages, ids,
                                         listed)
        (work / name).write_text(json.dumps(results, indent=1))  # after every seed
    timings["total"] = round(time.monotonic() - started, 1)
    results["timings_s"] = timings
    (work / name).write_text(json.dumps(results, indent=1))
    if histories:
        plot(histories, results, work / "learning.png")
    print_table(results)
    if results.get("choices"):
        print_choices(results["choices"])
    print(f"total {timings['total']:.0f} s; results: {work / name}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
