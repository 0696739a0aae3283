"""Pure reference versions of Stageflow's value-type functions, written from their docstrings.

Each function here has the name and signature of a typed wrapper in ``core/sut/values.py`` and
computes what Stageflow's documentation (or, where it is silent, a user's reasonable reading)
says the real function returns. ``python -m properties.diffbehavior`` asks CrossHair for an
input on which the two disagree; the PEP 316 ``pre:``/``post:`` lines state the same promises as
contracts, so ``crosshair check models/values.py`` can check the models on their own.

The models are deliberately plain: a dict for FrozenDict, a tuple for FrozenList, a tuple
``(status, data, error, duration_ms, version)`` for a StageOutput. Where the model and Stageflow
differ by design, the difference is a registered finding (``properties/diffbehavior.py`` maps
each pair to the findings that explain its differences).

For example::

    stage_output_ok({"a": 1}, {"b": 2}, "v1")   # ("ok", {"a": 1, "b": 2}, None, None, "v1")
    extract_service("voice_accurate")            # "voice"
"""

from __future__ import annotations

from typing import Any

OutputTuple = tuple[str, dict[str, Any], str | None, int | None, str | None]


def frozen_dict_lookup(items: dict[int, int], key: int, default: int) -> tuple[bool, int, int]:
    """Membership, ``get`` with a default, and length of a read-only view of ``items``.

    post: __return__[0] == (key in items)
    post: __return__[2] == len(items)
    """
    return key in items, items.get(key, default), len(items)


def frozen_dict_equal(a: dict[int, int], b: dict[int, int]) -> bool:
    """Two frozen dicts are equal exactly when their items are (the Mapping contract).

    post: __return__ == (a == b)
    """
    return a == b


def frozen_dict_hash_agrees(a: dict[int, int], b: dict[int, str]) -> bool:
    """Equal hashable objects have equal hashes, so this is always True.

    post: __return__
    """
    return True


def frozen_list_lookup(items: list[int], index: int) -> tuple[int, int, bool]:
    """Length, the element at ``index`` (or -1 when out of range), and membership of ``index``.

    post: __return__[0] == len(items)
    """
    found = items[index] if -len(items) <= index < len(items) else -1
    return len(items), found, index in items


def stage_output_ok(
    data: dict[str, int], extra: dict[str, int], version: str | None
) -> OutputTuple:
    """``StageOutput.ok(data, version=v, **extra)``: every key the caller passed is kept.

    The docstring says only "Create a successful output"; a caller who passes both a dict and
    keywords reasonably expects both (keywords win on a clash, as in ``{**data, **extra}``).

    post: __return__[0] == "ok"
    post: __return__[4] == version
    """
    extra = {k: v for k, v in extra.items() if k not in ("data", "version")}
    return ("ok", {**data, **extra}, None, None, version)


def stage_output_skip(reason: str, data: dict[str, int], version: str | None) -> OutputTuple:
    """``StageOutput.skip``: the reason is recorded under "reason", next to the caller's data.

    post: __return__[1]["reason"] == reason
    """
    return ("skip", {**data, "reason": reason}, None, None, version)


def stage_output_cancel(reason: str, data: dict[str, int], version: str | None) -> OutputTuple:
    """``StageOutput.cancel``: the reason is recorded under "cancel_reason".

    post: __return__[1]["cancel_reason"] == reason
    """
    return ("cancel", {**data, "cancel_reason": reason}, None, None, version)


def stage_output_fail(
    error: str | None, response: str | None, data: dict[str, int], version: str | None
) -> OutputTuple:
    """``StageOutput.fail``: ``error`` wins over its alias ``response``; "Unknown error" if neither.

    post: __return__[2] in (error, response, "Unknown error")
    """
    message = error if error is not None else response if response is not None else "Unknown error"
    return ("fail", dict(data), message, None, version)


def stage_output_retry(error: str, data: dict[str, int], version: str | None) -> OutputTuple:
    """``StageOutput.retry``: the error and data as given.

    post: __return__[2] == error
    """
    return ("retry", dict(data), error, None, version)


def stage_output_with_duration(
    data: dict[str, int], error: str | None, duration_ms: int
) -> OutputTuple:
    """``with_duration`` keeps every field but sets ``duration_ms``.

    post: __return__[3] == duration_ms
    """
    return ("fail", dict(data), error, duration_ms, None)


def extract_service(topology: str | None) -> str | None:
    """The service of a topology: None for None and for kernel names ("fast_kernel"), the part
    before the last underscore for pipeline names ("chat_fast" -> "chat"), and the topology
    itself when that part is empty or there is no underscore.

    post: topology is not None or __return__ is None
    post: __return__ is None or __return__ != ""  or topology == ""
    """
    if topology is None or topology.endswith("_kernel"):
        return None
    head, sep, _ = topology.rpartition("_")
    return head if sep and head else topology


# --- the models above, adopting registered findings ------------------------------------------
# While a finding reproduces, diffbehavior compares Stageflow with the model that adopts it, so
# CrossHair keeps searching for *other* differences instead of re-finding the known one.


def stage_output_ok_sf_val_05(
    data: dict[str, int], extra: dict[str, int], version: str | None
) -> OutputTuple:
    """SF-VAL-05: keyword data is kept only when the data dict is empty.

    post: __return__[4] == version
    """
    extra = {k: v for k, v in extra.items() if k not in ("data", "version")}
    return ("ok", dict(data) if data else extra, None, None, version)


def stage_output_skip_sf_val_06(
    reason: str, data: dict[str, int], version: str | None
) -> OutputTuple:
    """SF-VAL-06: a "reason" key in data wins over the reason argument.

    post: "reason" in __return__[1]
    """
    return ("skip", {"reason": reason, **data}, None, None, version)


def stage_output_cancel_sf_val_06(
    reason: str, data: dict[str, int], version: str | None
) -> OutputTuple:
    """SF-VAL-06: a "cancel_reason" key in data wins over the reason argument.

    post: "cancel_reason" in __return__[1]
    """
    return ("cancel", {"cancel_reason": reason, **data}, None, None, version)


def stage_output_fail_sf_val_07(
    error: str | None, response: str | None, data: dict[str, int], version: str | None
) -> OutputTuple:
    """SF-VAL-07: an empty error (or response) counts as not given.

    post: __return__[2] != ""
    """
    return ("fail", dict(data), error or response or "Unknown error", None, version)
