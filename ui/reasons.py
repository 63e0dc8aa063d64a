"""The reasons of a report check, offered whole: Excel and CSV downloads of every reason (its file, sheet, Excel row
and column apart) beside a screen that folds each kind of problem after 20. Used by the upload page (/upload) and
the report log (/reports); the files come from hometown.access.uploads through hometown.export, and each download is
written to the audit log when it is produced.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from hometown import export
from hometown.access import audit, uploads
from ui import auth as ui_auth


def downloads(frame: pl.DataFrame, stem: str | None, key: str) -> None:
    """Two download buttons (Excel, CSV) for the list ``frame`` (hometown.access.uploads.reasons_frame)."""
    user, client = ui_auth.current_user(), ui_auth.client()
    d1, d2, note = st.columns([1, 1, 2], vertical_alignment="center")
    for col, suffix, mime, label in ((d1, "xlsx", export.XLSX_MIME, "下载完整原因清单（Excel）"),
                                     (d2, "csv", export.CSV_MIME, "下载完整原因清单（CSV）")):
        name = uploads.reasons_file_name(suffix, stem)
        with col:
            st.download_button(label, data=audit.logged(lambda s=suffix: uploads.reasons_file(frame, s), user=user,
                                                        target=name, detail=f"报表检查原因清单 {frame.height} 条",
                                                        client=client),
                               file_name=name, mime=mime, on_click="ignore", icon=":material/download:",
                               key=f"{key}_reasons_{suffix}")
    note.caption(f"清单含全部 {frame.height} 条原因与提示，每条列出工作表、Excel 行号和列，可按行排序后逐条修改。")
