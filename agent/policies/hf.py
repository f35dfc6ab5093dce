"""The `hf` policy: a local transformers causal LM, optionally with a LoRA adapter, 4-bit loading.

The prompt is the one formatter's message list (``fit_messages`` to a character budget), rendered
by the tokenizer's own chat template and cut from the left to what the model can take. Each call
can be recorded (prompt ids, response ids, token log-probabilities): PPO rollouts go through this
very policy and this very loop, so what is trained on is exactly what was sampled.

torch / transformers / peft are imported inside functions, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.prompts import Message, fit_messages

if TYPE_CHECKING:
    from agent.policies.base import Workspace
    from envs.task import Task

log = logging.getLogger("debug_agent.policies.hf")


@dataclass
class GenerationSettings:
    max_new_tokens: int = 512
    """Most tokens generated per action."""
    temperature: float = 0.7
    """Sampling temperature (ignored when do_sample is False)."""
    top_p: float = 1.0
    """Nucleus sampling mass (1.0 samples from the whole distribution)."""
    do_sample: bool = True
    """Sample; False decodes greedily."""
    max_context_chars: int = 24_000
    """Character budget for the messages (older observations are trimmed first)."""
    max_prompt_tokens: int | None = None
    """Token budget for the prompt; default: the model's max positions less max_new_tokens."""

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.do_sample and self.temperature <= 0:
            raise ValueError(f"temperature must be positive when sampling, got {self.temperature}; "
                             "pass do_sample=False for greedy decoding")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_context_chars < 100:
            raise ValueError(
                f"max_context_chars must be at least 100, got {self.max_context_chars}")


@dataclass
class Generation:
    """One call of the policy, as PPO needs it."""

    prompt_ids: list[int]
    response_ids: list[int]
    """Sampled tokens, the end-of-turn token included when the model emitted it."""
    logprobs: list[float] = field(default_factory=list)
    """log pi(token | context) of each response token under the sampling distribution."""


def quantization_config(compute_dtype: Any = None):
    """QLoRA's 4-bit storage: NF4 with double quantization (Dettmers et al. 2023)."""
    import torch
    from transformers import BitsAndBytesConfig

    if compute_dtype is None:
        compute_dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def disable_cpu_repacking(model: Any) -> int:
    """Keep bitsandbytes from repacking 4-bit weights for its AVX512-BF16 inference kernel.

    On such CPUs a no-grad forward in eval mode repacks the weights in place, after which training
    crashes or gets wrong gradients (see DESIGN.md). Call it on any 4-bit model that will be
    trained, before its first forward. Returns the number of layers changed.
    """
    try:
        import bitsandbytes as bnb
    except ImportError:
        return 0
    n = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            n += 1
    return n


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(model: str, adapter: str | None = None, load_4bit: bool = False,
               trainable_adapter: bool = False, device: str | None = None):
    """(model, tokenizer): a base model from a hub id or directory, with an adapter if given."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or default_device()
    kwargs: dict[str, Any] = {}
    if load_4bit:
        kwargs["quantization_config"] = quantization_config()
        kwargs["device_map"] = {"": device}
    else:
        kwargs["dtype"] = torch.bfloat16 if device.startswith("cuda") else torch.float32
    # An adapter dir saved by our trainers carries the tokenizer it was trained with.
    tokenizer = AutoTokenizer.from_pretrained(
        adapter if adapter and _has_tokenizer(adapter) else model)
    base = AutoModelForCausalLM.from_pretrained(model, **kwargs)
    if not load_4bit:
        base.to(device)
    disable_cpu_repacking(base)
    if adapter:
        from peft import PeftModel

        base = PeftModel.from_pretrained(base, adapter, is_trainable=trainable_adapter)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return base, tokenizer


def _has_tokenizer(path: str) -> bool:
    from pathlib import Path

    return (Path(path) / "tokenizer_config.json").is_file()


class HFPolicy:
    """A Policy backed by a local causal LM.

    ``HFPolicy(model=BASE, adapter=DIR, load_4bit=True)`` loads it; ``HFPolicy.from_model`` wraps a
    model already in memory (PPO shares the one it trains). With ``record=True`` every call appends
    a ``Generation`` to ``generations``.
    """

    def __init__(self, model: str, adapter: str | None = None, load_4bit: bool = False,
                 generation: GenerationSettings | None = None, record: bool = False,
                 device: str | None = None, seed: int | None = None) -> None:
        loaded, tokenizer = load_model(model, adapter, load_4bit, device=device)
        loaded.eval()
        self._init(loaded, tokenizer, generation, record, seed,
                   name=f"hf:{model}" + (f"+{adapter}" if adapter else ""))

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, generation: GenerationSettings | None = None,
                   record: bool = False, seed: int | None = None, name: str = "hf",
                   lock: threading.Lock | None = None) -> "HFPolicy":
        self = cls.__new__(cls)
        self._init(model, tokenizer, generation, record, seed, name, lock)
        return self

    def _init(self, model: Any, tokenizer: Any, generation: GenerationSettings | None,
              record: bool, seed: int | None, name: str,
              lock: threading.Lock | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.settings = generation or GenerationSettings()
        self.record = record
        self.name = name
        self.generations: list[Generation] = []
        self.tokens_used = 0
        self.lock = lock or threading.Lock()
        """Held while generating: policies sharing one model in threads take turns."""
        self._generator = None
        if seed is not None:
            import torch

            self._generator = torch.Generator(device="cpu").manual_seed(seed)

    @property
    def max_prompt_tokens(self) -> int:
        if self.settings.max_prompt_tokens is not None:
            return self.settings.max_prompt_tokens
        positions = getattr(self.model.config, "max_position_embeddings", None) or 4096
        return max(16, positions - self.settings.max_new_tokens)

    def start_episode(self, task: Task, workspace: Workspace) -> None:
        self.tokens_used = 0

    def prompt_ids(self, messages: list[Message]) -> list[int]:
        fitted = fit_messages(messages, self.settings.max_context_chars)
        ids = self.tokenizer.apply_chat_template(fitted, tokenize=True, add_generation_prompt=True,
                                                 return_dict=True)["input_ids"]
        return list(ids[-self.max_prompt_tokens:])  # cut from the left: the latest turn matters

    def act(self, messages: list[Message]) -> str:
        prompt = self.prompt_ids(messages)
        with self.lock:
            response, logprobs = self._generate(prompt)
        self.tokens_used += len(prompt) + len(response)
        if self.record:
            self.generations.append(Generation(prompt, response, logprobs))
        return self.tokenizer.decode(response, skip_special_tokens=True)

    def _generate(self, prompt: list[int]) -> tuple[list[int], list[float]]:
        import torch

        s = self.settings
        device = next(self.model.parameters()).device
        input_ids = torch.tensor([prompt], device=device)
        if self._generator is not None:  # reproducible sampling without touching global RNG users
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=self._generator)))
        kwargs: dict[str, Any] = dict(
            max_new_tokens=s.max_new_tokens,
            do_sample=s.do_sample,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            return_dict_in_generate=True,
            output_logits=self.record,
        )
        if s.do_sample:
            kwargs.update(temperature=s.temperature, top_p=s.top_p, top_k=0)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                out = self.model.generate(input_ids=input_ids,
                                          attention_mask=torch.ones_like(input_ids), **kwargs)
        finally:
            self.model.train(was_training)
        response = out.sequences[0, len(prompt):].tolist()
        eos = self.tokenizer.eos_token_id
        if eos in response:  # drop what follows the end of turn (padding)
            response = response[: response.index(eos) + 1]
        logprobs: list[float] = []
        if self.record:
            # The raw logits, tempered as sampled: the behaviour policy's log-probabilities.
            temperature = s.temperature if s.do_sample else 1.0
            for step, token in enumerate(response):
                logits = out.logits[step][0].float() / temperature
                logprobs.append(float(torch.log_softmax(logits, -1)[token]))
        return response, logprobs
