"""`hpnctl schema`: the intent reference (markdown) or the JSON Schema for editors."""
from __future__ import annotations

import json

import click


@click.command()
@click.option("--format", "fmt", type=click.Choice(["markdown", "json-schema"]), default="markdown")
def schema(fmt: str) -> None:
    """Print the intent reference (every key, unit and default) or its JSON Schema."""
    if fmt == "json-schema":
        from hpnctl.intent.schema import Intent

        click.echo(json.dumps(Intent.model_json_schema(), indent=2))
    else:
        from hpnctl.intent.reference import reference_markdown

        click.echo(reference_markdown())


COMMANDS = [schema]
