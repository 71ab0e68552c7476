"""The macro benchmark: janus_fast against janus-client 0.9.0 and a pure-Python floor.

Rule: benchmark code only — nothing in the library imports this package. Each client runs in its
own worker process (``worker``) through one adapter interface (``adapter``: ``fast``, ``peer``,
``floor``); ``workloads`` defines W1–W7 (default) and the opt-in W8–W10 and drives them,
``measure`` computes every number, ``runner`` starts Janus and the workers, ``report`` and
``plot`` render the result.
``janus-fast bench`` (``janus_fast.cli``) is the command line.
"""

from janus_fast.bench.runner import BenchOptions, BenchSetupError, run_benchmark

__all__ = ["BenchOptions", "BenchSetupError", "run_benchmark"]
