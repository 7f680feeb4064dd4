"""The ``recommender`` command line: the group and its commands, one module per group.

Options read only the environment variables they declare (``recommender.cli.common``);
``--help`` shows each one.
"""

from __future__ import annotations

import click

from recommender.cli.ab import ab
from recommender.cli.common import show_envvars
from recommender.cli.evaluate import evaluate_cmd, retrain_cmd
from recommender.cli.fresh import remove_cmd, status_cmd, upsert_cmd
from recommender.cli.models import rollback_cmd, versions_cmd
from recommender.cli.serve import serve_cmd
from recommender.cli.train import train_cmd

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="recommender")
def main() -> None:
    """Related posts for news sites: train offline, serve read-only."""


for _command in (train_cmd, versions_cmd, rollback_cmd, serve_cmd, evaluate_cmd, retrain_cmd,
                 upsert_cmd, remove_cmd, status_cmd, ab):
    main.add_command(_command)
show_envvars(main)

if __name__ == "__main__":  # pragma: no cover
    main()
