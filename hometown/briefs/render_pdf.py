"""The briefing as a PDF (fpdf2) with the same text as the Word document: A4, the CJK faces of
hometown.briefs.fonts embedded (subset), the masthead, 第N期 and the office in every page's header, page numbers,
the charts and the closing table on a landscape page.

Before anything is written every character is checked against the faces: a character without a glyph would print
as a box, so it raises ``fonts.FontMissing`` naming the characters instead. The same Document gives the same bytes
(creation date = the issuing day, the file identifier derived from the content).
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, datetime, timezone

from fpdf import FPDF
from fpdf.fonts import FontFace

from hometown.briefs import fonts
from hometown.briefs.writer import Document

MIME = "application/pdf"
RED = (192, 0, 0)
INDENT = "\u3000\u3000"  # two ideographic spaces: the first-line indent of Chinese prose


class _Pdf(FPDF):
    def __init__(self, doc: Document):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.brief = doc

    def header(self):
        if self.page_no() == 1:
            return
        self.set_font("body", size=9)
        width = self.w - self.l_margin - self.r_margin
        self.cell(width / 2, 6, f"{self.brief.title}  {self.brief.number_text}")
        self.cell(width / 2, 6, self.brief.office, align="R", new_x="LMARGIN", new_y="NEXT")
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(4)

    def footer(self):
        self.set_y(-18)
        self.set_font("body", size=11)
        self.cell(0, 8, f"— {self.page_no()} —", align="C")


def render(doc: Document, issued_at: datetime | date | None = None) -> bytes:
    body, head = fonts.faces()
    missing = fonts.missing_glyphs(doc.text(), body) | fonts.missing_glyphs(doc.text(), head)
    if missing:
        raise fonts.FontMissing(f"字体 {body.family} 缺少以下字符的字形：{''.join(sorted(missing))}。"
                                f"{fonts.INSTALL_HINT}")
    when = issued_at if isinstance(issued_at, datetime) else datetime.combine(
        issued_at or date.fromisoformat(doc.as_of), datetime.min.time())
    pdf = _Pdf(doc)
    pdf.set_creation_date(when.replace(tzinfo=timezone.utc))
    pdf.set_title(f"{doc.title} {doc.number_text}")
    pdf.set_author(doc.office)
    pdf.set_subject(f"数据截至{doc.as_of}")
    pdf.set_creator("干部规划家乡行动调度平台")
    pdf.set_producer("fpdf2")
    pdf.set_lang("zh-CN")
    pdf.add_font("body", "", body.path, collection_font_number=body.index)
    pdf.add_font("head", "", head.path, collection_font_number=head.index)
    for font in pdf.fonts.values():
        # The subset keeps each glyph's outline as it is: recomputing every glyph's bounds when the subset is
        # written took half of the PDF's time on the CJK faces, and the font-wide box is the source font's.
        ttfont = getattr(font, "ttfont", None)
        if ttfont is not None:
            ttfont.recalcBBoxes = False
    pdf.set_margins(26, 30, 24)
    pdf.set_auto_page_break(True, margin=24)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_text_color(*RED)
    pdf.set_font("head", size=14)
    pdf.cell(0, 8, doc.title.replace("调度简报", ""), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("head", size=30)
    pdf.cell(0, 16, "调度简报", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("body", size=14)
    pdf.cell(0, 9, doc.number_text, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", size=12)
    pdf.cell(width / 2, 9, doc.office)
    pdf.cell(width / 2, 9, doc.date_text, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.ln(5)

    for block in doc.blocks:
        if block.kind == "heading":
            pdf.ln(2)
            pdf.set_font("head", size=14)
            pdf.multi_cell(0, 9, block.text, new_x="LMARGIN", new_y="NEXT")
        elif block.kind == "para":
            pdf.set_font("body", size=13)
            pdf.multi_cell(0, 8, INDENT + block.text, new_x="LMARGIN", new_y="NEXT")
        elif block.kind == "note":
            pdf.set_font("body", size=10.5)
            pdf.multi_cell(0, 6, INDENT + block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif block.kind == "chart":
            pdf.ln(2)
            img_w = min(width, 150)
            pdf.image(io.BytesIO(block.image), x=pdf.l_margin + (width - img_w) / 2, w=img_w)
            pdf.set_font("body", size=10.5)
            pdf.cell(0, 7, block.text, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "table":
            if block.landscape:
                pdf.add_page(orientation="L")
            pdf.set_font("head", size=12)
            pdf.cell(0, 9, block.text, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("body", size=8)
            heading = FontFace(family="head", size_pt=8)
            widths = (10, 13, 34, 19, 14, 15, 14, 15, 14, 20, 19, 17, 21)  # the longest county name on one line
            with pdf.table(col_widths=widths[:len(block.header)], headings_style=heading, line_height=5.5,
                           text_align="CENTER", repeat_headings=1) as table:
                for values in [block.header] + block.rows:
                    row = table.row()
                    for value in values:
                        row.cell(value)
    pdf.file_id = lambda: _file_id(pdf)  # noqa: E731 (fpdf2 calls it when writing the trailer)
    return bytes(pdf.output())


def _file_id(pdf: FPDF) -> str:
    digest = hashlib.md5(f"{pdf.title}|{pdf.creation_date}".encode("utf-8")).hexdigest().upper()
    return f"<{digest}><{digest}>"
