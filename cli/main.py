"""The ``patchgap`` command line: one typer app, sub-apps per resource.

Only this layer (and ``api``) reads settings and turns errors into exit statuses: a
``PatchgapError`` prints its one-line message to stderr and exits with status 2.
"""

from __future__ import annotations

from importlib.metadata import version as package_version

import typer

app = typer.Typer(
    name="patchgap",
    help="Measure and close the patch-deployment gap.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """patchgap: which fixable vulnerabilities still run in production, and how fast fixes deploy."""


@app.command()
def version() -> None:
    """Print patchgap's version."""
    typer.echo(package_version("patchgap"))


def main() -> None:
    app()
