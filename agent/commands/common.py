"""Options shared by the commands that run a policy (fix, eval, data collect)."""

from __future__ import annotations

import functools

import click

POLICIES = ("search", "hf", "openai")


def policy_options(f=None, *, choices: tuple[str, ...] = POLICIES):
    """--policy, --model, --adapter, --4bit, --base-url; ``@policy_options(choices=...)`` for a
    command that offers more policies (eval's ``reference``)."""
    if f is None:
        return functools.partial(policy_options, choices=choices)

    @click.option("--policy", type=click.Choice(choices), default="search",
                  help="search: model-free repair; hf: a local transformers model; "
                       "openai: an OpenAI-compatible endpoint"
                       + ("; reference: replay each task's reference.patch (the suite's upper "
                          "bound)." if "reference" in choices else "."))
    @click.option("--model", default=None, help="Model directory or hub id (hf), model name (openai).")
    @click.option("--adapter", default=None, type=click.Path(exists=True, file_okay=False),
                  help="PEFT adapter directory for --policy hf.")
    @click.option("--4bit/--no-4bit", "load_4bit", default=False,
                  help="Load the hf model in 4-bit (bitsandbytes nf4).")
    @click.option("--base-url", default=None,
                  help="Endpoint for --policy openai [env: OPENAI_BASE_URL]; key from OPENAI_API_KEY.")
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper


def sandbox_option(f=None, *, default: str = "auto"):
    """--sandbox and --image, handed to the command as one ``sandbox: SandboxConfig``;
    ``@sandbox_option(default="local")`` for a command whose default backend is another."""
    from sandboxes.config import BACKENDS, SandboxConfig

    if f is None:
        return functools.partial(sandbox_option, default=default)

    @click.option("--sandbox", type=click.Choice(BACKENDS), default=default, show_default=True,
                  help="Where code runs: docker, local (weaker isolation), or auto "
                       "(docker when an engine and the image are there).")
    @click.option("--image", default=None, help="Docker sandbox image [default: the built one].")
    @functools.wraps(f)
    def wrapper(*args, sandbox, image, **kwargs):
        return f(*args, sandbox=SandboxConfig(sandbox, image), **kwargs)
    return wrapper
