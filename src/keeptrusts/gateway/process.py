"""How the serving process manages its memory once started: the collector and the C allocator.

Both settings are applied after start-up, in every worker, and measured (docs/performance.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys

log = logging.getLogger("keeptrusts.gateway")

#: container allocations (net of frees) between two young-generation collections. CPython's
#: 700 is crossed over and over by the objects of the requests in flight alone, each time
#: tracing all of them: at 16 connections ~500 collections per 10,000 requests, ≈ 35–55 µs of
#: CPU per request (gc.callbacks timing). Requests free almost all they allocate (no cycles),
#: so at 10,000 the collector runs a few times per 10,000 requests; cycles (tracebacks of
#: failed requests) still trigger it long before they could matter for memory.
GC_YOUNG_THRESHOLD = 10_000

#: glibc's `M_MMAP_THRESHOLD` (malloc.h) and the size from which blocks are mapped on their own
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


def settle_memory() -> None:
    """Both settings below; called once the gateway serves."""
    settle_gc()
    return_freed_memory()


def settle_gc() -> None:
    """Start-up objects (modules, compiled config, patterns) live as long as the process: move
    them out of the collector's sight so its passes on the request path stay short, collect
    the young generation less often (GC_YOUNG_THRESHOLD), and turn the collector back on if
    `kt gateway run` switched it off to start faster."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
    gc.enable()


def return_freed_memory() -> bool:
    """Give large freed buffers back to the system at once (glibc only; True when set).

    glibc maps blocks of 128 KiB and more on their own, but after the first such block is
    freed it raises that threshold (up to 32 MiB), so the buffers of large prompts (the body,
    its parsed text, the copies the policies scan) land in the heap and stay in the process
    after the request: eight concurrent 1 MB prompts left 210–220 MiB resident, near a 256 MiB
    pod limit. A fixed threshold keeps them mapped and unmapped on free (68 MiB after the same
    burst); requests of a few KB never reach it.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): its allocator returns memory
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    if not done:
        log.warning("could not set the allocator's mmap threshold; large prompts may stay resident")
    return done
