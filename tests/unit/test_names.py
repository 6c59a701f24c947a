"""One name per concept: no two classes or modules of the service share a name, and retired names stay retired."""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from tests.helpers import REPO

SERVICE = REPO / "service"

#: Names the code once gave to two concepts, or to the wrong one (issue 15), and what replaced them.
RETIRED = {
    "RuleSets": "Serving, Versions, Activation",
    "Ruleset": "DurableRuleset",
    "RulesetRef": "RuleSetRef",
    "Recorded": "Evaluated",
    "Loaded": "ServedRuleSet",
    "LoadedRuleSet": "ServedRuleSetSummary",
}
RETIRED_NAME = re.compile(r"(?<![\w-])(" + "|".join(RETIRED) + r")(?![\w-])")


def _modules() -> list[Path]:
    return sorted(p for p in SERVICE.rglob("*.py") if "migrations" not in p.parts)


#: The client raises the service's problem kinds under their names: one concept seen from the two ends of the wire.
CLIENT_SIDE = ["service/client/exceptions.py", "service/errors.py"]


def _same_problem_kind(name: str) -> bool:
    """The client's exception `name` is raised for the status the service answers its domain error `name` with."""
    from service import errors
    from service.api.problems import PROBLEM_KINDS
    from service.client import exceptions

    client_side = getattr(exceptions, name)
    return exceptions.BY_STATUS.get(PROBLEM_KINDS[getattr(errors, name)].status) is client_side


def test_no_two_classes_of_the_service_share_a_name():
    defined: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                defined[node.name].append(str(path.relative_to(REPO)))
    shared = {name: where for name, where in defined.items() if len(where) > 1}
    mirrored = {name for name, where in shared.items() if sorted(where) == CLIENT_SIDE}
    assert mirrored == {name for name in mirrored if _same_problem_kind(name)}
    assert {name: where for name, where in shared.items() if name not in mirrored} == {}


def test_no_two_modules_share_a_name_except_routes_named_after_their_resource():
    """api/routes/ is named after the URL's resources (/v1/assessments beside service/assessments.py)."""
    seen: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        if path.name != "__init__.py" and path.parent != SERVICE / "api" / "routes":
            seen[path.name].append(str(path.relative_to(REPO)))
    assert {name: where for name, where in seen.items() if len(where) > 1} == {}


def _identifiers(path: Path) -> set[str]:
    """The names a module defines, imports or uses (strings and comments are prose: "Loaded pearl-river.json")."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.update((node.name.split(".")[-1], node.asname or ""))
    return names


def _code_spans(path: Path) -> list[str]:
    """What a Markdown document writes as code (`RuleSetRef`), where a retired name would be meant as a name."""
    return re.findall(r"`([^`\n]+)`", path.read_text(encoding="utf-8"))


def test_retired_names_are_not_used_in_code_docs_or_tests():
    code = [*_modules(), *(REPO / "tests").rglob("*.py"), *(REPO / "bench").glob("*.py")]
    found = [f"{path.relative_to(REPO)}: {name} (now {RETIRED[name]})"
             for path in code if path != Path(__file__) for name in sorted(_identifiers(path) & RETIRED.keys())]
    found += [f"{path.relative_to(REPO)}: `{span}` (now {RETIRED[match.group(1)]})"
              for path in [*(REPO / "docs").glob("*.md"), REPO / "README.md"]
              for span in _code_spans(path) for match in RETIRED_NAME.finditer(span)]
    assert found == []


def test_the_retired_names_check_finds_a_retired_name(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("from service.rulesets import RuleSets\nserving = RuleSets(db)\nlabel = 'Loaded file'\n")
    assert _identifiers(module) & RETIRED.keys() == {"RuleSets"}
    assert RETIRED_NAME.search("`Recorded`")
    assert not RETIRED_NAME.search("X-Ruleset-Version")  # the contract's header keeps its spelling
