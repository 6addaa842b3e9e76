"""What a job spec may name, per zoo model: its task, metrics, weighted layers and RTL support.

The API documents these as enums in its OpenAPI schema, so a spec the schema allows is one the
search accepts. Building every zoo model takes well under a second; callers cache the result.
"""

from dataclasses import dataclass

from search.data import FILE_DATASETS
from search.models import ZOO, build_model
from search.rtl_design import check_rtl_supported
from search.tasks import TASKS
from search.transforms import weighted_layers


@dataclass(frozen=True)
class ZooModelInfo:
    """One zoo model as a job spec sees it."""

    task: str
    metrics: list[str]
    layers: list[str]  # weighted layers' names (what `layers` overrides may name)
    rtl: bool  # the RTL generator builds it (else no front member can be confirmed)
    dataset_from_user: bool  # its dataset is the user's file (uploaded, never on the server)


def zoo_catalog() -> dict[str, ZooModelInfo]:
    """Every zoo model, by name."""
    catalog = {}
    for name, entry in ZOO.items():
        model = build_model(name)
        try:
            check_rtl_supported(model, name)
            rtl = True
        except NotImplementedError:
            rtl = False
        catalog[name] = ZooModelInfo(
            task=entry.task,
            metrics=list(TASKS[entry.task].metrics),
            layers=[layer for layer, _ in weighted_layers(model)],
            rtl=rtl,
            dataset_from_user=entry.dataset in FILE_DATASETS,
        )
    return catalog
