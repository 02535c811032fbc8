"""The ``retailor`` command line: serve, import, keys, quarantine, train, models,
recommend, evaluate, segments, policies, simulate, demo."""

from __future__ import annotations

import click

from retailor import __version__
from retailor.cli.demo import demo
from retailor.cli.evaluate import evaluate
from retailor.cli.imports import import_file
from retailor.cli.keys import keys
from retailor.cli.models import models
from retailor.cli.policies import policies
from retailor.cli.quarantine import quarantine
from retailor.cli.recommend import recommend
from retailor.cli.segments import segments
from retailor.cli.serve import serve
from retailor.cli.simulate import simulate
from retailor.cli.training import train
from retailor.storage.permissions import restrict_new_files


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="retailor")
def main() -> None:
    """Retailor: real-time retail personalization.

    Start with `retailor demo`, or `retailor keys create --scope admin` and
    `retailor serve`. Commands that work on a data directory take --data DIR (default
    ./data; `demo` makes ./demo-data, `simulate` a temporary one unless told).
    """
    restrict_new_files()  # the data directory holds personal data: files are 0600


main.add_command(serve)
main.add_command(import_file)
main.add_command(keys)
main.add_command(quarantine)
main.add_command(demo)
main.add_command(train)
main.add_command(models)
main.add_command(segments)
main.add_command(recommend)
main.add_command(evaluate)
main.add_command(policies)
main.add_command(simulate)
