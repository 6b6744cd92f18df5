"""`--profile`: sample the gateway with py-spy during one extra (unmeasured) 16-connection run
and summarise where its time goes: the functions with the most self time, and our own
(`keeptrusts`) functions by inclusive time. py-spy is not a project dependency: install it
into the virtualenv (`.venv/bin/pip install py-spy`) to use this."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

from bench import wrk
from bench.targets import Target


def py_spy(repo: Path) -> str | None:
    local = repo / ".venv" / "bin" / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def summarise(raw: str, top: int = 15) -> str:
    """py-spy's `--format raw` (collapsed stacks) → two top lists as text."""
    self_t: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        self_t[frames[-1]] += n
        for f in set(frames):
            if "keeptrusts/" in f:
                ours[f] += n
    if not total:
        return "(no samples)"
    out = [f"{total} samples; self time:"]
    out += [f"  {n * 100 / total:5.1f}%  {f}" for f, n in self_t.most_common(top)]
    # py-spy roots a coroutine resumed from uvloop's C code at that coroutine, not at main(),
    # so inclusive figures undercount callers; self time is exact
    out.append("keeptrusts functions, inclusive time (undercounted across awaits):")
    out += [f"  {n * 100 / total:5.1f}%  {f}" for f, n in ours.most_common(top)]
    return "\n".join(out)


def profile(target: Target, spy: str, body: Path, out_dir: Path, seconds: float = 5.0) -> str:
    raw = out_dir / f"{target.name}-profile.raw.txt"
    cmd = [spy, "record", "--nonblocking", "-r", "250", "-d", f"{seconds + 1:g}", "-f", "raw"]
    cmd += ["-o", str(raw), "--subprocesses", "-p", str(target.server.proc.pid)]
    rec = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wrk.run(target.url, 16, seconds, body, headers=target.headers)
    finally:
        _, err = rec.communicate(timeout=seconds + 30)
    if not raw.exists():
        return f"(py-spy wrote nothing: {err.decode(errors='replace')[-300:]})"
    text = summarise(raw.read_text())
    (out_dir / f"{target.name}-profile.txt").write_text(text + "\n")
    return text
