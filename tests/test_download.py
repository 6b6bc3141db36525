"""lapsrn-edu download (pooch) against a local HTTP server (127.0.0.1 only) serving a small fake tree."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lapsrn_edu import cli
from lapsrn_edu.data import download
from lapsrn_edu.data.datasets import DATASET_FOLDERS, TEST_SETS
from lapsrn_edu.data.download import ChecksumError, DownloadError

COMMIT = "0" * 40


class FakeServer:
    """Serves ``files`` (URL path -> bytes), can cut a transfer in half once, and records every
    request's path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.break_once: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.break_once:
                    server.break_once.discard(self.path)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def encode(pixels: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def decoded(data: bytes | Path) -> np.ndarray:
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
        return np.asarray(im)


def served_path(url: str) -> str:
    return f"/o/r/{COMMIT}/{url}"


@pytest.fixture
def tree(tmp_path: Path):
    """A server with a file for every group of the shipped manifest (one of each kind: .mat, PNG,
    JPEG and BMP converted to PNG), and the manifest that describes them."""
    rng = np.random.default_rng(0)

    def png(h: int, w: int) -> bytes:
        return encode(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "PNG")

    sources = {  # group: (path under the data root, path in the repository, bytes, converted)
        "weights": ("pretrained/matconvnet/Fake.mat", "weights/fake.mat", rng.bytes(300_000), False),
        "set5": ("benchmarks/Set5/a.png", "set5/a.png", png(12, 10), False),
        "set14": ("benchmarks/Set14/a.png", "set14/a.png", png(12, 10), False),
        "bsd100": (
            "benchmarks/BSD100/b.png",
            "bsd/b.jpg",
            encode(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8), "JPEG", quality=90),
            True,
        ),
        "urban100": ("benchmarks/Urban100/img_001.png", "CUrban100/img_001.png", png(40, 48), False),
        "manga109": ("benchmarks/Manga109/Manga.png", "CManga109/Manga.png", png(48, 40), False),
        "train": ("train/T91/t.png", "t91/t.bmp", encode(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8), "BMP"), True),
    }
    groups = {}
    with FakeServer() as server:
        for group, (path, url, body, converted) in sources.items():
            server.files[served_path(url)] = body
            entry = {
                "path": path,
                "url": f"o/r/{COMMIT}/{url}",
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
            }
            if converted:
                entry["convert"] = "png"
            groups[group] = [entry]
        manifest = tmp_path / "sources.json"
        manifest.write_text(json.dumps({"format": 2, "groups": groups}))
        yield server, manifest, tmp_path / "data", sources


def run(what: str, server: FakeServer, manifest: Path, root: Path, retries: int = 0) -> dict[str, int]:
    return download.download(what, root=root, mirror=server.base, manifest=manifest, progress=False, retries=retries)


def leftovers(root: Path) -> list[Path]:
    """Temporary files of pooch or of the PNG writer."""
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and (p.name.startswith(".") or p.suffix == ".tmp" or p.name.startswith("tmp"))
    ]


def test_every_shipped_group_is_exercised_here(tree):
    _, manifest, _, _ = tree
    assert set(download.load_manifest(manifest)) == set(download.load_manifest())


def test_good_download_verifies_and_writes_the_layout(tree):
    server, manifest, root, sources = tree
    assert run("all", server, manifest, root) == {"downloaded": len(sources), "skipped": 0}
    for path, _, body, converted in sources.values():
        if converted:  # a PNG with exactly the original's decoded pixels; the original kept, verified
            with Image.open(root / path) as im:
                assert im.format == "PNG"
            np.testing.assert_array_equal(decoded(root / path), decoded(body))
        else:
            assert (root / path).read_bytes() == body
    assert (root / "downloads/benchmarks/BSD100/b.jpg").read_bytes() == sources["bsd100"][2]
    assert (root / "downloads/train/T91/t.bmp").read_bytes() == sources["train"][2]
    assert leftovers(root) == []


@pytest.mark.parametrize("group", ["urban100", "manga109"])
def test_the_two_large_test_sets_download_by_name(tree, group):
    server, manifest, root, sources = tree
    path, url, body, _ = sources[group]
    assert run(group, server, manifest, root) == {"downloaded": 1, "skipped": 0}
    assert server.requests == [served_path(url)]
    assert (root / path).read_bytes() == body
    assert Path(path).parent.as_posix() == DATASET_FOLDERS[group][0] and group in TEST_SETS


@pytest.mark.parametrize("group", ["urban100", "manga109"])
def test_evaluate_and_benchmark_find_a_downloaded_test_set_by_name(tree, group, capsys):
    server, manifest, root, _ = tree
    run(group, server, manifest, root)
    assert (
        cli.main(
            ["evaluate", "--model", "bicubic", "--dataset", group, "--scale", "2", "--data-root", str(root), "--json"]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == group and 10 < result["psnr"] < 60
    csv = root / "table.csv"
    assert (
        cli.main(
            [
                "benchmark",
                "--models",
                "bicubic",
                "--datasets",
                group,
                "--scales",
                "2",
                "--data-root",
                str(root),
                "--csv",
                str(csv),
            ]
        )
        == 0
    )
    assert f"bicubic,{group},2," in csv.read_text()


def test_present_files_are_skipped_without_a_request(tree):
    server, manifest, root, sources = tree
    run("all", server, manifest, root)
    server.requests.clear()
    assert run("all", server, manifest, root) == {"downloaded": 0, "skipped": len(sources)}
    assert server.requests == []


def test_a_damaged_local_file_is_fetched_again(tree):
    server, manifest, root, sources = tree
    run("set5", server, manifest, root)
    (root / "benchmarks/Set5/a.png").write_bytes(b"damaged")
    assert run("set5", server, manifest, root) == {"downloaded": 1, "skipped": 0}
    assert (root / "benchmarks/Set5/a.png").read_bytes() == sources["set5"][2]


def test_a_damaged_converted_file_is_rebuilt_from_its_verified_original(tree):
    server, manifest, root, sources = tree
    run("bsd100", server, manifest, root)
    target = root / sources["bsd100"][0]
    target.write_bytes(target.read_bytes()[:-20])
    server.requests.clear()
    assert run("bsd100", server, manifest, root) == {"downloaded": 1, "skipped": 0}
    assert server.requests == []  # the original under downloads/ was still right
    np.testing.assert_array_equal(decoded(target), decoded(sources["bsd100"][2]))


@pytest.mark.parametrize("group", ["weights", "bsd100"])
def test_a_corrupt_file_is_rejected_and_deleted(tree, group):
    server, manifest, root, sources = tree
    path, url, body, _ = sources[group]
    server.files[served_path(url)] = body[:-1] + bytes([body[-1] ^ 1])
    with pytest.raises(ChecksumError) as info:
        run(group, server, manifest, root)
    message = str(info.value)
    assert "\n" not in message and "mismatch" in message and path in message
    assert hashlib.sha256(body).hexdigest() in message
    assert not (root / path).exists() and not list(root.rglob("*.jpg")) and leftovers(root) == []


def test_a_broken_transfer_is_retried(tree):
    server, manifest, root, sources = tree
    path, url, body, _ = sources["weights"]
    server.break_once.add(served_path(url))
    assert run("weights", server, manifest, root, retries=1) == {"downloaded": 1, "skipped": 0}
    assert server.requests == [served_path(url)] * 2
    assert (root / path).read_bytes() == body and leftovers(root) == []


def test_a_broken_transfer_without_retries_leaves_nothing_under_the_real_name(tree):
    server, manifest, root, sources = tree
    path, url, _, _ = sources["weights"]
    server.break_once.add(served_path(url))
    with pytest.raises(DownloadError, match="run again"):
        run("weights", server, manifest, root)
    assert not (root / path).exists() and leftovers(root) == []


def test_a_missing_file_on_the_server_is_one_line(tree):
    server, manifest, root, sources = tree
    del server.files[served_path(sources["set5"][1])]
    with pytest.raises(DownloadError, match="HTTP 404"):
        run("set5", server, manifest, root)


def test_no_network_is_one_line(tree):
    _, manifest, root, _ = tree
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot connect") as info:
        download.download(
            "set5", root=root, mirror=f"http://127.0.0.1:{port}", manifest=manifest, progress=False, retries=0
        )
    assert "\n" not in str(info.value)


def test_cli_reports_a_checksum_mismatch_in_one_line(tree, monkeypatch, capsys):
    server, manifest, root, sources = tree
    path, url, _, _ = sources["set5"]
    server.files[served_path(url)] = b"not the file"
    monkeypatch.setattr(download, "RETRIES", 0)
    monkeypatch.setenv(download.MIRROR_ENV, server.base)
    assert cli.main(["download", "set5", "--manifest", str(manifest), "--data-root", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and "mismatch" in err[0]


UNSAFE_PATHS = [
    "../evil.png",
    "benchmarks/../../evil.png",
    "/tmp/evil.png",
    "~/evil.png",
    "C:/evil.png",
    "a\\..\\..\\evil.png",
    "./a.png",
    "",
]


@pytest.mark.parametrize("bad", UNSAFE_PATHS)
def test_a_manifest_cannot_write_outside_the_data_root(tree, bad):
    server, manifest, root, _ = tree
    data = json.loads(manifest.read_text())
    data["groups"]["set5"][0]["path"] = bad
    manifest.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="not a relative path inside the data root"):
        run("set5", server, manifest, root)
    assert server.requests == [] and not root.exists()


@pytest.mark.parametrize("bad", ["../../elsewhere/file.png", "/absolute/file.png", "http://elsewhere.example/file.png"])
def test_a_manifest_cannot_point_outside_the_base_url(tree, bad):
    server, manifest, root, _ = tree
    data = json.loads(manifest.read_text())
    data["groups"]["set5"][0]["url"] = bad
    manifest.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="refusing this manifest"):
        run("set5", server, manifest, root)


def test_cli_refuses_an_unsafe_manifest_in_one_line(tree, capsys):
    server, manifest, root, _ = tree
    data = json.loads(manifest.read_text())
    data["groups"]["set5"][0]["path"] = "../../outside.png"
    manifest.write_text(json.dumps(data))
    assert (
        cli.main(["download", "set5", "--manifest", str(manifest), "--mirror", server.base, "--data-root", str(root)])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "outside.png" in err[0] and not (root.parent.parent / "outside.png").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"format": 1, "groups": {}}', "format 2"),
        ("[1, 2]", "format 2"),
        ('{"format": 2, "groups": {"g": 3}}', "format 2"),
        ('{"format": 2, "groups": {"g": [{"path": "a.png"}]}}', "needs path, url, sha256 and size"),
        (
            '{"format": 2, "groups": {"g": [{"path": "a.png", "url": "o/r/c/a.png", "sha256": "xyz", "size": 1}]}}',
            "64 lower-case hex",
        ),
    ],
)
def test_a_malformed_manifest_is_one_line(tmp_path, content, message):
    manifest = tmp_path / "m.json"
    manifest.write_text(content)
    with pytest.raises(ValueError, match=message):
        download.load_manifest(manifest)


def test_unknown_group_is_an_error():
    with pytest.raises(ValueError, match="unknown download"):
        download.groups_for("div2k", download.load_manifest())


def test_shipped_manifest_covers_every_dataset_and_pins_commits():
    manifest = download.load_manifest()
    assert {g: len(s) for g, s in manifest.items()} == {
        "weights": 6,
        "set5": 5,
        "set14": 14,
        "bsd100": 100,
        "urban100": 100,
        "manga109": 109,
        "train": 291,
    }
    for items in manifest.values():
        for item in items:
            owner, repo, commit, rest = item.url.split("/", 3)
            assert len(commit) == 40 and int(commit, 16) >= 0 and rest
            assert (item.convert == "png") == (Path(rest).suffix in (".jpg", ".bmp"))
            assert item.path.endswith(".mat") or item.path.endswith(".png")
    urban = {Path(item.url).name for item in manifest["urban100"]}
    assert urban == {f"img_{i:03d}.png" for i in range(1, 101)}


def test_shipped_manifest_matches_the_data_root(data_root):
    """Every group the real data root holds passes its check, so nothing is fetched (port 9 is never used)."""
    manifest = download.load_manifest()
    present = [g for g, items in manifest.items() if all((data_root / item.path).is_file() for item in items)]
    assert {"weights", "set5", "set14", "bsd100", "train"} <= set(present)
    for group in present:
        counts = download.download(group, root=data_root, mirror="http://127.0.0.1:9", progress=False, retries=0)
        assert counts == {"downloaded": 0, "skipped": len(manifest[group])}
