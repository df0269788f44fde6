"""Files that survive a crash: write to a temporary name, flush to disk, then rename.

A reader therefore sees either the old file or the new one, never half of one.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "metrics.json"
>>> _ = atomic_write_json(p, {"accuracy": 0.9})
>>> p.read_text()
'{\\n "accuracy": 0.9\\n}'
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

#: The file ``llmstart train --lora`` writes beside the adapter: the base model's name and the
#: label names. ``predict`` and ``serve`` look for it to know a folder holds an adapter.
ADAPTER_INFO = "llmstart_adapter.json"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems do not open folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename).

    >>> import tempfile, pathlib
    >>> p = atomic_write_bytes(pathlib.Path(tempfile.mkdtemp()) / "a.bin", b"xyz")
    >>> p.read_bytes()
    b'xyz'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically.

    >>> import tempfile, pathlib
    >>> atomic_write_text(pathlib.Path(tempfile.mkdtemp()) / "a.txt", "hi").read_text()
    'hi'
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=1, ensure_ascii=False))


def fsync_tree(folder: str | Path) -> None:
    """Flush every file under ``folder`` (and the folders) to disk before it is renamed into place."""
    folder = Path(folder)
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            with open(p, "rb+") as f:
                os.fsync(f.fileno())
    for d in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        _fsync_dir(d)


def replace_dir(tmp: str | Path, target: str | Path) -> Path:
    """Swap a finished folder ``tmp`` into place as ``target``; return ``target``.

    The old ``target`` is first renamed to ``target.old`` and removed only after ``tmp`` has taken
    its place. A crash between the two renames leaves ``target.old`` complete: readers such as
    :func:`existing_dir` fall back to it, so a checkpoint is never lost.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "new").mkdir(); _ = (root / "new" / "f").write_text("2")
    >>> (replace_dir(root / "new", root / "ckpt") / "f").read_text()
    '2'
    """
    tmp, target = Path(tmp), Path(target)
    fsync_tree(tmp)
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)
    return target


def existing_dir(target: str | Path) -> Path | None:
    """``target`` if it exists, else the ``target.old`` a crash inside :func:`replace_dir` left, else None.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / "ckpt.old").mkdir()
    >>> existing_dir(root / "ckpt").name
    'ckpt.old'
    """
    target = Path(target)
    for candidate in (target, target.with_name(target.name + ".old")):
        if candidate.is_dir():
            return candidate
    return None


def temp_dir_beside(target: str | Path) -> Path:
    """A fresh, uniquely named folder next to ``target`` (same file system, so a rename is atomic)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
