"""Dependencies handlers ask for, as `Annotated` aliases so handlers read like plain functions."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.evaluation import Evaluations, Limits
from service.activation import Activation
from service.serving import Serving
from service.versions import Versions
from service.settings import Settings
from service.store.db import Database
from service.store.journal import DecisionJournal


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_serving(request: Request) -> Serving:
    return request.app.state.serving


async def get_versions(request: Request) -> Versions:
    return request.app.state.versions


async def get_activation(request: Request) -> Activation:
    return request.app.state.activation


async def get_journal(request: Request) -> DecisionJournal:
    return request.app.state.journal


async def get_evaluations(request: Request) -> Evaluations:
    return request.app.state.evaluations


async def get_limits(request: Request) -> Limits:
    return request.app.state.limits


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
ServingDep = Annotated[Serving, Depends(get_serving)]
VersionsDep = Annotated[Versions, Depends(get_versions)]
ActivationDep = Annotated[Activation, Depends(get_activation)]
JournalDep = Annotated[DecisionJournal, Depends(get_journal)]
EvaluationsDep = Annotated[Evaluations, Depends(get_evaluations)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
