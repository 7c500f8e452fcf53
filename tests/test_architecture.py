"""The house's shape: imports point one way (cli -> lab -> assistant -> memory_store, and cli -> assistant), and
importing is cheap."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, subprocess_env


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_memory_store_never_imports_assistant_lab_cli_torch_or_click():
    for path in (ROOT / "memory_store").glob("*.py"):
        forbidden = imported_modules(path) & {"assistant", "lab", "cli", "torch", "click", "rich"}
        assert not forbidden, f"{path.name} imports {forbidden}"


def test_only_the_embedder_imports_sentence_transformers():
    for package in ("memory_store", "assistant", "lab"):
        for path in (ROOT / package).glob("*.py"):
            if path.name != "embedder.py":
                assert "sentence_transformers" not in imported_modules(path), path


def test_assistant_never_imports_cli_and_uses_the_store_through_its_facade():
    for path in (ROOT / "assistant").glob("*.py"):
        assert "cli" not in imported_modules(path), path
        text = path.read_text()
        assert "from memory_store." not in text and "import memory_store." not in text, path


def test_assistant_never_imports_lab():
    for path in (ROOT / "assistant").glob("*.py"):
        assert "lab" not in imported_modules(path), path


STAGES = ("understanding", "recalling", "answering", "generating", "remembering")  # one chat turn, in order


def relative_imports(path: Path) -> set[str]:
    """The assistant modules `path` imports by relative import (`from .reading import ...`, `from . import x`)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
    return names


def test_a_turns_stages_never_call_back_up():
    """understand -> recall -> decide -> generate -> commit: a stage imports only earlier ones, and no stage
    (nor forgetting) imports the assistant facade that runs them."""
    for i, stage in enumerate(STAGES):
        imported = relative_imports(ROOT / "assistant" / f"{stage}.py")
        assert not imported & {*STAGES[i + 1:], "assistant", "forgetting"}, f"{stage}.py imports {imported}"
    assert not relative_imports(ROOT / "assistant" / "forgetting.py") & {*STAGES, "assistant"}


def test_lab_never_imports_cli():
    for path in (ROOT / "lab").glob("*.py"):
        assert "cli" not in imported_modules(path), path


def printed_by(code: str, cwd: Path) -> str:
    """What a fresh Python process running `code` prints (it must succeed)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                            env=subprocess_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_the_assistant_loads_no_training_loop_data_generator_or_evaluation(tmp_path):
    code = (
        "import sys\n"
        "import assistant.assistant\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] == 'lab' or m.startswith('assistant.') and 'training' in m))\n"
    )
    assert printed_by(code, tmp_path) == "[]"


def test_library_code_never_prints():
    for package in ("memory_store", "assistant", "lab"):
        for path in (ROOT / package).glob("*.py"):
            tree = ast.parse(path.read_text())
            calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
            assert not calls, f"{path} prints"


def test_importing_the_store_is_cheap_and_has_no_side_effects(tmp_path):
    code = (
        "import os, sys; before = set(os.listdir('.'))\n"
        "import memory_store\n"
        "assert set(os.listdir('.')) == before\n"
        "print([m for m in ('torch', 'sentence_transformers') if m in sys.modules])\n"
    )
    assert printed_by(code, tmp_path) == "[]"
