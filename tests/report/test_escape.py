"""Attacker text reaching another medium is escaped for that medium (escape.py): Slack mrkdwn
control sequences and spreadsheet formulas, played end to end through the notifier and the CSV
exports."""

from __future__ import annotations

import csv
import io

import pytest

from foureyes.deploy.record import SqliteRecord
from foureyes.report.escape import csv_cell, html, slack
from foureyes.report.notify import Notification, SlackNotifier


@pytest.mark.parametrize(
    "cell, shown",
    [
        (
            '=HYPERLINK("https://evil.example","open")',
            '\'=HYPERLINK("https://evil.example","open")',
        ),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("fraud-xgb@12", "fraud-xgb@12"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_csv_cells_never_start_a_formula(cell, shown):
    assert csv_cell(cell) == shown


def test_slack_control_sequences_are_text():
    assert slack("<!channel> <https://evil.example|your bank> & co") == (
        "&lt;!channel&gt; &lt;https://evil.example|your bank&gt; &amp; co"
    )
    assert (
        html('<img src=x onerror="alert(1)">') == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    )


def test_a_slack_message_cannot_ping_the_channel_or_spoof_a_link():
    note = Notification(
        "gate",
        "PR #7 <!channel>",
        "commit subject: <https://evil.example|approve here>",
        "https://github.com/acme/models/pull/7?a=1&b=<x>|y",
    )
    text = SlackNotifier("https://hooks.slack.example/T", frozenset({"gate"})).body(note)["text"]
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert text.endswith(" <https://github.com/acme/models/pull/7?a=1&amp;b=&lt;x&gt;%7Cy|open>")


def test_the_events_csv_export_carries_no_formula(repo, cli):
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    record.add_event(
        "deploy",
        "ok",
        '=HYPERLINK("https://evil.example","PR #7 approved")',
        "fraud-scorer",
        "staging",
    )
    record.close()
    rows = list(csv.reader(io.StringIO(cli("events", "--format", "csv").stdout)))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells and not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert '\'=HYPERLINK("https://evil.example","PR #7 approved")' in cells
