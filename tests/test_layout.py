"""The package's shape: the public API, no import circles, a runtime that works without torch,
and modules small enough to read."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import drowsy

PKG = Path(drowsy.__file__).parent


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PKG.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """drowsy modules that `name` imports anywhere: at module level or inside a function. A lazy
    import inside a function still ties the two modules together, so it counts for circles."""
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else base)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in known and m != name}


def test_public_api_names_resolve():
    for name in drowsy.__all__:
        assert getattr(drowsy, name) is not None, name
    p = drowsy.Pipeline  # a real class, not a stub
    assert callable(p) and hasattr(p, "from_config")


def test_no_import_circles():
    mods = _modules()
    graph = {m: _imports(m, p, set(mods)) for m, p in mods.items()}
    seen, stack = set(), []

    def visit(m):
        if m in stack:
            raise AssertionError("import circle: " + " -> ".join(stack[stack.index(m):] + [m]))
        if m in seen:
            return
        stack.append(m)
        for dep in graph[m]:
            if dep != "drowsy":  # every module imports the package itself first
                visit(dep)
        stack.pop()
        seen.add(m)

    for m in graph:
        visit(m)


def test_the_circle_check_can_fail(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from .b import x\n")
    b.write_text("from .a import y\n")
    assert _imports("drowsy.a", a, {"drowsy.a", "drowsy.b"}) == {"drowsy.b"}
    assert _imports("drowsy.b", b, {"drowsy.a", "drowsy.b"}) == {"drowsy.a"}
    c = tmp_path / "c.py"  # an import inside a function counts too
    c.write_text("def f():\n    from .a import y\n")
    assert _imports("drowsy.c", c, {"drowsy.a", "drowsy.c"}) == {"drowsy.a"}


def test_runtime_and_run_help_work_without_torch():
    # torch made unimportable: every runtime module and the run command must still load.
    code = ("import sys; sys.modules['torch'] = None; sys.modules['torchvision'] = None\n"
            "import importlib, pkgutil, drowsy.runtime as r\n"
            "for m in pkgutil.iter_modules(r.__path__): importlib.import_module('drowsy.runtime.' + m.name)\n"
            "from drowsy.cli import main\n"
            "sys.exit(main(['run', '--print-config']))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "[temporal]" in p.stdout


def test_modules_stay_readable():
    too_long = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > 300}
    assert not too_long, f"split these modules (lines): {too_long}"
