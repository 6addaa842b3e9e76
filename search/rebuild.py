"""Rebuild a local job from its study: the spec (user attr `job_spec`, written by
`search.study.run_job`) and any trial's candidate; the database alone suffices.

Service jobs keep their spec in the service's jobs table instead; a study of an older service
database that carries `job_spec` as well is read here the same way.
"""

from dataclasses import dataclass

import optuna

from search.spec import JobSpec
from search.storage import make_storage
from search.transforms import Candidate, parse_candidate


@dataclass(frozen=True)
class StoredCandidate:
    spec: JobSpec
    trial_number: int
    candidate: Candidate

    @property
    def model(self) -> str:
        return self.spec.model if isinstance(self.spec.model, str) else self.spec.model.path

    @property
    def device(self) -> str:
        return self.spec.device

    @property
    def clock_mhz(self) -> float:
        return self.spec.clock_mhz


def load_job_study(storage_url: str, study_name: str) -> tuple[optuna.Study, JobSpec]:
    storage = make_storage(storage_url, heartbeat=False)
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError as err:
        raise ValueError(f"no study {study_name!r} in {storage_url}") from err
    if "job_spec" not in study.user_attrs:
        raise ValueError(
            f"study {study_name!r} carries no job_spec: it was not made by `hwsearch run` "
            "(a service job's spec is in the service's jobs table: use its API)"
        )
    return study, JobSpec.model_validate(study.user_attrs["job_spec"])


def load_trial_candidate(storage_url: str, study_name: str, number: int) -> StoredCandidate:
    study, spec = load_job_study(storage_url, study_name)
    trials = [t for t in study.get_trials(deepcopy=False) if t.number == number]
    if not trials or "candidate" not in trials[0].user_attrs:
        raise ValueError(f"study {study_name!r} has no completed trial {number}")
    candidate = parse_candidate(trials[0].user_attrs["candidate"], f"trial {number}")
    return StoredCandidate(spec, number, candidate)
