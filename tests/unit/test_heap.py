"""After start the collector ignores the start-up heap and collects the young generation rarely."""

from __future__ import annotations

import subprocess
import sys


def test_settle_after_start_freezes_the_heap_and_raises_the_young_threshold() -> None:
    code = (
        "import gc\n"
        "import oneapi.app\n"
        "from oneapi import heap\n"
        "assert gc.get_freeze_count() == 0\n"
        "heap.settle_after_start()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, 10, 10)\n"
        "assert gc.isenabled()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
