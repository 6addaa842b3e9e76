"""hwsearch's search: job specs, workloads, scoring, the job phases, reports and exports.

What service/, bench/ and scripts/ use is exported here; the modules behind it are
implementation. Names load on first use (PEP 562), so `import search` stays cheap and a
process imports torch, optuna or rtl only when it needs them.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    # the job spec (untrusted input: bounded, errors as data)
    "JobSpec": "search.spec",
    "JobSpecError": "search.spec",
    "load_job": "search.spec",
    "parse_job": "search.spec",
    "InputError": "search.validation",
    "HARDWARE_OBJECTIVES": "search.spec",
    "LAYER_TYPES": "search.spec",
    "ZooModelInfo": "search.catalog",
    "zoo_catalog": "search.catalog",
    # workloads and scoring
    "Workload": "search.workload",
    "evaluate_candidate": "search.workload",
    "load_workload": "search.workload",
    "job_model": "search.workload",
    "CandidateScorer": "search.scoring",
    "describe_accelerator": "search.rtl_design",
    # a job's phases, and running one locally
    "JobFailedError": "search.phases",
    "JobRun": "search.phases",
    "TrialObjective": "search.phases",
    "check_model": "search.phases",
    "confirm_trial": "search.phases",
    "confirm_trials": "search.phases",
    "fail_orphaned_trials": "search.phases",
    "finalize": "search.phases",
    "front_numbers": "search.phases",
    "record_baselines": "search.phases",
    "run_trials": "search.phases",
    "TrialBudget": "search.budget",
    "JobResult": "search.study",
    "count_complete": "search.study",
    "create_job_study": "search.study",
    "create_new_study": "search.study",
    "run_job": "search.study",
    # storage, and reading jobs back from it
    "GRACE_PERIOD_S": "search.storage",
    "HEARTBEAT_INTERVAL_S": "search.storage",
    "make_storage": "search.storage",
    "load_job_study": "search.rebuild",
    "load_trial_candidate": "search.rebuild",
    # what people read: reports, exports, generated text
    "accuracy_floor": "search.front",
    "front_designs": "search.front",
    "baseline_rows": "search.report",
    "confirmation_summary": "search.report",
    "front_rows": "search.report",
    "publish_front": "search.report",
    "search_gain": "search.report",
    "write_plots": "search.report",
    "EXPORT_FILES": "search.export",
    "RTL_FILES": "search.export",
    "export_from_candidate": "search.export",
    "sample_text": "search.text_generation",
    "train_model": "search.train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
