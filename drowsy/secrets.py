"""One masking function for everything drowsy prints or writes: mask(text_or_url).

Stream URLs carry passwords and tokens. mask() hides them in a URL or in any text that holds
one (an error line, a log line, a JSONL value, --print-config):
- userinfo after `scheme://`, up to the LAST "@" of the token, so a password holding "/", "#",
  "?", ":" or "@" is hidden whole: `rtsp://user:***@host/...` (a userinfo with no ":" is a
  token: `https://***@host`). When in doubt it hides too much, never too little.
- scheme-less `user:pass@host/...` (what a user may paste): `user:***@host/...`.
- query parameters with a credential-like name (password, pass, pwd, token, key, secret, auth,
  sig, signature, api_key, access_token, ... any case, also `*_token`, `*_key`, `*_secret`).
Every secret found is also remembered for the life of the process, so it is hidden wherever
it turns up later, even outside a URL (an FFmpeg message quoting it, a percent-decoded form).
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, unquote

STARS = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_KEYS = {"password", "passwd", "pass", "pwd", "token", "key", "secret", "auth", "sig", "signature",
         "api_key", "apikey", "access_token", "refresh_token", "id_token", "client_secret", "credential",
         "credentials", "authorization", "session", "sessionid", "jwt", "x_amz_signature",
         "x_amz_credential", "x_amz_security_token", "private_token", "passphrase"}
_SUFFIXES = ("_token", "_key", "_secret", "password", "_sig", "_signature", "_pass", "_pwd")
_QUERY = re.compile(r"(?P<key>[^?&;#=\s]+)=(?P<value>[^&;#\s'\"]*)")
_MIN_REMEMBERED = 3  # shorter secrets are hidden in URLs only: masking "ab" everywhere ruins text

_known: set[str] = set()
_lock = threading.Lock()


def _remember(secret: str) -> None:
    if len(secret) < _MIN_REMEMBERED:
        return
    forms = {secret, unquote(secret), quote(secret, safe=""), quote(secret, safe="/:@")}
    with _lock:
        _known.update(f for f in forms if len(f) >= _MIN_REMEMBERED)


def _credential_key(key: str) -> bool:
    k = unquote(key).strip().lower().replace("-", "_")
    return k in _KEYS or k.endswith(_SUFFIXES)


def _query_secrets(token: str) -> list[str]:
    return [m["value"] for m in _QUERY.finditer(token) if m["value"] and _credential_key(m["key"])]


def _userinfo_secrets(rest: str, scheme: bool) -> list[str]:
    """The secret part of a userinfo in `rest` (what follows `scheme://`, or a scheme-less token)."""
    at = rest.rfind("@")
    if at < 0:
        return []
    info = rest[:at]
    user, colon, password = info.partition(":")
    if not colon:
        return [info] if scheme and info else []  # scheme-less name@example.org is an address
    if not scheme and (not user or any(c in user for c in "/\\")):
        return []  # not the user:pass@host shape
    found = [password] if password else []
    if any(c in user for c in "/?#"):  # the "user" is part of something odd: hide it too
        found.append(user)
    return found


def _mask_token(token: str) -> str:
    """Collect the secrets of both readings (userinfo up to the last "@", credential query values),
    then hide each: a "?" or "@" inside one of them cannot hide the other."""
    m = _SCHEME.search(token)
    if m:
        found = _userinfo_secrets(token[m.end():], scheme=True)
    elif "@" in token and ":" in token:
        found = _userinfo_secrets(token.lstrip("'\"([<"), scheme=False)
    else:
        found = []
    if "=" in token:
        found += _query_secrets(token)
    for secret in sorted(set(found), key=len, reverse=True):
        _remember(secret)
        token = token.replace(secret, STARS)
    return token


def mask(text) -> str:
    """`text` with every password, token and credential-like query value replaced by ***."""
    if text is None:
        return ""
    s = str(text)
    if "@" in s or "=" in s:
        s = "".join(_mask_token(part) if part.strip() else part for part in re.split(r"(\s+)", s))
    if _known:
        with _lock:
            known = sorted(_known, key=len, reverse=True)
        for secret in known:
            if secret in s:
                s = s.replace(secret, STARS)
    return s


def escape(text) -> str:
    """`text` safe for a terminal: control characters (ANSI escapes, newlines, carriage returns,
    bidi overrides) shown as \\x1b, \\n, \\u202e, so a profile name or a file name cannot move the
    cursor, recolour the screen or forge a second line."""
    s = "" if text is None else str(text)
    if all(ch.isprintable() for ch in s):
        return s
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in s)


def remember(url: str | None) -> None:
    """Learn the secrets of a URL the user gave (so they are hidden wherever they turn up)."""
    if url:
        mask(url)
        # A password with spaces spans several whitespace-separated tokens: take the URL whole too.
        m = _SCHEME.match(url.strip())
        rest = url.strip()[m.end():] if m else url.strip()
        at = rest.rfind("@")
        if at > 0:
            info = rest[:at]
            _remember(info.partition(":")[2] or (info if m else ""))


def forget() -> None:
    """Drop the remembered secrets (tests: one test's secret must not mask the next one's text)."""
    with _lock:
        _known.clear()
