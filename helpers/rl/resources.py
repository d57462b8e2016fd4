"""Measuring and returning memory: track_resources (wall time and peak memory of a block) and return_freed_memory."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import torch


def return_freed_memory() -> None:
    """Give the C allocator's freed blocks back to the operating system (glibc's malloc_trim). On a CPU every PPO step
    allocates tensors of new shapes (prompt and answer lengths vary); glibc keeps the freed memory, and the process
    grew by gigabytes per step (measured: 7.7 → 11.2 GB over four steps of SmolLM2-135M with 96 new tokens)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to do
        pass


@contextmanager
def track_resources():
    """Wall time and peak memory of the block: {"wall_s", "peak_mb"} (GPU: max allocated; CPU: peak process RSS,
    polled every 20 ms)."""
    result: dict = {}
    started = time.perf_counter()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        yield result
        torch.cuda.synchronize()
        result.update(wall_s=time.perf_counter() - started, peak_mb=torch.cuda.max_memory_allocated() / 2**20,
                      memory="GPU max allocated")
        return
    import psutil

    process, peak, done = psutil.Process(), [psutil.Process().memory_info().rss], threading.Event()

    def poll():
        while not done.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], process.memory_info().rss)
        result.update(wall_s=time.perf_counter() - started, peak_mb=peak[0] / 2**20, memory="peak RSS")
