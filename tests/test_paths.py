"""Landmarker acquisition: lookup order, the one-time download (against a local HTTP server,
never the real address), its size/sha256 checks, and stream-password masking."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
import urllib.parse
import urllib.request

import pytest

from drowsy import paths
from drowsy.errors import DrowsyError

PAYLOAD = b"not really a landmarker, but bytes with a known hash\n" * 1000


@pytest.fixture(autouse=True)
def _local_only(monkeypatch, tmp_path):
    """Every URL opened here must be on 127.0.0.1; the user cache is a temp folder."""
    real = urllib.request.urlopen

    def guarded(url, *a, **kw):
        host = urllib.parse.urlsplit(url if isinstance(url, str) else url.full_url).hostname
        assert host == "127.0.0.1", f"test tried to reach {url}"
        return real(url, *a, **kw)

    monkeypatch.setattr(urllib.request, "urlopen", guarded)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DROWSY_LANDMARKER", raising=False)
    monkeypatch.delenv("DROWSY_OFFLINE", raising=False)


@pytest.fixture()
def server(tmp_path):
    """An http.server in a thread serving tmp_path/www; yields its base URL."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "face_landmarker.task").write_bytes(PAYLOAD)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None  # keep pytest output clean
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _pin(monkeypatch, url: str, data: bytes = PAYLOAD) -> None:
    monkeypatch.setattr(paths, "LANDMARKER_URL", url)
    monkeypatch.setattr(paths, "LANDMARKER_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(paths, "LANDMARKER_SIZE", len(data))


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused at once
    return port


def test_lookup_order_explicit_then_env_then_cache(monkeypatch, tmp_path):
    assert paths.find_landmarker() == (None, "not found")
    cached = paths.cached_landmarker()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert paths.find_landmarker() == (cached, "user cache")
    monkeypatch.setenv("DROWSY_LANDMARKER", str(tmp_path / "env.task"))
    assert paths.find_landmarker() == (tmp_path / "env.task", "$DROWSY_LANDMARKER")
    assert paths.find_landmarker(tmp_path / "cli.task") == (tmp_path / "cli.task", "--landmarker")


def test_explicit_missing_file_names_it(tmp_path):
    with pytest.raises(DrowsyError, match="not found at .*nope.task.*--landmarker"):
        paths.resolve_landmarker(tmp_path / "nope.task")


def test_offline_without_model_says_where_to_put_it(monkeypatch):
    monkeypatch.setenv("DROWSY_OFFLINE", "1")
    with pytest.raises(DrowsyError) as e:
        paths.resolve_landmarker()
    msg = str(e.value)
    assert "\n" not in msg
    assert str(paths.cached_landmarker()) in msg and "--landmarker" in msg


def test_good_download_is_cached_and_reused(monkeypatch, server, capsys):
    _pin(monkeypatch, server + "/face_landmarker.task")
    got = paths.resolve_landmarker()
    assert got == paths.cached_landmarker()
    assert got.read_bytes() == PAYLOAD
    assert list(got.parent.iterdir()) == [got]  # no .part file left behind
    assert str(got) in capsys.readouterr().err  # the user is told where it went
    # The second start finds it in the cache and does not download again.
    monkeypatch.setattr(paths, "download_landmarker", lambda *a, **k: pytest.fail("downloaded twice"))
    assert paths.resolve_landmarker() == got
    assert paths.find_landmarker() == (got, "user cache")


def test_wrong_sha256_is_refused_and_leaves_no_file(monkeypatch, server):
    _pin(monkeypatch, server + "/face_landmarker.task")
    monkeypatch.setattr(paths, "LANDMARKER_SHA256", "0" * 64)
    with pytest.raises(DrowsyError, match="sha256 .* expected 0{64}; not used") as e:
        paths.resolve_landmarker()
    assert "\n" not in str(e.value)
    assert not paths.cached_landmarker().exists()
    assert list(paths.cache_dir().iterdir()) == []


def test_wrong_size_is_refused(monkeypatch, server):
    _pin(monkeypatch, server + "/face_landmarker.task", PAYLOAD[:-10])  # server sends 10 bytes more
    with pytest.raises(DrowsyError, match=f"more than {len(PAYLOAD) - 10} bytes"):
        paths.resolve_landmarker()
    assert list(paths.cache_dir().iterdir()) == []
    _pin(monkeypatch, server + "/face_landmarker.task", PAYLOAD + b"tail")  # server sends less
    with pytest.raises(DrowsyError, match=f"has {len(PAYLOAD)} bytes, expected {len(PAYLOAD) + 4}"):
        paths.resolve_landmarker()
    assert list(paths.cache_dir().iterdir()) == []


@pytest.mark.parametrize("where", ["unreachable", "404"])
def test_failed_download_is_one_line_naming_the_place(monkeypatch, server, where):
    url = f"http://127.0.0.1:{_closed_port()}/x.task" if where == "unreachable" else server + "/missing.task"
    _pin(monkeypatch, url)
    with pytest.raises(DrowsyError) as e:
        paths.resolve_landmarker()
    msg = str(e.value)
    assert "\n" not in msg
    assert f"put it at {paths.cached_landmarker()}" in msg and url in msg
    assert not paths.cached_landmarker().exists()


def test_unwritable_cache_is_one_line(monkeypatch, tmp_path, server):
    _pin(monkeypatch, server + "/face_landmarker.task")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(DrowsyError, match="cannot write the face landmarker") as e:
        paths.resolve_landmarker()
    assert "\n" not in str(e.value)


def test_damaged_cache_is_fetched_again(monkeypatch, server, capsys):
    _pin(monkeypatch, server + "/face_landmarker.task")
    cached = paths.cached_landmarker()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(PAYLOAD[: len(PAYLOAD) // 2])  # an interrupted copy by hand
    monkeypatch.setenv("DROWSY_OFFLINE", "1")
    with pytest.raises(DrowsyError, match="damaged"):
        paths.resolve_landmarker()
    monkeypatch.delenv("DROWSY_OFFLINE")
    assert paths.resolve_landmarker() == cached
    assert cached.read_bytes() == PAYLOAD
    assert "damaged" in capsys.readouterr().err


def test_real_landmarker_matches_the_pinned_hash(landmarker):
    # The pin in paths.py is what `drowsy run` trusts after a download: it must be the real file's.
    assert landmarker.stat().st_size == paths.LANDMARKER_SIZE
    assert paths.sha256_of(landmarker) == paths.LANDMARKER_SHA256
    assert paths.LANDMARKER_URL.startswith("https://")


def test_shared_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("DROWSY_SHARED", str(tmp_path))
    assert paths.shared_dir() == tmp_path
