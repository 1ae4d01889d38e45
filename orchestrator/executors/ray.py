"""Run reviewers as Ray tasks on a Ray cluster: the only module that imports `ray`.

The semantics are LocalExecutor's: one verdict per call, in call order, and
never an exception. A reviewer's own exception becomes an error verdict
inside the task (`guarded_review`); a task that outlives its timeout is
cancelled (its worker killed) and fails; a task whose worker or node dies
fails. The commander reads every failed verdict as "cannot approve".

The heavy, shared parts of a review — the dependency graph, the resource
catalog, the reviewer settings, the policies and the proposal — go into the
object store once per executor and travel to the tasks as references; only
the small per-stage parts of the context (prior verdicts, history) are sent
with each task. A timeout counts from submission, so it covers queueing on a busy
cluster too: a slow cluster escalates, it never approves.

Batches (backtests, folder reviews) map one pure function over many items
instead: `map_reviews` fails the whole batch on any failed item, `map_each`
hands each failure back in its item's place. Either way the function goes
into the object store once and each worker unpickles it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import ray
import ray.exceptions

from orchestrator.errors import ReviewRunError
from orchestrator.executors.base import ReviewCall, guarded_review
from orchestrator.models import Proposal, Verdict
from orchestrator.reviewer import ReviewContext, Reviewer

if TYPE_CHECKING:
    Ref = ray.ObjectRef[Any]

T = TypeVar("T")
R = TypeVar("R")

# The context fields that differ between stages or proposals and are small:
# sent with each task. Every other field (graph, catalog, settings, policies,
# agents, and any added later) is big and shared, so it is put once.
_PER_CALL_FIELDS = frozenset({"prior_verdicts", "history", "actor", "policy_version"})
# Distinct shared objects whose references an executor keeps alive at once.
_CACHE_SIZE = 16
# How long to wait for a TCP answer from a cluster address before ray.init,
# which would otherwise retry an unreachable address for many minutes.
_PROBE_SECONDS = 5.0


def connect(address: str | None = None) -> bool:
    """Join the Ray cluster at `address` ("auto": the one `ray start` runs here), or start one.

    Returns True when this call initialised Ray, False when it was already up.
    Raises ReviewRunError naming the address when the cluster cannot be reached.
    """
    _notices_to_stderr()
    if ray.is_initialized():
        return False
    where = address or "a new local Ray instance"
    if address and address != "auto" and "://" not in address:
        _probe(address)
    options: dict[str, Any] = {}
    if not address:
        options["include_dashboard"] = False
    try:
        # log_to_driver off: a worker's print must never reach our stdout,
        # which carries the decision JSON.
        ray.init(
            # "local": without an address, never wander onto whatever cluster
            # RAY_ADDRESS or a stale /tmp/ray file names
            address=address or "local",
            logging_level=logging.WARNING,
            log_to_driver=False,
            **options,
        )
    except Exception as exc:
        raise ReviewRunError(f"cannot connect to Ray at {where}: {_first_line(exc)}") from exc
    return True


@functools.cache  # once per process: the hook wraps itself otherwise
def _notices_to_stderr() -> None:
    """Send the notices Ray prints in the driver ("a worker died ...") to stderr.

    Ray prints them on stdout whatever `log_to_driver` says, and our stdout
    carries the decision JSON. A private hook: if it moves, notices stay on stdout.
    """
    with contextlib.suppress(ImportError, AttributeError):
        from ray._private import worker  # noqa: PLC0415

        original = worker.print_to_stdstream

        def to_stderr(data: dict[str, Any], ignore_prefix: bool) -> None:
            original({**data, "is_err": True}, ignore_prefix)

        worker.print_to_stdstream = to_stderr


def _probe(address: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ReviewRunError(f"Ray address {address!r} is not HOST:PORT, auto or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_SECONDS).close()
    except OSError as exc:
        raise ReviewRunError(f"cannot reach the Ray cluster at {address}: {exc}") from exc


def _review_task(
    name: str,
    reviewer: Reviewer,
    proposal: Proposal,
    per_call: dict[str, Any],
    shared_names: tuple[str, ...],
    *shared: Any,
) -> Verdict:
    """Run one reviewer inside a Ray worker; the same guard as in-process."""
    call = ReviewCall(
        name=name,
        reviewer=reviewer,
        proposal=proposal,
        context=ReviewContext(**dict(zip(shared_names, shared, strict=True)), **per_call),
        timeout=0.0,  # enforced by the driver, which can kill this worker
    )
    try:
        return asyncio.run(guarded_review(call))
    except BaseException as exc:  # SystemExit from a plugin: a verdict, not a dead worker
        return Verdict.failed(name, f"{type(exc).__name__}: {exc}")


# The batch functions this worker has unpickled, by object id, newest last: a
# function (with the graph and policy it closes over) is read from the object
# store once per worker, not once per item.
_batch_functions: OrderedDict[str, Callable[[Any], Any]] = OrderedDict()
_BATCH_FUNCTIONS_KEPT = 2


def _apply(fn_box: tuple[Ref], item: T) -> Any:
    """Apply a batch function to one item inside a Ray worker."""
    # Boxed: Ray resolves only top-level references, which would unpickle fn per task.
    (ref,) = fn_box
    key = ref.hex()
    fn = _batch_functions.get(key)
    if fn is None:
        fn = _batch_functions[key] = ray.get(ref)
        while len(_batch_functions) > _BATCH_FUNCTIONS_KEPT:
            _batch_functions.popitem(last=False)
    _batch_functions.move_to_end(key)
    return fn(item)


# No retries: a crashed worker must surface as a failure, not be re-run quietly.
# (ray.remote only wraps: nothing connects until a task is submitted.)
_remote_review: Any = ray.remote(max_retries=0)(_review_task)
_remote_apply: Any = ray.remote(max_retries=0)(_apply)


class RayExecutor:
    """Runs reviewer calls as Ray tasks; connects on first use unless `connect()` ran."""

    def __init__(self, address: str | None = None, *, num_cpus: float = 1.0) -> None:
        self.address = address
        self._num_cpus = num_cpus
        self._owns_ray = False
        self._shared: OrderedDict[int, tuple[object, Ref]] = OrderedDict()

    @classmethod
    def connect(cls, address: str | None = None, *, num_cpus: float = 1.0) -> RayExecutor:
        """An executor already joined to the cluster; raises ReviewRunError if unreachable."""
        executor = cls(address, num_cpus=num_cpus)
        executor._owns_ray = connect(address)
        return executor

    def close(self) -> None:
        """Drop the shared objects, and shut Ray down if this executor started it."""
        self._shared.clear()
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False

    async def run(self, calls: Sequence[ReviewCall]) -> list[Verdict]:
        """Run every call as a Ray task; one verdict per call, in call order."""
        try:
            self._owns_ray = connect(self.address) or self._owns_ray
        except ReviewRunError as exc:
            return [Verdict.failed(call.name, str(exc)) for call in calls]
        return list(await asyncio.gather(*(self._run_one(call) for call in calls)))

    async def _run_one(self, call: ReviewCall) -> Verdict:
        started = time.perf_counter()
        try:
            ref = self._submit(call)
        except Exception as exc:  # an unpicklable reviewer or context fails alone
            return Verdict.failed(call.name, f"cannot send to Ray: {_describe(exc)}")
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(ref.future()), call.timeout)
        except TimeoutError:
            # force: kill the worker, since a busy reviewer never checks for cancellation
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
            return Verdict.failed(
                call.name,
                f"timed out after {call.timeout:g} s",
                duration_ms=round(call.timeout * 1000),
            )
        except Exception as exc:  # a dead worker or node, a lost object, a cancelled task
            return Verdict.failed(
                call.name, f"Ray task failed: {_describe(exc)}", duration_ms=_ms(started)
            )
        if not isinstance(result, Verdict) or result.reviewer != call.name:
            return Verdict.failed(call.name, "Ray task returned no verdict of its own")
        return result

    def _submit(self, call: ReviewCall) -> Ref:
        context = call.context
        # Top-level references are resolved by Ray before the task runs, so
        # the task receives the objects without their being re-sent each time.
        names = [field.name for field in dataclasses.fields(context)]
        shared_names = tuple(name for name in names if name not in _PER_CALL_FIELDS)
        shared = [self._put(getattr(context, name)) for name in shared_names]
        per_call = {name: getattr(context, name) for name in names if name in _PER_CALL_FIELDS}
        task = _remote_review.options(num_cpus=self._num_cpus, name=f"review:{call.name}")
        proposal = self._put(call.proposal)
        return cast(
            "Ref", task.remote(call.name, call.reviewer, proposal, per_call, shared_names, *shared)
        )

    def _put(self, value: object) -> Ref:
        """The object-store reference of `value`, put once while the executor remembers it."""
        key = id(value)
        cached = self._shared.get(key)
        if cached is not None and cached[0] is value:
            self._shared.move_to_end(key)
            return cached[1]
        ref = ray.put(value)
        # The value is kept with its reference so its id cannot be reused meanwhile.
        self._shared[key] = (value, ref)
        while len(self._shared) > _CACHE_SIZE:
            self._shared.popitem(last=False)
        return ref


def map_reviews(
    items: Iterable[T],
    fn: Callable[[T], R],
    *,
    address: str | None = None,
    max_in_flight: int | None = None,
) -> list[R]:
    """Apply a pure function to every item as Ray tasks, at most `max_in_flight` at once.

    `fn` (with whatever it closes over: a config, a graph) goes into the
    object store once, and each worker unpickles it once. Results come back
    in item order. Any failed item — its exception, a dead worker — cancels
    the rest and raises ReviewRunError naming the item's index: a batch is
    never silently partial.
    """
    results: dict[int, R] = {}
    with contextlib.closing(_finished(items, fn, address, max_in_flight)) as finished:
        for index, ref in finished:
            try:
                results[index] = cast(R, ray.get(ref))
            except Exception as exc:  # closing the generator cancels the rest
                raise ReviewRunError(f"batch item {index} failed: {_describe(exc)}") from exc
    return [results[index] for index in sorted(results)]


def map_each(
    items: Iterable[T],
    fn: Callable[[T], R],
    *,
    address: str | None = None,
    max_in_flight: int | None = None,
) -> Iterator[R | ReviewRunError]:
    """Like `map_reviews`, but an item that fails is its own ReviewRunError and the rest go on.

    Results are yielded lazily in item order, each as soon as it and every
    item before it are done, so the caller can act on the first while the
    cluster works on the others. Items are drawn from `items` only as tasks
    are submitted. Closing the iterator early cancels the tasks still running.
    """
    done: dict[int, R | ReviewRunError] = {}
    following = 0
    with contextlib.closing(_finished(items, fn, address, max_in_flight)) as finished:
        for index, ref in finished:
            try:
                done[index] = cast(R, ray.get(ref))
            except Exception as exc:  # a dead worker or node, the item's own exception
                done[index] = ReviewRunError(f"Ray task failed: {_describe(exc)}")
            while following in done:
                yield done.pop(following)
                following += 1


def _finished(
    items: Iterable[T],
    fn: Callable[[T], R],
    address: str | None,
    max_in_flight: int | None,
) -> Generator[tuple[int, Ref], None, None]:
    """Submit `fn` over `items`, at most `max_in_flight` at once; yield each (index, ref) done.

    The references come in the order the tasks finish. Whatever is still
    running when the generator is closed is cancelled, its worker killed.
    """
    connect(address)
    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    limit = max_in_flight or max(1, 2 * int(cpus))
    fn_box = (ray.put(fn),)
    pending: dict[Ref, int] = {}

    def first_done() -> Iterator[tuple[int, Ref]]:
        for ref in ray.wait(list(pending), num_returns=1)[0]:
            yield pending.pop(ref), ref

    try:
        for index, item in enumerate(items):
            if len(pending) >= limit:
                yield from first_done()
            pending[_remote_apply.remote(fn_box, item)] = index
        while pending:
            yield from first_done()
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


def _describe(exc: BaseException) -> str:
    """A one-line account of a Ray failure: the exception class and its first line."""
    cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) else None
    shown = cause if isinstance(cause, BaseException) else exc
    return f"{type(shown).__name__}: {_first_line(shown)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
