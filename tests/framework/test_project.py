"""The project's own commands stay true: .ci/run runs exactly the README's install and test commands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s+```bash\n(.*?)```", readme, re.S)
    assert block, "README.md must have a Quick start bash block"
    return [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]


def test_quick_start_has_exactly_three_commands() -> None:
    assert len(_quick_start()) == 3


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    install, _, test = _quick_start()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert install in ci, f"{install!r} is not in .ci/run"
    assert test in ci, f"{test!r} is not in .ci/run"
    assert "export CI=true" in ci


def test_the_install_line_gives_the_cpu_build_of_torch() -> None:
    # On a stock Linux machine PyPI's torch is the CUDA build; PyTorch's CPU index has the +cpu wheel.
    install = _quick_start()[0]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in install
