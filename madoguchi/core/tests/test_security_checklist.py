"""`docs/security-checklist.md` maps every case 1-80 of the security checklist to its tests.

Each case is a `## <n>. <title>` section holding the pytest node ids that test it (in backticks,
`madoguchi/<app>/tests/test_x.py::test_name` or `...::TestClass::test_method`, parametrised
tests without the bracket part), and/or a line `Not applicable: <reason>` or
`Not done yet: <what is missing>`. This test fails when a case is missing or listed twice, when
an entry has neither tests nor a reason, or when a listed test does not exist (the test module
is parsed with `ast`, so a renamed or deleted test fails here, not silently in the document).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CHECKLIST = ROOT / "docs" / "security-checklist.md"
CASES = range(1, 81)

HEADING = re.compile(r"^## (\d+)\. (\S.*)$")
NODE = re.compile(r"`(madoguchi/[^`\s]+?\.py::[^`\s]+)`")
REASON = re.compile(r"^\s*(?:[-*]\s*)?(Not applicable|Not done yet):\s*(.*)$")


@dataclass
class Entry:
    number: int
    title: str
    tests: list[str] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list)


def parse(text: str) -> tuple[list[Entry], list[str]]:
    """The entries of the document, and the problems of its shape (duplicates)."""
    entries: list[Entry] = []
    problems: list[str] = []
    for line in text.splitlines():
        heading = HEADING.match(line)
        if heading:
            entries.append(Entry(int(heading.group(1)), heading.group(2).strip()))
            continue
        if not entries:
            continue
        entries[-1].tests.extend(NODE.findall(line))
        reason = REASON.match(line)
        if reason:
            entries[-1].reasons.append((reason.group(1), reason.group(2).strip()))
    numbers = [entry.number for entry in entries]
    problems += [
        f"case {n} is listed {numbers.count(n)} times"
        for n in sorted(set(numbers))
        if numbers.count(n) > 1
    ]
    return entries, problems


def defined_tests(path: Path) -> set[str]:
    """`name` of every module-level (async) function and `Class::name` of every method."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, functions):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}::{item.name}" for item in node.body if isinstance(item, functions)
            )
    return names


def node_problem(node: str, root: Path) -> str | None:
    """Why `node` names no test in the tree under `root`, or None if it does."""
    module, _, name = node.partition("::")
    if "[" in name:
        return f"{node}: give the test without its parameters"
    if not name.split("::")[-1].startswith("test"):
        return f"{node}: not a test"
    path = root / module
    if not path.is_file():
        return f"{node}: no such file"
    if name not in defined_tests(path):
        return f"{node}: no such test in {module}"
    return None


def checklist_problems(text: str, root: Path) -> list[str]:
    entries, problems = parse(text)
    numbers = {entry.number for entry in entries}
    problems += [f"case {n} is missing" for n in CASES if n not in numbers]
    problems += [f"case {n} is not a case of the checklist" for n in sorted(numbers - set(CASES))]
    for entry in entries:
        empty_reasons = [kind for kind, reason in entry.reasons if not reason]
        if empty_reasons:
            problems.append(f"case {entry.number}: '{empty_reasons[0]}:' without a reason")
        if not entry.tests and not entry.reasons:
            problems.append(f"case {entry.number}: neither tests nor a reason")
        for node in entry.tests:
            problem = node_problem(node, root)
            if problem:
                problems.append(f"case {entry.number}: {problem}")
    return problems


def test_every_case_has_existing_tests_or_a_reason() -> None:
    assert checklist_problems(CHECKLIST.read_text(encoding="utf-8"), ROOT) == []


# --- the checker itself ----------------------------------------------------------------------

THIS = "madoguchi/core/tests/test_security_checklist.py"


def _document(*entries: str) -> str:
    """A checklist with cases 1-80 answered by a reason, then `entries` replacing some."""
    replaced = {int(entry.split(".")[0].removeprefix("## ")): entry for entry in entries}
    return "\n\n".join(
        replaced.get(n, f"## {n}. Case {n}\n\nNot applicable: a reason") for n in CASES
    )


def test_the_checker_accepts_existing_tests_and_methods(tmp_path: Path) -> None:
    module = tmp_path / "madoguchi" / "tests" / "test_x.py"
    module.parent.mkdir(parents=True)
    module.write_text("def test_a():\n    pass\n\nclass TestB:\n    async def test_c(self): ...\n")
    text = _document(
        "## 1. One\n\n- `madoguchi/tests/test_x.py::test_a`\n"
        "- `madoguchi/tests/test_x.py::TestB::test_c`"
    )
    assert checklist_problems(text, tmp_path) == []


def test_the_checker_reports_a_wrong_test_id() -> None:
    text = _document(
        f"## 1. One\n\n- `{THIS}::test_every_case_has_existing_tests_or_a_reason`",
        f"## 2. Two\n\n- `{THIS}::test_that_does_not_exist`",
        "## 3. Three\n\n- `madoguchi/core/tests/test_nowhere.py::test_a`",
        f"## 4. Four\n\n- `{THIS}::test_the_checker_reports_a_wrong_test_id[param]`",
        f"## 5. Five\n\n- `{THIS}::checklist_problems`",
    )
    assert checklist_problems(text, ROOT) == [
        f"case 2: {THIS}::test_that_does_not_exist: no such test in {THIS}",
        "case 3: madoguchi/core/tests/test_nowhere.py::test_a: no such file",
        f"case 4: {THIS}::test_the_checker_reports_a_wrong_test_id[param]: give the test "
        "without its parameters",
        f"case 5: {THIS}::checklist_problems: not a test",
    ]


def test_the_checker_reports_missing_duplicate_and_empty_cases() -> None:
    text = _document("## 7. Seven\n\nNothing here.", "## 9. Nine\n\nNot done yet:")
    text = text.replace("## 12. Case 12\n\nNot applicable: a reason", "")
    text += "\n\n## 3. Three again\n\nNot applicable: twice"
    assert checklist_problems(text, ROOT) == [
        "case 3 is listed 2 times",
        "case 12 is missing",
        "case 7: neither tests nor a reason",
        "case 9: 'Not done yet:' without a reason",
    ]
