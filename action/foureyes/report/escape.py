"""Escaping, one function per medium. Every text foureyes did not write itself (a model name, a
PR title, a commit subject, a co-author trailer, a file path) may be an attacker's, so what reaches
Slack, a CSV export, an HTML page, a PR comment or step summary (Markdown) or the Actions log goes
through here."""

from __future__ import annotations

import html as _html
import re

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


# --- Markdown: PR comments and step summaries ---------------------------------------------------

# GitHub renders a comment as GitHub Flavored Markdown, raw HTML included (<a href>, <img>,
# <details>): GitHub docs, "Basic writing and formatting syntax". GFM lets any ASCII punctuation be
# escaped with a backslash (GFM spec, "Backslash escapes"); &, < and > become entities instead, so
# no
# tag, comment or entity survives. Escaped everywhere: what acts inside a line (code, emphasis,
# links and images, table cells, strikethrough, math); at the start: what starts a block (a heading,
# a list, a setext underline); and the autolinks GFM makes of bare URLs and www. names. A line
# break would start a new block, so the text is put on one line. The rest stays as it reads.
# (an underscore inside a word, snake_case, never starts emphasis: GFM spec, "Emphasis", rule 2)
_MARKDOWN_INLINE = re.compile(r"([\\`*\[\]|~$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MARKDOWN_BLOCK_START = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<=\bwww)(\.)")
_HTML_SPECIALS = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# GitHub turns `@login` and `@org/team` in a comment into a mention, which notifies them, and `#12`,
# `owner/repo#12`, `GH-12` and `login@1a2b3c4` (a commit) into references, which link and may
# notify that issue (GitHub docs, "Basic writing and formatting syntax": "Mentioning people and
# teams"; "Autolinked references and URLs"). A zero-width space after the sign (or after `GH`)
# keeps the text as it reads and stops them, as Renovate's PR bodies do (`@&#8203;`); a code span
# would stop them too, but reads as code.
# An `@` after an ASCII letter, digit or underscore starts no mention (GitHub's open-source
# html-pipeline, MentionFilter: a mention follows the start or a non-word character, `(?:^|\W)@`),
# so an e-mail address keeps its plain `@` and copies as typed, unless a commit id follows it. The
# choice costs one link: GFM makes `dana@acme.example` a mailto autolink (GFM spec, "Autolinks
# (extension)"), which the zero-width space used to break; its text is its own target, so it can
# neither hide where it goes nor notify anyone.
# (each alternative starts with its sign and looks behind from there, so the search skips to the
# next sign instead of trying every position)
_MENTION_OR_REFERENCE = re.compile(
    r"#(?=[A-Za-z0-9])"
    r"|@(?<![A-Za-z0-9_]@)(?=[A-Za-z0-9])"
    r"|@(?<=[A-Za-z0-9_]@)(?=[0-9A-Fa-f]{7,40}(?![A-Za-z0-9]))"
    r"|[Gg][Hh](?<![A-Za-z0-9][Gg][Hh])(?=-[0-9])"
)


def markdown(text: object) -> str:
    """Attacker text as inline Markdown that renders as the same text: no HTML, no link (but an
    e-mail address's own mailto), no emphasis, no table cell break, no block, no mention or
    cross-reference, one line."""
    plain = re.sub(r"[\r\n]+", " ", "" if text is None else str(text))
    plain = _MARKDOWN_INLINE.sub(r"\\\1", plain)
    plain = _AUTOLINK.sub(lambda m: "\\" + m.group(0), plain)
    plain = _MARKDOWN_BLOCK_START.sub(
        lambda m: (
            m.group(1) + "\\" + m.group(2)
            if not m.group(2).isdigit()
            else m.group(1) + m.group(2) + "\\"
        ),
        plain,
    )
    plain = "".join(_HTML_SPECIALS.get(c, c) for c in plain)
    return _MENTION_OR_REFERENCE.sub(r"\g<0>&#8203;", plain)


def title(text: object) -> str:
    """Attacker text in a PR title or a commit subject: one line, no control character, no
    mention or cross-reference. A title renders inline code only (so nothing else is escaped, and
    the zero-width space is the character itself, not an entity); a mention in a commit message
    notifies when the commit is pushed or merged."""
    plain = re.sub(r"[\x00-\x1f\x7f]+", " ", "" if text is None else str(text))
    return _MENTION_OR_REFERENCE.sub("\\g<0>\u200b", plain)


def markdown_lines(text: object) -> list[str]:
    """Each line of attacker text (a PR description) through ``markdown``, the lines kept."""
    return [markdown(line) for line in ("" if text is None else str(text)).splitlines()]


def markdown_code(text: object) -> str:
    """Attacker text as an inline code span: HTML and Markdown are literal inside one, but a
    backtick would close it (so the fence is longer than any run inside) and a `|` would still end
    a table cell (GFM spec, "Tables": escape it as \\|)."""
    plain = re.sub(r"[\r\n]+", " ", "" if text is None else str(text))
    longest = max((len(run) for run in re.findall(r"`+", plain)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if plain.startswith("`") or plain.endswith("`") else ""
    return f"{fence}{pad}{plain.replace('|', chr(92) + '|')}{pad}{fence}"


# --- the Actions log ------------------------------------------------------------------------------

# Workflow commands (GitHub docs, "Workflow commands for GitHub Actions"): the runner reads a step's
# output line by line (\r and \n end a line), takes a line whose text starts with `::` after leading
# spaces as a command, and the older form `##[command]` anywhere in a line (actions/runner,
# src/Runner.Common/ActionCommand.cs: TryParseV2 trims, TryParse uses IndexOf). So no text foureyes
# did not write may begin a line with `::` or carry `##[`: a model version "1\n::add-mask::..."
# would otherwise print a line the runner obeys. The docs' escaping of a command's own data and
# properties is ``command_data`` / ``command_property``.


def _defuse(s: str) -> str:
    return s.replace("##[", "#%23[")


def _defuse_start(line: str) -> str:
    body = line.lstrip()
    if body.startswith("::"):
        return line[: len(line) - len(body)] + "%3A%3A" + body[2:]
    return line


def actions_log(text: object) -> str:
    """Text for the Actions log, its lines kept: no line can start a workflow command."""
    lines = re.split(r"\r\n|\r|\n", "" if text is None else str(text))
    return "\n".join(_defuse_start(_defuse(line)) for line in lines)


def actions_log_line(text: object) -> str:
    """Text for the Actions log as one physical line (a line break is a value's: %0D, %0A)."""
    one = ("" if text is None else str(text)).replace("\r", "%0D").replace("\n", "%0A")
    return _defuse_start(_defuse(one))


def actions_log_json(text: str) -> str:
    """JSON text for the Actions log: a JSON line cannot start with `::` (strings escape line
    breaks) and `##[` only occurs inside a string, where `#\\u0023[` is the same value."""
    return text.replace("##[", "#\\u0023[")


def command_data(s: str) -> str:
    """A workflow command's message: %, CR and LF percent-encoded, as the runner decodes them."""
    return _defuse(s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def command_property(s: str) -> str:
    """A workflow command's property value (file=, title=): also : and , encoded."""
    return command_data(s).replace(":", "%3A").replace(",", "%2C")
