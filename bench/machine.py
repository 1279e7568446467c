"""What machine a benchmark ran on, printed with its figures: these machines' CPUs change between sessions."""

import os
import platform
import re
from pathlib import Path

FLAG_PREFIXES = ("avx", "fma", "sse4", "amx")


def describe_cpu() -> str:
    """"<model> (<cores> cores; <SIMD flags>)", e.g. "AMD EPYC (2 cores; avx avx2 avx512f ... fma sse4_1 sse4_2)"."""
    model, flags = platform.processor() or "unknown CPU", ""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    if found := re.search(r"^model name\s*: (.*)$", info, re.MULTILINE):
        model = found.group(1).strip()
    if found := re.search(r"^flags\s*: (.*)$", info, re.MULTILINE):
        flags = " ".join(flag for flag in found.group(1).split() if flag.startswith(FLAG_PREFIXES))
    return f"{model} ({os.cpu_count()} cores; {flags or 'no SIMD flags listed'})"
