""".ci/typecheck: mypy errors compared with a baseline that may only shrink."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from collections import Counter
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "typecheck"

NEW = "oauth/services.py: error arg-type: Argument 1 has incompatible type"
OLD = "accounts/api.py: error arg-type: Argument 2 has incompatible type"


@pytest.fixture
def typecheck(tmp_path, monkeypatch):
    loader = importlib.machinery.SourceFileLoader("ci_typecheck", str(SCRIPT))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "BASELINE", tmp_path / "mypy-baseline.txt")

    def run(*args: str, errors: list[str]) -> int:
        monkeypatch.setattr(module, "run_mypy", lambda: Counter(errors))
        monkeypatch.setattr("sys.argv", ["typecheck", *args])
        return module.main()

    module.check = run
    return module


def test_errors_in_the_baseline_pass_and_new_ones_fail(typecheck, capsys):
    assert typecheck.check("--update", errors=[OLD, OLD]) == 0
    assert typecheck.check(errors=[OLD, OLD]) == 0
    assert typecheck.check(errors=[OLD, OLD, NEW]) == 1
    assert NEW in capsys.readouterr().out
    # One more occurrence of a listed error in the same file is new too.
    assert typecheck.check(errors=[OLD, OLD, OLD]) == 1


def test_fixed_errors_must_leave_the_baseline(typecheck, capsys):
    typecheck.check("--update", errors=[OLD, NEW])
    assert typecheck.check(errors=[OLD]) == 1
    out = capsys.readouterr().out
    assert NEW in out and "--update" in out
    assert typecheck.check("--update", errors=[OLD]) == 0
    assert typecheck.check(errors=[OLD]) == 0


def test_the_baseline_is_sorted_with_a_header(typecheck):
    typecheck.check("--update", errors=[NEW, OLD, OLD])
    lines = typecheck.BASELINE.read_text().splitlines()
    assert lines[0].startswith("#")
    assert [line for line in lines if not line.startswith("#")] == [OLD, OLD, NEW]


def test_errors_are_normalised_without_line_numbers(typecheck):
    error = {
        "file": "oauth/models.py",
        "line": 75,
        "code": "override",
        "message": 'Signature incompatible with "x" defined on line 12\n  of the base class',
    }
    assert typecheck.normalise(error) == (
        'oauth/models.py: error override: Signature incompatible with "x" defined on line N of the base class'
    )
