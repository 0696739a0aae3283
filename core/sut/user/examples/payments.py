"""A retried WORK stage that charges a card, made safe by an idempotency key (a double charge
planted).

The pattern is Stageflow's idempotency guide (``docs/advanced/idempotency.md:18``: "every WORK
stage that mutates external state should set an idempotency key before the stage executes";
``:14``, background jobs with retries "collapse duplicate retries") together with a
``RetryInterceptor`` for transient errors (``docs/advanced/retry-backoff.md:323``). The context
carries ``ctx.data["idempotency_key"]`` (``docs/advanced/idempotency.md:25``); the ``charge``
stage sends it to the payment gateway with the charge, and the gateway, as real ones do,
answers a repeated key with the first charge's receipt instead of charging again.

The fault that matters is a lost answer: the gateway charged, and the connection failed on the
way back. ``RetryInterceptor`` retries the ``ConnectionError``; ``buggy=True`` leaves the key
out, so the retry charges the customer a second time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import stageflow as sf
from stageflow.pipeline.interceptors import get_default_interceptors
from stageflow.pipeline.retry import JitterStrategy, RetryInterceptor

ORDER = "order-7"


class Gateway:
    """An in-memory payment gateway: a request travels, the charge is booked, the answer
    travels back; a repeated idempotency key gets the first receipt."""

    def __init__(self) -> None:
        self.ledger: list[tuple[str, int]] = []
        self.receipts: dict[str, str] = {}

    async def charge(self, order: str, cents: int, *, idempotency_key: str | None) -> str:
        await asyncio.sleep(0.01)  # the request travels
        if idempotency_key is not None and idempotency_key in self.receipts:
            receipt = self.receipts[idempotency_key]
        else:
            self.ledger.append((order, cents))
            receipt = f"receipt-{len(self.ledger)}"
            if idempotency_key is not None:
                self.receipts[idempotency_key] = receipt
        await asyncio.sleep(0.01)  # the answer travels back (and may be lost)
        return receipt


def payment_context() -> Any:
    return sf.PipelineContext.create(
        input_text=ORDER, data={"idempotency_key": f"{ORDER}:charge", "cents": 1999}
    )


def payment_pipeline(ctx: Any, *, buggy: bool = False, gateway: Gateway | None = None) -> Any:
    gateway = gateway if gateway is not None else Gateway()
    ctx.data["gateway"] = gateway  # for the invariant; stages reach it through the closure
    key = None if buggy else ctx.data["idempotency_key"]

    async def charge(stage_ctx: Any) -> Any:
        receipt = await gateway.charge(ORDER, ctx.data["cents"], idempotency_key=key)
        return sf.StageOutput.ok(receipt=receipt)

    retry = RetryInterceptor(
        max_attempts=3, base_delay_ms=10, jitter_strategy=JitterStrategy.NONE
    )  # no jitter: it would draw from `random`, outside the explored choices
    pipeline = sf.Pipeline(name="checkout").with_stage("charge", charge, sf.StageKind.WORK)
    return pipeline.build(interceptors=[*get_default_interceptors(), retry])


def charged_at_most_once(run: Any) -> list[str]:
    """The customer is never charged twice for one order."""
    ledger = run.ctx.data["gateway"].ledger
    return [] if len(ledger) <= 1 else [f"{ORDER} was charged {len(ledger)} times: {ledger}"]
