"""The streams a command writes to: lines, JSON, tables (text, json, csv) and warnings. Inside
GitHub Actions output.guard_streams has put a guard on both streams; JSON goes through json_text."""

from __future__ import annotations

import sys

import click


def say(text: object = "", err: bool = False, nl: bool = True) -> None:
    """One piece of text for a reader, on stdout (or stderr)."""
    click.echo(text, err=err, nl=nl)


def error(message: str) -> None:
    """An error line on stderr: it may quote user text, which the stream guard escapes in Actions."""
    click.echo(message, err=True)


def json_dump(data: object, sort_keys: bool = False) -> None:
    import json

    from .output import json_text

    say(json_text(json.dumps(data, indent=2, sort_keys=sort_keys)))


def warn(message: str) -> None:
    """A warning: an annotation in Actions, a `warning:` line on stderr elsewhere."""
    import os

    if os.environ.get("GITHUB_ACTIONS") == "true":
        from .output import command
        from .reporters import annotation

        command(annotation("warning", message, title="foureyes"), sys.stderr)
    else:
        click.echo(f"warning: {message}", err=True)


def table(fmt: str, rows: list[dict], text: str, csv_columns: list[str]) -> None:
    """Rows as JSON, as CSV (each cell escaped against spreadsheet formulas) or as ``text``."""
    import csv
    import io
    import json

    from .escape import csv_cell

    if fmt == "json":
        json_dump(rows, sort_keys=True)
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=csv_columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: csv_cell(
                        " ".join(map(str, v))
                        if isinstance(v, list)
                        else json.dumps(v, sort_keys=True)
                        if isinstance(v, dict)
                        else v
                    )
                    for k, v in row.items()
                }
            )
        say(out.getvalue(), nl=False)
    else:
        say(text)
