"""`agent sandbox`: build the sandbox image, say which backend works here, prune leftovers."""

from __future__ import annotations

import os

import click


@click.group()
def sandbox() -> None:
    """Build the sandbox image, check backends, prune leftovers."""


@sandbox.command()
@click.option("--tag", default=None, help="Image tag [default: debug-agent-sandbox:latest].")
@click.option("--mirror", default=None,
              help="Debian mirror URL [default: the host's, from its apt sources].")
@click.option("--suite", default=None, help="Debian suite [default: the host's codename].")
@click.option("--rebuild", is_flag=True, help="Build again even if the tag exists.")
@click.option("--refresh-rootfs", is_flag=True,
              help="Run debootstrap again instead of using the cached root tree.")
def build(tag, mirror, suite, rebuild, refresh_rootfs) -> None:
    """Build the sandbox image offline from Debian packages (debootstrap, docker import, build).

    Idempotent: an existing tag is kept unless --rebuild. The debootstrap tree is cached under
    ~/.cache/debug-agent, so a rebuild takes seconds.
    """
    from rich.console import Console

    from sandboxes.image import DEFAULT_IMAGE, build_image

    console = Console(stderr=True)
    with console.status("building the sandbox image") as status:
        def progress(message: str) -> None:
            status.update(message)
            if not message.startswith(("Retrieving", "Extracting", "Unpacking", "Configuring",
                                       "Validating")):
                console.log(message)

        build_image(tag or DEFAULT_IMAGE, mirror=mirror, suite=suite, rebuild=rebuild,
                    refresh_rootfs=refresh_rootfs, progress=progress)
    click.echo(tag or DEFAULT_IMAGE)


@sandbox.command()
@click.argument("repo", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--image", default=None, help="Image to check [default: the built one].")
@click.option("--build", is_flag=True, help="With REPO: build its environment image now.")
@click.option("--setup", multiple=True, metavar="CMD",
              help="With REPO: the --setup commands `agent fix` will be given.")
def doctor(repo, image, build, setup) -> None:
    """Say which sandbox backend is usable here, and for the others why not and how to fix it.

    With REPO, also what was detected about it: layout, dependencies and where each is declared,
    extras, pytest settings and the plugins they name, its environment image and whether it is
    built (cached), and the pytest arguments its settings need in the sandbox.
    """
    from sandboxes.docker import docker_problem
    from sandboxes.image import DEFAULT_IMAGE

    image = image or DEFAULT_IMAGE
    problem = docker_problem(image)
    if problem is None:
        click.echo(f"docker: usable (image {image})")
    else:
        click.echo(f"docker: not usable: {problem}")
    if os.geteuid() == 0:
        click.echo("local:  usable (commands run under their own uid with rlimits; weaker "
                   "isolation than docker: no network or filesystem isolation)")
    else:
        click.echo("local:  usable, weakly: not root, so commands run as you with rlimits only "
                   "(RLIMIT_NPROC counts all your processes)")
    click.echo(f"auto:   {'docker' if problem is None else 'local'}")
    if repo:
        from agent.commands.doctor import show_project

        show_project(repo, None if problem else image, build=build, setup=tuple(setup))
    if problem is not None:
        raise click.exceptions.Exit(1)


@sandbox.command()
@click.option("--session", default=None,
              help="Only containers of this session label (DEBUG_AGENT_SESSION).")
@click.option("--all", "everything", is_flag=True,
              help="Also the containers of live runs (and our volumes).")
def prune(session, everything) -> None:
    """Remove what killed runs left: sandbox containers whose owner process is gone, and their
    temporary copies. A live run's containers stay (also another user's on the same engine)."""
    from sandboxes.docker import prune as prune_containers
    from sandboxes.local import prune_temp

    removed = prune_temp() + prune_containers(session, everything=everything)
    for name in removed:
        click.echo(f"removed {name}")
    click.echo(f"{len(removed)} removed")
