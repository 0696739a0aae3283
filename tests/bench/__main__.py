"""`make bench`: run every tests/bench/bench_*.py module's ``main()`` in name order.

Benchmarks measure speed and detection power and print what they measured; they never assert on
wall times (tests don't either).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import tests.bench as package


def main() -> int:
    names = sorted(i.name for i in pkgutil.iter_modules(package.__path__))
    selected = [n for n in names if n.startswith("bench_")]
    only = sys.argv[1:]
    for name in selected:
        if only and not any(o in name for o in only):
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(f"tests.bench.{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
