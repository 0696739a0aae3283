"""``make contracts``: CrossHair's diffbehavior on Stageflow's pure value functions vs their models.

Each :class:`Pair` names a typed wrapper in ``core/sut/values.py`` (real Stageflow code behind a
concrete signature) and the function of the same name in ``models/values.py`` (the docstring's
promise, written out). ``crosshair diffbehavior`` searches symbolically for an input on which
the two return different values, for at most ``--per-condition-timeout`` CPU seconds per pair;
pairs run in parallel, one per CPU, and the whole run stops at ``--total-timeout``.

Registered findings are adopted the same way the Hypothesis laws adopt them: while a pair's
finding still reproduces, Stageflow is compared with the model that *adopts* the deviation
(``<name>_<finding>`` in models/values.py), so CrossHair keeps hunting for any other
difference. A pair with no adopting model exists only to show its finding; a difference
there is reported KNOWN.

Rows: SAME (no difference within the bound: a bounded search, not a proof), KNOWN, DIFF (a
difference nobody registered: exit 1), UNKNOWN (killed by the wall-clock bound; exit 3 if
nothing is DIFF, since a search that did not finish must not pass silently).

For example::

    .venv/bin/python -m properties.diffbehavior --per-condition-timeout 5 --total-timeout 300
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from stageflow_verify.core.run.bounded import run_bounded
from stageflow_verify.core.run.checks import discover_findings, reproducing_ids

SUT_MODULE = "stageflow_verify.core.sut.values"
MODEL_MODULE = "stageflow_verify.models.values"
_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Pair:
    """``name`` in both modules; ``finding`` explains a known difference, which the model
    ``<name>_<finding id>`` adopts when ``adopted`` (else the pair exists to show it)."""

    name: str
    finding: str | None = None
    adopted: bool = True


PAIRS = (
    Pair("frozen_dict_lookup"),
    Pair("frozen_dict_equal"),
    Pair("frozen_dict_hash_agrees", "SF-VAL-02", adopted=False),
    Pair("frozen_list_lookup"),
    Pair("stage_output_ok", "SF-VAL-05"),
    Pair("stage_output_skip", "SF-VAL-06"),
    Pair("stage_output_cancel", "SF-VAL-06"),
    Pair("stage_output_fail", "SF-VAL-07"),
    Pair("stage_output_retry"),
    Pair("stage_output_with_duration"),
    Pair("extract_service"),
)


@dataclass(eq=False)
class Outcome:
    pair: Pair
    model: str
    status: str = "UNKNOWN"
    seconds: float = 0.0
    detail: str = ""


def _model_name(pair: Pair, active: frozenset[str]) -> str:
    if pair.finding in active and pair.adopted:
        return f"{pair.name}_{pair.finding.lower().replace('-', '_')}"
    return pair.name


def _command(pair: Pair, model: str, per_condition: float) -> list[str]:
    crosshair = str(Path(sys.executable).with_name("crosshair"))
    return [
        crosshair, "diffbehavior", f"{SUT_MODULE}.{pair.name}", f"{MODEL_MODULE}.{model}",
        "--per_condition_timeout", str(per_condition),
    ]  # fmt: skip


def _classify(outcome: Outcome, returncode: int, output: str, active: frozenset[str]) -> None:
    if returncode == 0:
        outcome.status = "SAME"
    elif "Given:" in output and outcome.pair.finding in active:
        outcome.status = "KNOWN"
    elif "Given:" in output:
        outcome.status = "DIFF"
    else:  # crosshair itself failed (import error, bad signature): nobody checked anything
        outcome.status = "UNKNOWN"
    outcome.detail = output.strip()


def run_pairs(
    pairs: tuple[Pair, ...], per_condition: float, total: float, jobs: int
) -> list[Outcome]:
    """Run every pair, ``jobs`` at a time, and stop everything at ``total`` wall seconds."""
    active = reproducing_ids(f for f in discover_findings() if f.id.startswith("SF-VAL-"))
    outcomes = [Outcome(p, _model_name(p, active)) for p in pairs]
    commands = [_command(o.pair, o.model, per_condition) for o in outcomes]
    deadline = time.monotonic() + total
    finished = run_bounded(commands, jobs=jobs, deadline=deadline, cwd=_ROOT)
    for outcome, result in zip(outcomes, finished, strict=True):
        outcome.seconds = result.seconds
        if result.returncode is None:
            outcome.detail = result.output
        else:
            _classify(outcome, result.returncode, result.output, active)
    return outcomes


def render(outcomes: list[Outcome]) -> str:
    width = max(len(o.pair.name) for o in outcomes)
    lines = [f"{'pair':<{width}}  status   finding    seconds  model", "-" * (width + 48)]
    for o in outcomes:
        finding = o.pair.finding or "-"
        lines.append(
            f"{o.pair.name:<{width}}  {o.status:<7}  {finding:<9}  {o.seconds:7.1f}  {o.model}"
        )
    for o in outcomes:
        if o.status in ("DIFF", "UNKNOWN", "KNOWN") and o.detail:
            lines += ["", f"{o.status} {o.pair.name}:", _shorten(o.detail)]
    return "\n".join(lines)


def _shorten(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + "\n... (truncated)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stageflow_verify.properties.diffbehavior", description=__doc__
    )
    parser.add_argument("--per-condition-timeout", type=float, default=5.0, metavar="S")
    parser.add_argument("--total-timeout", type=float, default=300.0, metavar="S")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    start = time.monotonic()
    outcomes = run_pairs(PAIRS, args.per_condition_timeout, args.total_timeout, args.jobs)
    print(render(outcomes))
    statuses = [o.status for o in outcomes]
    print(
        f"\n{len(outcomes)} pairs in {time.monotonic() - start:.0f} s: "
        + ", ".join(f"{statuses.count(s)} {s}" for s in ("SAME", "KNOWN", "DIFF", "UNKNOWN"))
    )
    if "DIFF" in statuses:
        return 1
    return 3 if "UNKNOWN" in statuses else 0


if __name__ == "__main__":
    sys.exit(main())
