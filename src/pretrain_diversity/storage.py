"""Atomic writes, safe reads and the cache folder.

Every file is written to a temporary name in the same folder and moved into place with
``os.replace``, which is atomic on POSIX file systems: readers see the old file or the new one,
so a killed process never leaves a half-written file behind.

Nothing executable is ever loaded from an output, cache or data folder: anyone who can write
there could otherwise run code in the next process that reads the file. Tensors are read with
``torch.load(weights_only=True)`` and arrays with ``numpy.load(allow_pickle=False)``
(``load_tensors``, ``load_arrays``); a file that holds pickled objects instead raises
``UntrustedFile``, naming it and what to do, and nothing in it runs.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

CACHE_ENV = "PRETRAIN_DIVERSITY_CACHE"


def cache_dir() -> Path:
    """Where generated data is cached: $PRETRAIN_DIVERSITY_CACHE, else ~/.cache/pretrain-diversity."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pretrain-diversity"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class UntrustedFile(RuntimeError):
    """A file that should hold only tensors or arrays holds pickled objects; it was not loaded."""

    def __init__(self, path, what: str, remedy: str, detail: str = ""):
        self.path = Path(path)
        super().__init__(
            f"refused to load {self.path}: {what} should hold only tensors and plain data, but "
            f"this file holds pickled Python objects{f' ({detail})' if detail else ''}, which "
            f"could run code when loaded, so it was not loaded. pretrain-diversity never writes "
            f"such a file: someone or something else put it there. {remedy}"
        )


def load_tensors(path: str | os.PathLike, *, what: str, remedy: str, map_location=None):
    """``torch.load`` restricted to tensors, numbers, strings and containers of them.

    Raises ``UntrustedFile`` if the file pickles anything else; other errors (a truncated or
    damaged file) propagate unchanged, so callers can treat them as a missing file.
    """
    import pickle

    import torch

    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol is no news: it is refused
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" not in str(e):
            raise
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        detail = f"it names {found.group(1)}" if found else pickled_code(path)
        if not detail:
            raise  # no pickle that names code (garbage, a truncated file): damage, not a threat
        raise UntrustedFile(path, what, remedy, detail) from None


CODE_OPCODES = frozenset({"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"})


def pickled_code(path: str | os.PathLike) -> str:
    """What a plain pickle file would import or call ("" if it is no readable pickle, or names no
    code): torch's refusal of a plain pickle does not say whether it was garbage or a threat."""
    import pickletools

    try:
        with open(path, "rb") as f:
            for op, arg, _ in pickletools.genops(f):
                if op.name in CODE_OPCODES:
                    return f"it names {arg}" if isinstance(arg, str) else f"it uses {op.name}"
    except Exception:  # not a pickle stream at all
        return ""
    return ""


def load_arrays(path: str | os.PathLike, *, what: str, remedy: str, mmap_mode=None):
    """``numpy.load`` without pickles: an ``.npy`` array, or an ``.npz`` archive read whole into
    a dict of arrays.

    Raises ``UntrustedFile`` if the file is (or holds) a pickle; other errors propagate.
    """
    import numpy as np

    try:
        loaded = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as z:
                return {k: z[k] for k in z.files}
        return loaded
    except ValueError as e:
        if "pickled" not in str(e) and "allow_pickle" not in str(e):
            raise
        raise UntrustedFile(path, what, remedy) from None


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are for sharing
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    return atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def atomic_save_npz(path: str | os.PathLike, **arrays) -> Path:
    import numpy as np

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def atomic_torch_save(path: str | os.PathLike, obj) -> Path:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getvalue())


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it is moved onto ``path`` atomically.

    For files too large to build in memory (decoded data sets written through a memmap): the
    caller writes the temporary file; if it raises, the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
