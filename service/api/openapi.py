"""The submit route's request schemas, added to the OpenAPI document by hand.

The route reads its body itself (JSON, TOML or multipart), so FastAPI does not see a model.
Two schemas are added to the components:

- `JobSpec`: the whole spec (`search.spec.JobSpec`), as the CLI's local runner takes it;
- `JobSubmission`: what the API takes as a JSON body, one branch per zoo model. Server paths
  are refused (files come only as multipart uploads), so `dataset_path` is absent and zoo
  models that read the user's file (jsc-mlp) are left to multipart. Names the API checks
  against registries are enums: the device, the model's task and its metrics as objectives,
  and `layers` keys (the model's layer names or a layer type); a budget has a limit; models
  the RTL generator does not build confirm no front member. A request the schema allows is
  then one the API accepts.
"""

from functools import cache
from typing import Any

from fastapi import FastAPI

from search import HARDWARE_OBJECTIVES, LAYER_TYPES, JobSpec, ZooModelInfo, zoo_catalog

REF = "#/components/schemas/{model}"


# Budget's validator wants a limit: n_trials (100 when absent) or timeout_s, not both null.
BUDGET_LIMITED = [
    {"properties": {"n_trials": {"type": "integer"}}},
    {"properties": {"timeout_s": {"type": "number"}}, "required": ["timeout_s"]},
]


def _enum(values: list[str], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": values, "description": description}


@cache
def _zoo() -> dict[str, ZooModelInfo]:
    """The zoo models a JSON spec can name (those whose data ships with hwsearch)."""
    return {name: info for name, info in zoo_catalog().items() if not info.dataset_from_user}


def _branch(spec: dict[str, Any], model: str) -> dict[str, Any]:
    from hw_models import DEVICES

    zoo = _zoo()[model]
    properties = {k: v for k, v in spec["properties"].items() if k != "dataset_path"}
    properties["model"] = {"const": model, "description": "a zoo model"}
    properties["device"] = {**properties["device"], **_enum(list(DEVICES), "the FPGA")}
    properties["objectives"] = {
        **properties["objectives"],
        "items": _enum([*zoo.metrics, *HARDWARE_OBJECTIVES], "a metric of the task or hardware"),
        "uniqueItems": True,
    }
    properties["task"] = {
        "anyOf": [_enum([zoo.task], "the model's task"), {"type": "null"}],
        "default": None,
    }
    properties["layers"] = {
        **properties["layers"],
        "propertyNames": _enum([*zoo.layers, *LAYER_TYPES], "a layer of the model or a type"),
    }
    if not zoo.rtl:  # estimated by hw_models only: nothing to simulate
        confirm = properties["confirm"]
        properties["confirm"] = {
            "allOf": [{"$ref": confirm["$ref"]}, {"properties": {"front_members": {"const": 0}}}],
            "default": confirm.get("default"),
            "description": "no RTL confirmation: the generator does not build this model",
        }
    return {**spec, "title": model, "properties": properties}


def job_submission_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """`JobSubmission` from JobSpec's JSON schema (as pydantic makes it)."""
    return {
        "title": "JobSubmission",
        "description": "A job spec as the API takes it as JSON: a zoo model, no server paths."
        " Upload your own model (or a jsc-mlp dataset) as multipart/form-data.",
        "oneOf": [_branch(spec, model) for model in _zoo()],
    }


def document_job_spec(app: FastAPI) -> None:
    """Add `JobSpec` and `JobSubmission` to the app's OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            spec = JobSpec.model_json_schema(ref_template=REF)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(spec.pop("$defs", {}))
            components["Budget"] = {**components["Budget"], "anyOf": BUDGET_LIMITED}
            components["JobSpec"] = spec
            components["JobSubmission"] = job_submission_schema(spec)
        return app.openapi_schema

    app.openapi = openapi
