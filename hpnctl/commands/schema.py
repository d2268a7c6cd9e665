"""`hpnctl schema`: the intent reference (markdown) or the JSON Schema for editors."""
from __future__ import annotations

import json

import click


@click.command()
@click.option("--format", "fmt", type=click.Choice(["markdown", "json-schema"]), default="markdown")
@click.option("--update", "update_path", type=click.Path(dir_okay=False, exists=True),
              help="rewrite the reference between the markers in this file (e.g. README.md)")
def schema(fmt: str, update_path: str | None) -> None:
    """Print the intent reference (every key, unit and default) or its JSON Schema."""
    if update_path:
        from hpnctl.intent.reference import update_file

        changed = update_file(update_path)
        click.echo(f"{update_path}: {'updated' if changed else 'already current'}")
        return
    if fmt == "json-schema":
        from hpnctl.intent.schema import Intent

        click.echo(json.dumps(Intent.model_json_schema(), indent=2))
    else:
        from hpnctl.intent.reference import reference_markdown

        click.echo(reference_markdown())


COMMANDS = [schema]
