"""Parallel training on Ray: data parallelism, asynchronous updates, pipeline stages.

Seed 000's "Parallel Processing" slide names three ways to train across workers, and
each is a strategy passed to ``fit``::

    net.fit(X, y, ..., parallel=cr.parallel.DataParallel(workers=2))
    net.fit(X, y, ..., parallel=cr.parallel.AsyncParameterServer(workers=2, max_staleness=4))
    net.fit(X, y, ..., parallel=cr.parallel.Pipeline(stages=2, micro_batches=4))

Ray (``pip install "chainrule[distributed]"``) runs them: locally by default, on a
cluster with ``address=``. See ``docs/parallel.md`` for the multi-machine recipe.
Importing this package does not import Ray; ``fit`` does.
"""
from .async_ps import AsyncParameterServer
from .base import Strategy
from .data_parallel import DataParallel
from .pipeline import Pipeline

STRATEGIES = {"data": DataParallel, "async": AsyncParameterServer, "pipeline": Pipeline}


def get(name, workers=2, address=None, **options):
    """A strategy from its CLI name: ``"data"``, ``"async"`` or ``"pipeline"`` (workers are
    stages there), with the strategy's other ``options``; ``"none"`` or None gives None,
    single-process training."""
    if name in (None, "none"):
        return None
    if name not in STRATEGIES:
        from ..errors import unknown

        raise unknown("parallel strategy", name, [*STRATEGIES, "none"])
    if name == "pipeline":
        return Pipeline(stages=workers, address=address, **options)
    return STRATEGIES[name](workers=workers, address=address, **options)


__all__ = ["AsyncParameterServer", "DataParallel", "Pipeline", "Strategy", "get"]
