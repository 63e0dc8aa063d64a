"""ui.prefetch names modules of the pinned Streamlit's build that exist: when an upgrade renames them, this fails
(the pages would still work, only the prefetch would silently fetch nothing)."""

from __future__ import annotations

from ui import prefetch


def test_the_prefetched_modules_are_in_the_installed_build():
    files = prefetch.module_files()
    for name in prefetch.MODULES:
        assert any(f.startswith(f"{name}.") and f.endswith(".js") for f in files), (name, files)
        assert any(f.startswith(f"../css/{name}.") for f in files), (name, files)
    for f in files:
        assert (prefetch.STATIC / "js" / f).resolve().is_file(), f

