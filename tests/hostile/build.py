"""Build the hostile-repository corpus: copies of the example repository, each with ONE change.

``python tests/hostile/build.py DEST`` writes one folder per case of ``cases.yaml``
under ``DEST`` (``DEST/<case>/repo``), beside a folder ``DEST/<case>/outside`` that
holds a secret the hostile change points at: nothing the engine prints may contain it,
and nothing under it may be opened. A case starts from ``fixtures/<base>`` (default
``example-ml``; ``example-ml-tampered`` brings findings a hostile change might hide).

A change is data: ``replace`` (file, old, new), ``append`` (file, text), ``write``
(file, text), ``write_bytes`` (file, Python-escaped text), ``symlink`` (file,
target), ``fifo`` (file), ``remove`` (file), ``sign_statement`` (file, key, statement:
an in-toto Statement signed by the fixture key ``fixtures/keys/<key>``, written as an
envelope, or appended to a ``.jsonl`` bundle), ``key_json`` (file, key, upper: the
fixture public key as securesystemslib JSON, its hex upper-cased when ``upper``) or
``generate`` (the name of a function below, for inputs too large to write out).
In strings, ``{outside}`` is the folder outside and ``{sha256:PATH}`` the sha256 of
the repository's file ``PATH`` before the change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "fixtures"
KEYS = FIXTURES / "keys"
CASES = HERE / "cases.yaml"
SECRET = "SECRET-OUTSIDE-THE-REPOSITORY"


def load_cases() -> dict[str, dict[str, Any]]:
    """The cases of ``cases.yaml`` by name."""
    return {case["name"]: case for case in yaml.safe_load(CASES.read_text(encoding="utf-8"))}


def build(case: dict[str, Any], dest: Path) -> Path:
    """Build ``case`` under ``dest``; return the repository's folder."""
    outside = dest / "outside"
    outside.mkdir(parents=True)
    (outside / "secret").write_text(SECRET + "\n", encoding="utf-8")
    (outside / "cache").mkdir()
    base = FIXTURES / case.get("base", "example-ml")
    root = Path(shutil.copytree(base, dest / "repo", symlinks=True))
    for change in case["changes"]:
        _apply(root, outside, change)
    return root


def _apply(root: Path, outside: Path, change: dict[str, Any]) -> None:
    ((op, arguments),) = change.items()
    args = {k: _expand(v, outside, root) for k, v in arguments.items()}
    path = root / args["file"] if "file" in args else root
    if op == "replace":
        text = path.read_text(encoding="utf-8")
        assert args["old"] in text, f"{args['file']}: `{args['old']}` not found"
        path.write_text(text.replace(args["old"], args["new"], 1), encoding="utf-8")
    elif op == "append":
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(args["text"])
    elif op == "write":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(args["text"], encoding="utf-8")
    elif op == "write_bytes":
        path.write_bytes(args["text"].encode("latin-1").decode("unicode_escape").encode("latin-1"))
    elif op in SIGNED:
        SIGNED[op](path, args)
    elif op in ("symlink", "fifo", "remove"):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
        if op == "symlink":
            path.symlink_to(args["target"])
        elif op == "fifo":
            os.mkfifo(path)
    else:
        GENERATORS[args["name"]](root)


PLACEHOLDERS = {
    "{long_path}": "a/" * 5000,  # 10,000 characters
    "{nested}": "(" * 300 + "is performed by ml_team" + ")" * 300,
}


_DIGEST = re.compile(r"\{sha256:([^}]+)\}")


def _expand(value: Any, outside: Path, root: Path) -> Any:
    """``value`` with its placeholders replaced, in every string of a list or mapping."""
    if isinstance(value, dict):
        return {k: _expand(v, outside, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, outside, root) for v in value]
    if not isinstance(value, str):
        return value
    for placeholder, text in {**PLACEHOLDERS, "{outside}": str(outside)}.items():
        value = value.replace(placeholder, text)
    return _DIGEST.sub(lambda m: hashlib.sha256((root / m[1]).read_bytes()).hexdigest(), value)


def _signer(name: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner

    return CryptoSigner(load_pem_private_key((KEYS / name).read_bytes(), password=None))


def _sign_statement(path: Path, args: dict[str, Any]) -> None:
    """Sign ``args["statement"]`` as ``mlpolicy attest`` does, with the fixture key named."""
    from policy_engine.produce.statements import append_to_bundle, sign_statement, write_envelope

    signed = sign_statement(args["statement"], _signer(args["key"]))
    if path.suffix == ".jsonl":
        append_to_bundle(signed, path, keep_history=True)
    else:
        write_envelope(signed, path)


def _key_json(path: Path, args: dict[str, Any]) -> None:
    """The fixture public key in securesystemslib's JSON form (hex upper-cased if asked)."""
    public = _signer(args["key"]).public_key
    hex_key = public.keyval["public"]
    keyval = {"public": hex_key.upper() if args.get("upper") else hex_key}
    key = {"keytype": public.keytype, "scheme": public.scheme, "keyval": keyval}
    path.write_text(json.dumps(key), encoding="utf-8")


SIGNED: dict[str, Callable[[Path, dict[str, Any]], None]] = {
    "sign_statement": _sign_statement,
    "key_json": _key_json,
}


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _params_alias_bomb(root: Path) -> None:
    params = root / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8") + _alias_bomb(), encoding="utf-8")


def _vars_alias_bomb(root: Path) -> None:
    dvc = root / "dvc.yaml"
    bomb = "".join(f"      {line}\n" for line in _alias_bomb().splitlines())
    dvc.write_text("vars:\n  - bomb:\n" + bomb + dvc.read_text(encoding="utf-8"), encoding="utf-8")


def _meta_alias_bomb(root: Path) -> None:
    dvc = root / "dvc.yaml"
    text = dvc.read_text(encoding="utf-8")
    anchors = "x-bomb:\n" + "".join(f"  {line}\n" for line in _alias_bomb().splitlines())
    old = "    meta:\n      lifecycle: data_preparation\n"
    dvc.write_text(anchors + text.replace(old, old + "      bomb: *a8\n", 1), encoding="utf-8")


def _matrix_million(root: Path) -> None:
    values = "[" + ", ".join(str(i) for i in range(100)) + "]"
    stage = (
        "  huge:\n    matrix:\n"
        + "".join(f"      {axis}: {values}\n" for axis in "abc")
        + "    cmd: echo ${item.a}\n"
    )
    dvc = root / "dvc.yaml"
    dvc.write_text(
        dvc.read_text(encoding="utf-8").replace("stages:\n", "stages:\n" + stage, 1),
        encoding="utf-8",
    )


def _foreach_200k(root: Path) -> None:
    stage = "  many:\n    foreach: [" + ", ".join(str(i) for i in range(200_000)) + "]\n"
    stage += "    do:\n      cmd: echo ${item}\n"
    dvc = root / "dvc.yaml"
    dvc.write_text(
        dvc.read_text(encoding="utf-8").replace("stages:\n", "stages:\n" + stage, 1),
        encoding="utf-8",
    )


def _stale_lock_50k(root: Path) -> None:
    lock = root / "dvc.lock"
    entries = "".join(f"  gone{i}:\n    cmd: echo {i}\n" for i in range(50_000))
    lock.write_text(
        lock.read_text(encoding="utf-8").replace("stages:\n", "stages:\n" + entries, 1),
        encoding="utf-8",
    )


def _long_integer_in_a_bundle(root: Path) -> None:
    bundle = root / "attestations" / "evidence.intoto.jsonl"
    bundle.write_text('{"n": ' + "7" * 5000 + "}\n" + bundle.read_text(encoding="utf-8"))


GENERATORS: dict[str, Callable[[Path], None]] = {
    "params_alias_bomb": _params_alias_bomb,
    "vars_alias_bomb": _vars_alias_bomb,
    "meta_alias_bomb": _meta_alias_bomb,
    "matrix_million": _matrix_million,
    "foreach_200k": _foreach_200k,
    "stale_lock_50k": _stale_lock_50k,
    "long_integer_in_a_bundle": _long_integer_in_a_bundle,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    dest = parser.parse_args(argv).dest
    for name, case in load_cases().items():
        build(case, dest / name)
        print(dest / name / "repo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
