"""Demo data for `rapport up`: generate the synthetic data set once, then let each service's loader
fill that service when its database is empty. Each service issue registers its loader here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapport.config import Service, Settings
from rapport.http import ServiceClient

log = logging.getLogger("rapport.seed")


@dataclass(frozen=True)
class DemoLoader:
    """Loads one service's share of the demo files through that service's own HTTP API."""

    service: Service
    is_empty: Callable[[ServiceClient], bool]
    load: Callable[[ServiceClient, Path], str]  # returns a one-line summary for the console


def _customers_loader() -> DemoLoader:
    from services.customers import demo  # the kit names loaders; it does not import services at start-up

    return DemoLoader(Service.customers, demo.is_empty, demo.load)


def _segmentation_loader() -> DemoLoader:
    from services.segmentation import demo

    return DemoLoader(Service.segmentation, demo.is_empty, demo.load)


def _recommendation_loader() -> DemoLoader:
    from services.recommendation import demo

    return DemoLoader(Service.recommendation, demo.is_empty, demo.load)


def _feedback_loader() -> DemoLoader:
    from services.feedback import demo

    return DemoLoader(Service.feedback, demo.is_empty, demo.load)


# Ordered: later loaders may read what earlier ones loaded (segmentation reads customers' export).
LOADER_FACTORIES: list[Callable[[], DemoLoader]] = [
    _customers_loader,
    _segmentation_loader,
    _recommendation_loader,
    _feedback_loader,
]


def demo_files(settings: Settings, *, customers: int, seed: int) -> Path:
    """The folder of generated demo files, generating them first if they are not there yet."""
    from rapport import demo  # imported late: the generator pulls in pandas/pyarrow

    folder = settings.var_dir / "demo" / f"customers{customers}-seed{seed}"
    if not (folder / "manifest.json").exists():
        demo.generate(folder, customers=customers, seed=seed, fmt="csv")
    return folder


def load_demo(settings: Settings, *, customers: int, seed: int, echo: Callable[[str], None]) -> None:
    """Fill every empty service with demo data; services that already hold data are left alone."""
    folder = demo_files(settings, customers=customers, seed=seed)
    echo(f"demo data: {folder}")
    for loader in (factory() for factory in LOADER_FACTORIES):
        with ServiceClient(
            settings.url_for(loader.service),
            token=settings.service_token.get_secret_value(),
            timeout=120.0,
        ) as client:
            if not loader.is_empty(client):
                echo(f"  {loader.service.value}: has data, left as it is")
                continue
            echo(f"  {loader.service.value}: {loader.load(client, folder)}")
