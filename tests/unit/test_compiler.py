"""What the compiler emits for durable-rules: only constructs that are safe in its C core."""
from __future__ import annotations

from service.engine.compiler import compile_ruleset
from service.rulebase.loading import from_directory
from service.rulebase.ruleset import build_ruleset
from tests.helpers import RULES


def walk(node, inside_iany=False, found=None):
    found = [] if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$mt":
                found.append("regex (its state machine is never freed by delete_ruleset)")
            if key == "$or":
                if inside_iany:
                    found.append("$or inside $iany (half-initialised node: random error 102)")
                for branch in value:
                    (field, test), = branch.items()
                    if isinstance(test, dict):
                        found.append(f"$or branch that is not a constant equality: {branch}")
            walk(value, inside_iany or key == "$iany", found)
    elif isinstance(node, list):
        for item in node:
            walk(item, inside_iany, found)
    return found


def test_compiled_rules_use_only_safe_constructs():
    shards = compile_ruleset(build_ruleset(from_directory(RULES)))
    problems = [(name, p) for shard in shards for name, rule in shard.definition().items() for p in walk(rule)]
    assert problems == []


def test_every_rule_fits_one_ruleset_and_gated_rules_start_with_the_gate():
    shards = compile_ruleset(build_ruleset(from_directory(RULES)))
    assert len(shards) == 1, "the repository's rule base fits one durable-rules ruleset"
    for name, rule in shards[0].rules.items():
        first = next(iter(rule.definition["all"][0]))
        assert (first == "gate") == (rule.spec.phase > 0), name
