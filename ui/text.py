"""Text that came from a report or a user, shown as text: the one way pages put such text into Markdown or markup.

Streamlit renders Markdown in st.markdown, st.caption, st.title/subheader, alerts (st.error, st.info, …), toasts,
widget labels, button labels and help tooltips. A village named ``[请点此核验](http://…)`` would become a link there,
and a note ``![图](http://…/p.png)`` an image every viewer's browser fetches off the intranet. So every piece of
text from a report (village, township and project names, notes, needs, reasons quoting cell values) or typed by a
user (order titles and notes, file names, judges' names) goes through ``md()`` before it is put into Markdown, and
through ``markup()`` before it is put into HTML or SVG (ui.charts, st.html).

``md`` backslash-escapes every ASCII punctuation character (CommonMark lets any of them be escaped: no emphasis,
link, image, HTML, heading, list, table, math or Streamlit colour/icon directive can start), and puts an invisible
word joiner (U+2060) into ``http:``, ``https:``, ``www.``, ``mailto:`` and before ``@``, because Streamlit's GFM
"autolink literal" turns bare addresses in plain text into links even when every character is escaped. Text the
app itself writes (labels, figures) is left alone. Plain-text elements (st.text, st.dataframe cells, selectbox
options, metric values, code) need neither.
"""

from __future__ import annotations

import html
import re

JOINER = "\u2060"  # WORD JOINER: invisible, no line break, not a letter, digit or space
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|xmpp|www)(?=[:.])")
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_NEWLINES = re.compile(r"\r\n?|\n")


def _unlink(text: str) -> str:
    return _AUTOLINK.sub(lambda m: m.group(1) + JOINER, text).replace("@", JOINER + "@")


def md(value: object, multiline: bool = False) -> str:
    """``value`` as Markdown that shows exactly its characters. One line unless ``multiline`` (then each line of
    the text is a line on screen); None shows as an empty string."""
    if value is None:
        return ""
    lines = _NEWLINES.split(str(value))
    escaped = [_PUNCTUATION.sub(r"\\\1", _unlink(line)) for line in lines]
    return "  \n".join(escaped) if multiline else " ".join(escaped)


def markup(value: object) -> str:
    """``value`` for HTML or SVG (text or an attribute in quotes): HTML-escaped, line breaks as character
    references (a blank line would end Streamlit's HTML block and start Markdown), and no bare address for the
    Markdown around it to link."""
    if value is None:
        return ""
    return html.escape(_unlink(str(value)), quote=True).replace("\r", "").replace("\n", "&#10;")
