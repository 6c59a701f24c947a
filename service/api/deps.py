"""Dependencies handlers ask for, as `Annotated` aliases so handlers read like plain functions.

`app.state` is untyped (Starlette's State): each service gets its type here, where it leaves it."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.activation import Activation
from service.evaluation import Evaluations, Limits
from service.serving import Serving
from service.settings import Settings
from service.store.db import Database
from service.store.journal import DecisionJournal
from service.versions import Versions


async def app_settings(request: Request) -> Settings:
    """The settings this application was created with (service.settings.get_settings reads the environment)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_serving(request: Request) -> Serving:
    serving: Serving = request.app.state.serving
    return serving


async def get_versions(request: Request) -> Versions:
    versions: Versions = request.app.state.versions
    return versions


async def get_activation(request: Request) -> Activation:
    activation: Activation = request.app.state.activation
    return activation


async def get_journal(request: Request) -> DecisionJournal:
    journal: DecisionJournal = request.app.state.journal
    return journal


async def get_evaluations(request: Request) -> Evaluations:
    evaluations: Evaluations = request.app.state.evaluations
    return evaluations


async def get_limits(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


SettingsDep = Annotated[Settings, Depends(app_settings)]
DbDep = Annotated[Database, Depends(get_db)]
ServingDep = Annotated[Serving, Depends(get_serving)]
VersionsDep = Annotated[Versions, Depends(get_versions)]
ActivationDep = Annotated[Activation, Depends(get_activation)]
JournalDep = Annotated[DecisionJournal, Depends(get_journal)]
EvaluationsDep = Annotated[Evaluations, Depends(get_evaluations)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
