"""``negmon report``: the page as a person sees it, in headless Chromium with the network off (no console
errors, no request outside the file, every chart drawn, filters change the numbers, a click shows the posts
with their reasons), and the exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("altair")
pytest.importorskip("vl_convert")
pd = pytest.importorskip("pandas")

from moods_fixture import POSTS  # noqa: E402

from negmon.cli import main  # noqa: E402
from negmon.moods import aggregate  # noqa: E402
from negmon.report import build_report  # noqa: E402

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    f = tmp_path_factory.mktemp("scored") / "scored.jsonl"
    f.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in POSTS), "utf-8")
    return f


@pytest.fixture(scope="module")
def incidents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from negmon.incidents import IncidentTracker

    db = tmp_path_factory.mktemp("incidents") / "incidents.db"
    IncidentTracker(db).add([p for p in POSTS if p["created_at"]])
    return db


def test_report_file_and_exports(scored: Path, incidents: Path, tmp_path: Path) -> None:
    s = build_report([scored], tmp_path / "r.html", images=tmp_path / "img", csv=tmp_path / "agg.csv",
                     incidents=incidents)
    assert (s.posts, s.places, s.weeks, s.undated) == (12, 4, 3, 1)  # Кстово, Дзержинск, Братск, no place
    page_data = (tmp_path / "r.html").read_text("utf-8").split('id="negmon-data">')[1].split("</script>")[0]
    listed = json.loads(page_data)["incidents"]
    from negmon.incidents import IncidentTracker

    expected = IncidentTracker(incidents).incidents(status=("open", "answered"))
    assert s.incidents == len(listed) == len(expected) > 0
    assert listed[0]["overdue"] and sum(i["posts"] for i in listed) == sum(i.post_count for i in expected)
    page = (tmp_path / "r.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="ru">' in page
    assert "<script src" not in page and "<link" not in page  # nothing to fetch: everything is inline
    for name in ("map", "heat", "volume", "negative"):
        assert (tmp_path / "img" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (tmp_path / "img" / f"{name}.svg").read_text("utf-8")[:400]
    csv = pd.read_csv(tmp_path / "agg.csv")
    assert len(csv) == len(aggregate(POSTS)) and csv["posts"].sum() == aggregate(POSTS)["posts"].sum()
    assert (tmp_path / "img" / "aggregate.csv").is_file()


def test_report_cli_filters_and_errors(scored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "irk.html"
    assert main(["report", str(scored), "-o", str(out), "--region", "Иркутская обл.", "--from", "2026-03-01"]) == 0
    assert "2 posts, 1 places" in capsys.readouterr().out
    assert main(["report", str(scored), "-o", str(out), "--to", "2026-02-01"]) == 1
    assert "no dated posts to report in the chosen period" in capsys.readouterr().err
    assert main(["report", str(scored), "-o", str(out), "--from", "01.03.2026"]) == 1
    assert "--from must be a date as YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: the README's test command installs it "
                    "(apt-get install chromium)")
def test_the_page_in_a_browser_with_the_network_off(scored: Path, incidents: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    report = tmp_path / "report.html"
    build_report([scored], report, incidents=incidents)
    url = report.resolve().as_uri()
    errors: list[str] = []
    outside: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1440, "height": 900}, offline=True)

        def route(r: object) -> None:
            if r.request.url != url:  # type: ignore[attr-defined]
                outside.append(r.request.url)  # type: ignore[attr-defined]
                r.abort()  # type: ignore[attr-defined]
            else:
                r.continue_()  # type: ignore[attr-defined]

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_function("document.body.dataset.ready >= 1", timeout=20_000)
        marks = {name: page.locator(f"#c-{name} svg g.mark-{kind} path").count()
                 for name, kind in (("map", "symbol"), ("heat", "rect"), ("volume", "line"), ("negative", "line"))}
        assert all(n > 0 for n in marks.values()), marks
        assert page.inner_text("#n-posts") == "12" and page.inner_text("#n-reply") == "9"
        assert page.locator("#incidents tr").count() > 1 and "просрочен" in page.inner_text("#incidents")

        page.select_option("#f-region", "Иркутская область")
        page.wait_for_function("document.body.dataset.ready >= 2")
        assert page.inner_text("#n-posts") == "2" and page.inner_text("#n-neg") == "50%"
        page.select_option("#f-region", "__all__")
        page.select_option("#f-topic", label="ЖКХ")
        page.wait_for_function("document.body.dataset.ready >= 4")
        assert page.inner_text("#n-posts") == "6"  # housing, dated: posts 1, 2, 3, 5, 6 and 9
        page.select_option("#f-topic", "__all__")
        page.wait_for_function("document.body.dataset.ready >= 5")

        page.locator("#c-heat svg g.mark-rect path").first.click()
        page.wait_for_function("document.querySelectorAll('#posts-list .post').length > 0")
        assert page.locator("#posts-list mark").count() > 0  # the reasons are highlighted
        page.locator("#places a.more").first.click()
        assert page.locator("#posts-list .post").count() > 0
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == [] and outside == []
    assert (tmp_path / "report.png").stat().st_size > 20_000
