"""The rendered book, as a reader sees it: built at the `ci` profile and opened in headless Chromium.

Run with `make test-browser` (CI does, after installing Debian's `chromium`). Screenshots of every page are
kept in _build/browser-test/ as test artefacts.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "_build" / "browser-test"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
pytestmark = pytest.mark.browser


def toc_pages() -> list[str]:
    """Every page of the table of contents, as page stems."""
    toc = (ROOT / "_toc.yml").read_text()
    return [line.split("file:")[1].strip().split("/")[-1] for line in toc.splitlines() if "file:" in line]


def chapter_pages() -> list[str]:
    """The numbered chapters (notebooks named NN_*) listed in the table of contents."""
    return [stem for stem in toc_pages() if stem[:2].isdigit() and (ROOT / "book" / f"{stem}.ipynb").exists()]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the whole book at the ci profile the way `make book` does; fails if any cell fails."""
    out = tmp_path_factory.mktemp("book")
    env = {**os.environ, "DCGAN_PROFILE": "ci", "DCGAN_PROGRESS": "0"}
    build = subprocess.run([sys.executable, "-m", "dcgan_lib.tooling.book_build", "--profile", "ci",
                            "--path-output", str(out)],
                           env=env, capture_output=True, text=True, cwd=ROOT)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: `apt-get install chromium` (Debian) to run the browser test.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, site: Path, stem: str):
    """Load a page; return it with the console errors and uncaught exceptions it produced."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})  # a laptop: code boxes show 88 columns
    problems = []

    def on_console(message):
        url = message.location.get("url", "")
        # Offline, the widgets' JavaScript cannot come from its CDN (the pages show static figures instead);
        # MathJax must not need the network at all: it is served from the build.
        external = url.startswith("http") and "mathjax" not in url.lower()
        if message.type == "error" and not (external and "Failed to load resource" in message.text):
            problems.append(f"console error: {message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    page.goto((site / "book" / f"{stem}.html").as_uri(), wait_until="load")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{stem}.png"), full_page=True)
    return page, problems


def test_the_book_has_chapters():
    assert len(chapter_pages()) >= 2


@pytest.mark.parametrize("stem", chapter_pages())
def test_chapter_page_renders_cleanly(browser, site, stem):
    page, problems = open_page(browser, site, stem)
    assert not problems, problems
    assert page.locator(".cell_output img").count() >= 1, "no rendered figure on the page"
    errors = page.locator(".cell_output .traceback, .cell_output .output.error, .cell_output .stderr")
    assert errors.count() == 0, errors.first.inner_text()
    assert "Traceback (most recent call last)" not in page.inner_text("main")
    assert_markdown_tables_rendered(page)
    assert_math_rendered(page)
    assert_code_fits(page)
    widgets_only = page.locator(".cell_output:has-text('Loading widget')")
    for i in range(widgets_only.count()):
        assert widgets_only.nth(i).locator("img").count() > 0 or widgets_only.nth(i).inner_text().strip() != \
            "Loading widget...", "a widget output with no static figure"
    colab = [a.get_attribute("href") for a in page.locator("a[href*='colab.research.google.com']").all()]
    assert colab and all(href.endswith(f"book/{stem}.ipynb") for href in colab), colab
    page.close()


def assert_markdown_tables_rendered(page) -> None:
    """Markdown printed by a cell (e.g. the results page's tables) shows as tables, not as rows of pipes."""
    outputs = page.locator(".cell_output")
    for i in range(outputs.count()):
        text = outputs.nth(i).inner_text()
        assert "|---|" not in text and "| --- |" not in text, f"a Markdown table shown as text: {text[:200]}"


def assert_math_rendered(page) -> None:
    """Every formula is typeset by MathJax (served from the build, so also offline): no raw LaTeX in the prose."""
    has_math = page.locator(".math").count() > 0
    if has_math:
        sources = [s.get_attribute("src") for s in page.locator("script[src*='mathjax']").all()]
        assert sources and not any(s.startswith("http") for s in sources), f"MathJax not served locally: {sources}"
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=10000)
        page.evaluate("() => MathJax.startup.promise")
        assert page.locator("mjx-container").count() >= page.locator(".math").count(), "formulas not typeset"
    prose = page.evaluate("""() => { const main = document.querySelector('main').cloneNode(true);
        main.querySelectorAll('pre, code, .cell_input, script').forEach(e => e.remove());
        return main.innerText; }""")
    for raw in ("\\(", "\\)", "$$", "\\["):
        assert raw not in prose, f"raw LaTeX {raw!r} shown as text: ...{prose[max(0, prose.find(raw) - 80):][:200]}"


def assert_code_fits(page) -> None:
    """No code cell is wider than its box, collapsed solutions included: readers never scroll sideways."""
    wide = page.evaluate("""() => [...document.querySelectorAll('.cell_input pre')]
        .filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => e.textContent.split('\\n').reduce((a, b) => a.length >= b.length ? a : b))""")
    assert not wide, f"{len(wide)} code cell(s) overflow their box, e.g. the line {wide[0]!r}"


@pytest.mark.parametrize("stem", ["intro"] + [s for s in toc_pages() if not s[:2].isdigit()])
def test_other_pages_load_without_errors(browser, site, stem):
    page, problems = open_page(browser, site, stem)
    assert not problems, problems
    assert_markdown_tables_rendered(page)
    assert_math_rendered(page)
    assert_code_fits(page)
    if stem == "results":
        assert page.locator("main table").count() >= 5, "the paper's three tables, the claims, the chapters' figures"
    if stem == "robustness":
        assert page.locator("main table").count() >= 1, "the table of every claim per seed"
    page.close()


def test_screenshots_are_kept():
    shots = sorted(p.name for p in ARTEFACTS.glob("*.png"))
    (ARTEFACTS / "index.json").write_text(json.dumps(shots))
    assert {f"{stem}.png" for stem in chapter_pages()} <= set(shots)
