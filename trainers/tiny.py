"""A tiny causal LM and tokenizer, built locally, for tests and the learning benchmark.

No model hub is reachable on the machines this project is developed on, so tests and experiments
use a small Qwen2-style model whose byte-level BPE tokenizer is trained here on Python source
(the standard library, our bundled suite and seed repos) and on the agent's own prompt text. The
chat template is ChatML with each assistant turn, including its end-of-turn token, wrapped in
``{% generation %}...{% endgeneration %}`` so that TRL's ``assistant_only_loss`` trains on exactly
what the policy emits, stop token included. Both are saved with ``save_pretrained`` and loaded back
with ``from_pretrained``: the real loading path. Real users pass a hub id or a local directory.
"""

from __future__ import annotations

import logging
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

log = logging.getLogger("debug_agent.trainers.tiny")

BOS, EOS, PAD = "<|endoftext|>", "<|im_end|>", "<|pad|>"
IM_START = "<|im_start|>"
SPECIAL_TOKENS = [BOS, IM_START, EOS, PAD]

# ChatML. The assistant's content and its <|im_end|> sit inside the generation block, so the
# assistant mask covers the stop token (TRL warns when it does not: the model never learns to stop).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant\n' }}"
    "{%- generation -%}{{ message['content'] + '<|im_end|>' }}{%- endgeneration -%}"
    "{{ '\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}"
)


@dataclass
class TinyModelConfig:
    vocab_size: int = 4096
    """BPE vocabulary size, special tokens included."""
    hidden_size: int = 128
    """Width of the residual stream (a multiple of 64 keeps 4-bit blocks whole)."""
    layers: int = 2
    """Decoder layers."""
    heads: int = 4
    """Attention heads (2 key/value heads: grouped-query attention as in Qwen2)."""
    max_positions: int = 4096
    """Longest sequence, in tokens, the model accepts."""
    seed: int = 0
    """Seed for the weight initialisation."""
    corpus_mb: float = 4.0
    """Megabytes of Python source the tokenizer (and pretraining) uses."""
    pretrain_steps: int = 0
    """Full-parameter causal-LM steps on that source before saving; 0 leaves the weights random."""
    pretrain_batch: int = 16
    """Sequences per pretraining step."""
    pretrain_length: int = 256
    """Tokens per pretraining sequence."""
    pretrain_lr: float = 1e-3
    """Peak AdamW learning rate of pretraining (linear warm-up, cosine decay to a tenth)."""

    def __post_init__(self) -> None:
        if self.hidden_size % 64 or self.hidden_size <= 0:
            raise ValueError(
                f"hidden_size must be a positive multiple of 64, got {self.hidden_size}")
        if self.hidden_size % self.heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must divide by heads ({self.heads})")
        if self.vocab_size < 300:
            raise ValueError(f"vocab_size must be at least 300 (256 bytes + specials), got "
                             f"{self.vocab_size}")
        if self.layers < 1:
            raise ValueError(f"layers must be at least 1, got {self.layers}")
        if self.pretrain_steps < 0:
            raise ValueError(f"pretrain_steps must be >= 0, got {self.pretrain_steps}")
        if self.pretrain_batch < 1 or self.pretrain_length < 8:
            raise ValueError("pretrain_batch must be >= 1 and pretrain_length >= 8, got "
                             f"{self.pretrain_batch} and {self.pretrain_length}")


def corpus_files() -> Iterator[Path]:
    """Python source to train the tokenizer on: our suites and seeds first, then the stdlib."""
    root = Path(__file__).resolve().parent.parent
    seen: set[Path] = set()
    # The suite's bases and the seeds first; "envs" holds them too, so each file is read once.
    for sub in ("envs/suite", "envs/seeds", "envs", "agent"):
        for path in sorted((root / sub).rglob("*.py")):
            if path not in seen:
                seen.add(path)
                yield path
    yield from sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))


def corpus_texts(max_bytes: int) -> Iterator[str]:
    """The agent's own prompt text, then source files, up to about ``max_bytes``."""
    from agent.prompts import SYSTEM_PROMPT

    total = 0
    # The prompt text is what every episode starts with: make sure its words are single tokens.
    yield SYSTEM_PROMPT * 20
    for path in corpus_files():
        if total >= max_bytes:
            return
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        total += len(text)
        yield text


def build_tokenizer(config: TinyModelConfig):
    """A byte-level BPE tokenizer (any text round-trips) wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus_texts(int(config.corpus_mb * 1e6)), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        model_max_length=config.max_positions,
        padding_side="left",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(config: TinyModelConfig, tokenizer):
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, Qwen2Config

    torch.manual_seed(config.seed)
    model_config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.hidden_size * 4,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=max(1, config.heads // 2),
        max_position_embeddings=config.max_positions,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = AutoModelForCausalLM.from_config(model_config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return model


def pretrain(model, tokenizer, config: TinyModelConfig) -> list[float]:
    """Next-token training of every weight on random windows of the corpus; returns the losses.

    A random base is a poor stand-in for the pretrained models users fine-tune; a few thousand
    steps give it the token statistics of Python source (3000 steps of 16 x 256 tokens take the
    loss from 8.3 to 1.8 in about 18 minutes on 2 CPU cores). They do not, at this scale, give it
    the copying that a real base brings to SFT: measured on a repeated sequence of shuffled
    corpus tokens, the repeat is predicted no better than the first pass (9.27 vs 9.36 nats).
    """
    import math

    import torch

    ids: list[int] = []
    for text in corpus_texts(int(config.corpus_mb * 1e6)):
        ids += tokenizer(text, verbose=False)["input_ids"] + [tokenizer.eos_token_id]
    data = torch.tensor(ids)
    if len(data) <= config.pretrain_length:
        raise ValueError(f"the corpus ({len(data)} tokens) is shorter than pretrain_length")
    generator = torch.Generator().manual_seed(config.seed)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.pretrain_lr, weight_decay=0.01)
    warmup = max(1, config.pretrain_steps // 20)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, config.pretrain_steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    losses = []
    for step in range(config.pretrain_steps):
        starts = torch.randint(0, len(data) - config.pretrain_length, (config.pretrain_batch,),
                               generator=generator)
        batch = torch.stack([data[s : s + config.pretrain_length] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == config.pretrain_steps - 1:
            log.info("pretrain step %d/%d: loss %.3f", step + 1, config.pretrain_steps, losses[-1])
    model.eval()
    return losses


def init_tiny(out: str | Path, config: TinyModelConfig | None = None) -> Path:
    """Build the tiny model and tokenizer and save both to ``out``; returns the directory."""
    config = config or TinyModelConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(config)
    model = build_model(config, tokenizer)
    if config.pretrain_steps:
        pretrain(model, tokenizer, config)
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("tiny model: %d parameters, vocab %d, saved to %s", n_params, len(tokenizer), out)
    return out
