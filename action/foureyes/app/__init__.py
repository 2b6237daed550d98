"""The use cases behind the commands: one module per command, each a ``run(request) -> result``
over plain dataclasses. No click, no printing, no exit: cli/ parses into the request and hands the
result to a reporter in report/; what a use case must say while it works (a deploy step, a
warning) it says through a callback the command passes in."""
