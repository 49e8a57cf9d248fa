"""Build the README's report screenshot: ``examples/posts.jsonl`` scored by the default model with reasons,
``negmon report`` on it, and the page photographed in headless Chromium at a laptop's 1440 x 900 viewport.

    python docs/screenshot.py            # writes docs/report.png (needs the [report] extra, playwright, chromium)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from playwright.sync_api import sync_playwright

    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if chromium is None:
        sys.exit("no Chromium found: apt-get install chromium")
    work = Path(tempfile.mkdtemp(prefix="negmon-shot-"))
    scored, page = work / "scored.jsonl", work / "report.html"
    cli = [sys.executable, "-m", "negmon.cli"]
    subprocess.run([*cli, "score", str(ROOT / "examples" / "posts.jsonl"), "-o", str(scored), "--reasons",
                    "--no-progress"], check=True)
    subprocess.run([*cli, "report", str(scored), "-o", str(page), "--title",
                    "Настроения жителей: примеры negmon"], check=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        tab = browser.new_context(viewport={"width": 1440, "height": 900}, offline=True).new_page()
        tab.goto(page.resolve().as_uri())
        tab.wait_for_function("document.body.dataset.ready >= 1", timeout=30_000)
        tab.locator("#c-heat svg g.mark-rect path").first.click()
        tab.wait_for_function("document.querySelectorAll('#posts-list .post').length > 0")
        tab.evaluate("window.scrollTo(0, 0)")
        tab.wait_for_timeout(300)
        tab.screenshot(path=str(ROOT / "docs" / "report.png"), full_page=True)
        browser.close()
    shutil.rmtree(work)
    print(f"wrote {ROOT / 'docs' / 'report.png'}")


if __name__ == "__main__":
    main()
