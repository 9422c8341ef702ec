"""Large memory blocks go back to the system when freed (glibc's ``M_MMAP_THRESHOLD``).

An argon2 hash allocates ~19 MiB (ADR 0011). glibc serves blocks that big with
``mmap`` and unmaps them when freed, but the first time one is freed it raises its
threshold to that size, so later ones come from per-thread heaps that never shrink:
+40 MiB of resident memory after a burst of logins, for good. Fixing the threshold
at 1 MiB keeps every large block mapped on its own and returned at once. This is
what ``MALLOC_MMAP_THRESHOLD_=1048576`` in the environment does; set here, every
process that hashes gets it, however it was started. An operator's own
``MALLOC_MMAP_THRESHOLD_`` is left to rule. Elsewhere than glibc, nothing happens.
"""

from __future__ import annotations

import ctypes
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

THRESHOLD_BYTES = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
_ENVIRONMENT_VARIABLE = "MALLOC_MMAP_THRESHOLD_"


def return_large_blocks_to_the_system(libc: Any | None = None) -> bool:
    """Fix the mmap threshold at :data:`THRESHOLD_BYTES`; whether it was set here."""
    if os.environ.get(_ENVIRONMENT_VARIABLE):
        return False
    try:
        library = libc if libc is not None else ctypes.CDLL(None)
        mallopt = library.mallopt
    except (OSError, AttributeError):
        return False
    if mallopt(_M_MMAP_THRESHOLD, THRESHOLD_BYTES) != 1:
        logger.debug("mallopt(M_MMAP_THRESHOLD) was refused; large blocks may be kept")
        return False
    return True
