"""Conventions users bring from other tools: a configuration file read as an input of the
repository, --quiet, colour and NO_COLOR, exit codes in every verb's help, completion."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from policy_engine.cli.main import COMMANDS, main
from policy_engine.cli.style import color_enabled, colorize
from policy_engine.config import MAX_CONFIG_BYTES, load_config
from policy_engine.errors import InputError
from tests.cliprobe import run_module

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PACK_ONLY = (
    'policy "p"\nimport "@mlpolicy/mlsecops.policy" with data_team = t, ml_team = t,\n'
    '  ops_team = t, security_team = t\nkey k from "k.pub"\nrole t = k\n'
)
UNDECLARED_STAGE = (
    'policy "p"\nkey k from "k.pub"\nrole t = k\ncontrol DP-01 "Signed data" {\n'
    "  severity high\n  stage data_preparation\n  require every artifact of kind data"
    " produced by steps in data_preparation is signed by t\n}\n"
)


def mlpolicy(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture
def pack_repo(tmp_path: Path) -> Path:
    """A repository whose policy imports the pack without declaring its stages (W206)."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.policy").write_text(PACK_ONLY)
    shutil.copy(FIXTURES / "keys" / "ml-engineer.pub", tmp_path / "k.pub")
    return tmp_path


def test_warnings_are_silenced_by_code_in_the_configuration(pack_repo: Path) -> None:
    assert "warning[W206]" in mlpolicy("validate", "--repo", pack_repo).output
    (pack_repo / ".mlpolicy.toml").write_text('silence = ["W206"]\n')
    result = mlpolicy("validate", "--repo", pack_repo)
    assert result.exit_code == 0 and "W206" not in result.output


def test_the_configuration_schema_is_imported_only_for_a_configuration_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.policy").write_text(UNDECLARED_STAGE)
    shutil.copy(FIXTURES / "keys" / "ml-engineer.pub", tmp_path / "k.pub")
    modules = ("pydantic", "policy_engine.schemas.config")
    out = run_module(["validate", "--repo", str(tmp_path)], modules)
    assert "0 []" in out.splitlines() and "W206" in out, out
    (tmp_path / ".mlpolicy.toml").write_text('silence = ["W206"]\n')
    out = run_module(["validate", "--repo", str(tmp_path)], modules)
    assert f"0 {sorted(modules)}" in out.splitlines() and "W206" not in out, out


def test_the_configuration_record_and_its_file_schema_agree() -> None:
    import dataclasses
    import typing

    from policy_engine.config import Config
    from policy_engine.schemas.config import ConfigFile

    fields = {f.name: f for f in dataclasses.fields(Config) if f.name != "source"}
    assert set(fields) == set(ConfigFile.model_fields)
    hints = typing.get_type_hints(Config)
    for name, field in ConfigFile.model_fields.items():
        assert fields[name].default == field.default, name
        assert hints[name] == field.annotation, name


def test_quiet_prints_no_warnings(pack_repo: Path) -> None:
    result = mlpolicy("--quiet", "validate", "--repo", pack_repo)
    assert result.exit_code == 0 and "warning" not in result.output


def test_pyproject_configures_policy_paths_and_fail_on(tmp_path: Path) -> None:
    repo = Path(shutil.copytree(FIXTURES / "example-ml-tampered", tmp_path / "repo"))
    (repo / "policies").rename(repo / "rules")
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.mlpolicy]\npolicy = ["rules"]\nfail-on = "critical"\n'
    )
    assert load_config(repo).fail_on == "critical"
    args = ("check", repo, "--at", "2026-11-20", "--format", "json")
    assert mlpolicy(*args).exit_code == 1  # DE-01 is critical
    (repo / "pyproject.toml").write_text('[tool.mlpolicy]\npolicy = ["rules"]\n')
    assert mlpolicy(*args, "--fail-on", "critical").exit_code == 1
    (repo / "rules" / "waive.policy").write_text(
        'waive DE-01 for "models/model.json" {\n  owner "o"\n  reason "r"\n'
        "  expires 2027-01-01\n}\n"
    )
    assert mlpolicy(*args, "--fail-on", "critical").exit_code == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('polcy = ["x"]\n', "`polcy`: extra inputs are not permitted"),
        ('fail-on = "severe"\n', "`fail-on`"),
        ('policy = ["../elsewhere"]\n', "must be relative and stay in the repository"),
        ("policy = [\n", "invalid TOML"),
    ],
)
def test_an_invalid_configuration_is_an_input_error_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / ".mlpolicy.toml").write_text(text)
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        load_config(tmp_path)


def test_the_configuration_is_read_like_every_input(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('fail-on = "critical"\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".mlpolicy.toml").symlink_to(outside)
    with pytest.raises(InputError, match="leaves the repository"):
        load_config(repo)
    (repo / ".mlpolicy.toml").unlink()
    (repo / ".mlpolicy.toml").write_text("# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(InputError, match="larger than"):
        load_config(repo)
    (repo / ".mlpolicy.toml").unlink()
    os.mkfifo(repo / ".mlpolicy.toml")
    with pytest.raises(InputError, match="not a regular file"):
        load_config(repo)


def test_an_invalid_configuration_fails_closed(tmp_path: Path) -> None:
    (tmp_path / ".mlpolicy.toml").write_text("silence = 3\n")
    result = mlpolicy("check", tmp_path)
    assert result.exit_code == 2 and "invalid configuration: `silence`" in result.output


def _color(*root_args: str, env: dict[str, str] | None = None) -> bool:
    with click.Context(main) as context:
        context.params = {"color": root_args[0] if root_args else "auto"}
        old = dict(os.environ)
        os.environ.update(env or {})
        try:
            return color_enabled()
        finally:
            os.environ.clear()
            os.environ.update(old)


def test_colour_follows_the_option_and_no_color() -> None:
    assert _color("always") and not _color("never")
    assert not _color("auto", env={"NO_COLOR": "1"})
    assert not _color("auto")  # the test's standard output is no terminal
    painted = colorize("  FAIL    DP-01  x\n  pass    TR-01  y\n└─ ✗ rule 1\nerror[E001]: z")
    assert painted.count("\x1b[") >= 8 and "DP-01" in painted


def test_colour_never_reaches_a_file_or_a_machine_format(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    repo = FIXTURES / "example-ml-tampered"
    assert mlpolicy("--color", "always", "check", repo, "--output", out).exit_code == 1
    assert "\x1b[" not in out.read_text()
    json_out = mlpolicy("--color", "always", "check", repo, "--format", "json")
    assert "\x1b[" not in json_out.stdout


def test_every_verb_states_its_exit_codes_in_its_help() -> None:
    for verb in COMMANDS:
        result = mlpolicy(verb, "--help")
        assert "Exit status" in result.output, verb
    for sub in ("statement", "link"):
        assert "Exit status" in mlpolicy("attest", sub, "--help").output, sub
    top = mlpolicy("--help").output
    assert "NO_COLOR" in top and "_MLPOLICY_COMPLETE" in top


def test_shell_completion_is_clicks() -> None:
    result = CliRunner().invoke(
        main, [], prog_name="mlpolicy", env={"_MLPOLICY_COMPLETE": "bash_source"}
    )
    assert "_mlpolicy_completion" in result.output
