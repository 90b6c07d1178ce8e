"""Opening a local MLflow tracking store read-only, through MLflow's own client.

A SQLite store is opened by SQLite itself in read-only mode (``mode=ro``): MLflow
cannot create tables or migrate the schema, and a store that would need either
is an error. The ``mlruns/`` file store is copied first, without its
``artifacts`` folders, into a temporary folder that MLflow may touch (it creates
``.trash`` when missing); the repository's copy is never opened by MLflow. The
tracking and registry URIs are always given explicitly, so no server is asked,
and MLflow's telemetry is off. MLflow's file-store registry opens a client of its
own (without a URI) to read a version's logged model; for that client the default
URI is set to the same store while it is open, so MLflow never creates or reads an
``mlflow.db`` in the working folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from policy_engine import inputs
from policy_engine.errors import InputError

MAX_DB_BYTES = 4 * 1024 * 1024 * 1024
MAX_STORE_FILES = 200_000
MAX_STORE_FILE_BYTES = 64 * 1024 * 1024
PAGE = 1000
SQLITE_MAGIC = b"SQLite format 3\x00"
_ENVIRONMENT = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ALLOW_FILE_STORE": "true",
}


def _import_client() -> Any:
    """MLflow's client, imported on first use, with telemetry off and its logging quiet."""
    os.environ.update(_ENVIRONMENT)
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise InputError(
            "reading an MLflow store needs MLflow: pip install 'mlpolicy[mlflow]'"
        ) from None
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    return MlflowClient


@contextmanager
def open_store(path: Path, where: str) -> Iterator[Any]:
    """An ``MlflowClient`` over the store at ``path`` (a SQLite file or an ``mlruns`` folder)."""
    client = _import_client()
    if path.is_dir():
        with tempfile.TemporaryDirectory(prefix="mlpolicy-mlruns-") as scratch:
            copy = Path(scratch) / "mlruns"
            _copy_metadata(path, copy, where)
            uri = copy.as_uri()
            with _default_uri(uri):
                yield client(tracking_uri=uri, registry_uri=uri)
        return
    _check_sqlite(path, where)
    uri = _sqlite_uri(path)
    with _default_uri(uri):
        yield client(tracking_uri=uri, registry_uri=uri)


def _sqlite_uri(path: Path) -> str:
    """A read-only SQLAlchemy URI of the SQLite file ``path``.

    The SQLite URI (``file:`` with the path percent-encoded for SQLite) is
    percent-encoded once more for SQLAlchemy, which decodes one level: no ``/``
    is left in the URI's path, so MLflow finds no parent folder to create in the
    working folder, and ``?``, ``#`` or ``%`` in the path stay part of it.
    """
    inner = "file:" + quote(str(path), safe="/")
    return f"sqlite:///{quote(inner, safe='')}?mode=ro&uri=true"


@contextmanager
def _default_uri(uri: str) -> Iterator[None]:
    """MLflow's default tracking and registry URI set to ``uri`` while the store is open."""
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, uri))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_sqlite(path: Path, where: str) -> None:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("an MLflow store is a SQLite file or an `mlruns` folder", where)
        if info.st_size > MAX_DB_BYTES:
            raise InputError(f"the MLflow store is larger than {MAX_DB_BYTES} bytes", where)
        with inputs.open_binary(path) as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise InputError("MLflow store not found", where) from None
    except OSError as exc:
        raise InputError(f"cannot read the MLflow store: {exc.strerror}", where) from None
    if magic != SQLITE_MAGIC:
        raise InputError("not a SQLite database (an MLflow store is `sqlite:///...`)", where)


def _copy_metadata(source: Path, target: Path, where: str) -> None:
    """Copy the store's files, except run and model artifacts, bounded; symlinks are skipped."""
    count = 0
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d != "artifacts" and not _is_link(folder, d))
        into = target / Path(folder).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            count += 1
            if count > MAX_STORE_FILES:
                raise InputError(f"the MLflow store has more than {MAX_STORE_FILES} files", where)
            _copy_file(Path(folder) / name, into / name, where)


def _is_link(folder: str, name: str) -> bool:
    return os.path.islink(os.path.join(folder, name))


def _copy_file(source: Path, target: Path, where: str) -> None:
    info = os.lstat(source)
    if not stat.S_ISREG(info.st_mode):
        return
    if info.st_size > MAX_STORE_FILE_BYTES:
        raise InputError(f"a file of the MLflow store is larger than {MAX_STORE_FILE_BYTES}", where)
    shutil.copyfile(source, target)


def paged(search: Callable[..., Any], limit: int, where: str, **arguments: Any) -> list[Any]:
    """Every item of a paged MLflow search, at most ``limit``."""
    found: list[Any] = []
    token = None
    while True:
        page = search(max_results=PAGE, page_token=token, **arguments)
        found += list(page)
        if len(found) > limit:
            raise InputError(f"the MLflow store has more than {limit} entries of a kind", where)
        token = getattr(page, "token", None)
        if not token:
            return found


def store_problem(exc: Exception) -> str:
    """Why MLflow could not read a store, in words; the store's content is never echoed."""
    text = str(exc)
    if "out-of-date database schema" in text or "alembic" in text.lower():
        return (
            "the store's database schema needs a migration (`mlflow db upgrade`), "
            "which would write to it: could not judge"
        )
    if "readonly database" in text or "no such table" in text:
        return "the database has no MLflow tables, and creating them would write to it"
    return f"MLflow could not read the store ({type(exc).__name__})"
