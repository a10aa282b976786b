"""`kfp-mlops ui`: the pages over real local runs and a real registry, over HTTP and in headless Chromium."""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kfp_mlops.pipelines.ui.server import sanitize_html, serve
from tests.pipelines.ui_fixtures import make_runs_and_registry

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def browser_site(tmp_path_factory):
    """A run browser on a free loopback port over two runs and two model versions."""
    home = tmp_path_factory.mktemp("ui-home")
    runs, versions = make_runs_and_registry(home / "pipeline_root", home / "registry")
    server = serve(home / "pipeline_root", home / "registry", "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", runs, versions, home
    server.shutdown()
    server.server_close()


def get(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def test_pages_answer_read_only_with_no_script_allowed(browser_site):
    url, runs, _, _ = browser_site
    for path in ("/", f"/run/{runs[0].run_name}", "/registry", "/compare", "/compare-models?name=pets&a=v1&b=v2",
                 f"/run/{runs[0].run_name}/log?task=fake-evaluate"):
        status, body, headers = get(url + path)
        assert status == 200, (path, body[:300])
        assert "script-src" not in headers["Content-Security-Policy"]
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "<script" not in body
    status, body, _ = get(f"{url}/run/{runs[0].run_name}/log?task=fake-evaluate")
    body = html.unescape(body)
    assert "Executing task 'fake-evaluate'" in body and "finished with status" in body
    assert get(url + "/run/nope")[0] == 404
    request = urllib.request.Request(url + "/", method="POST", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 501


def test_reports_render_sanitized_and_files_stay_inside_the_home(browser_site):
    url, runs, _, _ = browser_site
    report = runs[0].tasks["fake-evaluate"]["report"].path
    assert report.endswith(".md")
    status, body, _ = get(f"{url}/report?path={report}")
    assert status == 200 and "<h1>Evaluation</h1>" in body and "<td>0.95</td>" in body
    assert "<script>" not in body and "&lt;script&gt;" in body  # raw HTML in Markdown shows as text
    assert get(f"{url}/file?path=/etc/passwd")[0] == 403
    assert get(f"{url}/file?path={report}/../../../../../../etc/passwd")[0] in (403, 404)


def test_sanitizer_keeps_tables_styles_and_svg_and_drops_code():
    dirty = ("<style>td{color:red}</style><table><tr><td style='color:blue'>1</td></tr></table>"
             "<svg viewBox='0 0 10 10'><rect x='1' y='1' width='2' height='3' fill='#888'/></svg>"
             "<script>alert(1)</script><img src=x onerror=alert(1)><a href='javascript:alert(1)'>x</a>")
    clean = sanitize_html(dirty)
    assert "<table>" in clean.replace("<tbody>", "") and "style=\"color:blue\"" in clean and "<rect" in clean
    assert "alert" not in clean and "onerror" not in clean and "javascript:" not in clean


def _chromium(url: str, out: Path, *, screenshot: bool) -> str:
    profile = out.parent / f"profile-{out.stem}"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--window-size=1280,2000"]
    command += [f"--screenshot={out}", url] if screenshot else ["--dump-dom", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")
def test_run_page_in_a_real_browser_shows_metrics_and_the_confusion_matrix(browser_site, tmp_path):
    url, runs, _, _ = browser_site
    page = f"{url}/run/{runs[0].run_name}"
    dom = _chromium(page, tmp_path / "run.png", screenshot=False)
    assert "Run ui-probe-" in dom and "Evaluate model" in dom
    assert re.search(r"data-metric=\"accuracy\">0\.9500<", dom)
    matrix = dom.split('class="confusion-matrix"')[1].split("</svg>")[0]
    assert [int(v) for v in re.findall(r'class="cm-cell">(\d+)<', matrix)] == [41, 3, 2, 54]
    assert ">cat<" in matrix and ">dog<" in matrix and ">predicted<" in matrix
    assert 'class="roc"' in dom and "false positive rate" in dom
    _chromium(page, tmp_path / "run.png", screenshot=True)
    assert (tmp_path / "run.png").stat().st_size > 10_000
    print(f"screenshot: {tmp_path / 'run.png'}")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")
def test_comparison_of_two_model_versions_in_a_real_browser(browser_site, tmp_path):
    url, runs, versions, _ = browser_site
    page = f"{url}/compare-models?name=pets&a={versions[0].version}&b={versions[1].version}"
    dom = _chromium(page, tmp_path / "compare.png", screenshot=False)
    assert re.search(r'data-side="a" data-metric="accuracy">0\.9500<', dom)
    assert re.search(r'data-side="b" data-metric="accuracy">0\.9100<', dom)
    assert re.search(r'class="worse">-0\.0400<', dom)  # accuracy fell
    assert re.search(r'class="better">-0\.0400<', dom) is None
    assert re.search(r'class="worse">\+0\.0400<', dom)  # log_loss rose: worse too
    assert runs[0].run_name in dom and runs[1].run_name in dom  # lineage links to both runs
    assert "deployed locally" in dom
    _chromium(page, tmp_path / "compare.png", screenshot=True)
    assert (tmp_path / "compare.png").stat().st_size > 10_000
    runs_dom = _chromium(f"{url}/compare?a={runs[0].run_name}&b={runs[1].run_name}", tmp_path / "runs.png",
                         screenshot=False)
    assert re.search(r'data-side="a" data-metric="accuracy">0\.9500<', runs_dom)
    assert runs_dom.count('class="confusion-matrix"') == 2
    print(f"screenshot: {tmp_path / 'compare.png'}")
