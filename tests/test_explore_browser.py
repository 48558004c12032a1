"""`vmlab explore` in a real browser: Debian's chromium, headless, driven by
selenium through Debian's chromedriver (nothing is downloaded). Skipped,
saying why, where they are missing; .ci/run installs them. Screenshots go
to $VMLAB_SCREENSHOTS if set (else the test's temporary directory)."""

import os
import shutil
import threading
from pathlib import Path

import pytest

from conftest import ROOT
from vmlab import explore

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install '.[test]')")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="no chromium and chromedriver (Debian: apt-get install "
                                      "chromium chromium-driver; .ci/run does)")

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ERROR_PROGRAM = "fn f(a) { return a[3]; }\nprint(\"before\");\nprint(f([1, 2]));\n"


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--window-size=1600,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("VMLAB_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def serve(source: str, name: str):
    server = explore.Server(source, name)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def loaded(driver) -> None:
    """Wait for the page's compile and run."""
    WebDriverWait(driver, 120).until(
        lambda d: "exit status" in d.find_element(By.ID, "status").text)


def texts(driver, selector: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def test_collatz_panels_and_links(browser, shots):
    server = serve((ROOT / "examples" / "collatz.toy").read_text(), "collatz.toy")
    try:
        browser.get(server.url)
        loaded(browser)
        assert "CALL 0 steps" in " ".join(" ".join(texts(browser, "#bytecode .row")).split())
        assert "longest chain below 10000" in browser.find_element(By.ID, "output").text
        output = browser.find_element(By.ID, "output").text
        assert "steps(int)" in output and "jit: OSR    <main> at offset 7" in output
        assert "per function" in output and "native entries" in output
        assert any("# line" in t for t in texts(browser, "#asm .row"))
        # Line 6 of the source (`while n != 1 {`): its bytecode and machine code light up.
        line = browser.find_element(By.CSS_SELECTOR, '#source-view .row[data-line="6"]')
        line.click()
        lit = texts(browser, "#bytecode .hl")
        assert lit and all(" 6  " in t for t in lit)
        assert texts(browser, "#asm .hl") and texts(browser, "#ir .hl")
        assert all(t.startswith("\t# line 6,") or not t.startswith("\t#")
                   for t in texts(browser, "#asm .hl"))
        WebDriverWait(browser, 60).until(lambda d: texts(d, "#target-asm .row"))
        browser.save_screenshot(str(shots / "explore-collatz.png"))
    finally:
        server.shutdown()


def test_a_runtime_error_and_a_syntax_error(browser, shots):
    server = serve(ERROR_PROGRAM, "oops.toy")
    try:
        browser.get(server.url)
        loaded(browser)
        output = browser.find_element(By.ID, "output").text
        assert "before" in output and "index 3 out of bounds for length 2" in output
        assert "exit status 1" in browser.find_element(By.ID, "status").text
        browser.find_element(By.ID, "edit").click()
        editor = browser.find_element(By.ID, "editor")
        editor.send_keys("\nlet x = ;\n")
        WebDriverWait(browser, 30).until(
            lambda d: "error at line" in d.find_element(By.ID, "status").text)
        assert browser.find_element(By.ID, "status").text == "error at line 5, column 9"
        assert "oops.toy:5:9: error:" in browser.find_element(By.ID, "bytecode").text
        browser.save_screenshot(str(shots / "explore-syntax-error.png"))
    finally:
        server.shutdown()


def test_the_exported_page_from_disk(browser, shots, tmp_path):
    page = tmp_path / "collatz.html"
    page.write_text(explore.export((ROOT / "examples" / "collatz.toy").read_text(),
                                   "collatz.toy"))
    browser.get(page.as_uri())
    loaded(browser)
    assert "longest chain below 10000" in browser.find_element(By.ID, "output").text
    browser.find_element(By.CSS_SELECTOR, '#source-view .row[data-line="12"]').click()
    assert texts(browser, "#bytecode .hl") and texts(browser, "#asm .hl")
    WebDriverWait(browser, 30).until(lambda d: any("# line" in t for t in texts(d, "#target-asm .row")))
    stepper(browser)
    browser.find_element(By.ID, "forward").click()
    browser.find_element(By.ID, "forward").click()
    browser.find_element(By.ID, "back").click()
    now = browser.find_element(By.ID, "step-now").text
    assert now.startswith("next: <main>, offset 1, line 17") and "operand stack: [1]" in now
    assert browser.find_element(By.ID, "edit").get_attribute("disabled")  # (nothing to run)
    browser.save_screenshot(str(shots / "explore-exported.png"))


def stepper(driver) -> None:
    WebDriverWait(driver, 120).until(
        lambda d: "instruction 1 of" in d.find_element(By.ID, "step-pos").text)


def test_the_stepper_forward_back_and_to_a_line(browser, shots):
    server = serve((ROOT / "examples" / "collatz.toy").read_text(), "collatz.toy")
    try:
        browser.get(server.url)
        loaded(browser)
        stepper(browser)
        now = lambda: browser.find_element(By.ID, "step-now").text  # noqa: E731
        frames = lambda: browser.find_element(By.ID, "step-frames").text  # noqa: E731
        assert now().startswith("next: <main>, offset 0, line 17")
        for _ in range(3):
            browser.find_element(By.ID, "forward").click()
        assert "offset 3, line 18" in now() and "best = 1" in frames()
        browser.find_element(By.ID, "back").click()
        assert "offset 2, line 18" in now() and "operand stack: []" in now()
        # Run to line 5 (`let count = 0;` in steps): inside the first call.
        browser.find_element(By.CSS_SELECTOR, '#source-view .row[data-line="5"]').click()
        browser.find_element(By.ID, "to-line").click()
        assert now().startswith("next: steps, offset 0, line 5")
        assert frames().splitlines()[-2:] == ["steps (line 5)", "    n = 1"]
        assert "<main> (line 20)" in frames()
        current = browser.find_elements(By.CSS_SELECTOR, "#bytecode .current")
        assert [c.text.split()[:2] for c in current] == [["0", "5"]]
        browser.save_screenshot(str(shots / "explore-stepper.png"))
    finally:
        server.shutdown()


def test_the_stepper_ends_with_the_error(browser):
    server = serve(ERROR_PROGRAM, "oops.toy")
    try:
        browser.get(server.url)
        loaded(browser)
        stepper(browser)
        browser.find_element(By.ID, "last").click()
        text = browser.find_element(By.ID, "step-now").text
        assert "then: error: index 3 out of bounds for length 2" in text
        assert "printed so far:\nbefore" in browser.find_element(By.ID, "step-output").text
    finally:
        server.shutdown()
