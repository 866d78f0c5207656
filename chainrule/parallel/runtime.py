"""Ray for one ``fit``: import it, start or join a cluster, and leave nothing behind.

chainrule does not run its own cluster, scheduler or messaging: Ray (an optional extra,
``pip install "chainrule[distributed]"``) starts the processes, places the actors, moves
arrays through its shared-memory object store and restarts what dies.

:class:`Session` decides where training runs:

* ``address=None`` and no Ray in this process: a new local Ray is started with one CPU
  per worker (no dashboard) and shut down when ``fit`` ends, however it ends (Ctrl-C
  too). A cluster started with ``ray start`` on this machine is not joined: pass
  ``address="auto"`` for that;
* ``address=None`` while this process is already connected (``ray.init`` called by the
  user, or a test fixture): that Ray is used and left running;
* ``address="host:6379"`` (or ``"auto"``): connect to the running cluster and disconnect
  at the end. A cluster is never shut down by chainrule.

Threads: each actor limits its BLAS/OpenMP pool to the CPUs Ray gave it (one by default),
so two workers on two cores do not fight over four threads; the driver, which only
coordinates while the workers compute, is held to one thread during a parallel ``fit``.
"""
import contextlib
import logging
import os

from ..errors import InvalidValueError, NotAvailableError

INSTALL = 'pip install "chainrule[distributed]"'
MAX_RESTARTS = 3  # per worker actor and fit: enough for a lost machine or two, not a crash loop

log = logging.getLogger("chainrule.parallel")


def require_ray():
    """The ``ray`` module, or :class:`NotAvailableError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise NotAvailableError(f"parallel training runs on Ray, which is not installed; "
                                f"install it with: {INSTALL}") from exc
    return ray


class Session:
    """A context manager holding Ray for the length of one ``fit`` (see the module doc)."""

    def __init__(self, address, cpus):
        self.address, self.cpus = address, cpus
        self.started = self.connected = False

    def __enter__(self):
        ray = require_ray()
        if ray.is_initialized():
            current = ray.get_runtime_context().gcs_address
            if self.address not in (None, "auto") and _host_port(self.address) != current:
                raise InvalidValueError(
                    f"this process is already connected to the Ray cluster at {current}, not "
                    f"{self.address}; call ray.shutdown() first or pass address=None to use it")
            return self
        if self.address is None:
            # "local": a new Ray of our own, even where `ray start` left one running
            ray.init(address="local", num_cpus=self.cpus, include_dashboard=False,
                     logging_level=logging.WARNING)
            self.started = True
        else:
            ray.init(address=self.address, logging_level=logging.WARNING)
            self.connected = True
        return self

    def __exit__(self, *exc_info):
        if self.started or self.connected:  # a cluster we only joined keeps running
            shutdown()
        return False


def shutdown():
    """``ray.shutdown()``, finished even when a second Ctrl-C arrives during it."""
    ray = require_ray()
    try:
        ray.shutdown()
    except KeyboardInterrupt:
        ray.shutdown()
        raise


def _host_port(address):
    return address[len("ray://"):] if address.startswith("ray://") else address


def actor_class(cls, cpus=1, restarts=MAX_RESTARTS, retries=0):
    """``cls`` as a Ray actor class: ``cpus`` CPUs, restarted up to ``restarts`` times.

    ``retries`` re-runs a call that was cut short by the actor's death, on the restarted
    actor: right for stateless workers, wrong for actors that hold weights. Workers are
    spread over the machines of a cluster (one per machine while there are machines).
    """
    ray = require_ray()
    return ray.remote(cls).options(num_cpus=cpus, max_restarts=restarts, max_task_retries=retries,
                                   scheduling_strategy="SPREAD")


class ActorRestarted(RuntimeError):
    """Raised by an actor that Ray restarted when it is asked to work before the driver
    gave it back the state it lost (weights, optimiser): a lost actor, to the driver."""


def lost():
    """The exceptions of a lost actor or object (its process or machine died)."""
    exceptions = require_ray().exceptions
    return exceptions.RayActorError, exceptions.ObjectLostError, ActorRestarted


def settle(refs, timeout=10.0):
    """Wait briefly for ``refs`` of a failed step and read them, ignoring their errors,
    so that Ray does not report them later as unhandled."""
    ray = require_ray()
    ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
    for ref in ready:
        with contextlib.suppress(Exception):
            ray.get(ref)


def restarts(actor_ids):
    """How many times Ray has restarted each actor (hex ids); None for one not alive now.

    Asks Ray's control store directly: the public state API needs the dashboard, which the
    minimal Ray does not have. About a millisecond, so only for waits that ran long.
    """
    from ray._private import state

    found = []
    for actor_id in actor_ids:
        info = state.actors(actor_id=actor_id) or {}
        found.append(info.get("NumRestarts", 0) if info.get("State") == "ALIVE" else None)
    return found


def limit_threads(threads):
    """Hold this process's BLAS/OpenMP pools to ``threads`` (at least one)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=max(1, int(threads)))


@contextlib.contextmanager
def driver_threads(threads=1):
    """Within the block, the driver's BLAS/OpenMP pools use ``threads`` threads."""
    with limit_threads(threads):
        yield


def whereabouts():
    """``(node id, process id)`` of the calling actor: a new process means a restart."""
    ray = require_ray()
    return ray.get_runtime_context().get_node_id(), os.getpid()


def kill(actors):
    """End ``actors`` now, without restarts (they are ours: created by this fit)."""
    ray = require_ray()
    for actor in actors:
        with contextlib.suppress(Exception):  # already dead, or Ray already shut down
            ray.kill(actor, no_restart=True)
