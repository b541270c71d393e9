"""Regenerate the README's screenshots of the Dagster UI from a fresh run on the bundled samples.

Run from the repository root (needs the dev extra and Debian's ``chromium``)::

    python -m docs.screenshots

It materialises the sample sources into a temporary root, starts ``dagster-webserver`` on 127.0.0.1, and
saves each view with the same helpers ``tests/pipelines/test_browser.py`` checks them with (in
``tests/ui.py``), so a screenshot shows what the test asserts. The browser reaches 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests import ui as views

DOCS = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Save asset-graph.png, asset-page.png and data-docs.png (the Data Docs page a check links)."""
    parser = argparse.ArgumentParser(prog="python -m docs.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder to write the PNGs to (default: docs/)")
    args = parser.parse_args(argv)
    executable = views.chromium_executable()
    if executable is None:
        print("error: no Chromium executable (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="corpusfabriek-screenshots-") as temporary:
        folder = Path(temporary)
        print("materialising the bundled samples ...", file=sys.stderr)
        env = views.materialise_samples(folder)
        with (
            views.dagster_webserver(env, folder / "webserver.log") as base_url,
            views.local_only_browser(executable) as browser,
        ):
            saved = []
            for name, show in (("asset-graph.png", views.show_asset_graph), ("asset-page.png", views.show_asset_page)):
                show(browser.page, base_url)
                saved.append(views.save_screenshot(browser.page, args.out / name))
            # the page the anonymised zone's expectations check links, as the UI shows it
            check = views.latest_check(base_url, "anonymised_documents", "anonymised_zone_expectations")
            with views.data_docs_server(env, folder / "data-docs.log"):
                views.show_data_docs(browser.page, check["metadata"]["data_docs_page"])
                saved.append(views.save_screenshot(browser.page, args.out / "data-docs.png"))
        for path in saved:
            print(f"{path} ({path.stat().st_size // 1024} KB)")
        for url in browser.blocked:
            print(f"note: blocked a request to another host: {url}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
