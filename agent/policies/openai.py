"""The `openai` policy: any OpenAI-compatible chat endpoint (vLLM, Ollama, TGI, llama.cpp, ...).

Plain HTTP with the standard library (no SDK needed): POST {base_url}/chat/completions with the
one formatter's messages, fitted to a character budget. The base URL and key come from arguments
or from OPENAI_BASE_URL / OPENAI_API_KEY. Transient failures (connection errors, 429, 5xx) are
retried with exponential backoff; anything else raises ``EndpointError`` with the server's words,
which ends the episode as "error: ..." in the loop.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandboxes.errors import DebugAgentError

from agent.prompts import Message, fit_messages

if TYPE_CHECKING:
    from agent.policies.base import Workspace
    from envs.task import Task

log = logging.getLogger("debug_agent.policies.openai")

DEFAULT_BASE_URL = "http://localhost:8000/v1"


class EndpointError(DebugAgentError, RuntimeError):
    """The chat endpoint refused or failed the request."""


@dataclass
class OpenAISettings:
    temperature: float = 0.0
    """Sampling temperature."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_tokens: int = 1024
    """Most tokens per answer."""
    max_context_chars: int = 48_000
    """Character budget for the messages (older observations are trimmed first)."""
    timeout_s: float = 120.0
    """Seconds to wait for one answer."""
    retries: int = 3
    """Retries of a transient failure (connection error, 429, 5xx)."""

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")


class OpenAIPolicy:
    """A Policy that asks an OpenAI-compatible /chat/completions endpoint for each action."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 settings: OpenAISettings | None = None) -> None:
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
                         ).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.settings = settings or OpenAISettings()
        self.name = f"openai:{model}"
        self.tokens_used = 0

    def start_episode(self, task: Task, workspace: Workspace) -> None:
        self.tokens_used = 0

    def act(self, messages: list[Message]) -> str:
        s = self.settings
        body = {
            "model": self.model,
            "messages": fit_messages(messages, s.max_context_chars),
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
        }
        data = self._post("/chat/completions", body)
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise EndpointError(f"{self.base_url}/chat/completions answered without "
                                f"choices[0].message.content: {json.dumps(data)[:300]}") from None
        usage = data.get("usage") or {}
        self.tokens_used += int(usage.get("total_tokens", 0) or 0)
        return text or ""

    def _post(self, path: str, body: dict) -> dict:
        url = self.base_url + path
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        payload = json.dumps(body).encode()
        delay = 1.0
        for attempt in range(self.settings.retries + 1):
            request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                    return json.loads(response.read().decode())
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")[:500]
                transient = exc.code == 429 or exc.code >= 500
                problem = f"HTTP {exc.code} from {url}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                transient = True
                reason = getattr(exc, "reason", exc)
                problem = f"cannot reach {url}: {reason}; is the server running? (--base-url or " \
                          "OPENAI_BASE_URL)"
            except json.JSONDecodeError as exc:
                raise EndpointError(f"{url} did not answer JSON: {exc}") from None
            if not transient or attempt == self.settings.retries:
                raise EndpointError(problem)
            log.warning("%s; retrying in %.0f s", problem, delay)
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")
