"""Every DVC file of the shared corpus loads as DVC's own classes load it (see MANIFEST.md).

For each DVC project of each snapshot, each ``dvc.yaml``, ``dvc.lock`` and
``.dvc`` file: the libyaml parse gives DVC's parser's data (or leaves the file
to it), and the stages, names, deps, outs, params and digests of our load equal
DVC's own load, and so do the builder's stage records (from DVC's resolved data)
and those read off DVC's own ``Stage`` objects. The corpus is copied first (DVC
never opens the corpus itself).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policy_engine.graph.builders.dvc.repo import open_read_only
from policy_engine.graph.builders.dvc.search import ProjectSearch
from policy_engine.graph.builders.dvc.yamlload import parse
from tests.corpus.test_dvc_corpus import CORPUS, DVC_FOLDERS
from tests.graph.dvc_equality import both_loads, both_records

pytestmark = [
    pytest.mark.slow,  # every corpus repository, end to end
    pytest.mark.skipif(
        not CORPUS.is_dir(), reason=f"the shared corpus of third-party files is not at {CORPUS}"
    ),
]
FILES = sorted(
    path.relative_to(CORPUS).as_posix()
    for folder in DVC_FOLDERS
    if (CORPUS / folder).is_dir()
    for pattern in ("dvc.yaml", "dvc.lock", "*.dvc")
    for path in (CORPUS / folder).rglob(pattern)
    if path.is_file()
)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("corpus")
    for folder in DVC_FOLDERS:
        shutil.copytree(CORPUS / folder, target / folder, symlinks=True)
    return target


@pytest.mark.parametrize("name", FILES)
def test_libyaml_parse_is_dvcs_parse(name: str) -> None:
    from dvc.utils.serialize import parse_yaml

    text = (CORPUS / name).read_text()
    parsed = parse(text)
    assert parsed is not None, "the corpus's files are plain YAML: none left to DVC"
    assert parsed.data == parse_yaml(text, name)


def projects(root: Path) -> list[Path]:
    return [root / folder for folder in ProjectSearch(root)]


@pytest.mark.parametrize("folder", DVC_FOLDERS)
def test_every_file_loads_as_dvc_loads_it(copy: Path, folder: str) -> None:
    compared = 0
    for project in projects(copy / folder):
        with open_read_only(project) as repo:
            for name in FILES:
                path = CORPUS / name
                local = copy / name
                if path.name == "dvc.lock" or not local.is_relative_to(project):
                    continue
                if any(p != project and local.is_relative_to(p) for p in projects(project)):
                    continue  # a nested project's file
                theirs, ours = both_loads(repo, local)
                assert ours == theirs, local
                theirs, ours = both_records(repo, local, copy)
                assert ours == theirs, local
                compared += 1
    assert compared
