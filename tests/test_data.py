"""dlbook.data: the offline data sets, one-hot labels, IDX files and downloads."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import math
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits as sk_load_digits
from sklearn.datasets import load_sample_image

from dlbook import data


# ---------------------------------------------------------------- the digits split
def test_split_partitions_all_digits() -> None:
    parts = data.digits_split_indices()
    everything = np.concatenate([parts["train"], parts["val"], parts["test"]])
    assert sorted(everything.tolist()) == list(range(1797))


def test_split_is_stratified_60_20_20() -> None:
    target = sk_load_digits().target
    parts = data.digits_split_indices()
    for c in range(10):
        n_c = int((target == c).sum())
        assert int((target[parts["train"]] == c).sum()) == round(0.6 * n_c)
        assert int((target[parts["val"]] == c).sum()) == round(0.2 * n_c)


def test_split_never_changes() -> None:
    # Every number the book prints about the digits depends on this split; it is frozen
    # (numpy's legacy RandomState stream is frozen too). Change it only on purpose.
    parts = data.digits_split_indices()
    blob = b"".join(parts[k].astype("<i8").tobytes() for k in ("train", "val", "test"))
    assert hashlib.sha256(blob).hexdigest() == (
        "68fbefe27b703b4fe20b6fe7dd048668f2e05a89f1c17093798b296b5564cedc"
    )


def test_load_digits_matches_scikit_learn(device: torch.device) -> None:
    raw = sk_load_digits()
    parts = data.digits_split_indices()
    split = data.load_digits(device, dtype=torch.float64)
    assert split.X_train.device.type == device.type
    np.testing.assert_array_equal(split.X_test.cpu().numpy(), raw.data[parts["test"]] / 16)
    np.testing.assert_array_equal(split.y_val.cpu().numpy(), raw.target[parts["val"]])
    assert split.y_train.dtype == torch.int64
    assert float(split.X_train.min()) >= 0.0 and float(split.X_train.max()) == 1.0
    assert split.sizes == {"train": 1078, "val": 359, "test": 360}


def test_load_digits_as_images() -> None:
    flat, images = data.load_digits(), data.load_digits(images=True)
    assert tuple(images.X_train.shape) == (1078, 1, 8, 8)
    assert torch.equal(images.X_train.reshape(1078, 64), flat.X_train)


def test_load_digits_rejects_integer_dtype() -> None:
    with pytest.raises(TypeError, match="dtype"):
        data.load_digits(dtype=torch.int64)


# ---------------------------------------------------------------- one-hot
@pytest.mark.parametrize("shape", [(5,), (2, 3), (0,)])
def test_one_hot_matches_torch(shape: tuple[int, ...], device: torch.device) -> None:
    labels = torch.randint(0, 4, shape, generator=torch.Generator().manual_seed(0)).to(device)
    got = data.one_hot(labels, 4)
    assert got.dtype == torch.float32 and got.device.type == device.type
    assert torch.equal(got, F.one_hot(labels, 4).float())


def test_one_hot_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        data.one_hot(torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="labels"):
        data.one_hot(torch.tensor([-1]), 3)
    with pytest.raises(TypeError, match="integers"):
        data.one_hot(torch.tensor([0.0]), 3)
    with pytest.raises(TypeError, match="num_classes"):
        data.one_hot(torch.tensor([0]), 3.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="labels"):
        data.one_hot([0, 1], 3)  # type: ignore[arg-type]


# ---------------------------------------------------------------- synthetic data
GENERATORS = [data.two_moons, data.spirals, data.xor, data.gaussian_ring, data.gaussian_grid]


@pytest.mark.parametrize(
    ("steps", "features", "length", "horizon", "stride"),
    [(10, None, 3, 1, 1), (10, 2, 4, 2, 1), (17, 3, 5, 3, 4), (7, None, 6, 1, 1), (9, 1, 2, 1, 3)],
)
def test_sliding_windows_match_a_python_loop(
    steps: int,
    features: int | None,
    length: int,
    horizon: int,
    stride: int,
    device: torch.device,
) -> None:
    shape = (steps,) if features is None else (steps, features)
    series = torch.randn(shape, dtype=torch.float64, device=device)
    inputs, targets = data.sliding_windows(series, length, horizon, stride=stride)
    values = series.cpu().numpy().reshape(steps, -1)
    starts = range(0, steps - length - horizon + 1, stride)  # independent: explicit slicing
    expected_in = np.stack([values[t : t + length] for t in starts])
    expected_out = np.stack([values[t + length : t + length + horizon] for t in starts])
    assert inputs.device.type == device.type and inputs.dtype == torch.float64
    np.testing.assert_array_equal(inputs.cpu().numpy(), expected_in)
    np.testing.assert_array_equal(targets.cpu().numpy(), expected_out)
    inputs[0, 0, 0] = 1e9  # copies, not views of the series
    assert float(series.reshape(steps, -1)[0, 0]) != 1e9


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (([1.0, 2.0, 3.0], 1), TypeError, "series must be a torch.Tensor"),
        ((torch.zeros(2, 3, 4), 1), ValueError, r"shape \(T,\) or \(T, F\)"),
        ((torch.zeros(5), 0), ValueError, "length`? must be .*at least 1"),
        ((torch.zeros(5), 2, 0), ValueError, "horizon`? must be .*at least 1"),
        ((torch.zeros(5), 2.0), TypeError, "length`? must be an int"),
        ((torch.zeros(5), 4, 2), ValueError, "fewer than length"),
    ],
)
def test_sliding_windows_rejects_bad_input(args: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        data.sliding_windows(*args)
    with pytest.raises(ValueError, match=r"stride`? must be .*at least 1"):
        data.sliding_windows(torch.zeros(5), 2, stride=0)


@pytest.mark.parametrize("make", GENERATORS, ids=lambda f: f.__name__)
def test_generators_are_seeded_and_device_independent(make: Any, device: torch.device) -> None:
    X, y = make(101, seed=3)
    X2, y2 = make(101, seed=3, device=device)
    X3, _ = make(101, seed=4)
    assert X.shape == (101, 2) and y.shape == (101,) and y.dtype == torch.int64
    assert X2.device.type == device.type
    assert torch.equal(X, X2.cpu()) and torch.equal(y, y2.cpu())
    assert not torch.equal(X, X3)


def test_two_moons_lie_on_their_arcs_without_noise() -> None:
    X, y = data.two_moons(400, noise=0.0, dtype=torch.float64)
    upper, lower = X[y == 0], X[y == 1]
    assert len(upper) == 200 and len(lower) == 200
    torch.testing.assert_close(upper.norm(dim=1), torch.ones(200, dtype=torch.float64))
    assert bool((upper[:, 1] >= 0).all())
    centre = torch.tensor([1.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close((lower - centre).norm(dim=1), torch.ones(200, dtype=torch.float64))
    assert bool((lower[:, 1] <= 0.5 + 1e-12).all())


def test_spirals_without_noise() -> None:
    X, y = data.spirals(300, classes=3, turns=1.0, noise=0.0, dtype=torch.float64)
    r = X.norm(dim=1)
    theta = torch.atan2(X[:, 1], X[:, 0])
    expected = 2 * math.pi * (r + y.double() / 3)
    # Angles agree modulo 2*pi.
    torch.testing.assert_close(torch.cos(theta - expected), torch.ones(300, dtype=torch.float64))
    assert torch.bincount(y).tolist() == [100, 100, 100]


def test_xor_labels_without_noise() -> None:
    X, y = data.xor(200, noise=0.0)
    assert set(X.flatten().tolist()) <= {0.0, 1.0}
    assert torch.equal(y, (X[:, 0] != X[:, 1]).long())
    assert set(y.tolist()) == {0, 1}


def test_gaussian_ring_and_grid_centres() -> None:
    X, y = data.gaussian_ring(500, modes=8, radius=2.0, std=0.0, dtype=torch.float64)
    angle = 2 * math.pi * y.double() / 8
    torch.testing.assert_close(X, 2.0 * torch.stack([angle.cos(), angle.sin()], dim=1))
    G, k = data.gaussian_grid(500, side=5, spacing=2.0, std=0.0)
    assert set(G.flatten().tolist()) <= {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert torch.equal(((G[:, 0] + 4) / 2 * 5 + (G[:, 1] + 4) / 2).long(), k)
    assert len(set(k.tolist())) == 25


def test_linear_data_without_noise_is_exact() -> None:
    X, y = data.linear_data(50, [2.0, -3.0, 0.5], 1.5, noise=0.0, dtype=torch.float64)
    np.testing.assert_allclose(y.numpy(), X.numpy() @ np.array([2.0, -3.0, 0.5]) + 1.5, rtol=1e-12)


def test_linear_data_noise_level() -> None:
    X, y = data.linear_data(20000, [1.0], 0.0, noise=0.3, dtype=torch.float64)
    residual = (y - X[:, 0]).numpy()
    assert abs(residual.std() - 0.3) < 0.01


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n`? must be .*at least"),
        ({"n": 10, "noise": -1.0}, ValueError, "noise"),
        ({"n": 2.5}, TypeError, "n`? must be an int"),
        ({"n": 10, "dtype": torch.int32}, TypeError, "dtype"),
    ],
)
def test_generators_reject_bad_arguments(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        data.two_moons(**kwargs)


# ---------------------------------------------------------------- real data
def test_photos_match_their_sources() -> None:
    china = data.photo("china", dtype=torch.float64)
    assert tuple(china.shape) == (3, 427, 640)
    expected = load_sample_image("china.jpg").transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(china.numpy(), expected)
    hopper = data.photo("grace_hopper")
    assert tuple(hopper.shape) == (3, 600, 512) and float(hopper.max()) <= 1.0
    with pytest.raises(ValueError, match="name"):
        data.photo("lena")  # type: ignore[arg-type]


def test_stock_prices() -> None:
    dates, close = data.stock_prices()
    assert len(dates) == len(close) == 1047
    assert bool(np.all(np.diff(dates.astype("int64")) > 0)) and bool(np.all(close > 0))


def test_karate_club_matches_networkx() -> None:
    edge_index, club = data.karate_club()
    graph = nx.karate_club_graph()
    assert tuple(edge_index.shape) == (2, 2 * graph.number_of_edges())
    pairs = {tuple(p) for p in edge_index.T.tolist()}
    assert pairs == {(u, v) for u, v in graph.edges()} | {(v, u) for u, v in graph.edges()}
    assert club.tolist() == [int(graph.nodes[i]["club"] == "Officer") for i in range(34)]


def test_text_corpus_is_fixed_and_complete() -> None:
    from pydoc_data.topics import topics

    text = data.text_corpus()
    assert text == data.text_corpus()
    assert len(text) > 100_000
    assert all(topics[k].strip() in text for k in topics)


def _dedup_reference(paragraphs: list[str], seen: list[str], min_chars: int) -> list[str]:
    """An independent reference: a paragraph is dropped iff its stripped text is long and
    occurs in `seen` or earlier in `paragraphs`."""
    return [
        p
        for i, p in enumerate(paragraphs)
        if len(p.strip()) < min_chars or p.strip() not in [q.strip() for q in seen + paragraphs[:i]]
    ]


@given(
    st.lists(st.sampled_from(["alpha", "  alpha ", "beta", "gamma delta", "", "x"]), max_size=12),
    st.lists(st.sampled_from(["alpha", "beta", "zeta"]), max_size=3),
    st.integers(0, 7),
)
@settings(max_examples=200, deadline=None)
def test_deduplicate_paragraphs_matches_reference(
    paragraphs: list[str], seen: list[str], min_chars: int
) -> None:
    text = "\n\n".join(paragraphs)
    got = data.deduplicate_paragraphs(text, seen="\n\n".join(seen), min_chars=min_chars)
    # an empty list joins to "", which splits back into one empty paragraph
    want = _dedup_reference(text.split("\n\n"), seen if seen else [], min_chars)
    assert got == "\n\n".join(want)


def test_deduplicate_paragraphs_on_the_corpus() -> None:
    text = data.text_corpus()
    cut = int(0.9 * len(text))
    train = data.deduplicate_paragraphs(text[:cut])
    valid = data.deduplicate_paragraphs(text[cut:], seen=train)
    long_train = [p.strip() for p in train.split("\n\n") if len(p.strip()) >= 50]
    assert len(long_train) == len(set(long_train))  # no long paragraph twice
    assert not {p.strip() for p in valid.split("\n\n") if len(p.strip()) >= 50} & set(long_train)
    # the help topic `while` is, word for word, a section of `compound`: it must go
    from pydoc_data.topics import topics

    assert topics["while"].strip()[:200] in text[cut:]
    assert topics["while"].strip()[:200] not in valid
    assert data.deduplicate_paragraphs(train) == train  # idempotent
    assert len(train) < cut  # the corpus does repeat itself


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"text": b"a"}, TypeError, "`text` must be a str, got bytes"),
        ({"text": "a", "seen": None}, TypeError, "`seen` must be a str, got NoneType"),
        ({"text": "a", "min_chars": -1}, ValueError, "`min_chars` must be a non-negative int"),
        ({"text": "a", "min_chars": 2.5}, ValueError, "`min_chars` must be a non-negative int"),
        ({"text": "a", "min_chars": True}, ValueError, "`min_chars` must be a non-negative int"),
    ],
)
def test_deduplicate_paragraphs_bad_input(
    kwargs: dict[str, Any], error: type, pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        data.deduplicate_paragraphs(**kwargs)


# ---------------------------------------------------------------- IDX files
def encode_idx(array: np.ndarray, code: int, fmt: str) -> bytes:
    """An independent IDX encoder written with ``struct``."""
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + struct.pack(f">{array.size}{fmt}", *array.ravel().tolist())


@pytest.mark.parametrize(
    ("code", "fmt", "dtype"),
    [
        (0x08, "B", np.uint8),
        (0x09, "b", np.int8),
        (0x0B, "h", np.int16),
        (0x0C, "i", np.int32),
        (0x0D, "f", np.float32),
        (0x0E, "d", np.float64),
    ],
)
def test_parse_idx_every_type(code: int, fmt: str, dtype: type) -> None:
    rng = np.random.default_rng(code)
    array: np.ndarray = (rng.normal(size=(3, 4)) * 40).astype(dtype)
    got = data.parse_idx(encode_idx(array, code, fmt))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_write_then_read_idx(tmp_path: Path) -> None:
    array: np.ndarray = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 10
    for compress in (False, True):
        path = data.write_idx(array, tmp_path / f"a{compress}.idx", compress=compress)
        np.testing.assert_array_equal(data.read_idx(path), array)
    assert gzip.decompress((tmp_path / "aTrue.idx").read_bytes()) == encode_idx(array, 0x0C, "i")


@pytest.mark.parametrize(
    ("mangle", "match"),
    [
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00", "truncated or corrupt"),
        (lambda b: b"\x01" + b[1:], "0x00 0x00"),
        (lambda b: b[:2] + b"\x07" + b[3:], "0x07"),
        (lambda b: b[:5], "ends early"),
        (lambda b: b"", "0x00 0x00"),
    ],
)
def test_parse_idx_rejects_malformed(mangle: Any, match: str) -> None:
    good = encode_idx(np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08, "B")
    with pytest.raises(ValueError, match=match):
        data.parse_idx(mangle(good))


def test_read_idx_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken-idx1-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01")
    with pytest.raises(ValueError, match="broken-idx1-ubyte"):
        data.read_idx(bad)
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match="gzip"):
        data.read_idx(tmp_path / "bad.gz")
    with pytest.raises(TypeError, match="bytes"):
        data.parse_idx("text")  # type: ignore[arg-type]


# ---------------------------------------------------------------- downloads
def sha256(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_download_verifies_caches_and_writes_atomically(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload " * 1000)
    cache = tmp_path / "cache"
    got = data.download(source.as_uri(), sha256(source.read_bytes()), cache)
    assert got == cache / "source.bin" and got.read_bytes() == source.read_bytes()
    md5 = "md5:" + hashlib.md5(source.read_bytes()).hexdigest()
    source.unlink()  # a cached, verified file is returned without fetching anything
    assert data.download("file:///nonexistent/source.bin", md5, cache) == got
    assert leftovers(cache) == []


def source_and_cache(tmp_path: Path, new: bytes, cached: bytes) -> tuple[Path, Path]:
    """A file to download holding ``new``, and a cache already holding ``cached`` for it."""
    source = tmp_path / "file.bin"
    source.write_bytes(new)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "file.bin").write_bytes(cached)
    return source, cache


def test_download_with_wrong_checksum_leaves_cache_unchanged(tmp_path: Path) -> None:
    source, cache = source_and_cache(tmp_path, b"new contents", b"old contents")
    with pytest.raises(ValueError, match="expected"):
        data.download(source.as_uri(), sha256(b"something else"), cache)
    assert (cache / "file.bin").read_bytes() == b"old contents"
    assert leftovers(cache) == []


def test_download_replaces_a_corrupt_cached_file(tmp_path: Path) -> None:
    source, cache = source_and_cache(tmp_path, b"good", b"half a fi")
    data.download(source.as_uri(), sha256(b"good"), cache)
    assert (cache / "file.bin").read_bytes() == b"good"


@pytest.mark.parametrize("checksum", ["abc", "sha256:1234", "sha1:" + "0" * 40, ""])
def test_download_rejects_malformed_checksums(checksum: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="checksum"):
        data.download("file:///x", checksum, tmp_path)


class _Server(http.server.BaseHTTPRequestHandler):
    body = b"0123456789" * 1000

    def do_GET(self) -> None:
        self.send_response(200)
        if self.path.endswith("/cut"):  # promise more than is sent, then hang up
            self.send_header("Content-Length", str(2 * len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
            return
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_over_http_from_localhost(server: str, tmp_path: Path) -> None:
    got = data.download(f"{server}/data.bin", sha256(_Server.body), tmp_path)
    assert got.read_bytes() == _Server.body


def test_interrupted_download_leaves_nothing_behind(server: str, tmp_path: Path) -> None:
    (tmp_path / "cut").write_bytes(b"previous")
    with pytest.raises(ConnectionError, match="interrupted: received 10000 of 20000 bytes"):
        data.download(f"{server}/cut", sha256(_Server.body * 2), tmp_path)
    assert (tmp_path / "cut").read_bytes() == b"previous"
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- MNIST-format sets
def make_tiny_mnist(folder: Path, n_train: int = 12, n_test: int = 5) -> dict[str, str]:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 4, 4)).astype(np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 4, 4)).astype(np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    files = {}
    for name, array in arrays.items():
        data.write_idx(array, folder / name, compress=True)
        files[name] = sha256((folder / name).read_bytes())
    return files


def test_load_mnist_from_tiny_files(tmp_path: Path, device: torch.device) -> None:
    files = make_tiny_mnist(tmp_path)
    split = data.load_mnist(tmp_path, validation=4, files=files, device=device)
    assert split.sizes == {"train": 8, "val": 4, "test": 5}
    assert tuple(split.X_train.shape) == (8, 1, 4, 4)
    raw = data.read_idx(tmp_path / "train-images-idx3-ubyte.gz")
    np.testing.assert_allclose(split.X_val.cpu().numpy()[:, 0], raw[8:] / 255.0, rtol=1e-6)
    assert split.X_test.device.type == device.type


def test_load_mnist_downloads_missing_files(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    files = make_tiny_mnist(mirror)
    split = data.load_mnist(
        tmp_path / "cache", download_missing=True, validation=2, mirror=mirror.as_uri(), files=files
    )
    assert split.sizes == {"train": 10, "val": 2, "test": 5}
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(files)


def test_load_mnist_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="download_missing"):
        data.load_mnist(tmp_path)
    files = make_tiny_mnist(tmp_path)
    data.write_idx(
        np.zeros(3, dtype=np.uint8), tmp_path / "t10k-labels-idx1-ubyte.gz", compress=True
    )
    with pytest.raises(ValueError, match="do not match"):
        data.load_mnist(tmp_path, validation=2, files=files)
