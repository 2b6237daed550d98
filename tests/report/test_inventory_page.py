"""The inventory page in a real headless Chromium (Debian's chromium + chromium-driver, installed
by .ci/run): it loads offline, shows every deployment, and its filter, selects and sorting work.
A screenshot is kept in artifacts/inventory.png."""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).parents[2] / "artifacts"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must install Debian's chromium and chromium-driver (see .ci/run)")
    pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402  (after the skip above)
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1400,800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=DRIVER)
    )
    yield driver
    driver.quit()


def visible_names(browser):
    return [
        r.find_element(By.TAG_NAME, "strong").text
        for r in browser.find_elements(By.CSS_SELECTOR, "#inventory tbody tr")
        if r.is_displayed()
    ]


def test_inventory_page_renders_and_filters(scripted, cli, browser):
    site = scripted.root / "site"
    assert cli("inventory", "--html", str(site)).exit_code == 0
    page = site / "index.html"
    assert (
        "http://" not in page.read_text() and "https://" not in page.read_text()
    )  # nothing to fetch
    browser.get(page.as_uri())
    assert sorted(visible_names(browser)) == [
        "churn-predictor",
        "credit-limit",
        "eta-model",
        "fraud-scorer",
    ]
    assert browser.find_element(By.ID, "count").text == "4 of 4 deployments"
    badge = browser.find_element(By.CSS_SELECTOR, "tr[data-status='Needs approval'] .badge.needs")
    assert badge.text == "Needs approval"

    box = browser.find_element(By.ID, "q")
    box.send_keys("fraud")
    assert visible_names(browser) == ["fraud-scorer"]
    box.clear()
    box.send_keys(" ")  # clear() does not fire input; an edit does
    box.clear()
    Select(browser.find_element(By.ID, "status")).select_by_visible_text("Needs approval")
    assert visible_names(browser) == ["credit-limit"]
    Select(browser.find_element(By.ID, "status")).select_by_index(0)
    Select(browser.find_element(By.ID, "importance")).select_by_visible_text("low")
    assert visible_names(browser) == ["churn-predictor"]
    Select(browser.find_element(By.ID, "importance")).select_by_index(0)

    browser.find_element(By.XPATH, "//th[text()='importance']").click()
    assert visible_names(browser)[0] == "fraud-scorer"  # critical first
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "inventory.png"))
    assert (ARTIFACTS / "inventory.png").stat().st_size > 10_000
