"""Wall time of the first lab through the lab runner (target: under 60 s on 2 CPU cores)."""

import subprocess
import sys
import time
from pathlib import Path

from _timing import verdict

ROOT = Path(__file__).resolve().parents[1]

start = time.perf_counter()
subprocess.run([sys.executable, "-m", "kerasreg", "labs", "00_getting_started"],
               check=True, capture_output=True, cwd=ROOT)
seconds = time.perf_counter() - start
print(f"labs/00_getting_started.ipynb: {seconds:.1f} s, {seconds / 60:.2f}x the 60 s budget "
      f"(target < 1.0x): {verdict(seconds < 60)}")
