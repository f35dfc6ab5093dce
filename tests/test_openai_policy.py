"""The openai policy over real HTTP against a small local /v1/chat/completions server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandboxes.config import SandboxConfig

TASKS = Path(__file__).parent / "fixtures" / "eval_tasks"


class ChatServer:
    """An OpenAI-compatible endpoint; ``answer(body) -> (status, payload)`` decides each reply."""

    def __init__(self, answer):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions":
                    status, payload = 404, {"error": {"message": f"no route {self.path}"}}
                else:
                    status, payload = answer(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(text: str, tokens: int = 7) -> dict:
    return {"id": "c1", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens - 2, "completion_tokens": 2, "total_tokens": tokens}}


def test_request_shape_key_and_tokens(monkeypatch):
    from agent.policies import make_policy
    from agent.prompts import initial_messages

    with ChatServer(lambda body: (200, completion("```\nlocalize\n```"))) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        policy = make_policy("openai", model="tiny-chat", base_url=server.url)
        assert policy.name == "openai:tiny-chat"
        assert policy.act(initial_messages("tests fail")) == "```\nlocalize\n```"
        assert policy.act(initial_messages("tests fail")) == "```\nlocalize\n```"
    body = server.requests[0]
    assert body["model"] == "tiny-chat" and body["messages"][1]["content"] == "tests fail"
    assert server.headers[0]["Authorization"] == "Bearer sk-test"
    assert policy.tokens_used == 14


def test_retries_transient_errors_then_reports_the_server():
    from agent.policies.openai import EndpointError, OpenAIPolicy, OpenAISettings

    calls = []

    def flaky(body):
        calls.append(1)
        return (503, {"error": "busy"}) if len(calls) == 1 else (200, completion("ok"))

    with ChatServer(flaky) as server:
        policy = OpenAIPolicy("m", base_url=server.url, api_key="",
                              settings=OpenAISettings(retries=1))
        assert policy.act([{"role": "user", "content": "x"}]) == "ok"
    with ChatServer(lambda body: (400, {"error": {"message": "model 'm' not found"}})) as server:
        policy = OpenAIPolicy("m", base_url=server.url, api_key="")
        with pytest.raises(EndpointError, match="HTTP 400.*model 'm' not found"):
            policy.act([{"role": "user", "content": "x"}])
        assert len(server.requests) == 1  # a 4xx is not retried
    policy = OpenAIPolicy("m", base_url="http://127.0.0.1:9/v1", api_key="",
                          settings=OpenAISettings(retries=0, timeout_s=2))
    with pytest.raises(EndpointError, match="cannot reach"):
        policy.act([{"role": "user", "content": "x"}])


@pytest.mark.slow
def test_episode_through_the_endpoint_resolves(tmp_path):
    """The server plays the task's reference fix over HTTP; the real loop and env score it."""
    from agent.loop import run_episode
    from agent.policies.openai import OpenAIPolicy
    from agent.policies.reference import reference_actions
    from envs.env import DebugEnv, EnvConfig
    from envs.task import Task

    task = Task.load(TASKS / "calc_add")
    replies = reference_actions(task.reference_patch, task.repo) + ["```\nsubmit\n```"]

    with ChatServer(lambda body: (200, completion(replies[len(body["messages"]) // 2 - 1]))) as s:
        policy = OpenAIPolicy("scripted", base_url=s.url, api_key="")
        with DebugEnv(EnvConfig(sandbox=SandboxConfig("local")), tasks=[task]) as env:
            result = run_episode(policy, env, task=task)
    assert result.resolved and result.exit_status == "submitted"
    assert result.tokens == 7 * len(replies)


@pytest.mark.train
def test_serving_the_tiny_model(tmp_path):
    """The endpoint answers with a real (tiny) model: the hf policy behind HTTP."""
    from agent.policies.hf import GenerationSettings, HFPolicy
    from agent.policies.openai import OpenAIPolicy
    from trainers.tiny import TinyModelConfig, init_tiny

    model_dir = init_tiny(tmp_path / "tiny", TinyModelConfig(vocab_size=400, hidden_size=64,
                                                             corpus_mb=0.1))
    local = HFPolicy(str(model_dir), generation=GenerationSettings(max_new_tokens=8,
                                                                   do_sample=False))

    def answer(body):
        text = local.act(body["messages"])
        return 200, completion(text)

    with ChatServer(answer) as server:
        remote = OpenAIPolicy("tiny", base_url=server.url, api_key="")
        messages = [{"role": "user", "content": "FAILED test_add"}]
        assert remote.act(messages) == local.act(messages)
