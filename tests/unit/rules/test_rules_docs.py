"""docs/rules.md is generated from the @rule marks and must not drift; every rule
that has code has a test named after it."""

import ast
from pathlib import Path

import pytest

from repairline_rules import registry, rule
from repairline_rules.docgen import main, render
from repairline_rules.registry import RULE_TITLES, implementations

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "rules.md"
TESTS = Path(__file__).resolve().parent

DECISION_RULES = {
    "INT-3", "INT-4", "INT-5",
    *(f"WAR-{n}" for n in range(1, 12)),
    "FEE-1", "FEE-2", "FEE-3", "FEE-5", "FEE-6", "FEE-7", "FEE-8",
    "DSP-3", "DSP-6", "DSP-7", "DSP-9",
    *(f"PEN-{n}" for n in range(1, 8)),
    "FBK-1", "FBK-2", "FBK-3", "FBK-5", "FBK-6",
}  # fmt: skip


def test_docs_rules_md_is_up_to_date():
    assert DOC.exists(), "run: python -m repairline_rules.docgen"
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m repairline_rules.docgen"


def test_docgen_check_flags_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "rules.md"
    stale.write_text("old\n")
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0


def test_every_decision_rule_of_the_rulebook_has_code():
    assert set(implementations()) >= DECISION_RULES


def test_every_rule_with_code_has_a_test_named_after_it():
    names = set()
    for path in TESTS.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    for rule_id in implementations():
        prefix = "test_" + rule_id.lower().replace("-", "_") + "_"
        assert any(name.startswith(prefix) for name in names), f"no test named {prefix}..."


def test_rule_decorator_returns_the_function_unchanged_and_rejects_unknown_ids(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})

    def sample():
        return 42

    assert rule("FEE-1")(sample) is sample
    recorded = registry._REGISTRY
    assert recorded == {"FEE-1": [f"{__name__}.{sample.__qualname__}"]}
    with pytest.raises(ValueError):
        rule("FEE-99")
    with pytest.raises(ValueError):
        rule()
    assert set(RULE_TITLES) >= set(implementations())
