"""The briefing as a Word document (.docx, python-docx): A4, the 仿宋 body and 黑体 headings of official documents
(named in the file: Word/WPS use the reader's installed fonts, no font file is needed), a red masthead with 第N期,
the issuing office and the date, the issue number and office in every page's header, page numbers in the footer,
the charts as pictures and the closing table on a landscape page.

The same Document gives the same bytes: the package's timestamps are the issuing day's, not the clock's.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

from docx import Document as new_document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from hometown.briefs.writer import Document

BODY_FONT = "仿宋"          # 仿宋_GB2312 on older Windows; Word substitutes the closest installed
HEADING_FONT = "黑体"
TITLE_FONT = "黑体"
LATIN_FONT = "Times New Roman"
RED = RGBColor(0xC0, 0x00, 0x00)
MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _font(run, name: str, size: float, bold: bool = False, color: RGBColor | None = None) -> None:
    run.font.name = LATIN_FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    r_pr = run._element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:hint"), "eastAsia")


def _para(container, text: str = "", font: str = BODY_FONT, size: float = 16, bold: bool = False, align=None,
          indent: bool = False, before: float = 0, after: float = 0, color=None, style: str | None = None):
    p = container.add_paragraph(style=style) if style else container.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing = Pt(28) if size >= 14 else 1.15
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), font, size, bold, color)
    return p


def _field(paragraph, code: str, font: str, size: float) -> None:
    """A Word field (PAGE, NUMPAGES) in a run: Word fills in the value when the page is laid out."""
    run = paragraph.add_run()
    _font(run, font, size)
    for tag, text in (("begin", None), (None, code), ("separate", None), (None, "1"), ("end", None)):
        if tag:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), tag)
        elif text == code:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {code} "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._element.append(el)


def _bottom_border(paragraph, color: str = "C00000", size: int = 12) -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("val", "single"), ("sz", str(size)), ("space", "1"), ("color", color)):
        bottom.set(qn(f"w:{k}"), v)
    borders.append(bottom)
    p_pr.append(borders)


def _header_footer(section, doc: Document) -> None:
    header = section.header
    p = header.paragraphs[0]
    p.paragraph_format.tab_stops.add_tab_stop(section.page_width - section.left_margin - section.right_margin,
                                              WD_TAB_ALIGNMENT.RIGHT)
    _font(p.add_run(f"{doc.title}  {doc.number_text}\t{doc.office}"), BODY_FONT, 10.5)
    _bottom_border(p, "000000", 4)
    footer = section.footer
    f = footer.paragraphs[0]
    f.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(f.add_run("— "), BODY_FONT, 12)
    _field(f, "PAGE", BODY_FONT, 12)
    _font(f.add_run(" —"), BODY_FONT, 12)


def _table(d, block) -> None:
    table = d.add_table(rows=1 + len(block.rows), cols=len(block.header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for r, values in enumerate([block.header] + block.rows):
        for c, value in enumerate(values):
            cell = table.rows[r].cells[c]
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER if (r == 0 or c < 2) else (
                WD_ALIGN_PARAGRAPH.LEFT if c in (2, 3) else WD_ALIGN_PARAGRAPH.RIGHT)
            _font(p.add_run(value), HEADING_FONT if r == 0 else BODY_FONT, 9, bold=r == 0)
    # The header row repeats on every page of a long table.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _stable_zip(data: bytes, when: datetime) -> bytes:
    """The same package with every member dated ``when`` (python-docx stamps the clock's time)."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


def render(doc: Document, issued_at: datetime | date | None = None) -> bytes:
    when = issued_at if isinstance(issued_at, datetime) else datetime.combine(
        issued_at or date.fromisoformat(doc.as_of), datetime.min.time())
    d = new_document()
    normal = d.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(16)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    section = d.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.header_distance, section.footer_distance = Cm(1.5), Cm(2.0)
    props = d.core_properties
    props.title = f"{doc.title} {doc.number_text}"
    props.author = doc.office
    props.subject = f"数据截至{doc.as_of}"
    props.language = "zh-CN"
    props.created = props.modified = props.last_printed = when
    props.revision = 1
    props.last_modified_by = doc.office
    _header_footer(section, doc)

    _para(d, doc.title.replace("调度简报", ""), TITLE_FONT, 16, align=WD_ALIGN_PARAGRAPH.CENTER, color=RED)
    _para(d, "调度简报", TITLE_FONT, 36, True, WD_ALIGN_PARAGRAPH.CENTER, color=RED, after=6)
    _para(d, doc.number_text, BODY_FONT, 16, align=WD_ALIGN_PARAGRAPH.CENTER, after=6)
    line = _para(d, "", BODY_FONT, 14, after=12)
    line.paragraph_format.tab_stops.add_tab_stop(section.page_width - section.left_margin - section.right_margin,
                                                 WD_TAB_ALIGNMENT.RIGHT)
    _font(line.add_run(f"{doc.office}\t{doc.date_text}"), BODY_FONT, 14)
    _bottom_border(line)

    for block in doc.blocks:
        if block.kind == "heading":
            _para(d, block.text, HEADING_FONT, 16, before=6, after=0)
        elif block.kind == "para":
            _para(d, block.text, BODY_FONT, 16, indent=True)
        elif block.kind == "note":
            _para(d, block.text, BODY_FONT, 12, indent=True, after=4)
        elif block.kind == "chart":
            p = _para(d, "", align=WD_ALIGN_PARAGRAPH.CENTER, before=6)
            p.add_run().add_picture(io.BytesIO(block.image), width=Cm(15))
            _para(d, block.text, BODY_FONT, 12, align=WD_ALIGN_PARAGRAPH.CENTER, after=6)
        elif block.kind == "table":
            if block.landscape:
                s = d.add_section(WD_SECTION.NEW_PAGE)
                s.orientation = WD_ORIENT.LANDSCAPE
                s.page_width, s.page_height = Cm(29.7), Cm(21.0)
                s.top_margin, s.bottom_margin = Cm(2.5), Cm(2.5)
                s.left_margin, s.right_margin = Cm(2.5), Cm(2.5)
            _para(d, block.text, HEADING_FONT, 14, align=WD_ALIGN_PARAGRAPH.CENTER, after=6)
            _table(d, block)
    buf = io.BytesIO()
    d.save(buf)
    return _stable_zip(buf.getvalue(), when)
