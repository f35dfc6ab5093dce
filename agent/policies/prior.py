"""The candidate prior: a trained model's preference among the candidates a listing shows.

`agent fix --prior ADAPTER` hands the search policy a PEFT adapter as `agent train sft` or
`agent train ppo` writes it (its ``adapter_config.json`` names the base model). Before the
search validates its first round, it asks the env for the ``candidates`` listing of the top
localized lines and puts the episode's messages, that ``candidates`` action and the listing in
front of the model, exactly as a model policy would see them; each listed candidate is scored
by the log-probability of the answer ``apply ID`` (its end-of-turn token included), and the
listed candidates are validated in that order, before the rest in the engine's order.

torch / transformers / peft are imported inside functions, so importing this module is cheap.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from agent.prompts import Message
from envs.actions import Apply, Candidates, format_action
from sandboxes.errors import UsageError

log = logging.getLogger("debug_agent.policies.prior")


def check_adapter(path: str | Path) -> str:
    """The base model an adapter directory names; UsageError (one line) when it is not one."""
    adapter = Path(path)
    if not adapter.is_dir():
        raise UsageError(f"--prior {path}: no such adapter directory; pass the output directory "
                         "of `agent train sft` or `agent train ppo`")
    config = adapter / "adapter_config.json"
    try:
        base = json.loads(config.read_text()).get("base_model_name_or_path")
    except FileNotFoundError:
        raise UsageError(f"--prior {path}: not a PEFT adapter (no adapter_config.json); pass "
                         "the output directory of `agent train sft` or `agent train ppo`") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise UsageError(f"--prior {path}: cannot read {config.name} ({exc})") from None
    if not base:
        raise UsageError(f"--prior {path}: {config.name} names no base model "
                         "(base_model_name_or_path)")
    return str(base)


class CandidatePrior:
    """Scores ``apply ID`` answers to a listing under a causal LM with an adapter."""

    def __init__(self, adapter: str, device: str | None = None) -> None:
        from agent.policies.hf import GenerationSettings, HFPolicy, load_model

        base = check_adapter(adapter)
        try:
            model, tokenizer = load_model(base, adapter, device=device)
        except (OSError, ValueError) as exc:  # a base that is not there, weights that do not fit
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"--prior {adapter}: cannot load it on its base {base}: {first}") \
                from None
        model.eval()
        # HFPolicy's own prompt: the same fitting and chat template as at inference.
        self.policy = HFPolicy.from_model(model, tokenizer, GenerationSettings(do_sample=False),
                                          name=f"prior:{adapter}")
        self.adapter, self.base = adapter, base

    def scores(self, messages: list[Message], answers: list[str]) -> list[float]:
        """log p(answer + end of turn | messages) for each answer."""
        import torch

        prompt = self.policy.prompt_ids(messages)
        tokenizer, model = self.policy.tokenizer, self.policy.model
        device = next(model.parameters()).device
        out = []
        with torch.no_grad():
            for answer in answers:
                ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
                ids = ids + [tokenizer.eos_token_id]
                seq = torch.tensor([prompt + ids], device=device)
                logits = model(input_ids=seq).logits[0, len(prompt) - 1 : -1].float()
                logp = torch.log_softmax(logits, -1).gather(1, seq[0, len(prompt):, None])
                out.append(float(logp.sum()))
        return out

    def order(self, messages: list[Message], listing: Any) -> list[str]:
        """The ids of ``listing`` (an ``envs.candidates.Listing``), likeliest answer first, for
        an episode whose messages so far are ``messages`` (the listing comes after them)."""
        keys = list(listing.proposals)
        if not keys:
            return []
        shown = list(messages) + [{"role": "assistant", "content": format_action(Candidates())},
                                  {"role": "user", "content": listing.text}]
        scores = self.scores(shown, [format_action(Apply(k)) for k in keys])
        ranked = sorted(range(len(keys)), key=lambda i: (-scores[i], i))
        return [keys[i] for i in ranked]


@lru_cache(maxsize=2)
def load_prior(adapter: str) -> CandidatePrior:
    """One loaded prior per adapter and process (`agent fix --samples N` builds N policies)."""
    return CandidatePrior(adapter)
