"""JSON Schemas of the public shapes, generated from the models (schemas/ holds the checked-in copies)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.api.batch import BatchRequest, BatchResponse
from service.assessments import Comparison, ComparisonRequest
from service.engine.assessment import Assessment
from service.engine.questions import Questions
from service.profile import schema_words
from service.profile.model import Profile
from service.rulebase.catalogue import Instrument
from service.rulebase.rule_file import CONDITION_SCHEMA, RuleFile

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def _rule_file_schema() -> dict[str, Any]:
    schema = RuleFile.model_json_schema()
    rule = schema["$defs"]["Rule"]
    rule["properties"]["when"]["items"] = CONDITION_SCHEMA
    return schema


def profile_schema() -> dict[str, Any]:
    """The profile's schema, with the words a form shows for its codes (`x-labels`)."""
    return schema_words.annotate(Profile.model_json_schema())


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema."""
    out = {
        "profile.schema.json": profile_schema(),
        "assessment.schema.json": Assessment.model_json_schema(mode="serialization"),
        "comparison-request.schema.json": ComparisonRequest.model_json_schema(),
        "comparison.schema.json": Comparison.model_json_schema(mode="serialization"),
        "batch-request.schema.json": BatchRequest.model_json_schema(),
        "batch.schema.json": BatchResponse.model_json_schema(mode="serialization"),
        "questions.schema.json": Questions.model_json_schema(mode="serialization"),
        "rule-file.schema.json": _rule_file_schema(),
        "instrument.schema.json": Instrument.model_json_schema(),
    }
    for name, schema in out.items():
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://compliance-engine.local/schemas/{name}"
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that differ from what the code generates."""
    return [name for name, schema in generate().items()
            if not (directory / name).exists() or (directory / name).read_text(encoding="utf-8") != render(schema)]
