"""How newsflow's flows sit in Prefect's engine: two costs of every flow run taken off.

- ``flow``: Prefect's ``@flow``, making a ``JsonParametersFlow``, whose run parameters are
  recorded without importing FastAPI;
- ``end_runs_without_waiting_for_heartbeats``: a run ends once its final state is set (for
  every flow run of the process: the switch is the engine's own).

Both keep what Prefect records and sends (parameters, states, heartbeats); they only take away
work that a short run paid for nothing.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Flow, flow_engine
from prefect.futures import PrefectFuture
from prefect.states import State
from pydantic_core import to_jsonable_python

P = ParamSpec("P")
R = TypeVar("R")


class JsonParametersFlow(Flow[P, R]):
    """A Prefect flow whose run parameters are made JSON by pydantic rather than by FastAPI.

    Prefect records a new run's parameters with FastAPI's ``jsonable_encoder``, and importing
    FastAPI builds its OpenAPI models, which nothing else in a flow run needs. The parameters of
    newsflow's flows (strings, numbers, lists of them, the settings model) come out of pydantic
    the same (aliases used, secrets masked); anything else goes to Prefect's own encoding."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        serialized: dict[str, Any] = {}
        for key, value in parameters.items():
            if not isinstance(value, PrefectFuture | State):
                try:
                    serialized[key] = to_jsonable_python(value, by_alias=True)
                    continue
                except Exception:  # what pydantic cannot encode, Prefect decides about
                    pass
            serialized |= super().serialize_parameters({key: value})
        return serialized


def flow(**options: Any) -> Callable[[Callable[P, R]], Flow[P, R]]:
    """Prefect's ``@flow(**options)`` for newsflow's flows (see ``JsonParametersFlow``)."""

    def make(fn: Callable[P, R]) -> Flow[P, R]:
        return JsonParametersFlow(fn, **options)

    return make


@functools.cache
def end_runs_without_waiting_for_heartbeats() -> bool:
    """Let a flow run end once its final state is set, without waiting on its heartbeat thread
    (True when applied; False if this Prefect's engine has no such switch).

    Prefect's sync engine sends a flow run's heartbeats from a daemon thread that sleeps in
    one-second steps, and joins it when the run ends: every run waited for the rest of the
    step under way, up to a second, whatever its length (the async engine does not join). The
    thread looks at its stop flag before each heartbeat and stops on a final state, so not
    joining it sends no heartbeat after the run; one the engine would have waited for ends
    within the second, or with the process. Called when the flows are imported, before any
    run (a served or worker-run flow imports them too)."""
    send = flow_engine._send_heartbeats
    if "join_on_exit" not in inspect.signature(send).parameters:
        return False
    flow_engine._send_heartbeats = functools.partial(send, join_on_exit=False)
    return True
