"""The API router: every resource's router, nothing else."""

from fastapi import APIRouter

from service.api.routes import (
    candidates,
    confirmations,
    fronts,
    health,
    jobs,
    metrics,
    trials,
)

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(metrics.router)
api_router.include_router(jobs.router)
api_router.include_router(trials.router)
api_router.include_router(fronts.router)
api_router.include_router(candidates.router)
api_router.include_router(confirmations.router)
