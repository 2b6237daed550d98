"""Escaping, one function per medium. Every text foureyes did not write itself (a model name, a
PR title, a commit subject, a co-author trailer) may be an attacker's, so what reaches Slack, a CSV
export or an HTML page goes through here. (The Actions log and workflow commands: report.py.)"""

from __future__ import annotations

import html as _html

# Spreadsheets run a cell that starts with one of these as a formula (=HYPERLINK(...), +cmd|...);
# a tab or carriage return lets a cell start one after the separator. OWASP's CSV injection advice:
# prefix such a cell with a single quote, which spreadsheets show as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def slack(text: object) -> str:
    """Slack mrkdwn: &, < and > are control characters (<!channel>, <https://x|spoofed link>) and
    must be sent as &amp;, &lt; and &gt; (Slack's "Formatting text for app surfaces")."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str) -> str:
    """A Slack link <url|label>: both escaped, and a `|` in the URL percent-encoded so it cannot end
    the URL early and put attacker text in the label."""
    return f"<{slack(url).replace('|', '%7C')}|{slack(label)}>"


def html(text: object) -> str:
    """Text and attribute values in HTML (quotes included)."""
    return _html.escape(str(text), quote=True)
