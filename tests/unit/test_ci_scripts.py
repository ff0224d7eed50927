"""The project's shell scripts must not fail at random on a pipe whose reader stops early (issue #16)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CI_RUN = ROOT / ".ci" / "run"

# A reader that may exit before its writer is done (head, grep -q/-m, sed NUMq): under `set -o pipefail`
# the writer's SIGPIPE fails the whole pipe, and whether it does depends on timing.
EARLY_EXIT_READER = re.compile(r"\|\s*(?:head\b|grep\s+-\w*[qm]|sed\s+(?:-n\s+)?['\"]?\d+q)")


def shell_scripts() -> list[Path]:
    scripts = [CI_RUN, ROOT / "Makefile", *ROOT.glob("**/*.sh")]
    return [path for path in scripts if ".venv" not in path.parts and path.is_file()]


def test_no_pipe_into_a_reader_that_exits_early() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in shell_scripts()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if not line.lstrip().startswith("#") and EARLY_EXIT_READER.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def run_first_line(command: str) -> subprocess.CompletedProcess[str]:
    """Run `first_line COMMAND` with the function exactly as .ci/run defines it, under its shell options."""
    script = f"set -euo pipefail\nsource <(sed -n '/^first_line() {{/,/^}}/p' {CI_RUN})\nfirst_line {command}\n"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)


def test_first_line_of_a_long_output_does_not_fail() -> None:
    result = run_first_line("seq 1 200000")
    assert (result.returncode, result.stdout) == (0, "1\n")


def test_first_line_fails_when_the_tool_fails() -> None:
    assert run_first_line("false").returncode != 0
