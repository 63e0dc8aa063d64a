"""Code the next page will need, fetched by the browser while the user reads this one.

Streamlit loads an element's JavaScript the first time a page in the tab draws such an element, and reveals a page's
elements together once all their code is in. The overview and the map page have no table, while every region page
a click on them opens has ``st.dataframe`` (the glide data grid and Arrow: ~1.5 MB of JavaScript). Loading and
compiling it was more than half of such a click's time on the 2-core reference machine (0.4–0.5 s against 0.13–0.3 s
once the module was in the tab; issue 17, ``make bench --only clicks``). So these pages ask the browser to import
that module once they are drawn, Streamlit's run is over, the overview's map panel has started its own load, and the
browser is idle: the click's page then finds it in the tab's module map.

The module's file name is the one of the installed Streamlit's build (hashed), found in its static folder, so it
matches the pinned version; if it is not there (another Streamlit), nothing is prefetched and pages work as before
(tests/test_prefetch.py fails then, to say so). The URL is resolved against Streamlit's own entry script, i.e. the
very URL Streamlit's lazy import asks for, behind any proxy prefix. Nothing leaves the server the page came from.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

from ui.map_panel import LOAD_BUTTON

STATIC = Path(st.__file__).resolve().parent / "static" / "static"
# The element modules region pages need that the overview and map page do not load (their dependencies follow).
MODULES = ("DataFrame",)


@functools.cache
def module_files() -> tuple[str, ...]:
    """MODULES' files in the installed Streamlit's build, relative to its js/ folder: each module's script and its
    style sheet (empty when the build has none of them)."""
    found = []
    for name in MODULES:
        found += sorted(p.name for p in (STATIC / "js").glob(f"{name}.*.js"))[:1]
        found += sorted(f"../css/{p.name}" for p in (STATIC / "css").glob(f"{name}.*.css"))[:1]
    return tuple(found)


_JS = """<script>
(() => {
  const files = %s;
  const entry = [...document.scripts].find((s) => /\\/static\\/js\\/index\\.[^/]*\\.js$/.test(s.src));
  const done = (window.__htPrefetched = window.__htPrefetched || new Set());
  const todo = files.filter((f) => !done.has(f));
  if (!entry || !todo.length) return;
  todo.forEach((f) => done.add(f));
  const busy = () => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState !== 'notRunning'
    || !!document.querySelector('.st-key-%s button');
  const idle = window.requestIdleCallback || ((f) => setTimeout(f, 200));
  let looks = 0;
  // A style sheet linked now is one Streamlit's loader finds in the page and does not wait for again.
  const load = (f) => {
    const url = new URL(f, entry.src).href;
    if (!f.endsWith('.css')) return import(url).catch(() => done.delete(f));
    const link = Object.assign(document.createElement('link'), {rel: 'stylesheet', href: url});
    document.head.appendChild(link);
  };
  const go = () => todo.forEach(load);
  const wait = () => (busy() && looks++ < 40) ? setTimeout(wait, 250) : idle(go, {timeout: 3000});
  setTimeout(wait, 250);
})();
</script>"""


def region_page_code() -> None:
    """Prefetch the code of the region pages' tables (call on a page whose clicks lead there)."""
    files = module_files()
    if files:
        st.html(_JS % (json.dumps(list(files)), LOAD_BUTTON), unsafe_allow_javascript=True)
