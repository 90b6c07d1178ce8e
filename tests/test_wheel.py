"""The grammar ships inside the wheel: an installed copy validates policies on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "fixtures" / "example-ml"
# The installed copy runs without this checkout on its path, whatever PYTHONPATH says.
INSTALLED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.mark.slow
def test_an_installed_wheel_runs_validate(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, REPO],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("mlpolicy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "policy_engine/_grammar/mlpolicy.lark" in names
    for asset in ("page.html", "report.css", "report.js"):  # the HTML report's page
        assert f"policy_engine/report/html/assets/{asset}" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies come from the development environment; the project itself only from the wheel.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel],
        check=True,
        capture_output=True,
    )

    done = subprocess.run(
        [env_dir / "bin" / "mlpolicy", "validate", "--repo", EXAMPLE, EXAMPLE / "policies"],
        cwd=tmp_path,
        env=INSTALLED_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok: 1 policy file(s), 5 controls\n"
    where = subprocess.run(
        [python, "-c", "import policy_engine; print(policy_engine.__file__)"],
        cwd=tmp_path,
        env=INSTALLED_ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(env_dir))
