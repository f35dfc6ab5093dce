"""GPU check: 4-bit QLoRA SFT steps, one PPO iteration and one GRPO step on CUDA (tiny model).

Run on a CUDA machine from the repository root::

    python benchmarks/gpu_check.py [--work /tmp/gpu-check] [--sft-steps 30]

It prints the library versions and the device, then for SFT: steps, loss before and after, seconds
per step, peak GPU memory, and that the adapter changed; for PPO (2 episodes of a tiny task in a
local sandbox) and for GRPO (TRL's GRPOTrainer, one group of 4 episodes of that task, from the SFT
adapter): the logged metrics and the seconds taken. Exit status 0 when every check passed; on a
machine without CUDA it says so and exits 0 without running anything. Takes a few minutes once
the libraries are imported.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TASK = ROOT / "tests" / "fixtures" / "eval_tasks" / "calc_add"
EDIT = ("```\nedit calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n"
        ">>>>>>> REPLACE\n```")


def chat_dataset(path: Path) -> Path:
    from datasets import Dataset

    from agent.prompts import add_turn, initial_messages

    rows = []
    for i in range(32):
        messages = initial_messages(f"FAILED test_calc.py::test_add{i} - assert {i} == {i + 1}")
        add_turn(messages, "```\nlocalize\n```", "calc.py:2  1.000  return a - b")
        add_turn(messages, EDIT, "edited calc.py")
        messages.append({"role": "assistant", "content": "```\nsubmit\n```"})
        rows.append({"messages": messages})
    Dataset.from_list(rows).save_to_disk(str(path))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default="/tmp/debug-agent-gpu-check")
    parser.add_argument("--sft-steps", type=int, default=30)
    args = parser.parse_args()

    import bitsandbytes
    import peft
    import torch
    import transformers
    import trl

    print(f"torch {torch.__version__} transformers {transformers.__version__} "
          f"trl {trl.__version__} "
          f"peft {peft.__version__} bitsandbytes {bitsandbytes.__version__}")
    if not torch.cuda.is_available():
        print("GPU check skipped: CUDA is not available here (the SFT, PPO and GRPO checks "
              "need a GPU machine)")
        return 0
    print(f"device: {torch.cuda.get_device_name(0)}, bf16 {torch.cuda.is_bf16_supported()}")

    from safetensors.torch import load_file

    from trainers.grpo import GRPOConfig, run_grpo
    from trainers.ppo import PPOConfig, run_ppo
    from trainers.sft import SFTRunConfig, run_sft
    from trainers.tiny import TinyModelConfig, init_tiny

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    figures: dict = {}
    model_dir = init_tiny(work / "tiny", TinyModelConfig(hidden_size=256, layers=4))
    dataset = chat_dataset(work / "data")

    torch.cuda.reset_peak_memory_stats()
    t0 = time.monotonic()
    sft = run_sft(SFTRunConfig(model=str(model_dir), dataset=str(dataset),
                               output_dir=str(work / "sft"), max_steps=args.sft_steps,
                               learning_rate=2e-3, batch_size=8, warmup_ratio=0.0,
                               report_to=["none"], save_steps=args.sft_steps))
    sft_s = time.monotonic() - t0
    b = [w for k, w in load_file(str(work / "sft" / "adapter_model.safetensors")).items()
         if "lora_B" in k]
    figures["sft"] = {"steps": sft.steps, "loss_first": sft.losses[0], "loss_last": sft.losses[-1],
                      "s_per_step": sft_s / max(sft.steps, 1),
                      "peak_gpu_mem_mb": torch.cuda.max_memory_allocated() / 2**20,
                      "adapter_changed": any(float(w.abs().sum()) > 0 for w in b)}
    print("SFT:", json.dumps(figures["sft"]))

    t0 = time.monotonic()
    ppo = run_ppo(PPOConfig(model=str(model_dir), adapter=str(work / "sft"), tasks=str(TASK),
                            output_dir=str(work / "ppo"), iterations=1, episodes_per_iter=2,
                            num_envs=2, max_steps=4, max_new_tokens=64, reference="adapter",
                            resume=False))
    metrics = ppo.history[0]
    figures["ppo"] = {"seconds": time.monotonic() - t0, **metrics}
    print("PPO:", json.dumps(figures["ppo"]))

    torch.cuda.reset_peak_memory_stats()
    t0 = time.monotonic()
    grpo = run_grpo(GRPOConfig(model=str(model_dir), adapter=str(work / "sft"), tasks=str(TASK),
                               output_dir=str(work / "grpo"), steps=1, num_generations=4,
                               num_envs=2, max_steps=4, max_new_tokens=64, resume=False))
    grpo_metrics = grpo.history[0] if grpo.history else {}
    figures["grpo"] = {"seconds": time.monotonic() - t0,
                       "peak_gpu_mem_mb": torch.cuda.max_memory_allocated() / 2**20,
                       **grpo_metrics}
    print("GRPO:", json.dumps(figures["grpo"]))

    ok = (figures["sft"]["adapter_changed"] and sft.losses[-1] < sft.losses[0]
          and all(math.isfinite(v) for k, v in metrics.items() if k.startswith("losses/")
                  and k != "losses/explained_variance")
          and grpo.steps == 1 and all(math.isfinite(grpo_metrics.get(k, float("nan")))
                                      for k in ("loss", "reward", "kl"))
          and (work / "grpo" / "adapter_model.safetensors").is_file())
    (work / "figures.json").write_text(json.dumps(figures, indent=1))
    print("GPU check", "passed" if ok else "FAILED", f"(figures in {work / 'figures.json'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
