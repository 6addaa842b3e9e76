"""A real browser (Debian's chromium, driven by Playwright) on the live API: the docs render
their operations with no network beyond the API, and the dashboard shows a finished study to
a key holder (Basic auth, as a person logs in)."""

import re
from pathlib import Path

import pytest

from service.core.security import Scope
from tests.utils.keys import make_key
from tests.utils.live import copy_sqlite, live_api

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 60_000
OPERATIONS = [
    "/v1/health",
    "/v1/jobs",
    "/v1/jobs/{job_id}",
    "/v1/jobs/{job_id}/trials",
    "/v1/jobs/{job_id}/front",
    "/v1/jobs/{job_id}/candidates/{number}/bundle",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with playwright.sync_playwright() as driver:
        # --no-sandbox: Chromium refuses to run as root with its sandbox (CI runs as root).
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def api(finished_job, tmp_path):
    """The API with the dashboard over a copy of the finished job's database; a read key."""
    url = copy_sqlite(finished_job.settings.database_url, tmp_path)
    key = make_key(url, Scope.READ)
    with live_api(url, tmp_path) as base:
        yield base, key


def _offline_page(context, base: str):
    """A page that may load only from the API: any other request fails the test."""
    elsewhere: list[str] = []

    def only_the_api(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page = context.new_page()
    page.route("**/*", only_the_api)
    return page, elsewhere


def test_docs_list_the_operations_offline(browser, api, tmp_path):
    base, _key = api
    context = browser.new_context()
    page, elsewhere = _offline_page(context, base)
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock", timeout=TIMEOUT_MS)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    shown = {p.replace("\u200b", "").strip() for p in paths}
    assert set(OPERATIONS) <= shown, shown
    assert page.locator(
        ".opblock-summary-path", has_text="/v1/jobs/{job_id}/front"
    ).first.is_visible()
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=True)

    page.goto(f"{base}/redoc")
    # ReDoc's main panel: one heading per operation.
    page.locator("h2", has_text="List Jobs").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator("h2", has_text="Submit Job").first.is_visible()
    page.screenshot(path=str(tmp_path / "redoc.png"))
    assert elsewhere == []
    context.close()


def test_dashboard_shows_the_finished_study_to_a_key_holder(browser, api, tmp_path):
    base, key = api
    anonymous = browser.new_context()  # a page would show the browser's login prompt
    assert anonymous.request.get(f"{base}/dashboard").status == 401
    anonymous.close()

    context = browser.new_context(http_credentials={"username": "me", "password": key})
    page, elsewhere = _offline_page(context, base)
    page.goto(f"{base}/dashboard")
    study = page.get_by_text(re.compile(r"^\d+\. finished$")).first  # the study list
    study.wait_for(timeout=TIMEOUT_MS)
    study.click()
    page.wait_for_url("**/dashboard/studies/*", timeout=TIMEOUT_MS)
    page.get_by_text(re.compile(r"^finished \(id=\d+\)$")).first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Best Trials", exact=True).first.wait_for(timeout=TIMEOUT_MS)
    # The front of the finished job, as optuna-dashboard lists it: trials with their values.
    page.get_by_text(re.compile(r"^Objective Values = \[")).first.wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert elsewhere == []
    context.close()
