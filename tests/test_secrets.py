"""One masking function (drowsy.secrets.mask) for everything drowsy prints or writes: stream
passwords and tokens never reach stderr, stdout, --out, --events or --print-config."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drowsy.cli import main
from drowsy.secrets import mask, remember


@pytest.mark.parametrize("url, masked", [
    ("rtsp://user:secret@127.0.0.1:9/x", "rtsp://user:***@127.0.0.1:9/x"),
    ("rtsp://admin:p%40ss@cam.local/stream?ch=1", "rtsp://admin:***@cam.local/stream?ch=1"),
    ("rtsp://:secret@cam/x", "rtsp://:***@cam/x"),
    ("rtsp://u:secret@[::1]:554/x", "rtsp://u:***@[::1]:554/x"),
    ("rtsp://u:se@cret@cam/x", "rtsp://u:***@cam/x"),
    ("rtsp://u:se/cr#et@cam/x", "rtsp://u:***@cam/x"),  # "/" and "#" in the password
    ("rtsp://u:se?cr@et@cam:554/x", "rtsp://u:***@cam:554/x"),  # "?" and "@"
    ("rtsp://u:secret@cam:notaport/x", "rtsp://u:***@cam:notaport/x"),
    ("https://ghp_secrettoken@host/x", "https://***@host/x"),  # a userinfo token
    ("http://cam/x?user=bob&password=secret&ch=1", "http://cam/x?user=bob&password=***&ch=1"),
    ("http://cam/x?TOKEN=secret#frag", "http://cam/x?TOKEN=***#frag"),
    ("http://cam/x?Api-Key=secret&access_token=secret2&sig=secret3",
     "http://cam/x?Api-Key=***&access_token=***&sig=***"),
    ("http://cam/x?X-Amz-Signature=secret", "http://cam/x?X-Amz-Signature=***"),
    ("admin:secret@cam.local/live", "admin:***@cam.local/live"),  # no scheme
    ("rtsp://cam.local/x", "rtsp://cam.local/x"),
    ("write to me@example.org", "write to me@example.org"),
    ("/dev/video0", "/dev/video0"),
    ("error: cannot open stream rtsp://u:secret@cam/x (refused)", "error: cannot open stream rtsp://u:***@cam/x (refused)"),
])
def test_mask_hides_passwords_and_tokens(url, masked):
    assert mask(url) == masked
    assert "secret" not in mask(url) and "cret" not in mask(url)


def test_a_secret_seen_once_is_hidden_everywhere_after():
    remember("rtsp://u:pa ss w0rd@cam/x")  # a password with spaces spans several words
    assert "pa ss w0rd" not in mask("ffmpeg: auth failed for 'pa ss w0rd' on cam")
    assert mask("rtsp://u:pa ss w0rd@cam/x").count("***") >= 1


# -- property tests: random secrets, every channel --------------------------------------------

ALPHABET = st.characters(codec="ascii", categories=("L", "N", "P", "S"), exclude_characters="\\\"'`")
SECRETS = st.text(ALPHABET, min_size=10, max_size=24).filter(lambda s: s.strip() == s and any(c.isalnum() for c in s))
QUERY_SECRETS = st.text(st.sampled_from("abcdefXYZ0123456789-._~%/:@?"), min_size=10, max_size=24)
KEYS = st.sampled_from(["password", "PASS", "pwd", "token", "Key", "secret", "auth", "sig", "api_key",
                        "access_token", "X-Auth-Token", "client_secret"])


@st.composite
def secret_urls(draw) -> tuple[str, str]:
    secret = draw(SECRETS)
    form = draw(st.sampled_from(["userinfo", "token", "query", "schemeless"]))
    scheme = draw(st.sampled_from(["rtsp", "http", "rtmp"]))
    host = "127.0.0.1:1"  # a closed port on this machine: nothing else is ever contacted
    if form == "userinfo":
        return f"{scheme}://admin:{secret}@{host}/stream", secret
    if form == "token":
        secret = secret.replace(":", "")  # a userinfo without ":" is a token
        return f"{scheme}://{secret}@{host}/stream", secret
    if form == "query":
        secret = draw(QUERY_SECRETS)
        return f"{scheme}://{host}/stream?ch=1&{draw(KEYS)}={secret}&x=2", secret
    return f"admin:{secret}@{host}/stream", secret


def _visible(secret: str, text: str) -> bool:
    return secret in text or json.dumps(secret)[1:-1] in text


@settings(max_examples=300, deadline=None)
@given(case=secret_urls())
def test_mask_never_returns_the_secret(case):
    url, secret = case
    assert not _visible(secret, mask(url))
    assert not _visible(secret, mask(f"error: cannot open stream {url}; retrying"))


@pytest.mark.mediapipe
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=secret_urls(), extra=st.sampled_from([[], ["--print-config"], ["--camera", "URL"]]))
def test_no_secret_in_anything_drowsy_prints_or_writes(capfd, case, extra):
    """A bad or unreachable stream (127.0.0.1, a closed port): stderr, stdout (also fd-level:
    FFmpeg and MediaPipe write there), --out, --events and --print-config hold no secret."""
    url, secret = case
    with tempfile.TemporaryDirectory() as d:
        out, events = Path(d) / "out.jsonl", Path(d) / "events.jsonl"
        if extra == ["--camera", "URL"]:  # argparse's own error quotes the bad value
            argv = ["run", "--camera", url, "--headless", "--no-alarm"]
        else:
            argv = ["run", "--url", url, "--headless", "--no-alarm", "--out", str(out), "--events", str(events),
                    *extra]
        code = main(argv) if extra != ["--camera", "URL"] else _exit_code(argv)
        captured = capfd.readouterr()
        written = "".join(p.read_text(errors="replace") for p in (out, events) if p.exists())
    assert code in (0, 1, 2)
    for channel in (captured.err, captured.out, written):
        assert not _visible(secret, channel), channel
    if url.startswith("admin:"):  # no scheme: not a stream URL, refused before anything
        assert code == 2 and "must be a stream URL" in captured.err or extra == ["--camera", "URL"]
    elif extra == ["--print-config"]:
        assert code == 0 and "[source]" in captured.out
    else:
        assert code != 0 and captured.err.strip()


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_print_config_shows_secrets_only_when_asked(capsys):
    url = "rtsp://admin:hunter2hunter2@127.0.0.1:1/x?token=tok3n-tok3n"
    assert main(["run", "--url", url, "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "hunter2hunter2" not in text and "tok3n-tok3n" not in text and "rtsp://admin:***@127.0.0.1:1/x" in text
    assert main(["run", "--url", url, "--print-config", "--show-secrets"]) == 0
    assert url in capsys.readouterr().out
