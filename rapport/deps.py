"""Dependencies shared by every service's routes.

FastAPI runs a plain `def` dependency in the threadpool, and each such hop costs a request about 0.2 ms
of CPU (a thread wake-up and two GIL hand-overs). So dependencies that do no I/O are `async def`, and the
session dependency only goes to the threadpool for its commit. A plain `def` route costs more hops still
(one to run it, one to validate its answer, one to commit): the hottest reads are `async def` routes that
do all their database work and the commit in one hop with `in_one_hop`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rapport.config import Settings

T = TypeVar("T")


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back if it raises.
    Opening a session does no I/O (it connects on first use), so only the end runs in the threadpool."""
    session: Session = request.app.state.sessions()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(session.close)  # closing rolls the transaction back
        raise
    if session.in_transaction():
        await run_in_threadpool(_commit_and_close, session)
    else:  # never used, or committed by `in_one_hop`: closing does no I/O
        session.close()


async def in_one_hop(session: Session, work: Callable[[], T]) -> T:
    """Run `work` (blocking database reads and writes on `session`) and commit, in one threadpool hop."""

    def run() -> T:
        result = work()
        session.commit()
        return result

    return await run_in_threadpool(run)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# scope="function": commit before the response is sent, so a client that got 2xx can read its write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
