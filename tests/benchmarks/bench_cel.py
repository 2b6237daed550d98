"""Benchmark: the two CEL implementations on PyPI, on a realistic transition rule.

Compares `cel-python` (module `celpy`, pure Python on lark) and `common-expression-language`
(module `cel`, Python bindings of the Rust cel crate): import time, compile time, evaluation
time, and what a compile and a runtime error say (a rule author needs the line and column).
Install time and size are measured from the shell (fresh venv, `pip install --no-cache-dir`).
Not part of the test run.

Usage: pip install cel-python common-expression-language && python tests/benchmarks/bench_cel.py
"""

from __future__ import annotations

import subprocess
import sys
import timeit

RULE = """
event.type == "replace_model" && after.importance in ["critical", "high"]
  && has(before.metrics.auc)
  && (!has(after.metrics.auc) || after.metrics.auc < before.metrics.auc - 0.01)
  && !pr.labels.exists(l, l == "accept-regression")
"""
BROKEN = 'after.metrics.auc >= before.metrics.auc -\n  && pr.body.contains("Downgrade:")'
RUNTIME = "after.metrics.auc > 0.5"  # `auc` is missing in the activation below

CONTEXT = {
    "event": {"type": "replace_model", "level": "critical"},
    "before": {
        "name": "fraud-scorer",
        "importance": "critical",
        "metrics": {"auc": 0.93},
        "model": {"name": "fraud-xgb", "version": "12", "uri": "models:/fraud-xgb/12"},
    },
    "after": {
        "name": "fraud-scorer",
        "importance": "critical",
        "metrics": {"auc": 0.90},
        "model": {"name": "fraud-xgb", "version": "13", "uri": "models:/fraud-xgb/13"},
    },
    "pr": {"author": "dana", "labels": ["hotfix"], "body": "Serve v13."},
}
MISSING = {**CONTEXT, "after": {**CONTEXT["after"], "metrics": {}}}


def import_time(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )


def error_of(fn) -> str:
    try:
        fn()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:300]!r}"
    return "(no error)"


def bench_cel_python() -> dict:
    import celpy

    env = celpy.Environment()
    program = env.program(env.compile(RULE))
    activation = {k: celpy.json_to_cel(v) for k, v in CONTEXT.items()}
    missing = {k: celpy.json_to_cel(v) for k, v in MISSING.items()}
    assert bool(program.evaluate(activation)) is True
    n = 200
    return {
        "import_s": import_time("celpy"),
        "compile_ms": timeit.timeit(lambda: env.program(env.compile(RULE)), number=n) / n * 1000,
        "evaluate_ms": timeit.timeit(
            lambda: program.evaluate({k: celpy.json_to_cel(v) for k, v in CONTEXT.items()}),
            number=n,
        )
        / n
        * 1000,
        "compile_error": error_of(lambda: env.compile(BROKEN)),
        "runtime_error": error_of(lambda: env.program(env.compile(RUNTIME)).evaluate(missing)),
    }


def bench_common_expression_language() -> dict:
    import cel

    program = cel.compile(RULE)
    assert program.execute(CONTEXT) is True
    n = 2000
    return {
        "import_s": import_time("cel"),
        "compile_ms": timeit.timeit(lambda: cel.compile(RULE), number=n) / n * 1000,
        "evaluate_ms": timeit.timeit(lambda: program.execute(CONTEXT), number=n) / n * 1000,
        "compile_error": error_of(lambda: cel.compile(BROKEN)),
        "runtime_error": error_of(lambda: cel.compile(RUNTIME).execute(MISSING)),
    }


def main() -> None:
    for name, bench in (
        ("cel-python", bench_cel_python),
        ("common-expression-language", bench_common_expression_language),
    ):
        try:
            found = bench()
        except ImportError as exc:
            print(f"{name}: not installed ({exc})")
            continue
        print(f"{name}:")
        for key, value in found.items():
            print(f"  {key:14} {value:.3f}" if isinstance(value, float) else f"  {key:14} {value}")


if __name__ == "__main__":
    main()
