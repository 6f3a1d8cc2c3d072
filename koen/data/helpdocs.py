"""Extract aligned text of one language and English from the LibreOffice help (HTML in Debian
packages).

All languages are generated from the same XHP sources, so every paragraph and heading carries
the same element id (`par_id3149489`, `hd_id3155908`) in the translated and the English page,
and every index keyword (`<meta itemprop="keywords">` after a `bm_id` anchor, the same entries
as `bookmarks.js`) sits in the same order. Alignment is therefore by (page, element id) and by
(page, anchor, position): exact, with no sentence aligner. Elements the translators left in
English are dropped, since they are not parallel text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from koen.config.languages import ENGLISH, Pair, language
from koen.data.language_check import wrong_language

_SPACE = re.compile(r"\s+")
_TEXT_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}


@dataclass(frozen=True)
class Element:
    """One paragraph or heading of a help page, in document order."""

    id: str
    kind: str  # p | h1 .. h6
    section: str  # id of the heading that opens the enclosing section ("top" before any)
    text: str


@dataclass(frozen=True)
class Keyword:
    """One index keyword of a page; `section` is where its anchor points."""

    anchor: str
    position: int
    section: str
    text: str


@dataclass
class Page:
    elements: list[Element]
    keywords: list[Keyword]


class _PageParser(HTMLParser):
    """Collects id-carrying paragraphs/headings and keyword anchors inside `DisplayArea`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # div depth inside DisplayArea, 0 = outside
        self.open: tuple[str, str, str] | None = None  # (tag, id, kind)
        self.nested = 0
        self.buf: list[str] = []
        self.section = "top"
        self.anchor: str | None = None
        self.anchor_keywords: list[tuple[str, int, str]] = []  # (anchor, pos, text)
        self.positions: dict[str, int] = {}
        self.elements: list[Element] = []
        self.keywords: list[Keyword] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div":
            if self.depth:
                self.depth += 1
            elif a.get("id") == "DisplayArea":
                self.depth = 1
            return
        if not self.depth:
            return
        if self.open is not None:
            if tag == self.open[0]:
                self.nested += 1
            return
        if tag == "a" and (a.get("name") or "").startswith("bm_id"):
            self.anchor = a["name"]
        elif tag == "meta" and a.get("itemprop") == "keywords" and self.anchor:
            pos = self.positions.get(self.anchor, 0)
            self.positions[self.anchor] = pos + 1
            self.anchor_keywords.append((self.anchor, pos, clean(a.get("content") or "")))
        elif tag in _TEXT_TAGS and a.get("id"):
            self.open = (tag, a["id"], tag)
            self.nested = 0
            self.buf = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.depth:
            self.depth -= 1
            return
        if self.open is None or tag != self.open[0]:
            return
        if self.nested:
            self.nested -= 1
            return
        _, el_id, kind = self.open
        self.open = None
        if kind.startswith("h"):
            self.section = el_id
        for anchor, pos, text in self.anchor_keywords:
            self.keywords.append(Keyword(anchor, pos, self.section, text))
        self.anchor_keywords = []
        self.anchor = None
        self.elements.append(Element(el_id, kind, self.section, clean("".join(self.buf))))

    def handle_data(self, data: str) -> None:
        if self.open is not None:
            self.buf.append(data)


def clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def parse_page(html: str) -> Page:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return Page(parser.elements, parser.keywords)


def align_page(page: str, doc: Page, en: Page, lang: str) -> tuple[list[dict], list[dict]]:
    """Pair the `lang` and English versions of one page; drop untranslated or empty pairs.
    Records hold the two texts under the pair's codes (`ja` and `en`)."""
    en_by_id = {e.id: e for e in en.elements}
    repeated = _repeated_ids(doc) | _repeated_ids(en)  # ambiguous: an id twice on one page
    paragraphs = []
    for d in doc.elements:
        e = en_by_id.get(d.id) if d.id not in repeated else None
        if e is None or e.kind != d.kind or not translated(d.text, e.text, lang):
            continue
        paragraphs.append({"page": page, "id": d.id, "kind": d.kind, "section": e.section,
                           lang: d.text, "en": e.text})
    en_kw = {(w.anchor, w.position): w for w in en.keywords}
    keywords = []
    for d in doc.keywords:
        e = en_kw.get((d.anchor, d.position))
        if e is None or not translated(d.text, e.text, lang):
            continue
        keywords.append({"page": page, "anchor": d.anchor, "position": d.position,
                         "section": e.section, lang: d.text, "en": e.text})
    return paragraphs, keywords


def _repeated_ids(page: Page) -> set[str]:
    seen: set[str] = set()
    return {e.id for e in page.elements if e.id in seen or seen.add(e.id)}


def translated(text: str, en: str, code: str) -> bool:
    """A real pair: both non-empty and different, `text` in language `code`, `en` in English.

    Where the scripts differ (Korean, Japanese, Chinese, Russian), by script: `text` mostly in
    the language's letters (share >= 0.5; Latin product and menu names are common inside), and
    none of them in the English. Where both are Latin, by py3langid asked only between the
    language and English, since the question is "translated or left in English" (asked among
    all its languages it scatters short strings: 'Fett', 'Typ' come out as lb, la, tl, ...).
    A pair is dropped where langid is confident (>= `language_check.CONFIDENT`) that `text` is
    English or that `en` is the language. On sentences it is confident, so this is its verdict; on a
    word or two (`Fett` | `Bold`: 0.49 | 0.34 German) it is near 0.5 either way, and the pair then
    rests on the two texts differing (text left untranslated is the English text itself). Its bare
    verdict would drop 4,899 of the 55,793 differing German paragraph pairs, nearly all such
    words; this rule drops 62. Deterministic: one fixed model, no sampling.
    """
    if not (text and en) or text == en:
        return False
    pair = Pair(language(code).code, ENGLISH.code)
    return wrong_language(text, pair.lang, pair) is None and \
        wrong_language(en, pair.other, pair) is None


def help_pages(root: Path) -> dict[str, Path]:
    """Map page path relative to the language root (`text/swriter/...html`) to its file."""
    return {str(p.relative_to(root)): p for p in sorted((root / "text").rglob("*.html"))}


def extract(root: Path, en_root: Path, lang: str) -> tuple[list[dict], list[dict]]:
    """Align every page present in both help trees (`root` in `lang`, `en_root` in English)."""
    pages, en_pages = help_pages(root), help_pages(en_root)
    paragraphs: list[dict] = []
    keywords: list[dict] = []
    for name in sorted(pages.keys() & en_pages.keys()):
        doc = parse_page(pages[name].read_text(encoding="utf-8"))
        en = parse_page(en_pages[name].read_text(encoding="utf-8"))
        p, k = align_page(name, doc, en, lang)
        paragraphs += p
        keywords += k
    return paragraphs, keywords
