"""``stageflow-verify COMMAND [ARGS]``: one console script for every command of the suite.

Each command is the ``main(argv)`` of its module, given the rest of the arguments unchanged, so
``stageflow-verify verify --checks 'context.*'`` is ``python -m stageflow_verify.core.run.verify
--checks 'context.*'`` and returns the same exit code (verify's 0/1/2/3). Modules are imported only
when their command runs: ``matrix`` and ``variables`` need nothing beyond the standard library and
must stay runnable before the virtualenv holds the suite's dependencies.

For example::

    stageflow-verify verify --checks 'graphs.*'
    stageflow-verify matrix verify --stageflow 0.5.1
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# command -> (module, what it does); the module's main(argv) returns the exit code.
COMMANDS: dict[str, tuple[str, str]] = {
    "verify": (
        "stageflow_verify.core.run.verify",
        "every check and finding against the imported stageflow",
    ),
    "nightly": (
        "stageflow_verify.core.run.nightly",
        "every check under the nightly profile, sharded",
    ),
    "matrix": (
        "stageflow_verify.core.run.matrix",
        "verify released stageflow versions side by side",
    ),
    "reach": (
        "stageflow_verify.core.run.reach",
        "verify under coverage.py over stageflow's in-scope modules",
    ),
    "modelcheck": (
        "stageflow_verify.core.run.modelcheck",
        "every schedule of small scenarios within a bound",
    ),
    "contracts": (
        "stageflow_verify.core.run.contracts",
        "CrossHair on the models' and the checker's contracts",
    ),
    "mutation": (
        "stageflow_verify.core.run.mutation",
        "planted and generated mutants of a stageflow copy",
    ),
    "replay": ("stageflow_verify.core.run.replay", "replay one failing row from its blob"),
    "variables": (
        "stageflow_verify.core.run.variables",
        "check the Makefile's variables (exit 2 on bad input)",
    ),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "usage: stageflow-verify COMMAND [ARGS...]\n\ncommands:\n" + "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"stageflow-verify: no command {command!r}\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    code: int = module.main(rest)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
