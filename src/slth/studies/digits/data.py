"""Labelled image data for trained targets: scikit-learn's bundled digits and user-provided MNIST files.

Both loaders return a :class:`Dataset` of flattened float64 inputs (row vectors, shape (n, d)) and
integer labels in [0, 10). Nothing is downloaded: the digits ship with scikit-learn, and MNIST is read
from files the user already has, either an ``.npz`` or the four IDX files of the original
distribution (LeCun, Cortes, Burges), parsed with numpy. ``slth.data`` is this module.
"""

from __future__ import annotations

import dataclasses
import gzip
import zipfile
import zlib
from pathlib import Path

import numpy as np

from slth import checks, extras
from slth.errors import InputError

#: Classes of both data sets; labels must lie in [0, N_CLASSES).
N_CLASSES = 10

#: IDX magic numbers: two zero bytes, element type 0x08 (unsigned byte), number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

#: The four IDX files of MNIST, each also accepted with a ``.gz`` suffix.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

MNIST_FORMAT = (
    "an .npz with arrays x_train (n, ...), y_train (n,), x_test (m, ...), y_test (m,) and integer labels "
    "in [0, 10), or a directory with the IDX files " + ", ".join(IDX_FILES.values()) + " (each optionally .gz)"
)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A train/test split.

    Attributes:
      x_train: (n, d) float64 raw inputs (not yet normalised). y_train: (n,) int64 labels in [0, 10).
      x_test: (m, d) float64. y_test: (m,) int64.
      source: what was loaded (``sklearn-digits`` or the path).
      split: how the split was made (JSON-able), e.g. the train_test_split arguments.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    split: dict

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])


def load_digits(*, test_size: float = 0.2, random_state: int = 0) -> Dataset:
    """scikit-learn's bundled digits (1,797 8x8 images, pixel values 0..16, 10 classes), split by
    ``train_test_split(test_size, random_state, stratify=labels)``: the same arguments give the same split.
    """
    checks.open_unit("test_size", test_size)
    checks.integer("split random_state", random_state, low=0, high=2**32 - 1)
    datasets = extras.need("sklearn.datasets", "the digits data")
    train_test_split = extras.need("sklearn.model_selection", "the digits data").train_test_split

    bunch = datasets.load_digits()
    x = np.asarray(bunch.data, np.float64)
    y = np.asarray(bunch.target, np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, random_state=int(random_state),
                                              stratify=y)
    split = {"method": "sklearn.model_selection.train_test_split", "test_size": test_size,
             "random_state": int(random_state), "stratify": True}
    return Dataset(x_tr, y_tr, x_te, y_te, "sklearn-digits", split)


def load_mnist(path: str | Path) -> Dataset:
    """MNIST (or any data in its format) from user-provided files; see :data:`MNIST_FORMAT`.

    IDX: a big-endian header (magic number, then one uint32 per dimension) followed by unsigned bytes;
    images (n, rows, cols) with magic 0x803, labels (n,) with magic 0x801. The magic numbers, the file
    length against the header, the label range and that images and labels agree in count are checked.
    The split is the one the files hold.

    Raises:
      InputError: a missing or malformed file, naming its path and the expected format.
    """
    path = Path(path)
    if path.is_dir():
        arrays = {}
        for key, name in IDX_FILES.items():
            plain, packed = path / name, path / (name + ".gz")
            f = plain if plain.is_file() else packed if packed.is_file() else None
            if f is None:
                raise InputError(f"MNIST directory {str(path)!r} lacks {name} (or {name}.gz); expected "
                                 + MNIST_FORMAT)
            arrays[key] = (f, read_idx(f, IDX_IMAGES_MAGIC if key.startswith("x") else IDX_LABELS_MAGIC))
    elif path.is_file():
        arrays = {k: (path, v) for k, v in _read_npz(path).items()}
    else:
        check_path(path)
    return _assemble(arrays, str(path))


def check_path(path: str | Path) -> Path:
    """``path`` if it exists (an MNIST file or folder, read later by :func:`load_mnist`), else the one
    InputError that says what is expected; cheap, so callers check it before estimating the work."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"MNIST path {str(path)!r} does not exist; expected " + MNIST_FORMAT)
    return path


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """One IDX file of unsigned bytes (gzip-compressed if it starts with the gzip magic), checked
    against the expected ``magic`` number and the header's dimensions."""
    path = Path(path)
    what = "IDX images (magic 0x803)" if magic == IDX_IMAGES_MAGIC else "IDX labels (magic 0x801)"
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(f"cannot read {str(path)!r} as {what}: {e}") from None
    if len(raw) < 4:
        raise InputError(f"{str(path)!r} is {len(raw)} bytes, too short for an IDX header; expected {what}")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise InputError(f"{str(path)!r} has magic number {found:#010x}; expected {what}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InputError(f"{str(path)!r} is truncated inside its header ({len(raw)} bytes); expected {what}")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) != header + size:
        state = "truncated" if len(raw) < header + size else "longer than its header says"
        raise InputError(f"{str(path)!r} is {state}: the header gives shape {shape}, {header + size} bytes, "
                         f"the file has {len(raw)}; expected {what}")
    return np.frombuffer(raw, np.uint8, count=size, offset=header).reshape(shape)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise InputError(f"{str(path)!r} holds a single array, not an .npz archive; expected "
                                 + MNIST_FORMAT)
            with z:
                missing = [k for k in NPZ_KEYS if k not in z.files]
                if missing:
                    raise InputError(f"{str(path)!r} lacks arrays {missing} (it has {sorted(z.files)}); "
                                     "expected " + MNIST_FORMAT)
                return {k: np.asarray(z[k]) for k in NPZ_KEYS}
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise InputError(f"cannot read {str(path)!r}: {e}; expected " + MNIST_FORMAT) from None


def _assemble(arrays: dict[str, tuple[Path, np.ndarray]], source: str) -> Dataset:
    out = {}
    for part in ("train", "test"):
        (xp, x), (yp, y) = arrays["x_" + part], arrays["y_" + part]
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)) or x.ndim < 2 \
                or x.shape[0] == 0 or 0 in x.shape:
            raise InputError(f"{str(xp)!r}: x_{part} has shape {x.shape} and dtype {x.dtype}; expected a "
                             f"non-empty numeric array (n, ...) of images; expected format: " + MNIST_FORMAT)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise InputError(f"{str(yp)!r}: y_{part} has shape {y.shape} and dtype {y.dtype}; expected a 1-D "
                             "integer array of labels; expected format: " + MNIST_FORMAT)
        if x.shape[0] != y.shape[0]:
            raise InputError(f"{str(yp)!r}: {y.shape[0]} {part} labels for {x.shape[0]} {part} images; the "
                             "counts must match")
        if y.min() < 0 or y.max() >= N_CLASSES:
            raise InputError(f"{str(yp)!r}: {part} labels range over [{y.min()}, {y.max()}]; allowed: "
                             f"0..{N_CLASSES - 1}")
        x = np.asarray(x, np.float64).reshape(x.shape[0], -1)
        if not np.all(np.isfinite(x)):
            raise InputError(f"{str(xp)!r}: x_{part} has NaN or infinite entries; all must be finite")
        out["x_" + part], out["y_" + part] = x, np.asarray(y, np.int64)
    if arrays["x_train"][1].shape[1:] != arrays["x_test"][1].shape[1:]:
        raise InputError(f"{source!r}: train images have shape {arrays['x_train'][1].shape[1:]} but test images "
                         f"{arrays['x_test'][1].shape[1:]}; they must agree")
    return Dataset(**out, source=source, split={"method": "as given by the files"})


__all__ = ["Dataset", "IDX_FILES", "MNIST_FORMAT", "N_CLASSES", "load_digits", "load_mnist", "read_idx"]
