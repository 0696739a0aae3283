"""`make wheel-check`: see :mod:`tests.wheel.installed`."""

from __future__ import annotations

from tests.wheel.installed import main

if __name__ == "__main__":
    raise SystemExit(main())
