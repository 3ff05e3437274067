"""The book as a reader sees it: every page of the smoke build opened in headless Chromium.

The pages are served over HTTP from this machine (127.0.0.1), as a reader's browser gets them
from the book's web site; a page that reached any other host would fail the test.

Each page must load without JavaScript errors and without fetching anything from the network,
render its math (MathJax served from the book itself), load every image, keep every figure,
table and formula inside the main text column, show no plumbing (bare Python output, "(s)"
plurals) and give every figure a description and a link to its full size; the search page must
find a word the book uses, quote sentences, not code, and list a term's definition and its
chapters (``book/terms.yml``) first.
A screenshot of every page is saved under ``_build/screenshots/`` for review.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package; skips, saying
which is missing, without them.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "_build" / "screenshots"
WIDTH = 1400

#: Everything that must stay inside the article column (code blocks scroll on their own).
CONTAINED = "img, table, figure, svg, mjx-container[display='true'], .cell_output > div"

_MEASURE = """
const article = document.querySelector('article.bd-article') || document.querySelector('main');
const box = article.getBoundingClientRect();
const wide = [];
for (const el of article.querySelectorAll(arguments[0])) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || el.closest('pre, .highlight')) continue;
  if (r.left < box.left - 1 || r.right > box.right + 1) {
    wide.push(`${el.tagName.toLowerCase()}.${el.className || ''} ${Math.round(r.width)}px`);
  }
}
const images = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
  .map(i => i.getAttribute('src'));
const maths = [...article.querySelectorAll('.math')];
const raw = maths.filter(m => !m.querySelector('mjx-container'))
  .map(m => m.textContent.slice(0, 60));
const remote = performance.getEntriesByType('resource').map(e => e.name)
  .filter(n => new URL(n).host !== location.host && !n.startsWith('data:'));
const plumbing = [...article.querySelectorAll('.output.text_plain, .output.text_html pre')]
  .map(o => 'bare output: ' + o.textContent.trim().slice(0, 60));
const words = article.innerText.match(/\\b\\w+\\(s\\)/g) || [];
plumbing.push(...words.map(w => 'plural: ' + w));
const figures = [...article.querySelectorAll('figure img')].filter(i =>
  !i.alt || /\\.(svg|png|jpe?g)$/i.test(i.alt) || !i.closest('a'))
  .map(i => 'figure without a description or a link: ' + i.getAttribute('src'));
return {width: Math.round(box.width), wide, images, maths: maths.length, raw, remote,
        plumbing, figures, height: document.documentElement.scrollHeight};
"""

# MathJax loads after the page itself and typesets in the background: wait (up to 80 s, on a
# loaded 2-core machine) until every formula of the article holds MathJax's output; a page
# that loads no MathJax fails at once. (Its startup promise is not waited on: it can settle
# either way once the formulas are typeset, which made the check fail on pages that read well.)
_MATHJAX_DONE = """
const done = arguments[arguments.length - 1];
const start = Date.now();
const loads = [...document.scripts].some(s => /mathjax/i.test(s.src || ''));
if (!loads && !window.MathJax) { done(false); return; }
const article = document.querySelector('article.bd-article') || document.querySelector('main')
  || document.body;
let asked = false;
(function wait() {
  const maths = [...article.querySelectorAll('.math')];
  if (maths.every(m => m.querySelector('mjx-container'))) {
    done(true);
  } else if (Date.now() - start > 80000) {
    done(false);
  } else {
    // once MathJax has started, ask it to typeset what it has not (a page whose maths arrived
    // after its first pass), then keep polling
    const mj = window.MathJax;
    if (!asked && mj && mj.startup && mj.startup.promise && mj.typesetPromise) {
      asked = true;
      mj.startup.promise.then(() => mj.typesetPromise()).catch(() => {});
    }
    setTimeout(wait, 200);
  }
})();
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def _served(html: Path) -> Iterator[str]:
    """Serve ``html`` on a free local port for the duration: the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _driver():
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e .[dev])")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("headless Chromium is not installed: apt-get install chromium "
                    "chromium-driver (Debian's packages; .ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", f"--window-size={WIDTH},1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_script_timeout(100)  # MathJax on a loaded 2-core machine can take long
    return driver


def _pages(html: Path) -> list[str]:
    """Every page of the book, as a path relative to ``html`` without ``.html``."""
    return sorted(p.relative_to(html).with_suffix("").as_posix() for p in html.rglob("*.html")
                  if not {"_static", "_sources"} & set(p.relative_to(html).parts)
                  and p.name not in ("search.html", "genindex.html"))


def _errors(driver) -> list[str]:
    """The page's errors in the console (not Chromium's own request for /favicon.ico)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
            and "/favicon.ico " not in e["message"]]


def _read(driver, url: str, shot: Path) -> dict[str, object]:
    """Open ``url``, wait for MathJax, scroll so that every image is requested, save a
    screenshot of the whole page as a reader first sees it to ``shot``, then unfold every
    dropdown and measure the page (:data:`_MEASURE`)."""
    driver.set_window_size(WIDTH, 1000)
    driver.get(url)
    mathjax = driver.execute_async_script(_MATHJAX_DONE)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    for y in range(0, height, 800):
        driver.execute_script(f"window.scrollTo(0, {y})")
    driver.execute_script("window.scrollTo(0, 0)")
    driver.set_window_size(WIDTH, min(int(height) + 100, 30000))
    driver.save_screenshot(str(shot))
    driver.set_window_size(WIDTH, 1000)
    # a reader may open any dropdown (folded tables, hidden code): measure them open
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    found = driver.execute_script(_MEASURE, CONTAINED)
    found["errors"] = _errors(driver)
    if found["maths"] and not mathjax:
        found["raw"] = found["raw"] or ["MathJax did not finish"]
    return found


#: A page with one of every problem the test looks for.
_BAD_PAGE = """<!doctype html><html><head><style>article { width: 600px; }</style></head>
<body><article class="bd-article">
<p>fine <img src="ok.svg" width="100"></p>
<img src="wide.svg" width="900">
<img src="missing.png">
<figure><a href="ok.svg"><img src="ok.svg" alt="A line rising."></a></figure>
<figure><img src="ok.svg" alt="ok.svg"></figure>
<div class="output text_plain"><pre>(3, True, True)</pre></div>
<p>1 example(s) per class</p>
<span class="math">\\(x^2\\)</span>
<script>undefined_function();</script>
</article></body></html>"""
_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


@pytest.mark.timeout(120)
def test_the_checks_find_every_problem_they_look_for(tmp_path: Path) -> None:
    (tmp_path / "bad.html").write_text(_BAD_PAGE, encoding="utf-8")
    (tmp_path / "ok.svg").write_text(_SVG, encoding="utf-8")
    (tmp_path / "wide.svg").write_text(_SVG, encoding="utf-8")
    driver = _driver()
    try:
        with _served(tmp_path) as base:
            found = _read(driver, f"{base}/bad.html", tmp_path / "bad.png")
    finally:
        driver.quit()
    assert [w.split(".")[0] for w in found["wide"]] == ["img"], found["wide"]
    assert found["plumbing"] == ["bare output: (3, True, True)", "plural: example(s)"]
    assert found["figures"] == ["figure without a description or a link: ok.svg"]
    assert found["images"] == ["missing.png"]
    assert found["maths"] == 1 and len(found["raw"]) == 1
    assert any("undefined_function" in e for e in found["errors"]), found["errors"]
    assert (tmp_path / "bad.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_page_reads_in_a_real_browser(smoke_book: Path) -> None:
    driver = _driver()
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, dict[str, object]] = {}
    maths = 0
    try:
        with _served(smoke_book) as base:
            for name in _pages(smoke_book):
                found = _read(driver, f"{base}/{name}.html",
                              SHOTS / f"{name.replace('/', '__')}.png")
                maths += int(found["maths"])
                bad = {k: found[k] for k in ("wide", "images", "raw", "remote", "errors",
                                             "plumbing", "figures") if found[k]}
                if bad:
                    problems[name] = bad
    finally:
        driver.quit()
    assert maths > 0, "no page of the book has math: the math check checked nothing"
    assert not problems, "pages that do not read in a browser:\n" + "\n".join(
        f"{page}: {bad}" for page, bad in problems.items())


def _search(html: Path, query: str, least: int = 1) -> dict[str, list[str]]:
    """Search the book for ``query``; wait for at least ``least`` quoted results and return
    the results' links (``hits``), their quotes and the page's JavaScript errors."""
    return _searches(html, [query], least)[query]


def _searches(html: Path, queries: list[str], least: int = 1) -> dict[str, dict[str, list[str]]]:
    """:func:`_search` for each of ``queries``, in one browser."""
    driver = _driver()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    found = {}
    try:
        with _served(html) as base:
            for query in queries:
                driver.get(f"{base}/search.html?q={query}")
                WebDriverWait(driver, 30).until(
                    lambda d: len(d.find_elements(By.CSS_SELECTOR, "#search-results p.context"))
                    >= least)
                found[query] = {
                    "hits": [e.get_attribute("href") or "" for e in
                             driver.find_elements(By.CSS_SELECTOR, "#search-results li a")],
                    "quotes": [e.text for e in driver.find_elements(
                        By.CSS_SELECTOR, "#search-results p.context")],
                    "errors": _errors(driver)}
    finally:
        driver.quit()
    return found


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_search_page_finds_a_word_of_the_book(smoke_book: Path) -> None:
    found = _search(smoke_book, "yosinski")
    hits, errors = found["hits"], found["errors"]
    assert any("01_layer_transfer" in h for h in hits), f"search for yosinski found {hits}"
    assert not errors, f"JavaScript errors on the search page: {errors}"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_search_results_quote_sentences_not_code_or_tex(smoke_book: Path) -> None:
    quotes = _search(smoke_book, "seeds", least=3)["quotes"]
    plumbing = [q for q in quotes if "\\(" in q or "= None" in q or "import " in q]
    assert not plumbing, plumbing


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_term_finds_where_the_book_defines_and_measures_it_first(smoke_book: Path) -> None:
    # book/terms.yml: searching for a method's name lists the section that defines it and the
    # chapters that measure it before any page that only mentions it
    from tlkit.terms import TERMS_FILE, read_terms

    terms = read_terms(REPO / TERMS_FILE)
    found = _searches(smoke_book, list(terms))
    for term, places in terms.items():
        first = [h.split("/_build/")[-1].split("#")[0] for h in found[term]["hits"][:len(places)]]
        pages = sorted(h.rsplit("/", 1)[-1].removesuffix(".html") for h in first)
        assert pages == sorted(p.rsplit("/", 1)[-1] for p, _ in places), (term, first)
