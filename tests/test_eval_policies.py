"""agent eval with the model policies, built inside the workers by make_policy: the openai policy
against a local OpenAI-compatible server, and the hf policy with a tiny local model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.eval import EvalConfig, PolicySpec, run_eval
from agent.policies.reference import reference_actions
from envs.task import load_suite
from sandboxes.config import SandboxConfig
from tests.test_openai_policy import ChatServer, completion

LOCAL = SandboxConfig("local")
FIXTURES = Path(__file__).parent / "fixtures" / "eval_tasks"

pytestmark = pytest.mark.slow

FILES = {"calc_add": "calc.py", "text_last": "text.py", "no_reference": "sign.py"}


def records(out: Path) -> dict[str, dict]:
    return {r["task_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


def test_openai_policy_in_workers(tmp_path):
    """The server plays each task's reference patch; it fails every request for no_reference."""
    tasks = {t.id: t for t in load_suite(FIXTURES)}

    def answer(body):
        # The task, by the file list in its first observation (observations name no task id).
        first = next(m["content"] for m in body["messages"] if m["role"] == "user")
        task_id = next(t for t, name in FILES.items() if re.search(rf"^{name}$", first, re.MULTILINE))
        if task_id == "no_reference":
            return 500, {"error": {"message": "model overloaded"}}
        task = tasks[task_id]
        script = reference_actions(task.reference_patch, task.repo) + ["```\nsubmit\n```"]
        turn = sum(m["role"] == "assistant" for m in body["messages"])
        return 200, completion(script[min(turn, len(script) - 1)], tokens=11)

    with ChatServer(answer) as server:
        spec = PolicySpec("openai", {"model": "scripted", "base_url": server.url, "api_key": "",
                                     "temperature": 0.0})
        summary = run_eval(EvalConfig(tasks=FIXTURES, out=tmp_path / "run", policy=spec,
                                      workers=2, sandbox=LOCAL))
    got = records(tmp_path / "run")
    assert got["calc_add"]["resolved"] and got["calc_add"]["tokens"] == 11 * 3
    assert got["calc_add"]["policy"] == "openai:scripted"
    failed = got["no_reference"]
    assert failed["error_kind"] == "policy" and failed["exit_status"] == "error"
    assert failed["error"].startswith("EndpointError:")
    assert summary["resolved"] == 2 and summary["policy_errors"] == 1
    assert summary["infra_errors"] == 0  # a policy failure is the policy's, not the sandbox's


@pytest.mark.train
def test_hf_policy_in_workers_with_a_tiny_model(tmp_path):
    from trainers.tiny import TinyModelConfig, init_tiny

    model_dir = init_tiny(tmp_path / "tiny", TinyModelConfig(vocab_size=400, hidden_size=64,
                                                             corpus_mb=0.1))
    spec = PolicySpec("hf", {"model": str(model_dir), "max_new_tokens": 8, "do_sample": False})
    summary = run_eval(EvalConfig(tasks=FIXTURES, out=tmp_path / "run", policy=spec, workers=1,
                                  sandbox=LOCAL, max_steps=2, only=("calc_add", "text_last")))
    got = records(tmp_path / "run")
    for record in got.values():  # an untrained model: episodes end, tokens are counted per task
        assert record["error_kind"] is None and record["steps"] >= 1
        assert 0 < record["tokens"] < 10_000
    # The model is loaded once per worker and its count reset per task, not summed over tasks.
    assert abs(got["calc_add"]["tokens"] - got["text_last"]["tokens"]) < max(got["calc_add"]["tokens"], 1)
    assert summary["tasks"] == 2 and summary["tokens"]["total"] > 0
