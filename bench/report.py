"""Figures, baselines and targets, printed as they are measured and written as one report."""

from __future__ import annotations

import json
import platform
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Figure:
    """One measured number, the baseline measured in the same run, and the target."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None

    def line(self) -> str:
        text = f"  {self.name}: {self.value:,.2f} {self.unit}"
        if self.baseline is not None:
            text += f"  | baseline ({self.baseline_label}): {self.baseline:,.2f} {self.unit}"
        if self.target:
            verdict = {True: "MET", False: "NOT MET", None: ""}[self.met]
            text += f"  | target: {self.target} {verdict}".rstrip()
        return text


@dataclass
class Benchmark:
    """A named benchmark and its figures, printed as they arrive."""

    name: str
    description: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    module: str = ""

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)


def percentile(samples: list[float], pct: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def write_report(benchmarks: list[Benchmark], path: Path = RESULTS) -> None:
    path.mkdir(parents=True, exist_ok=True)
    machine = (
        f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    data = {
        "generated_at": stamp,
        "machine": machine,
        "benchmarks": [asdict(b) for b in benchmarks],
    }
    (path / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [f"# Benchmark report\n\nGenerated {stamp} on {machine}.\n"]
    for bench in benchmarks:
        lines += [f"## {bench.name}\n", f"{bench.description}\n"]
        lines += [
            "| figure | value | baseline (same run) | target | met |",
            "|---|---|---|---|---|",
        ]
        for f in bench.figures:
            base = "" if f.baseline is None else f"{f.baseline:,.2f} {f.unit} ({f.baseline_label})"
            met = {True: "yes", False: "**no**", None: ""}[f.met]
            lines.append(f"| {f.name} | {f.value:,.2f} {f.unit} | {base} | {f.target} | {met} |")
        lines += [f"\n- {n}" for n in bench.notes]
        lines.append("")
    (path / "latest.md").write_text("\n".join(lines) + "\n")
