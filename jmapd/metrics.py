"""Prometheus metrics: a small registry the core and every plugin define theirs in.

A plugin declares its metrics at module level with :func:`counter`,
:func:`gauge` or :func:`histogram` (names start ``jmapd_``) and updates
them where things happen; values that live in the database (a queue's
depth) are read at scrape time from the ``jmapd_metrics`` hook instead. The
core names no capability: it only renders what was declared.

Metrics are created lazily, on first use, because gunicorn's workers each
count in their own process: ``jmapd serve`` switches prometheus-client to
its multi-process mode (:func:`enable_multiprocess`, files under
``data_dir/metrics``, wiped at start) before any worker forks, and a
metric made before that switch would count in the wrong place.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import prometheus_client
from prometheus_client import CollectorRegistry
from prometheus_client import multiprocess as _multiprocess
from prometheus_client import values as _values
from prometheus_client.metrics_core import Metric as MetricFamily

if TYPE_CHECKING:
    from .services import Services

# parts of prometheus-client its annotations leave untyped
multiprocess: Any = _multiprocess
values: Any = _values

ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds; from a cached session fetch to a large Email/query.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_registry = CollectorRegistry()
_lock = threading.Lock()
_declared: dict[str, Metric] = {}


class Metric:
    """One declared metric; the prometheus-client object behind it is made on first use."""

    def __init__(self, kind: type[Any], name: str, documentation: str, labels: Sequence[str], **options: Any) -> None:
        self.kind = kind
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labels)
        self.options = options
        self._real: Any = None

    def real(self) -> Any:
        real = self._real
        if real is None:
            with _lock:
                if self._real is None:
                    options = dict(self.options)
                    if self.kind is not prometheus_client.Gauge:
                        options.pop("multiprocess_mode", None)
                    self._real = self.kind(
                        self.name, self.documentation, self.labelnames, registry=_registry, **options
                    )
                real = self._real
        return real

    def labels(self, *values: str, **named: str) -> Any:
        """The child of these label values (``.inc()``, ``.observe()``, ``.set()``)."""
        return self.real().labels(*values, **named)

    def inc(self, amount: float = 1) -> None:
        self.real().inc(amount)

    def dec(self, amount: float = 1) -> None:
        self.real().dec(amount)

    def set(self, value: float) -> None:
        self.real().set(value)

    def observe(self, value: float) -> None:
        self.real().observe(value)

    def _forget(self) -> None:
        if self._real is not None:
            _registry.unregister(self._real)
            self._real = None


def _declare(metric: Metric) -> Metric:
    with _lock:
        known = _declared.get(metric.name)
        if known is not None:
            if (known.kind, known.labelnames) != (metric.kind, metric.labelnames):
                raise ValueError(f"metric {metric.name} declared twice with different kinds or labels")
            return known
        _declared[metric.name] = metric
        return metric


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Metric:
    """A count that only grows (``name`` without ``_total``: the exposition adds it)."""
    return _declare(Metric(prometheus_client.Counter, name, documentation, labels))


def gauge(name: str, documentation: str, labels: Sequence[str] = (), mode: str = "livesum") -> Metric:
    """A value that goes up and down; across workers ``mode`` combines them
    (``livesum``: the sum over running processes, e.g. open connections)."""
    return _declare(Metric(prometheus_client.Gauge, name, documentation, labels, multiprocess_mode=mode))


def histogram(
    name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
) -> Metric:
    """Observed durations or sizes, in buckets."""
    return _declare(Metric(prometheus_client.Histogram, name, documentation, labels, buckets=tuple(buckets)))


def multiprocess_dir() -> str | None:
    return os.environ.get(ENV) or None


def enable_multiprocess(directory: Path) -> None:
    """Count in files under ``directory`` from now on, shared by the processes
    forked or spawned after this call (gunicorn workers, the LMTP listener).

    The directory is emptied: the counts of a previous run belong to
    processes that are gone, and their pids may be reused.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(mode=0o700, parents=True)
    os.environ[ENV] = str(directory)
    values.ValueClass = values.MultiProcessValue()
    with _lock:
        for metric in _declared.values():
            metric._forget()


def process_exited(pid: int) -> None:
    """Drop the live gauges of a worker that is gone (gunicorn's ``child_exit``)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


class _Scrape:
    """What one scrape renders: the declared metrics of every process, then
    the plugins' scrape-time families."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[MetricFamily]:
        directory = multiprocess_dir()
        if directory:
            yield from multiprocess.MultiProcessCollector(None, directory).collect()
        else:
            yield from _registry.collect()
        for families in self.services.hook.jmapd_metrics(services=self.services):
            yield from families or []


def render(services: Services) -> bytes:
    """The Prometheus text exposition of everything (run it off the event loop:
    scrape-time families may read the database)."""
    return prometheus_client.generate_latest(_Scrape(services))


CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST


def gauge_family(name: str, documentation: str, samples: Iterable[tuple[dict[str, str], float]]) -> MetricFamily:
    """A scrape-time gauge for ``jmapd_metrics`` (e.g. rows counted in the database)."""
    from prometheus_client.core import GaugeMetricFamily

    items = list(samples)
    labels = sorted({key for sample_labels, _ in items for key in sample_labels})
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for sample_labels, value in items:
        family.add_metric([sample_labels.get(key, "") for key in labels], value)
    return family
