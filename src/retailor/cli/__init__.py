"""The ``retailor`` command line: serve, worker, import, keys, audit, quarantine, train, models,
recommend, evaluate, segments, policies, report, simulate, demo, db.

The group knows each command by the module that defines it and a one-line summary, and
imports a command's module only when that command runs or shows its own help: ``retailor
--help`` lists the commands without importing any of them, and each command pays only for
the libraries it uses.
"""

from __future__ import annotations

import importlib
from gettext import gettext as _
from typing import Any

import click

from retailor import __version__
from retailor.storage.permissions import restrict_new_files

#: command name -> ("module:attribute" in retailor.cli, its summary in ``retailor --help``).
#: The summary is the first sentence of the command's own help (a test keeps them alike).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve:serve", "Run the HTTP server on a data directory (created on first start)."),
    "worker": (
        "worker:worker",
        "Run the background jobs (scheduled retraining) without serving HTTP.",
    ),
    "import": ("imports:import_file", "Import a file of KIND into the data directory."),
    "keys": ("keys:keys", "API keys."),
    "audit": ("audit:audit", "The audit log: who did which admin or privacy action, newest first."),
    "db": ("database:db", "The database the storage setting names: its schema."),
    "quarantine": (
        "quarantine:quarantine",
        "Rejected input, kept with the reason and the raw payload.",
    ),
    "demo": (
        "demo:demo",
        "Start a server on a fresh data directory and show Retailor at work.",
    ),
    "train": ("training:train", "Train models from the event log."),
    "models": ("models:models", "Trained models: their versions, parameters and metrics."),
    "segments": (
        "segments:segments",
        "Segments of the customer base, defined over traits and events in time windows.",
    ),
    "experiments": (
        "experiments:experiments",
        "Experiments: their definitions, variants, phases and status.",
    ),
    "privacy": (
        "privacy:privacy",
        "Access and erasure requests: export a person's data, erase them, lift suppression.",
    ),
    "report": (
        "report:report",
        "Decisions and what they earned, by time and dimension (see docs/measurement.md).",
    ),
    "recommend": (
        "recommend:recommend",
        "Write the top K items for each customer as CSV: customer_id,rank,item_id,score,source.",
    ),
    "evaluate": (
        "evaluate:evaluate",
        "Evaluate Retailor's models against implicit ALS and popularity on your own history.",
    ),
    "policies": (
        "policies:policies",
        "Offer policies: evaluate alternatives offline on what was logged.",
    ),
    "simulate": (
        "simulate:simulate",
        "Simulate a retailer whose shoppers react to what Retailor shows them, and measure "
        "the lift in a closed-loop experiment.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are named in a table (``lazy``) and imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _sep, attribute = self.lazy[cmd_name][0].partition(":")
            command = getattr(importlib.import_module(f"retailor.cli.{module}"), attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands as click does, with the summaries of those not yet imported
        taken from the table (shortened to the width like any command's help)."""
        listed = [
            (name, self.commands.get(name) or click.Command(name, help=self.lazy[name][1]))
            for name in self.list_commands(ctx)
        ]
        listed = [(name, command) for name, command in listed if not command.hidden]
        if not listed:
            return
        limit = formatter.width - 6 - max(len(name) for name, _command in listed)
        with formatter.section(_("Commands")):
            formatter.write_dl(
                [(name, command.get_short_help_str(limit)) for name, command in listed]
            )


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="retailor")
def main() -> None:
    """Retailor: real-time retail personalization.

    Start with `retailor demo`, or `retailor keys create --scope admin` and
    `retailor serve`. Commands that work on a data directory take --data DIR (default
    ./data; `demo` makes ./demo-data, `simulate` a temporary one unless told).
    """
    restrict_new_files()  # the data directory holds personal data: files are 0600
