"""The `mlpolicy` command as users run it: exit codes, outputs, and failing closed."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from click.testing import CliRunner

from policy_engine.cli import main
from policy_engine.cli.main import _status
from tests.cliprobe import run_module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COMPLIANT, TAMPERED = FIXTURES / "example-ml", FIXTURES / "example-ml-tampered"
FINDING_KEYS = {"control", "severity", "stage", "subject", "message", "evidence", "file", "line"}


def mlpolicy(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A private copy of the tampered example, free to edit."""
    return Path(shutil.copytree(TAMPERED, tmp_path / "repo"))


def test_the_compliant_example_passes() -> None:
    result = mlpolicy("check", COMPLIANT)
    assert result.exit_code == 0, result.output
    assert "5 controls passed, 0 findings" in result.output


def test_the_tampered_example_fails_with_each_kind_of_finding() -> None:
    result = mlpolicy("check", TAMPERED, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    kinds = {f["kind"] for f in report["findings"]}
    assert {"unsigned-artifact", "missing-lineage", "unauthorized-step"} <= kinds
    for finding in report["findings"]:
        assert finding.keys() >= FINDING_KEYS
        assert finding["evidence"], finding
    by_control = {f["control"]: f for f in report["findings"]}
    assert by_control["DE-01"]["subject"] == "models/model.json"
    assert by_control["DP-01"]["subject"] == "featurize"
    assert by_control["TR-02"]["file"] == "policies/pipeline.policy"
    assert report["summary"]["failed"] == 3


def test_json_is_byte_identical_across_runs(tmp_path: Path) -> None:
    outputs = []
    for n in range(2):
        target = tmp_path / f"report{n}.json"
        assert mlpolicy("check", TAMPERED, "--format", "json", "--output", target).exit_code == 1
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]


def test_fail_on_sets_the_lowest_failing_severity(repo: Path) -> None:
    policy = repo / "policies" / "pipeline.policy"
    text = policy.read_text().replace("severity critical", "severity high")
    policy.write_text(text)
    assert mlpolicy("check", repo, "--fail-on", "critical").exit_code == 0
    assert mlpolicy("check", repo, "--fail-on", "high").exit_code == 1


def test_a_syntax_error_exits_2_with_every_error_located(repo: Path) -> None:
    policy = repo / "policies" / "pipeline.policy"
    text = policy.read_text().replace('key ml_engineer from "', "key ml_engineer from ")
    policy.write_text(text.replace("role ml_team = ml_engineer", "role ml_team = = ml"))
    result = mlpolicy("check", repo)
    assert result.exit_code == 2
    assert 'error[E002]: unexpected character `"`' not in result.stderr
    assert "policies/pipeline.policy:10:22" in result.stderr
    assert "policies/pipeline.policy:13:16" in result.stderr
    assert "nothing was checked" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_name_exits_2(repo: Path) -> None:
    policy = repo / "policies" / "pipeline.policy"
    policy.write_text(policy.read_text().replace("performed by ml_team", "performed by ml_teem"))
    result = mlpolicy("validate", "--repo", repo, repo / "policies")
    assert result.exit_code == 2
    assert "error[E101]: unknown role `ml_teem`" in result.stderr
    assert "did you mean `ml_team`?" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "no/such/repo"], "no/such/repo: repository folder not found"),
        (["check", str(COMPLIANT), "--policy", "nope.policy"], "nope.policy: no such policy"),
        (["check", str(COMPLIANT), "--attestations", "nowhere"], "nowhere"),
        (["validate", str(FIXTURES / "keys")], "no `*.policy` files found"),
    ],
)
def test_missing_inputs_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = mlpolicy(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_malformed_link_exits_2(repo: Path) -> None:
    (repo / "attestations" / "bad.link").write_text("{not json")
    result = mlpolicy("check", repo)
    assert result.exit_code == 2
    assert "attestations/bad.link" in result.stderr


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def test_checking_a_repository_changes_nothing_in_it(repo: Path) -> None:
    before = _tree(repo)
    assert mlpolicy("check", repo).exit_code == 1
    assert _tree(repo) == before


def test_validate_accepts_the_example_policy() -> None:
    result = mlpolicy("validate", "--repo", COMPLIANT, COMPLIANT / "policies")
    assert result.exit_code == 0
    assert result.stdout == "ok: 1 policy file(s), 5 controls\n"


def test_python_dash_m_is_the_same_command_and_help_imports_no_heavy_library() -> None:
    out = run_module(["--help"], ("dvc", "in_toto", "networkx", "model_signing", "sigstore"))
    assert "Usage: mlpolicy" in out
    assert out.strip().endswith("0 []")


@pytest.mark.parametrize(("example", "status"), [(COMPLIANT, 0), (TAMPERED, 1)])
def test_the_program_flushes_its_whole_report_and_exits_with_its_status(
    example: Path, status: int
) -> None:
    command = [sys.executable, "-m", "policy_engine", "check", str(example), "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == status, done.stderr
    assert json.loads(done.stdout)["summary"]["controls"] == 5


def test_the_program_reports_an_input_error_and_exits_2(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "policy_engine", "check", str(tmp_path / "missing")]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stdout == "" and "missing" in done.stderr


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (1, 1), (2, 2), (256, 0)])
def test_exit_statuses_are_pythons(code: object, status: int) -> None:
    assert _status(code) == status


program = importlib.import_module("policy_engine.cli.main")  # the module, not the group


class _Ended(Exception):
    pass


def _verb_holding(graph: object, code: int | None) -> None:
    if code is not None:
        sys.exit(code)


@pytest.mark.parametrize("code", [None, 1, 2])
def test_the_program_ends_before_freeing_what_its_verb_held(
    monkeypatch: pytest.MonkeyPatch, code: int | None
) -> None:
    class Graph:
        pass

    freed: list[bool] = []
    ends: list[tuple[int, list[bool]]] = []

    def verb() -> None:
        graph = Graph()
        weakref.finalize(graph, freed.append, True)
        _verb_holding(graph, code)

    def end(status: int) -> None:
        ends.append((status, list(freed)))
        raise _Ended

    monkeypatch.setattr(program, "main", verb)
    monkeypatch.setattr(program.os, "_exit", end)
    with pytest.raises(_Ended):
        program.run()
    # an exit's traceback holds the verb's frames: the graph is still there when the
    # process ends (a verb that returns has dropped its frames already)
    assert ends == [(code or 0, [] if code is not None else [True])]


def test_a_text_exit_is_printed_and_is_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert _status("stopped") == 1
    assert capsys.readouterr().err == "stopped\n"


HEAVY = ("dvc", "in_toto", "networkx", "mlflow", "sqlalchemy", "dulwich")
TEST_RESULT_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
SCHEMAS = "policy_engine.schemas.predicates"


def test_validate_of_a_policy_reading_an_mlflow_store_imports_no_heavy_library(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "p.policy"
    policy.write_text(
        'policy "p"\nmlflow in "mlflow.db"\ncontrol TR-02 "Champion" {\n  severity high\n'
        '  stage model_training\n  require every model with alias "champion"'
        " was trained at this commit\n}\n"
    )
    out = run_module(["validate", "--repo", str(tmp_path), str(policy)], HEAVY)
    assert out.strip().endswith("0 []"), out


@pytest.mark.parametrize("at", ["0001-01-01", "9999-12-31", "1969-12-31T23:59:59"])
def test_an_evaluation_time_out_of_range_is_a_usage_error(at: str) -> None:
    result = mlpolicy("check", COMPLIANT, "--at", at)
    assert result.exit_code == 2
    assert "is not a time between 1970 and 2999" in result.output


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", 'policy "p"\nkey a from "keys/ml-engineer.pub"\nrole r = a\n'],
    ids=["empty", "comments only", "no control"],
)
def test_a_policy_with_no_control_cannot_pass(repo: Path, text: str) -> None:
    folder = repo / "only"
    folder.mkdir()
    (folder / "p.policy").write_text(text)
    result = mlpolicy("check", repo, "--policy", folder)
    assert result.exit_code == 2
    assert "declares no control" in result.stderr


def test_two_policy_names_in_one_evaluation_are_an_error(repo: Path) -> None:
    (repo / "policies" / "other.policy").write_text('policy "something else"\n')
    result = mlpolicy("check", repo)
    assert result.exit_code == 2
    assert "error[E119]: policy `something else` is checked together with policy" in result.stderr


def test_a_syntax_error_hides_no_error_after_it(repo: Path) -> None:
    policy = repo / "policies" / "pipeline.policy"
    text = policy.read_text().replace("performed by ml_team", "performed by ml_teem", 1)
    policy.write_text("key broken from\n" + text)
    result = mlpolicy("validate", "--repo", repo, repo / "policies")
    assert result.exit_code == 2
    assert "error[E001]" in result.stderr
    assert "error[E101]: unknown role `ml_teem`" in result.stderr


def test_validate_of_conditions_on_unknown_predicate_types_imports_no_schemas(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "p.policy"
    policy.write_text(
        'policy "p"\nkey team from "keys/team.pub"\nrole evaluators = team\n'
        'control EV-01 "Evaluated" {\n  severity high\n  stage model_training\n'
        "  require every artifact of kind model is attested with"
        ' "https://x/eval/v1" by evaluators where acc >= 0.9\n}\n'
    )
    (tmp_path / "keys").mkdir()
    shutil.copy(COMPLIANT / "keys" / "ml-engineer.pub", tmp_path / "keys" / "team.pub")
    out = run_module(["validate", "--repo", str(tmp_path), str(policy)], (*HEAVY, SCHEMAS))
    assert out.strip().endswith("0 []"), out
    known = policy.read_text().replace("https://x/eval/v1", TEST_RESULT_TYPE)
    policy.write_text(known)  # a type with a schema: its fields are checked against it
    out = run_module(["validate", "--repo", str(tmp_path), str(policy)], (SCHEMAS,))
    assert "`acc` is not a field" in out and f"0 ['{SCHEMAS}']" in out, out


def test_the_predicate_types_with_a_schema_are_the_schemas_types() -> None:
    from policy_engine.schemas.predicates import SCHEMAS
    from policy_engine.schemas.types import SCHEMA_TYPES

    assert frozenset(SCHEMAS) == SCHEMA_TYPES
