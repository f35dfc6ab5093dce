"""`agent view PATH`: a trajectory, an `agent fix` run or an eval run as self-contained pages."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(context_settings={"show_default": True})
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where the pages go [default: beside the trajectory; in the run directory].")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The original sources of a trajectory or fix run, for the diff after each "
                   "step (eval runs find their tasks themselves).")
@click.option("--serve", is_flag=True, help="Serve the pages on 127.0.0.1 and print the URL.")
@click.option("--port", default=0, type=click.IntRange(0, 65535),
              help="Port for --serve (0: any free port).")
@click.option("--open", "open_", is_flag=True, help="Open the page in a browser, if there is one.")
def view(path, out, repo, serve, port, open_):
    """Write self-contained HTML pages of PATH and print where they are.

    PATH is a trajectory JSON file, an `agent fix` run directory, or an `agent eval` run
    directory (a summary page linking to a page per task). The pages fetch nothing from the
    network; they can be copied or mailed as they are.
    """
    from agent.view import write_view
    from agent.view.serve import make_server, open_browser, url_of

    written = write_view(path, out, repo=repo)
    click.echo(f"{written.kind}: {len(written.pages)} page{'s' if len(written.pages) > 1 else ''}",
               err=True)
    if not serve:
        click.echo(str(written.index))
        if open_ and not open_browser(written.index.resolve().as_uri()):
            click.echo("no browser found here; open the file above in one", err=True)
        return
    server = make_server(written.root, port)
    url = url_of(server, written.index.name)
    click.echo(url)
    if open_ and not open_browser(url):
        click.echo("no browser found here; open the URL above in one", err=True)
    click.echo("serving until Ctrl-C", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
