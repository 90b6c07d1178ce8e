"""Policy files on disk: imports, parameterised packs, cycles, unused packs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from policy_engine.api import load_policy
from policy_engine.diagnostics import render_all

PACK = """\
pack release
parameter approvers: role
parameter max_age: duration = 30d
parameter max_ece: number
control REL-01 "Models are calibrated" {
  severity high
  stage inference
  mitigates "Confidence Miscalibration"
  require every artifact of kind model
    is attested with "https://x/calibration" by approvers where ece < max_ece within max_age
}
"""


def _repo(tmp_path: Path, key_dir: Callable[[Path], Path], main: str, pack: str = PACK) -> Path:
    key_dir(tmp_path)
    (tmp_path / "policies" / "packs").mkdir(parents=True)
    (tmp_path / "policies" / "main.policy").write_text(main)
    (tmp_path / "policies" / "packs" / "release.policy").write_text(pack)
    return tmp_path


MAIN = """\
policy "team"
import "packs/release.policy" with approvers = ml, max_ece = 0.05
key alice from "keys/alice.pub"
role ml = alice
"""


def test_a_pack_is_compiled_with_its_bindings_and_defaults(tmp_path, key_dir) -> None:
    repo = _repo(tmp_path, key_dir, MAIN)
    loaded = load_policy([repo / "policies"], repo)
    assert loaded.diagnostics == ()
    assert loaded.policy is not None
    (control,) = loaded.policy.controls
    predicate = control.rules[0].predicate
    assert predicate.role.name == "ml"  # type: ignore[union-attr]
    assert predicate.conditions[0].value == 0.05  # type: ignore[union-attr]
    assert predicate.within.days == 30  # type: ignore[union-attr]
    assert control.location.file == "policies/packs/release.policy"


def _errors(repo: Path) -> str:
    loaded = load_policy([repo / "policies"], repo)
    assert loaded.policy is None
    return render_all(loaded.diagnostics, loaded.sources)


def test_missing_unknown_and_mistyped_bindings_are_errors(tmp_path, key_dir) -> None:
    main = MAIN.replace("max_ece = 0.05", 'max_ece = "low", colour = 1')
    text = _errors(_repo(tmp_path, key_dir, main))
    assert "error[E114]: parameter `max_ece` takes a number, not a string" in text
    assert "error[E101]: pack `release` has no parameter `colour`" in text
    assert "error[E112]: pack `release` needs a value for `max_ece`" in text
    assert "policies/main.policy:2:1" in text


def test_an_import_cycle_and_a_missing_import_are_errors(tmp_path, key_dir) -> None:
    main = MAIN + 'import "main.policy"\nimport "nowhere.policy"\n'
    text = _errors(_repo(tmp_path, key_dir, main))
    assert "error[E111]: import cycle: the file imports itself" in text
    assert "error[E005]: imported file `nowhere.policy` not found" in text


def test_a_pack_may_not_declare_keys_and_an_unimported_pack_is_a_warning(tmp_path, key_dir) -> None:
    repo = _repo(
        tmp_path,
        key_dir,
        'key alice from "keys/alice.pub"\n',
        PACK + 'key bob from "keys/bob.pub"\n',
    )
    loaded = load_policy([repo / "policies"], repo)
    codes = [d.code for d in loaded.diagnostics]
    assert codes == ["W205", "W201"]
    (tmp_path / "policies" / "main.policy").write_text(MAIN)
    text = _errors(repo)
    assert "error[E113]: a pack declares only parameters and controls" in text
