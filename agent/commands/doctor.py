"""`agent sandbox doctor REPO`: what detection found about a repository, shown to its user."""

from __future__ import annotations

import click


def show_project(repo: str, image: str | None, *, build: bool, setup: tuple[str, ...]) -> None:
    """Print the detected project; ``image`` is the base image (None: Docker is not usable)."""
    from sandboxes.project import detect_project

    spec = detect_project(repo)
    echo = click.echo
    echo(f"project: {spec.root} ({spec.name or 'no package name'}; {spec.layout} layout"
         + (f", packages {', '.join(spec.packages)}" if spec.packages else "") + ")")
    if spec.installable and spec.settings.install:
        echo("  installs: the project itself, editable"
             + (f", with extras [{','.join(spec.extras)}]" if spec.extras else "")
             + f"; build requires: {', '.join(spec.build_requires) or 'nothing'}")
    else:
        echo("  installs: not the project itself ("
             + ("install = false" if spec.installable else "nothing declares a package") + ")")
    echo(f"  requirements: {len(spec.requirements)}")
    width = max((len(r) for r in spec.requirements), default=0)
    for req, origin in spec.origins:
        echo(f"    {req:<{width}}  from {origin}")
    settings = spec.settings
    if settings.setup or setup:
        echo("  setup commands: " + "; ".join((*settings.setup, *setup)))
    for key in ("test_command", "timeout", "test_timeout"):
        if getattr(settings, key) is not None:
            echo(f"  {key.replace('_', '-')}: {getattr(settings, key)} (from {settings.source})")
    if settings.exclude:
        echo(f"  leave alone: {', '.join(settings.exclude)}")
    pytest = spec.pytest
    echo(f"  pytest settings: {pytest.config_file or 'none'}"
         + (f"; addopts: {' '.join(pytest.addopts)}" if pytest.addopts else "")
         + (f"; testpaths: {' '.join(pytest.testpaths)}" if pytest.testpaths else ""))
    if pytest.plugins_named:
        echo(f"  plugins the settings name: {', '.join(pytest.plugins_named)}")
    echo(f"  declared by: {', '.join(spec.inputs) or 'nothing'}")
    for note in spec.notes:
        echo(f"  note: {note}")
    if image is None:
        echo("  environment image: none (Docker is not usable)")
        return
    _show_image(spec, image, build, setup)


def _show_image(spec, base: str, build: bool, setup: tuple[str, ...]) -> None:
    from sandboxes.image import docker_client, image_exists
    from sandboxes.project_image import image_probe, project_environment, project_tag

    echo = click.echo
    if not spec.needs_image and not setup:
        echo(f"  environment image: {base} (nothing to install)")
        tag = base
    else:
        client = docker_client()
        try:
            tag = project_tag(spec, client.images.get(base).id, setup)
            cached = image_exists(client, tag)
        finally:
            client.close()
        if not cached and build:
            project_environment(spec.root, base, setup=setup, spec=spec,
                                progress=lambda m: echo(f"    {m}"))
            cached = True
        echo(f"  environment image: {tag} ("
             + ("cached" if cached else "not built yet: the first run builds it, or pass --build")
             + ")")
        if not cached:
            return
    if pytest_needs_probe(spec):
        args, notes = spec.pytest.run_args(*image_probe(tag))
        echo(f"  pytest args in the sandbox: {' '.join(args) or 'none'}")
        for note in notes:
            echo(f"    {note}")


def pytest_needs_probe(spec) -> bool:
    return bool(spec.pytest.addopts or spec.pytest.required_plugins)
