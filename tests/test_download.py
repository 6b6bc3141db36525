"""lapsrn-edu download against a local HTTP server (127.0.0.1 only) serving a small fake tree."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lapsrn_edu import cli, download
from lapsrn_edu.download import ChecksumError, DownloadError, decode_pixels, pixels_sha256

COMMIT = "0" * 40


class FakeServer:
    """Serves ``files`` (URL path -> bytes), honours Range unless told not to, can cut a transfer
    in half, and records every request's path and Range header."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.break_once: set[str] = set()
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                range_header = self.headers.get("Range")
                if range_header and not server.ignore_range:
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                payload = body[start:]
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.path in server.break_once:
                    server.break_once.discard(self.path)
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

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


@pytest.fixture
def tree(tmp_path: Path):
    """A server with one file of each kind, and the manifest that describes them."""
    rng = np.random.default_rng(0)
    mat = rng.bytes(300_000)  # large enough to arrive in several chunks
    png = encode(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), "PNG")
    jpeg = encode(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8), "JPEG", quality=90)
    bmp = encode(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8), "BMP")
    sources = {
        "weights": ("pretrained/matconvnet/Fake.mat", "o/weights/fake.mat", mat, False),
        "set5": ("benchmarks/Set5/a.png", "o/set5/a.png", png, False),
        "bsd100": ("benchmarks/BSD100/b.png", "o/bsd/b.jpg", jpeg, True),
        "train": ("train/T91/t.png", "o/t91/t.bmp", bmp, True),
    }
    groups = {}
    with FakeServer() as server:
        for group, (path, url, body, converted) in sources.items():
            url = url.replace("o/", f"o/r/{COMMIT}/")
            server.files[f"/{url}"] = body
            entry = {"path": path, "url": url}
            if converted:
                pixels = decode_pixels(body, "RGB")
                entry.update(pixels_sha256=pixels_sha256(pixels), shape=list(pixels.shape), mode="RGB")
            else:
                entry.update(sha256=hashlib.sha256(body).hexdigest(), size=len(body))
            groups[group] = [entry]
        manifest = tmp_path / "sources.json"
        manifest.write_text(json.dumps({"format": 1, "groups": groups}))
        yield server, manifest, tmp_path / "data", sources


def run(what: str, server: FakeServer, manifest: Path, root: Path) -> dict[str, int]:
    return download.download(what, root=root, mirror=server.base, manifest=manifest, progress=False)


def test_good_download_verifies_and_writes_the_layout(tree):
    server, manifest, root, sources = tree
    assert run("all", server, manifest, root) == {"downloaded": 4, "skipped": 0}
    assert (root / "pretrained/matconvnet/Fake.mat").read_bytes() == sources["weights"][2]
    assert (root / "benchmarks/Set5/a.png").read_bytes() == sources["set5"][2]
    for group in ("bsd100", "train"):  # converted: a PNG with exactly the source's decoded pixels
        path, _, body, _ = sources[group]
        with Image.open(root / path) as im:
            assert im.format == "PNG"
        np.testing.assert_array_equal(decode_pixels(root / path, "RGB"), decode_pixels(body, "RGB"))
    assert not list(root.rglob("*.part"))


def test_present_files_are_skipped_without_a_request(tree):
    server, manifest, root, _ = tree
    run("all", server, manifest, root)
    server.requests.clear()
    assert run("all", server, manifest, root) == {"downloaded": 0, "skipped": 4}
    assert server.requests == []


def test_a_damaged_local_file_is_fetched_again(tree):
    server, manifest, root, sources = tree
    run("set5", server, manifest, root)
    (root / "benchmarks/Set5/a.png").write_bytes(b"damaged")
    assert run("set5", server, manifest, root) == {"downloaded": 1, "skipped": 0}
    assert (root / "benchmarks/Set5/a.png").read_bytes() == sources["set5"][2]


def test_corrupt_file_is_rejected_and_deleted(tree):
    server, manifest, root, sources = tree
    path, url, body, _ = sources["weights"]
    server.files[f"/{url.replace('o/', f'o/r/{COMMIT}/')}"] = body[:-1] + bytes([body[-1] ^ 1])
    with pytest.raises(ChecksumError) as info:
        run("weights", server, manifest, root)
    message = str(info.value)
    assert path in message and hashlib.sha256(body).hexdigest() in message
    assert not (root / path).exists() and not list(root.rglob("*.part"))


def test_converted_file_with_other_pixels_is_rejected(tree):
    server, manifest, root, sources = tree
    path, url, _, _ = sources["bsd100"]
    server.files[f"/{url.replace('o/', f'o/r/{COMMIT}/')}"] = encode(np.zeros((16, 24, 3), np.uint8), "JPEG")
    with pytest.raises(ChecksumError, match="pixel SHA-256 mismatch"):
        run("bsd100", server, manifest, root)
    assert not (root / path).exists() and not list(root.rglob("*.part"))


def test_broken_transfer_leaves_a_part_that_the_next_run_resumes(tree):
    server, manifest, root, sources = tree
    path, url, body, _ = sources["weights"]
    served = f"/{url.replace('o/', f'o/r/{COMMIT}/')}"
    server.break_once.add(served)
    with pytest.raises(DownloadError, match="run again to resume"):
        run("weights", server, manifest, root)
    part = root / (path + ".part")
    assert 0 < part.stat().st_size < len(body) and not (root / path).exists()
    half = part.stat().st_size
    server.requests.clear()
    assert run("weights", server, manifest, root) == {"downloaded": 1, "skipped": 0}
    assert server.requests == [(served, f"bytes={half}-")]
    assert (root / path).read_bytes() == body and not part.exists()


def test_a_server_that_ignores_range_gives_a_fresh_download(tree):
    server, manifest, root, sources = tree
    path, _, body, _ = sources["weights"]
    (root / path).parent.mkdir(parents=True)
    (root / (path + ".part")).write_bytes(b"stale bytes from another file")
    server.ignore_range = True
    assert run("weights", server, manifest, root) == {"downloaded": 1, "skipped": 0}
    assert (root / path).read_bytes() == body


def test_a_complete_part_is_verified_and_installed(tree):
    """The server answers 416 to a Range past the end: the .part already holds the whole file."""
    server, manifest, root, sources = tree
    path, _, body, _ = sources["weights"]
    (root / path).parent.mkdir(parents=True)
    (root / (path + ".part")).write_bytes(body)
    assert run("weights", server, manifest, root) == {"downloaded": 1, "skipped": 0}
    assert (root / path).read_bytes() == body and not (root / (path + ".part")).exists()


def test_cli_reports_a_checksum_mismatch_in_one_line(tree, monkeypatch, capsys):
    server, manifest, root, sources = tree
    path, url, _, _ = sources["set5"]
    server.files[f"/{url.replace('o/', f'o/r/{COMMIT}/')}"] = b"not the file"
    real_manifest = download.load_manifest
    monkeypatch.setattr(download, "load_manifest", lambda manifest_path=None: real_manifest(manifest))
    monkeypatch.setenv(download.MIRROR_ENV, server.base)
    assert cli.main(["download", "set5", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and "mismatch" in err[0]


def test_unknown_group_is_an_error():
    with pytest.raises(ValueError, match="unknown download"):
        download.groups_for("urban100", download.load_manifest())


def test_shipped_manifest_covers_every_dataset_and_pins_commits():
    manifest = download.load_manifest()
    assert {g: len(s) for g, s in manifest.items()} == {"weights": 6, "set5": 5, "set14": 14, "bsd100": 100, "train": 291}
    for sources in manifest.values():
        for source in sources:
            owner, repo, commit, rest = source.url.split("/", 3)
            assert len(commit) == 40 and int(commit, 16) >= 0 and rest
            assert (source.sha256 is None) != (source.pixels_sha256 is None)


def test_shipped_manifest_matches_the_data_root(data_root):
    """Every file of the real data root passes its check, so nothing is fetched (port 9 is never used)."""
    assert download.download("all", root=data_root, mirror="http://127.0.0.1:9", progress=False) == {
        "downloaded": 0,
        "skipped": 416,
    }
