"""The ``patchgap`` command line: one typer app, sub-apps per resource.

Only this layer (and ``api``) reads settings and turns errors into exit statuses: a
``PatchgapError`` prints its one-line message to stderr as ``error: <message>`` and exits with status 2.
The global ``--db URL`` wins over ``PATCHGAP_DATABASE_URL``, which wins over ``./patchgap.db``.

Start-up is part of the interface (DESIGN.md): a command imports only what it uses. So the command
modules are not imported here: ``COMMANDS`` names the module that registers each top-level command
(its ``register(root)``, or its ``app`` added under the command's name) and the line ``patchgap --help``
shows for it; the root group imports a module when one of its commands is run, or asked for its own
help. ``tests/cli/test_startup.py`` checks that the listing equals the one the modules themselves give.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from core.settings import Settings
from core.text import UNSTORABLE_CHARACTER


class LazyCommand(TyperCommand):
    """Stands for a top-level command in the root's listing until the command itself is needed."""

    def __init__(self, name: str, module: str, help_text: str) -> None:
        super().__init__(name, help=help_text)
        self.module = module


# Top-level command -> (module that registers it, its help as `patchgap --help` lists it), in the
# order of that listing. A module may register several (cli.matching: match and why).
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": (
        "cli.ingest_command",
        'Ingest SBOM files as snapshots of one system; re-ingesting the same file reports "unchanged".',
    ),
    "match": ("cli.matching", "Match new package versions against the stored advisories and print counts."),
    "why": (
        "cli.matching",
        "Explain why a package of a system's latest snapshot is flagged, and what upgrade clears it.",
    ),
    "plan": (
        "cli.plan",
        "What to deploy first: upgrades ranked by the risk they remove, merged across systems.",
    ),
    "demo": (
        "cli.report",
        "Load the bundled demo fleet: weekly SBOMs, advisory snapshot, matching, VEX (idempotent).",
    ),
    "serve": ("cli.serve", "Serve the REST API and the dashboard (http://HOST:PORT/dashboard/)."),
    "worker": ("cli.worker", "Run scheduled jobs and queued uploads without serving HTTP, until SIGTERM."),
    "jobs": ("cli.jobs", "Scheduled jobs: list them, their runs, run one now."),
    "systems": ("cli.systems", "Deployed systems."),
    "components": ("cli.components", "Where the fleet runs a package, and which versions."),
    "snapshots": ("cli.snapshots", "SBOM snapshots of a system."),
    "sbom": ("cli.sbom", "SBOM files."),
    "db": ("cli.db", "Database administration."),
    "advisories": ("cli.advisories", "Advisories: import, sync, show, stats."),
    "report": ("cli.report", "Exposure and time-to-deploy reports."),
    "triage": ("cli.triage", "Analysis records: triage decisions with their history."),
    "vex": ("cli.vex", "VEX statements (OpenVEX, CycloneDX VEX): a view of the analysis records."),
    "sla": ("cli.sla", "SLA tiers per organization."),
    "keys": ("cli.keys", "API keys of an organization."),
    "export": ("cli.export", "Auditor exports: VEX documents, CRA register, NIS2 evidence, CISO report."),
    "orgs": ("cli.orgs", "Organizations: list them, mark CRA manufacturers."),
    "notify": ("cli.notify", "Notification rules (webhook, Slack, e-mail) and their deliveries."),
    "events": ("cli.events", "Events: what changed (exposures, SLA deadlines, stale systems, failures)."),
}
# Commands defined in this module, and where the listing shows them.
_LISTING_ORDER = (*list(COMMANDS)[:5], "version", *list(COMMANDS)[5:])


def new_app(**settings: Any) -> typer.Typer:
    """A typer app with the root's settings (the commands of a module are built on one, then moved over)."""
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, **settings)


def registered_commands(module_name: str, name: str) -> dict[str, Any]:
    """The click commands that the module ``module_name`` adds to a root, by name (imports the module)."""
    module = importlib.import_module(module_name)
    staging = new_app()
    register = getattr(module, "register", None)
    if register is not None:
        register(staging)
    else:
        staging.add_typer(module.app, name=name)
    return dict(typer.main.get_group(staging).commands)


class LazyGroup(TyperGroup):
    """The root group: lists every command from ``COMMANDS``, imports a command's module to run it."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        here: dict[str, Any] = dict(self.commands)
        listing = {
            name: here.pop(name, None) or LazyCommand(name, *COMMANDS[name]) for name in _LISTING_ORDER
        }
        self.commands = {**listing, **here}
        self._listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if isinstance(command, LazyCommand) and not self._listing:
            loaded = registered_commands(command.module, cmd_name)
            for name, real in loaded.items():
                if isinstance(self.commands.get(name), LazyCommand):
                    self.commands[name] = real
            command = self.commands[cmd_name]
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        # The listing needs names and help lines only: the placeholders give them without imports.
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = new_app(
    name="patchgap",
    help="Measure and close the patch-deployment gap.",
    no_args_is_help=True,
    cls=LazyGroup,
)


@app.callback()
def _root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Database URL (default: $PATCHGAP_DATABASE_URL, else sqlite:///./patchgap.db; "
            "postgresql+psycopg://user@host/db for PostgreSQL).",
        ),
    ] = None,
) -> None:
    """patchgap: which fixable vulnerabilities still run in production, and how fast fixes deploy."""
    ctx.obj = Settings.from_env(database_url=database_url)


@app.command()
def version() -> None:
    """Print patchgap's version."""
    from importlib.metadata import version as package_version

    typer.echo(package_version("patchgap"))


def refuse_undecodable(arguments: list[str]) -> None:
    """Exit 2 when an argument is not UTF-8: Python hands its bytes on as lone surrogates, which no
    database stores (the driver would fail with a traceback); argv cannot carry NUL at all."""
    for argument in arguments:
        if UNSTORABLE_CHARACTER.search(argument):
            typer.echo(f"error: command line: argument {argument!r} is not UTF-8 text", err=True)
            raise SystemExit(2)


def main() -> None:
    try:
        refuse_undecodable(sys.argv[1:])
        app()
    finally:
        # The process ends here. Shutting the interpreter down runs the cyclic collector over every
        # object still alive (SQLAlchemy and pydantic build many): measured 80-200 ms of each call's
        # wall time. Frozen objects are left to the operating system instead; files and connections
        # were closed by the command itself.
        gc.freeze()
