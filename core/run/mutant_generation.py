"""Generated mutants: cosmic-ray's operators over a copy of stageflow, one mutant at a time.

The hand-written catalog (``tests/quality/mutants.py``) measures the bugs we imagined; these
mutants come from an established tool, so they measure what we did not. Each one is a single
application of a cosmic-ray operator at one *occurrence* (cosmic-ray's own index of the places
that operator can change in a file), turned into source text by ``cosmic_ray.mutating.
mutate_code`` and written into a copy of the package; nothing of cosmic-ray's runner, work
database or test command is used, so :mod:`core.run.generated_mutation` scores every mutant with
our own verify.

Why cosmic-ray 8.7.0 and not mutmut 3.8.1 (both read at their source): cosmic-ray's operators
are plain classes (``mutation_positions(node)`` and ``mutate(node, index)`` over a parso tree)
and ``mutate_code(source, operator, occurrence)`` returns one mutant as ordinary source, exactly
what a copy of an installed package needs. mutmut 3 rewrites every function of a file into a
trampoline that picks the mutant at run time from ``MUTANT_UNDER_TEST`` and imports mutmut's
runtime; it expects its own ``mutants/`` tree and pytest runner, and the trampolines change the
code under test (signatures, frames, method binding) for every mutant, not only the mutated one.

Two rules decide which positions count:

- Positions inside annotations are left out. Every in-scope module starts with
  ``from __future__ import annotations``, so ``str | None`` -> ``str - None`` never runs:
  equivalent by construction, and they were most of the raw count (500 of 738 in
  ``stages/context.py``). They are counted and reported as ``skipped_in_annotations``.
- cosmic-ray's binary-operator replacement also offers stars that are not binary operators: the
  bare ``*`` of a keyword-only signature and the ``**`` of ``{**data}`` (``*,`` -> ``>>,`` is a
  syntax error, not a mutant). Only a ``*``/``**`` between two operands is kept; the rest are
  counted as ``skipped_unpacking_stars``.
- Operators that need arguments (``VariableReplacer``, ``VariableInserter``: cosmic-ray's
  targeted causal-analysis operators) and the ``NoOp`` control are not used.

A mutant's id is ``file:line:operator:occurrence`` (``stages/context.py:212:AddNot:3``); the
occurrence makes it unique and, for a given stageflow release, stable across runs and machines.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import parso
from cosmic_ray.ast import ast_nodes, get_ast
from cosmic_ray.mutating import mutate_code
from cosmic_ray.plugins import get_operator, operator_names

# The modules the existing machines model; issue 15's "done when" is measured on these.
# TODO(issue 15, item 1): core/run/reach.py lists the in-scope modules too; keep one list there
# and import it here once it lands.
MODELLED_MODULES = (
    "stages/context.py",
    "context/output_bag.py",
    "context/bag.py",
    "utils/frozen.py",
    "core/stage_output.py",
    "context/context_snapshot.py",
    "pipeline/subpipeline.py",
)
# In scope for issues 13-15 but not yet modelled closely: reported separately.
LATER_MODULES = (
    "pipeline/dag.py",
    "pipeline/interceptors.py",
    "pipeline/retry.py",
    "pipeline/idempotency.py",
    "pipeline/cancellation.py",
    "stages/inputs.py",
    "pipeline/results.py",
    "events/sink.py",
)
# Issue 16's files, scored on their own (a subset of the later modules).
INTERCEPTOR_MODULES = ("pipeline/interceptors.py", "pipeline/retry.py", "pipeline/idempotency.py")
MODULE_GROUPS = {
    "modelled": MODELLED_MODULES,
    "later": LATER_MODULES,
    "interceptors": INTERCEPTOR_MODULES,
    "all": MODELLED_MODULES + LATER_MODULES,
}

# Which verify rows can see a change in each file. A file missing here runs every check
# (empty globs): slower, never blind. The later modules run every check on purpose, since
# which machine reaches them is what issues 13-15 are about; issue 16's three files are mapped
# to the interceptor checks (a mutant another check would kill is reported survived: the
# mapping can only undercount kills).
CHECKS_BY_FILE: dict[str, tuple[str, ...]] = {
    "stages/context.py": (
        "context.*",
        "values.pipeline_context_*",
        "values.extract_service",  # extract_service lives in stages/context.py
        "subpipelines.spawn_tree",
        "finding.SF-CTX-*",
        "finding.SF-VAL-12",
    ),
    "context/output_bag.py": (
        "bags.output_bag_linearizable",
        "values.output_entry_to_dict",
        "graphs.run_dag",
        "finding.SF-VAL-08",  # absorbed SF-BAG-01: the caller's dict stays the output's
        "finding.SF-RUN-07",  # absorbed SF-BAG-02: readers share the stored output
        "finding.SF-VAL-09",
    ),
    "context/bag.py": ("bags.context_bag_linearizable",),  # SF-BAG-03 was withdrawn
    "utils/frozen.py": ("values.frozen_*", "finding.SF-VAL-0[1-4]"),
    "core/stage_output.py": (
        "values.stage_output_*",
        "values.output_entry_to_dict",
        "graphs.run_dag",
        "finding.SF-VAL-0[5-8]",
        "finding.SF-RUN-02",
    ),
    "context/context_snapshot.py": (
        "values.context_snapshot_*",
        "values.pipeline_context_*",
        "context.fork_tree",
        "finding.SF-VAL-11",
    ),
    # The stack machine and the findings about the stack (SF-RUN-*: the graph findings the
    # machine adopts). graphs.* and lifecycle.* run stacks too, but with them a mutant took
    # over 180 s (MUTANT_TIMEOUT) under a load of 14 (2026-12-02): scored without them.
    **dict.fromkeys(
        INTERCEPTOR_MODULES, ("interceptors.*", "finding.SF-INT-*", "finding.SF-RUN-*")
    ),
    "pipeline/subpipeline.py": (
        "subpipelines.*",
        "values.subpipeline_result_to_dict",
        "values.subpipeline_events",
        "finding.SF-SUB-*",
        # SF-VAL-10 (SubpipelineResult.to_dict) was withdrawn; its law still runs.
    ),
}

# ExceptionReplacer renames a handler's exception to this class, which nothing raises. cosmic-ray
# does not define it in the mutated module; we append a definition so the handler silently
# catches nothing (the operator's intent) instead of raising NameError when it is reached.
_NEVER_RAISED = "CosmicRayTestingException"
_NEVER_RAISED_DEFINITION = (
    f"\n\nclass {_NEVER_RAISED}(Exception):\n"
    '    """Appended by stageflow-verify: never raised, so its handler catches nothing."""\n'
)

Span = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class GeneratedMutant:
    """One operator applied at one occurrence in one file of the stageflow package."""

    file: str  # relative to the package: "stages/context.py"
    line: int
    operator: str  # cosmic-ray's name without the provider: "ReplaceComparisonOperator_Eq_NotEq"
    occurrence: int

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.operator}:{self.occurrence}"


def operators() -> list[str]:
    """cosmic-ray's core operators that take no arguments, in cosmic-ray's own order."""
    return [
        name.split("/", 1)[1]
        for name in operator_names()
        if name.startswith("core/") and not get_operator(name).arguments()
    ]


def _operator(name: str) -> Any:
    return get_operator(f"core/{name}")()


def _annotation_spans(tree: parso.tree.NodeOrLeaf) -> list[Span]:
    spans: list[Span] = []
    for node in ast_nodes(tree):
        annotation = None
        if node.type in ("param", "funcdef"):
            annotation = node.annotation
        elif node.type == "annassign":
            annotation = node.children[1]
        if annotation is not None:
            spans.append((annotation.start_pos, annotation.end_pos))
    return spans


# parso's node types for a binary operation: a star leaf under any other parent is unpacking
# or a signature marker.
_BINARY_PARENTS = frozenset(
    {"arith_expr", "term", "power", "shift_expr", "expr", "xor_expr", "and_expr"}
)


def _is_unpacking_star(operator: str, node: parso.tree.NodeOrLeaf) -> bool:
    parent = node.parent
    return (
        operator.startswith("ReplaceBinaryOperator_")
        and node.type == "operator"
        and parent is not None
        and parent.type not in _BINARY_PARENTS
    )


def _inside(position: Span, spans: Iterable[Span]) -> bool:
    start, end = position
    return any(low <= start and end <= high for low, high in spans)


@dataclass(frozen=True)
class FileMutants:
    mutants: tuple[GeneratedMutant, ...]
    skipped_in_annotations: int
    skipped_unpacking_stars: int


def generate_file(package: Path, file: str) -> FileMutants:
    """Every mutant of ``file`` (relative to ``package``), in operator then occurrence order."""
    tree = get_ast((package / file).read_text())
    spans = _annotation_spans(tree)
    found: list[GeneratedMutant] = []
    in_annotations = unpacking_stars = 0
    for name in operators():
        operator = _operator(name)
        occurrence = 0  # counts every position, skipped or not: it is cosmic-ray's index
        for node in ast_nodes(tree):
            for position in operator.mutation_positions(node):
                if _inside(position, spans):
                    in_annotations += 1
                elif _is_unpacking_star(name, node):
                    unpacking_stars += 1
                else:
                    found.append(GeneratedMutant(file, position[0][0], name, occurrence))
                occurrence += 1
    return FileMutants(tuple(found), in_annotations, unpacking_stars)


def generate(package: Path, files: Sequence[str]) -> dict[str, FileMutants]:
    return {file: generate_file(package, file) for file in files}


def mutated_source(package: Path, mutant: GeneratedMutant) -> str:
    """The source of ``mutant.file`` with the mutant applied (raises if it no longer applies)."""
    source = (package / mutant.file).read_text()
    mutated: str | None = mutate_code(source, _operator(mutant.operator), mutant.occurrence)
    if mutated is None or mutated == source:
        raise ValueError(f"{mutant.id}: the operator changes nothing at this occurrence")
    if _NEVER_RAISED in mutated and _NEVER_RAISED not in source:
        mutated += _NEVER_RAISED_DEFINITION
    return mutated


def apply_generated(package: Path, mutant: GeneratedMutant) -> None:
    """Apply ``mutant`` to the package copy at ``package``, in place."""
    text = mutated_source(package, mutant)
    (package / mutant.file).write_text(text)


def parse_sample(text: str) -> int | None:
    """``MUTATION_SAMPLE``: a count >= 0, or ``all`` (None). Raises ValueError otherwise."""
    if text.strip().lower() == "all":
        return None
    if not text.strip().isdigit():
        raise ValueError(f"MUTATION_SAMPLE must be a count >= 0 or 'all', not {text!r}")
    return int(text)


def sample(
    mutants: Sequence[GeneratedMutant], size: int | None, seed: int
) -> list[GeneratedMutant]:
    """``size`` mutants drawn with ``seed`` (all of them if None), in the order drawn: the same
    seed, size and stageflow give the same list on every machine, and any prefix of the list
    is itself a uniform sample, so a run cut short still measures every module fairly."""
    order = list(range(len(mutants)))
    random.Random(seed).shuffle(order)  # one permutation, cut to size: prefixes agree
    return [mutants[i] for i in order[: len(order) if size is None else size]]
