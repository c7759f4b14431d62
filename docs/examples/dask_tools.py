"""CPU-bound tools for the scaling example. Workers import this module, so it is a file of its own."""

from collections.abc import Callable
from typing import Any


def count_primes(below: int) -> int:
    """Pure Python: it holds the interpreter lock the whole time."""
    sieve = bytearray([1]) * below
    sieve[:2] = b"\x00\x00"
    for i in range(2, int(below**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, below, i)))
    return sum(sieve)


def total(counts: list[int]) -> int:
    return sum(counts)


TOOLS: dict[str, Callable[..., Any]] = {"count_primes": count_primes, "total": total}
