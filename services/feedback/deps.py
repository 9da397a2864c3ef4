"""Dependencies of the feedback routes: the analyzer and the customer-value lookup the app holds (async: they
do no I/O, and a plain `def` dependency would cost a threadpool hop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rapport.errors import ServiceUnavailable

from .analysis import Analyzer
from .identities import IdentityResolver
from .values import ValueLookup


async def get_analyzer(request: Request) -> Analyzer:
    analyzer: Analyzer | None = getattr(request.app.state, "analyzer", None)
    if analyzer is None:
        raise ServiceUnavailable("The sentiment models are still loading; try again in a few seconds.")
    return analyzer


async def get_values(request: Request) -> ValueLookup:
    values: ValueLookup = request.app.state.values
    return values


async def get_resolver(request: Request) -> IdentityResolver:
    resolver: IdentityResolver = request.app.state.resolver
    return resolver


Analysis = Annotated[Analyzer, Depends(get_analyzer)]
Values = Annotated[ValueLookup, Depends(get_values)]
Resolver = Annotated[IdentityResolver, Depends(get_resolver)]
