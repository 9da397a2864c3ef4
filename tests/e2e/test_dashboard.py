"""The dashboard in a real browser: headless Chromium (Debian's package) driven by Playwright, against
`rapport up` with demo data, as a user would run it.

Every page is visited and each of its charts must have drawn data; a search is run and a customer's 360
opened from it; a segmentation run and a file import show their progress; a service answering 503 leaves its panels
"unavailable" and the rest of the page intact. `RAPPORT_UPDATE_SCREENSHOTS=1` saves each page to
docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import csv
import io
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from rapport.config import Service
from tests.support import free_port

pytestmark = pytest.mark.database_independent

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / "docs" / "screenshots"
DEMO_CUSTOMERS = 600
UP_WITHIN_SECONDS = 420  # migrations, demo load, a segmentation run and a model on a shared 2-core machine
PAGE_WITHIN_MS = 60_000
PAGES = ("overview", "segments", "churn", "recommendations", "feedback", "search", "import")

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)


@dataclass
class Platform:
    url: str
    key: str
    process: subprocess.Popen[bytes]
    screenshots: Path


def _read_until(process: subprocess.Popen[bytes], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"`rapport up` did not print {marker!r} within {timeout}s; it printed:\n{seen}"
        if select.select([process.stdout], [], [], remaining)[0]:
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, f"`rapport up` exited ({process.poll()}) before {marker!r}; it printed:\n{seen}"
            seen += chunk.decode(errors="replace")
    return seen


def _environment(var_dir: Path) -> dict[str, str]:
    env = {**os.environ, "RAPPORT_VAR_DIR": str(var_dir), "RAPPORT_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    # The real data sets and the sentiment models trained on them are shared caches, not per test.
    env.setdefault("RAPPORT_DATA_DIR", str(REPO / "var" / "datasets"))
    env.setdefault("RAPPORT_FEEDBACK_MODEL_DIR", str(REPO / "var" / "models" / "feedback"))
    for service in Service:
        env.pop(f"RAPPORT_{service.value.upper()}_DATABASE_URL", None)
        env.pop(f"RAPPORT_{service.value.upper()}_URL", None)
    return env


def _create_admin_key(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "keys", "create", "--role", "admin", "--name", "e2e"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = re.search(r"rpk_\S+", done.stdout)
    assert found, done.stdout + done.stderr
    return found.group(0)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _raise_an_alert(url: str, key: str) -> None:
    """A detractor from a golden customer, now: the feedback service raises a valued-customer alert."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as client:
        members = client.get("/segments/champions/members", params={"limit": 100}).raise_for_status().json()["items"]
        golden = next(member for member in members if member["tier"] == "A")
        answer = client.post(
            "/feedback",
            json={
                "channel": "survey",
                "customer_id": golden["customer_id"],
                "nps": 0,
                "text": "Terrible service: the delivery was two weeks late and nobody answered my emails.",
            },
        )
        assert answer.status_code in (200, 201), answer.text
        assert client.get("/alerts", params={"status": "open"}).json()["items"], "the feedback raised no alert"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir = tmp_path_factory.mktemp("dashboard") / "var"
    env = _environment(var_dir)
    ports = {service: free_port() for service in Service}
    command = [sys.executable, "-m", "rapport.cli", "up", "--demo-customers", str(DEMO_CUSTOMERS)]
    for service, port in ports.items():
        command += [f"--{service.value}-port", str(port)]
    log_path = var_dir.parent / "up.err"
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=log)
    try:
        try:
            _read_until(process, "Press Ctrl-C to stop.", UP_WITHIN_SECONDS)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- its stderr, last lines:\n{log_path.read_text()[-4000:]}") from None
        url = f"http://127.0.0.1:{ports[Service.gateway]}"
        key = _create_admin_key(env)
        _raise_an_alert(url, key)
        update = os.environ.get("RAPPORT_UPDATE_SCREENSHOTS") == "1"
        screenshots = SCREENSHOTS if update else var_dir.parent / "screenshots"
        screenshots.mkdir(parents=True, exist_ok=True)
        yield Platform(url, key, process, screenshots)
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="module")
def browser(platform: Platform) -> Iterator[playwright_api.Browser]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser: playwright_api.Browser, platform: Platform) -> Iterator[playwright_api.Page]:
    """One signed-in English tab, shared by the tests in order (as one person clicking through)."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, platform)
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def sign_in(page: playwright_api.Page, platform: Platform) -> None:
    page.goto(f"{platform.url}/")
    page.fill("#api-key", platform.key)
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("nav a[data-page=overview]")


def visit(page: playwright_api.Page, name: str) -> None:
    page.evaluate("name => { location.hash = '#/' + name }", name)
    page.wait_for_selector(f".view[data-page={name.split('/')[0]}][data-ready]", timeout=PAGE_WITHIN_MS)


def charts(page: playwright_api.Page) -> dict[str, int]:
    """Each chart on the page and how many values it drew (a Chart.js canvas must hold a live chart)."""
    found: dict[str, int] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.view [data-chart]')].map((el) => {
            if (el.tagName === 'CANVAS') {
                const chart = window.Chart.getChart(el)
                const drawn = chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : -1
                return [el.dataset.chart, drawn]
            }
            return [el.dataset.chart, Number(el.dataset.points)]
        }))"""
    )
    return found


def unavailable(page: playwright_api.Page) -> list[str]:
    return page.eval_on_selector_all(
        ".view .panel.unavailable, .view .kpi.unavailable",
        "els => els.map((el) => (el.dataset.panel || el.dataset.kpi) + ': ' + el.textContent)",
    )


def shoot(page: playwright_api.Page, platform: Platform, name: str) -> None:
    page.screenshot(path=str(platform.screenshots / f"{name}.png"), full_page=True)


def assert_charts(page: playwright_api.Page, expected: set[str]) -> None:
    drawn = charts(page)
    assert expected <= drawn.keys(), f"missing charts {expected - drawn.keys()}; drawn: {drawn}"
    empty = {name: points for name, points in drawn.items() if points <= 0}
    assert not empty, f"charts without data: {empty}"


def test_a_wrong_key_is_refused_and_the_session_is_kept_in_the_tab(
    browser: playwright_api.Browser, platform: Platform
) -> None:
    context = browser.new_context(locale="en-GB")
    tab = context.new_page()
    tab.goto(f"{platform.url}/")
    tab.fill("#api-key", "rpk_not-a-key")
    tab.click("form.signin button[type=submit]")
    tab.wait_for_selector("form.signin .error:has-text('not accepted')")
    sign_in(tab, platform)
    tab.reload()
    tab.wait_for_selector("nav a[data-page=overview]")  # sessionStorage survives a reload of the tab
    tab.click("#sign-out")
    tab.wait_for_selector("form.signin")
    assert tab.evaluate("sessionStorage.length") == 0
    context.close()


def test_overview_shows_the_headline_numbers_and_the_orders_trend(
    page: playwright_api.Page, platform: Platform
) -> None:
    visit(page, "overview")
    assert unavailable(page) == []
    assert_charts(page, {"orders-trend", "segment-mix"})
    for kpi in ("customers", "active", "revenue", "nps", "alerts"):
        value = page.text_content(f".kpi[data-kpi={kpi}] .kpi-value")
        assert value not in (None, "", "…", "—"), f"{kpi}: {value!r}"
    assert page.text_content(".kpi[data-kpi=customers] .kpi-value") == f"{DEMO_CUSTOMERS:,}"
    assert int((page.text_content(".kpi[data-kpi=alerts] .kpi-value") or "0").rstrip("+")) >= 1
    # The trend's orders are counted by the customers service (GET /api/v1/orders:stats), not in the page.
    trend_note = page.text_content("[data-panel=orders-trend] .note") or ""
    assert int("".join(ch for ch in trend_note.split(" orders")[0] if ch.isdigit()) or "0") > 0, trend_note
    assert page.locator(".health li.ok").count() == 4
    shoot(page, platform, "overview")


def test_segments_page_draws_segments_heatmap_pareto_and_clusters(
    page: playwright_api.Page, platform: Platform
) -> None:
    visit(page, "segments")
    assert unavailable(page) == []
    assert_charts(page, {"segment-sizes", "rf-heatmap", "pareto", "clusters"})
    assert page.locator(".heat-cell").count() == 25
    assert page.locator(".card[data-cluster] ul.rules li").count() >= page.locator(".card[data-cluster]").count() >= 2
    shoot(page, platform, "segments")


def test_churn_page_lists_valuable_customers_at_risk_and_opens_their_360(
    page: playwright_api.Page, platform: Platform
) -> None:
    visit(page, "churn")
    assert unavailable(page) == []
    assert_charts(page, {"churn-distribution", "value-risk"})
    rows = page.locator("[data-panel=at-risk] tbody tr")
    assert rows.count() > 0
    shoot(page, platform, "churn")
    rows.first.click()
    page.wait_for_selector(".view[data-page=customer][data-ready]", timeout=PAGE_WITHIN_MS)
    assert page.text_content("[data-kpi=churn] .kpi-value") not in (None, "", "—")


def test_recommendations_page_shows_rules_by_lift_and_metrics_against_the_baseline(
    page: playwright_api.Page, platform: Platform
) -> None:
    visit(page, "recommendations")
    assert unavailable(page) == []
    assert_charts(page, {"rules", "metrics-all", "metrics-new"})
    lifts = [float(cell) for cell in page.locator("[data-panel=rules] tbody tr td:last-child").all_text_contents()]
    assert lifts
    assert lifts == sorted(lifts, reverse=True)
    shoot(page, platform, "recommendations")
    page.click("[data-panel=rules] button[data-level=category]")
    page.wait_for_selector("[data-panel=rules] button[data-level=category].active")
    assert charts(page)["rules"] > 0


def test_feedback_page_charts_keywords_and_acknowledging_an_alert(
    page: playwright_api.Page, platform: Platform
) -> None:
    visit(page, "feedback")
    assert unavailable(page) == []
    assert_charts(page, {"scores", "sentiment", "complaints", "keywords"})
    shoot(page, platform, "feedback")
    row = page.locator("[data-panel=alerts] tbody tr[data-status=open]").first
    alert_id = row.locator("button[data-alert]").get_attribute("data-alert")
    row.locator("button[data-alert]").click()
    page.wait_for_selector("[data-panel=alerts] tr[data-status=acknowledged]:has(.badge.ok)")
    answer = httpx.get(
        f"{platform.url}/api/v1/alerts/{alert_id}", headers={"Authorization": f"Bearer {platform.key}"}, timeout=10
    )
    assert answer.json()["status"] == "acknowledged"


def test_search_counts_live_lists_customers_and_opens_a_360(page: playwright_api.Page, platform: Platform) -> None:
    visit(page, "search")
    page.click("#reset-search")
    page.wait_for_selector("#live-count[data-count]")
    both = int(page.get_attribute("#live-count", "data-count") or -1)
    # Loosen the second condition: the live count follows without pressing anything.
    page.locator(".condition[data-index='1'] input.value").fill("0")
    page.wait_for_function(f"() => Number(document.querySelector('#live-count').dataset.count) > {both}")
    page.click("#add-condition")
    condition = page.locator(".condition[data-index='2']")
    condition.locator("select.field").select_option("city")
    condition.locator("select.op").select_option("exists")
    page.wait_for_function("() => document.querySelector('#live-count').dataset.count !== undefined")
    expected = int(page.get_attribute("#live-count", "data-count") or -1)
    assert expected > 0
    page.click("#run-search")
    page.wait_for_selector("#result-total")
    assert page.text_content("#result-total") == f"{expected:,} customers match"
    assert page.locator("#results tbody tr").count() == min(expected, 50)
    shoot(page, platform, "search")
    name = page.text_content("#results tbody tr:first-child td:first-child")
    page.click("#results tbody tr:first-child")
    page.wait_for_selector(".view[data-page=customer][data-ready]", timeout=PAGE_WITHIN_MS)
    assert page.text_content("#customer-name") == name
    assert unavailable(page) == []
    assert_charts(page, {"rfm", "c360-orders"})
    shoot(page, platform, "customer-360")


IMPORT_SOURCE = "e2e-import"
IMPORT_VALID = [(f"imp-{n}", f"Imported{n}", f"imported{n}@example.com") for n in range(1, 6)]
IMPORT_BAD = {3: ("imp-bad-email", "BadEmail", "not-an-email"), 6: ("imp-bad-income", "BadIncome", "bad@example.com")}


def _import_file() -> tuple[bytes, dict[int, str]]:
    """Customers with two bad lines (an email that is not one, a negative income), and those lines by number."""
    lines, bad = ["source,external_id,given_name,email,income"], {}
    valid = iter(IMPORT_VALID)
    for number in range(2, 2 + len(IMPORT_VALID) + len(IMPORT_BAD)):
        if number in IMPORT_BAD:
            external_id, name, email = IMPORT_BAD[number]
            lines.append(f"{IMPORT_SOURCE},{external_id},{name},{email},{-5 if 'income' in external_id else ''}")
            bad[number] = lines[-1]
        else:
            external_id, name, email = next(valid)
            lines.append(f"{IMPORT_SOURCE},{external_id},{name},{email},52000")
    return ("\n".join(lines) + "\n").encode(), bad


def test_importing_a_file_shows_its_progress_counts_and_error_report(
    page: playwright_api.Page, platform: Platform
) -> None:
    visit(page, "import")
    assert unavailable(page) == []
    content, bad = _import_file()
    page.set_input_files("#import-file", files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": content}])
    page.select_option("#import-kind", "customers")
    page.click("#start-import")
    page.wait_for_selector("#import-progress:not([hidden])")
    page.wait_for_function(
        "() => ['succeeded', 'failed', 'error'].includes(document.querySelector('#import-status').dataset.status)",
        timeout=PAGE_WITHIN_MS,
    )
    assert page.get_attribute("#import-status", "data-status") == "succeeded", page.text_content("#import-status")
    assert page.eval_on_selector("#import-progress", "el => el.value") == 100
    assert "Done · 100%" in (page.text_content("#import-status") or "")
    assert page.text_content("[data-kpi=processed] .kpi-value") == str(len(IMPORT_VALID))
    assert page.text_content("[data-kpi=failed] .kpi-value") == str(len(bad))
    job_id = page.get_attribute("#import-status", "data-job")
    page.wait_for_selector(f"[data-panel=imports] a.download[data-job='{job_id}']")  # the recent list has it
    shoot(page, platform, "import")

    with page.expect_download() as download:
        page.click("#import-errors")
    assert download.value.suggested_filename == f"import-{job_id}-errors.csv"
    report = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {int(row["line"]): row["record"] for row in report} == bad
    assert all(row["reasons"] for row in report)

    headers = {"Authorization": f"Bearer {platform.key}"}
    with httpx.Client(base_url=f"{platform.url}/api/v1", headers=headers, timeout=30) as client:
        asked = [{"source": IMPORT_SOURCE, "external_id": external_id} for external_id, _, _ in IMPORT_VALID]
        asked += [{"source": IMPORT_SOURCE, "external_id": external_id} for external_id, _, _ in IMPORT_BAD.values()]
        found = client.post("/identities:resolve", json={"identities": asked}).raise_for_status().json()["identities"]
        owners = {item["external_id"]: item["customer_id"] for item in found}
        for external_id, name, email in IMPORT_VALID:
            customer = client.get(f"/customers/{owners[external_id]}").raise_for_status().json()
            assert (customer["given_name"], customer["email"]) == (name, email)
        assert [owners[external_id] for external_id, _, _ in IMPORT_BAD.values()] == [None, None]


def test_a_service_that_answers_503_leaves_its_panels_unavailable_not_the_page_blank(
    page: playwright_api.Page,
) -> None:
    problem = (
        '{"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "recommendation is down"}'
    )
    page.route(
        re.compile(r".*/api/v1/(rules|models|products/).*"),
        lambda route: route.fulfill(status=503, content_type="application/problem+json", body=problem),
    )
    try:
        visit(page, "recommendations")
        down = unavailable(page)
        assert len(down) == 4, down
        assert all("recommendation is down" in text for text in down), down
        assert page.locator("nav a").count() == len(PAGES)
        visit(page, "segments")  # the other pages are untouched
        assert unavailable(page) == []
    finally:
        page.unroute(re.compile(r".*/api/v1/(rules|models|products/).*"))


def test_pages_follow_a_chinese_browser(browser: playwright_api.Browser, platform: Platform) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    sign_in(tab, platform)
    assert tab.text_content("nav a[data-page=overview]") == "总览"
    visit(tab, "segments")
    assert tab.text_content("[data-panel=pareto] h2") == "价值分层：帕累托曲线"
    assert_charts(tab, {"segment-sizes", "rf-heatmap", "pareto", "clusters"})
    shoot(tab, platform, "segments-zh")
    context.close()


def test_starting_a_segmentation_run_shows_its_progress(page: playwright_api.Page, platform: Platform) -> None:
    visit(page, "segments")
    page.click("#start-run")
    page.wait_for_selector("#run-progress:not([hidden])")
    page.wait_for_function(
        "() => ['running', 'succeeded'].includes(document.querySelector('#run-status').dataset.status)",
        timeout=PAGE_WITHIN_MS,
    )
    assert re.search(r"\d+%", page.text_content("#run-status") or "") or "Succeeded" in (
        page.text_content("#run-status") or ""
    )
    shoot(page, platform, "segmentation-run")
