"""A circuit breaker per upstream service: after N consecutive connection failures it opens and
requests fail fast (no connect timeout per request while a service is down); after `reset_seconds`
one probe request is let through, and its outcome closes or re-opens the circuit."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class State(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class CircuitBreaker:
    def __init__(self, *, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.state = State.closed
        self.consecutive_failures = 0
        self.opened_at = 0.0
        self.probe_started_at: float | None = None

    def allow(self) -> bool:
        """Whether a request may go upstream now (in half-open state: only the one probe)."""
        if self.state is State.closed:
            return True
        now = self.clock()
        if self.state is State.open and now - self.opened_at >= self.reset_seconds:
            self.state = State.half_open
            self.probe_started_at = None
        # A probe whose caller vanished (cancelled, never reported) must not keep the circuit shut forever.
        probe_due = self.probe_started_at is None or now - self.probe_started_at >= self.reset_seconds
        if self.state is State.half_open and probe_due:
            self.probe_started_at = now
            return True
        return False

    def success(self) -> None:
        self.state = State.closed
        self.consecutive_failures = 0
        self.probe_started_at = None

    def failure(self) -> None:
        self.consecutive_failures += 1
        if self.state is State.half_open or self.consecutive_failures >= self.failures:
            self.state = State.open
            self.opened_at = self.clock()
            self.probe_started_at = None

    def retry_after(self) -> float:
        """Seconds until the next probe may be sent (0 when closed)."""
        if self.state is State.closed:
            return 0.0
        return max(0.0, self.opened_at + self.reset_seconds - self.clock())
