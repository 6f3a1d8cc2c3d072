"""Write outputs to a temporary sibling path and rename into place.

A killed or failed stage then never leaves a half-written file or directory under the output
name, so DVC never takes it as complete. A full disk (or a file-size limit) is reported as such,
naming the output, after the partial copy has been removed.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from koen.errors import KoenError

NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _no_space(err: BaseException, path: Path) -> KoenError | None:
    """A clear message for a write that failed for lack of space; None for other errors."""
    # Libraries that write natively (safetensors, FAISS) raise their own types with the OS text.
    reason = next((os.strerror(code) for code in NO_SPACE
                   if (isinstance(err, OSError) and err.errno == code)
                   or os.strerror(code) in str(err)), None)
    if reason is None:
        return None
    return KoenError(f"could not write {path}: {reason}; nothing was left under that name; "
                     "free some disk space and run the stage again")


@contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield an empty temporary directory; on success it replaces `path`."""
    path = Path(path)
    tmp = _part(path)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if (clear := _no_space(err, path)) is not None:
            raise clear from err
        raise
    replace_dir(tmp, path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


_LIBC = ctypes.CDLL(None, use_errno=True)
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system or
    the filesystem cannot."""
    renameat2 = getattr(_LIBC, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def replace_dir(new: Path, path: Path) -> None:
    """Put `new` under `path` so that a crash at any point leaves the old or the new output
    under the name, never neither: the two are swapped in one step and the old one (now under
    `new`'s name, a `.part` the next write clears) removed after. Where the filesystem cannot
    swap, the old one is removed first, the window DVC's own checkout has too."""
    if path.exists() or path.is_symlink():
        if exchange(new, path):
            _remove(new)
            return
        _remove(path)
    new.rename(path)


@contextmanager
def atomic_file(path: Path | str, mode: str = "w") -> Iterator[Any]:
    """Open a temporary file for writing; on success it replaces `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _part(path)
    try:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if (clear := _no_space(err, path)) is not None:
            raise clear from err
        raise
    os.replace(tmp, path)


def write_json(path: Path | str, obj: Any) -> None:
    with atomic_file(path) as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, sort_keys=True)
        f.write("\n")
