"""Hand back the memory a classification worker holds only because of its start-up.

Measured on a worker with the default model (bench/classify.py): importing TensorFlow makes ~620 MB resident,
~340 MB of it pages of its shared libraries' code that the import touches once (static initialisers registering
thousands of op kernels) and inference never runs again; loading and tracing the two musicnn taggers leaves
~50 MB of freed heap that glibc keeps. :func:`release_startup_memory` drops both from the process's resident set.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys

logger = logging.getLogger(__name__)

MADV_DONTNEED = 4
_SMAPS = "/proc/self/smaps"


def _libc():
    name = ctypes.util.find_library("c")
    if sys.platform != "linux" or not name:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    if not hasattr(libc, "malloc_trim"):  # not glibc
        return None
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


def _code_mappings() -> list[tuple[int, int]]:
    """(start, end) of this process's executable private mappings of files that were never written to (no
    anonymous, copy-on-write page: every page is the file's own), i.e. shared libraries' code."""
    ranges, current = [], None
    with open(_SMAPS) as smaps:
        for line in smaps:
            fields = line.split(maxsplit=5)
            if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
                path = fields[5].strip() if len(fields) == 6 else ""
                current = None
                if fields[1] == "r-xp" and path.startswith("/") and not path.endswith("(deleted)"):
                    current = tuple(int(address, 16) for address in fields[0].split("-"))
            elif current is not None and fields[0] == "Anonymous:" and fields[1] == "0":
                ranges.append(current)
    return ranges


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def release_startup_memory() -> int:
    """Collect garbage, return the free heap to the system (``malloc_trim``) and unmap from this process the
    resident pages of shared-library code (``madvise(MADV_DONTNEED)``: the pages are clean copies of the files, so
    any page still used is mapped again from the page cache on its next use). Returns the bytes the resident set
    shrank by; on systems other than Linux with glibc it only collects garbage and returns 0.
    """
    gc.collect()
    libc = _libc()
    if libc is None:
        return 0
    before = resident_bytes()
    libc.malloc_trim(0)
    for start, end in _code_mappings():
        libc.madvise(start, end - start, MADV_DONTNEED)
    released = max(0, before - resident_bytes())
    logger.info("Released %.0f MB of start-up memory", released / 2**20)
    return released
