"""Policies, and ``make_policy``: the one factory that ``agent fix``, ``agent eval`` and the
evaluation workers build a policy with.

Imports are lazy: naming the search policy never imports torch, and a worker process builds its
policy from a picklable ``(name, options)`` pair.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from agent.policies.base import Policy, ScriptedPolicy
from sandboxes.errors import UsageError

POLICY_NAMES = ("search", "hf", "openai", "reference", "scripted")

#: Policies that are worth keeping between episodes in one process (loading a model is slow) and
#: that keep no per-episode state besides their token count.
REUSABLE = frozenset({"hf", "openai"})


def make_policy(name: str, *, task: Any = None, **options: Any) -> Policy:
    """Build a policy by name.

    ``search``    SearchPolicy(**options)                       (model-free; the default)
    ``hf``        HFPolicy(model=, adapter=, load_4bit=, device=, seed=, record=), and any
                  GenerationSettings field (temperature=, max_new_tokens=, ...)
    ``openai``    OpenAIPolicy(model=, base_url=, api_key=), and any OpenAISettings field
    ``reference`` replays ``task``'s reference.patch (needs ``task=``)
    ``scripted``  ScriptedPolicy(replies=[...])

    Options that are None are dropped, so a CLI can pass its flags through unchanged.
    """
    options = {k: v for k, v in options.items() if v is not None}
    if name == "search":
        from agent.policies.search import SearchPolicy

        return _construct(SearchPolicy, name, options)
    if name == "hf":
        from agent.policies.hf import GenerationSettings, HFPolicy

        fields = {f.name for f in dataclasses.fields(GenerationSettings)}
        generation = {k: options.pop(k) for k in list(options) if k in fields}
        if generation:
            options["generation"] = GenerationSettings(**generation)
        if "model" not in options:
            raise UsageError("the hf policy needs a model: pass --model NAME_OR_DIR")
        return _construct(HFPolicy, name, options)
    if name == "openai":
        from agent.policies.openai import OpenAIPolicy, OpenAISettings

        fields = {f.name for f in dataclasses.fields(OpenAISettings)}
        settings = {k: options.pop(k) for k in list(options) if k in fields}
        if settings:
            options["settings"] = OpenAISettings(**settings)
        if "model" not in options:
            raise UsageError("the openai policy needs a model: pass --model NAME")
        return _construct(OpenAIPolicy, name, options)
    if name == "reference":
        from agent.policies.reference import reference_policy

        return reference_policy(task, **options)
    if name == "scripted":
        return ScriptedPolicy(list(options.pop("replies", [])), **options)
    raise UsageError(f"unknown policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")


def check_policy(name: str, **options: Any) -> None:
    """Raise UsageError for a policy spec that cannot work, without building the policy (no model
    is loaded): what a coordinator checks before it hands the spec to many workers."""
    options = {k: v for k, v in options.items() if v is not None}
    if name not in POLICY_NAMES:
        raise UsageError(f"unknown policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")
    if name in ("hf", "openai") and "model" not in options:
        raise UsageError(f"the {name} policy needs a model: pass --model NAME")
    if name == "search":
        from agent.policies.search import SearchConfig

        fields = {f.name for f in dataclasses.fields(SearchConfig)}
        unknown = sorted(set(options) - fields)
        if unknown:
            raise UsageError(f"the search policy has no option {unknown}; it takes "
                             f"{', '.join(sorted(fields))}")
        try:
            SearchConfig(**options)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"search policy options {options}: {exc}") from None


def _construct(cls: type, name: str, options: dict[str, Any]) -> Policy:
    try:  # check the options against the signature, so a TypeError inside __init__ stays a bug
        inspect.signature(cls).bind(**options)
    except TypeError as exc:
        raise UsageError(f"policy {name!r} does not take options {sorted(options)}: {exc}") from None
    return cls(**options)


__all__ = ["POLICY_NAMES", "REUSABLE", "Policy", "ScriptedPolicy", "check_policy", "make_policy"]
